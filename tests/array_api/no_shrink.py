"""pytest plugin: the array API suite's hypothesis profile without shrinking and without a database.

Use: ``PYTHONPATH=<chunkflow>/tests/array_api pytest -p no_shrink ...`` (about 5x faster here).

A failing test still fails (on the first failing example found); a passing test runs the same
examples. Only the time spent minimising failures is saved, and runs don't replay each other's
stored failures.
"""
import pytest
from hypothesis import Phase, settings


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    settings.register_profile(
        "array-api-tests-no-shrink", parent=settings.get_profile("array-api-tests"),
        phases=[Phase.explicit, Phase.reuse, Phase.generate], database=None,
    )
    settings.load_profile("array-api-tests-no-shrink")
