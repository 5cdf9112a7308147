"""chunkflow/io/npy.py: byte-range reads and streamed atomic writes of .npy files."""
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import cloudpickle
import dask
import dask.array as da
import fsspec
import numpy as np
import pytest
from fsspec.implementations.local import LocalFileSystem
from hypothesis import given
from hypothesis import strategies as st

import chunkflow as cf
from chunkflow.backend import gpu_available
from chunkflow.io import npy
from tests.helpers import array_and_grid, check_process_cluster_round_trip

DTYPES = (np.bool_, np.int8, np.int64, np.float32, np.complex64, np.dtype(">f8"), np.dtype("<u2"))


class CountingFileSystem(LocalFileSystem):
    """Local files under the ``countfile://`` protocol, counting the bytes read and logging writes."""

    protocol = "countfile"
    lock = threading.Lock()
    bytes_read = 0
    reads = []  # (start, end) of each cat_file
    log = []  # ("write", nbytes) of each write to a file opened for writing

    @classmethod
    def _strip_protocol(cls, path):
        path = path[len("countfile://"):] if str(path).startswith("countfile://") else path
        return super()._strip_protocol(path)

    @classmethod
    def reset(cls):
        cls.bytes_read = 0
        cls.reads.clear()
        cls.log.clear()

    def cat_file(self, path, start=None, end=None, **kwargs):
        data = super().cat_file(path, start, end, **kwargs)
        with self.lock:
            CountingFileSystem.bytes_read += len(data)
            CountingFileSystem.reads.append((start, end))
        return data

    def _open(self, path, mode="rb", **kwargs):
        f = super()._open(path, mode, **kwargs)
        if "w" in mode:
            write = f.write

            def logged(data):
                with self.lock:
                    CountingFileSystem.log.append(("write", memoryview(data).nbytes))
                return write(data)

            f.write = logged
        return f


fsspec.register_implementation("countfile", "tests.io.test_npy.CountingFileSystem", clobber=True)


@pytest.fixture
def counting():
    CountingFileSystem.reset()
    yield CountingFileSystem
    CountingFileSystem.reset()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("npy")


def _fresh(folder, name="a.npy"):
    return str(folder / f"{uuid.uuid4().hex[:8]}-{name}")


# ------------------------------------------------------------------ round trips
@given(array_and_grid(dtypes=DTYPES), st.booleans())
def test_read_matches_numpy_on_any_shape_dtype_and_grid(folder, case, fortran):
    a, grid = case
    a = np.array(a, order="F") if fortran else a
    path = _fresh(folder)
    np.save(path, a)
    x = cf.from_npy(path, chunks=grid)
    assert x.shape == a.shape and x.dtype == a.dtype
    out = x.compute()
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, a)


@given(array_and_grid(dtypes=DTYPES))
def test_write_matches_numpy_on_any_shape_dtype_and_grid(folder, case):
    a, grid = case
    path = _fresh(folder)
    cf.from_array(a, chunks=grid).to_npy(path)
    back = np.load(path)
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_round_trip_structured_and_string_dtypes(tmp_path):
    a = np.zeros(7, dtype=[("x", "<f4"), ("name", "U3")])
    a["x"] = np.arange(7)
    for arr in (a, np.array(["ab", "c", "déf"] * 3)):
        path = str(tmp_path / "s.npy")
        np.save(path, arr)
        x = cf.from_npy(path, chunks=2)
        np.testing.assert_array_equal(x.compute(), arr)
        x.to_npy(str(tmp_path / "t.npy"), overwrite=True)
        np.testing.assert_array_equal(np.load(str(tmp_path / "t.npy")), arr)


def test_fortran_column_chunks_are_one_range_each(tmp_path, counting):
    a = np.asfortranarray(np.arange(600.0).reshape(20, 30))
    np.save(tmp_path / "f.npy", a)
    assert cf.from_npy(str(tmp_path / "f.npy")).chunks == ((20,), (30,))
    x = cf.from_npy(f"countfile://{tmp_path}/f.npy", chunks=(-1, 10))
    counting.reset()
    np.testing.assert_array_equal(x.compute(), a)
    assert len(counting.reads) == 3 and counting.bytes_read == a.nbytes
    np.testing.assert_array_equal(cf.from_npy(str(tmp_path / "f.npy"), chunks=(7, 4)).compute(), a)


def test_header_versions_and_big_headers_round_trip():
    for shape in [(), (3,), (2,) * 40]:
        h = npy.header_bytes(np.dtype(">c16"), shape)
        assert len(h) % 64 == 0
        assert npy.parse_header(h) == npy.NpyHeader(np.dtype(">c16"), shape, False, len(h))
    wide = np.dtype([(f"field_{i}", "<i4") for i in range(3000)])  # header over 64 KiB: version 2
    h = npy.header_bytes(wide, (1,))
    assert h[6] == 2 and npy.parse_header(h).dtype == wide
    uni = np.dtype([("é€", "<i4")])  # not latin-1: version 3 (utf-8)
    h = npy.header_bytes(uni, (2,))
    assert h[6] == 3 and npy.parse_header(h).dtype == uni
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros(2, dtype=uni), version=(3, 0))
    assert npy.parse_header(buf.getvalue()).dtype == uni


# ------------------------------------------------------------------ reads are byte ranges
def test_row_chunks_read_only_their_byte_range(tmp_path, counting):
    a = np.arange(64_000, dtype=np.float64).reshape(8000, 8)  # 512 KB
    np.save(tmp_path / "big.npy", a)
    x = cf.from_npy(f"countfile://{tmp_path}/big.npy", chunks=(1000, -1))
    header = counting.bytes_read
    assert header <= 4096 and x.npartitions == 8
    np.testing.assert_array_equal(x[1000:2000].compute(), a[1000:2000])
    assert counting.bytes_read - header == 1000 * 8 * 8  # that chunk and nothing else
    counting.reset()
    np.testing.assert_array_equal(x.compute(), a)
    assert counting.bytes_read == a.nbytes and len(counting.reads) == 8  # one range per chunk, no re-reads


def test_column_chunks_read_runs_not_the_whole_file(tmp_path, counting):
    a = np.arange(100 * 50, dtype=np.int32).reshape(100, 50)
    np.save(tmp_path / "c.npy", a)
    x = cf.from_npy(f"countfile://{tmp_path}/c.npy", chunks=(10, 5))
    counting.reset()
    np.testing.assert_array_equal(x[:10, :5].compute(), a[:10, :5])
    assert counting.bytes_read == 10 * 5 * 4  # ten runs of five values


def test_many_runs_are_read_in_batches_not_as_the_whole_span(tmp_path, counting):
    a = np.arange(3000 * 40, dtype=np.int16).reshape(3000, 40)
    np.save(tmp_path / "m.npy", a)
    x = cf.from_npy(f"countfile://{tmp_path}/m.npy", chunks=(-1, 4))
    counting.reset()
    np.testing.assert_array_equal(x[:, 4:8].compute(), a[:, 4:8])
    assert counting.bytes_read == 3000 * 4 * 2 and len(counting.reads) == 3000


def test_graph_of_a_large_read_carries_no_data(tmp_path):
    path = tmp_path / "huge.npy"
    shape = (2_000_000, 500)  # 8 GB of float64, as a sparse file: nothing is read
    with open(path, "wb") as f:
        f.write(npy.header_bytes(np.dtype("f8"), shape))
        f.truncate(f.tell() + 8 * shape[0] * shape[1])
    x = cf.from_npy(str(path), chunks=(2000, -1))
    graph = dict(x.to_dask().__dask_graph__())
    size = len(cloudpickle.dumps(graph))
    assert len(graph) >= 1000
    assert size < 600 * len(graph), size  # a few hundred bytes a task, against 8 MB of data a chunk


# ------------------------------------------------------------------ writes
def test_write_streams_bands_in_order_with_few_in_memory(tmp_path, counting):
    n, band = 40, 100 * 10 * 8
    src = da.zeros((n * 100, 10), chunks=(100, 10), dtype=np.int64).map_blocks(_made, dtype=np.int64)
    with dask.config.set(num_workers=2):
        cf.from_dask(src).to_npy(f"countfile://{tmp_path}/s.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy")[::100, 0], np.arange(n))
    ahead = peak = 0
    for kind, size in counting.log:
        ahead += 1 if kind == "made" else -(size == band)
        peak = max(peak, ahead)
    assert sum(kind == "made" for kind, _ in counting.log) == n  # each band computed once
    assert peak <= 8, peak  # a bounded number of bands wait for the writer, however many there are


def _made(block, block_info=None):
    i = block_info[None]["chunk-location"][0]
    with CountingFileSystem.lock:
        CountingFileSystem.log.append(("made", i))
    return np.full(block.shape, i, dtype=np.int64)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = str(tmp_path / "a.npy")
    cf.arange(10, chunks=3).to_npy(path)
    with pytest.raises(FileExistsError, match="a.npy.*overwrite=True"):
        cf.arange(5, chunks=3).to_npy(path)
    cf.arange(5, chunks=3).to_npy(path, overwrite=True)
    np.testing.assert_array_equal(np.load(path), np.arange(5))


def _failing(block, block_info=None):
    if block_info[None]["chunk-location"][0] == 2:
        raise RuntimeError("chunk 2 failed")
    return block


def test_a_failing_chunk_leaves_nothing_and_a_retry_writes(tmp_path):
    path = str(tmp_path / "f.npy")
    bad = cf.from_dask(da.ones((50, 3), chunks=(10, 3)).map_blocks(_failing, dtype=float)) * 2
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        bad.to_npy(path)
    assert os.listdir(tmp_path) == []  # neither the file nor its temporary
    with pytest.raises(FileNotFoundError, match="f.npy"):
        cf.from_npy(path)
    cf.ones((50, 3), chunks=(10, 3)).to_npy(path, overwrite=True)
    np.testing.assert_array_equal(np.load(path), np.ones((50, 3)))


def test_a_failing_upstream_read_keeps_its_own_message(tmp_path):
    np.save(tmp_path / "src.npy", np.arange(10))
    x = cf.from_npy(str(tmp_path / "src.npy"), chunks=5)
    os.remove(tmp_path / "src.npy")
    with pytest.raises(FileNotFoundError, match="src.npy") as info:
        (x + 1).to_npy(str(tmp_path / "dst.npy"))
    assert "dst.npy" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_unknown_chunk_sizes_and_object_dtypes_are_refused(tmp_path):
    x = cf.arange(10, chunks=3)
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        x[x > 3].to_npy(str(tmp_path / "u.npy"))
    x[x > 3].compute_chunk_sizes().to_npy(str(tmp_path / "u.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "u.npy"), np.arange(4, 10))
    objects = cf.from_dask(da.from_array(np.array([1, "a"], dtype=object), chunks=1))
    with pytest.raises(TypeError, match="o.npy.*pickle"):
        objects.to_npy(str(tmp_path / "o.npy"))
    np.save(tmp_path / "p.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    with pytest.raises(TypeError, match="p.npy.*pickle"):
        cf.from_npy(str(tmp_path / "p.npy"))
    with pytest.raises(TypeError, match="Tensor"):
        npy.to_npy(np.zeros(3), str(tmp_path / "n.npy"))


@pytest.mark.slow
def test_sigkill_mid_write_leaves_nothing_and_a_retry_writes(tmp_path):
    path, started = str(tmp_path / "k.npy"), tmp_path / "started"
    script = textwrap.dedent(f"""
        import time, numpy as np, dask.array as da, chunkflow as cf
        def slow(block, block_info=None):
            if block_info[None]["chunk-location"][0] == 3:
                open({str(started)!r}, "w").close()
                time.sleep(60)
            return block
        src = da.ones((100, 4), chunks=(10, 4)).map_blocks(slow, dtype=float)
        cf.from_dask(src).to_npy({path!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not os.path.exists(path)
    with pytest.raises(FileNotFoundError, match="k.npy"):
        cf.from_npy(path)
    cf.ones((100, 4), chunks=(10, 4)).to_npy(path, overwrite=True)
    np.testing.assert_array_equal(np.load(path), np.ones((100, 4)))


# ------------------------------------------------------------------ bad input
def test_missing_file_names_the_url(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npy"):
        cf.from_npy(str(tmp_path / "nope.npy"))


def _header(text):
    return np.lib.format.MAGIC_PREFIX + b"\x01\x00" + (118).to_bytes(2, "little") + text.ljust(117) + b"\n"


_GOOD = _header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }") + np.arange(3.0).tobytes()


@pytest.mark.parametrize("raw, message", [
    (b"NOTNUMPY" + _GOOD[8:], "not a .npy file"),
    (_GOOD[:7], "truncated"),
    (_GOOD[:40], "truncated"),
    (_GOOD[:6] + b"\x09\x00" + _GOOD[8:], "version 9.0"),
    (_header(b"{'descr': '<f8', 'shape': (3,)}") + _GOOD[128:], "corrupt .npy header"),
    (_header(b"{'descr': <f8") + _GOOD[128:], "corrupt .npy header"),
    (_header(b"{'descr': '<f8', 'fortran_order': 1, 'shape': (3,), }") + _GOOD[128:], "fortran_order 1"),
    (_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }") + _GOOD[128:], "shape"),
    (_header(b"{'descr': 'zz', 'fortran_order': False, 'shape': (3,), }") + _GOOD[128:], "dtype 'zz'"),
    (_GOOD[:-8], "truncated or corrupt"),
    (_GOOD + b"\0" * 8, "truncated or corrupt"),
])
def test_corrupt_files_name_the_file(tmp_path, raw, message):
    assert np.load(io.BytesIO(_GOOD)).tolist() == [0.0, 1.0, 2.0]
    (tmp_path / "bad.npy").write_bytes(raw)
    with pytest.raises(ValueError, match=f"bad.npy.*{message}"):
        cf.from_npy(str(tmp_path / "bad.npy"))


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        cf.from_npy(str(tmp_path))


# ------------------------------------------------------------------ real S3
def test_s3_round_trip(s3):
    bucket, options = s3
    a = np.arange(3000, dtype=np.float32).reshape(300, 10)
    fs = fsspec.filesystem("s3", **options)
    buf = io.BytesIO()
    np.save(buf, a)
    fs.pipe_file(f"{bucket}/in/a.npy", buf.getvalue())
    x = cf.from_npy(f"{bucket}/in/a.npy", chunks=(64, 10), storage_options=options)
    np.testing.assert_array_equal(x.compute(), a)
    (x * 2).to_npy(f"{bucket}/out/b.npy", storage_options=options)
    assert [p.rsplit("/", 1)[1] for p in fs.ls(f"{bucket}/out", detail=False)] == ["b.npy"]
    np.testing.assert_array_equal(np.load(io.BytesIO(fs.cat_file(f"{bucket}/out/b.npy"))), a * 2)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        x.to_npy(f"{bucket}/out/b.npy", storage_options=options)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        cf.from_npy(f"{bucket}/missing.npy", storage_options=options)


@pytest.mark.slow
def test_read_and_write_on_a_process_cluster_from_s3(s3):
    bucket, options = s3
    a = np.random.default_rng(0).normal(size=(400, 6))
    buf = io.BytesIO()
    np.save(buf, a)
    fsspec.filesystem("s3", **options).pipe_file(f"{bucket}/a.npy", buf.getvalue())
    check_process_cluster_round_trip(
        lambda: cf.from_npy(f"{bucket}/a.npy", chunks=(50, -1), storage_options=options),
        lambda y: (y * 1.0).to_npy(f"{bucket}/b.npy", storage_options=options),
        lambda: np.load(io.BytesIO(fsspec.filesystem("s3", **options).cat_file(f"{bucket}/b.npy"))), a)


# ------------------------------------------------------------------ devices
def test_device_is_checked_before_reading_and_cpu_is_the_default(tmp_path):
    with pytest.raises(ValueError, match="from_npy: unknown device 'bogus'"):
        cf.from_npy(str(tmp_path / "missing.npy"), device="bogus")  # before the missing file is noticed
    a = np.arange(24.0).reshape(6, 4)
    np.save(tmp_path / "a.npy", a)
    x = cf.from_npy(str(tmp_path / "a.npy"), chunks=(2, 4))
    for same in (None, "cpu", "CPU"):
        y = cf.from_npy(str(tmp_path / "a.npy"), chunks=(2, 4), device=same)
        assert y.device == "cpu" and y.key == x.key  # the very same graph as without device=
    np.testing.assert_array_equal(y.compute(), a)
    if not gpu_available():
        with pytest.raises(RuntimeError, match=r"from_npy\(device='gpu'\) needs a GPU"):
            cf.from_npy(str(tmp_path / "missing.npy"), device="gpu")  # said before the file is looked for
