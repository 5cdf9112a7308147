"""chunkflow: an out-of-core, differentiable array and dataflow engine on Dask.

>>> import chunkflow as cf, numpy as np
>>> x = cf.from_array(np.arange(12.0).reshape(4, 3), chunks=(2, -1))
>>> cf.compute(x.sum(axis=0), x.max())
(array([18., 22., 26.]), np.float64(11.0))
"""
from __future__ import annotations

import numpy as _np

from . import config
from .core import Tensor
from .core import elementwise as _ew
from .core import linalg
from .core import random
from .core.creation import (
    arange, asarray, empty, empty_like, eye, from_array, from_dask, full, full_like, identity,
    linspace, ones, ones_like, zeros, zeros_like,
)
from .core.elementwise import UFUNCS as _UFUNCS
from .core.elementwise import broadcast_shapes
from .core.linalg import dot, inner, matmul, outer, tensordot, vecdot, diagonal, trace
from .core.manipulation import (
    broadcast_arrays, broadcast_to, concatenate, expand_dims, flip, matrix_transpose, moveaxis,
    nonzero, permute_dims, ravel, rechunk, repeat, reshape, roll, squeeze, stack, swapaxes, take,
    tile, transpose, unstack,
)
from .core.reductions import (
    all, any, argmax, argmin, count_nonzero, cumprod, cumsum, logsumexp, max, mean, min, prod, std,
    sum, var,
)
from .runtime import compute, persist

__version__ = "0.1.0"
__array_api_version__ = "2023.12"

globals().update(_UFUNCS)
concat = concatenate

# dtypes and dtype helpers are NumPy's own
bool = _np.bool_  # noqa: A001
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
complex64, complex128 = _np.complex64, _np.complex128
e, pi, inf, nan, newaxis = _np.e, _np.pi, _np.inf, _np.nan, None
finfo, iinfo, result_type, can_cast, isdtype = _np.finfo, _np.iinfo, _np.result_type, _np.can_cast, _np.isdtype

__all__ = sorted(
    {
        "Tensor", "config", "linalg", "random", "compute", "persist", "from_array", "asarray",
        "from_dask", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
        "empty_like", "arange", "linspace", "eye", "identity", "concatenate", "concat", "stack",
        "reshape", "transpose", "permute_dims", "moveaxis", "swapaxes", "squeeze", "expand_dims",
        "broadcast_to", "broadcast_arrays", "broadcast_shapes", "flip", "roll", "rechunk", "ravel",
        "nonzero", "tile", "repeat", "take", "unstack", "matrix_transpose", "sum", "prod", "mean",
        "var", "std", "min", "max", "any", "all", "argmin", "argmax", "cumsum", "cumprod",
        "logsumexp", "count_nonzero", "matmul", "dot", "tensordot", "outer", "inner", "vecdot",
        "diagonal", "trace",
    }
    | set(_UFUNCS)
)
