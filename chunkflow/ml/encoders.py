"""``OneHotEncoder``: categories of every column learned in one pass, lazy one-hot blocks.

The distinct values of all columns come from one run over the data (each
chunk's uniques, merged); a Frame's columns are read with their own dtypes,
so string and categorical columns need no encoding first. ``transform`` maps
each block to its indicator columns (fused with what follows for chunked
input); ``drop`` and ``handle_unknown`` follow scikit-learn.
"""
from __future__ import annotations

import numpy as np

from .base import as_output, check_finite, check_fitted, validate_X
from .persist import ModelFileMixin, register
from .preprocessing import _compute, _OnePassTransformer

__all__ = ["OneHotEncoder"]


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
