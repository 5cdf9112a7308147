"""chunkflow.ml on GPU chunks: estimators with ``device='gpu'`` and training on GPU data, against the CPU.

Each estimator is fitted three ways on the GPU (``device='gpu'`` on NumPy
input, ``device='gpu'`` on chunked CPU input, and GPU-moved chunked input
with the default ``device=None``) and must learn what ``device='cpu'`` learns,
as NumPy attributes. Predictions on NumPy input are NumPy; on GPU Tensors
they are lazy GPU Tensors. Tolerances allow for the GPU's different summation
order. Skipped with the reason on machines without CuPy and a CUDA device.
The same code paths run on every machine in ``tests/ml/test_device.py``
(with a simulated GPU).
"""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.backend import gpu_available, gpu_unavailable_reason, to_host
from chunkflow.core.tensor import Tensor
from chunkflow.ml import (
    LBFGS, Adam, KMeans, LinearRegression, LogisticRegression, PCA, Pipeline, Ridge, StandardScaler, minimize,
)

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not gpu_available(), reason=f"needs a GPU: {gpu_unavailable_reason()}")]

if gpu_available():
    import cupy

rng = np.random.default_rng(11)
N, D = 3000, 5
X = rng.normal(size=(N, D)) * [1.0, 2.0, 0.5, 3.0, 1.5] + [0.0, 4.0, -1.0, 2.0, 0.5]
Y_REG = X @ np.array([1.0, -0.5, 2.0, 0.25, 0.0]) + 1.0 + 0.1 * rng.normal(size=N)
Y_BIN = (X[:, 0] + 0.3 * X[:, 2] + rng.logistic(size=N) > 0).astype(np.int64)
Y_MULTI = np.argmax(X[:, :3] * [1.0, 0.4, 1.5] + rng.gumbel(size=(N, 3)), axis=1)
CENTERS = np.array([[0.0, 0.0, 0.0, 0.0, 0.0], [8.0, 8.0, 0.0, 0.0, 0.0], [0.0, 8.0, 8.0, 0.0, 8.0]])
BLOBS = CENTERS[rng.integers(0, 3, size=N)] + rng.normal(size=(N, D))

CASES = [  # (estimator, X, y, output method, rtol)
    (LinearRegression(), X, Y_REG, "predict", 1e-8),
    (Ridge(alpha=3.0), X, Y_REG, "predict", 1e-8),
    (LinearRegression(solver="lbfgs", tol=1e-12), X, Y_REG, "predict", 1e-6),
    (LogisticRegression(tol=1e-10), X, Y_BIN, "predict_proba", 1e-6),
    (LogisticRegression(solver="lbfgs", tol=1e-10, max_iter=500), X, Y_MULTI, "predict_proba", 1e-5),
    (KMeans(n_clusters=3, init="k-means++", random_state=0), BLOBS, None, "transform", 1e-8),
    (KMeans(n_clusters=3, random_state=0), BLOBS, None, "transform", 1e-8),
    (PCA(n_components=3), X, None, "transform", 1e-8),
    (PCA(n_components=3, svd_solver="full"), X, None, "transform", 1e-6),
    (StandardScaler(), X, None, "transform", 1e-10),
]
IDS = [f"{type(e).__name__}-{i}" for i, (e, *_) in enumerate(CASES)]


def chunked(a):
    return cf.from_array(a, chunks=(700,) + (-1,) * (a.ndim - 1))


def _host(value):
    assert isinstance(value, cupy.ndarray), f"expected a CuPy result, got {type(value).__name__}"
    return cupy.asnumpy(value)


def learned(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_") and k != "labels_"}


def assert_same_fit(ours, expected, rtol):
    a, b = learned(ours), learned(expected)
    assert a.keys() == b.keys()
    for k in a:
        assert not isinstance(a[k], Tensor) and type(a[k]).__module__.split(".")[0] != "cupy", \
            f"{k} is a {type(a[k]).__name__}, not NumPy"
        if isinstance(b[k], np.ndarray) and b[k].dtype.kind == "f":
            assert type(a[k]) is np.ndarray, k
            scale = max(float(np.max(np.abs(b[k]), initial=0.0)), 1.0)
            np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=rtol * scale, err_msg=k)
        elif isinstance(b[k], float):
            assert a[k] == pytest.approx(b[k], rel=rtol, abs=rtol), k
        elif isinstance(b[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def fit(est, Xi, y):
    return est.fit(Xi, y) if y is not None else est.fit(Xi)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gpu_fit_learns_what_the_cpu_learns(case):
    from sklearn.base import clone

    est, Xa, y, method, rtol = case
    expected = fit(clone(est).set_params(device="cpu"), Xa, y)
    ways = {
        "numpy, device='gpu'": (clone(est).set_params(device="gpu"), Xa, y),
        "chunked CPU, device='gpu'": (clone(est).set_params(device="gpu"), chunked(Xa),
                                      None if y is None else chunked(y)),
        "GPU Tensor, device=None": (clone(est), chunked(Xa).to_device("gpu"),
                                    None if y is None else chunked(y).to_device("gpu")),
    }
    want = getattr(expected, method)(Xa)
    for way, (model, Xi, yi) in ways.items():
        ours = fit(model, Xi, yi)
        assert_same_fit(ours, expected, rtol)
        got = getattr(ours, method)(Xa)  # NumPy in, NumPy out (on the GPU for device='gpu')
        assert type(got) is np.ndarray, way
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(np.abs(want).max(), 1.0), err_msg=way)
        lazy = getattr(ours, method)(chunked(Xa).to_device("gpu"))
        assert isinstance(lazy, Tensor) and lazy.device == "gpu", way
        np.testing.assert_allclose(_host(lazy.compute()), want, rtol=rtol, atol=rtol * max(np.abs(want).max(), 1.0),
                                   err_msg=way)


def test_classifier_predict_on_the_gpu():
    cpu = LogisticRegression(device="cpu").fit(X, Y_MULTI)
    gpu = LogisticRegression(device="gpu").fit(X, Y_MULTI)
    np.testing.assert_array_equal(gpu.predict(X), cpu.predict(X))
    lazy = gpu.predict(chunked(X).to_device("gpu"))
    assert lazy.device == "gpu"
    np.testing.assert_array_equal(to_host(lazy.compute()), cpu.predict(X))
    assert gpu.score(X, Y_MULTI) == pytest.approx(cpu.score(X, Y_MULTI))


def test_pipeline_on_the_gpu():
    def make(device):
        return Pipeline([("scale", StandardScaler(device=device)), ("clf", LogisticRegression(device=device))])

    cpu = make("cpu").fit(chunked(X), chunked(Y_BIN))
    gpu = make("gpu").fit(chunked(X), chunked(Y_BIN))
    np.testing.assert_allclose(gpu.named_steps["clf"].coef_, cpu.named_steps["clf"].coef_, rtol=1e-6)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-6, atol=1e-9)


def _least_squares(params, X, y):
    r = X @ params["w"] + params["b"] - y
    return (r * r).mean()


def test_grad_of_gpu_data_is_the_cpu_gradient():
    params = {"w": np.linspace(-1, 1, D), "b": np.array(0.5)}
    cpu = cf.grad(_least_squares)(params, chunked(X), chunked(Y_REG))
    gpu = cf.grad(_least_squares)(params, chunked(X).to_device("gpu"), chunked(Y_REG).to_device("gpu"))
    for k in params:
        np.testing.assert_allclose(to_host(gpu[k]), cpu[k], rtol=1e-10)


@pytest.mark.parametrize("optimizer", [Adam(lr=0.05), LBFGS()], ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("batch", [None, 2])
def test_minimize_on_gpu_data_gives_the_cpu_params(optimizer, batch):
    if batch is not None and isinstance(optimizer, LBFGS):
        pytest.skip("LBFGS is full-batch")
    params = {"w": np.zeros(D), "b": np.zeros(())}
    cpu = minimize(_least_squares, params, chunked(X), chunked(Y_REG), optimizer=optimizer, max_steps=30,
                   batch=batch)
    gpu = minimize(_least_squares, params, chunked(X).to_device("gpu"), chunked(Y_REG).to_device("gpu"),
                   optimizer=optimizer, max_steps=30, batch=batch)
    for k in params:
        assert isinstance(gpu.params[k], (np.ndarray, np.generic)), f"{k} is a {type(gpu.params[k]).__name__}"
        np.testing.assert_allclose(gpu.params[k], cpu.params[k], rtol=1e-7, atol=1e-9)
    assert all(isinstance(v, float) for v in gpu.history)
    np.testing.assert_allclose(gpu.history, cpu.history, rtol=1e-9)
