"""``VectorAssembler``: numeric columns of a table as one float feature matrix (Spark MLlib's name).

It is the one way into the estimators from a table: the first stage of a
``Pipeline`` fed a ``chunkflow.frame.Frame`` (or a pandas DataFrame), so
``Pipeline([("assemble", VectorAssembler(["a", "b"])), ("scale",
StandardScaler()), ("clf", LogisticRegression())]).fit(frame, y)`` reads only
the named columns (Frame column projection) and hands a 2-D float64 Tensor
to the next stage. The label stays a separate ``y`` (a Tensor, e.g.
``frame["label"].to_tensor()``), as scikit-learn's ``fit(X, y)`` wants.

``handle_invalid`` (missing values: NaN, or pandas' NA) as Spark's:
``"error"`` raises, naming the column (for a Frame, when the chunk holding
it is computed: the values are not known before), ``"keep"`` leaves NaN in
the output (for a ``SimpleImputer`` stage), ``"skip"`` drops the rows (a
Frame then needs a counting pass so the output's row chunks are known;
dropping rows from X but not from y would misalign them, so ``fit`` with a
``y`` refuses ``"skip"``).
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .base import check_fitted, input_kind
from .persist import ModelFileMixin, register

__all__ = ["VectorAssembler"]

_HANDLE = ("error", "skip", "keep")


def _raise_invalid(block, cols):
    bad = np.isnan(block).any(axis=0)
    if bad.any():
        names = [c for c, b in zip(cols, bad) if b]
        raise ValueError(f"column(s) {names} contain missing values (NaN/NA); use VectorAssembler("
                         f"handle_invalid='skip') to drop those rows, or 'keep' and impute them "
                         f"(chunkflow.ml.SimpleImputer)")
    return block


def _valid_rows(block):
    return block[~np.isnan(block).any(axis=1)]


def _count_valid(block):
    return np.array([np.count_nonzero(~np.isnan(block).any(axis=1))])


@register
class VectorAssembler(ModelFileMixin, TransformerMixin, BaseEstimator):
    """Select numeric columns of a Frame / pandas DataFrame as a 2-D float64 matrix (see module docstring).

    ``input_cols``: the column names, in output order (None: every column).
    ``transform`` gives a lazy Tensor for a Frame and an ndarray for a pandas
    DataFrame.
    """

    def __init__(self, input_cols=None, *, handle_invalid="error"):
        self.input_cols = input_cols
        self.handle_invalid = handle_invalid

    def _cols(self, X):
        """The checked column names of ``X`` this assembler takes."""
        from ..frame.frame import check_columns

        if self.handle_invalid not in _HANDLE:
            raise ValueError(f"handle_invalid must be one of {list(_HANDLE)}, got {self.handle_invalid!r}")
        is_pandas = hasattr(X, "iloc") and hasattr(X, "columns")
        if not is_pandas and input_kind(X) != "frame":
            raise TypeError(f"VectorAssembler selects columns of a chunkflow Frame or a pandas DataFrame, got "
                            f"{type(X).__name__}; an array already is a feature matrix (leave this stage out)")
        available = [str(c) for c in X.columns]
        if self.input_cols is None:
            cols = available
        else:
            cols = check_columns(list(self.input_cols) if isinstance(self.input_cols, tuple) else self.input_cols,
                                 available, where="the table")
        if not cols:
            raise ValueError("VectorAssembler needs at least one input column; the table has none")
        import pandas as pd

        dtypes = X.dtypes
        for c in cols:
            t = dtypes[c]
            if isinstance(t, pd.CategoricalDtype) or not (pd.api.types.is_numeric_dtype(t)
                                                          or pd.api.types.is_bool_dtype(t)):
                raise TypeError(f"column {c!r} has dtype {t} and is not numeric; encode it first: "
                                f"frame.get_dummies([{c!r}]) gives one-hot columns (or chunkflow.ml.OneHotEncoder "
                                f"on its codes from frame.categorize / pandas.factorize), or leave it out of "
                                f"input_cols")
        return cols

    def fit(self, X, y=None):
        """Check the columns of ``X`` (nothing is read); returns self."""
        cols = self._cols(X)
        if self.handle_invalid == "skip" and y is not None:
            raise ValueError("handle_invalid='skip' drops rows of X, which would no longer line up with y; drop "
                             "the rows with missing values from the table (X and label) first, or use 'keep' "
                             "with a SimpleImputer stage")
        self.input_cols_ = list(cols)
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X):
        """The selected columns as float64: a lazy 2-D Tensor for a Frame, an ndarray for a pandas DataFrame."""
        check_fitted(self, "input_cols_")
        cols = self._cols(X)
        if cols != self.input_cols_:
            raise ValueError(f"X has columns {cols}, but this VectorAssembler was fitted on {self.input_cols_}")
        if hasattr(X, "iloc"):
            arr = X[cols].to_numpy(dtype=np.float64, na_value=np.nan)
            if self.handle_invalid == "error":
                return _raise_invalid(arr, cols)
            return _valid_rows(arr) if self.handle_invalid == "skip" else arr
        from ..core.creation import from_dask
        from ..runtime import compute

        t = X.to_tensor(cols, dtype=np.float64)
        if t.ndim == 1:
            t = t.reshape((t.shape[0], 1))
        if self.handle_invalid == "keep":
            return t
        d = t.to_dask().rechunk({1: -1})
        if self.handle_invalid == "error":
            return from_dask(d.map_blocks(_raise_invalid, cols=cols, dtype=np.float64))
        counts = compute(from_dask(d.map_blocks(_count_valid, chunks=((1,) * d.numblocks[0],),
                                                drop_axis=1, dtype=np.int64)))[0]
        out = d.map_blocks(_valid_rows, chunks=(tuple(int(c) for c in counts), d.chunks[1]), dtype=np.float64)
        return from_dask(out)

    def get_feature_names_out(self, input_features=None):
        """The output columns: ``input_cols_``."""
        check_fitted(self, "input_cols_")
        return np.asarray(self.input_cols_, dtype=object)
