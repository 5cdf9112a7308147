"""Functions of the Python array API standard that the NumPy-style core lacks.

``Tensor.__array_namespace__`` returns the ``chunkflow`` module, so code written
against the standard (``xp = x.__array_namespace__()``) runs on Tensors. Most
of the standard is the core's own functions; this module adds the rest:

* dtype helpers that accept Tensors (``finfo``, ``iinfo``, ``result_type``,
  ``can_cast``) and the inspection namespace ``__array_namespace_info__``;
* ``meshgrid``, ``tril``/``triu`` (a mask from two ``arange``s, fused with
  the input), ``from_dlpack``;
* scans ``cumulative_sum``/``cumulative_prod`` and ``diff``, composed from
  core ops;
* ``sort``/``argsort``/``take_along_axis``, which gather the sorted axis into
  one chunk (other axes are re-split to the memory budget) and sort each
  chunk with NumPy/CuPy; ``searchsorted`` is dask's;
* ``unique_*``: their lengths depend on the data, so they are unknown (NaN)
  until computed, like boolean indexing. ``unique_values``/``unique_counts``
  reduce each chunk first and merge the per-chunk uniques in one task;
  ``unique_inverse``/``unique_all`` need positions, so they run NumPy's
  ``unique`` on the whole (gathered) input in one task. NaNs are distinct,
  as the standard asks (``np.unique`` passes ``equal_nan=True`` to make them
  one value, as NumPy does).

Arguments the standard makes keyword-only are keyword-only here where NumPy's
positional order differs (``np.diff(x, 2)`` must not mean ``axis=2``), since
NumPy functions called on Tensors dispatch to these. Tensors are immutable:
``__setitem__`` and in-place operators are not offered.
"""
from __future__ import annotations

import math
import numbers
import operator
from collections import namedtuple

import dask.array as da
import numpy as np
from dask.array.utils import meta_from_array
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from ..backend import array_module
from . import reductions as red
from .creation import arange, check_device, from_array, full
from .elementwise import broadcast_shapes, elementwise
from .graph import as_tensor, dask_op, normalize_axis
from .manipulation import broadcast_to, concatenate, getitem, ravel, rechunk, reshape, take
from .tensor import Tensor

__all__ = [
    "__array_namespace_info__", "finfo", "iinfo", "result_type", "can_cast", "meshgrid", "tril",
    "triu", "from_dlpack", "cumulative_sum", "cumulative_prod", "diff", "sort", "argsort",
    "take_along_axis", "searchsorted", "unique_values", "unique_counts", "unique_inverse",
    "unique_all", "UniqueAllResult", "UniqueCountsResult", "UniqueInverseResult",
]


# ---------------------------------------------------------------- dtypes
def _dtype_of(x, name="dtype") -> np.dtype:
    """The dtype of a Tensor, array or dtype-like ``x``."""
    if isinstance(x, Tensor) or (not isinstance(x, type) and hasattr(x, "dtype") and hasattr(x, "shape")):
        return np.dtype(x.dtype)
    try:
        return np.dtype(x)
    except TypeError:
        raise TypeError(f"{name} must be a dtype or a Tensor, got {x!r:.80}") from None


FInfo = namedtuple("FInfo", "bits eps max min smallest_normal dtype tiny resolution precision")
IInfo = namedtuple("IInfo", "bits max min dtype")


def finfo(type) -> FInfo:  # noqa: A002 - the standard's name
    """Machine limits of a floating dtype as Python numbers (``dtype`` is the real dtype).

    The standard's fields, then NumPy's ``tiny``, ``resolution`` and ``precision``.
    """
    dtype = _dtype_of(type, "finfo's argument")
    if dtype.kind not in "fc":
        raise TypeError(f"finfo needs a floating-point or complex dtype, got {dtype}; use iinfo for integers")
    info = np.finfo(dtype)
    return FInfo(int(info.bits), float(info.eps), float(info.max), float(info.min),
                 float(info.smallest_normal), np.dtype(info.dtype), float(info.tiny),
                 float(info.resolution), int(info.precision))


def iinfo(type) -> IInfo:  # noqa: A002 - the standard's name
    """Machine limits of an integer dtype as Python ints."""
    dtype = _dtype_of(type, "iinfo's argument")
    if dtype.kind not in "iu":
        raise TypeError(f"iinfo needs an integer dtype, got {dtype}; use finfo for floating dtypes")
    info = np.iinfo(dtype)
    return IInfo(int(info.bits), int(info.max), int(info.min), dtype)


def result_type(*arrays_and_dtypes) -> np.dtype:
    """The dtype NumPy's promotion gives for Tensors, dtypes and Python scalars together."""
    if not any(not isinstance(a, (bool, int, float, complex)) for a in arrays_and_dtypes):
        raise ValueError("result_type needs at least one Tensor or dtype (Python scalars alone have no dtype)")
    return np.result_type(*(
        a if isinstance(a, (bool, int, float, complex)) else _dtype_of(a, "result_type's argument")
        for a in arrays_and_dtypes
    ))


def can_cast(from_, to) -> bool:
    """Whether a Tensor or dtype ``from_`` casts to dtype ``to`` safely."""
    return bool(np.can_cast(_dtype_of(from_, "from_"), _dtype_of(to, "to")))


_DTYPES = {
    name: np.dtype(name) for name in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float32", "float64", "complex64", "complex128",
    )
}


class Info:
    """What this namespace offers (the standard's inspection API)."""

    def capabilities(self) -> dict:
        """Supported optional features: data-dependent shapes are unknown (NaN) until computed."""
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": None}

    def default_device(self) -> str:
        """The device new Tensors are made on."""
        return "cpu"

    def devices(self) -> list:
        """Devices new Tensors can be made on: ``"gpu"`` too where this process has one."""
        from ..backend import gpu_available

        return ["cpu", "gpu"] if gpu_available() else ["cpu"]

    def default_dtypes(self, *, device=None) -> dict:
        """Default dtypes of new Tensors, by kind."""
        check_device(device)
        return {"real floating": np.dtype(np.float64), "complex floating": np.dtype(np.complex128),
                "integral": np.dtype(np.int64), "indexing": np.dtype(np.intp)}

    def dtypes(self, *, device=None, kind=None) -> dict:
        """Supported dtypes by name, those of ``kind`` (as in ``isdtype``) when given."""
        check_device(device)
        if kind is None:
            return dict(_DTYPES)
        return {name: dt for name, dt in _DTYPES.items() if np.isdtype(dt, kind)}


def __array_namespace_info__() -> Info:
    """The standard's inspection namespace: devices, dtypes and capabilities."""
    return Info()


# ---------------------------------------------------------------- creation
def meshgrid(*arrays, indexing="xy") -> list:
    """Coordinate grids from 1-D Tensors (``"xy"``: the first two axes swapped, as NumPy)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"indexing must be 'xy' or 'ij', got {indexing!r}")
    arrays = [as_tensor(a) for a in arrays]
    for i, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError(f"meshgrid takes 1-D Tensors; input {i} has shape {a.shape}")
    axes = list(range(len(arrays)))
    if indexing == "xy" and len(arrays) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(arrays)
    for a, ax in zip(arrays, axes):
        shape[ax] = a.shape[0]
    return [
        broadcast_to(reshape(a, tuple(-1 if d == ax else 1 for d in range(len(shape)))), tuple(shape))
        for a, ax in zip(arrays, axes)
    ]


def _triangle(name, x, k, keep):
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{name} needs a Tensor of at least 2 dimensions, got shape {x.shape}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name}: k must be an int, got {k!r}")
    if any(math.isnan(s) for s in x.shape[-2:]):
        raise ValueError(
            f"{name} needs known matrix sizes, got shape {x.shape}; call .compute_chunk_sizes() first"
        )
    rows = reshape(arange(x.shape[-2], chunks=(x.chunks[-2],)), (-1, 1))
    cols = arange(x.shape[-1], chunks=(x.chunks[-1],))
    mask = elementwise(keep, elementwise("subtract", cols, rows), int(k))
    return elementwise("where", mask, x, x.dtype.type(0))


def tril(x, k=0) -> Tensor:
    """``x`` with elements above diagonal ``k`` of its last two axes set to zero."""
    return _triangle("tril", x, k, "less_equal")


def triu(x, k=0) -> Tensor:
    """``x`` with elements below diagonal ``k`` of its last two axes set to zero."""
    return _triangle("triu", x, k, "greater_equal")


def from_dlpack(x, *, device=None, copy=None) -> Tensor:
    """A Tensor over an object exporting DLPack (NumPy, CuPy, PyTorch, ... arrays)."""
    if isinstance(x, Tensor):
        return x if device is None else x.to_device(device)
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"from_dlpack needs an object with __dlpack__, got {type(x).__name__}")
    check_device(device)
    if type(x).__module__.startswith("cupy"):  # stays on its GPU
        out = from_array(x.copy() if copy else x)
    else:
        out = from_array(np.from_dlpack(x, copy=copy) if copy is not None else np.from_dlpack(x))
    return out if device is None else out.to_device(device)


# ---------------------------------------------------------------- scans
def _cumulative(name, kind, x, axis, dtype, include_initial):
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError(f"{name} needs a Tensor of at least 1 dimension, got a 0-d Tensor")
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"{name}: axis is required for a {x.ndim}-d Tensor (shape {x.shape})")
        axis = 0
    (ax,) = normalize_axis(axis, x.ndim, allow_none=False)
    out = getattr(red, kind)(x, axis=ax, dtype=dtype)
    if not include_initial:
        return out
    first = full(tuple(1 if d == ax else s for d, s in enumerate(x.shape)), 0 if kind == "cumsum" else 1,
                 dtype=out.dtype)
    return concatenate([first, out], axis=ax)


def cumulative_sum(x, *, axis=None, dtype=None, include_initial=False) -> Tensor:
    """Running sums along ``axis`` (a leading 0 when ``include_initial``)."""
    return _cumulative("cumulative_sum", "cumsum", x, axis, dtype, include_initial)


def cumulative_prod(x, *, axis=None, dtype=None, include_initial=False) -> Tensor:
    """Running products along ``axis`` (a leading 1 when ``include_initial``)."""
    return _cumulative("cumulative_prod", "cumprod", x, axis, dtype, include_initial)


def diff(x, *, axis=-1, n=1, prepend=None, append=None) -> Tensor:
    """``n``-th differences along ``axis`` (``not_equal`` for booleans, as NumPy)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("diff needs a Tensor of at least 1 dimension, got a 0-d Tensor")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    (ax,) = normalize_axis(axis, x.ndim, allow_none=False)
    parts = [as_tensor(p) for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concatenate(parts, axis=ax)
    before = (slice(None),) * ax
    op = "not_equal" if x.dtype == np.bool_ else "subtract"
    for _ in range(int(n)):
        x = elementwise(op, getitem(x, before + (slice(1, None),)), getitem(x, before + (slice(None, -1),)))
    return x


# ---------------------------------------------------------------- sorting
def _whole_axis(x, ax):
    """``x`` rechunked so ``ax`` is one chunk; other axes re-split to the memory budget."""
    if x.numblocks[ax] <= 1:
        return x
    return rechunk(x, tuple(-1 if d == ax else "auto" for d in range(x.ndim)))


def _block_sort(block, axis, descending, stable, arg):
    """Sorted block, or the sorting indices when ``arg`` (stable descending by flipping)."""
    xp = array_module(block)
    if descending:
        block = xp.flip(block, axis)
    fn = xp.argsort if arg else xp.sort
    out = fn(block, axis=axis, kind="stable" if stable else None)
    if descending:
        out = xp.flip(out, axis)
        if arg:
            out = block.shape[axis] - 1 - out
    return out


def _dsort(x, axis, descending, stable, arg):
    dtype = np.dtype(np.intp) if arg else x.dtype
    return x.map_blocks(_block_sort, axis=axis, descending=descending, stable=stable, arg=arg,
                        dtype=dtype, meta=meta_from_array(x, ndim=x.ndim, dtype=dtype))


def _sort(name, x, axis, descending, stable, arg):
    x = as_tensor(x)
    if axis is None:  # NumPy's np.sort(x, axis=None): the flattened Tensor
        x, axis = ravel(x), 0
    if x.ndim == 0:
        raise ValueError(f"{name} needs a Tensor of at least 1 dimension, got a 0-d Tensor")
    (ax,) = normalize_axis(axis, x.ndim, allow_none=False)
    if math.isnan(x.shape[ax]):
        raise ValueError(f"{name} needs a known length along axis {ax}; call .compute_chunk_sizes() first")
    return dask_op(_dsort, (_whole_axis(x, ax),), ax, bool(descending), bool(stable), arg)


def sort(x, axis=-1, *, descending=False, stable=True) -> Tensor:
    """``x`` sorted along ``axis`` (the axis is gathered into one chunk)."""
    return _sort("sort", x, axis, descending, stable, False)


def argsort(x, axis=-1, *, descending=False, stable=True) -> Tensor:
    """Indices that sort ``x`` along ``axis`` (stable: ties keep their order, also descending)."""
    return _sort("argsort", x, axis, descending, stable, True)


def _block_take_along(block, indices, axis):
    xp = array_module(block)
    return xp.take_along_axis(block, indices, axis=axis)


def _dtake_along(x, indices, axis):
    return da.map_blocks(_block_take_along, x, indices, axis=axis, dtype=x.dtype, chunks=indices.chunks,
                         meta=meta_from_array(x, ndim=x.ndim, dtype=x.dtype))


def take_along_axis(x, indices, axis=-1) -> Tensor:
    """Elements of ``x`` at ``indices`` along ``axis`` (e.g. with ``argsort``'s output)."""
    x, indices = as_tensor(x), as_tensor(indices)
    if x.ndim == 0 or indices.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis needs indices of the same number of dimensions as x (at least 1); "
            f"got x of shape {x.shape} and indices of shape {indices.shape}"
        )
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis needs integer indices, got dtype {indices.dtype}")
    (ax,) = normalize_axis(axis, x.ndim, allow_none=False)
    others = broadcast_shapes(*(tuple(1 if d == ax else s for d, s in enumerate(t.shape)) for t in (x, indices)))
    x = broadcast_to(x, others[:ax] + (x.shape[ax],) + others[ax + 1:])
    indices = broadcast_to(indices, others[:ax] + (indices.shape[ax],) + others[ax + 1:])
    indices = _whole_axis(indices, ax)
    x = rechunk(x, tuple((x.shape[ax],) if d == ax else c for d, c in enumerate(indices.chunks)))
    return dask_op(_dtake_along, (x, indices), ax)


def _dsearchsorted(a, v, side):
    return da.searchsorted(a, v, side=side)


def searchsorted(x1, x2, side="left", sorter=None) -> Tensor:
    """Indices where ``x2``'s elements would be inserted into the sorted 1-D ``x1``."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    if x1.ndim != 1:
        raise ValueError(f"searchsorted needs a 1-D x1, got shape {x1.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if sorter is not None:
        x1 = take(x1, as_tensor(sorter))
    if x2.ndim == 0:  # dask's searchsorted fails on 0-d values at compute time
        return reshape(dask_op(_dsearchsorted, (x1, reshape(x2, (1,))), side), ())
    return dask_op(_dsearchsorted, (x1, x2), side)


# ---------------------------------------------------------------- unique
UniqueAllResult = namedtuple("UniqueAllResult", "values indices inverse_indices counts")
UniqueCountsResult = namedtuple("UniqueCountsResult", "values counts")
UniqueInverseResult = namedtuple("UniqueInverseResult", "values inverse_indices")


def _block_unique_counts(block, equal_nan=False):
    """(unique values, counts) of one chunk; NaNs distinct unless ``equal_nan``."""
    xp = array_module(block)
    values, counts = xp.unique(block.reshape(-1), return_counts=True, equal_nan=equal_nan)
    return values, counts


def _merge_unique_counts(parts, equal_nan=False):
    """(unique values, counts) of the union of per-chunk (values, counts)."""
    xp = array_module(parts[0][0])
    values = xp.concatenate([p[0] for p in parts])
    counts = xp.concatenate([p[1] for p in parts])
    out, inverse = xp.unique(values, return_inverse=True, equal_nan=equal_nan)
    total = xp.zeros(len(out), dtype=np.intp)
    xp.add.at(total, inverse.reshape(-1), counts)
    return out, total


def _block_unique_all(block, shape, equal_nan=False):
    """(values, first indices, inverse indices of ``shape``, counts) of the whole input."""
    xp = array_module(block)
    values, index, inverse, counts = xp.unique(
        block.reshape(-1), return_index=True, return_inverse=True, return_counts=True, equal_nan=equal_nan
    )
    return values, index.astype(np.intp), inverse.reshape(shape).astype(np.intp), counts.astype(np.intp)


def _dunique(x, field, full_result, equal_nan=False):
    """Field ``field`` of dask's chunks of ``x``'s uniques (one shared task computes them)."""
    if full_result:
        whole = x.rechunk(tuple(-1 for _ in range(x.ndim)))
        base = "unique-all-" + tokenize(whole.name, equal_nan)
        layer = {base: (_block_unique_all, (whole.name,) + (0,) * x.ndim, x.shape, equal_nan)}
        deps = [whole]
    else:
        base = "unique-counts-" + tokenize(x.name, equal_nan)
        parts = [(x.name, *idx) for idx in np.ndindex(*x.numblocks)]
        layer = {(base + "-part", i): (_block_unique_counts, key, equal_nan) for i, key in enumerate(parts)}
        layer[base] = (_merge_unique_counts, [(base + "-part", i) for i in range(len(parts))], equal_nan)
        deps = [x]
    name = f"{base}-{field}"
    dtype = x.dtype if field == 0 else np.dtype(np.intp)
    if full_result and field == 2:
        layer[(name,) + (0,) * x.ndim] = (operator.getitem, base, field)
        chunks = tuple((s,) for s in x.shape)
    else:
        layer[(name, 0)] = (operator.getitem, base, field)
        chunks = ((math.nan,),)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=deps)
    return da.Array(graph, name, chunks, dtype=dtype, meta=meta_from_array(x, ndim=len(chunks), dtype=dtype))


def _unique(name, x, fields, full_result, equal_nan=False):
    x = as_tensor(x)
    if x.ndim == 0:
        x = reshape(x, (1,))
    if any(math.isnan(s) for s in x.shape) and full_result:
        raise ValueError(f"{name} needs a Tensor of known shape; call .compute_chunk_sizes() first")
    return tuple(dask_op(_dunique, (x,), f, full_result, bool(equal_nan)) for f in fields)


def unique_values(x) -> Tensor:
    """The distinct elements of ``x``, sorted, as a 1-D Tensor of unknown length."""
    return _unique("unique_values", x, (0,), False)[0]


def unique_counts(x) -> UniqueCountsResult:
    """The distinct elements of ``x`` and how often each occurs (per-chunk counts merged)."""
    return UniqueCountsResult(*_unique("unique_counts", x, (0, 1), False))


def unique_inverse(x) -> UniqueInverseResult:
    """The distinct elements of ``x`` and, per element of ``x``, the index of its value."""
    out = _unique("unique_inverse", x, (0, 2), True)
    return UniqueInverseResult(out[0], _unsqueeze_inverse(out[1], x))


def unique_all(x) -> UniqueAllResult:
    """Distinct elements, first-occurrence indices, inverse indices and counts of ``x``."""
    values, index, inverse, counts = _unique("unique_all", x, (0, 1, 2, 3), True)
    return UniqueAllResult(values, index, _unsqueeze_inverse(inverse, x), counts)


def _unsqueeze_inverse(inverse, x):
    """The inverse indices in ``x``'s own shape (0-d inputs were raveled to 1-D)."""
    x = as_tensor(x)
    return reshape(inverse, ()) if x.ndim == 0 else inverse
