"""PCA and TruncatedSVD on tall chunked data.

Solvers (``svd_solver``) and their passes over X:

``covariance_eigh``  1 pass: mean, the Gram matrix ``X^T X`` (a tree-summed
                     row contraction), the NaN/inf check; then ``eigh`` of
                     the d x d covariance on the client (scikit-learn's
                     solver of the same name, same formula). For d up to a
                     few thousand.
``full``             2 passes: the mean, then an exact thin SVD of the
                     centered X by tall-skinny QR (``cf.linalg.svd``).
``randomized``       1 + ``n_iter`` passes: the mean and total variance, then
                     subspace (power) iterations on the feature side,
                     ``Q <- qr((X-m)^T (X-m) Q)``, each one pass; the last
                     pass also gives ``Q^T (X-m)^T (X-m) Q``, whose eigh is
                     the Rayleigh-Ritz step. For wide data: only d x l
                     matrices live on the client.
``auto``             ``covariance_eigh`` for up to 1000 features, else
                     ``randomized`` when n_components < 0.8 min(n, d), else
                     ``full``.

Components follow scikit-learn's sign convention (``svd_flip`` with
``u_based_decision=False``: the largest-magnitude entry of every component
is positive).
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state

from .base import as_output, check_finite, check_fitted, validate_X
from .device import compute, fetch, fit_device, place
from .persist import ModelFileMixin, register

__all__ = ["PCA", "TruncatedSVD"]

_SOLVERS = ("auto", "full", "covariance_eigh", "randomized")


def _flip(components):
    """Rows with the sign making each row's largest-|.| entry positive (scikit-learn's ``svd_flip``)."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def _subspace(t, mean, k, n_oversamples, n_iter, rs):
    """Top-``k`` eigenpairs of ``(X-m)^T (X-m)`` by randomized subspace iteration: ``(eigvals, V)``.

    Each iteration is one pass (``A^T (A Q)`` per chunk, tree-summed); the
    last also returns ``(AQ)^T (AQ)`` for the Rayleigh-Ritz step.
    """
    d = t.shape[1]
    ell = min(d, k + n_oversamples)
    Q, _ = np.linalg.qr(rs.standard_normal((d, ell)))
    for i in range(max(n_iter, 1)):
        W = t @ Q if mean is None else t @ Q - mean @ Q
        AtW = t.T @ W if mean is None else t.T @ W - mean[:, None] * W.sum(axis=0)[None, :]
        Z, G = compute(AtW, W.T @ W)
        if i < max(n_iter, 1) - 1:
            Q, _ = np.linalg.qr(Z)
    vals, vecs = np.linalg.eigh((G + G.T) / 2)
    order = np.argsort(vals)[::-1][:k]
    return np.maximum(vals[order], 0.0), (Q @ vecs[:, order]).T


def _n_iter(n_iter, k, shape):
    if n_iter == "auto":  # scikit-learn's rule
        return 7 if k < 0.1 * min(shape) else 4
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 0:
        raise ValueError(f"n_iter must be 'auto' or an integer >= 0, got {n_iter!r}")
    return int(n_iter)


@register
class PCA(ModelFileMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis (see the module docstring for the solvers and their passes).

    ``n_components``: an int, a float in (0, 1) (keep the fewest components
    explaining that fraction of the variance; not with 'randomized'), or
    None (all, ``min(n_samples, n_features)``). Attributes as scikit-learn's:
    ``components_``, ``explained_variance_``, ``explained_variance_ratio_``,
    ``singular_values_``, ``mean_``, ``noise_variance_``, ``n_components_``,
    ``n_samples_``; ``score``/``score_samples``/``get_covariance``/``get_precision``
    of the probabilistic PCA model, as scikit-learn. 'randomized' is
    approximate (subspace iteration): like scikit-learn's, its accuracy
    depends on how fast the spectrum decays and on ``iterated_power``.
    ``device``: None (where the data is), 'cpu' or 'gpu' (the data is moved
    there; the components are NumPy).
    """

    def __init__(self, n_components=None, *, whiten=False, svd_solver="auto", n_oversamples=10,
                 iterated_power="auto", random_state=None, copy=True, device=None):
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.n_oversamples = n_oversamples
        self.iterated_power = iterated_power
        self.random_state = random_state
        self.copy = copy
        self.device = device

    def _check(self, n, d):
        nc = self.n_components
        if self.svd_solver not in _SOLVERS:
            raise ValueError(f"svd_solver must be one of {_SOLVERS}, got {self.svd_solver!r}")
        if nc is None:
            return min(n, d)
        if isinstance(nc, str):
            raise ValueError(f"n_components={nc!r} is not supported; pass an int, a float in (0, 1) or None")
        if isinstance(nc, numbers.Integral) and not isinstance(nc, bool):
            if not 0 <= nc <= min(n, d):
                raise ValueError(f"n_components={nc} must be between 0 and min(n_samples, n_features)="
                                 f"{min(n, d)}")
            return int(nc)
        if isinstance(nc, numbers.Real) and 0 < nc < 1:
            return float(nc)
        raise ValueError(f"n_components must be an int in [0, min(n_samples, n_features)], a float in "
                         f"(0, 1) or None, got {nc!r}")

    def fit(self, X, y=None):
        """Fit the components; returns self."""
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def _fit(self, X):
        t, kind, finite = validate_X(self, X, reset=True)
        n, d = t.shape
        k = self._check(n, d)
        solver = self.svd_solver
        if solver == "auto":
            if d <= 1000:
                solver = "covariance_eigh"
            elif isinstance(k, int) and k < 0.8 * min(n, d):
                solver = "randomized"
            else:
                solver = "full"
        if solver == "randomized" and not isinstance(k, int):
            raise ValueError("svd_solver='randomized' needs an integer n_components (it does not see the "
                             "whole spectrum); use svd_solver='full' or 'covariance_eigh'")
        if n < 2:
            raise ValueError(f"PCA needs at least 2 samples to estimate variances, got n_samples={n}")
        extra = [finite] if finite is not None else []
        if solver == "covariance_eigh":
            mean, gram, *ok = compute(t.mean(axis=0), t.T @ t, *extra)
            check_finite(ok[0] if ok else None)
            cov = (gram - n * np.outer(mean, mean)) / (n - 1)
            vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
            order = np.argsort(vals)[::-1]
            ev, comps = np.maximum(vals[order], 0.0)[:min(n, d)], vecs[:, order].T[:min(n, d)]
            total = float(np.maximum(np.diag(cov), 0).sum())
        elif solver == "full":
            from ..linalg import svd

            mean, *ok = compute(t.mean(axis=0), *extra)
            check_finite(ok[0] if ok else None)
            s, vt = compute(*svd(t - mean, full_matrices=False)[1:])
            ev, comps = s ** 2 / (n - 1), vt
            total = float(ev.sum())
        else:
            mean, var, *ok = compute(t.mean(axis=0), t.var(axis=0, ddof=1), *extra)
            check_finite(ok[0] if ok else None)
            rs = check_random_state(self.random_state)
            it = _n_iter(self.iterated_power, k, (n, d))
            vals, comps = _subspace(t, mean, k, self.n_oversamples, it, rs)
            ev, total = vals / (n - 1), float(var.sum())
        comps = _flip(comps)
        ratio = ev / total if total > 0 else np.zeros_like(ev)
        if isinstance(k, float):
            k = int(np.searchsorted(np.cumsum(ratio), k, side="right") + 1)
            k = min(k, len(ev))
        self.n_samples_, self.mean_ = n, np.asarray(mean, dtype=np.float64)
        self.n_components_ = k
        self.components_ = np.ascontiguousarray(comps[:k])
        self.explained_variance_ = ev[:k].copy()
        self.explained_variance_ratio_ = ratio[:k].copy()
        self.singular_values_ = np.sqrt(self.explained_variance_ * (n - 1))
        rest = min(n, d) - k
        if rest > 0:
            self.noise_variance_ = float(max(total - ev[:k].sum(), 0.0) / rest)
        else:
            self.noise_variance_ = 0.0
        return t, kind

    def transform(self, X):
        """Projection on the components (divided by their standard deviations when ``whiten``)."""
        check_fitted(self, "components_")
        t, kind, _ = validate_X(self, X, reset=False)
        W = self.components_.T
        if self.whiten:
            W = W / np.sqrt(np.maximum(self.explained_variance_, np.finfo(np.float64).tiny))
        return as_output(t @ W - self.mean_ @ W, kind)

    def get_covariance(self):
        """The data covariance of the probabilistic PCA model: ``W^T diag(ev - noise) W + noise * I``."""
        check_fitted(self, "components_")
        W = self.components_
        ev = self.explained_variance_
        if self.whiten:  # scikit-learn scales the (unit) components by the standard deviations here
            W = W * np.sqrt(ev)[:, None]
        gap = np.where(ev > self.noise_variance_, ev - self.noise_variance_, 0.0)
        cov = (W.T * gap) @ W
        cov[np.diag_indices_from(cov)] += self.noise_variance_
        return cov

    def get_precision(self):
        """The inverse of :meth:`get_covariance` (a d x d matrix on the client)."""
        return np.linalg.inv(self.get_covariance())

    def score_samples(self, X):
        """Log-likelihood of every row under the probabilistic PCA model (lazy for chunked input)."""
        check_fitted(self, "components_")
        t, kind, _ = validate_X(self, X, reset=False)
        prec = self.get_precision()
        _, logdet = np.linalg.slogdet(prec)
        r = t - self.mean_
        ll = -0.5 * ((r @ prec) * r).sum(axis=1) - 0.5 * (t.shape[1] * np.log(2 * np.pi) - logdet)
        return as_output(ll, kind)

    def score(self, X, y=None):
        """Average log-likelihood of the rows of ``X`` (a float)."""
        ll = self.score_samples(X)
        return float(np.mean(ll) if isinstance(ll, np.ndarray) else fetch(ll.mean()))

    def inverse_transform(self, X):
        """Back to feature space: ``X @ components_ + mean_`` (undoing whitening first)."""
        check_fitted(self, "components_")
        from .base import as_tensor_input

        t, kind = as_tensor_input(X)
        t = place(t, fit_device(self))
        if t.ndim != 2 or t.shape[1] != self.n_components_:
            raise ValueError(f"X has {t.shape[-1]} features, but {type(self).__name__}.inverse_transform "
                             f"expects {self.n_components_} (n_components_)")
        C = self.components_
        if self.whiten:
            C = np.sqrt(self.explained_variance_)[:, None] * C
        return as_output(t @ C + self.mean_, kind)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]


@register
class TruncatedSVD(ModelFileMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Truncated SVD of uncentered X (latent semantic analysis), as scikit-learn's.

    ``algorithm='randomized'`` (default): 1 + ``n_iter`` passes (subspace
    iteration on the feature side, see ``PCA``); ``algorithm='full'`` (or
    'arpack', scikit-learn's exact solver, which gives the same answer): one
    pass for the Gram matrix ``X^T X`` and ``eigh`` (for up to a few
    thousand features). ``explained_variance_`` is the variance of each
    column of ``transform(X)``, computed from the column means of X.
    ``device``: None (where the data is), 'cpu' or 'gpu'.
    """

    def __init__(self, n_components=2, *, algorithm="randomized", n_iter=5, n_oversamples=10,
                 random_state=None, tol=0.0, device=None):
        self.n_components = n_components
        self.algorithm = algorithm
        self.n_iter = n_iter
        self.n_oversamples = n_oversamples
        self.random_state = random_state
        self.tol = tol
        self.device = device

    def fit(self, X, y=None):
        """Fit the components; returns self."""
        t, kind, finite = validate_X(self, X, reset=True)
        n, d = t.shape
        k = self.n_components
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= d:
            raise ValueError(f"n_components must be an integer in [1, n_features={d}], got {k!r}")
        if self.algorithm not in ("randomized", "full", "arpack"):
            raise ValueError(f"algorithm must be 'randomized', 'arpack' or 'full', got {self.algorithm!r}")
        extra = [finite] if finite is not None else []
        if self.algorithm in ("full", "arpack"):  # exact: arpack's answer, from one Gram pass
            mean, var, gram, *ok = compute(t.mean(axis=0), t.var(axis=0), t.T @ t, *extra)
            check_finite(ok[0] if ok else None)
            vals, vecs = np.linalg.eigh((gram + gram.T) / 2)
            order = np.argsort(vals)[::-1][:k]
            vals, comps = np.maximum(vals[order], 0.0), vecs[:, order].T
        else:
            mean, var, *ok = compute(t.mean(axis=0), t.var(axis=0), *extra)
            check_finite(ok[0] if ok else None)
            it = _n_iter(self.n_iter, k, (n, d))
            vals, comps = _subspace(t, None, k, self.n_oversamples, it, check_random_state(self.random_state))
        self.components_ = _flip(comps)
        self.singular_values_ = np.sqrt(vals)
        proj_mean = self.components_ @ mean
        self.explained_variance_ = np.maximum(vals / n - proj_mean ** 2, 0.0)
        total = float(var.sum())
        self.explained_variance_ratio_ = self.explained_variance_ / total if total > 0 else \
            np.zeros_like(self.explained_variance_)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def transform(self, X):
        """``X @ components_.T``."""
        check_fitted(self, "components_")
        t, kind, _ = validate_X(self, X, reset=False)
        return as_output(t @ self.components_.T, kind)

    def inverse_transform(self, X):
        """``X @ components_``."""
        check_fitted(self, "components_")
        from .base import as_tensor_input

        t, kind = as_tensor_input(X)
        return as_output(place(t, fit_device(self)) @ self.components_, kind)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]
