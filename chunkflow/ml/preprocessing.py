"""Scalers, imputation and polynomial features, fitted in one pass (one-hot encoding: ``encoders.py``).

Every fitted statistic of a transformer comes from one run over the data:
``StandardScaler`` computes the row count, mean, variance and the per-column
NaN/inf check in the same pass (reductions over axis 0 of the same X fuse);
``MinMaxScaler`` min, max and the check; ``OneHotEncoder`` the distinct values
of every column. ``fit_stats``/``finish_fit`` split a scaler's ``fit`` into
"the lazy statistics" and "what to do with their values"; ``_from_moments``
and ``_affine`` let a ``Pipeline`` fit a run of scalers from one pass over
the raw columns (see ``pipeline.py``).

Transforms are lazy, fused elementwise maps for chunked input, so scaling
feeds the next stage without a pass of its own. Deviation from scikit-learn:
the scalers reject NaN/inf (scikit-learn's ignore NaN); impute first.
"""
from __future__ import annotations

import itertools
import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from ..core.tensor import Tensor
from .base import as_output, check_finite, check_fitted, validate_X
from .device import fetch
from .persist import ModelFileMixin, register

__all__ = ["StandardScaler", "MinMaxScaler", "MaxAbsScaler", "SimpleImputer", "PolynomialFeatures"]

_EPS = np.finfo(np.float64).eps


def _is_constant(var, mean, n):
    """Features whose variance is zero up to rounding (scikit-learn's ``_is_constant_feature``)."""
    return var <= n * _EPS * var + (n * mean * _EPS) ** 2


def _safe_scale(scale, constant=None):
    """``scale`` with zero (or ``constant``) entries replaced by 1, so dividing keeps those columns."""
    scale = np.array(scale, dtype=np.float64, copy=True)
    mask = scale < 10 * _EPS if constant is None else constant
    scale[mask] = 1.0
    return scale


def _compute(*tensors):
    from .device import compute

    return compute(*tensors)  # NumPy values, also for GPU chunks


class _OnePassTransformer(TransformerMixin, BaseEstimator):
    """``fit`` = lazy statistics (:meth:`fit_stats`) + one compute + :meth:`finish_fit`."""

    _allow_nan = False

    def fit(self, X, y=None):
        """Learn the statistics of ``X`` in one pass; returns self."""
        self._check_params()
        t, kind, finite = validate_X(self, X, reset=True, allow_nan=self._allow_nan)
        stats = self.fit_stats(t)
        values = _compute(*stats, *( [finite] if finite is not None else []))
        if finite is not None:
            check_finite(values[-1])
            values = values[:-1]
        return self.finish_fit(t.shape[0], values)

    def _check_params(self):
        pass

    def _input(self, X):
        check_fitted(self, self._fitted_attr)
        t, kind, _ = validate_X(self, X, reset=False, allow_nan=self._allow_nan)
        return t, kind

    def transform(self, X):
        """``X`` transformed: ndarray for ndarray input, lazy otherwise."""
        t, kind = self._input(X)
        return as_output(self._transform(t), kind)

    def inverse_transform(self, X):
        """``X`` mapped back to the original feature space."""
        t, kind = self._input(X)
        return as_output(self._inverse(t), kind)


@register
class StandardScaler(ModelFileMixin, OneToOneFeatureMixin, _OnePassTransformer):
    """Standardize features to zero mean and unit variance: ``(x - mean_) / scale_``.

    mean_, var_ and n_samples_seen_ come from one pass (with the finite check);
    ``scale_`` is ``sqrt(var_)`` with constant features given scale 1, as in
    scikit-learn. ``device``: None (where the data is), 'cpu' or 'gpu' (the
    data is moved there; the statistics are NumPy), as for every scaler here.
    """

    _fitted_attr = "n_samples_seen_"

    def __init__(self, *, copy=True, with_mean=True, with_std=True, device=None):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std
        self.device = device

    def fit_stats(self, t):
        return (t.mean(axis=0), t.var(axis=0))

    def finish_fit(self, n, values):
        mean, var = (np.asarray(v, dtype=np.float64) for v in values)
        self.n_samples_seen_ = int(n)
        self.mean_ = mean if (self.with_mean or self.with_std) else None
        self.var_ = var if self.with_std else None
        self.scale_ = _safe_scale(np.sqrt(var), _is_constant(var, mean, n)) if self.with_std else None
        return self

    def _from_moments(self, n, mean, var, lo, hi):
        return self.finish_fit(n, (mean, var))

    def _affine(self):
        """``(a, b)`` with ``transform(x) = a * x + b`` per column."""
        d = self.n_features_in_
        a = 1.0 / self.scale_ if self.with_std else np.ones(d)
        b = -self.mean_ * a if self.with_mean else np.zeros(d)
        return a, b

    def _transform(self, t):
        if self.with_mean:
            t = t - self.mean_
        if self.with_std:
            t = t / self.scale_
        return t

    def _inverse(self, t):
        if self.with_std:
            t = t * self.scale_
        if self.with_mean:
            t = t + self.mean_
        return t


@register
class MinMaxScaler(ModelFileMixin, OneToOneFeatureMixin, _OnePassTransformer):
    """Scale each feature to ``feature_range`` from its min and max (one pass)."""

    _fitted_attr = "scale_"

    def __init__(self, feature_range=(0, 1), *, copy=True, clip=False, device=None):
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip
        self.device = device

    def _check_params(self):
        fr = self.feature_range
        if not (isinstance(fr, (tuple, list)) and len(fr) == 2 and fr[0] < fr[1]):
            raise ValueError(f"feature_range must be a pair (min, max) with min < max, got {fr!r}")

    def fit_stats(self, t):
        return (t.min(axis=0), t.max(axis=0))

    def _from_moments(self, n, mean, var, lo, hi):
        return self.finish_fit(n, (lo, hi))

    def _affine(self):
        return self.scale_, self.min_

    def finish_fit(self, n, values):
        lo, hi = (np.asarray(v, dtype=np.float64) for v in values)
        a, b = self.feature_range
        self.n_samples_seen_ = int(n)
        self.data_min_, self.data_max_, self.data_range_ = lo, hi, hi - lo
        self.scale_ = (b - a) / _safe_scale(self.data_range_)
        self.min_ = a - lo * self.scale_
        return self

    def _transform(self, t):
        out = t * self.scale_ + self.min_
        if self.clip:
            from ..core.elementwise import clip
            out = clip(out, self.feature_range[0], self.feature_range[1])
        return out

    def _inverse(self, t):
        return (t - self.min_) / self.scale_


@register
class MaxAbsScaler(ModelFileMixin, OneToOneFeatureMixin, _OnePassTransformer):
    """Scale each feature by its maximum absolute value (one pass)."""

    _fitted_attr = "scale_"

    def __init__(self, *, copy=True, device=None):
        self.copy = copy
        self.device = device

    def fit_stats(self, t):
        return (abs(t).max(axis=0),)

    def _from_moments(self, n, mean, var, lo, hi):
        return self.finish_fit(n, (np.maximum(np.abs(lo), np.abs(hi)),))

    def _affine(self):
        return 1.0 / self.scale_, np.zeros_like(self.scale_)

    def finish_fit(self, n, values):
        self.n_samples_seen_ = int(n)
        self.max_abs_ = np.asarray(values[0], dtype=np.float64)
        self.scale_ = _safe_scale(self.max_abs_)
        return self

    def _transform(self, t):
        return t / self.scale_

    def _inverse(self, t):
        return t * self.scale_


@register
class SimpleImputer(ModelFileMixin, _OnePassTransformer):
    """Replace missing values by a per-column statistic: mean, median, most_frequent or constant.

    mean and constant are one chunked pass. ``median`` needs a sort of every
    column and ``most_frequent`` the distinct values of every column: both
    are exact. For chunked input ``median`` gathers whole columns (as many
    at a time as fit in a quarter of the memory budget, one pass per group;
    a column must fit in memory) and ``most_frequent`` counts distinct
    values per column (one run; fine for low-cardinality columns). Columns that are all missing are dropped, as
    in scikit-learn, unless ``keep_empty_features`` (then they become 0).
    """

    _allow_nan = True
    _fitted_attr = "statistics_"
    _STRATEGIES = ("mean", "median", "most_frequent", "constant")

    def __init__(self, *, missing_values=np.nan, strategy="mean", fill_value=None, copy=True,
                 keep_empty_features=False):
        self.missing_values = missing_values
        self.strategy = strategy
        self.fill_value = fill_value
        self.copy = copy
        self.keep_empty_features = keep_empty_features

    def _check_params(self):
        if self.strategy not in self._STRATEGIES:
            raise ValueError(f"strategy must be one of {self._STRATEGIES}, got {self.strategy!r}")
        mv = self.missing_values
        if not (mv is None or isinstance(mv, numbers.Number)):
            raise ValueError(f"missing_values must be a number or np.nan, got {mv!r}")

    def _missing(self, t):
        from ..core.elementwise import UFUNCS

        mv = self.missing_values
        isnan = UFUNCS["isnan"] if isinstance(t, Tensor) else np.isnan
        if mv is None or (isinstance(mv, float) and np.isnan(mv)):
            return isnan(t)
        return t == mv

    def fit(self, X, y=None):
        """Learn the fill value of every column; returns self."""
        from ..core.array_api import unique_counts
        from ..core.elementwise import where

        self._check_params()
        t, kind, _ = validate_X(self, X, reset=True, allow_nan=True)
        miss = self._missing(t)
        present = (~miss).sum(axis=0)
        if self.strategy == "constant":
            fill = 0.0 if self.fill_value is None else self.fill_value
            if not isinstance(fill, numbers.Number):
                raise ValueError(f"fill_value must be a number for numeric data, got {fill!r}")
            self.statistics_ = np.full(t.shape[1], float(fill))
            return self
        if kind == "numpy":  # exact, in memory
            a = np.asarray(fetch(t))
            self.statistics_ = self._column_stat(a, np.asarray(self._missing(a)))
            return self
        if self.strategy == "median":
            self.statistics_ = self._chunked_median(t, miss)
            return self
        if self.strategy == "mean":
            n, total = _compute(present, where(miss, 0.0, t).sum(axis=0))
            with np.errstate(invalid="ignore", divide="ignore"):
                self.statistics_ = np.where(n > 0, np.asarray(total, dtype=np.float64) / np.maximum(n, 1), np.nan)
            return self
        # most_frequent: distinct values and counts of every column, in one run
        uc = _compute(*(x for j in range(t.shape[1]) for x in unique_counts(t[:, j])))
        stats = np.full(t.shape[1], np.nan)
        for j in range(t.shape[1]):
            vals, counts = np.asarray(uc[2 * j]), np.asarray(uc[2 * j + 1])
            keep = ~np.asarray(self._missing(vals)) & ~np.isnan(vals)
            if keep.any():
                vals, counts = vals[keep], counts[keep]
                stats[j] = vals[np.argmax(counts)]  # sorted: the smallest of the most frequent
        self.statistics_ = stats
        return self

    def _chunked_median(self, t, miss):
        """Exact per-column medians of the present values: each column gathered whole, a group at a time.

        As many columns as fit in a quarter of the memory budget are sorted
        together (one pass over X per group).
        """
        import warnings

        from ..config import memory_budget
        from ..core.elementwise import where
        from ..core.numpy_compat import nanmedian

        n, d = t.shape
        per_group = max(1, int(memory_budget() // 4 // max(8 * n, 1)))
        vals = where(miss, np.nan, t)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: NaN, dropped as in fit
            for lo in range(0, d, per_group):
                out.append(np.atleast_1d(np.asarray(fetch(nanmedian(vals[:, lo:lo + per_group], axis=0)))))
        return np.concatenate(out).astype(np.float64)

    def _column_stat(self, a, miss):
        out = np.full(a.shape[1], np.nan)
        for j in range(a.shape[1]):
            col = a[~miss[:, j], j]
            if col.size == 0:
                continue
            if self.strategy == "mean":
                out[j] = col.mean()
            elif self.strategy == "median":
                out[j] = np.median(col)
            else:  # the smallest of the most frequent values, as scikit-learn
                vals, counts = np.unique(col, return_counts=True)
                out[j] = vals[np.argmax(counts)]
        return out

    def transform(self, X):
        """``X`` with missing values filled (all-missing columns dropped unless keep_empty_features)."""
        from ..core.elementwise import where

        check_fitted(self, "statistics_")
        t, kind, _ = validate_X(self, X, reset=False, allow_nan=True)
        stats = self.statistics_
        empty = np.isnan(stats)
        fill = np.where(empty, 0.0, stats)
        out = where(self._missing(t), fill, t)
        if empty.any() and not self.keep_empty_features:
            out = out[:, np.flatnonzero(~empty)]
        return as_output(out, kind)

    def get_feature_names_out(self, input_features=None):
        from sklearn.utils.validation import _check_feature_names_in

        names = _check_feature_names_in(self, input_features)
        if self.keep_empty_features:
            return names
        return names[~np.isnan(self.statistics_)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


@register
class PolynomialFeatures(ModelFileMixin, TransformerMixin, BaseEstimator):
    """All products of features up to ``degree`` (``powers_`` rows, scikit-learn's column order).

    Fitting reads nothing but the feature count; the transform is one lazy
    elementwise map per chunk (``prod(x ** powers_)``).
    """

    def __init__(self, degree=2, *, interaction_only=False, include_bias=True):
        self.degree = degree
        self.interaction_only = interaction_only
        self.include_bias = include_bias

    def fit(self, X, y=None):
        """Record the feature count and the exponent table ``powers_``; returns self."""
        if isinstance(self.degree, bool) or not isinstance(self.degree, numbers.Integral) or self.degree < 0:
            raise ValueError(f"degree must be a non-negative integer, got {self.degree!r}")
        t, kind, finite = validate_X(self, X, reset=True, allow_nan=True)
        d = t.shape[1]
        combos = itertools.combinations if self.interaction_only else itertools.combinations_with_replacement
        rows = []
        for deg in range(0 if self.include_bias else 1, self.degree + 1):
            for c in combos(range(d), deg):
                rows.append(np.bincount(np.asarray(c, dtype=np.intp), minlength=d))
        if not rows:
            raise ValueError("PolynomialFeatures with degree=0 and include_bias=False makes no features")
        self.powers_ = np.asarray(rows, dtype=np.int64).reshape(len(rows), d)
        self.n_output_features_ = len(rows)
        return self

    def transform(self, X):
        """The polynomial features of ``X``: shape (n_samples, n_output_features_)."""
        check_fitted(self, "powers_")
        t, kind, _ = validate_X(self, X, reset=False, allow_nan=True)
        if kind == "numpy":
            a = np.asarray(fetch(t))
            return np.prod(a[:, None, :] ** self.powers_[None], axis=2)
        cols = []
        for p in self.powers_:
            nz = np.flatnonzero(p)
            if nz.size == 0:
                cols.append(t[:, :1] * 0.0 + 1.0)
                continue
            col = None
            for j in nz:
                term = t[:, j:j + 1] ** int(p[j]) if p[j] > 1 else t[:, j:j + 1]
                col = term if col is None else col * term
            cols.append(col)
        from ..core.manipulation import concatenate

        return as_output(concatenate(cols, axis=1), kind)

    def get_feature_names_out(self, input_features=None):
        from sklearn.utils.validation import _check_feature_names_in

        names = _check_feature_names_in(self, input_features)
        out = []
        for p in self.powers_:
            terms = [f"{names[j]}^{e}" if e > 1 else names[j] for j, e in enumerate(p) if e]
            out.append(" ".join(terms) if terms else "1")
        return np.asarray(out, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # products carry NaN through, as scikit-learn's
        return tags
