"""Linear models against scikit-learn on NumPy, chunked Tensor (several chunkings) and dask input.

Tolerances are stated per test as the relative error ``max|ours - sklearn| /
max|sklearn|`` of ``coef_`` and ``intercept_``; both sides run at tight
``tol`` so the comparison measures the solvers' agreement, not their
stopping rules.
"""
import warnings

import dask.array as da
import numpy as np
import pytest
import sklearn.linear_model as sk
import sklearn.svm as sksvm
from sklearn.exceptions import NotFittedError

import chunkflow as cf
from chunkflow.core.tensor import Tensor
from chunkflow.ml import (
    ElasticNet, GammaRegressor, Lasso, LinearRegression, LinearSVC, LogisticRegression, PoissonRegressor, Ridge,
    TweedieRegressor,
)
from chunkflow.ml import linear as linear_module

rng = np.random.default_rng(0)
N, D = 300, 5
X = rng.normal(size=(N, D)) * [1.0, 2.0, 3.0, 0.5, 10.0] + [0.0, 1.0, 2.0, 3.0, -5.0]
Y_REG = X @ rng.normal(size=D) + 3.0 + rng.normal(size=N)
W_TRUE = rng.normal(size=D) * 0.5
Y_BIN = (X @ W_TRUE + rng.logistic(size=N) > 0).astype(int)
Y_MULTI = np.argmax(X @ rng.normal(size=(D, 3)) * 0.3 + rng.gumbel(size=(N, 3)), axis=1)
SW = rng.uniform(0.5, 2.0, size=N)
MU = np.exp(X[:, :4] @ np.array([0.2, -0.1, 0.3, 0.1]) - 0.5)
Y_COUNT = rng.poisson(MU).astype(float)
Y_POS = rng.gamma(2.0, MU / 2.0)


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def as_kind(kind, X, y=None, sw=None):
    """``(X, y, sw)`` in the input kind: numpy, tensor-<rows> (uneven last chunk) or dask."""
    if kind == "numpy":
        return X, y, sw
    if kind == "dask":
        conv = (lambda a: None if a is None else da.from_array(a, chunks=(70,) + a.shape[1:]))
        return conv(X), conv(y), conv(sw)
    rows = int(kind.split("-")[1])
    conv = (lambda a: None if a is None else cf.from_array(a, chunks=(rows,) + (-1,) * (a.ndim - 1)))
    return conv(X), conv(y), conv(sw)


KINDS = ["numpy", "tensor-64", "tensor-300", "dask"]


def sklearn_fit(est, X, y, sw=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, sample_weight=sw)


# ---------------------------------------------------------------- least squares
REGRESSORS = [
    (LinearRegression(), sk.LinearRegression()),
    (Ridge(alpha=3.0), sk.Ridge(alpha=3.0)),
    (Lasso(alpha=0.1, tol=1e-10, max_iter=10_000), sk.Lasso(alpha=0.1, tol=1e-10, max_iter=10_000)),
    (ElasticNet(alpha=0.3, l1_ratio=0.3, tol=1e-10, max_iter=10_000),
     sk.ElasticNet(alpha=0.3, l1_ratio=0.3, tol=1e-10, max_iter=10_000)),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ours, theirs", REGRESSORS, ids=lambda e: type(e).__name__)
def test_least_squares_match_sklearn(ours, theirs, kind):
    """coef_/intercept_ within 1e-8 relative (measured ~1e-11) on every input kind, with sample weights."""
    Xk, yk, swk = as_kind(kind, X, Y_REG, SW)
    a = ours.fit(Xk, yk, sample_weight=swk)
    b = sklearn_fit(theirs, X, Y_REG, SW)
    assert rel(a.coef_, b.coef_) < 1e-8
    assert abs(a.intercept_ - b.intercept_) < 1e-8 * max(1.0, abs(b.intercept_))
    assert a.coef_.shape == b.coef_.shape and np.ndim(a.intercept_) == np.ndim(b.intercept_)
    pred = a.predict(Xk)
    expected_type = {"numpy": np.ndarray, "dask": da.Array}.get(kind, Tensor)
    assert isinstance(pred, expected_type)
    np.testing.assert_allclose(np.asarray(pred.compute() if kind != "numpy" else pred), b.predict(X), rtol=1e-8,
                               atol=1e-8)
    assert a.score(Xk, yk, sample_weight=swk) == pytest.approx(b.score(X, Y_REG, sample_weight=SW), rel=1e-9)


@pytest.mark.parametrize("ours, theirs", REGRESSORS[:3], ids=lambda e: type(e).__name__)
def test_multi_target(ours, theirs):
    """Two targets: coef_ (2, d), intercept_ (2,), within 1e-8 of scikit-learn."""
    Y2 = np.c_[Y_REG, 1.0 - 2.0 * Y_REG + rng.normal(size=N)]
    a = ours.fit(cf.from_array(X, chunks=(100, -1)), cf.from_array(Y2, chunks=(100, -1)))
    b = sklearn_fit(theirs, X, Y2)
    assert a.coef_.shape == b.coef_.shape == (2, D)
    assert rel(a.coef_, b.coef_) < 1e-8 and rel(a.intercept_, b.intercept_) < 1e-8


def test_ridge_alpha_per_target_and_no_intercept():
    Y2 = np.c_[Y_REG, -Y_REG]
    a = Ridge(alpha=[1.0, 10.0], fit_intercept=False).fit(X, Y2)
    b = sk.Ridge(alpha=[1.0, 10.0], fit_intercept=False).fit(X, Y2)
    assert rel(a.coef_, b.coef_) < 1e-10 and np.all(a.intercept_ == 0)


def test_lasso_positive_and_sparsity():
    a = Lasso(alpha=0.5, positive=True, tol=1e-10).fit(X, Y_REG)
    b = sk.Lasso(alpha=0.5, positive=True, tol=1e-10).fit(X, Y_REG)
    assert rel(a.coef_, b.coef_) < 1e-8 and np.all(a.coef_ >= 0)
    assert a.n_iter_ >= 1 and a.dual_gap_ >= 0


def test_rank_deficient_gives_minimum_norm_solution():
    """A duplicated column: the minimum-norm solution, as lstsq (1e-8)."""
    Xd = np.c_[X, X[:, 0]]
    a = LinearRegression().fit(cf.from_array(Xd, chunks=(64, -1)), Y_REG)
    b = sk.LinearRegression().fit(Xd, Y_REG)
    assert a.rank_ == D
    assert rel(a.coef_, b.coef_) < 1e-8


@pytest.mark.parametrize("est, theirs", [
    (LinearRegression(solver="lbfgs"), sk.LinearRegression()),
    (Ridge(alpha=2.0, solver="lbfgs", tol=1e-10), sk.Ridge(alpha=2.0)),
], ids=["LinearRegression", "Ridge"])
def test_lbfgs_solver_for_wide_data(est, theirs):
    """The iterative path (used above 4000 features): within 1e-6 of the direct solution."""
    a = est.fit(cf.from_array(X, chunks=(64, -1)), Y_REG, sample_weight=SW)
    b = theirs.fit(X, Y_REG, sample_weight=SW)
    assert rel(a.coef_, b.coef_) < 1e-6 and abs(a.intercept_ - b.intercept_) < 1e-6 * abs(b.intercept_)


def test_auto_solver_switches_to_lbfgs_when_wide(monkeypatch):
    monkeypatch.setattr(linear_module, "GRAM_MAX_FEATURES", 3)
    a = LinearRegression().fit(X, Y_REG)
    assert a.rank_ is None and a.n_iter_ > 1
    assert rel(a.coef_, sk.LinearRegression().fit(X, Y_REG).coef_) < 1e-6


def test_normal_equations_take_one_pass(monkeypatch):
    """LinearRegression on a Tensor: a single cf.compute (Gram, X^T y, means, finiteness together)."""
    from chunkflow.ml import device  # every run of chunkflow.ml goes through device.compute

    calls = []
    real = device._compute
    monkeypatch.setattr(device, "_compute", lambda *a, **k: calls.append(len(a)) or real(*a, **k))
    LinearRegression().fit(cf.from_array(X, chunks=(64, -1)), cf.from_array(Y_REG, chunks=64))
    assert len(calls) == 1


# ---------------------------------------------------------------- logistic regression
LOGISTIC_CASES = [
    ({}, {}),
    ({"penalty": None}, {"C": np.inf}),
    ({"penalty": "l1", "C": 0.05}, {"l1_ratio": 1.0, "C": 0.05, "solver": "saga"}),
    ({"penalty": "elasticnet", "l1_ratio": 0.4, "C": 0.1}, {"l1_ratio": 0.4, "C": 0.1, "solver": "saga"}),
    ({"class_weight": "balanced", "C": 0.5}, {"class_weight": "balanced", "C": 0.5}),
]


@pytest.mark.parametrize("y", [Y_BIN, Y_MULTI], ids=["binary", "multinomial"])
@pytest.mark.parametrize("kw, skw", LOGISTIC_CASES, ids=["l2", "none", "l1", "elasticnet", "balanced"])
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_logistic_matches_sklearn(kw, skw, solver, y):
    """coef_/intercept_ within 1e-4 relative of scikit-learn at tight tol (measured 1e-6 to 1e-9)."""
    if solver == "lbfgs" and kw.get("penalty") in ("l1", "elasticnet"):
        pytest.skip("lbfgs takes smooth penalties only (tested in test_logistic_errors)")
    a = LogisticRegression(**kw, solver=solver, tol=1e-9, max_iter=200).fit(
        cf.from_array(X, chunks=(64, -1)), cf.from_array(y, chunks=64), sample_weight=cf.from_array(SW, chunks=64))
    b = sklearn_fit(sk.LogisticRegression(**skw, tol=1e-10 if "solver" in skw else 1e-12, max_iter=100_000),
                    X, y, SW)
    assert a.coef_.shape == b.coef_.shape and a.intercept_.shape == b.intercept_.shape
    assert rel(a.coef_, b.coef_) < 1e-4 and rel(a.intercept_, b.intercept_) < 1e-4
    np.testing.assert_array_equal(a.classes_, b.classes_)
    assert a.n_iter_.shape == (1,) and a.n_iter_[0] >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_logistic_outputs(kind):
    """decision_function/predict/predict_proba/predict_log_proba agree with scikit-learn (1e-6) in the input's kind."""
    Xk, yk, _ = as_kind(kind, X, Y_MULTI)
    a = LogisticRegression(tol=1e-10).fit(Xk, yk)
    b = sk.LogisticRegression(tol=1e-12, max_iter=10_000).fit(X, Y_MULTI)
    expected_type = {"numpy": np.ndarray, "dask": da.Array}.get(kind, Tensor)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        out = getattr(a, method)(Xk)
        assert isinstance(out, expected_type), method
        got = np.asarray(out if kind == "numpy" else out.compute())
        np.testing.assert_allclose(got, getattr(b, method)(X), rtol=1e-5, atol=1e-6, err_msg=method)
    assert a.score(Xk, yk) == pytest.approx(b.score(X, Y_MULTI))


def test_logistic_string_labels_and_binary_shapes():
    labels = np.array(["no", "yes"])[Y_BIN]
    a = LogisticRegression().fit(X, labels)
    b = sk.LogisticRegression().fit(X, labels)
    assert a.coef_.shape == (1, D) and a.intercept_.shape == (1,)
    assert list(a.classes_) == ["no", "yes"]
    assert a.decision_function(X).shape == (N,)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_logistic_class_weight_equals_sample_weight():
    cw = {0: 3.0, 1: 0.5}
    a = LogisticRegression(class_weight=cw, tol=1e-10).fit(X, Y_BIN)
    b = LogisticRegression(tol=1e-10).fit(X, Y_BIN, sample_weight=np.where(Y_BIN == 0, 3.0, 0.5))
    assert rel(a.coef_, b.coef_) < 1e-8


def test_logistic_standardization_penalizes_standardized_coefficients():
    """standardization=True equals scikit-learn fitted on X / std, coefficients mapped back (1e-5)."""
    std = X.std(axis=0)
    a = LogisticRegression(C=0.05, standardization=True, tol=1e-10).fit(cf.from_array(X, chunks=(64, -1)), Y_BIN)
    b = sk.LogisticRegression(C=0.05, tol=1e-12, max_iter=10_000).fit(X / std, Y_BIN)
    assert rel(a.coef_, b.coef_ / std) < 1e-5 and rel(a.intercept_, b.intercept_) < 1e-5
    plain = LogisticRegression(C=0.05).fit(X, Y_BIN)
    assert rel(plain.coef_, a.coef_) > 1e-2  # the two penalties differ


@pytest.mark.parametrize("solver, lr", [("sgd", 2.0), ("adam", 0.3)])
def test_logistic_first_order_solvers(solver, lr):
    """Full-batch SGD (momentum 0.9)/Adam in standardized coordinates: within 5e-3 after 200 steps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = LogisticRegression(C=0.01, solver=solver, learning_rate=lr, max_iter=200).fit(X, Y_BIN)
    b = sk.LogisticRegression(C=0.01, tol=1e-10).fit(X, Y_BIN)
    assert rel(a.coef_, b.coef_) < 5e-3


def test_newton_takes_one_pass_per_iteration(monkeypatch):
    """Value, gradient and Hessian in one run per Newton iteration (plus the first statistics pass)."""
    from chunkflow import runtime

    runs = []
    real = runtime.Compiled.__call__
    monkeypatch.setattr(runtime.Compiled, "__call__", lambda self, *a, **k: runs.append(1) or real(self, *a, **k))
    a = LogisticRegression(solver="newton", tol=1e-8).fit(cf.from_array(X, chunks=(64, -1)), Y_BIN)
    assert len(runs) == a.n_iter_[0] + 1


# ---------------------------------------------------------------- LinearSVC
@pytest.mark.parametrize("y", [Y_BIN, Y_MULTI], ids=["binary", "ovr"])
@pytest.mark.parametrize("kw", [{}, {"C": 0.1, "intercept_scaling": 3.0}, {"class_weight": {0: 2.0, 1: 1.0}}],
                         ids=["default", "C-scaling", "class_weight"])
def test_linear_svc_matches_liblinear(kw, y):
    """Squared hinge + L2 with a penalized intercept, as liblinear's primal solver: 1e-4 relative."""
    a = LinearSVC(**kw, tol=1e-10).fit(cf.from_array(X, chunks=(64, -1)), y)
    b = sklearn_fit(sksvm.LinearSVC(**kw, dual=False, tol=1e-12, max_iter=100_000), X, y)
    assert a.coef_.shape == b.coef_.shape
    assert rel(a.coef_, b.coef_) < 1e-4 and rel(a.intercept_, b.intercept_) < 1e-4
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


# ---------------------------------------------------------------- GLMs
GLM_CASES = [
    (PoissonRegressor(alpha=0.1), sk.PoissonRegressor(alpha=0.1), Y_COUNT),
    (GammaRegressor(alpha=0.1), sk.GammaRegressor(alpha=0.1), Y_POS),
    (TweedieRegressor(power=1.5, alpha=0.1), sk.TweedieRegressor(power=1.5, alpha=0.1), Y_COUNT),
    (TweedieRegressor(power=0, alpha=0.1), sk.TweedieRegressor(power=0, alpha=0.1), Y_POS),
]


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.parametrize("ours, theirs, y", GLM_CASES, ids=["poisson", "gamma", "tweedie1.5", "tweedie0"])
def test_glm_matches_sklearn(ours, theirs, y, solver):
    """coef_/intercept_ within 1e-5 relative (measured ~1e-7), D^2 score within 1e-6."""
    a = ours.set_params(solver=solver, tol=1e-10).fit(cf.from_array(X, chunks=(64, -1)),
                                                      cf.from_array(y, chunks=64), sample_weight=SW)
    b = sklearn_fit(theirs.set_params(tol=1e-12, max_iter=10_000), X, y, SW)
    assert rel(a.coef_, b.coef_) < 1e-5 and abs(a.intercept_ - b.intercept_) < 1e-5 * max(1, abs(b.intercept_))
    assert a.score(X, y, SW) == pytest.approx(b.score(X, y, SW), abs=1e-6)
    assert isinstance(a.predict(cf.from_array(X)), Tensor)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5)


# ---------------------------------------------------------------- errors
def test_nan_in_chunked_x_names_the_column():
    Xbad = X.copy()
    Xbad[123, 2] = np.nan
    for est, y in [(LinearRegression(), Y_REG), (LogisticRegression(), Y_BIN), (PoissonRegressor(), Y_COUNT)]:
        with pytest.raises(ValueError, match="column 2"):
            est.fit(cf.from_array(Xbad, chunks=(64, -1)), cf.from_array(y, chunks=64))
    Xinf = X.copy()
    Xinf[5, 4] = np.inf
    with pytest.raises(ValueError, match="column 4"):
        Ridge().fit(da.from_array(Xinf, chunks=(100, 5)), Y_REG)


def test_nan_in_chunked_y():
    ybad = Y_REG.copy()
    ybad[7] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        LinearRegression().fit(cf.from_array(X, chunks=(64, -1)), cf.from_array(ybad, chunks=64))


def test_classifier_label_errors():
    Xt = cf.from_array(X, chunks=(64, -1))
    with pytest.raises(ValueError, match="only one class"):
        LogisticRegression().fit(Xt, cf.from_array(np.ones(N, dtype=int), chunks=64))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LogisticRegression().fit(Xt, cf.from_array(Y_REG, chunks=64))
    with pytest.raises(ValueError, match="same number of rows"):
        LinearSVC().fit(Xt, cf.from_array(Y_BIN[:-1], chunks=64))


@pytest.mark.parametrize("est, match", [
    (LogisticRegression(C=-1.0), r"C must be in \(0"),
    (LogisticRegression(penalty="elasticnet"), "l1_ratio must be given"),
    (LogisticRegression(penalty="l3"), "penalty must be"),
    (LogisticRegression(penalty="l1", solver="lbfgs"), "solver='lbfgs' supports penalty None or 'l2'"),
    (LogisticRegression(solver="liblinear"), "solver must be one of"),
    (Ridge(alpha=-1.0), r"alpha must be in \[0"),
    (Lasso(max_iter=0), "max_iter must be an integer >= 1"),
    (ElasticNet(l1_ratio=2.0), r"l1_ratio must be in \[0, 1\], got 2.0"),
    (LinearSVC(loss="hinge"), "squared_hinge"),
    (TweedieRegressor(power=0.5), "power must be"),
])
def test_invalid_hyperparameters_name_param_and_range(est, match):
    y = Y_REG if isinstance(est, (Ridge, Lasso, ElasticNet, TweedieRegressor)) else Y_BIN
    with pytest.raises(ValueError, match=match):
        est.fit(cf.from_array(X, chunks=(64, -1)), np.abs(y))


def test_target_range_errors():
    with pytest.raises(ValueError, match="y >= 0"):
        PoissonRegressor().fit(cf.from_array(X), cf.from_array(Y_REG))
    with pytest.raises(ValueError, match="y > 0"):
        GammaRegressor().fit(X, np.r_[0.0, Y_POS[1:]])


@pytest.mark.parametrize("est", [LinearRegression(), Lasso(), LogisticRegression(), LinearSVC(), PoissonRegressor()],
                         ids=lambda e: type(e).__name__)
def test_predict_before_fit_and_feature_count(est):
    Xt = cf.from_array(X, chunks=(64, -1))
    with pytest.raises(NotFittedError):
        est.predict(Xt)
    est.fit(Xt, np.abs(Y_REG) if isinstance(est, (LinearRegression, Lasso, PoissonRegressor)) else Y_BIN)
    with pytest.raises(ValueError, match=f"has 3 features, but {type(est).__name__} is expecting 5"):
        est.predict(cf.from_array(X[:, :3]))


def test_wrong_label_dtype():
    with pytest.raises(TypeError, match="class labels must be"):
        LogisticRegression().fit(cf.from_array(X, chunks=(64, -1)), cf.from_array(Y_BIN + 1j, chunks=64))
    with pytest.raises(TypeError, match="regressor needs numeric targets"):
        Ridge().fit(cf.from_array(X, chunks=(64, -1)), cf.from_array(np.array(["a"] * N), chunks=64))


@pytest.mark.parametrize("name", ["chunkflow.ml.linear", "chunkflow.ml.cd"])
def test_doctests(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_newton_backtracks_when_the_full_step_overshoots():
    """Poisson with large coefficients: the first Newton step is halved by the one-pass line search (1e-6)."""
    Xs = X[:, :3] / X[:, :3].std(axis=0)
    y = np.random.default_rng(3).poisson(np.exp(Xs @ [1.5, -1.0, 2.0] + 1)).astype(float)
    a = PoissonRegressor(alpha=1e-4, solver="newton", tol=1e-10).fit(cf.from_array(Xs, chunks=(64, -1)), y)
    b = sk.PoissonRegressor(alpha=1e-4, tol=1e-12, max_iter=10_000).fit(Xs, y)
    assert rel(a.coef_, b.coef_) < 1e-6


def test_frame_input_sets_feature_names():
    import pandas as pd

    from chunkflow.frame.frame import from_pandas

    frame = from_pandas(pd.DataFrame(X, columns=list("abcde")), npartitions=3)
    a = LogisticRegression(tol=1e-10).fit(frame, Y_BIN)
    assert list(a.feature_names_in_) == list("abcde")
    assert isinstance(a.predict(frame), Tensor)
    assert rel(a.coef_, sk.LogisticRegression(tol=1e-12).fit(X, Y_BIN).coef_) < 1e-5


@pytest.mark.parametrize("est,ref", [(LinearRegression(fit_intercept=False), sk.LinearRegression(fit_intercept=False)),
                                     (Ridge(fit_intercept=False), sk.Ridge(fit_intercept=False)),
                                     (Lasso(alpha=0.1, fit_intercept=False), sk.Lasso(alpha=0.1, fit_intercept=False))])
def test_no_intercept_is_zero_float_for_several_targets_as_sklearn(est, ref):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = X @ rng.normal(size=(3, 2))
    ours, theirs = est.fit(cf.from_array(X, chunks=(15, -1)), cf.from_array(Y, chunks=(15, -1))), ref.fit(X, Y)
    assert ours.intercept_ == theirs.intercept_ == 0.0 and np.ndim(ours.intercept_) == 0
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6, atol=1e-8)


def test_linear_svc_without_intercept_reports_zero_float():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, 60)
    assert LinearSVC(fit_intercept=False).fit(X, y).intercept_ == 0.0
    assert sksvm.LinearSVC(fit_intercept=False).fit(X, y).intercept_ == 0.0


def test_predict_on_a_frame_checks_feature_names():
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    y = df.to_numpy() @ [1.0, 2.0, 3.0]
    m = LinearRegression().fit(cf.from_pandas(df), cf.from_array(y, chunks=(30,)))
    assert list(m.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names should match"):
        m.predict(cf.from_pandas(df[["c", "b", "a"]]))
    np.testing.assert_allclose(m.predict(cf.from_pandas(df)).compute(), y, atol=1e-8)
