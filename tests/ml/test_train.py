"""Training loop: user-written chunkflow losses trained to closed-form and scikit-learn solutions."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.ml import LBFGS, SGD, Adam, losses, minimize

rng = np.random.default_rng(0)
N, D = 2000, 4


def chunked(X, y, n_chunks=4):
    rows = len(X) // n_chunks
    return cf.from_array(X, chunks=(rows, -1)), cf.from_array(y, chunks=rows)


def mse(w, X, y):
    return losses.squared_error(X @ w, y)


X_LIN = rng.normal(size=(N, D))
Y_LIN = X_LIN @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=N)
LSTSQ = np.linalg.lstsq(X_LIN, Y_LIN, rcond=None)[0]


@pytest.mark.parametrize("optimizer, steps, rtol", [
    (SGD(lr=0.2, momentum=0.5), 200, 1e-6),
    (Adam(lr=0.1), 600, 1e-4),
    (LBFGS(tol=1e-12), 100, 1e-8),
])
def test_least_squares(optimizer, steps, rtol):
    Xt, yt = chunked(X_LIN, Y_LIN)
    res = minimize(mse, np.zeros(D), Xt, yt, optimizer=optimizer, max_steps=steps)
    np.testing.assert_allclose(res.params, LSTSQ, rtol=rtol, atol=rtol)
    assert res.history[-1] < res.history[0] and res.n_steps <= steps


def test_tol_stops_early_and_history():
    Xt, yt = chunked(X_LIN, Y_LIN)
    res = minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.2, momentum=0.5), max_steps=1000, tol=1e-8)
    assert res.converged and res.n_steps < 1000
    assert len(res.history) == res.n_steps + 1 and res.history[-1] == pytest.approx(res.value)


def test_l2_logistic_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    r = np.random.default_rng(1)
    X = r.normal(size=(N, D))
    y = (X @ np.array([2.0, -1.0, 0.0, 0.5]) - 0.3 + r.logistic(size=N) > 0).astype(float)
    Xt, yt = chunked(X, y)
    C = 0.1

    def loss(p, X, y):  # sklearn's C * sum(logloss) + 0.5 ||w||^2, divided by C * n
        return losses.logistic(X @ p["w"] + p["b"], y) + losses.l2(p["w"], alpha=1 / (C * N))

    res = minimize(loss, {"w": np.zeros(D), "b": np.array(0.0)}, Xt, yt, optimizer=LBFGS(tol=1e-10))
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    got, want = np.r_[res.params["w"], res.params["b"]], np.r_[ref.coef_.ravel(), ref.intercept_]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-4
    assert res.converged, res.message


def blobs(k=3, n=1200):
    centers = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])[:k]
    r = np.random.default_rng(2)
    labels = r.integers(0, k, size=n)
    return centers[labels] + 0.5 * r.normal(size=(n, 2)), labels


def test_softmax_regression():
    X, labels = blobs()
    Xt, yt = chunked(X, labels)

    def loss(p, X, y):
        return losses.softmax_cross_entropy(X @ p["W"] + p["b"], y)

    res = minimize(loss, {"W": np.zeros((2, 3)), "b": np.zeros(3)}, Xt, yt, optimizer=Adam(lr=0.1), max_steps=60)
    assert res.history[-1] < 0.2 * res.history[0]
    accuracy = np.mean(np.argmax(X @ res.params["W"] + res.params["b"], axis=1) == labels)
    assert accuracy > 0.98


def xor_data(n=2000):
    X = np.random.default_rng(3).uniform(-1, 1, size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def mlp_logits(p, X):
    return cf.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def test_mlp_beats_logistic_regression_on_xor():
    X, y = xor_data()
    Xt, yt = chunked(X, y)
    h, r = 8, np.random.default_rng(4)
    p0 = {"W1": r.normal(size=(2, h)), "b1": np.zeros(h), "W2": r.normal(size=h) * 0.5, "b2": np.array(0.0)}
    mlp = minimize(lambda p, X, y: losses.logistic(mlp_logits(p, X), y), p0, Xt, yt,
                   optimizer=Adam(lr=0.05), max_steps=300)
    linear = minimize(lambda p, X, y: losses.logistic(X @ p["w"] + p["b"], y), {"w": np.zeros(2), "b": np.array(0.0)},
                      Xt, yt, optimizer=LBFGS())
    p = mlp.params
    mlp_acc = np.mean(((np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]) > 0) == y)
    lin_acc = np.mean(((X @ linear.params["w"] + linear.params["b"]) > 0) == y)
    assert mlp_acc > 0.95 and mlp_acc > lin_acc + 0.25, (mlp_acc, lin_acc)


def test_nonfinite_loss_names_the_step():
    Xt, yt = chunked(X_LIN, Y_LIN)

    def exploding(w, X, y):
        return cf.exp(losses.squared_error(X @ w, y))

    with pytest.raises(FloatingPointError, match=r"^step \d+: "):
        minimize(exploding, np.zeros(D), Xt, yt, optimizer=SGD(lr=10.0), max_steps=50)


def test_callback_stops_and_sees_steps():
    Xt, yt = chunked(X_LIN, Y_LIN)
    seen = []

    def callback(step, value, params):
        seen.append((step, value))
        return step == 4

    res = minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.1), max_steps=50, callback=callback)
    assert [s for s, _ in seen] == [0, 1, 2, 3, 4] and res.n_steps == 4 and not res.converged
    assert [v for _, v in seen] == res.history


def test_compiles_once(monkeypatch):
    from chunkflow.core import autodiff

    traced = []
    original = autodiff._Step.__init__

    def counting(self, *a, **k):
        traced.append(1)
        original(self, *a, **k)

    monkeypatch.setattr(autodiff._Step, "__init__", counting)
    Xt, yt = chunked(X_LIN, Y_LIN)
    minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.1), max_steps=10)
    minimize(mse, np.zeros(D), Xt, yt, optimizer=LBFGS(), max_steps=10)
    assert len(traced) == 2


def test_progress_prints_step_loss_and_rows_per_second(capsys):
    Xt, yt = chunked(X_LIN, Y_LIN)
    minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.1), max_steps=20, progress=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("step 0/20  loss") and "rows/s" in err[0]
    assert any(line.startswith("step 20/20") for line in err) and "reached max_steps=20" in err[-1]
    minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.1), max_steps=5)
    assert capsys.readouterr().err == ""  # quiet by default


def test_bad_arguments():
    Xt, yt = chunked(X_LIN, Y_LIN)
    with pytest.raises(TypeError, match="optimizer must be"):
        minimize(mse, np.zeros(D), Xt, yt, optimizer="adam")
    with pytest.raises(ValueError, match="max_steps"):
        minimize(mse, np.zeros(D), Xt, yt, max_steps=-1)
