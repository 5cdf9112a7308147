"""chunkflow/frame/groupby.py: aggregations with pandas' result layout, on random tables with NaNs."""
import pandas as pd
import pytest

from .data import CASES, check_all, pair


@pytest.mark.parametrize("seed,parts", CASES[1:])
def test_groupby_matches_pandas(seed, parts):
    df, f = pair(seed, parts)
    g, pg = f.groupby("k"), df.groupby("k")
    spec = {"a": ["sum", "min", "max", "count"], "b": ["mean", "std", "nunique"], "c": "var"}
    cases = [(g.agg(spec), pg.agg(spec)), (g.agg({"a": "sum", "b": "mean"}), pg.agg({"a": "sum", "b": "mean"})),
             (g["c"].mean(), pg["c"].mean()), (g["b"].nunique(), pg["b"].nunique()), (g.b.std(), pg.b.std()),
             (g["a"].agg(["sum", "max"]), pg["a"].agg(["sum", "max"])), (g[["a", "c"]].sum(), pg[["a", "c"]].sum()),
             (g.size(), pg.size()), (g.agg(total=("a", "sum"), spread=("b", "std")),
                                     pg.agg(total=("a", "sum"), spread=("b", "std"))),
             (f.groupby(["k", "flag"]).agg({"c": ["max", "nunique"]}), df.groupby(["k", "flag"]).agg({"c": ["max", "nunique"]})),
             (f.groupby("s").count(), df.groupby("s").count()),
             (f.groupby("s", dropna=False)["c"].min(), df.groupby("s", dropna=False)["c"].min())]
    assert all(out.lengths is None for out, _ in cases)
    check_all(cases, check_exact=False, rtol=1e-10)


def test_groupby_errors():
    df, f = pair(0, 2)
    with pytest.raises(KeyError, match="'kk' is not in the table.*did you mean 'k'"):
        f.groupby("kk")
    with pytest.raises(ValueError, match="unknown aggregation 'median' for column 'a'"):
        f.groupby("k").agg({"a": "median"})
    with pytest.raises(TypeError, match=r"cannot compute mean of column 's' \(str\) per group"):
        f.groupby("k").agg({"s": "mean"})
    with pytest.raises(KeyError, match="'z' is not in the table"):
        f.groupby("k").agg({"z": "sum"})
