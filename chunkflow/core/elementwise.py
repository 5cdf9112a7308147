"""Elementwise operations with NumPy broadcasting and dtype promotion.

One constructor, :func:`elementwise`, builds every elementwise node; the
functions users call (``exp``, ``add``, ``where``, ...) are generated from the
table in ``kernels.FUNCTIONS``. The result dtype is what NumPy itself gives on
tiny arrays of the input dtypes (Python scalars stay "weak", as in NumPy 2),
so promotion rules are NumPy's by construction.
"""
from __future__ import annotations

import math

import numpy as np

from .graph import as_tensor, is_scalar
from .kernels import FUNCTIONS
from .tensor import Tensor, make_node

__all__ = ["elementwise", "broadcast_shapes"]


def _same(a, b) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def broadcast_shapes(*shapes) -> tuple:
    """NumPy's broadcast of ``shapes``; unknown (NaN) lengths broadcast like any length."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        dims = [s[len(s) - ndim + i] for s in shapes if len(s) - ndim + i >= 0]
        known = {d for d in dims if not math.isnan(d) and d != 1}
        if len(known) > 1:
            raise ValueError(
                "operands could not be broadcast together with shapes "
                + " ".join(str(tuple(s)) for s in shapes)
                + f": axis {i - ndim} has lengths {sorted(known)}; lengths must match or be 1"
            )
        if known:
            out.append(known.pop())
        elif any(math.isnan(d) for d in dims):
            out.append(math.nan)
        else:
            out.append(1)
    return tuple(out)


def _meta(x):
    if isinstance(x, Tensor):
        return np.ones((1,), dtype=x.dtype)
    return x


def _result_dtype(fname, args):
    try:
        with np.errstate(all="ignore"):
            out = FUNCTIONS[fname](np, *(_meta(a) for a in args))
    except TypeError as e:
        dtypes = ", ".join(str(a.dtype) if isinstance(a, Tensor) else type(a).__name__ for a in args)
        raise TypeError(f"{fname} is not supported for inputs of type ({dtypes}): {e}") from None
    return np.asarray(out).dtype


def elementwise(fname: str, *args) -> Tensor:
    """The node for ``FUNCTIONS[fname](*args)`` applied chunk by chunk."""
    if fname not in FUNCTIONS:
        raise ValueError(f"unknown elementwise function {fname!r}")
    args = [a if (isinstance(a, Tensor) or a is None or is_scalar(a) or isinstance(a, np.dtype)) else as_tensor(a)
            for a in args]
    args = [a[()] if isinstance(a, np.ndarray) else a for a in args]
    tensors = [a for a in args if isinstance(a, Tensor)]
    if not tensors:
        args[0] = as_tensor(args[0])
        tensors = [args[0]]
    shape = broadcast_shapes(*(t.shape for t in tensors))
    dtype = _result_dtype(fname, args)
    chunks, tensors = _align_chunks(tensors, shape)
    inputs, slots = [], []
    by_key: dict = {}
    aligned = iter(tensors)
    for a in args:
        if isinstance(a, Tensor):
            t = next(aligned)
            if t.key not in by_key:
                by_key[t.key] = len(inputs)
                inputs.append(t)
            slots.append(by_key[t.key])
        else:
            slots.append(("c", a))
    return make_node("elementwise", inputs, (fname, tuple(slots)), shape, dtype, chunks)


def _align_chunks(tensors, shape):
    """Output chunks, and the inputs rechunked so non-broadcast axes line up.

    For each axis the chunking of the biggest input that spans it wins; other
    inputs spanning it are rechunked to match (as dask's unify_chunks does).
    """
    ndim = len(shape)
    chunks = []
    for i in range(ndim):
        spanning = [t for t in tensors if _spans(t, i - ndim, shape[i])]
        if not spanning:
            chunks.append((shape[i],) if not math.isnan(shape[i]) else (math.nan,))
            continue
        ref = max(spanning, key=lambda t: (t.npartitions, t.size if not math.isnan(t.size) else 0))
        chunks.append(ref.chunks[ref.ndim + (i - ndim)])
    out = []
    for t in tensors:
        target = list(t.chunks)
        for j in range(t.ndim):
            i = ndim - t.ndim + j
            if _spans(t, j - t.ndim, shape[i]) and tuple(t.chunks[j]) != tuple(chunks[i]):
                if len(t.chunks[j]) == len(chunks[i]) and any(map(math.isnan, t.chunks[j] + chunks[i])):
                    continue  # unknown sizes: same block count is taken as aligned
                target[j] = chunks[i]
        if target != list(t.chunks):
            from .manipulation import rechunk

            t = rechunk(t, tuple(target))
        out.append(t)
    return tuple(chunks), out


def _spans(t: Tensor, neg_axis: int, length) -> bool:
    """Whether ``t`` covers axis ``neg_axis`` (counted from the right) un-broadcast."""
    return t.ndim >= -neg_axis and (t.shape[neg_axis] != 1 or length == 1)


def astype(x, dtype, copy=True, device=None) -> Tensor:
    """``x`` with elements cast to ``dtype`` (NumPy's unsafe casting).

    Tensors are immutable, so ``copy`` has nothing to do: the same Tensor
    serves when the dtype already matches.
    """
    x = as_tensor(x)
    if device is not None:
        x = x.to_device(device)
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    return elementwise("astype", x, dtype)


def where(condition, x=None, y=None) -> Tensor:
    """Elements of ``x`` where ``condition`` holds, else of ``y``."""
    if x is None and y is None:
        from .manipulation import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where takes either one argument (condition) or three (condition, x, y)")
    condition = as_tensor(condition) if not isinstance(condition, Tensor) else condition
    if condition.dtype != np.bool_:
        condition = elementwise("not_equal", condition, 0)
    return elementwise("where", condition, x, y)


def clip(x, min=None, max=None) -> Tensor:  # noqa: A002 - NumPy's names
    """``x`` limited to ``[min, max]``; ``None`` leaves a side open."""
    if min is None and max is None:
        return as_tensor(x)
    return elementwise("clip", x, min, max)


def round(x, decimals=0) -> Tensor:  # noqa: A001 - NumPy's name
    """``x`` rounded to ``decimals`` places (half to even, as NumPy)."""
    if not isinstance(decimals, int):
        raise TypeError(f"decimals must be an int, got {decimals!r}")
    return elementwise("round", x, decimals)


def _unary(name):
    def f(x):
        return elementwise(name, x)

    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` (NumPy semantics), lazily."
    return f


def _binary(name):
    def f(x1, x2):
        return elementwise(name, x1, x2)

    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` with broadcasting (NumPy semantics), lazily."
    return f


_BINARY = {
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod",
    "fmod", "power", "pow", "float_power", "maximum", "minimum", "fmax", "fmin", "arctan2", "atan2",
    "hypot", "copysign", "nextafter", "logaddexp", "logaddexp2", "equal", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "logical_and", "logical_or", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
    "bitwise_left_shift", "bitwise_right_shift", "heaviside",
}
# kernels that are not elementwise functions of their own (matmul is linalg's, fused by lowering)
_SPECIAL = {"where", "clip", "round", "astype", "isclose", "nan_to_num", "matmul", "broadcast_like"}
UFUNCS = {
    name: (_binary(name) if name in _BINARY else _unary(name))
    for name in FUNCTIONS if name not in _SPECIAL
}
UFUNCS.update(where=where, clip=clip, round=round, astype=astype)
globals().update(UFUNCS)
__all__ += sorted(UFUNCS)
