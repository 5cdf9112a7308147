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
and the fit runs on chunkflow like any chunked input.
"""
from __future__ import annotations

import numpy as np

from ..core.creation import from_array, from_dask
from ..core.tensor import Tensor

__all__ = ["input_kind", "as_tensor_input", "as_output", "check_feature_count", "NotFittedError"]

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
        return np.asarray(result.compute())
    if kind == "dask":
        return result.to_dask()
    return result


def check_feature_count(estimator, n_features: int, name="X"):
    """Raise ValueError when ``n_features`` differs from the count seen in ``fit``."""
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and n_features != expected:
        raise ValueError(f"{name} has {n_features} features, but {type(estimator).__name__} is expecting "
                         f"{expected} features as input (fitted on {expected})")
