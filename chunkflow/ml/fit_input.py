"""Fit and predict inputs of the linear models: validation, labels, and the first statistics pass.

NumPy input goes through scikit-learn's ``validate_data`` (its checks and
messages); chunked input (Tensor, dask array, Frame) is checked from what is
known before anything runs (ndim, lengths, dtypes), and the expensive checks
ride on the first pass the solver needs anyway: a NaN or inf in a column
makes that column's weighted sum of squares non-finite, so
:func:`moments` finds it for free and only then runs a second pass to name
the column. The Tensors are on the estimator's ``device`` (``device.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import chunkflow as cf

from ..core.creation import from_array
from ..core.tensor import Tensor
from .base import as_tensor_input, check_feature_count, check_feature_names, input_kind
from .device import compute, fit_device, place

__all__ = ["FitData", "fit_input", "predict_input", "moments", "class_labels", "check_finite_columns"]


@dataclass
class FitData:
    """A fit's inputs as Tensors: ``X`` (n, d) float64, ``y``, ``sw`` (n,) or None, and facts about them."""

    X: Tensor
    y: Tensor
    sw: Tensor | None
    kind: str
    n: int
    d: int
    y_numpy: np.ndarray | None = None  # the validated labels/targets when the input was NumPy


def _row_chunks(X: Tensor):
    return X.chunks[0]


def fit_input(est, X, y, sample_weight=None, *, classifier=False, multi_output=False) -> FitData:
    """``FitData`` for ``est.fit(X, y, sample_weight)``; sets ``n_features_in_`` (and feature names).

    X, y and sample_weight are moved to ``est.device`` (checked first).
    """
    device = fit_device(est)
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is None")
    kind = input_kind(X)
    if kind == "numpy":
        from sklearn.utils.validation import _check_sample_weight, validate_data

        Xn, yn = validate_data(est, X, y, dtype=[np.float64, np.float32], y_numeric=not classifier,
                               multi_output=multi_output)
        Xt = from_array(np.asarray(Xn, dtype=np.float64))
        sw = None
        if sample_weight is not None:
            swn = _check_sample_weight(sample_weight, Xn, dtype=np.float64)
            sw = from_array(swn, chunks=(_row_chunks(Xt),))
        yt = None if classifier else from_array(np.asarray(yn, dtype=np.float64),
                                                chunks=(_row_chunks(Xt),) + ((-1,) if yn.ndim == 2 else ()))
        return FitData(place(Xt, device), place(yt, device), place(sw, device), kind, Xt.shape[0], Xt.shape[1],
                       yn)
    Xt, _ = as_tensor_input(X, dtype=None)
    if Xt.ndim != 2:
        raise ValueError(f"Expected a 2D X (n_samples, n_features), got shape {Xt.shape}; reshape it")
    if Xt.dtype.kind not in "biuf":
        raise TypeError(f"X has dtype {Xt.dtype}; linear models need numbers (encode strings first)")
    if Xt.dtype != np.float64:
        Xt = Xt.astype(np.float64)
    if len(Xt.chunks[1]) > 1:  # row blocks hold whole rows: the per-chunk contractions need them
        Xt = Xt.rechunk((Xt.chunks[0], -1))
    n, d = Xt.shape
    if n < 1 or d < 1:
        raise ValueError(f"X has shape {Xt.shape}: at least 1 sample and 1 feature are required")
    yt, _ = as_tensor_input(y, dtype=None, name="y")
    if yt.ndim == 2 and yt.shape[1] == 1 and not multi_output:
        yt = yt.reshape((yt.shape[0],))
    if yt.ndim != 1 and not (multi_output and yt.ndim == 2):
        raise ValueError(f"y must be 1-D of shape ({n},)" + (f" or 2-D ({n}, n_targets)" if multi_output else "")
                         + f", got shape {yt.shape}")
    if yt.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {yt.shape[0]}; they must have the same number of rows")
    if not classifier:
        if yt.dtype.kind not in "biuf":
            raise TypeError(f"y has dtype {yt.dtype}; a regressor needs numeric targets")
        if yt.dtype != np.float64:
            yt = yt.astype(np.float64)
    elif yt.dtype.kind not in "biufUS":
        raise TypeError(f"y has dtype {yt.dtype}; class labels must be integers, booleans or strings")
    sw = None
    if sample_weight is not None:
        sw, _ = as_tensor_input(sample_weight, dtype=np.float64, name="sample_weight")
        if sw.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}")
    est.n_features_in_ = d
    names = getattr(X, "columns", None) if kind == "frame" else None
    if names is not None and len(names) == d:
        est.feature_names_in_ = np.asarray([str(c) for c in names], dtype=object)
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    if yt.dtype.kind in "biuf":  # string labels stay on the CPU (CuPy holds numbers only)
        yt = place(yt, device)
    return FitData(place(Xt, device), yt, place(sw, device), kind, n, d)


def predict_input(est, X) -> tuple[Tensor, str]:
    """``(X as a float64 Tensor on est.device, kind)`` for predict/transform of a fitted ``est``."""
    from sklearn.utils.validation import check_is_fitted, validate_data

    check_is_fitted(est)
    device = fit_device(est)
    kind = input_kind(X)
    if kind == "numpy":
        Xn = validate_data(est, X, dtype=[np.float64, np.float32], reset=False)
        return place(from_array(np.asarray(Xn, dtype=np.float64)), device), kind
    check_feature_names(est, X)
    Xt, _ = as_tensor_input(X, dtype=None)
    if Xt.ndim != 2:
        raise ValueError(f"Expected a 2D X (n_samples, n_features), got shape {Xt.shape}; reshape it")
    check_feature_count(est, Xt.shape[1])
    if len(Xt.chunks[1]) > 1:
        Xt = Xt.rechunk((Xt.chunks[0], -1))
    return place(Xt if Xt.dtype == np.float64 else Xt.astype(np.float64), device), kind


def moments(data: FitData, extra=()):
    """``(S, sum_x, sum_xx, *extra)`` in one pass: weights' sum, weighted column sums and sums of squares.

    Raises ValueError naming the first column of X (or sample_weight) holding NaN/inf.
    """
    X, sw = data.X, data.sw
    Xw = X if sw is None else X * sw[:, None]
    S = float(data.n) if sw is None else sw.sum()
    out = compute(S, Xw.sum(axis=0), (Xw * X).sum(axis=0), *extra)
    S, sx, sxx = float(out[0]), out[1], out[2]
    if not (np.isfinite(S) and np.all(np.isfinite(sx)) and np.all(np.isfinite(sxx))):
        check_finite_columns(data)
    if sw is not None and S <= 0:
        raise ValueError(f"sample_weight sums to {S}; it must have a positive sum")
    return (S, sx, sxx, *out[3:])


def check_finite_columns(data: FitData, y=True):
    """Raise ValueError naming the first column of X, or y/sample_weight, holding NaN or inf (a pass)."""
    parts = [cf.isfinite(data.X).all(axis=0)]
    if data.sw is not None:
        parts.append(cf.isfinite(data.sw).all())
    check_y = y and data.y is not None and data.y.dtype.kind == "f"
    if check_y:
        parts.append(cf.isfinite(data.y).all())
    ok = compute(*parts)
    bad = np.flatnonzero(~np.asarray(ok[0]))
    if bad.size:
        raise ValueError(f"Input X contains NaN or infinity in column {int(bad[0])}"
                         + (f" (and {bad.size - 1} more)" if bad.size > 1 else "")
                         + "; drop or impute those values first")
    if data.sw is not None and not bool(ok[1]):
        raise ValueError("sample_weight contains NaN or infinity")
    if check_y and not bool(ok[-1]):
        raise ValueError("Input y contains NaN or infinity; drop or impute those rows first")
    raise ValueError("X has values so large that their squares overflow float64; rescale the columns")


def class_labels(data: FitData, unique=None):
    """``(classes, counts, y_index)``: sorted class labels, rows per class, and ``y`` as class indices.

    For NumPy input this runs on the client; for chunked input ``classes`` and
    ``counts`` come from ``unique`` (the computed ``cf.unique_counts(y)``,
    best computed in the first statistics pass) or a pass of their own, and
    ``y_index`` is None (targets are built lazily by comparing with
    ``classes``). Errors follow scikit-learn's.
    """
    if data.kind == "numpy":
        from sklearn.utils.multiclass import check_classification_targets

        check_classification_targets(data.y_numpy)
        classes, index, counts = np.unique(data.y_numpy, return_inverse=True, return_counts=True)
    else:
        if unique is None:
            u = cf.unique_counts(data.y)
            unique = compute(u.values, u.counts)
        classes, counts = unique
        index = None
        if classes.dtype.kind == "f":
            if not np.all(np.isfinite(classes)):
                raise ValueError("Input y contains NaN or infinity; class labels must be finite")
            if np.any(classes != np.round(classes)):
                raise ValueError("Unknown label type: continuous. Maybe you are trying to fit a classifier, "
                                 "which expects discrete classes on a regression target with continuous values.")
    if len(classes) < 2:
        raise ValueError(f"This solver needs samples of at least 2 classes in the data, but the data "
                         f"contains only one class: {classes[0] if len(classes) else None!r}")
    return classes, counts, index


def class_weights(class_weight, classes, counts) -> np.ndarray:
    """Weights per class as scikit-learn's ``compute_class_weight`` gives them (None, 'balanced', dict)."""
    k = len(classes)
    if class_weight is None:
        return np.ones(k)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}")
        return counts.sum() / (k * counts.astype(np.float64))
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}")
    weights = np.ones(k)
    lookup = {c.item() if hasattr(c, "item") else c: i for i, c in enumerate(classes)}
    for label, w in class_weight.items():
        if label not in lookup:
            raise ValueError(f"The classes, {list(class_weight)}, are not in class, {list(classes)}; "
                             f"class_weight has a label not in y")
        weights[lookup[label]] = w
    return weights
