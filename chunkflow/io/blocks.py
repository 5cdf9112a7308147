"""Tensors whose blocks are read by one task each, from a (start, stop) box per axis.

The npy and Zarr readers are the same graph: block ``index`` of the chunk
grid runs ``read(*args, box)``, where ``box`` holds the block's span on each
axis. The graph holds only those arguments (URLs, headers, tokens): no data.

Devices: storage is read on the host, so a reader's ``device="gpu"`` reads
NumPy chunks and moves each to the GPU in the task after its read
(``to_device``); writers take a GPU Tensor's chunks back to the host in the
tasks that made them (:func:`host_dask`), so no write task handles CuPy.
"""
from __future__ import annotations

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from ..core.graph import source_from_dask
from ..core.tensor import Tensor

__all__ = ["span", "boxes", "boxed_source", "check_tensor_to_write", "host_dask"]


def span(blocks, i) -> tuple:
    """``(start, stop)`` of block ``i`` along an axis chunked as ``blocks``.

    >>> span((3, 3, 2), 2)
    (6, 8)
    """
    start = sum(blocks[:i])
    return start, start + blocks[i]


def boxes(grid):
    """``(index, box)`` of every block of the chunk ``grid``, in row-major order."""
    for index in np.ndindex(*(len(c) for c in grid)):
        yield index, tuple(span(c, i) for c, i in zip(grid, index))


def boxed_source(name, grid, dtype, read, *args):
    """A Tensor chunked as ``grid`` whose block at each box is ``read(*args, box)``."""
    dsk = {(name, *index): (read, *args, box) for index, box in boxes(grid)}
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    meta = np.empty((0,) * len(grid), dtype=dtype)
    return source_from_dask(da.Array(graph, name, grid, meta=meta))


def check_tensor_to_write(x, url, writer):
    """Raise unless ``x`` is a Tensor of known shape that ``writer`` (``"to_npy"``, ...) can write to ``url``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{writer} writes a chunkflow Tensor, got {type(x).__name__}; wrap arrays with "
                        f"cf.from_array")
    if any(n != n for n in x.shape):  # NaN: a length known only after computing
        raise ValueError(f"cannot write {url!r}: the Tensor has unknown chunk sizes (shape {x.shape}, from "
                         f"boolean indexing or similar); call x = x.compute_chunk_sizes() first")


def host_dask(x):
    """``x`` as a dask array of NumPy blocks: a GPU Tensor's chunks are copied to the host first."""
    if x.device == "gpu":
        x = x.to_device("cpu")
    return x.to_dask()
