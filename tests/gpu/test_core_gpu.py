"""Tensors with CuPy chunks against NumPy: moving, elementwise, reductions, matmul, gradients.

Skipped with the reason on machines without CuPy and a CUDA device (CI).
Run them on a GPU machine with ``pytest tests/gpu``.
"""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.backend import gpu_available, gpu_unavailable_reason, to_host

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason=f"needs a GPU: {gpu_unavailable_reason()}")]

if gpu_available():
    import cupy


def _host(value):
    assert isinstance(value, cupy.ndarray), f"expected a CuPy result, got {type(value).__name__}"
    return cupy.asnumpy(value)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1000, 8)), rng.normal(size=8)


def test_to_device_moves_chunks_and_back(data):
    x, _ = data
    t = cf.from_array(x, chunks=(300, -1))
    g = t.to_device("gpu")
    assert g.device == "gpu" and g.chunks == t.chunks
    np.testing.assert_array_equal(_host(g.compute()), x)
    back = g.to_device("cpu")
    assert back.device == "cpu"
    value = back.compute()
    assert isinstance(value, np.ndarray)
    np.testing.assert_array_equal(value, x)
    np.testing.assert_array_equal(np.asarray(g), x)  # __array__ copies a GPU result to the host


def test_arrays_from_cupy_and_created_on_the_gpu():
    c = cupy.arange(12.0).reshape(3, 4)
    t = cf.from_array(c, chunks=(2, 2))
    assert t.device == "gpu"
    np.testing.assert_array_equal(_host((t * 2).compute()), np.arange(12.0).reshape(3, 4) * 2)
    for made, ref in ((cf.zeros((5, 2), device="gpu"), np.zeros((5, 2))), (cf.arange(7, device="gpu"), np.arange(7)),
                      (cf.eye(3, device="gpu"), np.eye(3)), (cf.linspace(0, 1, 5, device="gpu"), np.linspace(0, 1, 5))):
        assert made.device == "gpu"
        np.testing.assert_allclose(_host(made.compute()), ref)


def test_elementwise_and_reductions_match_numpy(data):
    x, _ = data
    g = cf.from_array(x, chunks=(128, -1)).to_device("gpu")
    y = cf.exp(-g) * 3 + cf.sigmoid(g) - cf.logaddexp(0.0, g)
    ref = np.exp(-x) * 3 + 1 / (1 + np.exp(-x)) - np.logaddexp(0.0, x)
    np.testing.assert_allclose(_host(y.compute()), ref, rtol=1e-12)
    s, m, v, lo, hi, lse = cf.compute(g.sum(axis=0), g.mean(), g.var(axis=0, ddof=1), g.min(axis=1), g.max(),
                                      cf.logsumexp(g, axis=1))
    np.testing.assert_allclose(_host(s), x.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(_host(m), x.mean(), rtol=1e-12)
    np.testing.assert_allclose(_host(v), x.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(_host(lo), x.min(axis=1))
    np.testing.assert_allclose(_host(hi), x.max())
    ref_lse = np.log(np.exp(x).sum(axis=1))
    np.testing.assert_allclose(_host(lse), ref_lse, rtol=1e-12)


def test_numpy_parameters_mix_with_gpu_chunks(data):
    x, w = data
    g = cf.from_array(x, chunks=(250, -1)).to_device("gpu")
    np.testing.assert_allclose(_host((g @ w).compute()), x @ w, rtol=1e-12)
    np.testing.assert_allclose(_host((g.T @ g).compute()), x.T @ x, rtol=1e-10)
    cpu = cf.from_array(x, chunks=(250, -1))
    np.testing.assert_allclose(_host((g + cpu).sum(axis=0).compute()), 2 * x.sum(axis=0), rtol=1e-12)


def test_movement_and_linear_algebra(data):
    x, _ = data
    g = cf.from_array(x, chunks=(250, 4)).to_device("gpu")
    np.testing.assert_array_equal(_host(g[10:500:3, ::2].compute()), x[10:500:3, ::2])
    np.testing.assert_array_equal(_host(g.rechunk((400, 8)).T.compute()), x.T)
    np.testing.assert_array_equal(_host(cf.concatenate([g, g], axis=0).compute()), np.concatenate([x, x]))
    q, r = cf.linalg.qr(g.rechunk((250, -1)))
    np.testing.assert_allclose(_host((q @ r).compute()), x, atol=1e-10)


def test_gradients_on_the_gpu_equal_the_cpu_ones(data):
    x, w = data
    y = (x @ w > 0).astype(float)

    def loss(w, X, y):
        z = X @ w
        return (cf.logaddexp(0.0, z) - y * z).mean()

    X, Y = cf.from_array(x, chunks=(200, -1)), cf.from_array(y, chunks=200)
    cpu_value, cpu_grad = cf.value_and_grad(loss)(w, X, Y)
    gpu_value, gpu_grad = cf.value_and_grad(loss)(w, X.to_device("gpu"), Y.to_device("gpu"))
    np.testing.assert_allclose(float(to_host(gpu_value)), float(cpu_value), rtol=1e-12)
    np.testing.assert_allclose(to_host(gpu_grad), cpu_grad, rtol=1e-10)


def test_persist_keeps_chunks_on_the_gpu(data):
    x, _ = data
    g = cf.from_array(x, chunks=(250, -1)).to_device("gpu").persist()
    assert g.device == "gpu"
    np.testing.assert_allclose(_host((g * 2).sum().compute()), 2 * x.sum(), rtol=1e-12)
