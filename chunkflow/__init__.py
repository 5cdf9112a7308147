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
from . import linalg
from .core import random
from .core.array_api import (
    UniqueAllResult, UniqueCountsResult, UniqueInverseResult, __array_namespace_info__, argsort,
    can_cast, cumulative_prod, cumulative_sum, diff, finfo, from_dlpack, iinfo, meshgrid, result_type,
    searchsorted, sort, take_along_axis, tril, triu, unique_all, unique_counts, unique_inverse,
    unique_values,
)
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
from .core.autodiff import grad, value_and_grad, vjp
from .core import numpy_compat as _numpy_compat
from .core.numpy_compat import *  # noqa: F401,F403 - NumPy functions beyond the array API
from .runtime import compute, persist

# Storage and tables load on first use: pandas, pyarrow and zarr cost about 80 MiB of resident
# memory and half a second at import, which array-only work (and out-of-core budgets) should not pay.
_LAZY = {
    "from_npy": "chunkflow.io.npy", "from_zarr": "chunkflow.io.zarr", "read_parquet": "chunkflow.io.parquet",
    "read_csv": "chunkflow.io.csv", "Frame": "chunkflow.frame", "from_pandas": "chunkflow.frame",
    "from_dask_dataframe": "chunkflow.frame", "Series": "chunkflow.frame", "get_dummies": "chunkflow.frame",
    "merge": "chunkflow.frame",
}
_LAZY_METHODS = {"to_npy": "chunkflow.io.npy", "to_zarr": "chunkflow.io.zarr", "to_parquet": "chunkflow.io.parquet"}


def __getattr__(name):
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'chunkflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def _lazy_method(name, module):
    def method(self, *args, **kwargs):
        import importlib

        importlib.import_module(module)  # replaces this stand-in with the real method
        return getattr(self, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"See ``{module}.{name}`` (loaded on first use)."
    return method


for _name, _module in _LAZY_METHODS.items():
    setattr(Tensor, _name, _lazy_method(_name, _module))

__version__ = "0.1.0"
__array_api_version__ = "2024.12"

globals().update(_UFUNCS)
_array_from_dask = from_dask


def _is_table(obj) -> bool:  # by module name: checking must not import pandas for array work
    return type(obj).__module__.startswith(("dask.dataframe", "chunkflow.frame", "pandas"))


def from_dask(obj, lengths=None):
    """A Tensor from a dask array; a Frame from a dask DataFrame or Series (``lengths``: rows per partition)."""
    if _is_table(obj):
        from .frame import from_dask as frame_from_dask

        return frame_from_dask(obj, lengths)
    if lengths is not None:
        raise TypeError("lengths= is for dask DataFrames; a dask array knows its chunks")
    return _array_from_dask(obj)


def concat(items, *args, **kwargs):
    """``concatenate`` for Tensors; for Frames (or pandas tables) the rows one after another, as ``pd.concat``."""
    if isinstance(items, (list, tuple)) and items and _is_table(items[0]):
        from .frame import concat as frame_concat

        return frame_concat(items, *args, **kwargs)
    return concatenate(items, *args, **kwargs)

# dtypes and dtype helpers are NumPy's own
bool = _np.bool_  # noqa: A001
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
complex64, complex128 = _np.complex64, _np.complex128
e, pi, inf, nan, newaxis = _np.e, _np.pi, _np.inf, _np.nan, None
isdtype = _np.isdtype

__all__ = sorted(
    {
        "Tensor", "Frame", "read_parquet", "read_csv", "from_pandas", "from_dask_dataframe", "config", "linalg", "random", "compute", "persist", "grad", "value_and_grad", "vjp", "from_array", "asarray",
        "from_dask", "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
        "empty_like", "arange", "linspace", "eye", "identity", "concatenate", "concat", "stack",
        "reshape", "transpose", "permute_dims", "moveaxis", "swapaxes", "squeeze", "expand_dims",
        "broadcast_to", "broadcast_arrays", "broadcast_shapes", "flip", "roll", "rechunk", "ravel",
        "nonzero", "tile", "repeat", "take", "unstack", "matrix_transpose", "sum", "prod", "mean",
        "var", "std", "min", "max", "any", "all", "argmin", "argmax", "cumsum", "cumprod",
        "logsumexp", "count_nonzero", "matmul", "dot", "tensordot", "outer", "inner", "vecdot",
        "diagonal", "trace", "isdtype", "__array_namespace_info__", "finfo", "iinfo", "result_type", "can_cast",
        "meshgrid", "tril", "triu", "from_dlpack", "cumulative_sum", "cumulative_prod", "diff", "sort",
        "argsort", "take_along_axis", "searchsorted", "unique_values", "unique_counts", "unique_inverse",
        "unique_all", "UniqueAllResult", "UniqueCountsResult", "UniqueInverseResult",
        "from_npy", "from_zarr", "Series", "get_dummies", "merge",
    }
    | set(_UFUNCS)
    | set(_numpy_compat.__all__)
)
