"""NumPy functions that users call on Tensors and the array API standard lacks.

``np.nanmean(x, axis=0)``, ``np.median(x, axis=0)``, ``np.cov(x, rowvar=False)``,
``np.histogram(x)`` and the like dispatch here through
``Tensor.__array_function__`` (and are ``cf.nanmean`` etc.). Each is composed
from core ops where it can be, so it is lazy, fuses with its neighbours and
has gradients:

* NaN-skipping reductions replace NaNs with the reduction's identity (and
  count the non-NaN values), so ``nanmean``/``nanvar`` are ordinary sums;
  ``nanmax``/``nanmin`` mark all-NaN slices NaN, as NumPy does.
* ``average``, ``ptp``, ``cov``/``corrcoef`` (a centred Gram matrix: one
  fused pass for the means, one for the products), ``isclose``/``allclose``/
  ``array_equal``, ``nan_to_num``, the ``*stack`` family, ``split``.

The rest are lowered to dask.array and are not differentiable:

* order statistics (``quantile``/``percentile``/``median`` and their NaN
  forms) gather the reduced axis into one chunk, as ``sort`` does, then run
  NumPy per block: exact, but a whole column must fit in memory;
* ``einsum``, ``bincount``, ``histogram``, ``digitize``, ``isin``, ``pad``,
  ``argwhere``, ``diag`` of a vector. Data-dependent lengths (``bincount``
  without ``minlength``, ``argwhere``) are unknown (NaN) until computed.

Block functions take NumPy or CuPy blocks (``backend.array_module``); the
small constants baked into their tasks (quantiles, bin edges, test values)
are moved to the block's module there, as CuPy takes no NumPy operands.
"""
from __future__ import annotations

import math
import numbers

import dask.array as da
import numpy as np
from dask.array.utils import meta_from_array

from ..backend import array_module, on_module, to_host
from . import linalg
from . import reductions as red
from .elementwise import elementwise, where
from .graph import as_tensor, dask_op, normalize_axis
from .creation import full_like
from .manipulation import (
    _dargwhere, broadcast_to, concatenate, expand_dims, flip, getitem, moveaxis, ravel, rechunk, reshape,
    transpose,
)
from .tensor import Tensor

__all__ = [
    "nansum", "nanprod", "nancumsum", "nancumprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
    "nanargmax", "nanargmin", "ptp", "average", "cov", "corrcoef", "quantile", "percentile", "median",
    "nanquantile", "nanpercentile", "nanmedian", "isclose", "allclose", "array_equal", "nan_to_num", "hstack",
    "vstack", "dstack", "column_stack", "fliplr", "flipud", "atleast_1d", "atleast_2d", "split", "array_split",
    "einsum", "bincount", "histogram", "digitize", "isin", "pad", "argwhere", "diag", "unique", "amax", "amin",
    "around",
]


def _float(x) -> bool:
    return np.issubdtype(x.dtype, np.inexact)


# ---------------------------------------------------------------- NaN-skipping reductions
def nansum(x, axis=None, dtype=None, keepdims=False) -> Tensor:
    """Sum treating NaNs as zero."""
    x = as_tensor(x)
    return red.sum(where(elementwise("isnan", x), 0, x) if _float(x) else x, axis=axis, dtype=dtype,
                   keepdims=keepdims)


def nanprod(x, axis=None, dtype=None, keepdims=False) -> Tensor:
    """Product treating NaNs as one."""
    x = as_tensor(x)
    return red.prod(where(elementwise("isnan", x), 1, x) if _float(x) else x, axis=axis, dtype=dtype,
                    keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None) -> Tensor:
    """Cumulative sum treating NaNs as zero (flattened when ``axis`` is None)."""
    x = as_tensor(x)
    return red.cumsum(where(elementwise("isnan", x), 0, x) if _float(x) else x, axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None) -> Tensor:
    """Cumulative product treating NaNs as one (flattened when ``axis`` is None)."""
    x = as_tensor(x)
    return red.cumprod(where(elementwise("isnan", x), 1, x) if _float(x) else x, axis=axis, dtype=dtype)


def _count(x, axis, keepdims):
    """Number of non-NaN values along ``axis`` (float64)."""
    return red.sum(elementwise("logical_not", elementwise("isnan", x)), axis=axis, dtype=np.float64,
                   keepdims=keepdims)


def nanmean(x, axis=None, dtype=None, keepdims=False) -> Tensor:
    """Mean of the non-NaN values (NaN where a slice has none)."""
    x = as_tensor(x)
    if not _float(x):
        return red.mean(x, axis=axis, dtype=dtype, keepdims=keepdims)
    out = nansum(x, axis=axis, keepdims=keepdims) / _count(x, axis, keepdims)
    return out.astype(x.dtype if dtype is None else dtype)  # the count is float64; NumPy keeps float32 float32


def nanvar(x, axis=None, dtype=None, ddof=0, keepdims=False) -> Tensor:
    """Variance of the non-NaN values (deviations from their mean, then ``/ (n - ddof)``)."""
    x = as_tensor(x)
    if not _float(x):
        return red.var(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    mean = nanmean(x, axis=axis, keepdims=True)
    dev = where(elementwise("isnan", x), 0, x - mean)
    dof = _count(x, axis, keepdims) - ddof
    out = where(dof > 0, red.sum(dev * dev, axis=axis, keepdims=keepdims) / dof, np.nan)  # NumPy: NaN
    return out.astype(np.finfo(x.dtype).dtype if dtype is None else dtype)  # real, at x's precision


def nanstd(x, axis=None, dtype=None, ddof=0, keepdims=False) -> Tensor:
    """Standard deviation of the non-NaN values."""
    return elementwise("sqrt", nanvar(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _nan_extreme(kind, x, axis, keepdims):
    x = as_tensor(x)
    reduce = red.max if kind == "max" else red.min
    if not _float(x):
        return reduce(x, axis=axis, keepdims=keepdims)
    nan = elementwise("isnan", x)
    out = reduce(where(nan, -np.inf if kind == "max" else np.inf, x), axis=axis, keepdims=keepdims)
    return where(red.all(nan, axis=axis, keepdims=keepdims), np.nan, out)


def nanmax(x, axis=None, keepdims=False) -> Tensor:
    """Maximum ignoring NaNs (NaN for an all-NaN slice)."""
    return _nan_extreme("max", x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False) -> Tensor:
    """Minimum ignoring NaNs (NaN for an all-NaN slice)."""
    return _nan_extreme("min", x, axis, keepdims)


def nanargmax(x, axis=None, keepdims=False) -> Tensor:
    """Index of the maximum ignoring NaNs."""
    x = as_tensor(x)
    return red.argmax(where(elementwise("isnan", x), -np.inf, x) if _float(x) else x, axis=axis,
                      keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False) -> Tensor:
    """Index of the minimum ignoring NaNs."""
    x = as_tensor(x)
    return red.argmin(where(elementwise("isnan", x), np.inf, x) if _float(x) else x, axis=axis,
                      keepdims=keepdims)


def amax(x, axis=None, keepdims=False) -> Tensor:
    """``max`` under NumPy's other name."""
    return red.max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False) -> Tensor:
    """``min`` under NumPy's other name."""
    return red.min(x, axis=axis, keepdims=keepdims)


def around(x, decimals=0) -> Tensor:
    """``round`` under NumPy's other name."""
    return elementwise("round", x) if decimals == 0 else as_tensor(x).round(decimals)


def ptp(x, axis=None, keepdims=False) -> Tensor:
    """Range ``max - min`` along ``axis`` (one fused pass)."""
    x = as_tensor(x)
    return red.max(x, axis=axis, keepdims=keepdims) - red.min(x, axis=axis, keepdims=keepdims)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean; ``weights`` of ``a``'s shape or 1-D along a single ``axis`` (NumPy's rules)."""
    a = as_tensor(a)
    if weights is None:
        avg = red.mean(a, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        count = math.prod(a.shape) / max(1, math.prod(avg.shape))  # values averaged into each result
        return avg, full_like(avg, count, dtype=avg.dtype)
    w = as_tensor(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1 or not isinstance(axis, numbers.Integral):
            raise TypeError(f"average: weights of shape {w.shape} differ from a's shape {a.shape}; give "
                            f"weights of a's shape, or 1-D weights with a single integer axis")
        (ax,) = normalize_axis(axis, a.ndim)
        if w.shape[0] != a.shape[ax]:
            raise ValueError(f"average: {w.shape[0]} weights for axis {ax} of length {a.shape[ax]}")
        w = reshape(w, tuple(-1 if d == ax else 1 for d in range(a.ndim)))
    total = red.sum(broadcast_to(w, a.shape), axis=axis, keepdims=keepdims)
    avg = red.sum(a * w, axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


# ---------------------------------------------------------------- covariance
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None) -> Tensor:
    """Covariance matrix of the variables in ``m`` (rows when ``rowvar``, else columns), as ``np.cov``.

    Computed as a centred Gram matrix ``Z.T @ Z / (n - ddof)`` over the
    observations, which chunkflow sums chunk by chunk.
    """
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights/aweights are not supported; weight the centred data "
                                  "yourself: (w[:, None] * z).T @ z / w.sum()")
    m = as_tensor(m)
    if m.ndim > 2:
        raise ValueError(f"cov takes 1-D or 2-D input, got {m.ndim}-D")
    obs = m.reshape(1, -1) if m.ndim == 1 else m
    obs = obs.T if rowvar else obs  # observations on axis 0
    if y is not None:
        y = as_tensor(y)
        y = y.reshape(1, -1) if y.ndim == 1 else y
        obs = concatenate([obs, y.T if rowvar else y], axis=1)
    # NumPy computes in at least float64 (float32 data gives a float64 matrix)
    obs = obs.astype(np.result_type(obs.dtype, np.float64) if dtype is None else dtype)
    n = obs.shape[0]
    ddof = (0 if bias else 1) if ddof is None else ddof
    z = obs - red.mean(obs, axis=0, keepdims=True)
    out = linalg.matmul(z.T, z) / (n - ddof)
    return reshape(out, ()) if out.shape == (1, 1) else out


def corrcoef(x, y=None, rowvar=True, *, dtype=None) -> Tensor:
    """Pearson correlation coefficients, as ``np.corrcoef`` (values clipped to [-1, 1])."""
    c = cov(x, y, rowvar=rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = elementwise("sqrt", linalg.diagonal(c))
    return elementwise("clip", c / d[:, None] / d[None, :], -1, 1)


# ---------------------------------------------------------------- order statistics
def _block_quantile(block, q, axis, method, nan, dtype):
    """``q``-quantiles of ``block`` along ``axis`` (which it holds whole), put at ``axis``."""
    xp = array_module(block)
    if xp is np:
        out = (np.nanquantile if nan else np.quantile)(block, q, axis=axis, method=method)
    elif nan:  # CuPy has no nanquantile
        out = _nanquantile(xp, block, q, axis, method)
    else:
        out = xp.quantile(block, xp.asarray(q, dtype=np.float64), axis=axis, method=method)
    return xp.moveaxis(out, 0, axis).astype(dtype, copy=False)


_NAN_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _nanquantile(xp, block, q, axis, method):
    """``nanquantile(block, q, axis=axis, method=method)`` from one sort, for any array module.

    NaNs sort last, so each slice's ``n`` non-NaN values lead it and the
    quantile positions are ``q * (n - 1)``, gathered per slice as NumPy does.
    """
    if method not in _NAN_METHODS:
        raise NotImplementedError(f"nanquantile of GPU chunks supports method in {_NAN_METHODS}, got {method!r}; "
                                  f"move the Tensor to the CPU first (.to_device('cpu'))")
    a = xp.moveaxis(block, axis, -1)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    qs = xp.asarray(q, dtype=np.float64)
    if a.shape[-1] == 0:
        return xp.full((len(q),) + a.shape[:-1], np.nan)
    s = xp.sort(a, axis=-1)
    n = xp.sum(~xp.isnan(a), axis=-1, keepdims=True)
    pos = qs * (n - 1)  # (..., k); negative for all-NaN slices (masked below)
    last = xp.maximum(n - 1, 0)

    def at(i):
        return xp.take_along_axis(s, xp.minimum(xp.maximum(i, 0), last).astype(np.intp), axis=-1)

    if method == "nearest":
        out = at(xp.around(pos))  # half to even, as NumPy
    else:
        below, above = xp.floor(pos), xp.ceil(pos)
        lo, hi = at(below), at(above)
        if method == "lower":
            out = lo
        elif method == "higher":
            out = hi
        else:
            t = pos - below if method == "linear" else xp.where(below == above, 0.0, 0.5)
            d = hi - lo
            out = xp.where(t >= 0.5, hi - d * (1 - t), lo + d * t)  # NumPy's _lerp
    out = xp.where(n == 0, np.nan, out)
    return xp.moveaxis(out, -1, 0)


def _dquantile(x, q, axis, method, nan, dtype):
    chunks = tuple((len(q),) if d == axis else c for d, c in enumerate(x.chunks))
    return x.map_blocks(_block_quantile, q, axis, method, nan, dtype, chunks=chunks, dtype=dtype,
                        meta=meta_from_array(x, ndim=x.ndim, dtype=dtype))


def _quantile(name, a, q, axis, method, keepdims, nan):
    a = as_tensor(a)
    qs = np.asarray(to_host(q), dtype=np.float64)
    if qs.ndim > 1:
        raise ValueError(f"{name}: q must be a scalar or 1-D, got shape {qs.shape}")
    if np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise ValueError(f"{name}: quantiles must be in [0, 1] (percentiles in [0, 100]), got {q!r}")
    if axis is None:
        flat = ravel(a)
        out = _quantile(name, flat, q, 0, method, False, nan)
        return reshape(out, qs.shape + (1,) * a.ndim) if keepdims else out
    if isinstance(axis, (tuple, list)):  # several axes: moved last and merged into one, as NumPy does
        axes = normalize_axis(axis, a.ndim)
        rest = tuple(d for d in range(a.ndim) if d not in axes)
        merged = reshape(transpose(a, rest + axes), tuple(a.shape[d] for d in rest) + (-1,))
        out = _quantile(name, merged, q, -1, method, False, nan)
        kept = tuple(1 if d in axes else s for d, s in enumerate(a.shape))
        return reshape(out, qs.shape + kept) if keepdims else out
    if not isinstance(axis, numbers.Integral):
        raise TypeError(f"{name}: axis must be None, an int or a tuple of ints, got {axis!r}")
    (ax,) = normalize_axis(axis, a.ndim, allow_none=False)
    if math.isnan(a.shape[ax]):
        raise ValueError(f"{name} needs a known length along axis {ax}; call .compute_chunk_sizes() first")
    from .array_api import _whole_axis

    # NumPy's result dtype (a Python float q keeps float32 float32, a NumPy float64 q does not;
    # method="lower" keeps integers), and its TypeError for data it cannot order (booleans) raised here
    probe = np.nanquantile if nan else np.quantile
    weak = isinstance(q, (int, float)) and not isinstance(q, np.generic)  # a Python scalar q, as NEP 50
    q_meta = 0.0 if weak else np.zeros(qs.shape, np.asarray(to_host(q)).dtype)
    dtype = probe(np.zeros(1, a.dtype), q_meta, method=method).dtype
    out = dask_op(_dquantile, (_whole_axis(a, ax),), tuple(qs.ravel().tolist()), ax, method, nan, dtype)
    if qs.ndim == 0:
        return out if keepdims else getitem(out, (slice(None),) * ax + (0,))
    out = moveaxis(out, ax, 0)
    return expand_dims(out, ax + 1) if keepdims else out


def _fraction(percent):
    """Percentiles as quantiles, of NumPy's dtype (a Python scalar stays a Python scalar)."""
    if isinstance(percent, (int, float)) and not isinstance(percent, np.generic):
        return percent / 100
    return np.asarray(to_host(percent)) / 100


def quantile(a, q, axis=None, method="linear", keepdims=False, *, interpolation=None) -> Tensor:
    """Exact ``q``-th quantiles along ``axis`` (the axis is gathered into one chunk), as ``np.quantile``."""
    return _quantile("quantile", a, q, axis, interpolation or method, keepdims, nan=False)


def percentile(a, q, axis=None, method="linear", keepdims=False, *, interpolation=None) -> Tensor:
    """Exact percentiles ``q`` in [0, 100] along ``axis``, as ``np.percentile``."""
    return _quantile("percentile", a, _fraction(q), axis, interpolation or method,
                     keepdims, nan=False)


def _bool_as_float(a):
    """``a`` with booleans as float64: NumPy's median averages them, where quantile refuses them."""
    a = as_tensor(a)
    return a.astype(np.float64) if a.dtype == np.bool_ else a


def median(a, axis=None, keepdims=False) -> Tensor:
    """Exact median along ``axis``, as ``np.median``."""
    return _quantile("median", _bool_as_float(a), 0.5, axis, "linear", keepdims, nan=False)


def nanquantile(a, q, axis=None, method="linear", keepdims=False, *, interpolation=None) -> Tensor:
    """``quantile`` ignoring NaNs."""
    return _quantile("nanquantile", a, q, axis, interpolation or method, keepdims, nan=True)


def nanpercentile(a, q, axis=None, method="linear", keepdims=False, *, interpolation=None) -> Tensor:
    """``percentile`` ignoring NaNs."""
    return _quantile("nanpercentile", a, _fraction(q), axis,
                     interpolation or method, keepdims, nan=True)


def nanmedian(a, axis=None, keepdims=False) -> Tensor:
    """``median`` ignoring NaNs."""
    return _quantile("nanmedian", _bool_as_float(a), 0.5, axis, "linear", keepdims, nan=True)


# ---------------------------------------------------------------- comparisons and cleaning
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """Elementwise ``|a - b| <= atol + rtol * |b|``, infinities equal only to themselves, as ``np.isclose``."""
    a, b = as_tensor(a), as_tensor(b)
    if not (_float(a) or _float(b)):
        a = a.astype(np.float64)
    finite = elementwise("logical_and", elementwise("isfinite", a), elementwise("isfinite", b))
    close = elementwise("less_equal", elementwise("abs", a - b), atol + rtol * elementwise("abs", b))
    out = where(finite, close, elementwise("equal", a, b))
    if equal_nan:
        out = elementwise("logical_or", out, elementwise("logical_and", elementwise("isnan", a),
                                                         elementwise("isnan", b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """Whether all of ``isclose(a, b)``: a 0-d boolean Tensor (``bool()`` of it computes)."""
    return red.all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """Same shape and equal elements: False at once for other shapes, else a 0-d boolean Tensor."""
    a1, a2 = as_tensor(a1), as_tensor(a2)
    if a1.shape != a2.shape:
        return False
    eq = elementwise("equal", a1, a2)
    if equal_nan and (_float(a1) or _float(a2)):
        eq = elementwise("logical_or", eq, elementwise("logical_and", elementwise("isnan", a1),
                                                       elementwise("isnan", a2)))
    return red.all(eq)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None) -> Tensor:
    """NaN to ``nan``, infinities to ``posinf``/``neginf`` (default: the dtype's largest finite values)."""
    x = as_tensor(x)
    if not _float(x):
        return x
    info = np.finfo(x.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    inf = elementwise("isinf", x)
    out = where(elementwise("isnan", x), nan, x)
    out = where(elementwise("logical_and", inf, x > 0), big, out)
    return where(elementwise("logical_and", inf, x < 0), small, out).astype(x.dtype)


# ---------------------------------------------------------------- stacking and splitting
def fliplr(m) -> Tensor:
    """``m`` with its columns (axis 1) in reverse order."""
    m = as_tensor(m)
    if m.ndim < 2:
        raise ValueError(f"fliplr needs at least 2 dimensions, got shape {m.shape}")
    return flip(m, axis=1)


def flipud(m) -> Tensor:
    """``m`` with its rows (axis 0) in reverse order."""
    m = as_tensor(m)
    if m.ndim < 1:
        raise ValueError("flipud needs at least 1 dimension, got a 0-d Tensor")
    return flip(m, axis=0)


def atleast_1d(*arys):
    """Each input with at least one dimension."""
    out = [reshape(as_tensor(a), (1,)) if as_tensor(a).ndim == 0 else as_tensor(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Each input with at least two dimensions (a vector becomes one row)."""
    out = []
    for a in arys:
        a = as_tensor(a)
        out.append(reshape(a, (1, 1)) if a.ndim == 0 else expand_dims(a, 0) if a.ndim == 1 else a)
    return out[0] if len(out) == 1 else out


def hstack(tup) -> Tensor:
    """Concatenate along columns (along the only axis for vectors)."""
    arrays = [as_tensor(a) for a in tup]
    return concatenate(arrays, axis=0 if all(a.ndim == 1 for a in arrays) else 1)


def vstack(tup) -> Tensor:
    """Concatenate along rows, vectors becoming rows."""
    return concatenate([atleast_2d(a) for a in tup], axis=0)


def dstack(tup) -> Tensor:
    """Concatenate along a third axis."""
    arrays = []
    for a in tup:
        a = atleast_2d(a)
        arrays.append(expand_dims(a, 2) if a.ndim == 2 else a)
    return concatenate(arrays, axis=2)


def column_stack(tup) -> Tensor:
    """Vectors as columns, side by side with 2-D inputs."""
    return concatenate([expand_dims(as_tensor(a), 1) if as_tensor(a).ndim == 1 else as_tensor(a)
                        for a in tup], axis=1)


def array_split(x, indices_or_sections, axis=0) -> list:
    """Views of ``x`` split along ``axis`` at indices, or into n near-equal parts (as ``np.array_split``)."""
    x = as_tensor(x)
    (ax,) = normalize_axis(axis, x.ndim, allow_none=False)
    n = x.shape[ax]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"number of sections must be larger than 0, got {k}")
        size, extra = divmod(n, k)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (k - extra)).tolist()
    else:
        bounds = [0] + [min(max(int(i), 0), n) for i in indices_or_sections] + [n]
    return [getitem(x, (slice(None),) * ax + (slice(a, max(a, b)),)) for a, b in zip(bounds, bounds[1:])]


def split(x, indices_or_sections, axis=0) -> list:
    """As ``array_split``, but n sections must divide the axis evenly (NumPy's rule)."""
    x = as_tensor(x)
    if isinstance(indices_or_sections, numbers.Integral):
        (ax,) = normalize_axis(axis, x.ndim, allow_none=False)
        if indices_or_sections <= 0 or x.shape[ax] % indices_or_sections:
            raise ValueError(f"array split does not result in an equal division: axis {ax} of length "
                             f"{x.shape[ax]} into {indices_or_sections} sections; use array_split")
    return array_split(x, indices_or_sections, axis)


# ---------------------------------------------------------------- lowered to dask.array
def _deinsum(*operands, subscripts, kw, dtype):
    return da.einsum(subscripts, *operands, dtype=dtype, **dict(kw)).astype(dtype, copy=False)


def einsum(subscripts, *operands, **kwargs) -> Tensor:
    """Einstein summation (dask.array's; not differentiable)."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum: give the subscripts as a string first, e.g. einsum('ij,j->i', x, w)")
    operands = tuple(as_tensor(o) for o in operands)
    dtype = kwargs.pop("dtype", None)
    if dtype is None:  # dask sums integers and booleans as int64; NumPy keeps their dtype
        dtype = np.einsum(subscripts, *(np.ones((1,) * o.ndim, o.dtype) for o in operands)).dtype
    return dask_op(_deinsum, operands, subscripts=subscripts, kw=tuple(sorted(kwargs.items())),
                   dtype=np.dtype(dtype))


def _dbincount(x, *w, minlength):
    return da.bincount(x, weights=w[0] if w else None, minlength=minlength)


def bincount(x, weights=None, minlength=0) -> Tensor:
    """Counts of each non-negative integer in 1-D ``x`` (its length is unknown until computed)."""
    x = as_tensor(x)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"bincount needs a 1-D integer Tensor, got {x.ndim}-D {x.dtype}; cast with "
                        f".astype(int) first")
    inputs = (x,) if weights is None else (x, as_tensor(weights))
    return dask_op(_dbincount, inputs, minlength=int(minlength))


def _block_histogram(a, *w, edges, out_dtype):
    """Counts (or weight sums) of one block in the bins of ``edges``, as a row ``(1, nbins)``."""
    xp = array_module(a, *w)
    bins, *w = on_module(xp, [np.asarray(edges), *w])
    counts = xp.histogram(a, bins=bins, weights=w[0] if w else None)[0]
    return counts.astype(out_dtype, copy=False)[None]  # CuPy counts weights in float64, NumPy in their dtype


def _divide_by(block, widths):
    (widths,) = on_module(array_module(block), [np.asarray(widths, dtype=np.float64)])
    return block / widths


def _dhistogram(a, *w, bins, density):
    """dask.array's blocked histogram, with the edges moved to each block's module."""
    dtype = w[0].dtype if w else np.histogram(np.zeros(0))[0].dtype
    nbins = len(bins) - 1
    rows = da.map_blocks(_block_histogram, a, *w, edges=bins, out_dtype=dtype, dtype=dtype, new_axis=1,
                         chunks=((1,) * a.numblocks[0], (nbins,)), meta=meta_from_array(a, ndim=2, dtype=dtype))
    n = rows.sum(axis=0)
    if not density:
        return n
    return n.map_blocks(_divide_by, widths=tuple(np.diff(bins).tolist()), dtype=np.float64) / n.sum()


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002 - NumPy's name
    """``(counts, bin_edges)``: counts a lazy Tensor, edges an ndarray (a missing ``range`` costs one
    min/max pass to fix the edges, as NumPy's)."""
    from ..runtime import compute

    a = as_tensor(a)
    shape, a = a.shape, ravel(a)
    if isinstance(bins, str):
        raise NotImplementedError(f"histogram: bins={bins!r} needs the data; give a number of bins or edges")
    if np.ndim(bins) == 0:
        if range is None:
            lo, hi = (float(v) for v in to_host(compute(red.min(a), red.max(a))))
        else:
            lo, hi = (float(v) for v in range)
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, int(bins) + 1)
    else:
        edges = np.asarray(to_host(bins), dtype=np.float64)
    if weights is not None:
        weights = as_tensor(weights)
        if weights.shape != shape:
            raise ValueError(f"histogram: weights of shape {weights.shape} for data of shape {shape}; they must match")
    inputs = (a,) if weights is None else (a, rechunk(ravel(weights), a.chunks))
    counts = dask_op(_dhistogram, inputs, bins=tuple(edges.tolist()), density=bool(density))
    return counts, edges


def _block_digitize(x, bins, right):
    xp = array_module(x)
    (edges,) = on_module(xp, [np.asarray(bins)])
    return xp.digitize(x, edges, right=right)


def _ddigitize(x, bins, right):
    return x.map_blocks(_block_digitize, bins=bins, right=right, dtype=np.intp,
                        meta=meta_from_array(x, dtype=np.intp))


def digitize(x, bins, right=False) -> Tensor:
    """Index of the bin of each value (``bins`` a small monotonic array)."""
    return dask_op(_ddigitize, (as_tensor(x),), tuple(np.asarray(to_host(bins)).tolist()), bool(right))


def _block_isin(x, test, invert):
    xp = array_module(x)
    (values,) = on_module(xp, [np.asarray(test)])
    return xp.isin(x, values, invert=invert)


def _disin(x, test, invert):
    return x.map_blocks(_block_isin, test=test, invert=invert, dtype=bool, meta=meta_from_array(x, dtype=bool))


def isin(element, test_elements, assume_unique=False, invert=False) -> Tensor:
    """Elementwise membership in ``test_elements`` (a small array kept in the graph)."""
    return dask_op(_disin, (as_tensor(element),), tuple(np.asarray(to_host(test_elements)).ravel().tolist()),
                   bool(invert))


def _dpad(x, pad_width, mode, kw):
    return da.pad(x, pad_width, mode=mode, **dict(kw))


def pad(array, pad_width, mode="constant", **kwargs) -> Tensor:
    """``array`` padded as ``np.pad`` (dask.array's)."""
    width = np.broadcast_to(np.asarray(pad_width, dtype=int), (as_tensor(array).ndim, 2))
    return dask_op(_dpad, (as_tensor(array),), tuple(map(tuple, width.tolist())), mode,
                   tuple(sorted(kwargs.items())))


def argwhere(a) -> Tensor:
    """Indices of non-zero elements, one row each (row count unknown until computed)."""
    return dask_op(_dargwhere, (as_tensor(a),))


def _ddiag(v, k):
    return da.diag(v, k)


def diag(v, k=0) -> Tensor:
    """The ``k``-th diagonal of a matrix, or a matrix with vector ``v`` on its ``k``-th diagonal."""
    v = as_tensor(v)
    if v.ndim == 2:
        return linalg.diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag takes a 1-D or 2-D Tensor, got {v.ndim}-D")
    return dask_op(_ddiag, (v,), int(k))


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, equal_nan=True):
    """Sorted distinct values, with NumPy's optional outputs (all NaNs are one value unless ``equal_nan=False``)."""
    from .array_api import _unique

    if axis is not None:
        raise NotImplementedError("unique(axis=...) is not supported; call np.unique on the computed array")
    ar = as_tensor(ar)
    x = ravel(ar)
    if return_index or return_inverse:
        values, index, inverse, counts = _unique("unique", x, (0, 1, 2, 3), True, equal_nan)
        wanted = (values, index, reshape(inverse, ar.shape), counts)  # NumPy 2: inverse in ar's shape
        flags = (True, return_index, return_inverse, return_counts)
        return tuple(out for out, want in zip(wanted, flags) if want)
    if return_counts:
        return _unique("unique", x, (0, 1), False, equal_nan)
    return _unique("unique", x, (0,), False, equal_nan)[0]
