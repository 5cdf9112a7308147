"""chunkflow/frame/series.py and accessors.py: one column, .str and .dt, against pandas."""
import numpy as np
import pandas as pd
import pytest

import chunkflow as cf
from chunkflow.frame import Series

from .data import CASES, check_all, computed, pair, same


@pytest.mark.parametrize("seed,parts", CASES)
def test_series_methods_match_pandas(seed, parts):
    df, f = pair(seed, parts)
    s = f["a"]
    assert isinstance(s, Series) and isinstance(s, cf.Frame) and s.name == "a" and s.dtype == np.int64
    assert (s + 1).mean() == pytest.approx((df["a"] + 1).mean()) and s.sum() == df["a"].sum()
    same(f["s"].unique(), df["s"].unique())  # first-appearance order, as pandas
    same(np.asarray(f["k"].unique()), df["k"].unique())
    counts, freq = computed(f["s"].value_counts(), f["k"].value_counts(normalize=True))
    same(counts.sort_index(), df["s"].value_counts().sort_index())
    same(freq.sort_index(), df["k"].value_counts(normalize=True).sort_index())
    assert list(counts) == sorted(counts, reverse=True)
    check_all([(f["k"].isin([1, 3]), df["k"].isin([1, 3])), (f["c"].between(2, 4), df["c"].between(2, 4)),
               (f["k"].map({1: "one", 2: "two"}), df["k"].map({1: "one", 2: "two"})),
               (f["a"].rename("z"), df["a"].rename("z")), (f["a"].to_frame(), df["a"].to_frame())])
    assert f["k"].value_counts().lengths is None and f["k"].isin([1]).lengths == f.lengths


@pytest.mark.parametrize("seed,parts", CASES[:2])
def test_str_and_dt_accessors(seed, parts):
    df, f = pair(seed, parts)
    s, t = f["s"], f["t"]
    cases = [(s.str.lower(), df.s.str.lower()), (s.str.upper(), df.s.str.upper()), (s.str.strip(), df.s.str.strip()),
             (s.str.len(), df.s.str.len()), (s.str.contains("an"), df.s.str.contains("an")),
             (s.str.contains("AN", case=False, regex=False), df.s.str.contains("AN", case=False, regex=False)),
             (s.str.startswith("B"), df.s.str.startswith("B")), (s.str.endswith("e"), df.s.str.endswith("e")),
             (s.str.replace("a", "4"), df.s.str.replace("a", "4"))]
    cases += [(getattr(t.dt, p), getattr(df.t.dt, p)) for p in ["year", "month", "day", "day_of_week", "hour", "minute"]]
    cases += [(t.dt.dayofweek, df.t.dt.day_of_week)]
    assert all(g.lengths == f.lengths for g, _ in cases)
    check_all(cases)


def test_accessor_errors_name_column_and_dtype():
    df, f = pair(0, 1)
    with pytest.raises(AttributeError, match=r"\.str accessor needs a column of strings, but column 'a' is int64"):
        f["a"].str
    with pytest.raises(AttributeError, match=r"\.dt accessor needs a datetime column, but column 's' is str"):
        f["s"].dt
    with pytest.raises(TypeError, match="no columns to select"):
        f["a"]["a"]


def test_series_to_tensor_and_setitem():
    df, f = pair(1, 3)
    f["d"] = f["a"] * 2
    f["e"] = 1.5
    assert f.lengths == (100, 100, 100) and f.columns[-2:] == ["d", "e"]
    np.testing.assert_array_equal(f["d"].to_tensor().compute(), df["a"].to_numpy() * 2)
    same(f["e"].compute(), pd.Series(1.5, index=df.index, name="e"))


@pytest.mark.parametrize("seed,parts", CASES[1:])
def test_other_str_and_dt_methods_come_from_pandas(seed, parts):
    """Accessor methods chunkflow does not define itself (slice, split, strftime, ...) and timedelta's .dt."""
    df, f = pair(seed, parts)
    s, t = f["s"], f["t"]
    cases = [(s.str.slice(0, 2), df.s.str.slice(0, 2)), (s.str[0], df.s.str[0]), (s.str[1:3], df.s.str[1:3]),
             (s.str.split("a").str[0], df.s.str.split("a").str[0]), (s.str.zfill(8), df.s.str.zfill(8)),
             (t.dt.quarter, df.t.dt.quarter), (t.dt.day_name(), df.t.dt.day_name()),
             (t.dt.strftime("%Y-%m"), df.t.dt.strftime("%Y-%m")), (t.dt.floor("D"), df.t.dt.floor("D")),
             (t.dt.normalize(), df.t.dt.normalize()), (t.dt.is_month_end, df.t.dt.is_month_end),
             ((t - pd.Timestamp("2021-01-01")).dt.days, (df.t - pd.Timestamp("2021-01-01")).dt.days)]
    assert all(g.lengths == f.lengths for g, _ in cases)
    check_all(cases)
    with pytest.raises(AttributeError, match=r"'\.str' of column 's' has no method 'nope'"):
        s.str.nope
