"""``cf.linalg``: the array API's ``linalg`` extension plus chunkflow's own linear algebra.

Everything in ``chunkflow.core.linalg`` is here (``lstsq``, NumPy-style ``norm``, ``inner``, ...).
Two names differ from the top-level functions of the same name, as the standard asks:
``linalg.diagonal`` and ``linalg.trace`` work on the LAST two axes (``cf.diagonal`` and
``cf.trace`` keep NumPy's default axes 0 and 1).
"""
from __future__ import annotations

from .core import reductions as _red
from .core.graph import as_tensor as _as_tensor
from .core.linalg import *  # noqa: F403
from .core.linalg import __all__ as _core_all
from .core.linalg import diagonal as _np_diagonal
from .core.manipulation import matrix_transpose

__all__ = sorted(set(_core_all) | {"matrix_transpose"})

def diagonal(x, /, *, offset=0):
    """The diagonals of the matrices in the last two axes of ``x`` (the array API's ``linalg.diagonal``)."""
    x = _as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"linalg.diagonal needs at least 2 dimensions, got shape {x.shape}")
    n, m = x.shape[-2:]
    offset = int(offset)
    # offsets past the matrix give an empty diagonal (clipped: dask builds a slice from the offset)
    offset = max(min(offset, m), -n)
    return _np_diagonal(x, offset=offset, axis1=-2, axis2=-1)

def trace(x, /, *, offset=0, dtype=None):
    """Sums of the diagonals of the matrices in the last two axes (the array API's ``linalg.trace``)."""
    return _red.sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)

