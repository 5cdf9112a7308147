"""A sample dataset for the demo: customers with numeric and categorical features and a churn label.

Rows are made partition by partition in parallel tasks (partition ``i`` uses
the random stream ``SeedSequence(seed).spawn(n)[i]``, so the data does not
depend on scheduling) and written as a Parquet dataset with the commit
protocol (``_SUCCESS`` last). The label follows a known logistic model::

    logit = -1.0 + 0.8 z(tenure) - 1.2 z(monthly_spend) + 0.5 z(support_calls)
            + 0.3 z(age) + 0.0 z(visits) + region effect + plan effect
    churned ~ Bernoulli(sigmoid(logit))

so a logistic regression on the one-hot encoded and standardized features
recovers those coefficients (``TRUE_COEF``). ``lifetime_value`` is a
regression target linear in tenure, spend and the premium plan
(``LIFETIME_VALUE``). :func:`make_ratings` writes (user, item, rating) rows
of a low-rank model for ALS.
"""
from __future__ import annotations

import numpy as np

__all__ = ["make_sample", "make_ratings", "sample_partition", "REGIONS", "PLANS", "TRUE_COEF", "COLUMNS",
           "LIFETIME_VALUE"]

REGIONS = {"north": 0.4, "south": -0.2, "east": 0.0, "west": 0.3, "central": -0.5}
PLANS = {"basic": 0.6, "standard": 0.0, "premium": -0.7}
# column -> (mean, std, coefficient on the standardized column)
NUMERIC = {"tenure_months": (30.0, 12.0, 0.8), "monthly_spend": (70.0, 25.0, -1.2),
           "support_calls": (2.0, 1.5, 0.5), "age": (45.0, 14.0, 0.3), "visits_per_week": (3.0, 2.0, 0.0)}
INTERCEPT = -1.0
TRUE_COEF = {name: c for name, (_, _, c) in NUMERIC.items()}
COLUMNS = list(NUMERIC) + ["region", "plan", "churned", "lifetime_value"]
# lifetime_value = 20 + 3 tenure_months + 1.5 monthly_spend + 40 [plan == premium] + N(0, 10^2)
LIFETIME_VALUE = {"intercept": 20.0, "tenure_months": 3.0, "monthly_spend": 1.5, "premium": 40.0}


def sample_partition(rows: int, seed_seq) -> "pd.DataFrame":
    """One partition of ``rows`` rows drawn from ``seed_seq`` (a numpy SeedSequence)."""
    import pandas as pd

    rng = np.random.default_rng(seed_seq)
    cols, logit = {}, np.full(rows, INTERCEPT)
    for name, (mean, std, coef) in NUMERIC.items():
        z = rng.standard_normal(rows)
        cols[name] = mean + std * z
        logit += coef * z
    regions, plans = list(REGIONS), list(PLANS)
    r = rng.choice(len(regions), size=rows, p=[0.25, 0.25, 0.2, 0.2, 0.1])
    p = rng.choice(len(plans), size=rows, p=[0.5, 0.3, 0.2])
    logit += np.array(list(REGIONS.values()))[r] + np.array(list(PLANS.values()))[p]
    cols["region"] = np.array(regions, dtype=object)[r]
    cols["plan"] = np.array(plans, dtype=object)[p]
    cols["churned"] = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    # a regression target, linear in the features: see LIFETIME_VALUE
    cols["lifetime_value"] = (LIFETIME_VALUE["intercept"] + LIFETIME_VALUE["tenure_months"] * cols["tenure_months"]
                              + LIFETIME_VALUE["monthly_spend"] * cols["monthly_spend"]
                              + LIFETIME_VALUE["premium"] * (p == 2) + rng.normal(0.0, 10.0, rows))
    df = pd.DataFrame(cols)
    df["region"] = df["region"].astype("str")
    df["plan"] = df["plan"].astype("str")
    return df


def _part(args):
    rows, seed_seq = args
    return sample_partition(rows, seed_seq)


def make_sample(url, rows=2_000_000, partitions=None, seed=0, overwrite=False, storage_options=None) -> dict:
    """Write the sample dataset to ``url`` unless a complete one with as many rows is there; a summary dict.

    Returns ``{"url", "rows", "partitions", "reused", "seconds"}``.
    """
    import time

    import dask.dataframe as dd

    from ..frame.frame import Frame, building
    from ..io.fs import SUCCESS, url_to_fs

    start = time.perf_counter()
    fs, path = url_to_fs(url, storage_options)
    if not overwrite and fs.exists(f"{path.rstrip('/')}/{SUCCESS}"):
        from ..io.parquet import read_parquet

        frame = read_parquet(url, storage_options=storage_options)
        if sum(frame.lengths) == rows and frame.columns == COLUMNS:
            n = rows
            return {"url": url, "rows": n, "partitions": None, "reused": True,
                    "seconds": time.perf_counter() - start}
    partitions = partitions or max(1, -(-rows // 250_000))
    bounds = [rows * i // partitions for i in range(partitions + 1)]
    lengths = [b - a for a, b in zip(bounds, bounds[1:])]
    streams = np.random.SeedSequence(seed).spawn(partitions)
    meta = sample_partition(0, np.random.SeedSequence(0))
    with building():
        ddf = dd.from_map(_part, list(zip(lengths, streams)), meta=meta, label="make-sample",
                          enforce_metadata=False)
    Frame(ddf, lengths).to_parquet(url, overwrite=True, storage_options=storage_options)
    return {"url": url, "rows": rows, "partitions": partitions, "reused": False,
            "seconds": time.perf_counter() - start}


def make_ratings(url, users=2000, items=500, rows=200_000, rank=4, seed=0, overwrite=False,
                 storage_options=None) -> int:
    """Write ``rows`` (user, item, rating) rows drawn from a rank-``rank`` model plus noise; the row count."""
    import pandas as pd

    from ..frame.frame import from_pandas

    rng = np.random.default_rng(seed)
    U = rng.normal(0, 1, (users, rank))
    V = rng.normal(0, 1, (items, rank))
    u = rng.integers(0, users, rows)
    i = rng.integers(0, items, rows)
    rating = np.clip(3.0 + np.einsum("nk,nk->n", U[u], V[i]) / np.sqrt(rank) + rng.normal(0, 0.3, rows), 1, 5)
    df = pd.DataFrame({"user": u.astype(np.int64), "item": i.astype(np.int64), "rating": rating})
    from_pandas(df, npartitions=max(1, rows // 100_000)).to_parquet(url, overwrite=overwrite,
                                                                     storage_options=storage_options)
    return rows
