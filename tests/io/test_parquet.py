"""chunkflow/io/parquet.py: planning by row group, pushdown measured in bytes, commits, S3, errors."""
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import dask
import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileOpener, LocalFileSystem
from hypothesis import given
from hypothesis import strategies as st

import chunkflow as cf
from chunkflow.backend import gpu_available
from chunkflow.io.fs import INCOMPLETE, SUCCESS


# --- a real local file system under its own protocol that counts the bytes read through it ---
class _CountingFile(LocalFileOpener):
    def read(self, *args, **kwargs):
        data = super().read(*args, **kwargs)
        CountingFileSystem.add(len(data))
        return data

    def readinto(self, buffer):
        n = self.f.readinto(buffer)
        CountingFileSystem.add(n or 0)
        return n


class CountingFileSystem(LocalFileSystem):
    """fsspec's LocalFileSystem as ``countfs://``; ``bytes_read`` counts every byte read from its files."""

    protocol = ("countfs",)
    bytes_read = 0
    _lock = threading.Lock()

    @classmethod
    def add(cls, n):
        with cls._lock:
            cls.bytes_read += n

    def _open(self, path, mode="rb", block_size=None, **kwargs):
        path = self._strip_protocol(path)
        if "w" in mode:
            return super()._open(path, mode, block_size, **kwargs)
        return _CountingFile(path, mode, fs=self, **kwargs)


fsspec.register_implementation("countfs", CountingFileSystem, clobber=True)


def counting(fn):
    """Bytes read through countfs:// while ``fn()`` runs, and its result."""
    before = CountingFileSystem.bytes_read
    out = fn()
    return CountingFileSystem.bytes_read - before, out


def _frame(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "a": np.arange(n, dtype="int64"),
        "b": rng.normal(size=n),
        "s": [f"v{i % 7}" for i in range(n)],
        "k": np.arange(n) % 3,
    })


def _write(df, path, **kw):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), str(path), **kw)


def _row_group_bytes(path):
    """The largest uncompressed row group of ``path``: as chunk_bytes, one row group per partition."""
    meta = pq.ParquetFile(str(path)).metadata
    return max(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


# ------------------------------------------------------------------ reading: layouts
def test_single_file_round_trip_and_metadata(tmp_path):
    df = _frame()
    _write(df, tmp_path / "x.parquet", row_group_size=100)
    f = cf.read_parquet(str(tmp_path / "x.parquet"), chunk_bytes=_row_group_bytes(tmp_path / "x.parquet"))
    assert f.columns == ["a", "b", "s", "k"]
    assert f.npartitions == 10 and f.lengths == (100,) * 10 and len(f) == 1000
    pd.testing.assert_frame_equal(f.compute(), pd.read_parquet(tmp_path / "x.parquet"), check_dtype=False)
    pd.testing.assert_frame_equal(f.head(3), df.head(3), check_dtype=False)
    assert f[["a", "s"]].to_arrow().equals(pq.read_table(tmp_path / "x.parquet", columns=["a", "s"]))


def test_head_reads_only_the_first_partitions(tmp_path):
    _write(_frame(100_000), tmp_path / "x.parquet", row_group_size=10_000)
    url = f"countfs://{tmp_path / 'x.parquet'}"
    f = cf.read_parquet(url, chunk_bytes=_row_group_bytes(tmp_path / "x.parquet"))
    n_all, _ = counting(f.compute)
    n_head, head = counting(lambda: f.head(15_000))
    assert list(head["a"]) == list(range(15_000)) and n_head < n_all / 3


def test_directory_glob_and_natural_order(tmp_path):
    df = _frame(1200)
    for i in range(12):  # part.10 sorts after part.9
        _write(df.iloc[i * 100:(i + 1) * 100], tmp_path / f"part.{i}.parquet")
    (tmp_path / "_SUCCESS").write_bytes(b"")
    (tmp_path / ".hidden").write_bytes(b"junk")
    for url in (str(tmp_path), str(tmp_path / "part.*.parquet"), f"file://{tmp_path}"):
        f = cf.read_parquet(url)
        assert f.npartitions == 12
        np.testing.assert_array_equal(f["a"].compute().to_numpy(), np.arange(1200))


def _hive(tmp_path):
    df = _frame(900)
    pq.write_to_dataset(pa.Table.from_pandas(df, preserve_index=False), str(tmp_path / "hive"),
                        partition_cols=["k"], row_group_size=50)
    return df, str(tmp_path / "hive")


def test_hive_partitions_and_partition_filters_keep_lengths(tmp_path):
    df, url = _hive(tmp_path)
    f = cf.read_parquet(url, columns=["a", "k"], filters=[("k", "in", [0, 2])])
    assert f.lengths is not None and len(f) == 600
    got = f.compute().sort_values("a", ignore_index=True)
    want = df[df.k.isin([0, 2])][["a", "k"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert f.to_tensor().chunks[0] == f.lengths


def test_data_filter_prunes_row_groups_and_rows(tmp_path):
    df = _frame(100_000)
    path = tmp_path / "x.parquet"
    _write(df, path, row_group_size=10_000)
    url = f"countfs://{path}"
    full, _ = counting(lambda: cf.read_parquet(url).compute())
    n, got = counting(lambda: cf.read_parquet(url, filters=[("a", ">=", 25_000), ("a", "<", 26_000)]).compute())
    want = df[(df.a >= 25_000) & (df.a < 26_000)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert n < full / 4  # one row group of ten, plus footers


def test_filters_dnf_or_and_expression(tmp_path):
    import pyarrow.dataset as ds

    df = _frame(300)
    _write(df, tmp_path / "x.parquet", row_group_size=50)
    url = str(tmp_path / "x.parquet")
    f = cf.read_parquet(url, filters=[[("a", "<", 10)], [("s", "==", "v3")]])
    assert f.lengths is None
    want = df[(df.a < 10) | (df.s == "v3")]
    assert sorted(f.compute()["a"]) == sorted(want["a"])
    g = cf.read_parquet(url, filters=ds.field("b") > 0)
    assert sorted(g.compute()["a"]) == sorted(df[df.b > 0]["a"])
    t = g[["a", "b"]].to_tensor()  # unknown lengths: one counting pass
    assert t.shape == ((df.b > 0).sum(), 2)
    np.testing.assert_array_equal(t.compute(), df[df.b > 0][["a", "b"]].to_numpy())


# ------------------------------------------------------------------ pushdown in bytes
def _wide(path, ncols=32, nrows=20000, row_group_size=5000):
    rng = np.random.default_rng(1)
    table = pa.table({f"c{j}": rng.normal(size=nrows) for j in range(ncols)})
    pq.write_table(table, str(path), row_group_size=row_group_size, compression="none")
    return pq.ParquetFile(str(path)).metadata


def test_projection_fetches_only_the_selected_columns(tmp_path):
    meta = _wide(tmp_path / "w.parquet")
    selected = sum(meta.row_group(i).column(j).total_compressed_size
                   for i in range(meta.num_row_groups) for j in (3, 17))
    footer = meta.serialized_size + 8
    url = f"countfs://{tmp_path / 'w.parquet'}"
    f = cf.read_parquet(url, columns=["c3", "c17"])
    n, x = counting(lambda: f.to_tensor().compute())
    assert x.shape == (20000, 2)
    # each task reads its row groups' two column chunks and the footer again
    assert n <= 1.2 * selected + f.npartitions * (footer + 65536)
    assert n < 0.15 * os.path.getsize(tmp_path / "w.parquet")


def test_projection_after_read_is_pushed_into_the_reader(tmp_path):
    _wide(tmp_path / "w.parquet")
    url = f"countfs://{tmp_path / 'w.parquet'}"
    f = cf.read_parquet(url)  # all columns; then select two: dask's optimizer pushes it down
    n_all, _ = counting(lambda: f.compute())
    n_two, got = counting(lambda: f[["c3", "c17"]].compute())
    assert list(got.columns) == ["c3", "c17"] and n_two < n_all / 8


def test_to_tensor_knows_row_chunks_without_reading_data(tmp_path):
    _wide(tmp_path / "w.parquet", ncols=4, nrows=1000, row_group_size=300)
    url = f"countfs://{tmp_path / 'w.parquet'}"
    f = cf.read_parquet(url, chunk_bytes=_row_group_bytes(tmp_path / "w.parquet"))  # a row group a partition
    n, t = counting(lambda: f.to_tensor(dtype="float32"))
    assert n == 0
    assert t.shape == (1000, 4) and t.dtype == np.float32 and t.chunks == ((300, 300, 300, 100), (4,))


def test_to_tensor_types_nulls_and_partition_columns(tmp_path):
    df = pd.DataFrame({"i": np.arange(6, dtype="int32"), "f": [1.0, None, 3.0, 4.0, None, 6.0],
                       "n": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"), "flag": [True, False] * 3,
                       "k": [0, 0, 1, 1, 2, 2]})
    cf.from_pandas(df, npartitions=2).to_parquet(str(tmp_path / "d"), partition_on=["k"])
    f = cf.read_parquet(str(tmp_path / "d"))
    x = f[["i", "f", "flag", "k"]].to_tensor()
    assert x.dtype == np.float64
    got = x.compute()
    want = df[["i", "f", "flag", "k"]].to_numpy(dtype="float64")
    np.testing.assert_array_equal(got[np.argsort(got[:, 0])], want)
    v = f["i"].to_tensor()
    assert v.ndim == 1 and v.dtype == np.int32 and sorted(v.compute()) == list(range(6))
    assert np.isnan(f["n"].to_tensor(dtype="float64").compute()).sum() == 1
    with pytest.raises(ValueError, match="'n' has missing values.*dtype='float64'"):
        f["n"].to_tensor(dtype="int64").compute()


@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5), chunk=st.integers(40, 3000))
def test_chunks_follow_row_groups_merged_or_split(tmp_path_factory, sizes, chunk):
    path = tmp_path_factory.mktemp("rg") / "x.parquet"
    n = sum(sizes)
    table = pa.table({"x": np.arange(n, dtype="float64")})
    with pq.ParquetWriter(str(path), table.schema, compression="none") as w:
        start = 0
        for s in sizes:
            w.write_table(table.slice(start, s))
            start += s
    f = cf.read_parquet(str(path), chunk_bytes=chunk)
    assert sum(f.lengths) == n
    # merged pieces stay under the target, a row group up to twice it stays whole, bigger ones are split
    assert all(length * 8 <= 2 * chunk + 8 for length in f.lengths)
    np.testing.assert_array_equal(f.to_tensor().compute(), np.arange(n, dtype="float64")[:, None])
    meta = pq.ParquetFile(str(path)).metadata
    if chunk >= sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)):
        assert f.npartitions == 1


def test_graph_carries_no_data(tmp_path):
    df = _frame(200_000)
    _write(df, tmp_path / "x.parquet", row_group_size=50_000)
    f = cf.read_parquet(str(tmp_path / "x.parquet"))
    graph = dict(f.to_dask().__dask_graph__())
    assert len(pickle.dumps(graph)) < 20_000 < df.memory_usage(deep=True).sum() / 100


# ------------------------------------------------------------------ writing
def test_frame_to_parquet_round_trip_and_partition_on(tmp_path):
    df = _frame(500)
    f = cf.from_pandas(df, npartitions=3)
    assert f.to_parquet(str(tmp_path / "out")) == 500
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == [SUCCESS, "part.00000.parquet", "part.00001.parquet", "part.00002.parquet"]
    back = cf.read_parquet(str(tmp_path / "out"))
    assert back.lengths == f.lengths
    pd.testing.assert_frame_equal(back.compute(), df, check_dtype=False)
    f.to_parquet(str(tmp_path / "hive"), partition_on=["k"])
    assert sorted(os.listdir(tmp_path / "hive")) == [SUCCESS, "k=0", "k=1", "k=2"]
    got = cf.read_parquet(str(tmp_path / "hive"), filters=[("k", "==", 1)]).compute()
    pd.testing.assert_frame_equal(got.sort_values("a", ignore_index=True),
                                  df[df.k == 1].reset_index(drop=True), check_dtype=False)


def test_tensor_to_parquet(tmp_path):
    x = np.random.default_rng(0).normal(size=(103, 3))
    t = cf.from_array(x, chunks=(25, 2))
    assert t.to_parquet(str(tmp_path / "t"), columns=["p", "q", "r"]) == 103
    f = cf.read_parquet(str(tmp_path / "t"))
    assert f.columns == ["p", "q", "r"] and f.lengths == (25, 25, 25, 25, 3)
    np.testing.assert_array_equal(f.to_tensor().compute(), x)
    cf.from_array(x[:, 0], chunks=50).to_parquet(str(tmp_path / "v"))
    assert cf.read_parquet(str(tmp_path / "v")).columns == ["c0"]
    with pytest.raises(ValueError, match="3 distinct names"):
        t.to_parquet(str(tmp_path / "u"), columns=["p"])
    with pytest.raises(ValueError, match="1 or 2 axes"):
        cf.zeros((2, 2, 2)).to_parquet(str(tmp_path / "u"))


def test_to_tensor_device_is_checked_first_and_cpu_is_the_default(tmp_path):
    _wide(tmp_path / "w.parquet", ncols=3, nrows=500, row_group_size=200)
    f = cf.read_parquet(str(tmp_path / "w.parquet"))
    with pytest.raises(ValueError, match="Frame.to_tensor: unknown device 'bogus'"):
        f.to_tensor(device="bogus")
    with pytest.raises(ValueError, match="Frame.to_tensors: unknown device 'tpu'"):
        f.to_tensors(["c0", "c1"], "c2", device="tpu")
    t = f.to_tensor(dtype="float32")  # straight from Arrow (ParquetSource), no pandas in between
    same = f.to_tensor(dtype="float32", device="cpu")
    assert same.device == "cpu" and same.key == t.key
    (x, y), (x2, y2) = f.to_tensors(["c0", "c1"], "c2"), f.to_tensors(["c0", "c1"], "c2", device="cpu")
    assert (x2.key, y2.key) == (x.key, y.key)
    if not gpu_available():
        with pytest.raises(RuntimeError, match=r"Frame.to_tensor\(device='gpu'\) needs a GPU"):
            f.to_tensor(device="gpu")


def test_refuses_to_overwrite_unless_asked(tmp_path):
    f = cf.from_pandas(_frame(10))
    f.to_parquet(str(tmp_path / "o"))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        f.to_parquet(str(tmp_path / "o"))
    f[["a"]].to_parquet(str(tmp_path / "o"), overwrite=True)
    assert cf.read_parquet(str(tmp_path / "o")).columns == ["a"]


def _failing_frame():
    import dask.dataframe as dd

    def part(i):
        if i == 2:
            raise RuntimeError("chunk writer died")
        return pd.DataFrame({"a": np.arange(i * 10, i * 10 + 10)})

    return cf.from_dask_dataframe(dd.from_map(part, range(4), meta=pd.DataFrame({"a": np.zeros(0, "int64")})))


def test_failed_write_leaves_an_incomplete_dataset_and_retry_overwrites(tmp_path):
    url = str(tmp_path / "bad")
    with pytest.raises(RuntimeError, match="chunk writer died"):
        _failing_frame().to_parquet(url)
    assert os.path.exists(tmp_path / "bad" / INCOMPLETE) and not os.path.exists(tmp_path / "bad" / SUCCESS)
    with pytest.raises(ValueError, match="incomplete dataset.*overwrite=True"):
        cf.read_parquet(url)
    with pytest.raises(ValueError, match="incomplete"):
        cf.read_parquet(url + "/*.parquet")
    _write(_frame(5), tmp_path / "bad" / "part.00009.parquet")  # one file of it, read alone
    with pytest.raises(ValueError, match="incomplete"):
        cf.read_parquet(url + "/part.00009.parquet")
    cf.from_pandas(_frame(40)).to_parquet(url, overwrite=True)
    assert len(cf.read_parquet(url)) == 40 and not os.path.exists(tmp_path / "bad" / INCOMPLETE)


@pytest.mark.slow
def test_writer_killed_with_sigkill_leaves_nothing_complete(tmp_path):
    url = str(tmp_path / "killed")
    script = textwrap.dedent(f"""
        import time, numpy as np, pandas as pd, dask.dataframe as dd, chunkflow as cf
        def part(i):
            if i == 3:
                time.sleep(120)
            return pd.DataFrame({{"a": np.arange(10) + 10 * i}})
        meta = pd.DataFrame({{"a": np.zeros(0, "int64")}})
        f = cf.from_dask_dataframe(dd.from_map(part, range(4), meta=meta))
        f.to_parquet({url!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    try:
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(url, "part.00000.parquet")) and time.time() < deadline:
            assert proc.poll() is None, "the writer exited early"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert os.path.exists(os.path.join(url, INCOMPLETE)) and not os.path.exists(os.path.join(url, SUCCESS))
    with pytest.raises(ValueError, match="incomplete"):
        cf.read_parquet(url)
    cf.from_pandas(_frame(5)).to_parquet(url, overwrite=True)
    assert len(cf.read_parquet(url).compute()) == 5


# ------------------------------------------------------------------ bad input
def test_missing_column_lists_available_and_closest(tmp_path):
    _write(_frame(10), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match=r"'bb' is not in .*x\.parquet.*\['a', 'b', 's', 'k'\].*did you mean 'b'"):
        cf.read_parquet(str(tmp_path / "x.parquet"), columns=["a", "bb"])
    with pytest.raises(KeyError, match="did you mean 'a'"):
        cf.read_parquet(str(tmp_path / "x.parquet"), filters=[("aa", ">", 1)])


def test_missing_path_and_empty_glob(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.parquet"):
        cf.read_parquet(str(tmp_path / "nope.parquet"))
    with pytest.raises(FileNotFoundError, match=r"matches no data files"):
        cf.read_parquet(str(tmp_path / "*.parquet"))


def test_unsupported_scheme():
    with pytest.raises(ValueError, match="unsupported URL scheme 'nosuch'"):
        cf.read_parquet("nosuch://bucket/x.parquet")


def test_corrupt_and_truncated_files_are_named(tmp_path):
    _write(_frame(100), tmp_path / "good.parquet")
    data = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "trunc.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"trunc\.parquet.*corrupt, truncated"):
        cf.read_parquet(str(tmp_path / "trunc.parquet"))
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.parquet").write_bytes(data)
    (d / "b.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"b\.parquet.*corrupt, truncated"):
        cf.read_parquet(str(d))


def test_schema_mismatch_names_both_files_and_column(tmp_path):
    _write(pd.DataFrame({"a": [1, 2], "b": [1.0, 2.0]}), tmp_path / "1.parquet")
    _write(pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]}), tmp_path / "2.parquet")
    with pytest.raises(ValueError, match=r"column 'a'.*int64 in .*1\.parquet.*string in .*2\.parquet"):
        cf.read_parquet(str(tmp_path))
    assert len(cf.read_parquet(str(tmp_path), columns=["b"]).compute()) == 4  # a is not read


# ------------------------------------------------------------------ S3 (loopback moto server)
def test_s3_round_trip_and_hive_filters(s3):
    bucket, options = s3
    df = _frame(600)
    cf.from_pandas(df, npartitions=2).to_parquet(f"{bucket}/plain", storage_options=options)
    f = cf.read_parquet(f"{bucket}/plain", storage_options=options)
    assert f.lengths == (300, 300)
    pd.testing.assert_frame_equal(f.compute(), df, check_dtype=False)
    cf.from_pandas(df, npartitions=2).to_parquet(f"{bucket}/hive", partition_on=["k"], storage_options=options)
    g = cf.read_parquet(f"{bucket}/hive", columns=["a", "b"], filters=[("k", "==", 2), ("b", ">", 0)],
                        storage_options=options)
    want = df[(df.k == 2) & (df.b > 0)]
    assert sorted(g.compute()["a"]) == sorted(want["a"])
    t = cf.from_array(np.eye(4), chunks=(2, -1))
    t.to_parquet(f"{bucket}/t.pq", storage_options=options)
    np.testing.assert_array_equal(cf.read_parquet(f"{bucket}/t.pq", storage_options=options).to_tensor(), np.eye(4))


def test_s3_missing_key_and_bucket(s3):
    bucket, options = s3
    with pytest.raises(FileNotFoundError, match="missing"):
        cf.read_parquet(f"{bucket}/missing/", storage_options=options)
    with pytest.raises(FileNotFoundError, match="no-such-bucket-x"):
        cf.read_parquet("s3://no-such-bucket-x/data", storage_options=options)


def test_s3_wrong_endpoint_is_a_connection_error(s3):
    bucket, _ = s3
    options = {"endpoint_url": "http://127.0.0.1:9", "key": "k", "secret": "s",
               "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1}}
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9.*endpoint_url"):
        cf.read_parquet(f"{bucket}/x.parquet", storage_options=options)


@pytest.mark.slow
def test_local_cluster_reads_from_s3_on_workers(s3):
    distributed = pytest.importorskip("distributed")
    bucket, options = s3
    df = _frame(100_000)
    cf.from_pandas(df, npartitions=4).to_parquet(f"{bucket}/big", storage_options=options)
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        f = cf.read_parquet(f"{bucket}/big", storage_options=options)
        graph = dict(f.to_dask().__dask_graph__())
        assert len(pickle.dumps(graph)) < df.memory_usage(deep=True).sum() / 100
        total = client.compute(f.to_dask()["b"].sum()).result()
        assert np.isclose(total, df.b.sum())
        x = f[["a", "b"]].to_tensor()
        np.testing.assert_allclose(x.sum(axis=0).compute(), df[["a", "b"]].sum().to_numpy())
        # the read tasks ran on the workers: what came back to the client is one address per partition
        where = f.to_dask().map_partitions(_worker_address, meta=pd.Series([], dtype=object)).compute()
        assert len(where) == f.npartitions and set(where) <= set(client.scheduler_info()["workers"])


def _worker_address(df):
    from distributed import get_worker

    return pd.Series([get_worker().address], dtype=object)


def test_local_compute_scans_once_in_piece_order(tmp_path):
    """The threaded path's single Arrow scan gives the rows and order of the piece-by-piece path."""
    df = _frame(3000)
    pq.write_to_dataset(pa.Table.from_pandas(df, preserve_index=False), str(tmp_path / "hive"),
                        partition_cols=["k"], row_group_size=70)
    for filters in (None, [("a", ">", 1000)], [("k", "!=", 1), ("a", "<", 2500)]):
        f = cf.read_parquet(str(tmp_path / "hive"), filters=filters, chunk_bytes=2000)
        assert f.npartitions > 3
        one_scan, by_piece = f.compute(), f.compute(scheduler="sync")
        pd.testing.assert_frame_equal(one_scan, by_piece)
        want = df if filters is None else df.query(" and ".join(f"{c} {'==' if o == '=' else o} {v}"
                                                                  for c, o, v in filters))
        assert sorted(one_scan["a"]) == sorted(want["a"])


def test_file_corrupted_after_planning_is_named(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for name in ("a", "b"):
        _write(_frame(500), d / f"{name}.parquet", row_group_size=100)
    f = cf.read_parquet(str(d))
    (d / "b.parquet").write_bytes(b"PAR1 garbage, not the file that was planned PAR1")
    with pytest.raises((ValueError, OSError), match=r"b\.parquet"):
        f.compute()
