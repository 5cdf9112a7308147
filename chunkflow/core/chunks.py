"""Chunk grids: normalizing user chunk specs, and ``"auto"`` from the memory budget.

A chunk grid is a tuple with, per axis, a tuple of block lengths (dask's
convention). Users write chunks as an int (every axis), ``-1``/``None`` (the
whole axis), ``"auto"``, an explicit tuple of block lengths, or a tuple/dict
mixing those per axis.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from dask.array.core import normalize_chunks as _dask_normalize

from .. import config

__all__ = ["normalize_chunks", "auto_chunks", "drop_empty_blocks"]


def drop_empty_blocks(grid) -> tuple:
    """``grid`` without zero-length blocks (an empty axis keeps its one block).

    dask.array mishandles zero-length blocks in scans, arg-reductions, reshape
    and fancy indexing, and boolean selections make them, so chunkflow's chunk
    grids never keep them.
    """
    return tuple(c if len(c) == 1 else (tuple(b for b in c if b != 0) or (0,)) for c in grid)


def auto_chunks(shape, dtype) -> tuple:
    """Row chunks sized from the memory budget, other axes whole.

    Tall-skinny data (rows of samples) is the common case, and whole rows keep
    matrix products and per-row losses inside one task. When even one row is
    bigger than the target, dask's balanced "auto" splits every axis.
    """
    itemsize = np.dtype(dtype).itemsize
    limit = config.auto_chunk_bytes()
    if not shape:
        return ()
    if 0 in shape:  # an empty array is one (empty) chunk; dask's sizing divides by the length
        return tuple((n,) for n in shape)
    row = math.prod(shape[1:]) * itemsize
    if row <= limit:
        spec = ("auto",) + (-1,) * (len(shape) - 1)
    else:
        spec = "auto"
    return _dask_normalize(spec, shape, limit=limit, dtype=np.dtype(dtype))


def normalize_chunks(chunks, shape, dtype) -> tuple:
    """``chunks`` as a chunk grid for an array of ``shape``; clear errors otherwise."""
    shape = tuple(shape)
    if isinstance(chunks, str):
        if chunks != "auto":
            raise ValueError(f"chunks={chunks!r} is not understood; use 'auto', an int, -1 or a tuple")
        return auto_chunks(shape, dtype)
    if isinstance(chunks, dict):
        bad = [k for k in chunks if not isinstance(k, int) or not -len(shape) <= k < len(shape)]
        if bad:
            raise ValueError(f"chunks dict has axes {bad} outside 0..{len(shape) - 1}")
        norm = {k % len(shape): v for k, v in chunks.items()}
        chunks = tuple(norm.get(i, -1) for i in range(len(shape)))
    if isinstance(chunks, (numbers.Integral, type(None))) and not isinstance(chunks, bool):
        chunks = (chunks,) * len(shape)
    if not isinstance(chunks, (tuple, list)):
        raise TypeError(f"chunks must be 'auto', an int, a tuple or a dict, got {chunks!r}")
    if len(chunks) != len(shape):
        raise ValueError(
            f"chunks {chunks!r} has {len(chunks)} entries but the array has {len(shape)} axes (shape {shape})"
        )
    spec = []
    for axis, (c, n) in enumerate(zip(chunks, shape)):
        if c is None or c == -1:
            spec.append(-1)
        elif c == "auto":
            spec.append("auto")
        elif isinstance(c, numbers.Integral) and not isinstance(c, bool):
            if c <= 0:
                raise ValueError(
                    f"chunk size {c} on axis {axis} must be positive (or -1 for the whole axis)"
                )
            spec.append(int(c))
        elif isinstance(c, (tuple, list)):
            if any(not isinstance(b, numbers.Integral) or b < 0 for b in c):
                raise ValueError(f"block lengths on axis {axis} must be non-negative ints, got {c!r}")
            if not math.isnan(n) and sum(c) != n:
                raise ValueError(
                    f"block lengths {tuple(c)} on axis {axis} sum to {sum(c)}, but the axis has length {n}"
                )
            spec.append(tuple(int(b) for b in c))
        else:
            raise TypeError(f"chunk spec {c!r} on axis {axis} is not an int, -1, 'auto' or a tuple")
    if "auto" in spec and 0 in shape:  # as in auto_chunks: empty arrays are one chunk
        spec = [-1 if c == "auto" else c for c in spec]
    if "auto" in spec:
        return _dask_normalize(tuple(spec), shape, limit=config.auto_chunk_bytes(), dtype=np.dtype(dtype))
    return drop_empty_blocks(_dask_normalize(tuple(spec), shape, dtype=np.dtype(dtype)))
