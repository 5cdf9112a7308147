"""The lazy, chunked ``Tensor``: an immutable node of an expression graph.

A node holds its operation (``op`` and hashable ``params``), its input nodes,
and metadata derived when it is built: ``shape``, ``dtype``, ``chunks`` (a
chunk grid as in dask: one tuple of block lengths per axis) and ``device``.
Nodes are interned by a key computed from op, params and input keys, so equal
subexpressions are the same object (common-subexpression elimination happens
as the graph is written). Nothing runs until ``compute``/``persist``; see
``lower.py`` for how a graph becomes a Dask graph.

There are four kinds of op (``Tensor.op``):

``"source"``     chunks produced from params alone (random generation, wrapped
                 dask arrays: from_array, zeros, arange, ...).
``"elementwise"`` a NumPy ufunc-like function of its inputs with broadcasting;
                 chains of these are fused into one task per chunk.
``"reduce"``     a tree reduction along some axes; reductions that share an
                 input chunk grid and axes are fused into one pass.
``"dask"``       movement, linear algebra and scans delegated to dask.array,
                 which already does them well.
"""
from __future__ import annotations

import math
import weakref

import numpy as np
from dask.base import tokenize

__all__ = ["Tensor", "make_node"]

_NODES: "weakref.WeakValueDictionary[str, Tensor]" = weakref.WeakValueDictionary()


class Tensor:
    """A lazy N-d array split into chunks; NumPy semantics, Dask execution."""

    __slots__ = ("op", "inputs", "params", "shape", "dtype", "chunks", "device", "key", "__weakref__")
    __array_priority__ = 20

    def __setattr__(self, name, value):
        raise AttributeError(f"Tensor is immutable; cannot set {name!r} (build a new Tensor instead)")

    # ------------------------------------------------------------ metadata
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape) if all(not math.isnan(s) for s in self.shape) else math.nan

    @property
    def nbytes(self):
        s = self.size
        return s * self.dtype.itemsize if not math.isnan(s) else math.nan

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def numblocks(self) -> tuple:
        return tuple(len(c) for c in self.chunks)

    @property
    def npartitions(self) -> int:
        return math.prod(self.numblocks)

    @property
    def chunksize(self) -> tuple:
        return tuple(max(c) if c else 0 for c in self.chunks)

    @property
    def name(self) -> str:
        return self.key

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d Tensor")
        if math.isnan(self.shape[0]):
            raise ValueError(
                "the length of this Tensor is unknown until it runs (it comes from boolean indexing); "
                "call .compute_chunk_sizes() first"
            )
        return self.shape[0]

    def __hash__(self):
        return hash(self.key)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d Tensor")
        for i in range(self.shape[0]):
            yield self[i]

    # ------------------------------------------------------------ running
    def compute(self, scheduler=None):
        """The value as a NumPy (or CuPy) array."""
        from ..runtime import compute

        return compute(self, scheduler=scheduler)[0]

    def persist(self, scheduler=None) -> "Tensor":
        """A Tensor whose chunks are held in memory (or on cluster workers)."""
        from ..runtime import persist

        return persist(self, scheduler=scheduler)[0]

    def to_dask(self):
        """This Tensor as a ``dask.array.Array`` (lazy)."""
        from .lower import lower

        return lower([self])[0]

    def __array__(self, dtype=None, copy=None):
        from ..backend import to_host

        out = np.asarray(to_host(self.compute()))
        return out.astype(dtype, copy=False) if dtype is not None else out

    def _scalar(self, kind):
        if self.size != 1:
            raise ValueError(
                f"the truth value / {kind.__name__} of a Tensor with {self.size} elements is ambiguous; "
                f"reduce it first (e.g. with .any() or .all()) or compute() it"
            )
        return kind(self.compute().reshape(()))

    def __bool__(self):
        return self._scalar(bool)

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer Tensors can be used as an index, got dtype {self.dtype}")
        return self._scalar(int)

    # ------------------------------------------------------------ display
    def __repr__(self):
        chunks = self.chunks if sum(self.numblocks) <= 12 else self.chunksize
        label = "chunks" if chunks is self.chunks else "chunksize"
        return (
            f"chunkflow.Tensor<shape={self.shape}, dtype={self.dtype}, {label}={chunks}, "
            f"chunk_bytes={_fmt_bytes(math.prod(self.chunksize) * self.dtype.itemsize)}, "
            f"tasks={self.task_count()}, op={self.op}:{_op_label(self)}>"
        )

    def _repr_html_(self):
        rows = [
            ("shape", self.shape), ("dtype", self.dtype), ("chunksize", self.chunksize),
            ("chunks", f"{self.npartitions} ({' x '.join(map(str, self.numblocks))})"),
            ("bytes", _fmt_bytes(self.nbytes)),
            ("chunk bytes", _fmt_bytes(math.prod(self.chunksize) * self.dtype.itemsize)),
            ("tasks", self.task_count()), ("device", self.device), ("op", _op_label(self)),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f"<table><caption>chunkflow.Tensor</caption>{body}</table>"

    def task_count(self) -> int:
        """Tasks in the Dask graph this Tensor lowers to (after fusion)."""
        return len(self.to_dask().__dask_graph__())


def _op_label(t: Tensor) -> str:
    p = t.params[0] if t.params else ""
    return getattr(p, "__name__", str(p))[:30]


def _fmt_bytes(n) -> str:
    if isinstance(n, float) and math.isnan(n):
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024


def make_node(op: str, inputs, params, shape, dtype, chunks, device=None, key=None) -> Tensor:
    """The interned node for (op, inputs, params): built once, shared after.

    ``key`` overrides the content key (sources with data that is costly to
    hash pass a unique one).
    """
    inputs = tuple(inputs)
    if key is None:
        key = f"{_op_label_raw(op, params)}-" + tokenize(op, [i.key for i in inputs], params)
    node = _NODES.get(key)
    if node is not None:
        return node
    node = object.__new__(Tensor)
    if device is None:
        device = "gpu" if any(i.device == "gpu" for i in inputs) else "cpu"
    for slot, value in (
        ("op", op), ("inputs", inputs), ("params", params),
        ("shape", tuple(shape)), ("dtype", np.dtype(dtype)),
        ("chunks", tuple(tuple(c) for c in chunks)), ("device", device), ("key", key),
    ):
        object.__setattr__(node, slot, value)
    _NODES[key] = node
    return node


def _op_label_raw(op, params) -> str:
    p = params[0] if params else op
    name = getattr(p, "__name__", p if isinstance(p, str) else op)
    return str(name).strip("_").replace("-", "_")[:24]
