"""What every estimator shares: input conversion, the output-type rule, fitted checks.

The contract is scikit-learn's (``sklearn.base.BaseEstimator`` gives
``get_params``/``set_params``/``clone``/repr): ``__init__`` stores params
untouched, ``fit`` validates and returns self, learned attributes end in ``_``.

Inputs come in four kinds and the output of ``predict``/``transform`` follows
the input's kind (:func:`as_output`):

======== ================================= ==========================
kind     accepted as                       output
======== ================================= ==========================
numpy    ndarray, list, pandas DataFrame   ndarray
tensor   ``chunkflow.Tensor``              lazy ``Tensor``
dask     ``dask.array.Array``              lazy ``dask.array.Array``
frame    anything with ``to_tensor``       lazy ``Tensor``
======== ================================= ==========================

NumPy input goes through scikit-learn's own ``validate_data`` first, so the
messages and checks of ``check_estimator`` hold; then it becomes a Tensor
and the fit runs on chunkflow like any chunked input. An estimator's
``device`` parameter (None, 'cpu', 'gpu'; see ``device.py``) is checked here
too, and the Tensor moved to that device: one code path for every estimator.
"""
from __future__ import annotations

import numpy as np

from ..core.creation import from_array, from_dask
from ..core.tensor import Tensor
from .device import fetch, fit_device, place

__all__ = ["input_kind", "as_tensor_input", "as_output", "check_feature_count", "check_feature_names",
           "NotFittedError"]

try:
    from sklearn.exceptions import NotFittedError
except ImportError as e:  # pragma: no cover - the dev install has scikit-learn
    raise ImportError("chunkflow.ml estimators follow scikit-learn's interface and need it: "
                      "pip install 'chunkflow[ml]'") from e


def input_kind(X) -> str:
    """The kind of ``X`` (see the module docstring), by type only; nothing is computed."""
    if isinstance(X, Tensor):
        return "tensor"
    try:
        import dask.array as da
        if isinstance(X, da.Array):
            return "dask"
    except ImportError:  # pragma: no cover
        pass
    if hasattr(X, "to_tensor") and hasattr(X, "columns"):
        return "frame"
    return "numpy"


def as_tensor_input(X, columns=None, dtype=np.float64, name="X") -> tuple[Tensor, str]:
    """``(tensor, kind)``: ``X`` as a 2-D (or 1-D for ``y``) Tensor and the kind it came as.

    ``columns`` picks the feature columns of a Frame (all of them by default).
    ``dtype=None`` keeps the input's dtype. NumPy input is not validated here:
    estimators run ``sklearn.utils.validation.validate_data`` on it first.
    """
    kind = input_kind(X)
    if kind == "tensor":
        t = X
    elif kind == "dask":
        t = from_dask(X)
    elif kind == "frame":
        t = X.to_tensor(columns) if columns is not None else X.to_tensor()
    else:
        arr = np.asarray(X)
        if arr.dtype == object:
            raise TypeError(f"{name} has dtype object; convert it to numbers first "
                            f"(encode strings with OneHotEncoder)")
        t = from_array(arr)
    if dtype is not None and t.dtype != dtype and not (np.issubdtype(t.dtype, np.floating)
                                                       and np.dtype(dtype) == np.float64):
        t = t.astype(dtype)
    return t, kind


def as_output(result: Tensor, kind: str):
    """``result`` in the type matching the input kind: computed for numpy, lazy otherwise."""
    if kind == "numpy":
        return np.asarray(fetch(result))
    if kind == "dask":
        return result.to_dask()
    return result


def check_feature_count(estimator, n_features: int, name="X"):
    """Raise ValueError when ``n_features`` differs from the count seen in ``fit``."""
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(f"{name} has {n_features} features, but {type(estimator).__name__} is expecting "
                         f"{expected} features as input (fitted on {expected})")


def check_feature_names(estimator, X, columns=None):
    """Raise ValueError when a Frame's columns differ from the ``feature_names_in_`` seen in ``fit``.

    scikit-learn's rule for DataFrames: the same names in the same order (a
    reordered Frame would silently feed the wrong columns to the weights).
    """
    expected = getattr(estimator, "feature_names_in_", None)
    if expected is None or input_kind(X) != "frame":
        return
    names = [str(c) for c in (columns if columns is not None else X.columns)]
    if names != [str(c) for c in expected]:
        missing = [c for c in expected if c not in names]
        unexpected = [c for c in names if c not in set(map(str, expected))]
        detail = ""
        if unexpected:
            detail += f"\nFeature names unseen at fit time:\n- " + "\n- ".join(map(str, unexpected[:10]))
        if missing:
            detail += f"\nFeature names seen at fit time, yet now missing:\n- " + "\n- ".join(map(str, missing[:10]))
        if not detail:
            detail = "\nFeature names must be in the same order as they were in fit."
        raise ValueError(f"The feature names should match those that were passed during fit.{detail}\n"
                         f"Select them in fit's order: frame[{list(map(str, expected))}]")


# ---------------------------------------------------------------- validation shared by the estimators
def validate_X(estimator, X, *, reset: bool, allow_nan: bool = False, dtype=np.float64, columns=None):
    """``(tensor, kind, finite)``: ``X`` checked at the boundary, as a 2-D Tensor.

    NumPy input runs scikit-learn's ``validate_data`` (so ``check_estimator``'s
    messages hold) and is checked for NaN/inf here (the error names the
    columns). Chunked input is checked for shape and feature count now; its
    values are only known when it runs, so ``finite`` is a lazy per-column
    "all finite" Tensor for the caller to compute in its own first pass and
    hand to :func:`check_finite` (``None`` when nothing is left to check).
    ``reset=True`` (in ``fit``) records ``n_features_in_``. The tensor is on
    the estimator's ``device`` (checked first: ValueError for an unknown one,
    RuntimeError for 'gpu' without one).
    """
    device = fit_device(estimator)
    kind = input_kind(X)
    if kind == "numpy":
        from sklearn.utils.validation import validate_data

        arr = validate_data(estimator, X, reset=reset, dtype=dtype,
                            ensure_all_finite="allow-nan" if allow_nan else False)
        if not allow_nan:
            check_finite(np.isfinite(arr).all(axis=0))
        return place(from_array(arr), device), kind, None
    t, kind = as_tensor_input(X, columns=columns, dtype=dtype)
    if t.ndim != 2:
        raise ValueError(f"Expected a 2D array (samples x features), got a Tensor of shape {t.shape}; "
                         f"reshape a single feature with X.reshape(-1, 1)")
    if t.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={t.shape}) while a minimum of 1 is required.")
    if len(t.chunks[1]) > 1:  # row blocks hold whole rows: per-chunk contractions need them
        t = t.rechunk((t.chunks[0], -1))
    if reset:
        estimator.n_features_in_ = t.shape[1]
        if kind == "frame" and hasattr(X, "columns"):
            estimator.feature_names_in_ = np.asarray(list(columns if columns is not None else X.columns),
                                                     dtype=object)
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    else:
        check_feature_names(estimator, X, columns)
        check_feature_count(estimator, t.shape[1])
    t = place(t, device)
    finite = None
    if not allow_nan:
        from ..core.elementwise import UFUNCS

        finite = UFUNCS["isfinite"](t).all(axis=0)
    return t, kind, finite


def check_finite(finite, name="X"):
    """Raise ValueError naming the columns where ``finite`` (per-column all-finite flags) is False."""
    if finite is None:
        return
    bad = np.flatnonzero(~np.asarray(finite, dtype=bool))
    if bad.size:
        cols = ", ".join(map(str, bad[:10])) + (", ..." if bad.size > 10 else "")
        raise ValueError(f"Input {name} contains NaN or inf in column(s) [{cols}]; impute missing values "
                         f"first (chunkflow.ml.SimpleImputer) or drop those rows/columns")


def validate_y(y, n_rows=None, name="y"):
    """``(tensor, kind)``: ``y`` as a 1-D Tensor (a column vector is raveled); lengths must match X."""
    t, kind = as_tensor_input(y, dtype=None, name=name)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t.reshape(-1)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one target per sample), got shape {t.shape}")
    if n_rows is not None and t.shape[0] != n_rows:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: X has {n_rows} rows, "
                         f"{name} has {t.shape[0]}")
    return t, kind


def check_fitted(estimator, attribute):
    """Raise NotFittedError (scikit-learn's) unless ``estimator`` has ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                             f"appropriate arguments before using this estimator.")
