"""Lowering: fused regions and fused reductions read each chunk once."""
import threading
from collections import Counter

import dask.array as da
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.core.lower import lower


class ChunkCounter:
    """A dask-backed source whose chunk materializations are counted."""

    def __init__(self, array, chunks):
        self.array = array
        self.reads = Counter()
        self._lock = threading.Lock()
        base = da.from_array(array, chunks=chunks, name=False)
        self.tensor = cf.from_dask(base.map_blocks(self._read, dtype=array.dtype))

    def _read(self, block, block_info=None):
        with self._lock:
            self.reads[tuple(block_info[0]["chunk-location"])] += 1
        return block

    @property
    def nchunks(self):
        return self.tensor.npartitions


@pytest.fixture
def counted():
    a = np.random.default_rng(1).normal(2.0, 3.0, size=(103, 7))
    return ChunkCounter(a, chunks=(10, 7))


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_fused_reductions_read_each_chunk_once(counted, scheduler):
    x, a = counted.tensor, counted.array
    mean, std, mx = cf.compute(x.mean(0), x.std(0), x.max(0), scheduler=scheduler)
    assert counted.reads and set(counted.reads.values()) == {1}
    assert len(counted.reads) == counted.nchunks
    np.testing.assert_allclose(mean, a.mean(0))
    np.testing.assert_allclose(std, a.std(0))
    np.testing.assert_array_equal(mx, a.max(0))


def test_fused_reductions_read_each_chunk_in_one_task_per_group(counted):
    x = counted.tensor
    graph = {}
    for arr in lower([x.mean(0), x.std(0), x.max(0), x.sum()]):
        graph.update(arr.__dask_graph__())
    source = x.to_dask().name
    readers = {}
    for key, task in graph.items():
        for dep in _refs(task):
            if isinstance(dep, tuple) and dep and dep[0] == source:
                readers.setdefault(dep, []).append(key)
    # two groups (axis 0, and all axes): every chunk is read by exactly one task of each
    assert len(readers) == counted.nchunks
    assert all(len(tasks) == 2 for tasks in readers.values())


def _refs(task):
    if isinstance(task, tuple) and task and callable(task[0]):
        for arg in task[1:]:
            yield from _refs(arg)
    elif isinstance(task, tuple):
        yield task
    elif isinstance(task, list):
        for arg in task:
            yield from _refs(arg)


def test_standardize_sum_is_one_pass(counted):
    x, a = counted.tensor, counted.array
    out = ((x - x.mean(0)) / x.std(0)).sum(0).compute()
    assert set(counted.reads.values()) == {1}
    expect = ((a - a.mean(0)) / a.std(0)).sum(0)
    np.testing.assert_allclose(out, expect, atol=1e-9)


def test_elementwise_chain_is_one_task_per_chunk():
    x = cf.from_array(np.arange(40.0).reshape(8, 5), chunks=(2, 5))
    y = np.exp(x * 0.5) + np.sin(x) - 1
    graph = dict(y.to_dask().__dask_graph__())
    region = [k for k in graph if isinstance(k, tuple) and k[0] == y.key]
    assert len(region) == x.npartitions
    # only the region layer and the source's own tasks
    assert {k[0] for k in graph if isinstance(k, tuple)} <= {y.key} | {k[0] for k in dict(x.to_dask().__dask_graph__()) if isinstance(k, tuple)}
    a = np.arange(40.0).reshape(8, 5)
    np.testing.assert_allclose(y.compute(), np.exp(a * 0.5) + np.sin(a) - 1)


def test_dependent_reductions_are_not_fused_into_a_cycle():
    a = np.random.default_rng(2).normal(size=(50, 4))
    x = cf.from_array(a, chunks=(7, 4))
    centered = x - x.mean(0)
    out = cf.compute((centered ** 2).sum(0), x.mean(0), scheduler="sync")
    np.testing.assert_allclose(out[0], ((a - a.mean(0)) ** 2).sum(0))
    np.testing.assert_allclose(out[1], a.mean(0))


def test_lazy_source_used_by_two_passes_is_regenerated_not_held():
    rng = cf.random.default_rng(5)
    x = rng.normal(size=(60, 3), chunks=(6, 3))
    z = (x - x.mean(0)) ** 2
    graph = dict(z.sum(0).to_dask().__dask_graph__())
    # random chunks are made inside the consuming tasks: no shared random keys
    assert not any(isinstance(k, tuple) and k[0] == x.key for k in graph)
    a = x.compute()
    np.testing.assert_allclose(z.sum(0).compute(), ((a - a.mean(0)) ** 2).sum(0))


def test_tree_reduction_fan_in_is_bounded():
    x = cf.ones((1000,), chunks=1)
    with cf.config.set(split_every=4):
        graph = dict(x.sum().to_dask().__dask_graph__())
    fan_in = max(
        sum(1 for a in v[2:] if isinstance(a, tuple)) for k, v in graph.items()
        if isinstance(k, tuple) and "merge" in k[0]
    )
    assert fan_in <= 4
    assert x.sum().compute() == 1000


def test_loss_and_gradient_read_each_chunk_once(counted):
    """Forward X @ w and backward X.T @ r of a chunk run in the same task."""
    x, a = counted.tensor, counted.array
    w = np.linspace(-0.3, 0.3, a.shape[1])
    y = (a @ w > 0).astype(float)
    yt = cf.from_array(y, chunks=(10,))
    p = cf.sigmoid(x @ w)
    resid = p - yt
    grad, gram, colsum = cf.compute(x.T @ resid, x.T @ x, x.sum(0))
    assert set(counted.reads.values()) == {1} and len(counted.reads) == counted.nchunks
    pa = 1 / (1 + np.exp(-(a @ w)))
    np.testing.assert_allclose(grad, a.T @ (pa - y), rtol=1e-12)
    np.testing.assert_allclose(gram, a.T @ a, rtol=1e-12)
    np.testing.assert_allclose(colsum, a.sum(0), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bshape", [(7,), (7, 3)])
def test_row_local_and_contraction_products_match_numpy(dtype, bshape):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(53, 7)).astype(dtype)
    b = rng.normal(size=bshape).astype(dtype)
    x = cf.from_array(a, chunks=(8, -1))
    xb = x @ b
    assert xb.op == "elementwise" and xb.dtype == (a @ b).dtype and xb.chunks[0] == x.chunks[0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(xb.compute(), a @ b, rtol=tol, atol=tol)
    # B with other row chunks is aligned to X's rows first
    c = rng.normal(size=(53,) + bshape[1:]).astype(dtype)
    xc = x.T @ cf.from_array(c, chunks=(11,) + (-1,) * (c.ndim - 1))
    assert xc.op == "reduce" and xc.shape == (7,) + bshape[1:]
    np.testing.assert_allclose(xc.compute(), a.T @ c, rtol=tol, atol=tol)


def test_products_of_unknown_length_rows_fall_back_to_dask():
    a = np.arange(30.0).reshape(10, 3)
    x = cf.from_array(a, chunks=(4, -1))
    sel = x[x[:, 0] > 5]
    np.testing.assert_allclose((sel.T @ sel).compute(), a[a[:, 0] > 5].T @ a[a[:, 0] > 5])
    np.testing.assert_allclose((sel @ np.ones(3)).compute(), a[a[:, 0] > 5].sum(1))


def test_squared_loss_and_gradient_read_each_chunk_once(counted):
    """A 1-D loss over residuals and a 2-D gradient share one pass over X."""
    x, a = counted.tensor, counted.array
    w = np.linspace(-1, 1, a.shape[1])
    y = a @ w + 0.1
    r = x @ w - cf.from_array(y, chunks=(10,))
    loss, grad = cf.compute((r * r).mean(), x.T @ r)
    assert set(counted.reads.values()) == {1} and len(counted.reads) == counted.nchunks
    ra = a @ w - y
    np.testing.assert_allclose(loss, (ra * ra).mean(), rtol=1e-12)
    np.testing.assert_allclose(grad, a.T @ ra, rtol=1e-12)
