"""Gaussian naive Bayes fitted in one pass over X.

``fit`` finds the classes (the distinct values of ``y``: a pass over the
label vector only), then ONE pass over X computes, per chunk, the one-hot
class matrix ``Y`` and the contractions ``Y^T X`` and ``Y^T X^2`` (per-class
sums and sums of squares), the class counts, the column variances (for
``var_smoothing``, as scikit-learn: ``epsilon_ = var_smoothing * max var``)
and the NaN/inf check, all tree-summed together. X is shifted by its first
row before squaring, which keeps the per-class variances accurate when the
means are large compared with the spread.

Predictions are matrix products per chunk: the joint log-likelihood is
``log prior - 1/2 sum log(2 pi var) - 1/2 (X^2 @ (1/var)^T - 2 X @ (theta/var)^T + sum theta^2/var)``.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ..core.reductions import argmax, logsumexp
from ..core.elementwise import UFUNCS
from .base import as_output, as_tensor_input, check_finite, check_fitted, input_kind, validate_X, validate_y
from .device import compute, fetch, place
from .persist import ModelFileMixin, register

__all__ = ["GaussianNB"]


@register
class GaussianNB(ModelFileMixin, ClassifierMixin, BaseEstimator):
    """Gaussian naive Bayes (scikit-learn's parameters and attributes).

    Attributes: ``classes_``, ``class_count_``, ``class_prior_``, ``theta_``
    (per-class means), ``var_`` (per-class variances + ``epsilon_``),
    ``epsilon_``, ``n_features_in_``. ``device``: None (where the data is),
    'cpu' or 'gpu' (X is moved there; the attributes are NumPy).
    """

    def __init__(self, *, priors=None, var_smoothing=1e-9, device=None):
        self.priors = priors
        self.var_smoothing = var_smoothing
        self.device = device

    def fit(self, X, y, sample_weight=None):
        """Fit per-class (weighted) means and variances in one pass over X; returns self."""
        if not (isinstance(self.var_smoothing, (int, float)) and not isinstance(self.var_smoothing, bool)
                and self.var_smoothing >= 0):
            raise ValueError(f"var_smoothing must be a number >= 0, got {self.var_smoothing!r}")
        if input_kind(X) == "numpy" and input_kind(y) == "numpy":
            from sklearn.utils.multiclass import check_classification_targets
            from sklearn.utils.validation import validate_data

            Xa, ya = validate_data(self, X, y, ensure_all_finite=False, dtype=np.float64)
            check_classification_targets(ya)
            check_finite(np.isfinite(Xa).all(axis=0))
            t, _, finite = validate_X(self, Xa, reset=False)
            if sample_weight is not None:  # scikit-learn's checks: shape, finite, >= 0, not all zero
                from sklearn.utils.validation import _check_sample_weight

                sample_weight = _check_sample_weight(sample_weight, Xa, dtype=np.float64, ensure_non_negative=True)
            classes, codes = np.unique(ya, return_inverse=True)  # labels of any dtype, as codes
            yt, _ = validate_y(codes.reshape(-1), t.shape[0])
            labels = np.arange(len(classes))
        else:
            t, _, finite = validate_X(self, X, reset=True)
            yt, _ = validate_y(y, t.shape[0])
            from ..core.array_api import unique_values

            classes = np.asarray(compute(unique_values(yt))[0])
            labels = classes
        if yt.chunks[0] != t.chunks[0]:
            yt = yt.rechunk((t.chunks[0],))
        if yt.dtype.kind in "biuf":  # numeric labels go where X is (string labels: their one-hot matrix)
            yt = place(yt, t.device)
        k = len(classes)
        onehot = place((yt[:, None] == labels[None, :]).astype(np.float64), t.device)
        if sample_weight is not None:  # weighted counts and moments; epsilon_ stays unweighted, as scikit-learn
            sw, _ = as_tensor_input(sample_weight, name="sample_weight")
            sw = place(sw, t.device)
            if sw.shape != (t.shape[0],):
                raise ValueError(f"sample_weight must have shape ({t.shape[0]},), got {sw.shape}")
            onehot = onehot * (sw if sw.chunks[0] == t.chunks[0] else sw.rechunk((t.chunks[0],)))[:, None]
        xs = t - t[:1]  # shifted by the first row: variances do not change, rounding shrinks
        outs = [onehot.sum(axis=0), onehot.T @ xs, onehot.T @ (xs * xs), t.var(axis=0), t[0]]
        counts, s1, s2, var_all, shift, *ok = compute(*outs, *([finite] if finite is not None else []))
        check_finite(ok[0] if ok else None)
        if sample_weight is not None and not counts.sum() > 0:
            raise ValueError(f"Sample weights must sum to a positive number, got {counts.sum()}")
        n_c = np.where(counts > 0, counts, 1.0)[:, None]
        mean_s = s1 / n_c
        var = np.maximum(s2 / n_c - mean_s ** 2, 0.0)
        self.epsilon_ = float(self.var_smoothing * np.max(var_all)) if var_all.size else 0.0
        self.classes_ = classes
        self.class_count_ = np.asarray(counts, dtype=np.float64)
        self.theta_ = mean_s + shift[None, :]
        self.var_ = var + self.epsilon_
        if self.priors is not None:
            priors = np.asarray(self.priors, dtype=np.float64)
            if len(priors) != k:
                raise ValueError(f"Number of priors must match number of classes: {len(priors)} priors for "
                                 f"{k} classes")
            if not np.isclose(priors.sum(), 1.0):
                raise ValueError(f"The sum of the priors should be 1, got {priors.sum()}")
            if (priors < 0).any():
                raise ValueError("Priors must be non-negative.")
            self.class_prior_ = priors
        else:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()
        return self

    def _jll(self, t):
        """Lazy joint log-likelihood, shape (n_samples, n_classes)."""
        inv = 1.0 / self.var_
        const = (np.log(self.class_prior_) - 0.5 * np.log(2 * np.pi * self.var_).sum(axis=1)
                 - 0.5 * (self.theta_ ** 2 * inv).sum(axis=1))
        return const - 0.5 * ((t * t) @ inv.T) + t @ (self.theta_ * inv).T

    def _input(self, X):
        check_fitted(self, "classes_")
        t, kind, _ = validate_X(self, X, reset=False)
        return t, kind

    def predict_joint_log_proba(self, X):
        """Joint log-likelihood ``log P(x, c)`` per class."""
        t, kind = self._input(X)
        return as_output(self._jll(t), kind)

    def predict_log_proba(self, X):
        """Log posterior probabilities, shape (n_samples, n_classes), in ``classes_`` order."""
        t, kind = self._input(X)
        jll = self._jll(t)
        return as_output(jll - logsumexp(jll, axis=1, keepdims=True), kind)

    def predict_proba(self, X):
        """Posterior probabilities, shape (n_samples, n_classes)."""
        t, kind = self._input(X)
        jll = self._jll(t)
        return as_output(UFUNCS["exp"](jll - logsumexp(jll, axis=1, keepdims=True)), kind)

    def predict(self, X):
        """The most probable class of every row."""
        t, kind = self._input(X)
        idx = argmax(self._jll(t), axis=1)
        if kind == "numpy":
            return self.classes_[np.asarray(fetch(idx))]
        import chunkflow as cf

        return as_output(cf.take(cf.asarray(self.classes_), idx), kind)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (a float)."""
        from .metrics import accuracy_score

        if input_kind(X) == "numpy" and input_kind(y) == "numpy":
            return super().score(X, y, sample_weight=sample_weight)
        v = accuracy_score(y, self.predict(X), sample_weight=sample_weight)
        return float(np.asarray(fetch(v)))
