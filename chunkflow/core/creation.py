"""Creating Tensors: from arrays, from dask, and filled or ranged values.

Filled and ranged Tensors are dask.array's own constructors wrapped as
source nodes (their chunks are computed where they are used, never stored in
the graph); ``from_array`` keeps a reference to the array, sliced per chunk.
"""
from __future__ import annotations

import numbers

import dask.array as da
import numpy as np

from .chunks import normalize_chunks
from .graph import source_from_dask
from .tensor import Tensor

__all__ = [
    "from_array", "asarray", "from_dask", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "arange", "linspace", "eye", "identity",
]


def _shape(shape) -> tuple:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimensions are not allowed: shape {shape}")
    return shape


def from_array(x, chunks="auto", dtype=None) -> Tensor:
    """A Tensor over an in-memory array (NumPy, CuPy or anything array-like)."""
    if isinstance(x, Tensor):
        out = x if dtype is None else x.astype(dtype)
        return out if chunks is None else out.rechunk(chunks)
    if isinstance(x, da.Array):
        out = from_dask(x)
        return out.rechunk(chunks) if chunks not in (None, "auto") else out
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = np.asarray(x, dtype=dtype)
    elif dtype is not None:
        x = x.astype(dtype, copy=False)
    if x.dtype == object:
        raise TypeError("object arrays are not supported; convert to a numeric or bool dtype first")
    grid = normalize_chunks(chunks, x.shape, x.dtype)
    darr = da.from_array(x, chunks=grid, name=False, asarray=False)
    from ..backend import device_of

    return source_from_dask(darr, device=device_of(x))


def asarray(obj, dtype=None, device=None, copy=None, chunks="auto") -> Tensor:
    """``obj`` as a Tensor (array API ``asarray``); Tensors are returned as they are."""
    if isinstance(obj, Tensor):
        return obj if dtype is None else obj.astype(dtype)
    if isinstance(obj, da.Array):
        return from_dask(obj) if dtype is None else from_dask(obj).astype(dtype)
    arr = np.array(obj, dtype=dtype, copy=True if copy else None)
    return from_array(arr, chunks=chunks)


def from_dask(darr) -> Tensor:
    """A Tensor whose chunks are the dask array ``darr``'s."""
    if not isinstance(darr, da.Array):
        raise TypeError(f"from_dask expects a dask.array.Array, got {type(darr).__name__}")
    return source_from_dask(darr)


def full(shape, fill_value, dtype=None, chunks="auto") -> Tensor:
    """A Tensor of ``shape`` filled with ``fill_value``."""
    shape = _shape(shape)
    dtype = np.dtype(dtype) if dtype is not None else np.array(fill_value).dtype
    grid = normalize_chunks(chunks, shape, dtype)
    return source_from_dask(da.full(shape, fill_value, dtype=dtype, chunks=grid))


def zeros(shape, dtype=float, chunks="auto") -> Tensor:
    """A Tensor of zeros."""
    return full(shape, 0, dtype=np.dtype(dtype if dtype is not None else float), chunks=chunks)


def ones(shape, dtype=float, chunks="auto") -> Tensor:
    """A Tensor of ones."""
    return full(shape, 1, dtype=np.dtype(dtype if dtype is not None else float), chunks=chunks)


def empty(shape, dtype=float, chunks="auto") -> Tensor:
    """A Tensor of ``shape`` (filled with zeros: chunks are made where used)."""
    return zeros(shape, dtype=dtype, chunks=chunks)


def _like(x, dtype, chunks):
    x = x if isinstance(x, Tensor) else from_array(x)
    return x.shape, (x.dtype if dtype is None else dtype), (x.chunks if chunks is None else chunks)


def zeros_like(x, dtype=None, chunks=None) -> Tensor:
    """Zeros with the shape, dtype and chunks of ``x``."""
    return zeros(*_like(x, dtype, chunks))


def ones_like(x, dtype=None, chunks=None) -> Tensor:
    """Ones with the shape, dtype and chunks of ``x``."""
    return ones(*_like(x, dtype, chunks))


def empty_like(x, dtype=None, chunks=None) -> Tensor:
    """An uninitialized (zero) Tensor like ``x``."""
    return zeros(*_like(x, dtype, chunks))


def full_like(x, fill_value, dtype=None, chunks=None) -> Tensor:
    """``fill_value`` with the shape, dtype and chunks of ``x``."""
    shape, dt, ch = _like(x, dtype, chunks)
    return full(shape, fill_value, dtype=dt if dtype is not None else dt, chunks=ch)


def arange(start, stop=None, step=1, dtype=None, chunks="auto") -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (NumPy's ``arange``)."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange step must not be zero")
    dtype = np.dtype(dtype) if dtype is not None else np.arange(start, start + step, step).dtype
    n = max(int(np.ceil((stop - start) / step)), 0)
    grid = normalize_chunks(chunks, (n,), dtype)
    return source_from_dask(da.arange(start, stop, step, dtype=dtype, chunks=grid))


def linspace(start, stop, num=50, endpoint=True, dtype=None, chunks="auto") -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    if num < 0:
        raise ValueError(f"number of samples must be non-negative, got {num}")
    dtype = np.dtype(dtype) if dtype is not None else np.result_type(start, stop, float)
    grid = normalize_chunks(chunks, (num,), dtype)
    return source_from_dask(da.linspace(start, stop, num, endpoint=endpoint, dtype=dtype, chunks=grid))


def eye(n_rows, n_cols=None, k=0, dtype=float, chunks="auto") -> Tensor:
    """A 2-D Tensor with ones on diagonal ``k``."""
    n_cols = n_rows if n_cols is None else n_cols
    dtype = np.dtype(dtype if dtype is not None else float)
    grid = normalize_chunks(chunks, (n_rows, n_cols), dtype)
    if len(set(grid[0])) > 1 or len(set(grid[1])) > 1 or grid[0][0] != grid[1][0]:
        # dask's eye needs square regular blocks; build from its blocks then rechunk.
        size = max(grid[0][0] if grid[0] else 1, 1)
        out = source_from_dask(da.eye(n_rows, M=n_cols, k=k, dtype=dtype, chunks=size))
        return out.rechunk(grid)
    return source_from_dask(da.eye(n_rows, M=n_cols, k=k, dtype=dtype, chunks=grid[0][0] or 1))


def identity(n, dtype=float, chunks="auto") -> Tensor:
    """The ``n`` x ``n`` identity."""
    return eye(n, dtype=dtype, chunks=chunks)
