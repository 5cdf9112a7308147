"""L-BFGS with strong-Wolfe line search: Rosenbrock, and a chunkflow logistic loss vs scikit-learn."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.ml import LBFGS
from chunkflow.ml.lbfgs import line_search_wolfe


def rosenbrock(x):
    """Value and gradient of the n-dimensional Rosenbrock function."""
    value = np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return value, g


@pytest.mark.parametrize("x0", [np.array([-1.2, 1.0]), np.linspace(-1, 1, 10)])
def test_rosenbrock(x0):
    res = LBFGS(history=10, max_iter=500, tol=1e-8, ftol=0).minimize(rosenbrock, x0)
    assert res.converged, res.message
    np.testing.assert_allclose(res.params, np.ones_like(x0), atol=1e-6)
    assert res.n_steps < 200 and res.n_evals < 2 * res.n_steps + 20
    assert all(b <= a for a, b in zip(res.history, res.history[1:]))


def test_pytree_params():
    def fun(p):
        r = p["a"] - np.array([1.0, 2.0])
        return float(r @ r + (p["b"] + 3) ** 2), {"a": 2 * r, "b": 2 * (p["b"] + 3)}

    res = LBFGS().minimize(fun, {"a": np.zeros(2), "b": np.array(0.0)})
    np.testing.assert_allclose(res.params["a"], [1, 2], atol=1e-6)
    assert res.params["b"].shape == () and abs(res.params["b"] + 3) < 1e-6


def test_line_search_strong_wolfe():
    x = np.array([-1.2, 1.0])
    f0, g0 = rosenbrock(x)
    d = -g0
    alpha, f, g = line_search_wolfe(rosenbrock, x, f0, g0, d, alpha0=1.0)
    assert f <= f0 + 1e-4 * alpha * (g0 @ d)
    assert abs(g @ d) <= 0.9 * abs(g0 @ d)


def test_nonfinite_trials_shorten_the_step():
    def fun(x):
        if np.any(np.abs(x) > 2):
            raise FloatingPointError("overflow")
        return float(np.sum((x - 1.5) ** 2)), 2 * (x - 1.5)

    res = LBFGS(tol=1e-9).minimize(fun, np.array([-1.9]))
    np.testing.assert_allclose(res.params, [1.5], atol=1e-7)


def test_nonfinite_start_names_iteration():
    with pytest.raises(FloatingPointError, match="iteration 0"):
        LBFGS().minimize(lambda x: (float("nan"), x), np.zeros(2))


def test_logistic_regression_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    n, d, C = 2000, 5, 0.5
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.5 + rng.logistic(size=n) > 0).astype(float)
    Xt, yt = cf.from_array(X, chunks=(500, -1)), cf.from_array(y, chunks=500)

    def loss(p, X, y):
        # sklearn: C * sum(logloss) + 0.5 * ||w||^2; divided by C * n
        z = X @ p["w"] + p["b"]
        return (cf.logaddexp(0.0, z) - y * z).mean() + (p["w"] * p["w"]).sum() / (2 * C * n)

    vg = cf.value_and_grad(loss)
    res = LBFGS(max_iter=200, tol=1e-10).minimize(lambda p: vg(p, Xt, yt), {"w": np.zeros(d), "b": np.array(0.0)})
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    want = np.r_[ref.coef_.ravel(), ref.intercept_]
    got = np.r_[res.params["w"], res.params["b"]]
    rel = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert rel < 1e-4, (rel, res.n_steps, res.message)
    assert res.n_steps < 60


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match="history must be an integer >= 1"):
        LBFGS(history=0)
    with pytest.raises(ValueError, match="c2"):
        LBFGS(c1=0.5, c2=0.1)
    with pytest.raises(TypeError, match="LBFGS.minimize"):
        LBFGS().init({"w": np.zeros(2)})
