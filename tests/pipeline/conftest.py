"""Small sample datasets for the pipeline tests (written once per session)."""
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")


@pytest.fixture(scope="session")
def churn(tmp_path_factory):
    """URL of a 20,000-row churn sample in 4 Parquet parts (the demo's schema)."""
    from chunkflow.pipeline.sample import make_sample

    url = str(tmp_path_factory.mktemp("churn") / "data")
    make_sample(url, rows=20_000, partitions=4, seed=1)
    return url


@pytest.fixture(scope="session")
def ratings(tmp_path_factory):
    from chunkflow.pipeline.sample import make_ratings

    url = str(tmp_path_factory.mktemp("ratings") / "data")
    make_ratings(url, users=200, items=50, rows=20_000, seed=0)
    return url


def example(name):
    return os.path.join(EXAMPLES, name)
