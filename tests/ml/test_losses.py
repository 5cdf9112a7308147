"""Losses and penalties: values against NumPy formulas, gradients (cf.grad) against analytic ones."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.ml import losses

rng = np.random.default_rng(0)
N, K = 40, 3
Z = rng.normal(size=N) * 2
Y01 = (rng.random(N) < 0.5).astype(float)
S = 2 * Y01 - 1
T = rng.normal(size=N) * 2
COUNTS = rng.poisson(2.0, size=N).astype(float)
ZK = rng.normal(size=(N, K))
LABELS = rng.integers(0, K, size=N)
ONE_HOT = np.eye(K)[LABELS]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# name: (loss, pred, target, NumPy value, analytic gradient wrt pred)
CASES = {
    "squared_error": (losses.squared_error, Z, T, np.mean((Z - T) ** 2), 2 * (Z - T) / N),
    "squared_error-2d": (losses.squared_error, ZK, ONE_HOT, np.mean(((ZK - ONE_HOT) ** 2).sum(1)),
                         2 * (ZK - ONE_HOT) / N),
    "logistic": (losses.logistic, Z, Y01, np.mean(np.log1p(np.exp(Z)) - Y01 * Z), (sigmoid(Z) - Y01) / N),
    "softmax-int": (losses.softmax_cross_entropy, ZK, LABELS, -np.mean(log_softmax(ZK)[np.arange(N), LABELS]),
                    (softmax(ZK) - ONE_HOT) / N),
    "softmax-onehot": (losses.softmax_cross_entropy, ZK, ONE_HOT, -np.mean((log_softmax(ZK) * ONE_HOT).sum(1)),
                       (softmax(ZK) - ONE_HOT) / N),
    "hinge-01": (losses.hinge, Z, Y01, np.mean(np.maximum(0, 1 - S * Z)), -S * (1 - S * Z > 0) / N),
    "hinge-pm1": (losses.hinge, Z, S, np.mean(np.maximum(0, 1 - S * Z)), -S * (1 - S * Z > 0) / N),
    "squared_hinge": (losses.squared_hinge, Z, Y01, np.mean(np.maximum(0, 1 - S * Z) ** 2),
                      -2 * S * np.maximum(0, 1 - S * Z) / N),
    "huber": (losses.huber, Z, T,
              np.mean(np.where(np.abs(Z - T) <= 1, 0.5 * (Z - T) ** 2, np.abs(Z - T) - 0.5)),
              np.clip(Z - T, -1, 1) / N),
    "poisson": (losses.poisson, Z / 2, COUNTS, np.mean(np.exp(Z / 2) - COUNTS * Z / 2),
                (np.exp(Z / 2) - COUNTS) / N),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunks", [8, -1])
def test_value_and_gradient(name, chunks):
    loss, pred, target, value, grad = CASES[name]
    y = cf.from_array(target, chunks=(chunks,) + (-1,) * (target.ndim - 1))
    got_value, got_grad = cf.value_and_grad(lambda p, y: loss(p, y))(pred, y, scheduler="sync")
    np.testing.assert_allclose(got_value, value, rtol=1e-12)
    np.testing.assert_allclose(got_grad, grad, rtol=1e-10, atol=1e-14)


def test_logistic_is_stable_for_large_logits():
    z = np.array([-800.0, 800.0, 0.0])
    y = np.array([0.0, 1.0, 1.0])
    v = losses.logistic(cf.asarray(z), cf.asarray(y)).compute()
    np.testing.assert_allclose(v, np.log(2) / 3)


def test_huber_delta():
    r = np.array([0.5, 3.0])
    v = losses.huber(cf.asarray(r), cf.asarray(np.zeros(2)), delta=2.0).compute()
    np.testing.assert_allclose(v, (0.5 * 0.25 + 2 * (3 - 1)) / 2)


def test_loss_through_a_linear_model():
    X = rng.normal(size=(N, 4))
    Xt, yt = cf.from_array(X, chunks=(10, -1)), cf.from_array(Y01, chunks=10)
    w = rng.normal(size=4)
    g = cf.grad(lambda w, X, y: losses.logistic(X @ w, y))(w, Xt, yt)
    np.testing.assert_allclose(g, X.T @ (sigmoid(X @ w) - Y01) / N, rtol=1e-10)


W = {"a": rng.normal(size=(2, 3)), "b": [rng.normal(size=4)]}
FLAT = np.concatenate([W["a"].ravel(), W["b"][0]])

PENALTIES = {
    "l1": (lambda p: losses.l1(p, alpha=0.3), 0.3 * np.abs(FLAT).sum(), 0.3 * np.sign(FLAT)),
    "l2": (lambda p: losses.l2(p, alpha=0.3), 0.15 * (FLAT ** 2).sum(), 0.3 * FLAT),
    "elastic_net": (lambda p: losses.elastic_net(p, alpha=0.5, l1_ratio=0.2),
                    0.5 * (0.2 * np.abs(FLAT).sum() + 0.5 * 0.8 * (FLAT ** 2).sum()),
                    0.5 * (0.2 * np.sign(FLAT) + 0.8 * FLAT)),
}


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalties(name):
    penalty, value, grad = PENALTIES[name]
    got_value, got = cf.value_and_grad(penalty)(W)
    np.testing.assert_allclose(got_value, value, rtol=1e-12)
    np.testing.assert_allclose(np.concatenate([got["a"].ravel(), got["b"][0]]), grad, rtol=1e-12)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"shape \(40,\) and targets of shape \(40, 1\)"):
        losses.squared_error(cf.asarray(Z), cf.asarray(T[:, None]))
    with pytest.raises(ValueError, match=r"labels must have shape \(40,\)"):
        losses.softmax_cross_entropy(cf.asarray(ZK), cf.asarray(np.zeros((N, 2))))
    with pytest.raises(ValueError, match="logits must have shape"):
        losses.softmax_cross_entropy(cf.asarray(Z), cf.asarray(LABELS))


@pytest.mark.parametrize("call, match", [
    (lambda: losses.huber(cf.asarray(Z), cf.asarray(T), delta=0), "delta"),
    (lambda: losses.elastic_net(W, l1_ratio=1.5), "l1_ratio"),
    (lambda: losses.l2(W, alpha=-1), "alpha"),
])
def test_invalid_params(call, match):
    with pytest.raises(ValueError, match=match):
        call()
