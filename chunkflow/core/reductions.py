"""Reductions: tree-reduced along axes, several fused into one pass.

The reduction primitives are the kinds of ``kernels`` (sum, prod, min, max,
any, all, mean, var, logsumexp); ``std`` is ``sqrt(var)``. Arg-reductions and
scans (argmin, argmax, cumsum, cumprod) go to dask.array. All reductions of a
graph that read the same chunk grid along the same axes are lowered into one
pass (see ``lower.py``), so ``cf.compute(x.mean(0), x.std(0), x.max(0))``
reads each chunk of ``x`` once.
"""
from __future__ import annotations

import builtins
import math

import dask.array as da
import numpy as np

from .elementwise import elementwise
from .graph import as_tensor, dask_op, normalize_axis
from .tensor import Tensor, make_node

__all__ = [
    "sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "logsumexp",
    "argmin", "argmax", "cumsum", "cumprod", "count_nonzero",
]

_NO_IDENTITY = {"min": "minimum", "max": "maximum", "argmin": "argmin", "argmax": "argmax"}


def _reduce(kind, x, axis=None, keepdims=False, dtype=None, ddof=0) -> Tensor:
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim) if x.ndim else ()
    if axis is not None and x.ndim == 0:
        normalize_axis(axis, 0)
    if kind in _NO_IDENTITY and builtins.any(x.shape[a] == 0 for a in axes):
        raise ValueError(
            f"zero-size array to reduction operation {_NO_IDENTITY[kind]} which has no identity "
            f"(axis {axis} of shape {x.shape})"
        )
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float)) or ddof < 0:
        raise ValueError(f"ddof must be a non-negative number, got {ddof!r}")
    out_dtype = _result_dtype(kind, x.dtype, dtype)
    shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape) if keepdims or i not in axes)
    chunks = tuple((1,) if i in axes else c for i, c in enumerate(x.chunks) if keepdims or i not in axes)
    return make_node("reduce", (x,), (kind, axes, bool(keepdims), ddof), shape, out_dtype, chunks)


def _result_dtype(kind, dtype, requested):
    probe = np.ones((1,), dtype=dtype)
    with np.errstate(all="ignore"):
        if kind in ("sum", "prod", "mean", "var"):
            fn = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "var": np.var}[kind]
            return fn(probe, dtype=requested).dtype
        if kind in ("min", "max"):
            return dtype
        if kind in ("any", "all"):
            return np.dtype(bool)
        if kind == "logsumexp":
            return np.result_type(dtype, np.float16) if np.dtype(dtype).kind in "iub" else dtype
    raise ValueError(kind)


def sum(x, axis=None, dtype=None, keepdims=False) -> Tensor:  # noqa: A001
    """Sum of elements over ``axis``."""
    return _reduce("sum", x, axis, keepdims, dtype)


def prod(x, axis=None, dtype=None, keepdims=False) -> Tensor:
    """Product of elements over ``axis``."""
    return _reduce("prod", x, axis, keepdims, dtype)


def mean(x, axis=None, dtype=None, keepdims=False) -> Tensor:
    """Arithmetic mean over ``axis``."""
    return _reduce("mean", x, axis, keepdims, dtype)


def var(x, axis=None, dtype=None, ddof=0, keepdims=False, *, correction=None) -> Tensor:
    """Variance over ``axis`` from per-chunk moments merged stably (Chan et al.)."""
    if correction is not None:
        ddof = correction
    return _reduce("var", x, axis, keepdims, dtype, ddof)


def std(x, axis=None, dtype=None, ddof=0, keepdims=False, *, correction=None) -> Tensor:
    """Standard deviation over ``axis``: ``sqrt(var)``."""
    return elementwise("sqrt", var(x, axis, dtype, ddof, keepdims, correction=correction))


def min(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``."""
    return _reduce("min", x, axis, keepdims)


def max(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``."""
    return _reduce("max", x, axis, keepdims)


def any(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """Whether any element over ``axis`` is true."""
    return _reduce("any", x, axis, keepdims)


def all(x, axis=None, keepdims=False) -> Tensor:  # noqa: A001
    """Whether all elements over ``axis`` are true."""
    return _reduce("all", x, axis, keepdims)


def logsumexp(x, axis=None, keepdims=False) -> Tensor:
    """``log(sum(exp(x)))`` over ``axis`` in one stable streaming pass."""
    x = as_tensor(x)
    if x.dtype.kind == "c":
        raise TypeError("logsumexp is defined for real dtypes, got complex")
    return _reduce("logsumexp", x, axis, keepdims)


def count_nonzero(x, axis=None, keepdims=False) -> Tensor:
    """Number of non-zero elements over ``axis``."""
    x = as_tensor(x)
    return sum(elementwise("not_equal", x, 0), axis=axis, keepdims=keepdims, dtype=np.intp)


def _arg(kind, x, axis, keepdims):
    x = as_tensor(x)
    if axis is None:
        if x.size == 0:
            raise ValueError(f"attempt to get {kind} of an empty sequence")
        ndim = x.ndim
        x = x.reshape(-1) if x.ndim != 1 else x
        out = dask_op(_darg, (x,), kind, 0, False)
        return out.reshape((1,) * ndim) if keepdims else out
    (ax,) = normalize_axis(axis, x.ndim)
    if x.shape[ax] == 0:
        raise ValueError(f"attempt to get {kind} of an empty sequence (axis {axis} of shape {x.shape})")
    return dask_op(_darg, (x,), kind, ax, bool(keepdims))


def _darg(x, kind, axis, keepdims):
    return getattr(da, kind)(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False) -> Tensor:
    """Index of the minimum over ``axis`` (flat index when ``axis`` is None)."""
    return _arg("argmin", x, axis, keepdims)


def argmax(x, axis=None, keepdims=False) -> Tensor:
    """Index of the maximum over ``axis`` (flat index when ``axis`` is None)."""
    return _arg("argmax", x, axis, keepdims)


def _dscan(x, kind, axis, dtype):
    return getattr(da, kind)(x, axis=axis, dtype=dtype)


def _scan(kind, x, axis, dtype):
    x = as_tensor(x)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    (ax,) = normalize_axis(axis, x.ndim)
    if builtins.any(math.isnan(s) for s in x.shape):  # dask's scans silently drop rows of unknown-length chunks
        raise ValueError(
            f"{kind} of a Tensor with unknown chunk sizes (shape {x.shape}, from boolean indexing) "
            f"is not supported; call .compute_chunk_sizes() first"
        )
    return dask_op(_dscan, (x,), kind, ax, dtype)


def cumsum(x, axis=None, dtype=None) -> Tensor:
    """Cumulative sum along ``axis`` (flattened when ``axis`` is None)."""
    return _scan("cumsum", x, axis, dtype)


def cumprod(x, axis=None, dtype=None) -> Tensor:
    """Cumulative product along ``axis`` (flattened when ``axis`` is None)."""
    return _scan("cumprod", x, axis, dtype)
