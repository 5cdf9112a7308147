"""chunkflow/frame/ops.py: operators, cleaning and reductions against pandas on random tables with NaNs."""
import operator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chunkflow as cf

from .data import CASES, check_all, pair, same

OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod, operator.pow,
       operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


@pytest.mark.parametrize("seed,parts", CASES)
def test_binary_operators_match_pandas(seed, parts):
    df, f = pair(seed, parts)
    cases = []
    for op in OPS:  # column-column, column-scalar, reflected (Python and NumPy scalars), table-scalar
        cases += [(op(f["a"], f["b"]), op(df["a"], df["b"])), (op(f["c"], 2), op(df["c"], 2)),
                  (op(3, f["b"]), op(3, df["b"])), (op(np.float64(1.5), f["c"]), op(np.float64(1.5), df["c"])),
                  (op(f[["b", "c"]], 2.5), op(df[["b", "c"]], 2.5))]
    assert all(got.lengths == f.lengths for got, _ in cases)
    check_all(cases)


def test_logical_and_unary_operators():
    df, f = pair(1, 3)
    check_all([(((f["a"] > 0) & (f["b"] < 0)), (df["a"] > 0) & (df["b"] < 0)),
               (((f["a"] > 0) | f["flag"]), (df["a"] > 0) | df["flag"]), ((f["flag"] ^ True), df["flag"] ^ True),
               ((True & f["flag"]), True & df["flag"]), ((~f["flag"]), ~df["flag"]), ((-f["b"]), -df["b"]),
               (abs(f["a"]), df["a"].abs()), (f[["a", "b"]].abs(), df[["a", "b"]].abs()), (+f["c"], df["c"])])
    with pytest.raises(ValueError, match="ambiguous.*& | ~"):
        bool(f["a"] > 0)


@settings(max_examples=10)
@given(x=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
       parts=st.integers(1, 5), scalar=st.floats(-100, 100))
def test_arithmetic_and_reductions_hypothesis(x, parts, scalar):
    df = pd.DataFrame({"x": x, "y": x[::-1].copy()})
    f = cf.from_pandas(df, npartitions=min(parts, len(x)))
    check_all([((f["x"] * scalar - f["y"]) / 3, (df["x"] * scalar - df["y"]) / 3),
               (f["x"].clip(-10, 10).fillna(scalar), df["x"].clip(-10, 10).fillna(scalar))])
    np.testing.assert_allclose(f["x"].sum(), df["x"].sum(), rtol=1e-9, atol=1e-6)
    for how in ["min", "max", "count"]:
        np.testing.assert_equal(getattr(f["x"], how)(), getattr(df["x"], how)())
    np.testing.assert_allclose(f.mean(), df.mean(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed,parts", CASES[1:])
def test_cleaning_keeps_lengths_and_matches_pandas(seed, parts):
    df, f = pair(seed, parts)
    num = ["a", "b", "c"]
    cases = [
        (f.isna(), df.isna()), (f.notna(), df.notna()), (f["s"].isna(), df["s"].isna()),
        (f[num].fillna(0), df[num].fillna(0)), (f.fillna({"b": -1.0}), df.fillna({"b": -1.0})),
        (f[num].clip(-5, 5), df[num].clip(-5, 5)), (f["b"].clip(lower=0), df["b"].clip(lower=0)),
        (f[num].where(f["a"] > 0), df[num].where(df["a"] > 0, axis=0)),
        (f["b"].where(f["b"] > 0, -1.0), df["b"].where(df["b"] > 0, -1.0)),
        (f["c"].mask(f["flag"], 0.0), df["c"].mask(df["flag"], 0.0)),
        (f.astype({"a": "float32"}), df.astype({"a": "float32"})), (f["k"].astype("int8"), df["k"].astype("int8")),
        (f[num].round(1), df[num].round(1)),
    ]
    assert all(got.lengths == f.lengths for got, _ in cases)
    check_all(cases)


@pytest.mark.parametrize("seed,parts", CASES[1:])
def test_frame_reductions_match_pandas(seed, parts):
    df, f = pair(seed, parts)
    num = ["k", "a", "b", "c"]
    for how in ["sum", "mean", "std", "count"]:
        same(getattr(f[num], how)(), getattr(df[num], how)(), rtol=1e-12)
    same(f[num].min(), df[num].min())
    same(f.nunique(), df.nunique())
    same(f.count(), df.count())
    same(f.sum(numeric_only=True), df.sum(numeric_only=True))
    assert f["b"].std() == pytest.approx(df["b"].std()) and f["flag"].any() == df["flag"].any()
    assert f["a"].nunique() == df["a"].nunique() and not (f["c"] > 100).all()
    desc = f[num].describe()
    same(desc.loc[["count", "mean", "std", "min", "max"]], df[num].describe().loc[["count", "mean", "std", "min", "max"]])


def test_type_errors_name_both_operands():
    df, f = pair(0, 2)
    with pytest.raises(TypeError, match=r"column 's' \(str\) \+ 1.5 \(float\).*astype"):
        f["s"] + 1.5
    with pytest.raises(TypeError, match=r"column 'c' \(float64\) - column 's' \(str\)"):
        f["c"] - f["s"]
    with pytest.raises(TypeError, match=r"2 \(int\) \* column 't' \(datetime64"):
        2 * f["t"]
    with pytest.raises(TypeError, match="cf.from_pandas"):
        f["a"] + df["a"]
    with pytest.raises(TypeError, match=r"mean of .*'s' \(str\).*numeric"):
        f[["a", "s"]].mean()
    with pytest.raises(KeyError, match=r"'zz' is not in the table"):
        f.astype({"zz": "int8"})
    with pytest.raises(KeyError, match=r"'bb' is not in the table.*did you mean 'b'"):
        f.fillna({"bb": 0})


def test_fillna_dict_then_select_one_column():
    """dask's projection through fillna({...}) dropped the fill when one column was selected after it."""
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.nan] * 5, "b": [np.nan, 1.0, 2.0, 3.0] * 5, "s": list("wxyz") * 5})
    f = cf.from_pandas(df, npartitions=3)
    pd.testing.assert_series_equal(f.fillna({"a": 0})["a"].compute(), df.fillna({"a": 0})["a"])
    pd.testing.assert_frame_equal(f.fillna({"a": 0, "b": -1}).compute(), df.fillna({"a": 0, "b": -1}))


@pytest.mark.parametrize("seed,parts", CASES[1:])
def test_numpy_ufuncs_apply_by_partition(seed, parts):
    df, f = pair(seed, parts)
    cases = [(np.log1p(f["c"]), np.log1p(df["c"])), (np.exp(f[["b", "c"]]), np.exp(df[["b", "c"]])),
             (np.maximum(f["a"], f["c"]), np.maximum(df["a"], df["c"])), (np.float64(2) * f["b"], 2 * df["b"]),
             (f[np.int64(0) < f["a"]], df[0 < df["a"]])]
    assert [g.lengths for g, _ in cases[:4]] == [f.lengths] * 4
    check_all(cases)
    with pytest.raises(TypeError, match=r"numpy.sqrt to column 's' \(str\)"):
        np.sqrt(f["s"])


def test_reduction_of_strings_names_the_column():
    df, f = pair(0, 2)
    with pytest.raises(ValueError, match=r"cannot compute mean of column 's' \(str\)"):
        f["s"].mean()
