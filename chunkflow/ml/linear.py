"""Least-squares linear models: LinearRegression, Ridge, Lasso, ElasticNet.

All four need the same one pass over the data: the weighted Gram matrix
``X^T S X``, ``X^T S y``, the column sums (for the intercept, by centering
afterwards) and ``y^T S y``, computed together by ``cf.compute`` and
tree-summed over row chunks. The rest runs on the client on ``d x d``
matrices: an eigen/Cholesky solve (LinearRegression, Ridge) or exact
coordinate descent (Lasso, ElasticNet, scikit-learn's objective
``1/(2n) ||y - Xw||^2 + alpha l1_ratio |w|_1 + alpha (1 - l1_ratio)/2 |w|^2``).
Past ``gram_max_features`` features the Gram matrix stops being small and
LinearRegression/Ridge switch to L-BFGS (one pass per evaluation).

>>> import numpy as np
>>> X = np.arange(8.0).reshape(4, 2); y = X @ [1.0, 2.0] + 3
>>> LinearRegression().fit(X, y).predict(X[:2]).round(6)
array([ 5., 11.])
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin

import chunkflow as cf

from . import _validate as check
from .base import as_output
from .cd import enet_quadratic
from .device import compute, fetch
from .fit_input import FitData, check_finite_columns, fit_input, predict_input
from .glm_solver import FAMILIES, GLMProblem, solve
from .persist import ModelFileMixin, register

__all__ = ["LinearRegression", "Ridge", "Lasso", "ElasticNet", "LinearModel", "gram_pass"]

GRAM_MAX_FEATURES = 4000


class LinearModel(ModelFileMixin, BaseEstimator):
    """Shared predict/decision plumbing: ``X @ coef_.T + intercept_``, lazy for chunked input.

    Every linear model takes ``device``: None (where the data is), 'cpu' or
    'gpu' (fit and predict move the data there; the parameters stay NumPy).
    """

    def _linear(self, X):
        Xt, kind = predict_input(self, X)
        coef = np.asarray(self.coef_)
        out = Xt @ (coef.T if coef.ndim == 2 else coef)
        return out + np.asarray(self.intercept_), kind


class _Regressor(MultiOutputMixin, RegressorMixin, LinearModel):
    def predict(self, X):
        """Predicted targets: ndarray for NumPy input, lazy Tensor (or dask array) for chunked input."""
        out, kind = self._linear(X)
        return as_output(out, kind)

    def score(self, X, y, sample_weight=None):
        """R^2 of the predictions (averaged over targets), as scikit-learn's ``r2_score``."""
        pred, kind = self._linear(X)
        if kind == "numpy":
            from sklearn.metrics import r2_score

            return float(r2_score(y, np.asarray(fetch(pred)), sample_weight=sample_weight))
        return r2_lazy(pred, y, sample_weight)

    def _check_common(self):
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")


def r2_lazy(pred, y, sample_weight=None) -> float:
    """R^2 of Tensor predictions against ``y`` (any input kind) in one pass."""
    from .base import as_tensor_input

    y, _ = as_tensor_input(y, name="y")
    if y.ndim == 1 and pred.ndim == 2:
        pred = pred.reshape((pred.shape[0],))
    sw = None if sample_weight is None else as_tensor_input(sample_weight, name="sample_weight")[0]
    w = 1.0 if sw is None else (sw if y.ndim == 1 else sw[:, None])
    S, sy, syy, sse = compute(float(y.shape[0]) if sw is None else sw.sum(), (y * w).sum(axis=0),
                              (y * y * w).sum(axis=0), (cf.square(y - pred) * w).sum(axis=0))
    sst = syy - sy * sy / S
    r2 = np.where(sst > 0, 1.0 - sse / np.where(sst > 0, sst, 1.0), np.where(sse == 0, 1.0, 0.0))
    return float(np.mean(r2))


def gram_pass(data: FitData, fit_intercept=True):
    """``(G, b, yy, x_mean, y_mean, S)``: centered (if fit_intercept) weighted Gram, ``X^T y``, ``y^T y``.

    One pass; NaN/inf anywhere in X or y makes the sums non-finite, and only
    then a second pass names the column.
    """
    X, y, sw = data.X, data.y, data.sw
    Xw = X if sw is None else X * sw[:, None]
    yw = y if sw is None else (y * sw if y.ndim == 1 else y * sw[:, None])
    S = float(data.n) if sw is None else sw.sum()
    S, sx, sy, G, b, yy = compute(S, Xw.sum(axis=0), yw.sum(axis=0), Xw.T @ X, Xw.T @ y,
                                  (yw * y).sum(axis=0))
    S = float(S)
    if not all(np.all(np.isfinite(a)) for a in (S, sx, sy, np.diag(G), yy)):
        check_finite_columns(data)
    if sw is not None and S <= 0:
        raise ValueError(f"sample_weight sums to {S}; it must have a positive sum")
    if not fit_intercept:
        return G, b, yy, np.zeros_like(sx), np.zeros_like(sy), S
    mx, my = sx / S, sy / S
    G = G - S * np.outer(mx, mx)
    b = b - S * (np.outer(mx, my) if b.ndim == 2 else mx * my)
    yy = yy - S * my * my
    return G, b, yy, mx, my, S


def solve_gram(G, b):
    """The minimum-norm solution of ``G w = b`` for a symmetric PSD ``G`` (``b`` 1-D or 2-D), and the rank."""
    dg = np.diag(G)
    D = np.sqrt(np.where(dg > 0, dg, 1.0))
    lam, V = np.linalg.eigh(G / np.outer(D, D))
    b2 = b if b.ndim == 2 else b[:, None]
    if lam[0] > lam[-1] * 1e-10:  # well conditioned after Jacobi scaling
        w = (V @ ((V.T @ (b2 / D[:, None])) / lam[:, None])) / D[:, None]
        rank = len(lam)
    else:  # rank-deficient: the minimum-norm solution, as lstsq gives
        lam, V = np.linalg.eigh(G)
        keep = lam > lam[-1] * len(lam) * np.finfo(float).eps
        w = V[:, keep] @ ((V[:, keep].T @ b2) / lam[keep][:, None])
        rank = int(keep.sum())
    return (w if b.ndim == 2 else w[:, 0]), rank


def _set_coef(est, w, my, mx, two_d):
    """``coef_`` (d,) or (k, d) and ``intercept_`` from a solution ``w`` (d,) or (d, k)."""
    est.coef_ = w.T.copy() if two_d else w
    est.intercept_ = my - mx @ w if est.fit_intercept else 0.0  # scikit-learn: 0.0 for any number of targets
    if not two_d and est.fit_intercept:
        est.intercept_ = float(est.intercept_)


def _wide_least_squares(est, data, l2_total, max_iter, tol):
    """Least squares (+ ridge ``l2_total``) by L-BFGS for data too wide for a Gram matrix."""
    from .fit_input import moments

    two_d = data.y.ndim == 2
    Y = data.y if two_d else data.y.reshape((data.n, 1))
    S, sx, sxx, sy = moments(data, extra=((Y if data.sw is None else Y * data.sw[:, None]).sum(axis=0),))
    mean = sx / S
    scale = np.sqrt(np.maximum(sxx / S - mean * mean, 0.0))
    scale = np.where(scale > 0, scale, 1.0)
    K = Y.shape[1]
    prob = GLMProblem(FAMILIES["squared"], data.X, Y, data.sw, S, K, mean, scale, est.fit_intercept,
                      l2=l2_total / S)
    W, b, n_iter, _ = solve(prob, "lbfgs", c0=sy / S if est.fit_intercept else None, max_iter=max_iter, tol=tol)
    est.coef_ = W.T.copy() if two_d else W[:, 0]
    est.intercept_ = (b if two_d else float(b[0])) if est.fit_intercept else 0.0
    return n_iter


@register
class LinearRegression(_Regressor):
    """Ordinary least squares from the Gram matrix (one data pass), or L-BFGS for wide data.

    solver: 'auto' (normal equations up to 4000 features, else 'lbfgs'),
    'normal' or 'lbfgs'. tol/max_iter apply to 'lbfgs' (gradient max-norm).
    Learned: ``coef_`` (d,) or (n_targets, d), ``intercept_``, ``rank_``,
    ``n_iter_`` (1 for the direct solve), ``n_features_in_``.
    """

    def __init__(self, *, fit_intercept=True, solver="auto", tol=1e-10, max_iter=1000, device=None):
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.device = device

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n, d) and ``y`` (n,) or (n, k); any input kind. Returns self."""
        self._check_common()
        if self.solver not in ("auto", "normal", "lbfgs"):
            raise ValueError(f"solver must be one of 'auto', 'normal', 'lbfgs', got {self.solver!r}")
        check.number("tol", self.tol, low=0)
        check.integer("max_iter", self.max_iter, low=0)
        data = fit_input(self, X, y, sample_weight, multi_output=True)
        solver = self.solver if self.solver != "auto" else ("lbfgs" if data.d > GRAM_MAX_FEATURES else "normal")
        if solver == "lbfgs":
            self.n_iter_ = _wide_least_squares(self, data, 0.0, self.max_iter, self.tol)
            self.rank_ = None
            return self
        G, b, _, mx, my, _ = gram_pass(data, self.fit_intercept)
        w, self.rank_ = solve_gram(G, b)
        _set_coef(self, w, my, mx, data.y.ndim == 2)
        self.n_iter_ = 1  # one pass over the data, one direct solve
        return self


@register
class Ridge(_Regressor):
    """Least squares with ``alpha * ||w||^2`` (scikit-learn's Ridge objective), one data pass.

    alpha: a float >= 0 or one per target. solver: 'auto' ('cholesky' up to
    4000 features, else 'lbfgs'), 'cholesky', 'lbfgs'.
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, solver="auto", tol=1e-4, max_iter=None, device=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.device = device

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` and ``y`` (n,) or (n, k); any input kind. Returns self."""
        self._check_common()
        alpha = np.asarray(self.alpha, dtype=np.float64) if not isinstance(self.alpha, numbers.Real) \
            else np.asarray(check.number("alpha", self.alpha, low=0))
        if alpha.ndim > 1 or np.any(alpha < 0) or not np.all(np.isfinite(alpha)):
            raise ValueError(f"alpha must be a float >= 0 or a 1-D array of them, got {self.alpha!r}")
        if self.solver not in ("auto", "cholesky", "lbfgs"):
            raise ValueError(f"solver must be one of 'auto', 'cholesky', 'lbfgs', got {self.solver!r}")
        check.number("tol", self.tol, low=0)
        max_iter = 1000 if self.max_iter is None else check.integer("max_iter", self.max_iter, low=1)
        data = fit_input(self, X, y, sample_weight, multi_output=True)
        two_d = data.y.ndim == 2
        k = data.y.shape[1] if two_d else 1
        if alpha.ndim == 1 and alpha.shape[0] not in (1, k):
            raise ValueError(f"alpha has {alpha.shape[0]} values for {k} targets; give one or one per target")
        solver = self.solver if self.solver != "auto" else ("lbfgs" if data.d > GRAM_MAX_FEATURES else "cholesky")
        if solver == "lbfgs":
            if alpha.size > 1 and len(set(alpha.tolist())) > 1:
                raise ValueError("solver='lbfgs' takes one alpha for all targets; use solver='cholesky'")
            self.n_iter_ = _wide_least_squares(self, data, float(alpha.ravel()[0]), max_iter, self.tol)
            return self
        G, b, _, mx, my, _ = gram_pass(data, self.fit_intercept)
        b2 = b if two_d else b[:, None]
        alphas = np.broadcast_to(alpha.ravel() if alpha.ndim else alpha, (k,))
        w = np.empty_like(b2)
        eye = np.eye(G.shape[0])
        for j in range(k):
            w[:, j] = _solve_pd(G + alphas[j] * eye, b2[:, j])
        _set_coef(self, w if two_d else w[:, 0], my, mx, two_d)
        self.n_iter_ = 1  # one pass over the data, one direct solve
        return self


def _solve_pd(A, b):
    import scipy.linalg

    try:
        return scipy.linalg.solve(A, b, assume_a="pos", check_finite=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return solve_gram(A, b)[0]


@register
class ElasticNet(_Regressor):
    """Elastic net by exact coordinate descent on the Gram matrix (one data pass).

    Minimizes ``1/(2 S) sum_i s_i (y_i - x_i w - b)^2 + alpha * l1_ratio * |w|_1
    + alpha * (1 - l1_ratio) / 2 * |w|^2`` (``S`` the sum of sample weights,
    n without them), as scikit-learn. Stops when the duality gap is
    <= ``tol * y^T y / S``. Learned: ``coef_``, ``intercept_``, ``n_iter_``,
    ``dual_gap_``.
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, max_iter=1000, tol=1e-4, positive=False,
                 device=None):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive
        self.device = device

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` and ``y`` (n,) or (n, k); any input kind. Returns self."""
        self._check_common()
        alpha = check.number("alpha", self.alpha, low=0)
        l1_ratio = check.number("l1_ratio", self._l1_ratio(), low=0, high=1)
        check.integer("max_iter", self.max_iter, low=1)
        check.number("tol", self.tol, low=0)
        data = fit_input(self, X, y, sample_weight, multi_output=True)
        G, b, yy, mx, my, S = gram_pass(data, self.fit_intercept)
        two_d = data.y.ndim == 2
        b2, yy2 = (b, yy) if two_d else (b[:, None], np.atleast_1d(yy))
        Q = G / S
        w = np.zeros_like(b2)
        n_iters, gaps = [], []
        for j in range(b2.shape[1]):
            w[:, j], n_iter, gap = enet_quadratic(Q, b2[:, j] / S, l1=alpha * l1_ratio, l2=alpha * (1 - l1_ratio),
                                                  max_iter=self.max_iter, tol=self.tol, positive=self.positive,
                                                  yy=max(float(yy2[j]) / S, 0.0))
            n_iters.append(n_iter)
            gaps.append(gap)
        _set_coef(self, w if two_d else w[:, 0], my, mx, two_d)
        self.n_iter_ = n_iters if two_d else n_iters[0]
        self.dual_gap_ = np.asarray(gaps) if two_d else gaps[0]
        return self

    def _l1_ratio(self):
        return self.l1_ratio


@register
class Lasso(ElasticNet):
    """ElasticNet with ``l1_ratio=1``: ``1/(2 S) ||y - Xw||^2 + alpha |w|_1`` (see :class:`ElasticNet`)."""

    def __init__(self, alpha=1.0, *, fit_intercept=True, max_iter=1000, tol=1e-4, positive=False, device=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.positive = positive
        self.device = device

    def _l1_ratio(self):
        return 1.0
