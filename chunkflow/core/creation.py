"""Creating Tensors: from arrays, from dask, and filled or ranged values.

Filled and ranged Tensors are dask.array's own constructors wrapped as
source nodes (their chunks are computed where they are used, never stored in
the graph); ``from_array`` keeps a reference to the array, sliced per chunk.
Constructors take the array API's keyword-only ``device=`` (``None`` or ``"cpu"``,
or ``"gpu"``: the chunks are made on the CPU and copied to the GPU in their
tasks, so a GPU Tensor holds the same values as its CPU twin). ``to_device``
moves any Tensor; see ``chunkflow.backend``.
"""
from __future__ import annotations

import numbers

import dask.array as da
import numpy as np

from ..backend import normalize_device, require_gpu
from .chunks import normalize_chunks
from .elementwise import elementwise
from .graph import source_from_dask
from .tensor import Tensor, make_node

__all__ = [
    "from_array", "asarray", "from_dask", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "arange", "linspace", "eye", "identity", "check_device",
    "to_device",
]


def check_device(device) -> str:
    """``"cpu"`` or ``"gpu"`` for a ``device=`` argument; raises for unknown names."""
    return normalize_device(device)


def to_device(x: Tensor, device, /, stream=None) -> Tensor:
    """``x`` with its chunks on ``device`` (``"cpu"``: NumPy, ``"gpu"``: CuPy), lazily.

    Each chunk is copied in its own task, right after the task that makes
    it; the copy and everything computed from it run on GPU workers (see
    ``chunkflow.backend``). Moving to the device ``x`` is on returns ``x``.
    Raises at once when ``"gpu"`` is asked for and no GPU can run it.
    """
    device = normalize_device(device, default=x.device)
    if device == x.device:
        return x
    if device == "gpu":
        require_gpu("to_device('gpu')")
    # Lowering copies the CPU inputs of a GPU node to the GPU (core.lower), so the move to the
    # GPU is a node on the GPU that passes its input through.
    fn = _same if device == "gpu" else _to_cpu_blocks
    return make_node("dask", (x,), (fn, (), ()), x.shape, x.dtype, x.chunks, device=device)


def _same(darr):
    return darr


def _to_cpu_blocks(darr):
    from ..backend import to_cpu

    return darr.map_blocks(to_cpu, dtype=darr.dtype, meta=np.empty((0,) * darr.ndim, dtype=darr.dtype))


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
    from ..backend import device_of

    return source_from_dask(_view_blocks(x, grid), device=device_of(x))


def _view_blocks(x, grid) -> da.Array:
    """A dask array whose blocks are views of ``x``: no copy (``da.from_array`` copies every chunk).

    Like ``np.asarray``, the Tensor then shares ``x``'s memory: changing ``x``
    in place changes what the Tensor computes. Kernels never write into
    their inputs.
    """
    import uuid

    from dask.highlevelgraph import HighLevelGraph

    name = f"array-{uuid.uuid4().hex}"
    dsk = {}
    for index in np.ndindex(*(len(c) for c in grid)):
        starts = [sum(c[:i]) for c, i in zip(grid, index)]
        dsk[(name, *index)] = x[tuple(slice(a, a + c[i]) for a, c, i in zip(starts, grid, index))]
    meta = x[tuple(slice(0, 0) for _ in x.shape)] if x.ndim else x.reshape(1)[:0]
    return da.Array(HighLevelGraph.from_collections(name, dsk, dependencies=()), name, grid, meta=meta)


def asarray(obj, dtype=None, device=None, copy=None, chunks="auto") -> Tensor:
    """``obj`` as a Tensor (array API ``asarray``); Tensors are returned as they are.

    Tensors are immutable, so ``copy=True`` never needs to copy one; ``copy=False``
    raises ``ValueError`` where NumPy would have to copy (a list, a dtype change).
    """
    if isinstance(obj, da.Array):
        obj = from_dask(obj)
    if isinstance(obj, Tensor):
        if device is not None:
            obj = to_device(obj, device)
        if dtype is None or np.dtype(dtype) == obj.dtype:
            return obj
        if copy is False:
            raise ValueError(
                f"asarray(copy=False) cannot change dtype {obj.dtype} to {np.dtype(dtype)} without a copy"
            )
        return obj.astype(dtype)
    if type(obj).__module__.startswith("cupy"):  # chunks of a CuPy array stay on its GPU
        out = from_array(obj, chunks=chunks, dtype=dtype)
    else:
        out = from_array(np.array(obj, dtype=dtype, copy=copy), chunks=chunks)
    return out if device is None else to_device(out, device)


def from_dask(darr) -> Tensor:
    """A Tensor whose chunks are the dask array ``darr``'s."""
    if not isinstance(darr, da.Array):
        raise TypeError(f"from_dask expects a dask.array.Array, got {type(darr).__name__}")
    return source_from_dask(darr)


def full(shape, fill_value, dtype=None, chunks="auto", *, device=None) -> Tensor:
    """A Tensor of ``shape`` filled with ``fill_value``."""
    device = check_device(device)
    shape = _shape(shape)
    dtype = np.dtype(dtype) if dtype is not None else np.array(fill_value).dtype
    grid = normalize_chunks(chunks, shape, dtype)
    return to_device(source_from_dask(da.full(shape, fill_value, dtype=dtype, chunks=grid)), device)


def zeros(shape, dtype=float, chunks="auto", *, device=None) -> Tensor:
    """A Tensor of zeros."""
    return full(shape, 0, dtype=np.dtype(dtype if dtype is not None else float), device=device, chunks=chunks)


def ones(shape, dtype=float, chunks="auto", *, device=None) -> Tensor:
    """A Tensor of ones."""
    return full(shape, 1, dtype=np.dtype(dtype if dtype is not None else float), device=device, chunks=chunks)


def empty(shape, dtype=float, chunks="auto", *, device=None) -> Tensor:
    """A Tensor of ``shape`` (filled with zeros: chunks are made where used)."""
    return zeros(shape, dtype=dtype, device=device, chunks=chunks)


def _like(x, dtype, chunks):
    x = x if isinstance(x, Tensor) else from_array(x)
    return x.shape, (x.dtype if dtype is None else dtype), (x.chunks if chunks is None else chunks)


def _like_device(x, device) -> str:
    """The device of a ``*_like`` result: ``device`` if given, else ``x``'s (NumPy's ``like`` rule)."""
    return normalize_device(device, default=getattr(x, "device", "cpu") if isinstance(x, Tensor) else "cpu")


def zeros_like(x, dtype=None, chunks=None, *, device=None) -> Tensor:
    """Zeros with the shape, dtype and chunks of ``x``."""
    return zeros(*_like(x, dtype, chunks), device=_like_device(x, device))


def ones_like(x, dtype=None, chunks=None, *, device=None) -> Tensor:
    """Ones with the shape, dtype and chunks of ``x``."""
    return ones(*_like(x, dtype, chunks), device=_like_device(x, device))


def empty_like(x, dtype=None, chunks=None, *, device=None) -> Tensor:
    """An uninitialized (zero) Tensor like ``x``."""
    return zeros(*_like(x, dtype, chunks), device=_like_device(x, device))


def full_like(x, fill_value, dtype=None, chunks=None, *, device=None) -> Tensor:
    """``fill_value`` with the shape, dtype and chunks of ``x``."""
    shape, dt, ch = _like(x, dtype, chunks)
    return full(shape, fill_value, dtype=dt, device=_like_device(x, device), chunks=ch)


def arange(start, stop=None, step=1, dtype=None, chunks="auto", *, device=None) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (NumPy's ``arange``)."""
    device = check_device(device)
    if step == 0:
        raise ValueError("arange step must not be zero")
    if dtype is None:  # from all three arguments, before a lone ``start`` becomes ``stop``
        given = (start, step) if stop is None else (start, stop, step)
        dtype = np.result_type(*(np.asarray(v).dtype for v in given))
    if stop is None:
        start, stop = 0, start
    dtype = np.dtype(dtype)
    if all(isinstance(v, numbers.Integral) for v in (start, stop, step)):
        n = max(-((int(start) - int(stop)) // int(step)), 0)  # exact for integers of any size
    else:
        n = max(int(np.ceil((stop - start) / step)), 0)
    grid = normalize_chunks(chunks, (n,), dtype)
    return to_device(source_from_dask(da.arange(start, stop, step, dtype=dtype, chunks=grid)), device)


def linspace(start, stop, num=50, endpoint=True, dtype=None, chunks="auto", *, device=None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (NumPy's formula: ``stop`` is exact)."""
    device = check_device(device)
    if isinstance(num, bool) or not isinstance(num, numbers.Integral) or num < 0:
        raise ValueError(f"number of samples must be a non-negative int, got {num!r}")
    work = np.result_type(start, stop, float)
    dtype = np.dtype(dtype) if dtype is not None else work
    div = num - 1 if endpoint else num
    i = arange(num, dtype=work, chunks=chunks, device=device)
    step = (stop - start) / div if div > 0 else 0
    y = elementwise("add", elementwise("multiply", i, step), start)
    if endpoint and num > 1:
        y = elementwise("where", elementwise("equal", i, num - 1), stop, y)
    if dtype.kind in "iu":
        y = elementwise("floor", y)
    return elementwise("astype", y, dtype) if y.dtype != dtype else y


def eye(n_rows, n_cols=None, k=0, dtype=float, chunks="auto", *, device=None) -> Tensor:
    """A 2-D Tensor with ones on diagonal ``k``."""
    device = check_device(device)
    if device != "cpu":
        return to_device(eye(n_rows, n_cols, k=k, dtype=dtype, chunks=chunks), device)
    n_cols = n_rows if n_cols is None else n_cols
    dtype = np.dtype(dtype if dtype is not None else float)
    grid = normalize_chunks(chunks, (n_rows, n_cols), dtype)
    if n_rows == 0 or n_cols == 0:  # dask's eye divides by the block size
        return zeros((n_rows, n_cols), dtype=dtype, chunks=grid)
    if len(set(grid[0])) > 1 or len(set(grid[1])) > 1 or grid[0][0] != grid[1][0]:
        # dask's eye needs square regular blocks; build from its blocks then rechunk.
        size = max(grid[0][0] if grid[0] else 1, 1)
        out = source_from_dask(da.eye(n_rows, M=n_cols, k=k, dtype=dtype, chunks=size))
        return out.rechunk(grid)
    return source_from_dask(da.eye(n_rows, M=n_cols, k=k, dtype=dtype, chunks=grid[0][0] or 1))


def identity(n, dtype=float, chunks="auto", *, device=None) -> Tensor:
    """The ``n`` x ``n`` identity."""
    return eye(n, dtype=dtype, device=device, chunks=chunks)
