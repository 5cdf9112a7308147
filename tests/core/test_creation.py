"""Creating Tensors (chunkflow/core/creation.py, chunk specs from chunks.py) against NumPy."""
import dask.array as da
import numpy as np
import pytest
from hypothesis import given

import chunkflow as cf
from chunkflow.core.chunks import drop_empty_blocks
from tests.helpers import DTYPES, array_and_grid, check_tensor


def check_created(t, expected, chunks=None):
    """``t`` computes to ``expected`` (value, shape, dtype) and has chunk grid ``chunks`` if given."""
    check_tensor(t, t.compute(scheduler="sync"), expected)
    if chunks is not None:
        assert t.chunks == chunks


# ---------------------------------------------------------------- from_array / asarray / from_dask
@pytest.mark.parametrize("chunks, grid", [
    ((4, 2), ((4, 4, 2), (2, 2, 1))),
    (3, ((3, 3, 3, 1), (3, 2))),
    (-1, ((10,), (5,))),
    (None, ((10,), (5,))),
    ((-1, 2), ((10,), (2, 2, 1))),
    ({0: 4}, ((4, 4, 2), (5,))),
    ({1: 1, 0: -1}, ((10,), (1, 1, 1, 1, 1))),
    ({-1: 2}, ((10,), (2, 2, 1))),
    (((1, 9), (2, 3)), ((1, 9), (2, 3))),
    ((3, "auto"), ((3, 3, 3, 1), (5,))),
    ("auto", ((10,), (5,))),  # tiny arrays are one chunk under any budget
    (((2, 0, 8), (0, 5)), ((2, 8), (5,))),  # zero-length blocks are dropped (dask mishandles them)
])
def test_from_array_chunk_specs(chunks, grid):
    a = np.arange(50.0).reshape(10, 5)
    check_created(cf.from_array(a, chunks=chunks), a, grid)


def test_auto_chunks_follow_memory_budget():
    a = np.arange(2**15 * 8, dtype=np.float64).reshape(2**15, 8)  # 2 MiB
    with cf.config.set(memory_budget="1MiB"):  # the target chunk is the 1 MiB floor
        limit = cf.config.auto_chunk_bytes()
        t = cf.from_array(a, chunks="auto")
    assert t.chunks[1] == (8,)  # rows stay whole
    assert len(t.chunks[0]) >= 2 and max(t.chunks[0]) * 8 * 8 <= limit
    check_created(t, a)


@given(data=array_and_grid())
def test_from_array_roundtrip(data):
    a, grid = data
    kept = drop_empty_blocks(grid)
    check_created(cf.from_array(a, chunks=grid), a, kept)
    check_created(cf.from_array(a, chunks=grid, dtype=np.float32), a.astype(np.float32), kept)
    check_created(cf.from_array(a, chunks="auto"), a)


@pytest.mark.parametrize("obj", [
    [1, 2, 3], [[1.5, 2.0], [3.0, 4.0]], 7, 2.5, True, [[True, False]], (1, 2.0), [], np.float32(3),
    np.arange(6).reshape(2, 3),
])
def test_asarray_like_numpy(obj):
    check_created(cf.asarray(obj), np.asarray(obj))
    check_created(cf.asarray(obj, dtype=np.float32), np.asarray(obj, dtype=np.float32))


def test_asarray_of_tensor_and_dask():
    x = cf.from_array(np.arange(4), chunks=2)
    assert cf.asarray(x) is x
    check_created(cf.asarray(x, dtype=np.float64), np.arange(4.0), ((2, 2),))
    d = da.arange(6, chunks=4)
    check_created(cf.asarray(d), np.arange(6), ((4, 2),))


def test_from_dask_and_to_dask():
    d = da.from_array(np.arange(12.0).reshape(3, 4), chunks=(2, 3))
    x = cf.from_dask(d)
    check_created(x, np.arange(12.0).reshape(3, 4), d.chunks)
    back = (x * 2).to_dask()
    assert isinstance(back, da.Array) and back.chunks == d.chunks
    np.testing.assert_array_equal(back.compute(scheduler="sync"), np.arange(12.0).reshape(3, 4) * 2)
    check_created(cf.from_array(d, chunks=2), d.compute(), ((2, 1), (2, 2)))


# ---------------------------------------------------------------- filled
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 4), (2, 0, 3)])
@pytest.mark.parametrize("dtype", [None, *DTYPES])
def test_zeros_ones_full_empty(shape, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    check_created(cf.zeros(shape, chunks=2, **kw), np.zeros(shape, **kw))
    check_created(cf.ones(shape, chunks=-1, **kw), np.ones(shape, **kw))
    check_created(cf.full(shape, 3, chunks=1, **kw), np.full(shape, 3, **kw))
    e = cf.empty(shape, **kw)
    assert e.shape == shape and e.dtype == np.empty(shape, **kw).dtype
    assert e.compute(scheduler="sync").shape == shape


@pytest.mark.parametrize("fill", [7, 2.5, True, np.float32(1.5), -3])
def test_full_infers_dtype_like_numpy(fill):
    check_created(cf.full((2, 3), fill), np.full((2, 3), fill))


def test_int_shape():
    check_created(cf.zeros(4), np.zeros(4))
    check_created(cf.ones(np.int64(3), dtype=int), np.ones(3, dtype=int))


@pytest.mark.parametrize("dtype", [None, np.float32, np.int32, np.bool_])
def test_like_functions(dtype):
    a = np.arange(12.0).reshape(4, 3)
    x = cf.from_array(a, chunks=(3, 2))
    kw = {} if dtype is None else {"dtype": dtype}
    for src in (x, a):
        check_created(cf.zeros_like(src, **kw), np.zeros_like(a, **kw))
        check_created(cf.ones_like(src, **kw), np.ones_like(a, **kw))
        check_created(cf.full_like(src, 5, **kw), np.full_like(a, 5, **kw))
        e = cf.empty_like(src, **kw)
        assert e.shape == a.shape and e.dtype == np.empty_like(a, **kw).dtype
    assert cf.zeros_like(x).chunks == x.chunks
    assert cf.ones_like(x, chunks=2).chunks == ((2, 2), (2, 1))


# ---------------------------------------------------------------- ranges
@pytest.mark.parametrize("args", [
    (10,), (0,), (-3,), (2, 11), (2, 11, 3), (10, 0, -1), (10, 0, -3), (0, 1, 0.1), (-1.5, 2.25, 0.5),
    (1, 2.5), (5, 5), (7, 2), (0.0, 1.0, 0.3),
])
@pytest.mark.parametrize("chunks", [3, -1, "auto"])
def test_arange(args, chunks):
    check_created(cf.arange(*args, chunks=chunks), np.arange(*args))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.float64])
def test_arange_dtype(dtype):
    check_created(cf.arange(1, 20, 2, dtype=dtype, chunks=4), np.arange(1, 20, 2, dtype=dtype))


@pytest.mark.parametrize("args", [(0, 1, 5), (0, 1, 0), (0, 1, 1), (-2.5, 7, 13), (3, -3, 4), (1, 2, 50)])
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("dtype", [None, np.float32, np.int64])
def test_linspace(args, endpoint, dtype):
    check_created(cf.linspace(*args, endpoint=endpoint, dtype=dtype, chunks=3),
                  np.linspace(*args, endpoint=endpoint, dtype=dtype))


@pytest.mark.parametrize("n, m, k", [(4, None, 0), (4, 6, 1), (5, 3, -1), (3, 3, 5), (1, None, 0), (0, None, 0),
                                     (6, 4, -2)])
@pytest.mark.parametrize("chunks", [2, -1, "auto", (3, 2)])
def test_eye(n, m, k, chunks):
    check_created(cf.eye(n, m, k=k, chunks=chunks), np.eye(n, m, k=k))
    check_created(cf.eye(n, m, k=k, dtype=np.int32, chunks=chunks), np.eye(n, m, k=k, dtype=np.int32))


def test_identity():
    check_created(cf.identity(3, chunks=2), np.identity(3))


def test_from_array_shares_memory_instead_of_copying():
    """Blocks are views of the array (dask's from_array copies every chunk): no second copy in memory."""
    a = np.arange(40.0).reshape(10, 4)
    x = cf.from_array(a, chunks=(3, 2))
    blocks = list(x.to_dask().__dask_graph__().values())
    assert all(isinstance(b, np.ndarray) and np.shares_memory(b, a) for b in blocks)
    np.testing.assert_array_equal(x.compute(), a)
    np.testing.assert_array_equal(cf.from_array(np.float32(2.5)).compute(), np.float32(2.5))
