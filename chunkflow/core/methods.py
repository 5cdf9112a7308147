"""Operators and methods of ``Tensor``, attached here to keep ``tensor.py`` a pure node.

Every method is a one-line call to the function of the same name, so the
method and function forms cannot drift apart.
"""
from __future__ import annotations

import math

import numpy as np

from . import elementwise as ew
from . import creation, linalg, manipulation, numpy_compat, reductions
from .graph import as_tensor
from .tensor import Tensor


def _binary(name, reflected=False):
    if reflected:
        return lambda self, other: ew.elementwise(name, other, self)
    return lambda self, other: ew.elementwise(name, self, other)


_OPERATORS = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
    "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "and": "bitwise_and",
    "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift",
}
for _op, _fn in _OPERATORS.items():
    setattr(Tensor, f"__{_op}__", _binary(_fn))
    setattr(Tensor, f"__r{_op}__", _binary(_fn, reflected=True))
for _op, _fn in {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                 "gt": "greater", "ge": "greater_equal"}.items():
    setattr(Tensor, f"__{_op}__", _binary(_fn))

Tensor.__neg__ = lambda self: ew.elementwise("negative", self)
Tensor.__pos__ = lambda self: ew.elementwise("positive", self)
Tensor.__abs__ = lambda self: ew.elementwise("absolute", self)
Tensor.__invert__ = lambda self: ew.elementwise("invert", self)
Tensor.__matmul__ = lambda self, other: linalg.matmul(self, other)
Tensor.__rmatmul__ = lambda self, other: linalg.matmul(other, self)
Tensor.__getitem__ = lambda self, index: manipulation.getitem(self, index)
Tensor.__divmod__ = lambda self, other: (self // other, self % other)

# Reductions
for _name in ("sum", "prod", "mean", "var", "std", "min", "max", "any", "all", "argmin", "argmax",
              "cumsum", "cumprod", "logsumexp"):
    setattr(Tensor, _name, getattr(reductions, _name))

# Movement
Tensor.rechunk = manipulation.rechunk
Tensor.transpose = lambda self, *axes: manipulation.transpose(
    self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,) else (axes or None)
)
Tensor.T = property(lambda self: manipulation.transpose(self))
Tensor.mT = property(lambda self: manipulation.matrix_transpose(self))
Tensor.reshape = lambda self, *shape, **kw: manipulation.reshape(
    self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape, **kw
)
Tensor.ravel = manipulation.ravel
Tensor.flatten = manipulation.ravel
Tensor.squeeze = manipulation.squeeze
Tensor.swapaxes = manipulation.swapaxes
Tensor.repeat = manipulation.repeat
Tensor.nonzero = manipulation.nonzero
Tensor.take = manipulation.take

# Elementwise
Tensor.astype = ew.astype
Tensor.clip = ew.clip
Tensor.round = ew.round
Tensor.conj = lambda self: ew.elementwise("conj", self)
Tensor.real = property(lambda self: ew.elementwise("real", self))
Tensor.imag = property(lambda self: ew.elementwise("imag", self))
Tensor.dot = linalg.dot


Tensor.to_device = creation.to_device


def _item(self, *args):
    """One element as a Python scalar, as ``ndarray.item``: the only one, at a flat index, or at an index tuple."""
    index = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    if not index:
        if self.size != 1:
            raise ValueError(f"item() without an index needs a Tensor of size 1, got shape {self.shape}; "
                             f"pass an index (x.item(0, 2)) or reduce it first")
        return self.compute().reshape(()).item()
    if len(index) == 1 and self.ndim != 1:  # a flat index, as NumPy
        flat = int(index[0])
        if not -self.size <= flat < self.size:
            raise IndexError(f"index {flat} is out of bounds for a Tensor of size {self.size}")
        index = np.unravel_index(flat % self.size, self.shape)
    return self[tuple(int(i) for i in index)].compute().item()


Tensor.item = _item
Tensor.tolist = lambda self: np.asarray(self).tolist()
Tensor.copy = lambda self: self  # Tensors are immutable, so a copy is the same Tensor


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of this Tensor's computed value (runs the graph)."""
    value = self.compute()
    if not hasattr(value, "__dlpack__"):
        value = np.asarray(value)
    given = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
    return value.__dlpack__(**{k: v for k, v in given.items() if v is not None})


def _dlpack_device(self):
    """(DLPack device type, device id): CPU is 1, CUDA is 2."""
    return (1, 0) if self.device == "cpu" else (2, 0)


Tensor.__dlpack__ = _dlpack
Tensor.__dlpack_device__ = _dlpack_device
Tensor.__array_namespace__ = lambda self, api_version=None: __import__("chunkflow")


def _compute_chunk_sizes(self):
    """This Tensor with unknown (NaN) chunk sizes resolved by one counting pass."""
    darr = self.to_dask().compute_chunk_sizes()
    from .graph import source_from_dask

    return source_from_dask(darr, device=self.device)


Tensor.compute_chunk_sizes = _compute_chunk_sizes


# ---------------------------------------------------------------- NumPy protocols
def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if kwargs.get("out") is not None or method not in ("__call__", "reduce", "accumulate", "outer"):
        return NotImplemented
    kwargs.pop("out", None)
    name = ufunc.__name__
    dtype = kwargs.pop("dtype", None)
    if method == "reduce":
        reducer = {"add": reductions.sum, "multiply": reductions.prod, "maximum": reductions.max,
                   "minimum": reductions.min, "logical_and": reductions.all,
                   "logical_or": reductions.any}.get(name)
        if reducer is None or len(inputs) != 1 or set(kwargs) - {"axis", "keepdims"}:
            return NotImplemented
        out = reducer(inputs[0], axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
        return out if dtype is None else out.astype(dtype)
    if method == "accumulate":  # np.add.accumulate(x) is a cumulative sum along axis 0
        scan = {"add": reductions.cumsum, "multiply": reductions.cumprod}.get(name)
        if scan is None or len(inputs) != 1 or set(kwargs) - {"axis"}:
            return NotImplemented
        return scan(inputs[0], axis=kwargs.get("axis", 0), dtype=dtype)
    if method == "outer":  # np.add.outer(a, b): a's axes first, then b's, by broadcasting
        if len(inputs) != 2:
            return NotImplemented
        a, b = (as_tensor(i) for i in inputs)
        inputs = (manipulation.reshape(a, a.shape + (1,) * b.ndim), b)
    if dtype is not None:  # NumPy's dtype=: the loop runs in (and gives) that dtype
        inputs = tuple(ew.astype(i, dtype) if isinstance(i, (Tensor, np.ndarray)) else i for i in inputs)
    if name == "matmul" and not kwargs:  # ndarray @ Tensor
        return linalg.matmul(*inputs)
    name = {"absolute": "abs", "true_divide": "divide", "conjugate": "conj", "invert": "invert"}.get(name, name)
    if name not in ew.FUNCTIONS or kwargs:
        return NotImplemented
    return ew.elementwise(name, *inputs)


def _array_function(self, func, types, args, kwargs):
    import chunkflow

    if not all(issubclass(t, (Tensor, np.ndarray)) or t.__module__.startswith(("dask", "cupy")) for t in types):
        return NotImplemented
    impl = _NUMPY_FUNCTIONS.get(func)
    if impl is None:
        name = func.__name__
        impl = getattr(chunkflow, name, None) if name in chunkflow.__all__ else None
        if impl is None:
            return NotImplemented
    return impl(*args, **kwargs)


Tensor.__array_ufunc__ = _array_ufunc
Tensor.__array_function__ = _array_function
_NUMPY_FUNCTIONS = {getattr(np.linalg, name): getattr(linalg, name) for name in (
    "norm", "qr", "solve", "cholesky", "lstsq", "inv", "svd", "det", "slogdet", "eigh", "eigvalsh",
    "matrix_rank", "pinv", "matrix_power", "svdvals", "matrix_norm", "vector_norm", "vecdot", "outer",
    "tensordot", "matmul", "diagonal", "trace", "cross") if hasattr(np.linalg, name) and hasattr(linalg, name)}
_NUMPY_FUNCTIONS.update({getattr(np, name): getattr(numpy_compat, name) for name in numpy_compat.__all__
                         if hasattr(np, name)})


def _np_cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """``np.cross`` of 3-vectors along one shared axis (the array API's ``linalg.cross``)."""
    if axis is None and not axisa == axisb == axisc:
        raise NotImplementedError("np.cross with different axisa/axisb/axisc is not supported; "
                                  "move the vector axes with np.moveaxis and pass axis=")
    return linalg.cross(a, b, axis=axisa if axis is None else axis)


_NUMPY_FUNCTIONS[np.cross] = _np_cross
_NUMPY_FUNCTIONS.update({np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim, np.size: lambda a, axis=None:
                         math.prod(a.shape) if axis is None else a.shape[axis]})
