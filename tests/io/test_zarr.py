"""chunkflow/io/zarr.py: chunk-aligned Zarr v3 reads, writes whose zarr.json comes last."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import cloudpickle
import dask.array as da
import numpy as np
import pytest
from hypothesis import given

import chunkflow as cf
from chunkflow.backend import gpu_available
from tests.helpers import array_and_grid, check_process_cluster_round_trip

zarr = pytest.importorskip("zarr", minversion="3")

DTYPES = (np.bool_, np.int8, np.int64, np.float32, np.complex64, np.dtype(">f8"), np.dtype("<u2"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("zarr")


def _names(path):
    return sorted(os.listdir(path))


# ------------------------------------------------------------------ round trips
@given(array_and_grid(dtypes=DTYPES))
def test_round_trip_on_any_shape_dtype_and_grid(folder, case):
    a, grid = case
    x = cf.from_array(a, chunks=grid)
    path = str(folder / f"a{abs(hash((a.tobytes(), a.shape, str(a.dtype), grid)))}")
    x.to_zarr(path, overwrite=True)
    z = zarr.open_array(path, mode="r")  # zarr itself reads it
    np.testing.assert_array_equal(z[...], a)
    back = cf.from_zarr(path)
    assert back.shape == a.shape and back.dtype == a.dtype.newbyteorder("=")  # byte order is a codec's
    np.testing.assert_array_equal(back.compute(), a)


def test_zarr_chunks_are_the_tensor_chunks_when_regular(tmp_path):
    a = np.arange(200.0).reshape(20, 10)
    cf.from_array(a, chunks=(6, 5)).to_zarr(str(tmp_path / "r"))
    assert zarr.open_array(str(tmp_path / "r"), mode="r").chunks == (6, 5)
    back = cf.from_zarr(str(tmp_path / "r"))
    assert back.chunks == ((6, 6, 6, 2), (5, 5))  # read chunks are the Zarr chunks: nothing to rechunk
    cf.from_array(a, chunks=((3, 7, 10), (10,))).to_zarr(str(tmp_path / "i"))  # irregular: largest block
    assert zarr.open_array(str(tmp_path / "i"), mode="r").chunks == (10, 10)
    np.testing.assert_array_equal(cf.from_zarr(str(tmp_path / "i")).compute(), a)


def test_reads_arrays_written_by_zarr_aligned_with_chunks_or_shards(tmp_path):
    a = np.arange(1000, dtype=np.int32).reshape(100, 10)
    plain = zarr.create_array(str(tmp_path / "plain"), shape=a.shape, chunks=(30, 4), dtype=a.dtype)
    plain[...] = a
    sharded = zarr.create_array(str(tmp_path / "sharded"), shape=a.shape, chunks=(10, 5), shards=(50, 10),
                                dtype=a.dtype)
    sharded[...] = a
    x = cf.from_zarr(str(tmp_path / "plain"))
    assert x.chunks == ((30, 30, 30, 10), (4, 4, 2))
    np.testing.assert_array_equal(x.compute(), a)
    y = cf.from_zarr(str(tmp_path / "sharded"))
    assert y.chunks == ((50, 50), (10,))
    np.testing.assert_array_equal(y.compute(), a)
    z = cf.from_zarr(str(tmp_path / "plain"), chunks=(60, -1))
    assert z.chunks == ((60, 40), (10,))
    np.testing.assert_array_equal(z.compute(), a)
    v2 = zarr.create_array(str(tmp_path / "v2"), shape=a.shape, chunks=(40, 10), dtype=a.dtype, zarr_format=2)
    v2[...] = a
    w = cf.from_zarr(tmp_path / "v2")  # Zarr v2 too, and path objects
    assert w.chunks == ((40, 40, 20), (10,))
    np.testing.assert_array_equal(w.compute(), a)


def test_components_of_a_group(tmp_path):
    root = zarr.open_group(str(tmp_path / "g"), mode="w")
    root.create_array("a", shape=(4,), dtype="i4")[...] = np.arange(4)
    root.create_group("sub").create_array("b", shape=(2, 2), dtype="f8")[...] = np.eye(2)
    np.testing.assert_array_equal(cf.from_zarr(str(tmp_path / "g"), component="a").compute(), np.arange(4))
    np.testing.assert_array_equal(cf.from_zarr(str(tmp_path / "g"), component="sub/b").compute(), np.eye(2))
    with pytest.raises(ValueError, match=r"g' is a Zarr group, not an array; pass component=.*\['a', 'sub/b'\]"):
        cf.from_zarr(str(tmp_path / "g"))
    with pytest.raises(FileNotFoundError, match=r"no component 'c'; arrays there: \['a', 'sub/b'\]"):
        cf.from_zarr(str(tmp_path / "g"), component="c")


def test_graph_of_a_large_read_carries_no_data(tmp_path):
    zarr.create_array(str(tmp_path / "big"), shape=(1_000_000, 1000), chunks=(1000, 1000), dtype="f8")
    x = cf.from_zarr(str(tmp_path / "big"))  # 8 GB of fill values: only metadata exists
    graph = dict(x.to_dask().__dask_graph__())
    assert len(graph) == 1000
    assert len(cloudpickle.dumps(graph)) < 400 * len(graph)  # bytes a task, against 8 MB a chunk
    np.testing.assert_array_equal(x[:3, :2].compute(), np.zeros((3, 2)))


# ------------------------------------------------------------------ atomic writes
def _check_no_metadata(block, path):
    assert not os.path.exists(os.path.join(path, "zarr.json")), "zarr.json was written before the data"
    return block


def test_metadata_is_written_after_every_chunk(tmp_path):
    path = str(tmp_path / "m")
    x = cf.from_dask(da.ones((40, 3), chunks=(10, 3)).map_blocks(_check_no_metadata, path, dtype=float))
    x.to_zarr(path)
    assert _names(path) == ["_SUCCESS", "c", "zarr.json"]


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = str(tmp_path / "o")
    cf.arange(10, chunks=3).to_zarr(path)
    with pytest.raises(FileExistsError, match="o'.*overwrite=True"):
        cf.arange(5, chunks=3).to_zarr(path)
    cf.arange(5, chunks=2).to_zarr(path, overwrite=True)
    np.testing.assert_array_equal(cf.from_zarr(path).compute(), np.arange(5))
    assert zarr.open_array(path, mode="r").chunks == (2,)


def test_refuses_to_overwrite_the_array_it_reads(tmp_path):
    path = str(tmp_path / "src")
    cf.arange(10, chunks=3).to_zarr(path)
    x = cf.from_zarr(path)
    with pytest.raises(ValueError, match="src'.*reads from it.*new URL"):
        (x + 1).to_zarr(path, overwrite=True)
    np.testing.assert_array_equal(cf.from_zarr(path).compute(), np.arange(10))  # untouched


def test_a_failing_upstream_read_keeps_its_own_message(tmp_path):
    cf.arange(10, chunks=5).to_zarr(str(tmp_path / "src"))
    x = cf.from_zarr(str(tmp_path / "src"))
    os.remove(tmp_path / "src" / "c" / "1")
    os.remove(tmp_path / "src" / "zarr.json")
    with pytest.raises(FileNotFoundError, match="src") as info:
        (x + 1).to_zarr(str(tmp_path / "dst"))
    assert "dst" not in str(info.value)
    assert _names(tmp_path / "dst") == ["_INCOMPLETE"]


def _failing(block, block_info=None):
    if block_info[None]["chunk-location"][0] == 2:
        raise RuntimeError("chunk 2 failed")
    return block


def _check_incomplete_then_retry(path, shape, chunks):
    assert "zarr.json" not in _names(path) and "_INCOMPLETE" in _names(path)
    with pytest.raises(ValueError, match="incomplete dataset.*overwrite=True"):
        cf.from_zarr(path)
    with pytest.raises(FileNotFoundError):  # nothing there looks like an array to zarr either
        zarr.open_array(path, mode="r")
    cf.ones(shape, chunks=chunks).to_zarr(path, overwrite=True)
    assert _names(path) == ["_SUCCESS", "c", "zarr.json"]
    np.testing.assert_array_equal(cf.from_zarr(path).compute(), np.ones(shape))


def test_a_failing_chunk_leaves_an_incomplete_dataset_and_a_retry_writes(tmp_path):
    path = str(tmp_path / "f")
    bad = cf.from_dask(da.ones((50, 3), chunks=(10, 3)).map_blocks(_failing, dtype=float)) + 1
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        bad.to_zarr(path)
    _check_incomplete_then_retry(path, (50, 3), (10, 3))


@pytest.mark.slow
def test_sigkill_mid_write_leaves_an_incomplete_dataset_and_a_retry_writes(tmp_path):
    path, started = str(tmp_path / "k"), tmp_path / "started"
    script = textwrap.dedent(f"""
        import time, dask.array as da, chunkflow as cf
        def slow(block, block_info=None):
            if block_info[None]["chunk-location"][0] == 3:
                open({str(started)!r}, "w").close()
                time.sleep(60)
            return block
        cf.from_dask(da.ones((100, 4), chunks=(10, 4)).map_blocks(slow, dtype=float)).to_zarr({path!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.05)
        time.sleep(0.2)  # let the other chunks land
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    _check_incomplete_then_retry(path, (100, 4), (10, 4))


# ------------------------------------------------------------------ bad input
def test_bad_input_names_the_url_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere"):
        cf.from_zarr(str(tmp_path / "nothere"))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "data.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="plain' is not a Zarr array: it has no zarr.json"):
        cf.from_zarr(str(tmp_path / "plain"))
    with pytest.raises(TypeError, match="component"):
        cf.from_zarr(str(tmp_path / "plain"), component=3)
    x = cf.arange(10, chunks=3)
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        x[x > 3].to_zarr(str(tmp_path / "u"))
    x[x > 3].compute_chunk_sizes().to_zarr(str(tmp_path / "u"))
    np.testing.assert_array_equal(cf.from_zarr(str(tmp_path / "u")).compute(), np.arange(4, 10))
    objects = cf.from_dask(da.from_array(np.array([1, "a"], dtype=object), chunks=1))
    with pytest.raises(TypeError, match="obj'.*Python objects.*fixed-size"):
        objects.to_zarr(str(tmp_path / "obj"))
    assert not (tmp_path / "obj").exists()
    with pytest.raises(TypeError, match="Tensor"):
        cf.io.to_zarr(np.zeros(3), str(tmp_path / "n"))


# ------------------------------------------------------------------ devices
def test_device_is_checked_before_reading_and_cpu_is_the_default(tmp_path):
    with pytest.raises(ValueError, match="from_zarr: unknown device 'bogus'"):
        cf.from_zarr(str(tmp_path / "missing"), device="bogus")  # before the missing array is noticed
    a = np.arange(60, dtype=np.int32).reshape(12, 5)
    cf.from_array(a, chunks=(5, 5)).to_zarr(str(tmp_path / "z"))
    x = cf.from_zarr(str(tmp_path / "z"))
    for same in (None, "cpu"):
        y = cf.from_zarr(str(tmp_path / "z"), device=same)
        assert y.device == "cpu" and y.key == x.key  # the very same graph as without device=
    np.testing.assert_array_equal(y.compute(), a)
    if not gpu_available():
        with pytest.raises(RuntimeError, match=r"from_zarr\(device='gpu'\) needs a GPU"):
            cf.from_zarr(str(tmp_path / "missing"), device="gpu")


# ------------------------------------------------------------------ real S3
def test_s3_round_trip(s3):
    bucket, options = s3
    a = np.arange(1500, dtype=np.float32).reshape(150, 10)
    cf.from_array(a, chunks=(64, 10)).to_zarr(f"{bucket}/z", storage_options=options)
    x = cf.from_zarr(f"{bucket}/z", storage_options=options)
    assert x.chunks == ((64, 64, 22), (10,))
    np.testing.assert_array_equal(x.compute(), a)
    store = zarr.storage.FsspecStore.from_url(f"{bucket}/z", storage_options=options, read_only=True)
    np.testing.assert_array_equal(zarr.open_array(store, mode="r")[...], a)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        x.to_zarr(f"{bucket}/z", storage_options=options)
    with pytest.raises(FileNotFoundError, match="missing"):
        cf.from_zarr(f"{bucket}/missing", storage_options=options)


def test_s3_failed_write_is_incomplete(s3):
    bucket, options = s3
    bad = cf.from_dask(da.ones((30, 3), chunks=(10, 3)).map_blocks(_failing, dtype=float))
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        bad.to_zarr(f"{bucket}/f", storage_options=options)
    with pytest.raises(ValueError, match="incomplete dataset.*overwrite=True"):
        cf.from_zarr(f"{bucket}/f", storage_options=options)


@pytest.mark.slow
def test_read_and_write_on_a_process_cluster_from_s3(s3):
    bucket, options = s3
    a = np.random.default_rng(0).normal(size=(400, 6))
    written = zarr.create_array(
        zarr.storage.FsspecStore.from_url(f"{bucket}/a", storage_options=options), shape=a.shape,
        chunks=(50, 6), dtype=a.dtype)
    written[...] = a
    check_process_cluster_round_trip(
        lambda: cf.from_zarr(f"{bucket}/a", storage_options=options),
        lambda y: y.to_zarr(f"{bucket}/b", storage_options=options),
        lambda: cf.from_zarr(f"{bucket}/b", storage_options=options).compute(), a)
