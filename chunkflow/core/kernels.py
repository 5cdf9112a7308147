"""Chunk kernels: the functions Dask tasks call on NumPy/CuPy blocks.

Everything here is a pure function of plain data (names, tuples, scalars and
arrays), importable by workers, with no reference to graph nodes.

A *program* is a fused elementwise region: a tuple of instructions
``(function_name, args)`` where each arg is an int (a slot: leaves first,
then earlier results) or ``("c", value)`` (a constant). Running a program on
a whole chunk would allocate one chunk-sized temporary per instruction; we
run it on row blocks of about ``block_elements`` elements instead, so the
temporaries stay in cache and the chunk is read from memory once. That is
where most of dask.array's time goes on elementwise chains.

Reductions keep *partials* with the reduced axes kept (size 1), so two
partials of the same output block merge elementwise:

=========== ================================ ==========================
kind        partial                          final value
=========== ================================ ==========================
sum, prod   (s,)                             s
min, max    (m,)                             m
any, all    (b,)                             b
mean        (count, sum)                     sum / count
var         (count, mean, M2)  (Chan et al.) M2 / (count - ddof)
logsumexp   (m, sum(exp(x - m)))             m + log(s)
=========== ================================ ==========================
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import config
from ..backend import array_module, on_module

__all__ = ["FUNCTIONS", "run_program", "region_block", "group_partial", "group_combine", "group_finalize"]


# ---------------------------------------------------------------- functions
def _np(name):
    return lambda xp, *a: getattr(xp, name)(*a)


def _sigmoid(xp, x):
    # exp(-log(1 + exp(-x))) is stable for large |x| of either sign.
    return xp.exp(-xp.logaddexp(0, -x))


def _astype(xp, x, dtype):
    return x.astype(dtype, copy=False) if hasattr(x, "astype") else xp.asarray(x, dtype=dtype)


def _round(xp, x, decimals):
    return xp.round(x, decimals)


def _clip(xp, x, lo, hi):
    # ufunc form avoids np.clip's Python-level argument checks per block.
    if lo is not None:
        x = xp.maximum(x, lo)
    if hi is not None:
        x = xp.minimum(x, hi)
    return x


def _logical(name):
    return lambda xp, *a: getattr(xp, name)(*a)


_NUMPY_NAMES = {
    # name in chunkflow (NumPy and array-API spellings) -> NumPy function
    "abs": "absolute", "absolute": "absolute", "negative": "negative", "positive": "positive",
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log1p": "log1p", "log2": "log2",
    "log10": "log10", "sqrt": "sqrt", "cbrt": "cbrt", "square": "square", "reciprocal": "reciprocal",
    "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "arcsin", "arccos": "arccos",
    "arctan": "arctan", "asin": "arcsin", "acos": "arccos", "atan": "arctan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsinh": "arcsinh", "arccosh": "arccosh", "arctanh": "arctanh",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "sign": "sign", "signbit": "signbit",
    "floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "rint", "isnan": "isnan",
    "isfinite": "isfinite", "isinf": "isinf", "conj": "conjugate", "conjugate": "conjugate",
    "real": "real", "imag": "imag", "logical_not": "logical_not", "bitwise_invert": "invert",
    "invert": "invert", "bitwise_not": "invert", "deg2rad": "deg2rad", "rad2deg": "rad2deg",
    "angle": "angle", "fabs": "fabs",
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "true_divide": "divide", "floor_divide": "floor_divide", "remainder": "remainder",
    "mod": "remainder", "fmod": "fmod", "power": "power", "pow": "power", "float_power": "float_power",
    "maximum": "maximum", "minimum": "minimum", "fmax": "fmax", "fmin": "fmin",
    "arctan2": "arctan2", "atan2": "arctan2", "hypot": "hypot", "copysign": "copysign",
    "nextafter": "nextafter", "logaddexp": "logaddexp", "logaddexp2": "logaddexp2",
    "equal": "equal", "not_equal": "not_equal", "less": "less", "less_equal": "less_equal",
    "greater": "greater", "greater_equal": "greater_equal", "logical_and": "logical_and",
    "logical_or": "logical_or", "logical_xor": "logical_xor", "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "left_shift": "left_shift",
    "right_shift": "right_shift", "bitwise_left_shift": "left_shift",
    "bitwise_right_shift": "right_shift", "where": "where", "heaviside": "heaviside",
    "isclose": "isclose", "nan_to_num": "nan_to_num",
}

FUNCTIONS = {name: _np(np_name) for name, np_name in _NUMPY_NAMES.items()}
def _matmul(xp, a, b):
    return xp.matmul(a, b)


def _broadcast_like(xp, g, like):
    """``g`` broadcast against ``like``'s block (a reduction's cotangent, spread back)."""
    return xp.broadcast_to(g, np.broadcast_shapes(np.shape(g), np.shape(like)))


FUNCTIONS.update(sigmoid=_sigmoid, astype=_astype, round=_round, clip=_clip, matmul=_matmul,
                 broadcast_like=_broadcast_like)


# ---------------------------------------------------------------- programs
def run_program(program, leaves, xp, last=None):
    """Values of ``program``'s instructions on ``leaves`` (one block).

    ``last`` (from ``_last_uses``) says which intermediates to drop after
    each instruction: a block's temporaries then stay few and hot in cache,
    and the allocator hands back the buffer just freed (measured 1.5x faster
    than keeping every intermediate to the end of the block).
    """
    env = list(leaves)
    last = last or {}
    for i, (fname, args) in enumerate(program):
        vals = [a[1] if type(a) is tuple else env[a] for a in args]
        env.append(FUNCTIONS[fname](xp, *vals))
        for slot in last.get(i, ()):
            env[slot] = None
    return env


@functools.lru_cache(maxsize=256)
def _last_uses(program, nleaves, keep) -> dict:
    """{instruction index: slots whose last use it is}, sparing the slots in ``keep``."""
    last = {}
    for i, (_, args) in enumerate(program):
        for a in args:
            if type(a) is not tuple:
                last[a] = i
    out: dict = {}
    for slot, i in last.items():
        if slot not in keep:
            out.setdefault(i, []).append(slot)
    return out


def _row_slices(shape, leaves, rows):
    """Row blocks of about ``block_elements`` elements of the widest row-aligned array, and at least
    ``MIN_BLOCK_ROWS`` rows where that stays under 8x ``block_elements``: a program's per-row vectors
    (``X @ w``, a loss per row) are as long as a block, and on blocks of a few hundred rows Python's
    cost per instruction outweighs the arithmetic (logistic regression on 2M x 32: 2.6 s instead
    of 4.2-5.5 s; elementwise chains unchanged)."""
    row_elems = max([math.prod(shape[1:])] + [math.prod(a.shape[1:]) for a, r in zip(leaves, rows) if r])
    target = config.get("block_elements")
    # at least MIN_BLOCK_ROWS rows, but never blocks over 8x the target (wide rows keep small blocks)
    step = max(1, target // max(row_elems, 1), min(MIN_BLOCK_ROWS, 8 * target // max(row_elems, 1)))
    return [slice(s, min(s + step, shape[0])) for s in range(0, shape[0], step)]


MIN_BLOCK_ROWS = int(__import__("os").environ.get("CHUNKFLOW_MIN_BLOCK_ROWS", 4096))


def _block_leaves(leaves, rows, sl):
    return [a[sl] if r else a for a, r in zip(leaves, rows)]


def _whole(shape, leaves, temporaries: bool) -> bool:
    """Whether to run a NumPy chunk whole: row blocks only pay when it would make temporaries.

    GPU chunks always run whole: a GPU has no cache-sized sweet spot to aim
    for, and each row block would cost a kernel launch per instruction.

    ``shape`` is None when the chunk's length is unknown until it runs (after a
    boolean mask): such chunks run whole.
    """
    if shape is None:
        return True
    total = max([math.prod(shape)] + [a.size for a in leaves if hasattr(a, "size")])
    return not temporaries or not shape or shape[0] <= 1 or total <= config.get("block_elements")


def region_block(program, out_slot, dtype, shape, rows, *leaves):
    """One chunk (of ``shape``) of a fused elementwise region's output.

    ``rows[i]`` says whether leaf ``i`` runs along the chunk's rows (and is
    sliced into row blocks) or is broadcast / contracted (used whole).
    """
    xp = array_module(*leaves)
    leaves = on_module(xp, leaves)  # NumPy operands (parameters) of a GPU chunk move to the GPU
    with np.errstate(all="ignore"):
        last = _last_uses(program, len(leaves), (out_slot,))
        if xp is not np or _whole(shape, leaves, len(program) > 1):
            env = run_program(program, leaves, xp, last)
            return _as_block(xp, env[out_slot], shape, dtype)
        out = xp.empty(shape, dtype=dtype)
        for sl in _row_slices(shape, leaves, rows):
            env = run_program(program, _block_leaves(leaves, rows, sl), xp, last)
            out[sl] = env[out_slot]
        return out


def _as_block(xp, value, shape, dtype):
    value = xp.asarray(value)
    if value.dtype != dtype:
        value = value.astype(dtype)
    if shape is not None and value.shape != tuple(shape):
        value = xp.broadcast_to(value, shape)
    return value


# ---------------------------------------------------------------- reductions
# A reduction spec is (kind, out_slot, dtype, ddof); a group shares its program.
def _identity(kind, dtype):
    dtype = np.dtype(dtype)
    if kind in ("min", "max"):
        if dtype.kind == "f":
            return np.inf if kind == "min" else -np.inf
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            return info.max if kind == "min" else info.min
        if dtype.kind == "b":
            return kind == "min"
    raise ValueError(f"no identity for {kind} of {dtype}")


def _acc_dtype(dtype):
    """Accumulator for mean/var: float64 unless the input is wider or complex."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return np.result_type(dtype, np.complex128)
    return np.result_type(dtype, np.float64) if dtype.kind == "f" and dtype.itemsize > 8 else np.float64


def _partial(xp, kind, a, axes, dtype, block_sum=None):
    """The partial of ``a`` (a pair for "contract"); ``block_sum(dtype)`` is a shared sum of ``a``."""
    n = math.prod(a.shape[ax] for ax in axes) if axes and kind != "contract" else 1
    if block_sum is None:
        def block_sum(dt):
            return xp.sum(a, axis=axes, keepdims=True, dtype=dt)
    if kind == "sum":
        return (block_sum(dtype),)
    if kind == "contract":
        x, b = a
        return (xp.matmul(x.T, b).astype(dtype, copy=False),)
    if kind == "prod":
        return (xp.prod(a, axis=axes, keepdims=True, dtype=dtype),)
    if kind in ("min", "max"):
        if n == 0:
            shape = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
            return (xp.full(shape, _identity(kind, a.dtype), dtype=a.dtype),)
        return (getattr(xp, kind)(a, axis=axes, keepdims=True),)
    if kind == "any":
        return (xp.any(a, axis=axes, keepdims=True),)
    if kind == "all":
        return (xp.all(a, axis=axes, keepdims=True),)
    if kind == "mean":
        return (n, block_sum(_acc_dtype(a.dtype)))
    if kind == "var":
        acc = _acc_dtype(a.dtype)
        if n == 0:
            shape = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
            z = xp.zeros(shape, dtype=acc)
            return (0, z, z)
        mu = block_sum(acc) / n
        d = a - mu
        if d.dtype.kind == "c":
            d = (d * d.conj()).real
        else:
            d = d * d
        return (n, mu, xp.sum(d, axis=axes, keepdims=True))
    if kind == "logsumexp":
        # (m, s) stands for exp(m) * s; m is finite, or -inf with s == 0.
        if n == 0:
            shape = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
            return (xp.full(shape, -np.inf, dtype=dtype), xp.zeros(shape, dtype=dtype))
        m = xp.max(a, axis=axes, keepdims=True).astype(dtype, copy=False)
        m = xp.where(xp.isfinite(m) | xp.isneginf(m), m, 0)
        return (m, xp.sum(xp.exp(a - _finite(xp, m)), axis=axes, keepdims=True, dtype=dtype))
    raise ValueError(f"unknown reduction kind {kind!r}")


def _finite(xp, m):
    """``m`` with non-finite entries replaced by 0 (a safe shift for exp)."""
    return xp.where(xp.isfinite(m), m, 0)


def _merge(xp, kind, p, q):
    if kind in ("sum", "contract"):
        return (p[0] + q[0],)
    if kind == "prod":
        return (p[0] * q[0],)
    if kind == "min":
        return (xp.minimum(p[0], q[0]),)
    if kind == "max":
        return (xp.maximum(p[0], q[0]),)
    if kind == "any":
        return (xp.logical_or(p[0], q[0]),)
    if kind == "all":
        return (xp.logical_and(p[0], q[0]),)
    if kind == "mean":
        return (p[0] + q[0], p[1] + q[1])
    if kind == "var":
        (n1, m1, s1), (n2, m2, s2) = p, q
        n = n1 + n2
        if n1 == 0 or n2 == 0:
            return p if n2 == 0 else q
        delta = m2 - m1
        return (n, m1 + delta * (n2 / n), s1 + s2 + (delta * delta.conj()).real * (n1 * n2 / n))
    if kind == "logsumexp":
        (m1, s1), (m2, s2) = p, q
        m = xp.maximum(m1, m2)
        shift = _finite(xp, m)
        return (m, s1 * xp.exp(m1 - shift) + s2 * xp.exp(m2 - shift))
    raise ValueError(f"unknown reduction kind {kind!r}")


def _concat(xp, parts, axis):
    """Stack per-row-block partials (each a tuple) along ``axis``."""
    return tuple(
        parts[0][i] if isinstance(parts[0][i], int) else xp.concatenate([q[i] for q in parts], axis=axis)
        for i in range(len(parts[0]))
    )


def group_partial(program, specs, axes, shape, rows, *leaves):
    """Partials of every reduction of a fused group over one input chunk (of ``shape``).

    The region is evaluated once per row block; each reduction's partial of
    the block is merged into its running partial (rows reduced) or stacked
    (rows kept), so the chunk is read once for all reductions of the group.
    """
    xp = array_module(*leaves)
    leaves = on_module(xp, leaves)
    with np.errstate(all="ignore"):
        temporaries = bool(program) or any(sp[0] in ("var", "logsumexp") for sp in specs)
        if xp is not np or _whole(shape, leaves, temporaries):
            blocks = [leaves]
        else:
            blocks = [_block_leaves(leaves, rows, sl) for sl in _row_slices(shape, leaves, rows)]
        acc = [None] * len(specs)
        stacked = [[] for _ in specs]
        keep = tuple(sorted({s for spec in specs for s in (spec[1] if isinstance(spec[1], tuple) else (spec[1],))}))
        last = _last_uses(program, len(leaves), keep)
        for blk in blocks:
            env = run_program(program, blk, xp, last)
            sums: dict = {}  # members reducing the same value share its sum
            for j, (kind, slot, dtype, _ddof) in enumerate(specs):
                a = (env[slot[0]], env[slot[1]]) if kind == "contract" else env[slot]

                def block_sum(dt, a=a, slot=slot):
                    key = (slot, np.dtype(dt))
                    if key not in sums:
                        sums[key] = xp.sum(a, axis=axes, keepdims=True, dtype=dt)
                    return sums[key]

                p = _partial(xp, kind, a, axes, dtype, block_sum)
                if 0 in axes or len(blocks) == 1:
                    acc[j] = p if acc[j] is None else _merge(xp, kind, acc[j], p)
                else:
                    stacked[j].append(p)
        if len(blocks) > 1 and 0 not in axes:
            acc = [_concat(xp, parts, 0) for parts in stacked]
        return tuple(acc)


def group_partials(program, specs, axes, rows, nleaves, shapes, *leaves):
    """Merged partials of several consecutive row blocks (``nleaves`` leaves each).

    The blocks are joined into one first (the lowering gives a task several
    blocks only when together they are small: ``lower._blocks_per_task``), so
    a task of 64 blocks of 100 rows runs the program once, not 64 times: the
    Python cost per call was most of a step's work at 1,000 such blocks.
    Leaves that are not split by rows (parameters) are the same for every
    block.
    """
    blocks = [leaves[i * nleaves:(i + 1) * nleaves] for i in range(len(shapes))]
    if len(blocks) > 1 and None not in shapes:
        xp = array_module(*leaves)
        blocks = [on_module(xp, b) for b in blocks]  # CPU leaves of a GPU task join GPU ones
        joined = [xp.concatenate([b[j] for b in blocks], axis=0) if r else blocks[0][j] for j, r in enumerate(rows)]
        shape = (sum(s[0] for s in shapes),) + tuple(shapes[0][1:])
        return group_partial(program, specs, axes, shape, rows, *joined)
    acc = None
    for shape, block in zip(shapes, blocks):
        p = group_partial(program, specs, axes, shape, rows, *block)
        acc = p if acc is None else group_combine(specs, acc, p)
    return acc



def group_combine(specs, *partials):
    """Merge several partials of the same output blocks (one tree level)."""
    xp = array_module(*(a for p in partials for q in p for a in q if not isinstance(a, int)))
    if xp is not np:
        partials = [tuple(tuple(on_module(xp, q)) for q in p) for p in partials]
    out = list(partials[0])
    with np.errstate(all="ignore"):
        for p in partials[1:]:
            out = [_merge(xp, spec[0], o, q) for spec, o, q in zip(specs, out, p)]
    return tuple(out)


def group_finalize(spec, index, axes, keepdims, out_dtype, partials):
    """Final value of reduction ``index`` of a group from its merged partial."""
    kind, _slot, _dtype, ddof = spec
    p = partials[index]
    xp = array_module(*(a for a in p if not isinstance(a, int)))
    with np.errstate(all="ignore"):
        if kind == "mean":
            value = p[1] / p[0] if p[0] else p[1] * np.nan
        elif kind == "var":
            value = p[2] / max(p[0] - ddof, 0)
        elif kind == "logsumexp":
            value = p[0] + xp.log(p[1])
        else:
            value = p[0]
    value = xp.asarray(value)
    if not keepdims and kind != "contract":
        value = value.reshape(tuple(s for i, s in enumerate(value.shape) if i not in axes))
    return value.astype(out_dtype, copy=False)
