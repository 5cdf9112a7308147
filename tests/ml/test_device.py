"""Estimators' ``device`` parameter and results back on the client (``chunkflow/ml/device.py``).

What must hold on every machine: the parameter, its checks, and CPU fits
unchanged. The GPU runs (CuPy results brought back as NumPy attributes)
are in ``tests/gpu/test_ml_gpu.py``, skipped without a GPU.
"""
import numpy as np
import pytest
from sklearn.base import clone

import chunkflow as cf
from chunkflow import backend
from chunkflow.backend import gpu_available
from chunkflow.core.tensor import Tensor
from chunkflow.ml import (
    ElasticNet, GammaRegressor, GaussianNB, KMeans, Lasso, LinearRegression, LinearSVC,
    LogisticRegression, MaxAbsScaler, MiniBatchKMeans, MinMaxScaler, PCA, Pipeline, PoissonRegressor, Ridge,
    StandardScaler, TruncatedSVD, TweedieRegressor,
)
from chunkflow.ml import device as ml_device

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter=15 below

rng = np.random.default_rng(5)
N, D = 240, 4
X = rng.normal(size=(N, D)) * [1.0, 2.0, 0.5, 3.0] + [0.0, 5.0, -1.0, 2.0]
Y_REG = X @ np.array([1.0, -0.5, 2.0, 0.25]) + 1.0 + 0.1 * rng.normal(size=N)
Y_BIN = (X[:, 0] + 0.3 * X[:, 2] + rng.logistic(size=N) > 0).astype(np.int64)
Y_MULTI = np.argmax(X[:, :3] * [1.0, 0.4, 1.5] + rng.gumbel(size=(N, 3)), axis=1)
Y_COUNT = rng.poisson(np.exp(0.2 * X[:, 0] - 0.1 * X[:, 2])).astype(np.float64)
Y_POS = rng.gamma(2.0, np.exp(0.1 * X[:, 0]))

# (estimator, y, output methods): every estimator with a device parameter, each solver family
CASES = [
    (LinearRegression(), Y_REG, ["predict"]),
    (LinearRegression(solver="lbfgs"), Y_REG, ["predict"]),
    (Ridge(alpha=2.0), Y_REG, ["predict"]),
    (Lasso(alpha=0.05), Y_REG, ["predict"]),
    (ElasticNet(alpha=0.05, l1_ratio=0.3), Y_REG, ["predict"]),
    (LogisticRegression(), Y_BIN, ["predict", "predict_proba"]),
    (LogisticRegression(solver="lbfgs"), Y_MULTI, ["predict", "predict_proba"]),
    (LogisticRegression(penalty="l1", C=0.5), Y_BIN, ["decision_function"]),
    (LogisticRegression(solver="adam", max_iter=15), Y_BIN, ["predict_proba"]),
    (LinearSVC(), Y_MULTI, ["decision_function"]),
    (PoissonRegressor(alpha=0.1), Y_COUNT, ["predict"]),
    (GammaRegressor(alpha=0.1, solver="lbfgs"), Y_POS, ["predict"]),
    (TweedieRegressor(power=1.5, alpha=0.1), Y_POS, ["predict"]),
    (KMeans(n_clusters=3, random_state=0), None, ["predict", "transform"]),
    (KMeans(n_clusters=3, init="k-means++", n_init=2, random_state=0), None, ["predict"]),
    (MiniBatchKMeans(n_clusters=3, random_state=0, max_iter=3), None, ["predict"]),
    (PCA(n_components=2), None, ["transform", "inverse_transform"]),
    (PCA(n_components=2, svd_solver="full"), None, ["transform"]),
    (PCA(n_components=2, svd_solver="randomized", random_state=0), None, ["transform"]),
    (TruncatedSVD(n_components=2, random_state=0), None, ["transform"]),
    (StandardScaler(), None, ["transform", "inverse_transform"]),
    (MinMaxScaler(), None, ["transform"]),
    (MaxAbsScaler(), None, ["transform"]),
    (GaussianNB(), Y_MULTI, ["predict", "predict_proba"]),
]
IDS = [f"{type(e).__name__}-{i}" for i, (e, _, _) in enumerate(CASES)]
CLASSES = sorted({type(e) for e, _, _ in CASES}, key=lambda c: c.__name__)


def chunked(a):
    return cf.from_array(a, chunks=(80,) + (-1,) * (a.ndim - 1))


def fit(est, y, kind):
    Xi = X if kind == "numpy" else chunked(X)
    yi = y if y is None or kind == "numpy" else chunked(y)
    return est.fit(Xi, yi)


def outputs(est, methods, kind, device="cpu"):
    out = {}
    for m in methods:
        Xi = X if m != "inverse_transform" else est.transform(X)
        if kind == "chunked":
            Xi = chunked(Xi)
        value = getattr(est, m)(Xi)
        if kind == "chunked":
            assert isinstance(value, Tensor), f"{m} on a Tensor must be lazy"
            assert value.device == device, f"{m} gave a Tensor on the {value.device}"
            value = cf.compute(value.to_device("cpu"))[0]
        assert isinstance(value, np.ndarray), f"{m} gave {type(value).__name__}"
        out[m] = value
    return out


def learned(est):
    """The learned attributes (lazy ones, like ``labels_`` of chunked input, computed)."""
    out = {}
    for k, v in vars(est).items():
        if k.endswith("_") and not k.startswith("_"):
            out[k] = cf.compute(v)[0] if isinstance(v, Tensor) else v
    return out


def assert_same_fit(a, b):
    la, lb = learned(a), learned(b)
    assert la.keys() == lb.keys()
    for k in la:
        va, vb = la[k], lb[k]
        assert not backend._is_cupy(va), f"{k} is not NumPy"
        assert type(va) is type(vb), f"{k}: {type(va).__name__} != {type(vb).__name__}"
        if isinstance(va, np.ndarray) and va.dtype.kind in "fc":
            np.testing.assert_allclose(va, vb, rtol=1e-12, atol=1e-12, err_msg=k)
        elif isinstance(va, (np.ndarray, list)):
            np.testing.assert_array_equal(va, vb, err_msg=k)
        elif isinstance(va, float):
            assert va == pytest.approx(vb, rel=1e-12, abs=1e-12), k
        else:
            assert va == vb, k


# ------------------------------------------------------------------ the parameter
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_device_is_a_parameter_stored_unchanged(cls):
    est = cls()
    assert est.get_params()["device"] is None
    for value in ("cpu", "gpu", "cuda", "bogus"):  # __init__ and set_params store; fit validates
        assert cls(device=value).get_params()["device"] == value
        assert clone(cls(device=value)).device == value
        assert cls().set_params(device=value).device == value
    assert "device='gpu'" in repr(cls(device="gpu"))


def test_pipeline_steps_take_device():
    p = Pipeline([("scale", StandardScaler(device="cpu")), ("clf", LogisticRegression())])
    p.set_params(clf__device="cpu")
    assert p.get_params()["scale__device"] == p.get_params()["clf__device"] == "cpu"
    assert clone(p).named_steps["clf"].device == "cpu"


@pytest.mark.parametrize("kind", ["numpy", "chunked"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cpu_and_none_fit_as_the_default(case, kind):
    est, y, methods = case
    base = fit(clone(est), y, kind)
    for device in ("cpu", None, "CPU"):
        other = fit(clone(est).set_params(device=device), y, kind)
        assert_same_fit(other, base)
        for m, v in outputs(other, methods, kind).items():
            np.testing.assert_array_equal(v, outputs(base, [m], kind)[m])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_device_is_a_value_error_naming_device(case):
    est, y, methods = case
    with pytest.raises(ValueError, match=r"device must be None, 'cpu' or 'gpu', got 'bogus'"):
        fit(clone(est).set_params(device="bogus"), y, "numpy")
    fitted = fit(clone(est), y, "numpy").set_params(device="tpu")
    with pytest.raises(ValueError, match=r"device must be None, 'cpu' or 'gpu', got 'tpu'"):
        getattr(fitted, methods[0])(X)


@pytest.mark.skipif(gpu_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gpu_without_one_is_a_runtime_error_naming_the_estimator(case):
    est, y, _ = case
    name = type(est).__name__
    for kind in ("numpy", "chunked"):
        with pytest.raises(RuntimeError, match=rf"{name}\(device='gpu'\) needs a GPU, but (CuPy|.*GPU)"):
            fit(clone(est).set_params(device="gpu"), y, kind)


# ------------------------------------------------------------------ helpers
def test_place_and_fetch():
    t = cf.from_array(np.arange(4.0))
    assert ml_device.place(t, None) is t and ml_device.place(t, "cpu") is t and ml_device.place(None, "gpu") is None
    assert type(ml_device.fetch(t)) is np.ndarray and ml_device.fetch(2.5) == 2.5
    assert type(ml_device.fetch(t.to_dask())) is np.ndarray
    assert ml_device.compute(t.sum(), 3)[1] == 3


def test_fit_device_validates():
    class Est:
        device = "cuda:0"

    if not gpu_available():
        with pytest.raises(RuntimeError, match=r"Est\(device='cuda:0'\) needs a GPU"):
            ml_device.fit_device(Est())
    Est.device = "cpu"
    assert ml_device.fit_device(Est()) == "cpu"
    assert ml_device.fit_device(object()) is None  # no device parameter: where the data is
    Est.device = 3
    with pytest.raises(ValueError, match="device must be None, 'cpu' or 'gpu', got 3"):
        ml_device.fit_device(Est())
