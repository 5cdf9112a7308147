"""Building nodes: coercion of user inputs, axis rules, and dask-delegated ops.

``dask_op`` wraps an operation that dask.array already does well (slicing,
reshape, rechunk, tensordot, tsqr, cumsum, ...). The node's metadata comes
from applying the same dask function to *placeholder* arrays that have the
inputs' shape, dtype and chunks but no tasks, so shapes and chunk grids are
known (and errors raised) where the user wrote the line, and lowering later
applies the function to the real lowered inputs.
"""
from __future__ import annotations

import numbers

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

from .chunks import drop_empty_blocks
from .tensor import Tensor, make_node

__all__ = ["as_tensor", "dask_op", "normalize_axis", "placeholder", "source_from_dask", "toposort"]


def placeholder(t: Tensor) -> da.Array:
    """A task-less dask array with ``t``'s metadata (for deriving metadata)."""
    graph = HighLevelGraph({t.key: MaterializedLayer({})}, {t.key: set()})
    meta = np.empty((0,) * t.ndim, dtype=t.dtype)
    return da.Array(graph, t.key, t.chunks, meta=meta)


def source_from_dask(darr: da.Array, device: str = "cpu") -> Tensor:
    """A source node whose chunks are those of the dask array ``darr`` (zero-length blocks dropped)."""
    darr = _without_empty_blocks(darr)
    return make_node(
        "source", (), ("dask", darr), darr.shape, darr.dtype, darr.chunks,
        device=device, key=f"from_dask-{darr.name}",
    )


def dask_op(fn, inputs, *args, **kwargs) -> Tensor:
    """A node computing ``fn(*lowered_inputs, *args, **kwargs)`` with dask.array."""
    inputs = tuple(inputs)
    params = (fn, args, tuple(sorted(kwargs.items())))
    out = fn(*(placeholder(t) for t in inputs), *args, **kwargs)
    node = make_node("dask", inputs, params, out.shape, out.dtype, out.chunks)
    grid = drop_empty_blocks(out.chunks)
    if grid == out.chunks:
        return node
    if out.size == 0:  # nothing to compute: one empty block, on the inputs' device
        return source_from_dask(da.zeros(out.shape, dtype=out.dtype, chunks=-1)).to_device(node.device)
    out = _rechunk(out, grid)
    return make_node("dask", (node,), (_rechunk, (grid,), ()), out.shape, out.dtype, out.chunks)


def _rechunk(x, grid):
    return x.rechunk(grid)


def _without_empty_blocks(darr: da.Array) -> da.Array:
    """``darr`` rechunked without zero-length blocks (see ``chunks.drop_empty_blocks``)."""
    grid = drop_empty_blocks(darr.chunks)
    if grid == darr.chunks:
        return darr
    return darr.rechunk(grid) if darr.size else da.zeros(darr.shape, dtype=darr.dtype, chunks=-1)


def as_tensor(x, like: Tensor | None = None) -> Tensor:
    """``x`` as a Tensor: Tensors pass through, dask arrays and array-likes wrap."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, da.Array):
        return source_from_dask(x)
    from .creation import from_array

    if type(x).__module__.startswith("cupy"):  # a CuPy array stays on its GPU
        return from_array(x, chunks=-1)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"cannot make a Tensor from {type(x).__name__} of objects: {x!r:.80}")
    return from_array(arr, chunks=-1)


def is_scalar(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic, bool)) or (
        isinstance(x, np.ndarray) and x.ndim == 0
    )


def normalize_axis(axis, ndim: int, allow_none: bool = True) -> tuple:
    """``axis`` (int, tuple or None) as a sorted tuple of non-negative ints."""
    if axis is None:
        if not allow_none:
            raise TypeError("axis=None is not accepted here; pass an int")
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (numbers.Integral,)):
            raise TypeError(f"axis must be an int, a tuple of ints or None, got {axis!r}")
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)) or ndim == 0:
            raise np.exceptions.AxisError(
                f"axis {a} is out of bounds for a Tensor of ndim {ndim}; "
                f"accepted: {-ndim}..{ndim - 1}" if ndim else f"axis {a} is out of bounds for a 0-d Tensor"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def toposort(outputs, expand=None) -> list[Tensor]:
    """All nodes reachable from ``outputs``, inputs before users.

    ``expand(node)`` false stops the walk at ``node`` (it is listed, its
    inputs are not visited through it).
    """
    order, seen = [], set()
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node.key in seen:
            continue
        seen.add(node.key)
        stack.append((node, True))
        if expand is None or expand(node):
            stack.extend((i, False) for i in reversed(node.inputs) if i.key not in seen)
    return order
