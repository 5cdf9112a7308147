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
