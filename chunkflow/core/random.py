"""Chunk-wise random generation: ``cf.random.default_rng(seed)``.

Each chunk draws from its own NumPy ``Generator`` seeded by
``SeedSequence(seed, spawn_key=(call, *block_index))``, where ``call`` counts
the draws made from this generator. Values therefore depend only on the seed,
the order of draws and the chunking, never on the scheduler or the number of
workers, and no chunk is ever generated on the client.
"""
from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from .chunks import normalize_chunks
from .creation import _shape
from .tensor import Tensor, make_node

__all__ = ["default_rng", "Generator"]


def _seed(seed):
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise TypeError(f"seed must be a non-negative int or None, got {seed!r}")


class Generator:
    """Draws chunked random Tensors; see the module docstring for reproducibility."""

    def __init__(self, seed=None):
        self.seed = _seed(seed)
        self._calls = itertools.count()

    def __repr__(self):
        return f"chunkflow.random.Generator(seed={self.seed})"

    def _draw(self, method, args, size, dtype, chunks) -> Tensor:
        shape = _shape(() if size is None else size)
        dtype = np.dtype(dtype)
        grid = normalize_chunks(chunks, shape, dtype)
        params = ("random", self.seed, next(self._calls), method, args)
        return make_node("source", (), params, shape, dtype, grid)

    def standard_normal(self, size=None, dtype=np.float64, chunks="auto") -> Tensor:
        """Standard normal samples."""
        _float_dtype(dtype, "standard_normal")
        return self._draw("standard_normal", (), size, dtype, chunks)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=np.float64, chunks="auto") -> Tensor:
        """Normal samples with mean ``loc`` and standard deviation ``scale``."""
        _float_dtype(dtype, "normal")
        if scale < 0:
            raise ValueError(f"scale must be non-negative, got {scale}")
        return self._draw("normal", (float(loc), float(scale)), size, dtype, chunks)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64, chunks="auto") -> Tensor:
        """Uniform samples in ``[low, high)``."""
        _float_dtype(dtype, "uniform")
        return self._draw("uniform", (float(low), float(high)), size, dtype, chunks)

    def random(self, size=None, dtype=np.float64, chunks="auto") -> Tensor:
        """Uniform samples in ``[0, 1)``."""
        return self.uniform(0.0, 1.0, size=size, dtype=dtype, chunks=chunks)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False, chunks="auto") -> Tensor:
        """Integers in ``[low, high)`` (``[low, high]`` with ``endpoint=True``)."""
        if high is None:
            low, high = 0, low
        if np.dtype(dtype).kind not in "iu":
            raise TypeError(f"integers needs an integer dtype, got {np.dtype(dtype)}")
        if high - (0 if endpoint else 1) < low:
            raise ValueError(f"low >= high in integers({low}, {high})")
        return self._draw("integers", (int(low), int(high), bool(endpoint)), size, dtype, chunks)


def _float_dtype(dtype, method):
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"{method} supports float32 and float64, got {np.dtype(dtype)}")


def default_rng(seed=None) -> Generator:
    """A chunked random generator seeded by ``seed`` (NumPy's ``default_rng``)."""
    return Generator(seed)


def random_block(seed, call, index, method, args, shape, dtype):
    """One chunk of a random Tensor."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(call, *index))))
    dtype = np.dtype(dtype)
    if method == "standard_normal":
        return rng.standard_normal(shape, dtype=dtype)
    if method == "normal":
        loc, scale = args
        out = rng.standard_normal(shape, dtype=dtype)
        out *= scale
        out += loc
        return out
    if method == "uniform":
        low, high = args
        out = rng.random(shape, dtype=dtype)
        out *= high - low
        out += low
        return out
    if method == "integers":
        low, high, endpoint = args
        return rng.integers(low, high, size=shape, dtype=dtype, endpoint=endpoint)
    raise ValueError(f"unknown random method {method!r}")


def block_task(node: Tensor, index) -> tuple:
    """The task generating block ``index`` of the random source ``node``."""
    _, seed, call, method, args = node.params
    shape = tuple(node.chunks[a][i] for a, i in enumerate(index))
    return (random_block, seed, call, tuple(index), method, args, shape, node.dtype)


def lower_random(node: Tensor) -> da.Array:
    """The dask array generating ``node``'s chunks."""
    layer = {
        (node.key, *index): block_task(node, index)
        for index in itertools.product(*map(range, node.numblocks))
    }
    graph = HighLevelGraph.from_collections(node.key, layer, dependencies=())
    return da.Array(graph, node.key, node.chunks, meta=np.empty((0,) * node.ndim, dtype=node.dtype))
