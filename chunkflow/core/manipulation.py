"""Shape, movement and indexing: validated here, run by dask.array.

Each function checks its arguments against the input's metadata first (so
errors name the Tensor's shape and what is accepted) and then builds a
``dask_op`` node; dask.array's slicing, reshape and concatenate do the chunk
work. The few block functions of our own (``argwhere``, the scatters that are
the gradients of indexing) take NumPy or CuPy blocks (``backend.array_module``).
"""
from __future__ import annotations

import math
import numbers
import operator

import dask.array as da
import numpy as np
from dask.array.utils import meta_from_array

from ..backend import array_module, on_module, to_host
from .chunks import normalize_chunks
from .graph import _rechunk, as_tensor, dask_op, normalize_axis
from .tensor import Tensor

__all__ = [
    "rechunk", "reshape", "transpose", "permute_dims", "moveaxis", "swapaxes", "squeeze",
    "expand_dims", "broadcast_to", "broadcast_arrays", "concatenate", "stack", "flip", "roll",
    "getitem", "nonzero", "ravel", "tile", "repeat", "matrix_transpose", "unstack", "take",
]


_drechunk = _rechunk  # one dask rechunk function serves graph.py and this module


def rechunk(x, chunks="auto") -> Tensor:
    """``x`` with a new chunk grid (same values)."""
    x = as_tensor(x)
    grid = normalize_chunks(chunks, x.shape, x.dtype) if not _is_grid(chunks, x) else tuple(map(tuple, chunks))
    if grid == x.chunks:
        return x
    return dask_op(_drechunk, (x,), grid)


def _is_grid(chunks, x):
    return (
        isinstance(chunks, tuple) and len(chunks) == x.ndim
        and all(isinstance(c, tuple) for c in chunks)
        and any(math.isnan(s) for c in chunks for s in c)
    )


def _dreshape(x, shape):
    return x.reshape(shape, merge_chunks=True)


def reshape(x, shape, copy=None) -> Tensor:
    """``x`` with a new shape holding the same elements in C order."""
    x = as_tensor(x)
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"can only specify one unknown dimension (-1) in shape {shape}")
    if any(s < -1 for s in shape):
        raise ValueError(f"negative dimensions are not allowed in shape {shape}")
    if math.isnan(x.size):
        raise ValueError(
            "cannot reshape a Tensor with unknown chunk sizes (from boolean indexing); "
            "call .compute_chunk_sizes() first"
        )
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or x.size % known:
            raise ValueError(f"cannot reshape Tensor of size {x.size} into shape {shape}")
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    if math.prod(shape) != x.size:
        raise ValueError(f"cannot reshape Tensor of size {x.size} (shape {x.shape}) into shape {shape}")
    if shape == x.shape:
        return x
    if x.size == 0:  # no values to move, and dask's reshape (and rechunk) fail on empty arrays
        from .creation import zeros

        return zeros(shape, dtype=x.dtype, chunks=-1)
    try:
        return dask_op(_dreshape, (x,), shape)
    except NotImplementedError:  # dask only merges or splits whole axes: (3, 2) -> (2, 3) goes through 1-D
        return dask_op(_dreshape, (dask_op(_dreshape, (x,), (x.size,)),), shape)


def ravel(x) -> Tensor:
    """``x`` flattened to 1-D."""
    return reshape(x, (-1,))


def _dtranspose(x, axes):
    return x.transpose(axes)


def transpose(x, axes=None) -> Tensor:
    """``x`` with axes permuted (reversed when ``axes`` is None)."""
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    axes = tuple(normalize_axis(a, x.ndim)[0] for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"axes {axes} is not a permutation of 0..{x.ndim - 1} for shape {x.shape}")
    if axes == tuple(range(x.ndim)):
        return x
    return dask_op(_dtranspose, (x,), axes)


def permute_dims(x, axes) -> Tensor:
    """Array-API name for :func:`transpose` with explicit axes."""
    return transpose(x, axes)


def matrix_transpose(x) -> Tensor:
    """Swap the last two axes."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dimensions, got shape {x.shape}")
    return swapaxes(x, -1, -2)


def moveaxis(x, source, destination) -> Tensor:
    """Move axes ``source`` to positions ``destination``."""
    x = as_tensor(x)
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        raise ValueError("source and destination must have the same number of axes")
    src = [normalize_axis(a, x.ndim)[0] for a in src]
    dst = [normalize_axis(a, x.ndim)[0] for a in dst]
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def swapaxes(x, axis1, axis2) -> Tensor:
    """``x`` with two axes exchanged."""
    x = as_tensor(x)
    (a,), (b,) = normalize_axis(axis1, x.ndim), normalize_axis(axis2, x.ndim)
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return transpose(x, tuple(order))


def squeeze(x, axis=None) -> Tensor:
    """``x`` without length-1 axes (only ``axis`` when given)."""
    x = as_tensor(x)
    axes = tuple(a for a, s in enumerate(x.shape) if s == 1) if axis is None else normalize_axis(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a} of length {x.shape[a]} (shape {x.shape}); only length-1 axes")
    return reshape(x, tuple(s for a, s in enumerate(x.shape) if a not in axes)) if axes else x


def expand_dims(x, axis=0) -> Tensor:
    """``x`` with new length-1 axes at ``axis``."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1))
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return getitem(x, tuple(None if a in axes else slice(None) for a in range(len(shape))))


def _dbroadcast(x, shape, chunks):
    return da.broadcast_to(x, shape, chunks=chunks)


def broadcast_to(x, shape) -> Tensor:
    """``x`` repeated (without copying) to ``shape``."""
    from .elementwise import broadcast_shapes

    x = as_tensor(x)
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    if len(shape) < x.ndim or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast a Tensor of shape {x.shape} to shape {shape}")
    if shape == x.shape:
        return x
    off = len(shape) - x.ndim
    chunks = tuple(
        x.chunks[a - off] if a >= off and x.shape[a - off] == shape[a] else (shape[a],)
        for a in range(len(shape))
    )
    return dask_op(_dbroadcast, (x,), shape, chunks)


def broadcast_arrays(*arrays) -> list[Tensor]:
    """The inputs broadcast against each other."""
    from .elementwise import broadcast_shapes

    arrays = [as_tensor(a) for a in arrays]
    shape = broadcast_shapes(*(a.shape for a in arrays))
    return [broadcast_to(a, shape) for a in arrays]


def _dconcatenate(*xs, axis):
    return da.concatenate(xs, axis=axis)


def concatenate(arrays, axis=0) -> Tensor:
    """Join Tensors along an existing axis."""
    arrays = [as_tensor(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        return concatenate([ravel(a) for a in arrays], axis=0)
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional Tensors cannot be concatenated")
    (ax,) = normalize_axis(axis, ndim)
    for i, a in enumerate(arrays):
        if a.ndim != ndim:
            raise ValueError(
                f"all inputs must have the same number of dimensions: input 0 has {ndim}, input {i} has {a.ndim}"
            )
        for d in range(ndim):
            if d != ax and a.shape[d] != arrays[0].shape[d] and not math.isnan(a.shape[d]):
                raise ValueError(
                    f"all input dimensions except the concatenation axis {ax} must match: "
                    f"input 0 has shape {arrays[0].shape}, input {i} has shape {a.shape}"
                )
    if len(arrays) == 1:
        return arrays[0]
    return dask_op(_dconcatenate, arrays, axis=ax)


def stack(arrays, axis=0) -> Tensor:
    """Join Tensors along a new axis."""
    arrays = [as_tensor(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    for i, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            raise ValueError(f"all inputs must have the same shape: input 0 has {arrays[0].shape}, input {i} has {a.shape}")
    (ax,) = normalize_axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, ax) for a in arrays], axis=ax)


def unstack(x, axis=0) -> tuple:
    """Tensors along ``axis`` of ``x``."""
    x = as_tensor(x)
    (ax,) = normalize_axis(axis, x.ndim)
    return tuple(getitem(x, (slice(None),) * ax + (i,)) for i in range(x.shape[ax]))


def _dflip(x, axis):
    return da.flip(x, axis)


def flip(x, axis=None) -> Tensor:
    """``x`` with the order of elements reversed along ``axis`` (all when None)."""
    x = as_tensor(x)
    axes = normalize_axis(axis, x.ndim)
    return getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim)))


def _droll(x, shift, axis):
    return da.roll(x, shift, axis)


def roll(x, shift, axis=None) -> Tensor:
    """Elements of ``x`` shifted cyclically along ``axis``."""
    x = as_tensor(x)
    if axis is None:  # NumPy's flat roll; dask's own reshapes with dask, which fails on empty arrays
        return reshape(roll(ravel(x), shift, 0), x.shape)
    axis = normalize_axis(axis, x.ndim)
    axis = axis if isinstance(shift, (tuple, list)) or len(axis) > 1 else axis[0]
    shift = tuple(shift) if isinstance(shift, (tuple, list)) else int(shift)
    return dask_op(_droll, (x,), shift, axis)


def _dtile(x, reps):
    return da.tile(x, reps)


def tile(x, repetitions) -> Tensor:
    """``x`` repeated ``repetitions`` times per axis."""
    reps = (repetitions,) if isinstance(repetitions, numbers.Integral) else tuple(repetitions)
    return dask_op(_dtile, (as_tensor(x),), reps)


def _drepeat(x, repeats, axis):
    return da.repeat(x, repeats, axis=axis)


def repeat(x, repeats, axis=None) -> Tensor:
    """Each element of ``x`` repeated ``repeats`` times along ``axis``."""
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    (ax,) = normalize_axis(axis, x.ndim)
    if not isinstance(repeats, numbers.Integral) or repeats < 0:
        raise ValueError(f"repeats must be a non-negative int, got {repeats!r}")
    return dask_op(_drepeat, (x,), int(repeats), ax)


# ---------------------------------------------------------------- indexing
_INDEX_HELP = (
    "only integers, slices (`:`), ellipsis (`...`), None and integer or boolean arrays are valid indices"
)


def _dgetitem(x, *tensors, index):
    return x[tuple(tensors[i[1]] if isinstance(i, tuple) and i and i[0] == "__tensor__" else i for i in index)]


def getitem(x, index) -> Tensor:
    """``x[index]`` with NumPy semantics (basic, one integer array, boolean mask)."""
    x = as_tensor(x)
    if not isinstance(index, tuple):
        index = (index,)
    tensors, spec = [], []
    for item in index:
        if isinstance(item, da.Array):
            item = as_tensor(item)
        if isinstance(item, Tensor):
            if item.dtype.kind not in "biu":
                raise IndexError(f"{_INDEX_HELP}; got a Tensor of dtype {item.dtype}")
            spec.append(("__tensor__", len(tensors)))
            tensors.append(item)
        elif isinstance(item, (list, np.ndarray)) or array_module(item) is not np:
            arr = np.asarray(to_host(item))  # a CuPy index is small: kept in the graph as NumPy
            if arr.dtype.kind not in "biu" and arr.size:
                raise IndexError(f"{_INDEX_HELP}; got an array of dtype {arr.dtype}")
            spec.append(arr if arr.dtype == bool or arr.ndim else arr[()].item())
            if arr.dtype != bool and arr.ndim and arr.size == 0:
                spec[-1] = arr.astype(np.intp)
        elif item is None or item is Ellipsis or isinstance(item, slice):
            if isinstance(item, slice):
                item = slice(_slice_bound(item.start), _slice_bound(item.stop), _slice_bound(item.step))
                if item.step == 0:
                    raise ValueError("slice step cannot be zero")
            spec.append(item)
        elif isinstance(item, (numbers.Integral, np.integer)) and not isinstance(item, bool):
            spec.append(int(item))
        else:
            raise IndexError(f"{_INDEX_HELP}; got {item!r}")
    _check_index(x, spec, tensors)
    spec = tuple(spec)
    for k, item in enumerate(spec):
        mask = _array_of(item, tensors) if isinstance(item, (np.ndarray, tuple)) else None
        if mask is not None and mask.dtype == bool and mask.ndim == 0:
            return _scalar_mask(x, spec, tensors, k)
        if mask is not None and mask.dtype == bool and 1 < mask.ndim < x.ndim:
            return _merged_mask(x, spec, tensors, k)
    int_arrays = [_array_of(i, tensors) for i in spec if isinstance(i, (np.ndarray, tuple))]
    int_arrays = [a for a in int_arrays if a.dtype != bool]
    if len(int_arrays) == 1 and int_arrays[0].ndim > 1 and not any(isinstance(i, int) for i in spec):
        # one multi-dimensional array alone: refused (tests/core/test_errors.py pins this); beside
        # integers it is the standard's "arrays and ints" indexing, handled below
        raise IndexError(
            f"integer array indices must be 1-D, got shape {int_arrays[0].shape}; index with the flattened "
            f"indices and reshape the result"
        )
    if len(int_arrays) > 1 or any(a.ndim != 1 for a in int_arrays):
        return _pointwise_index(x, spec, tensors)
    if all(isinstance(i, slice) and i == slice(None) or i is Ellipsis for i in spec) and spec.count(Ellipsis) <= 1:
        return x
    if any(isinstance(i, (np.ndarray, tuple)) for i in spec) and any(i is None or isinstance(i, int) for i in spec):
        return _advanced_index(x, spec, tensors)
    return dask_op(_dgetitem, (x, *tensors), index=spec)


def _merged_mask(x, spec, tensors, k):
    """``x[spec]`` where ``spec[k]`` is an N-d boolean mask over some of ``x``'s axes (N > 1).

    dask takes N-d masks only over all axes, so the masked axes are merged into
    one and the raveled mask takes from it (NumPy's result: the masked axes
    become one axis of the selected elements).
    """
    ellipsis = x.ndim - _consumed(spec, tensors)
    start = sum(ellipsis if i is Ellipsis else _consumed((i,), tensors) for i in spec[:k])
    mask = _array_of(spec[k], tensors)
    masked = x.shape[start:start + mask.ndim]
    if any(math.isnan(n) for n in masked):
        raise IndexError(f"a {mask.ndim}-d boolean index needs known lengths on the axes it masks, got {masked}; "
                         f"call .compute_chunk_sizes() first")
    merged = reshape(x, x.shape[:start] + (math.prod(masked),) + x.shape[start + mask.ndim:])
    flat = reshape(mask, (-1,)) if isinstance(mask, Tensor) else mask.reshape(-1)
    items = [flat if j == k else _array_of(i, tensors) if isinstance(i, tuple) else i for j, i in enumerate(spec)]
    return getitem(merged, tuple(items))


def _scalar_mask(x, spec, tensors, k):
    """``x[spec]`` where ``spec[k]`` is a 0-d boolean: a new axis of length 1, kept where the mask is True."""
    consumed = _consumed(spec, tensors)
    pos = 0
    for item in spec[:k]:
        pos += 1 if item is None or isinstance(item, slice) else (x.ndim - consumed if item is Ellipsis else 0)
    mask = _array_of(spec[k], tensors)
    mask = mask[None] if isinstance(mask, Tensor) else mask.reshape(1)
    y = getitem(x, tuple(_restore(i, tensors) for i in spec[:k]) + (None,)
                + tuple(_restore(i, tensors) for i in spec[k + 1:]))
    return getitem(y, (slice(None),) * pos + (mask,))


def _restore(item, tensors):
    return tensors[item[1]] if isinstance(item, tuple) else item


def _slice_bound(v):
    """A slice bound as an int or None: 0-d integer Tensors and arrays count as integers (computed)."""
    if v is None or isinstance(v, int):
        return v
    if isinstance(v, (Tensor, np.ndarray, np.integer)):
        if v.ndim != 0 or v.dtype.kind not in "iu":
            raise IndexError(f"slice bounds must be integers or 0-d integer arrays, got shape {v.shape} dtype {v.dtype}")
    try:
        return operator.index(v)
    except TypeError:
        raise IndexError(f"slice bounds must be integers, None or 0-d integer arrays; got {v!r}") from None


def _pointwise_index(x, spec, tensors):
    """``x[spec]`` with several integer arrays (or ints beside them), by NumPy's rules.

    The arrays broadcast together and pick elements pointwise; the integers count
    as 0-d arrays (so do 0-d integer Tensors). The basic part (slices, ``None``,
    ``...``) is applied first; then the indexed axes are moved first and merged
    into one, which a single flat integer index (broadcast and raveled) takes
    from; the broadcast shape replaces the merged axis, in place when the array
    indices are adjacent in ``spec`` and first otherwise.
    """
    from .elementwise import broadcast_shapes, elementwise

    consumed = _consumed(spec, tensors)
    basic, adv_axes, adv_items, out = [], [], [], 0
    for item in spec:
        if isinstance(item, (np.ndarray, tuple, int)):
            basic.append(slice(None))
            adv_axes.append(out)
            adv_items.append(item)
            out += 1
        else:
            basic.append(item)
            out += 1 if item is None or isinstance(item, slice) else (x.ndim - consumed if item is Ellipsis else 0)
    pos = [i for i, item in enumerate(spec) if isinstance(item, (np.ndarray, tuple, int))]
    adjacent = pos[-1] - pos[0] + 1 == len(pos)
    y = getitem(x, tuple(basic))
    rest = [i for i in range(y.ndim) if i not in adv_axes]
    y = permute_dims(y, tuple(adv_axes) + tuple(rest))
    lengths = [y.shape[i] for i in range(len(adv_axes))]
    y = reshape(y, (math.prod(lengths),) + y.shape[len(adv_axes):])
    idx = []
    for item, n in zip(adv_items, lengths):
        a = _array_of(item, tensors) if not isinstance(item, int) else np.asarray(item)
        a = as_tensor(a) if not isinstance(a, Tensor) else a
        a = elementwise("astype", a, np.dtype(np.int64)) if a.dtype != np.int64 else a
        idx.append(elementwise("where", elementwise("less", a, 0), elementwise("add", a, n), a))
    bshape = broadcast_shapes(*(a.shape for a in idx))
    flat = None
    stride = 1
    for a, n in zip(reversed(idx), reversed(lengths)):
        term = a if stride == 1 else elementwise("multiply", a, stride)
        flat = term if flat is None else elementwise("add", flat, term)
        stride *= n
    flat = reshape(broadcast_to(flat, bshape), (-1,))
    z = getitem(y, (flat,))
    z = reshape(z, bshape + y.shape[1:])
    if adjacent and adv_axes[0] and bshape:
        nb = len(bshape)
        z = moveaxis(z, tuple(range(nb)), tuple(range(adv_axes[0], adv_axes[0] + nb)))
    return z


def _array_of(item, tensors):
    return tensors[item[1]] if isinstance(item, tuple) else item


def _consumed(spec, tensors) -> int:
    """Axes of the input that ``spec`` indexes (a boolean array takes as many as it has)."""
    return sum(
        _array_of(i, tensors).ndim if isinstance(i, (np.ndarray, tuple)) and _array_of(i, tensors).dtype == bool
        else 1
        for i in spec if i is not None and i is not Ellipsis
    )


def _advanced_index(x, spec, tensors):
    """``x[spec]`` for one array index beside integers or ``None``, by NumPy's rules.

    dask applies such an index in place (and fails beside ``None``); NumPy
    moves the array's axis first when the array and the integers are apart.
    So the basic part (integers, slices, ``None``) is applied first, then the
    array alone, then its axis is moved where NumPy puts it.
    """
    consumed = _consumed(spec, tensors)
    basic, pos, out = [], 0, 0
    for item in spec:
        if isinstance(item, (np.ndarray, tuple)):
            arr = _array_of(item, tensors)
            k = arr.ndim if arr.dtype == bool else 1
            basic.extend([slice(None)] * k)
            pos, array_item = out, item
            out += k
        else:
            basic.append(item)
            out += 1 if item is None or isinstance(item, slice) else (x.ndim - consumed if item is Ellipsis else 0)
    y = getitem(x, tuple(basic))
    z = dask_op(_dgetitem, (y, *tensors), index=(slice(None),) * pos + (array_item,))
    advanced = [i for i, item in enumerate(spec) if isinstance(item, (int, np.ndarray, tuple))]
    if advanced[-1] - advanced[0] + 1 != len(advanced):
        z = moveaxis(z, pos, 0)
    return z


def _check_index(x, spec, tensors):
    if sum(i is Ellipsis for i in spec) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = _consumed(spec, tensors)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for Tensor: Tensor is {x.ndim}-dimensional, but {consumed} were indexed")
    arrays = [_array_of(i, tensors) for i in spec if isinstance(i, (np.ndarray, tuple))]
    if len(arrays) > 1 and any(a.dtype == bool for a in arrays):
        raise IndexError("indexing with a boolean array beside other arrays is not supported; "
                         "index one axis at a time")
    axis = 0
    for pos, item in enumerate(spec):
        if item is None:
            continue
        if item is Ellipsis:
            axis = x.ndim - _consumed(spec[pos + 1:], tensors)  # an N-d boolean mask after it takes N axes
            continue
        n = x.shape[axis] if axis < x.ndim else math.nan  # a 0-d boolean index consumes no axis
        if isinstance(item, int):
            if not math.isnan(n) and not -n <= item < n:
                raise IndexError(f"index {item} is out of bounds for axis {axis} with size {n}")
        elif isinstance(item, np.ndarray) and item.dtype != bool and item.size:
            lo, hi = int(item.min()), int(item.max())
            if not math.isnan(n) and (lo < -n or hi >= n):
                bad = lo if lo < -n else hi
                raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
        elif isinstance(item, np.ndarray) and item.dtype == bool:
            want = x.shape[axis:axis + item.ndim]
            if item.shape != want and not any(map(math.isnan, want)):
                raise IndexError(
                    f"boolean index of shape {item.shape} does not match the indexed axes of shape {want}"
                )
            axis += item.ndim
            continue
        elif isinstance(item, tuple):
            t = tensors[item[1]]
            if t.dtype == bool:
                want = x.shape[axis:axis + t.ndim]
                if t.shape != want and not any(map(math.isnan, want + t.shape)):
                    raise IndexError(
                        f"boolean index of shape {t.shape} does not match the indexed axes of shape {want}"
                    )
                axis += t.ndim
                continue
        axis += 1


def take(x, indices, axis=None) -> Tensor:
    """Elements of ``x`` at integer ``indices`` along ``axis``."""
    x = as_tensor(x)
    if axis is None:
        if x.ndim != 1:
            x = ravel(x)
        axis = 0
    (ax,) = normalize_axis(axis, x.ndim)
    return getitem(x, (slice(None),) * ax + (indices if isinstance(indices, Tensor) else np.asarray(to_host(indices)),))


def _block_argwhere(block, block_info=None):
    """``argwhere`` of one block of rows, its row numbers offset to the block's place in the array."""
    out = array_module(block).argwhere(block)
    start = block_info[0]["array-location"][0][0] if block_info else 0
    if start:
        out[:, 0] += start
    return out


def _dargwhere(x):
    """Indices of the non-zero elements of ``x``, one row each, in C order (dask's ``argwhere``,
    whose ``indices``/``compress`` steps mix NumPy blocks into CuPy ones)."""
    if x.ndim == 0:
        return _dargwhere(x[None])[:, :0]
    if any(math.isnan(c) for c in x.chunks[0]):
        raise ValueError("argwhere/nonzero need known chunk lengths; call .compute_chunk_sizes() first")
    if any(n > 1 for n in x.numblocks[1:]):  # rows whole: block order is then C order
        x = x.rechunk({0: "auto", **{a: -1 for a in range(1, x.ndim)}})
    return x.map_blocks(
        _block_argwhere, chunks=((math.nan,) * x.numblocks[0], (x.ndim,)), dtype=np.intp,
        new_axis=[1] if x.ndim == 1 else None, drop_axis=list(range(2, x.ndim)) or None,
        meta=meta_from_array(x, ndim=2, dtype=np.intp),
    )


def _dnonzero(x, i):
    return _dargwhere(x)[:, i]


def nonzero(x) -> tuple:
    """Indices of the non-zero elements, one Tensor per axis (unknown length)."""
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("nonzero of a 0-d Tensor is not defined; use x[None] first")
    return tuple(dask_op(_dnonzero, (x,), i) for i in range(x.ndim))


def _dscatter(g, zeros, index):
    out = zeros.copy()  # a new dask array: the assignment below must leave the lowered input alone
    out[index] = g
    return out


def scatter_slice(g, shape, chunks, index) -> Tensor:
    """Zeros of ``shape`` with ``g`` placed at basic ``index`` (the VJP of slicing).

    The zeros are an input on ``g``'s device, so their chunks are of ``g``'s
    kind whatever dask believes of them (a client without a GPU sees NumPy).
    """
    from .creation import zeros

    g = as_tensor(g)
    base = zeros(tuple(shape), dtype=g.dtype, chunks=tuple(map(tuple, chunks)), device=g.device)
    return dask_op(_dscatter, (g, base), tuple(index))


def _add_at(shape, dtype, index, g, *tensors):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    xp = array_module(g, *tensors)
    g, *tensors = on_module(xp, [g, *tensors])
    out = xp.zeros(shape, dtype=dtype)
    index = tuple(on_module(xp, [tensors[i[1]] if isinstance(i, tuple) and i and i[0] == "__tensor__" else i
                                 for i in index]))
    if xp is not np and out.dtype.kind == "c":  # CuPy's add.at takes real dtypes only
        xp.add.at(out.real, index, g.real)
        xp.add.at(out.imag, index, g.imag)
    else:
        xp.add.at(out, index, g)
    return out


def _whole(x):
    """A 1-element object array holding the delayed concatenation of all blocks of ``x``."""
    import dask

    blocks = x.to_delayed()
    return dask.delayed(_concat_blocks)(blocks.tolist(), x.ndim)


def _concat_blocks(blocks, ndim):
    """The array of nested lists of ``ndim``-D blocks (``np.block``, which CuPy lacks)."""
    xp = array_module(_first(blocks, ndim))
    if not ndim:
        return xp.asarray(blocks)
    if xp is np:
        return np.block(blocks)
    return _concat_nested(xp, blocks, 0, ndim)


def _first(blocks, depth):
    for _ in range(depth):
        blocks = blocks[0]
    return blocks


def _concat_nested(xp, blocks, axis, ndim):
    if axis == ndim - 1:
        return xp.concatenate(blocks, axis=axis)
    return xp.concatenate([_concat_nested(xp, b, axis + 1, ndim) for b in blocks], axis=axis)


def _dscatter_add(g, *tensors, shape, chunks, dtype, index):
    import dask

    part = dask.delayed(_add_at)(shape, dtype, index, _whole(g), *(_whole(t) for t in tensors))
    meta = meta_from_array(g, ndim=len(shape), dtype=dtype)
    return da.from_delayed(part, shape, dtype=dtype, meta=meta).rechunk(chunks)


def scatter_add(g, shape, chunks, index, tensors=()) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at the advanced ``index`` (the VJP of array indexing).

    Built in one block on one worker: it is the gradient of a parameter, which
    is small; the memory-budget check refuses one larger than a tenth of it.
    """
    from .. import config

    nbytes = int(np.prod(shape)) * np.dtype(g.dtype).itemsize
    if nbytes > config.memory_budget() // 10:
        raise NotImplementedError(
            f"the gradient through array indexing of a {shape} array ({nbytes / 2**20:.0f} MiB) would be "
            f"built in one block, over a tenth of the memory budget; index a smaller parameter")
    return dask_op(_dscatter_add, (as_tensor(g), *tensors), shape=tuple(shape), chunks=tuple(chunks),
                   dtype=np.dtype(g.dtype), index=tuple(index))
