"""Linear algebra: contractions, and factorizations of tall-skinny or small matrices.

Contractions (``matmul``, ``tensordot``) are dask.array's blockwise products
with tree-summed partials; BLAS is limited to one thread per task while they
run (see ``runtime``), so scheduler threads and BLAS threads do not fight for
the cores. ``lstsq`` uses dask's tall-skinny QR, and so do ``qr`` (reduced) and
``svd`` (``full_matrices=False``) for a tall 2-D matrix in several row chunks.
The rest of the array API's ``linalg`` extension (``solve``, ``cholesky``,
``inv``, ``det``, ``slogdet``, ``eigh``, ``eigvalsh``, ``matrix_power``,
``matrix_rank``, ``pinv``, ``svdvals``, and ``qr``/``svd`` otherwise) is for
small matrices or stacks of them (Gram matrices, Hessians): each matrix is
gathered into one chunk (the stack axes keep theirs) and NumPy's function runs
per block, or CuPy's on GPU blocks (``_apply``; where CuPy's signature differs
from NumPy's, a kernel here bridges it). ``chunkflow.linalg`` is the namespace
``cf.linalg``.
"""
from __future__ import annotations

import math
import operator
from typing import NamedTuple

import dask.array as da
import numpy as np
from dask.array.utils import meta_from_array

from ..backend import array_module, on_module
from . import reductions as red
from .elementwise import elementwise
from .graph import as_tensor, dask_op, normalize_axis
from .manipulation import rechunk, reshape
from .tensor import Tensor, make_node

__all__ = [
    "matmul", "dot", "tensordot", "outer", "inner", "vecdot", "norm", "vector_norm",
    "matrix_norm", "qr", "solve", "cholesky", "lstsq", "inv", "svd", "diagonal", "trace", "det", "slogdet",
    "eigh", "eigvalsh", "matrix_power", "matrix_rank", "pinv", "svdvals", "cross", "EighResult", "QRResult",
    "SlogdetResult", "SVDResult",
]


def _dmatmul(a, b):
    return da.matmul(a, b)


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy's ``@`` rules (1-D operands, broadcast stacks)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}; use * for scalars")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb and not (math.isnan(ka) or math.isnan(kb)):  # unknown lengths are checked when run
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: {ka} (last axis of the first) "
            f"!= {kb} ({'second-to-last' if b.ndim > 1 else 'only'} axis of the second)"
        )
    _check_numeric("matmul", a, b)
    fused = _row_contraction(a, b)
    if fused is None:
        fused = _row_local(a, b)
    if fused is not None:
        return fused
    return _numpy_dtype(dask_op(_dmatmul, (a, b)), a, b)


# Products that stay inside fused tasks (see lower.py): parameters are small,
# data is big. Both need the data's columns in one chunk and a result that
# fits comfortably in one task's memory.
_SMALL_BYTES = 64 * 2**20


def _small(t: Tensor) -> bool:
    return not math.isnan(t.size) and t.size * t.dtype.itemsize <= _SMALL_BYTES


def _row_local(a: Tensor, b: Tensor) -> Tensor | None:
    """``X @ w`` for row-chunked ``X`` (n, d) and a small ``w`` in one chunk: row-wise."""
    if a.ndim != 2 or b.ndim not in (1, 2) or a.numblocks[1] != 1 or b.npartitions != 1 or not _small(b):
        return None
    if a.dtype.kind not in "fc" and b.dtype.kind not in "fc":
        return None  # integer products: dask's sum keeps NumPy's overflow behaviour simpler to match
    dtype = np.matmul(np.ones((1, 1), a.dtype), np.ones((1,) * b.ndim, b.dtype)).dtype
    shape = a.shape[:1] + b.shape[1:]
    chunks = a.chunks[:1] + b.chunks[1:]
    return make_node("elementwise", (a, b), ("matmul", (0, 1)), shape, dtype, chunks)


def _row_contraction(a: Tensor, b: Tensor) -> Tensor | None:
    """``X.T @ B`` as a reduction over the rows of ``X`` and ``B`` (fuses with other row reductions)."""
    if not (a.op == "dask" and a.params[0] is _transpose_fn() and a.params[1] == ((1, 0),)):
        return None
    x = a.inputs[0]
    if x.ndim != 2 or b.ndim not in (1, 2) or x.numblocks[1] != 1 or (b.ndim == 2 and b.numblocks[1] != 1):
        return None
    if any(math.isnan(s) for s in x.chunks[0] + b.chunks[0]) or (x.dtype.kind not in "fc" and b.dtype.kind not in "fc"):
        return None
    shape = (x.shape[1],) + b.shape[1:]
    if math.prod(shape) * 8 > _SMALL_BYTES:
        return None
    if b.chunks[0] != x.chunks[0]:
        b = rechunk(b, (x.chunks[0],) + b.chunks[1:])
    dtype = np.matmul(np.ones((1, 1), x.dtype), np.ones((1,) * b.ndim, b.dtype)).dtype
    return make_node("reduce", (x, b), ("contract", (0,), False, 0), shape, dtype, tuple((s,) for s in shape))


def _transpose_fn():
    from .manipulation import _dtranspose

    return _dtranspose


def _check_numeric(name, *xs):
    for x in xs:
        if x.dtype.kind not in "biufc":
            raise TypeError(f"{name} needs numeric Tensors, got dtype {x.dtype}")


def _numpy_dtype(out, a, b):
    """``out`` in NumPy's product dtype: dask sums bool and int32 partial products as int64."""
    dtype = np.result_type(a.dtype, b.dtype)
    return out if out.dtype == dtype else elementwise("astype", out, dtype)


def _dtensordot(a, b, axes):
    return da.tensordot(a, b, axes=axes)


def tensordot(a, b, axes=2) -> Tensor:
    """Sum products over the given axes (NumPy's ``tensordot``)."""
    a, b = as_tensor(a), as_tensor(b)
    _check_numeric("tensordot", a, b)
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"axes must be a non-negative int, got {axes}")
        axes = (tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes)))
    raw_a = axes[0] if isinstance(axes[0], (tuple, list)) else (axes[0],)
    raw_b = axes[1] if isinstance(axes[1], (tuple, list)) else (axes[1],)
    if len(raw_a) != len(raw_b):
        raise ValueError(f"tensordot: axes {axes} pair {len(raw_a)} axes of a with {len(raw_b)} of b")
    ax_a = tuple(normalize_axis(i, a.ndim)[0] for i in raw_a)
    ax_b = tuple(normalize_axis(i, b.ndim)[0] for i in raw_b)
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(
                f"tensordot: shape mismatch: axis {i} of a (shape {a.shape}) has length {a.shape[i]}, "
                f"axis {j} of b (shape {b.shape}) has length {b.shape[j]}"
            )
    return _numpy_dtype(dask_op(_dtensordot, (a, b), (ax_a, ax_b)), a, b)


def dot(a, b) -> Tensor:
    """NumPy's ``dot``: matmul for 1-D/2-D, scaling for scalars."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return elementwise("multiply", a, b)
    if b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2,)))


def outer(a, b) -> Tensor:
    """Outer product of two vectors (inputs are flattened)."""
    a, b = reshape(as_tensor(a), (-1,)), reshape(as_tensor(b), (-1,))
    return elementwise("multiply", a[:, None], b[None, :])


def inner(a, b) -> Tensor:
    """Inner product over the last axes."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return elementwise("multiply", a, b)
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 1,)))


def vecdot(x1, x2, axis=-1) -> Tensor:
    """Array-API ``vecdot``: ``sum(conj(x1) * x2, axis)``."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    if x1.dtype.kind == "c":
        x1 = elementwise("conj", x1)
    return red.sum(elementwise("multiply", x1, x2), axis=axis, dtype=np.result_type(x1.dtype, x2.dtype))


def _inexact(x):
    """``x`` as floating point, as NumPy's norms take integer and bool input."""
    return x if x.dtype.kind in "fc" else elementwise("astype", x, np.dtype(np.float64))


def vector_norm(x, axis=None, keepdims=False, ord=2) -> Tensor:  # noqa: A002
    """Vector p-norm over ``axis`` (all elements when None), built from reductions."""
    x = _inexact(as_tensor(x))
    a = elementwise("abs", x)
    if ord == 2:
        return elementwise("sqrt", red.sum(elementwise("square", a), axis=axis, keepdims=keepdims))
    if ord == 1:
        return red.sum(a, axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return red.max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return red.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return red.sum(elementwise("not_equal", a, 0), axis=axis, keepdims=keepdims, dtype=a.dtype)
    if isinstance(ord, (int, float)) and ord != 0:
        s = red.sum(elementwise("power", a, ord), axis=axis, keepdims=keepdims)
        return elementwise("power", s, 1.0 / ord)
    raise ValueError(f"invalid vector norm order {ord!r}; use a number, inf or -inf")


def matrix_norm(x, keepdims=False, ord="fro") -> Tensor:  # noqa: A002
    """Matrix norm over the last two axes: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    x = _inexact(as_tensor(x))
    if x.ndim < 2:
        raise ValueError(f"matrix_norm needs at least 2 dimensions, got shape {x.shape}")
    a = elementwise("abs", x)
    axes = (x.ndim - 2, x.ndim - 1)
    if ord == "fro":
        return elementwise("sqrt", red.sum(elementwise("square", a), axis=axes, keepdims=keepdims))
    if ord in (1, -1):
        col = red.sum(a, axis=x.ndim - 2, keepdims=True)
        out = (red.max if ord == 1 else red.min)(col, axis=x.ndim - 1, keepdims=True)
    elif ord in (np.inf, -np.inf):
        row = red.sum(a, axis=x.ndim - 1, keepdims=True)
        out = (red.max if ord == np.inf else red.min)(row, axis=x.ndim - 2, keepdims=True)
    elif ord in (2, -2, "nuc"):  # from the singular values (each matrix is gathered into one chunk)
        s = svdvals(x)
        reduce = {2: red.max, -2: red.min, "nuc": red.sum}[ord]
        out = reduce(s, axis=-1, keepdims=True).reshape(s.shape[:-1] + (1, 1))
    else:
        raise ValueError(f"invalid matrix norm order {ord!r}; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf")
    return out if keepdims else reshape(out, x.shape[:-2])


def norm(x, ord=None, axis=None, keepdims=False) -> Tensor:  # noqa: A002
    """NumPy's ``linalg.norm``: vector norms for 1-D or an int axis, matrix norms for 2-D."""
    x = as_tensor(x)
    if axis is None and ord is None:
        return vector_norm(x, axis=None, keepdims=keepdims)
    if axis is None:
        axis = tuple(range(x.ndim))
    axes = normalize_axis(axis, x.ndim)
    if len(axes) == 1:
        return vector_norm(x, axis=axes, keepdims=keepdims, ord=2 if ord is None else ord)
    if len(axes) == 2:
        from .manipulation import moveaxis

        # in the order given: (row axis, column axis), which 1/inf norms tell apart
        rows, cols = (int(a) % x.ndim for a in axis)
        out = matrix_norm(moveaxis(x, (rows, cols), (-2, -1)), ord="fro" if ord is None else ord)
        return reshape(out, tuple(1 if d in axes else n for d, n in enumerate(x.shape))) if keepdims else out
    raise ValueError(f"norm over {len(axes)} axes is not defined; use 1 or 2 axes")


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


def _square(name, a):
    """``a`` (a matrix or a stack of them in the last two axes) checked square, matrices in one chunk."""
    a = _matrices(name, a)
    if a.shape[-1] != a.shape[-2]:
        if a.ndim == 2:
            raise ValueError(f"{name} needs a square 2-D matrix, got shape {a.shape}")
        raise ValueError(f"{name} needs square matrices in the last two axes, got shape {a.shape}")
    return a


def _matrices(name, a):
    a = as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"{name} needs a matrix or a stack of matrices (at least 2-D), got shape {a.shape}")
    _check_numeric(name, a)
    return rechunk(a, a.chunks[:-2] + ((a.shape[-2],), (a.shape[-1],)))


def _apply(*blocks, fn, i, kw):
    """``fn(*blocks, **kw)`` (its ``i``-th output), ``np.linalg``'s functions taken from CuPy for GPU blocks."""
    xp = array_module(*blocks)
    if xp is not np:
        blocks = on_module(xp, blocks)
        if getattr(fn, "__module__", None) == "numpy.linalg":
            fn = getattr(xp.linalg, fn.__name__)
    out = fn(*blocks, **dict(kw))
    return out if i is None else out[i]


def _probe_dtype(func, dtypes, i, kw, n=2):
    """The dtype of NumPy's result for inputs of ``dtypes`` (run on tiny identity matrices)."""
    probes = [np.eye(n, dtype=dt) for dt in dtypes]
    return np.asarray(_apply(*probes, fn=func, i=i, kw=kw)).dtype


def _dstack(a, *others, func, core, dtype, i=None, kw=()):
    """NumPy's ``func`` on every block of a stack of matrices held whole in the last two axes."""
    nd = a.ndim
    chunks = a.chunks[: nd - 2] + tuple((int(n),) for n in core)
    drop = list(range(nd - 2 + len(core), nd))
    return da.map_blocks(
        _apply, a, *others, fn=func, i=i, kw=kw, dtype=dtype, chunks=chunks, drop_axis=drop,
        meta=meta_from_array(a, ndim=len(chunks), dtype=dtype),
    )


def _stack_op(a, func, core, i=None, kw=(), dtype=None):
    if dtype is None:
        dtype = _probe_dtype(func, (a.dtype,), i, kw)
    return dask_op(_dstack, (a,), func=func, core=tuple(core), dtype=np.dtype(dtype), i=i, kw=tuple(kw))


def solve(a, b) -> Tensor:
    """``x`` with ``a @ x == b`` for small square ``a`` (or stacks of them; each held in one chunk).

    ``b`` of shape ``(M,)`` is one right-hand side for every matrix; otherwise ``b`` is ``(..., M, K)``
    and the stacks broadcast (the array API's rules, and NumPy 2's).
    """
    a = _square("solve", a)
    b = as_tensor(b)
    m = a.shape[-1]
    if b.ndim == 0 or (b.ndim == 1 and b.shape[0] != m) or (b.ndim > 1 and b.shape[-2] != m):
        raise ValueError(f"solve: b of shape {b.shape} does not match a of shape {a.shape} (needs {m} rows)")
    _check_numeric("solve", b)
    if b.ndim == 1:
        return solve(a, b[:, None])[..., 0]
    from .elementwise import broadcast_shapes
    from .manipulation import broadcast_to

    try:
        stack = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError as e:
        raise ValueError(f"solve: the stacks of a (shape {a.shape}) and b (shape {b.shape}) do not broadcast") from e
    a = rechunk(broadcast_to(a, stack + a.shape[-2:]), -1)
    b = rechunk(broadcast_to(b, stack + b.shape[-2:]), -1)
    dtype = _probe_dtype(np.linalg.solve, (a.dtype, b.dtype), None, ())
    return dask_op(_dstack, (a, b), func=np.linalg.solve, core=b.shape[-2:], dtype=dtype, i=None, kw=())


def _cholesky(a, upper=False):
    xp = array_module(a)
    if xp is np:
        return np.linalg.cholesky(a, upper=upper)
    low = xp.linalg.cholesky(a)  # CuPy's has no `upper`
    return xp.conj(xp.swapaxes(low, -1, -2)) if upper else low


def cholesky(a, upper=False) -> Tensor:
    """Cholesky factor of small symmetric (Hermitian) positive-definite matrices (lower by default)."""
    a = _square("cholesky", a)
    return _stack_op(a, _cholesky, a.shape[-2:], kw=(("upper", bool(upper)),))


def inv(a) -> Tensor:
    """Inverse of small square matrices (or stacks of them)."""
    a = _square("inv", a)
    return _stack_op(a, np.linalg.inv, a.shape[-2:])


def det(x) -> Tensor:
    """Determinants of square matrices (or stacks of them)."""
    x = _square("det", x)
    return _stack_op(x, np.linalg.det, ())


def slogdet(x) -> SlogdetResult:
    """Sign and natural log of the absolute determinant (a named tuple ``sign, logabsdet``)."""
    x = _square("slogdet", x)
    return SlogdetResult(*(_stack_op(x, np.linalg.slogdet, (), i=i) for i in range(2)))


def eigh(x) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric/Hermitian matrices (a named tuple)."""
    x = _square("eigh", x)
    n = x.shape[-1]
    return EighResult(_stack_op(x, np.linalg.eigh, (n,), i=0), _stack_op(x, np.linalg.eigh, (n, n), i=1))


def eigvalsh(x) -> Tensor:
    """Eigenvalues (ascending) of symmetric/Hermitian matrices."""
    x = _square("eigvalsh", x)
    return _stack_op(x, np.linalg.eigvalsh, x.shape[-1:])


def matrix_power(x, n) -> Tensor:
    """``x`` raised to the integer power ``n`` (negative powers invert; stacks map)."""
    x = _square("matrix_power", x)
    return _stack_op(x, np.linalg.matrix_power, x.shape[-2:], kw=(("n", operator.index(n)),))


def _with_rtol(a, rtol, func):
    return func(a, rtol=rtol[..., 0, 0])


def _matrix_rank(a, rtol=None):
    """``np.linalg.matrix_rank(a, rtol=rtol)``; for CuPy, whose ``matrix_rank`` takes no ``rtol``, NumPy's steps."""
    xp = array_module(a)
    if xp is np:
        return np.linalg.matrix_rank(a, rtol=rtol)
    s = xp.linalg.svd(a, compute_uv=False)
    rtol = max(a.shape[-2:]) * np.finfo(s.dtype).eps if rtol is None else xp.asarray(rtol)[..., None]
    return xp.sum(s > s.max(axis=-1, keepdims=True) * rtol, axis=-1, dtype=np.intp)


def _pinv(a, rtol=None):
    """``np.linalg.pinv(a, rtol=rtol)``; CuPy's ``pinv`` takes the cutoff as ``rcond``."""
    xp = array_module(a)
    if xp is np:
        return np.linalg.pinv(a, rtol=rtol)
    return xp.linalg.pinv(a, rcond=max(a.shape[-2:]) * np.finfo(a.dtype).eps if rtol is None else rtol)


def _rtol_op(name, x, rtol, func, core):
    x = _matrices(name, x)
    if rtol is None or isinstance(rtol, (int, float)):
        return _stack_op(x, func, core, kw=(("rtol", rtol),))
    rtol = as_tensor(rtol)
    from .elementwise import broadcast_shapes
    from .manipulation import broadcast_to

    stack = broadcast_shapes(x.shape[:-2], rtol.shape)
    x = rechunk(broadcast_to(x, stack + x.shape[-2:]), -1)
    rtol = rechunk(broadcast_to(rtol, stack)[..., None, None], -1)
    dtype = _probe_dtype(func, (x.dtype,), None, (("rtol", 0.0),))
    return dask_op(_dstack, (x, rtol), func=_with_rtol, core=tuple(core), dtype=dtype, i=None, kw=(("func", func),))


def matrix_rank(x, rtol=None) -> Tensor:
    """Number of singular values above ``rtol * largest`` (NumPy's default tolerance when None)."""
    return _rtol_op("matrix_rank", x, rtol, _matrix_rank, ())


def pinv(x, rtol=None) -> Tensor:
    """Moore-Penrose pseudo-inverse of matrices (or stacks of them)."""
    x = as_tensor(x)
    return _rtol_op("pinv", x, rtol, _pinv, x.shape[-2:][::-1] if x.ndim >= 2 else ())


def _svdvals(a):
    return array_module(a).linalg.svd(a, compute_uv=False)


def svdvals(x) -> Tensor:
    """Singular values of matrices (or stacks of them), in descending order."""
    x = _matrices("svdvals", x)
    return _stack_op(x, _svdvals, (min(x.shape[-2:]),))


def _check_fits(what, shape, dtype, instead):
    """Refuse a result that would not fit the memory budget in one chunk, naming the way out."""
    from .. import config

    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > config.memory_budget():
        raise ValueError(
            f"{what} would make a factor of shape {shape} ({nbytes / 2**30:.1f} GiB), more than the "
            f"memory budget; pass {instead}"
        )


def _tall(name, a):
    a = as_tensor(a)
    if a.ndim != 2:
        raise ValueError(f"{name} needs a 2-D matrix, got shape {a.shape}")
    if a.shape[0] < a.shape[1]:
        raise ValueError(f"{name} is implemented for tall-skinny matrices (rows >= columns), got shape {a.shape}")
    _check_numeric(name, a)
    return rechunk(a, (a.chunks[0], -1))


def _row_chunked(a) -> bool:
    return a.ndim == 2 and a.numblocks[0] > 1


def _dqr(a, i):
    return da.linalg.qr(a)[i]


def qr(a, mode="reduced") -> QRResult:
    """QR factorization (a named tuple ``Q, R``).

    A 2-D matrix in several row chunks is factored by dask's tree QR (tsqr), which needs a
    tall-skinny matrix and ``mode='reduced'``; otherwise each matrix (of a stack) is held in one chunk.
    """
    a = as_tensor(a)
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    if _row_chunked(a) and mode == "reduced":
        a = _tall("qr", a)
        return QRResult(dask_op(_dqr, (a,), 0), dask_op(_dqr, (a,), 1))
    a = _matrices("qr", a)
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    kw = (("mode", mode),)
    return QRResult(_stack_op(a, np.linalg.qr, (m, k), i=0, kw=kw), _stack_op(a, np.linalg.qr, (k, n), i=1, kw=kw))


def _dsvd(a, i):
    return da.linalg.svd(a)[i]


def svd(a, full_matrices=True) -> SVDResult:
    """Singular value decomposition (a named tuple ``U, S, Vh``).

    ``full_matrices=False`` on a tall-skinny 2-D matrix in several row chunks uses dask's tsqr;
    otherwise each matrix (of a stack) is held in one chunk.
    """
    a = as_tensor(a)
    if _row_chunked(a) and not full_matrices and a.shape[0] >= a.shape[1]:
        a = _tall("svd", a)
        return SVDResult(*(dask_op(_dsvd, (a,), i) for i in range(3)))
    a = _matrices("svd", a)
    m, n = a.shape[-2:]
    k = min(m, n)
    if full_matrices:
        _check_fits("svd(full_matrices=True)", a.shape[:-2] + (m, m), a.dtype, "full_matrices=False")
    cores = ((m, m), (k,), (n, n)) if full_matrices else ((m, k), (k,), (k, n))
    kw = (("full_matrices", bool(full_matrices)),)
    return SVDResult(*(_stack_op(a, np.linalg.svd, cores[i], i=i, kw=kw) for i in range(3)))


def cross(x1, x2, /, *, axis=-1) -> Tensor:
    """Cross product of 3-element vectors along ``axis`` (the other axes broadcast)."""
    from .elementwise import broadcast_shapes
    from .manipulation import broadcast_to, stack

    x1, x2 = as_tensor(x1), as_tensor(x2)
    _check_numeric("cross", x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(f"cross needs at least 1-D operands, got shapes {x1.shape} and {x2.shape}")
    if not -min(x1.ndim, x2.ndim) <= axis < min(x1.ndim, x2.ndim):
        raise ValueError(f"cross: axis {axis} is out of bounds for shapes {x1.shape} and {x2.shape}")
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError(f"cross needs length 3 along axis {axis}, got shapes {x1.shape} and {x2.shape}")
    shape = broadcast_shapes(x1.shape, x2.shape)
    ax = axis % len(shape)
    a, b = broadcast_to(x1, shape), broadcast_to(x2, shape)
    dtype = np.result_type(x1.dtype, x2.dtype)
    if a.dtype != dtype:
        a = elementwise("astype", a, dtype)
    if b.dtype != dtype:
        b = elementwise("astype", b, dtype)

    def comp(t, i):
        return t[(slice(None),) * ax + (i,)]

    def term(i, j):
        return elementwise("subtract", elementwise("multiply", comp(a, i), comp(b, j)),
                           elementwise("multiply", comp(a, j), comp(b, i)))

    return stack([term(1, 2), term(2, 0), term(0, 1)], axis=ax)


def _dlstsq(a, b, i):
    return da.linalg.lstsq(a, b)[i]


def lstsq(a, b, rcond=None) -> tuple:
    """Least-squares solution of a tall-skinny system: (x, residuals, rank, singular values)."""
    a = _tall("lstsq", a)
    b = as_tensor(b)
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq: b of shape {b.shape} does not match a of shape {a.shape} (needs {a.shape[0]} rows)")
    b = rechunk(b, (a.chunks[0],) + ((-1,) if b.ndim == 2 else ()))
    return tuple(dask_op(_dlstsq, (a, b), i) for i in range(4))


def _ddiagonal(a, offset, axis1, axis2):
    return da.diagonal(a, offset=offset, axis1=axis1, axis2=axis2)


def diagonal(a, offset=0, axis1=0, axis2=1) -> Tensor:
    """The diagonal of ``a`` (NumPy's argument order)."""
    a = as_tensor(a)
    (a1,), (a2,) = normalize_axis(axis1, a.ndim), normalize_axis(axis2, a.ndim)
    return dask_op(_ddiagonal, (a,), int(offset), a1, a2)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None) -> Tensor:
    """Sum along the diagonal."""
    return red.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)
