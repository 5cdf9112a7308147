"""chunkflow/frame/rows.py: filters, query, sampling, de-duplication and sorting against pandas."""
import numpy as np
import pandas as pd
import pytest

import chunkflow as cf

from .data import CASES, check_all, computed, pair, same


@pytest.mark.parametrize("seed,parts", CASES)
def test_filters_match_pandas_and_forget_lengths(seed, parts):
    df, f = pair(seed, parts)
    cases = [
        (f[f["a"] > 0], df[df["a"] > 0]), (f[(f.b > 0) & ~f.flag], df[(df.b > 0) & ~df.flag]),
        (f["c"][f["c"] > 5], df["c"][df["c"] > 5]), (f.query("a > 0 and c < 5"), df.query("a > 0 and c < 5")),
        (f.dropna(), df.dropna()), (f.dropna(subset=["b"]), df.dropna(subset=["b"])),
        (f["s"].dropna(), df["s"].dropna()), (f[f.s.str.contains("an", na=False)], df[df.s.str.contains("an", na=False)]),
    ]
    assert all(g.lengths is None for g, _ in cases)
    check_all(cases)
    g = f[f["a"] > 0]
    assert len(g) == (df["a"] > 0).sum()
    assert g.to_tensor(["a", "c"]).shape == ((df["a"] > 0).sum(), 2)


def test_sample_is_reproducible():
    df, f = pair(3, 4, n=2000)
    one = computed(f.sample(frac=0.3, random_state=7), f.sample(frac=0.3, seed=7), f.sample(frac=0.3, random_state=8))
    same(one[0], one[1])
    assert not one[0].index.equals(one[2].index)
    assert 450 < len(one[0]) < 750 and one[0].index.isin(df.index).all()
    with pytest.raises(ValueError, match="frac=n/len"):
        f.sample(n=10)
    with pytest.raises(ValueError, match="frac must be"):
        f.sample(frac=1.5)


def test_drop_duplicates_sort_and_top_k():
    df, f = pair(4, 5)
    key = ["k", "flag"]
    got = computed(f[key].drop_duplicates(), f.drop_duplicates(subset=["k"]), f["k"].drop_duplicates(),
                   f.sort_values("c"), f.sort_values(["k", "c"], ascending=False), f["b"].sort_values(),
                   f.nlargest(7, "c"), f.nsmallest(4, ["a", "c"]), f["c"].nlargest(3))
    srt = lambda d: d.sort_values(list(d.columns)).reset_index(drop=True)  # noqa: E731
    same(srt(got[0]), srt(df[key].drop_duplicates()))
    assert sorted(got[1]["k"]) == sorted(df["k"].unique()) and len(got[1]) == df["k"].nunique()
    assert sorted(got[2]) == sorted(df["k"].unique())
    same(got[3], df.sort_values("c"))
    same(got[4].reset_index(drop=True), df.sort_values(["k", "c"], ascending=False).reset_index(drop=True))
    same(got[5].reset_index(drop=True), df["b"].sort_values().reset_index(drop=True))
    same(got[6], df.nlargest(7, "c"))
    same(got[7], df.nsmallest(4, ["a", "c"]))
    same(got[8], df["c"].nlargest(3))


def test_row_errors():
    df, f = pair(0, 2)
    with pytest.raises(TypeError, match=r"boolean column.*column 'a' \(int64\)"):
        f[f["a"]]
    with pytest.raises(KeyError, match=r"in query 'aa > 0': column 'aa' is not in the table.*did you mean 'a'"):
        f.query("aa > 0")
    with pytest.raises(KeyError, match="did you mean 'c'"):
        f.sort_values("cc")
    with pytest.raises(AttributeError, match="did you mean the column 'flag'"):
        f.flg
    with pytest.raises(ValueError, match="how must be"):
        f.dropna(how="some")


@pytest.mark.parametrize("seed,parts", CASES[1:])
def test_sort_places_missing_keys_as_pandas(seed, parts):
    """dask puts rows missing the first key last whatever na_position says, and cannot sort strings with
    missing values; sort_values sorts the rows that have the key and places the others as pandas does."""
    df, f = pair(seed, parts)
    cases = [("b", True, "first"), ("b", False, "first"), ("b", False, "last"), (["s", "c"], True, "last"),
             (["s", "c"], [False, True], "first"), ("t", True, "first")]
    for by, ascending, na in cases:
        want = df.sort_values(by, ascending=ascending, na_position=na).reset_index(drop=True)
        got = f.sort_values(by, ascending=ascending, na_position=na)
        same(got.compute().reset_index(drop=True), want)
        same(got.head(40).reset_index(drop=True), want.head(40))
    same(f["s"].sort_values(na_position="first").compute().reset_index(drop=True),
         df["s"].sort_values(na_position="first").reset_index(drop=True))


def test_head_after_sort_is_the_sorted_head():
    """dask rewrote sort_values(...).head(n) into a top-n that ignored na_position and failed on a Series."""
    df, f = pair(2, 7)
    same(f["b"].sort_values().head(5), df["b"].sort_values().head(5))
    same(f["b"].sort_values(ascending=False).head(5), df["b"].sort_values(ascending=False).head(5))
    same(f.sort_values("b", na_position="first").head(8)["b"].reset_index(drop=True),
         df.sort_values("b", na_position="first").head(8)["b"].reset_index(drop=True))
    same(f[f["a"] > 0].head(6), df[df["a"] > 0].head(6))


def test_sort_index_of_a_one_partition_result_and_series_reset_index_name():
    df, f = pair(1, 3)
    same(f.groupby("k", sort=False)["c"].sum().sort_index(ascending=False).compute(),
         df.groupby("k")["c"].sum().sort_index(ascending=False))
    same(f["k"].value_counts().sort_index().compute(), df["k"].value_counts().sort_index())
    same(f.groupby("k").size().reset_index(name="n").compute(), df.groupby("k").size().reset_index(name="n"))
    with pytest.raises(NotImplementedError, match="sort by a column with sort_values"):
        f.sort_index()
