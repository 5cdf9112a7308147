"""Generalized linear regressors with a log link: PoissonRegressor, GammaRegressor, TweedieRegressor.

scikit-learn's objective ``1/(2 S) sum_i s_i deviance(y_i, exp(x_i w + b)) +
alpha/2 |w|^2``, minimized by :mod:`chunkflow.ml.glm_solver` (Newton/IRLS
with the Hessian tree-summed in the gradient's pass, or L-BFGS). ``score``
is D^2, the fraction of deviance explained, as in scikit-learn.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

import chunkflow as cf

from . import _validate as check
from .base import as_output, as_tensor_input
from .device import compute
from .fit_input import fit_input, moments
from .glm_solver import GLMProblem, _tweedie, family, log_mean, solve
from .linear import LinearModel
from .persist import register

__all__ = ["PoissonRegressor", "GammaRegressor", "TweedieRegressor"]

NEWTON_MAX_FEATURES = 1000


class _GLMRegressor(RegressorMixin, LinearModel):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True  # scikit-learn's checks then draw y > 0
        return tags
    def _family(self):
        raise NotImplementedError

    def _identity_link(self):
        return False

    def _check_y(self, y_min):
        pass

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n, d) and targets ``y`` (n,); any input kind. Returns self."""
        alpha = check.number("alpha", self.alpha, low=0)
        check.integer("max_iter", self.max_iter, low=0)
        check.number("tol", self.tol, low=0)
        if self.solver not in ("auto", "newton", "lbfgs"):
            raise ValueError(f"solver must be one of 'auto', 'newton', 'lbfgs', got {self.solver!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")
        fam = self._family()
        data = fit_input(self, X, y, sample_weight)
        yw = data.y if data.sw is None else data.y * data.sw
        S, sx, sxx, sy, y_min, y_ok = moments(data, extra=(yw.sum(), data.y.min(), cf.isfinite(data.y).all()))
        if not bool(y_ok):
            raise ValueError("Input y contains NaN or infinity; drop or impute those rows first")
        self._check_y(float(y_min))
        mean = sx / S
        scale = np.sqrt(np.maximum(sxx / S - mean * mean, 0.0))
        scale = np.where(scale > 1e-12 * np.maximum(np.abs(mean), 1.0), scale, 1.0)
        prob = GLMProblem(fam, data.X, data.y.reshape((data.n, 1)), data.sw, S, 1, mean, scale,
                          self.fit_intercept, l2=alpha)
        c0 = None
        if self.fit_intercept:
            c0 = np.array([float(sy) / S if self._identity_link() else log_mean(float(sy), S)])
        solver = self.solver if self.solver != "auto" else (
            "newton" if data.d <= NEWTON_MAX_FEATURES else "lbfgs")
        W, b, n_iter, converged = solve(prob, solver, c0=c0, max_iter=self.max_iter, tol=self.tol,
                                        verbose=self.verbose)
        self.coef_ = W[:, 0].copy()
        self.intercept_ = float(b[0]) if self.fit_intercept else 0.0
        self.n_iter_ = int(n_iter)
        if not converged and self.max_iter > 0:
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            warnings.warn(f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations",
                          ConvergenceWarning, stacklevel=2)
        return self

    def _eta(self, X):
        out, kind = self._linear(X)
        return out, kind

    def predict(self, X):
        """Predicted means ``exp(X @ coef_ + intercept_)``: ndarray for NumPy input, lazy otherwise."""
        eta, kind = self._eta(X)
        return as_output(eta if self._identity_link() else cf.exp(eta), kind)

    def score(self, X, y, sample_weight=None):
        """D^2: the fraction of (weighted) deviance explained, scikit-learn's ``d2`` for this family."""
        eta, _ = self._eta(X)
        y, _ = as_tensor_input(y, name="y")
        sw = None if sample_weight is None else as_tensor_input(sample_weight, name="sample_weight")[0]
        S, sy = compute(float(y.shape[0]) if sw is None else sw.sum(), y.sum() if sw is None else (y * sw).sum())
        m = float(sy) / float(S)
        eta0 = m if self._identity_link() else float(np.log(m))
        dev = self._family().half_deviance
        w = 1.0 if sw is None else sw
        num, den = compute((dev(eta, y) * w).sum(), (dev(cf.full_like(y, eta0), y) * w).sum())
        return float(1.0 - num / den) if den > 0 else (1.0 if num == 0 else 0.0)


def _init(self, alpha, fit_intercept, solver, max_iter, tol, verbose, device):
    self.alpha = alpha
    self.fit_intercept = fit_intercept
    self.solver = solver
    self.max_iter = max_iter
    self.tol = tol
    self.verbose = verbose
    self.device = device


@register
class PoissonRegressor(_GLMRegressor):
    """Poisson regression with a log link (counts, rates), scikit-learn's objective; y >= 0.

    solver: 'auto' (Newton up to 1000 features, else L-BFGS), 'newton', 'lbfgs'.
    """

    def __init__(self, *, alpha=1.0, fit_intercept=True, solver="auto", max_iter=100, tol=1e-4, verbose=0,
                 device=None):
        _init(self, alpha, fit_intercept, solver, max_iter, tol, verbose, device)

    def _family(self):
        return family("poisson")

    def _check_y(self, y_min):
        if y_min < 0:
            raise ValueError(f"PoissonRegressor needs y >= 0 (the Poisson family's range); the smallest y is "
                             f"{y_min}")


@register
class GammaRegressor(_GLMRegressor):
    """Gamma regression with a log link (positive, skewed targets), scikit-learn's objective; y > 0."""

    def __init__(self, *, alpha=1.0, fit_intercept=True, solver="auto", max_iter=100, tol=1e-4, verbose=0,
                 device=None):
        _init(self, alpha, fit_intercept, solver, max_iter, tol, verbose, device)

    def _family(self):
        return family("gamma")

    def _check_y(self, y_min):
        if y_min <= 0:
            raise ValueError(f"GammaRegressor needs y > 0 (the Gamma family's range); the smallest y is {y_min}")


@register
class TweedieRegressor(_GLMRegressor):
    """Tweedie regression: ``power`` 0 (normal, identity link), 1 (Poisson), (1, 2) (compound Poisson-Gamma),
    2 (Gamma), > 2 (e.g. 3, inverse Gaussian), with a log link except for power 0 (link='auto')."""

    def __init__(self, *, power=0.0, alpha=1.0, fit_intercept=True, link="auto", solver="auto", max_iter=100,
                 tol=1e-4, verbose=0, device=None):
        self.power = power
        self.link = link
        _init(self, alpha, fit_intercept, solver, max_iter, tol, verbose, device)

    def _power(self):
        p = check.number("power", self.power)
        if 0 < p < 1:
            raise ValueError(f"power must be <= 0 or >= 1 (no Tweedie distribution exists between), got {p}")
        return p

    def _identity_link(self):
        if self.link not in ("auto", "log", "identity"):
            raise ValueError(f"link must be 'auto', 'log' or 'identity', got {self.link!r}")
        p = self._power()
        if self.link == "identity" and p != 0:
            raise ValueError("link='identity' is implemented for power=0 only; use link='log'")
        return p == 0 and self.link != "log"

    def _family(self):
        p = self._power()
        if p == 0 and not self._identity_link():
            return _tweedie(0.0)  # normal with a log link
        return family("tweedie", power=p)

    def _check_y(self, y_min):
        p = self._power()
        if (1 <= p < 2 and y_min < 0) or (p >= 2 and y_min <= 0) or (p == 0 and not self._identity_link()
                                                                     and y_min < 0):
            raise ValueError(f"TweedieRegressor(power={p}) needs y {'> 0' if p >= 2 else '>= 0'}; the smallest "
                             f"y is {y_min}")
