"""chunkflow/frame/frame.py: Frame metadata, selection, results and to_tensor against pandas/NumPy."""
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import chunkflow as cf
from chunkflow.backend import gpu_available
from chunkflow.frame import ColumnNotFoundError, check_columns


def _df(n=100):
    return pd.DataFrame({"a": np.arange(n), "b": np.linspace(0, 1, n), "c": np.arange(n) % 2 == 0,
                         "s": [f"x{i}" for i in range(n)]})


def test_metadata_and_results():
    df = _df()
    f = cf.from_pandas(df, npartitions=4)
    assert isinstance(f, cf.Frame)
    assert f.columns == ["a", "b", "c", "s"] and f.npartitions == 4
    assert f.lengths == (25, 25, 25, 25) and len(f) == 100 and f.shape == (100, 4)
    pd.testing.assert_series_equal(f.dtypes, df.dtypes, check_dtype=False)
    pd.testing.assert_frame_equal(f.compute(), df, check_dtype=False)
    pd.testing.assert_frame_equal(f.head(3), df.head(3), check_dtype=False)
    assert f.to_arrow().num_rows == 100
    assert isinstance(f.to_dask(), dd.DataFrame)
    assert "rows=100" in repr(f) and "npartitions=4" in repr(f)


def test_getitem():
    f = cf.from_pandas(_df(), npartitions=2)
    g = f[["b", "a"]]
    assert g.columns == ["b", "a"] and g.lengths == f.lengths
    s = f["a"]
    assert s.ndim == 1 and s.columns == ["a"] and len(s) == 100
    np.testing.assert_array_equal(s.compute().to_numpy(), np.arange(100))
    with pytest.raises(KeyError, match=r"'bb' is not in the table.*did you mean 'b'"):
        f["bb"]
    with pytest.raises(TypeError, match="a name or a list of names"):
        f[0]
    with pytest.raises(TypeError, match="no columns to select"):
        s["a"]


def test_to_tensor_known_chunks_and_dtype():
    df = _df(10)
    f = cf.from_pandas(df, npartitions=3)
    t = f.to_tensor(columns=["a", "b", "c"])
    assert t.chunks == (f.lengths, (3,)) and t.dtype == np.float64
    np.testing.assert_array_equal(t.compute(), df[["a", "b", "c"]].to_numpy(dtype="float64"))
    assert f.to_tensor(["a"], dtype="float32").dtype == np.float32
    v = f["a"].to_tensor()
    assert v.shape == (10,) and v.dtype == np.int64
    np.testing.assert_array_equal((v * 2).compute(), np.arange(10) * 2)
    with pytest.raises(TypeError, match=r"\['s'\] are not numeric"):
        f.to_tensor()


def test_to_tensor_counts_unknown_lengths_once():
    ddf = dd.from_pandas(_df(30), npartitions=3)
    ddf = ddf[ddf.a % 3 != 0]  # a row filter: lengths unknown
    f = cf.from_dask_dataframe(ddf)
    assert f.lengths is None and np.isnan(f.shape[0])
    t = f.to_tensor(["a"])
    assert t.chunks[0] == (6, 7, 7)
    np.testing.assert_array_equal(t.compute()[:, 0], [a for a in range(30) if a % 3])
    assert len(f) == 20


def test_nullable_columns_become_float_with_nan():
    df = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64")})
    t = cf.from_pandas(df).to_tensor()
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.compute()[:, 0], [1.0, np.nan, 3.0])


def test_constructors_validate():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        cf.from_pandas(np.zeros(3))
    with pytest.raises(TypeError, match="cf.from_pandas"):
        cf.Frame(pd.DataFrame())
    with pytest.raises(ValueError, match="2 partition lengths given for 1"):
        cf.from_dask_dataframe(dd.from_pandas(_df(4), npartitions=1), lengths=(2, 2))


def test_check_columns():
    assert check_columns(["b"], ["a", "b"]) == ["b"]
    with pytest.raises(ColumnNotFoundError) as e:
        check_columns(["z"], ["a", "b"], where="x.parquet")
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)
    assert str(e.value) == "column 'z' is not in x.parquet; available columns: ['a', 'b']"
    with pytest.raises(ValueError, match="more than once"):
        check_columns(["a", "a"], ["a"])
    with pytest.raises(TypeError, match="column name or a list"):
        check_columns(3, ["a"])


def test_frame_to_parquet_and_csv_methods(tmp_path):
    f = cf.from_pandas(_df(20), npartitions=2)
    f.to_parquet(str(tmp_path / "p"))
    f.to_csv(str(tmp_path / "c"))
    pd.testing.assert_frame_equal(cf.read_parquet(str(tmp_path / "p")).compute(), _df(20), check_dtype=False)
    got = cf.read_csv(str(tmp_path / "c")).compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, _df(20), check_dtype=False)


# ------------------------------------------------------------------ columns, to_tensors, from_dask, pushdown
def test_column_operations_keep_lengths_and_match_pandas():
    df = _df(40)
    f = cf.from_pandas(df, npartitions=3)
    g = f.assign(d=f["a"] * 2, e=lambda t: t["d"] + t["b"], one=1).rename(columns={"b": "bb"}).drop(columns=["c"])
    want = df.assign(d=df["a"] * 2, e=lambda t: t["d"] + t["b"], one=1).rename(columns={"b": "bb"}).drop(columns=["c"])
    assert g.lengths == f.lengths and len(g) == 40
    pd.testing.assert_frame_equal(g.compute(), want)
    pd.testing.assert_frame_equal(f.select_dtypes("number").compute(), df.select_dtypes("number"))
    assert f.a.name == "a" and "a" in dir(f) and list(f) == f.columns and "s" in f
    with pytest.raises(TypeError, match="compute"):
        list(f["a"])
    with pytest.raises(KeyError, match="'bx' is not in the table.*did you mean 'b'"):
        f.rename(columns={"bx": "y"})
    with pytest.raises(KeyError, match="did you mean 's'"):
        f.drop(columns=["ss"])
    with pytest.raises(TypeError, match="one column"):
        f.assign(z=f[["a", "b"]])


def test_to_tensors_share_one_counting_pass():
    from .test_encode import _counted

    df = _df(60)
    f, calls = _counted(df, 3)
    f = f[f["a"] % 4 != 0]  # a row filter: lengths unknown
    X, y = f.to_tensors(["a", "b"], "c")
    assert len(calls) == 3  # one counting pass for both
    assert X.chunks[0] == y.chunks[0] == (15, 15, 15) and X.shape == (45, 2) and y.ndim == 1
    assert X.dtype == np.float64 and y.dtype == np.bool_
    x_np, y_np = cf.compute(X, y)
    keep = df["a"] % 4 != 0
    np.testing.assert_array_equal(x_np, df.loc[keep, ["a", "b"]].to_numpy())
    np.testing.assert_array_equal(y_np, df.loc[keep, "c"].to_numpy())
    f2 = cf.from_pandas(df, npartitions=2)
    X, y = f2.to_tensors(["b"], "a", dtype="float32")
    assert X.chunks == ((30, 30), (1,)) and X.dtype == np.float32 and y.dtype == np.int64
    with pytest.raises(ValueError, match="label 'a' is also among the features"):
        f2.to_tensors(["a", "b"], "a")
    with pytest.raises(TypeError, match=r"\['s'\] are not numeric"):
        f2.to_tensors(["s"], "a")


def test_device_is_checked_before_the_counting_pass_and_cpu_is_the_default():
    from .test_encode import _counted

    df = _df(60)
    f, calls = _counted(df, 3)
    f = f[f["a"] % 4 != 0]  # a row filter: lengths unknown, so to_tensor would count them first
    with pytest.raises(ValueError, match="Frame.to_tensor: unknown device 'bogus'"):
        f.to_tensor(["a", "b"], device="bogus")
    with pytest.raises(ValueError, match="Frame.to_tensors: unknown device 'bogus'"):
        f.to_tensors(["a"], "b", device="bogus")
    if not gpu_available():
        with pytest.raises(RuntimeError, match=r"Frame.to_tensors\(device='gpu'\) needs a GPU"):
            f.to_tensors(["a"], "b", device="gpu")
    assert calls == []  # nothing was read or counted
    g = cf.from_pandas(df, npartitions=3)
    t = g.to_tensor(["a", "b"])
    assert g.to_tensor(["a", "b"], device="cpu").key == t.key and t.device == "cpu"
    (x, y), (x2, y2) = g.to_tensors(["a"], "b"), g.to_tensors(["a"], "b", device="cpu")
    assert (x2.key, y2.key) == (x.key, y.key) and x2.device == y2.device == "cpu"
    assert g["b"].to_tensor(device=None).key == g["b"].to_tensor().key  # a Series too


def test_from_dask_dispatches_on_type():
    import dask.array as da

    ddf = dd.from_pandas(_df(10), npartitions=2)
    f = cf.from_dask(ddf, lengths=(5, 5))
    assert isinstance(f, cf.Frame) and f.lengths == (5, 5)
    assert isinstance(cf.from_dask(ddf["a"]), cf.Series)
    t = cf.from_dask(da.ones((4, 2), chunks=2))
    assert isinstance(t, cf.Tensor) and t.shape == (4, 2)
    with pytest.raises(TypeError, match="lengths= is for dask DataFrames"):
        cf.from_dask(da.ones(3), lengths=(3,))
    assert cf.from_pandas(_df(4)).npartitions == 1


def test_filtered_selection_reads_only_the_selected_columns(tmp_path):
    """frame[frame.c0 > 0][["c0", "c1"]] on 32 Parquet columns: dask's optimizer projects into the reader."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.io.test_parquet import counting

    rng = np.random.default_rng(0)
    pq.write_table(pa.table({f"c{j}": rng.normal(size=20000) for j in range(32)}), str(tmp_path / "w.parquet"),
                   row_group_size=5000, compression="none")
    f = cf.read_parquet(f"countfs://{tmp_path / 'w.parquet'}")
    n, got = counting(lambda: f[f.c0 > 0][["c0", "c1"]].compute())
    df = pq.read_table(str(tmp_path / "w.parquet")).to_pandas()
    pd.testing.assert_frame_equal(got, df[df.c0 > 0][["c0", "c1"]])
    assert n < 0.1 * os.path.getsize(tmp_path / "w.parquet")  # 2 of 32 columns (and footers)
    m, _ = counting(lambda: cf.read_parquet(f"countfs://{tmp_path / 'w.parquet'}",
                                            filters=[("c0", ">", 10.0)])[["c0", "c1"]].compute())
    assert m < n / 2  # row-group statistics skip every row group (c0 > 10 never holds)


def test_row_filter_on_a_parquet_column_skips_row_groups(tmp_path):
    """frame[(frame.k >= a) & (frame.k < b)][["c1", "c2"]]: only the matching row groups' 3 columns are read."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.io.test_parquet import counting

    rng = np.random.default_rng(0)
    n = 40000
    cols = {f"c{j}": rng.normal(size=n) for j in range(32)}
    cols["k"] = np.arange(n)
    path = tmp_path / "w.parquet"
    pq.write_table(pa.table(cols), str(path), row_group_size=4000, compression="none")
    df = pq.read_table(str(path)).to_pandas()
    f = cf.read_parquet(f"countfs://{path}")
    size = os.path.getsize(path)
    n_bytes, got = counting(lambda: f[(f.k >= 10_000) & (f.k < 14_000)][["c1", "c2"]].compute())
    pd.testing.assert_frame_equal(got, df[(df.k >= 10_000) & (df.k < 14_000)][["c1", "c2"]])  # index labels too
    assert n_bytes < 0.03 * size  # 2 of 10 row groups (the range spans a boundary), 3 of 33 columns, footers
    for mask, want in ((f.k.isin([5, 39_999]), df[df.k.isin([5, 39_999])]),
                       ((f.k < 10) | (f.k > 39_990), df[(df.k < 10) | (df.k > 39_990)])):
        m, got = counting(lambda: f[mask].compute())
        pd.testing.assert_frame_equal(got, want)
        assert m < 0.25 * size
    # not pushed (pandas keeps NaN rows under negation): same rows as pandas, whole columns read
    pd.testing.assert_frame_equal(f[~(f.k > 5)].compute(), df[~(df.k > 5)])
    pd.testing.assert_series_equal(f.c3[f.c3 > 1.5].compute(), df.c3[df.c3 > 1.5])


def test_pushed_filter_keeps_pandas_semantics_for_missing_values(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.nan, 5.0] * 40, "s": ["x", None, "y", "x", None] * 40,
                       "i": np.arange(200)})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), str(tmp_path / "m.parquet"), row_group_size=30)
    f = cf.read_parquet(str(tmp_path / "m.parquet"), chunk_bytes=1000)
    back = pq.read_table(str(tmp_path / "m.parquet")).to_pandas()
    for fn in (lambda t: t[t.a > 2], lambda t: t[t.a == 1.0], lambda t: t[(t.a >= 3) | (t.i < 7)],
               lambda t: t[t.s == "x"], lambda t: t[t.s.isin(["y"])], lambda t: t[(t.i > 50) & (t.a < 4)]):
        pd.testing.assert_frame_equal(fn(f).compute(), fn(back))
    assert fn(f).lengths is None  # rows dropped: lengths unknown, to_tensor counts them
    assert fn(f).to_tensor(["i", "a"]).compute().shape == (len(fn(back)), 2)


def test_other_pandas_methods_come_from_dask_wrapped():
    df = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12) % 3})
    f = cf.from_pandas(df, npartitions=3)
    out = f.cumsum()
    assert isinstance(out, cf.Frame)
    pd.testing.assert_frame_equal(out.compute(), df.cumsum(), check_dtype=False)  # dask: int cumsum -> float
    pd.testing.assert_series_equal(f["a"].shift(1).compute(), df["a"].shift(1))
    assert f["a"].idxmax() == df["a"].idxmax()  # a dask scalar comes back computed
    with pytest.raises(AttributeError, match="no attribute or column 'nosuch'"):
        f.nosuch


def test_read_csv_empty_fields_are_missing_as_in_pandas(tmp_path):
    """An empty field is NaN in pandas.read_csv, in string columns too (pyarrow alone reads it as "")."""
    from .data import random_df

    df = random_df(5, n=400)
    df.to_csv(tmp_path / "x.csv", index=False)
    want = pd.read_csv(tmp_path / "x.csv")
    f = cf.read_csv(str(tmp_path / "x.csv"), blocksize=4000)
    got = f.compute().reset_index(drop=True)
    assert got["s"].isna().sum() == want["s"].isna().sum() > 0
    pd.testing.assert_frame_equal(got, want)
    assert f["s"].str.lower().compute().isna().sum() == want["s"].isna().sum()
    assert len(f.dropna(subset=["s"])) == len(want.dropna(subset=["s"]))
