"""Random pandas tables with missing values, and the Frame of each, for checking Frames against pandas."""
import numpy as np
import pandas as pd

import chunkflow as cf

CASES = [(0, 1), (1, 3), (2, 7)]  # (seed, npartitions)


def random_df(seed=0, n=300, nan=0.1) -> pd.DataFrame:
    """Integers, floats with NaN, strings with missing values, booleans and timestamps."""
    rng = np.random.default_rng(seed)
    b = rng.normal(size=n)
    b[rng.random(n) < nan] = np.nan
    s = pd.Series(rng.choice(["apple", "Banana", " cherry ", "date"], n), dtype="str")
    s[rng.random(n) < nan] = None
    return pd.DataFrame({
        "k": rng.integers(0, 6, n),
        "a": rng.integers(-50, 50, n),
        "b": b,
        "c": rng.uniform(0, 10, n),
        "s": s,
        "flag": rng.random(n) < 0.5,
        "t": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="min"),
    })


def pair(seed=0, npartitions=3, n=300, nan=0.1):
    """``(df, frame)``: the same random table in pandas and as a Frame of ``npartitions``."""
    df = random_df(seed, n, nan)
    return df, cf.from_pandas(df, npartitions=npartitions)


def same(got, want, **kw):
    """Assert a computed Frame/Series result equals pandas' (values, dtypes, index)."""
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, **kw)
    elif isinstance(want, pd.Series):
        pd.testing.assert_series_equal(got, want, **kw)
    elif isinstance(want, pd.api.extensions.ExtensionArray):
        pd.testing.assert_extension_array_equal(got, want, **kw)
    else:
        np.testing.assert_allclose(got, want, **kw)


def computed(*frames):
    """The pandas results of several lazy Frames, in one dask run (tiny tables: the sync scheduler)."""
    import dask

    return dask.compute(*[f.to_dask() for f in frames], scheduler="sync")


def check_all(cases, **kw):
    """``cases``: (lazy Frame, pandas result) pairs; all computed in one run and compared."""
    got = computed(*[g for g, _ in cases])
    for g, (_, want) in zip(got, cases):
        same(g, want, **kw)
