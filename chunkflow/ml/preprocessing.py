"""Scalers, imputation, one-hot encoding and polynomial features, fitted in one pass.

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
from .persist import ModelFileMixin, register

__all__ = ["StandardScaler", "MinMaxScaler", "MaxAbsScaler", "SimpleImputer", "OneHotEncoder",
           "PolynomialFeatures"]

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
    from ..runtime import compute

    return compute(*tensors)


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
    scikit-learn.
    """

    _fitted_attr = "n_samples_seen_"

    def __init__(self, *, copy=True, with_mean=True, with_std=True):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std

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

    def __init__(self, feature_range=(0, 1), *, copy=True, clip=False):
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip

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

    def __init__(self, *, copy=True):
        self.copy = copy

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
            a = np.asarray(t.compute())
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
                out.append(np.atleast_1d(np.asarray(nanmedian(vals[:, lo:lo + per_group], axis=0).compute())))
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
class OneHotEncoder(ModelFileMixin, _OnePassTransformer):
    """Encode each (integer or string) column as one indicator column per category.

    Categories are the sorted distinct values of every column, found in one
    run (``unique`` over chunks) for chunked input. A ``chunkflow.Frame`` is
    read column by column with each column's own dtype (string, categorical
    and integer columns mixed), and its transform has the Frame's row chunks.
    Only dense output (``sparse_output=False``, the default here, unlike
    scikit-learn) is produced: a chunked sparse format is not part of
    chunkflow. ``drop``: None, 'first', 'if_binary' or one category per
    column, as scikit-learn (``drop_idx_``). ``handle_unknown='ignore'``
    encodes unseen values as all zeros; ``'error'`` raises ValueError — at
    ``transform`` for NumPy input, when the output is computed for chunked
    input.
    """

    _fitted_attr = "categories_"

    def __init__(self, *, categories="auto", drop=None, handle_unknown="error", sparse_output=False,
                 dtype=np.float64):
        self.categories = categories
        self.drop = drop
        self.handle_unknown = handle_unknown
        self.sparse_output = sparse_output
        self.dtype = dtype

    def _check_params(self):
        if self.sparse_output:
            raise ValueError("OneHotEncoder(sparse_output=True) is not supported: chunkflow produces dense "
                             "indicator columns only; pass sparse_output=False")
        if self.handle_unknown not in ("error", "ignore"):
            raise ValueError(f"handle_unknown must be 'error' or 'ignore', got {self.handle_unknown!r}")
        if isinstance(self.drop, str) and self.drop not in ("first", "if_binary"):
            raise ValueError(f"drop must be None, 'first', 'if_binary' or one category per feature, "
                             f"got {self.drop!r}")

    def _validate(self, X, reset):
        from .base import check_feature_count, check_feature_names, input_kind

        kind = input_kind(X)
        if kind == "numpy":
            from sklearn.utils.validation import validate_data

            arr = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False)
            if arr.dtype.kind == "f":
                check_finite(np.isfinite(arr).all(axis=0))
            return arr, "numpy"
        if kind == "frame":  # column by column, each with its own dtype (strings included)
            if reset:
                self.n_features_in_ = len(X.columns)
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
            else:
                check_feature_names(self, X)
                check_feature_count(self, len(X.columns))
            return X, kind
        # the NaN check rides on the categories (fit) and the unknown-category check (transform)
        t, kind, _ = validate_X(self, X, reset=reset, dtype=None, allow_nan=True)
        return t, kind

    def fit(self, X, y=None):
        """Learn the categories of every column; returns self."""
        from ..core.array_api import unique_values

        self._check_params()
        x, kind = self._validate(X, reset=True)
        if self.categories != "auto":
            if len(self.categories) != self.n_features_in_:
                raise ValueError(f"categories has {len(self.categories)} lists for {self.n_features_in_} columns")
            self.categories_ = [np.asarray(c) for c in self.categories]
            if self.handle_unknown == "error":
                seen = self._distinct(x, kind, unique_values)
                for j, c in enumerate(self.categories_):
                    extra = np.setdiff1d(seen[j], c)
                    if extra.size:
                        raise ValueError(f"Found unknown categories {extra.tolist()} in column {j} during fit")
            self.drop_idx_ = self._drop_idx()
            return self
        cats = self._distinct(x, kind, unique_values)
        for j, c in enumerate(cats):
            if (c.dtype.kind == "f" and np.isnan(c).any()) or (c.dtype == object and any(v is None for v in c)):
                raise ValueError(f"Input X contains NaN in column {j}; impute it first")
        self.categories_ = [np.asarray(c) for c in cats]
        self.drop_idx_ = self._drop_idx()
        return self

    def _distinct(self, x, kind, unique_values):
        """The sorted distinct values of every column (one run for chunked input)."""
        if kind == "numpy":
            return [np.unique(x[:, j]) for j in range(x.shape[1])]
        if kind == "frame":
            import dask

            from ..runtime import get_scheduler

            ddf = x.to_dask()
            found = dask.compute(*(ddf[c].unique() for c in x.columns), scheduler=get_scheduler())
            out = []
            for u in found:
                vals = np.asarray(u.to_numpy() if hasattr(u, "to_numpy") else u)
                if vals.dtype == object and all(isinstance(v, str) for v in vals):
                    vals = vals.astype(str)
                if vals.dtype == object and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in vals):
                    return [np.asarray([None])] * len(found)  # reported as NaN by the caller
                out.append(np.unique(vals))
            return out
        return [np.asarray(c) for c in _compute(*(unique_values(x[:, j]) for j in range(x.shape[1])))]

    def _drop_idx(self):
        """scikit-learn's ``drop_idx_``: None, or per feature the index of the dropped category."""
        drop = self.drop
        if drop is None:
            return None
        k = len(self.categories_)
        if isinstance(drop, str):
            if drop == "first":
                return np.zeros(k, dtype=np.int64)
            idx = [0 if len(c) == 2 else None for c in self.categories_]
            return np.asarray(idx, dtype=np.int64) if None not in idx else np.asarray(idx, dtype=object)
        drop = list(drop)
        if len(drop) != k:
            raise ValueError(f"drop has {len(drop)} values for {k} features; give one per feature")
        idx = []
        for j, (value, cats) in enumerate(zip(drop, self.categories_)):
            if value is None:
                idx.append(None)
                continue
            hit = np.flatnonzero(cats == np.asarray(value, dtype=cats.dtype if cats.dtype != object else None))
            if hit.size == 0:
                raise ValueError(f"The following categories were supposed to be dropped, but were not found in "
                                 f"the training data: feature {j} has no category {value!r}")
            idx.append(int(hit[0]))
        return np.asarray(idx, dtype=np.int64) if None not in idx else np.asarray(idx, dtype=object)

    def _dropped(self, j):
        idx = getattr(self, "drop_idx_", None)
        return None if idx is None or idx[j] is None else int(idx[j])

    def _encode_block(self, block):
        out = []
        for j, cats in enumerate(self.categories_):
            col = block[:, j]
            if col.dtype == object and cats.dtype.kind in "biuf":
                col = col.astype(cats.dtype)
            hit = col[:, None] == cats[None, :]
            if self.handle_unknown == "error":
                unknown = ~hit.any(axis=1)
                if unknown.any():
                    raise ValueError(f"Found unknown categories {np.unique(col[unknown]).tolist()[:10]} in "
                                     f"column {j} during transform")
            d = self._dropped(j)
            out.append(hit if d is None else np.delete(hit, d, axis=1))
        return np.concatenate(out, axis=1).astype(self.dtype) if out else np.zeros((len(block), 0), self.dtype)

    def transform(self, X):
        """One indicator column per (column, category), in ``categories_`` order (less dropped ones)."""
        from ..core.creation import from_dask

        check_fitted(self, "categories_")
        x, kind = self._validate(X, reset=False)
        if kind == "numpy":
            return self._encode_block(np.asarray(x))
        width = sum(len(c) - (self._dropped(j) is not None) for j, c in enumerate(self.categories_))
        if kind == "frame":
            d = x.to_dask().to_dask_array(lengths=list(x.count_rows()))
        else:
            d = x.to_dask()
        out = d.map_blocks(self._encode_block, chunks=(d.chunks[0], (width,)), dtype=np.dtype(self.dtype))
        return as_output(from_dask(out), "tensor" if kind == "frame" else kind)

    def inverse_transform(self, X):
        """The category of the hot column of each block (computed on the client)."""
        check_fitted(self, "categories_")
        a = np.asarray(X.compute() if hasattr(X, "compute") else X)
        cols, start = [], 0
        for j, cats in enumerate(self.categories_):
            d = self._dropped(j)
            width = len(cats) - (d is not None)
            block = a[:, start:start + width]
            if d is None:
                cols.append(cats[np.argmax(block, axis=1)])
            else:
                kept = np.delete(cats, d)
                hot = block.max(axis=1) > 0 if width else np.zeros(len(a), bool)
                cols.append(np.where(hot, kept[np.argmax(block, axis=1)] if width else cats[d], cats[d]))
            start += width
        return np.stack(cols, axis=1) if cols else np.zeros((len(a), 0))

    def get_feature_names_out(self, input_features=None):
        from sklearn.utils.validation import _check_feature_names_in

        names = _check_feature_names_in(self, input_features)
        out = []
        for j, (n, cats) in enumerate(zip(names, self.categories_)):
            d = self._dropped(j)
            out.extend(f"{n}_{c}" for i, c in enumerate(cats) if i != d)
        return np.asarray(out, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
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
            a = np.asarray(t.compute())
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
