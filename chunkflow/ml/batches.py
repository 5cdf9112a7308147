"""The data side of training: row-chunk mini-batches and keeping data in memory when it fits.

A mini-batch is a set of whole row chunks, so a step reads whole chunks and
never splits one. Epoch ``e`` visits the chunks in the order of a permutation
drawn from ``SeedSequence([seed, e])`` and cuts it into batches of ``batch``
chunks (the last batch of an epoch may hold fewer). Step ``s`` is therefore a
pure function of ``(seed, s)``: there is no RNG state to carry, and a run
resumed from a checkpoint at step ``s`` sees exactly the batches the
uninterrupted run would have.

Data that fits in memory (the cluster's when a ``distributed`` Client is
active, else ``memory_budget``) is persisted once before the first step;
data that does not is streamed: each step re-reads its chunks from their
source (storage or the generating graph).
"""
from __future__ import annotations

import numpy as np

from ..core.manipulation import concatenate
from ..core.tensor import Tensor

__all__ = ["row_chunks", "epoch_batches", "batch_at", "take_row_chunks", "keep_in_memory", "rows_of"]


def row_chunks(data) -> tuple:
    """The shared row chunking of the Tensors in ``data`` (ValueError if they disagree)."""
    grid, first = None, None
    for i, t in enumerate(data):
        if not isinstance(t, Tensor) or t.ndim == 0:
            continue
        if any(c != c for c in t.chunks[0]):
            raise ValueError(f"data argument {i} has unknown row chunk sizes; call compute_chunk_sizes() "
                             f"on it (or read it with known lengths) before mini-batch training")
        if grid is None:
            grid, first = t.chunks[0], i
        elif t.chunks[0] != grid:
            if sum(t.chunks[0]) != sum(grid):
                raise ValueError(f"data arguments {first} and {i} have {sum(grid)} and {sum(t.chunks[0])} "
                                 f"rows; mini-batches take the same rows of every data argument")
            raise ValueError(f"data arguments {first} and {i} have different row chunks "
                             f"({_short(grid)} vs {_short(t.chunks[0])}); rechunk one like the other, "
                             f"e.g. y.rechunk({{0: X.chunks[0]}})")
    if grid is None:
        raise ValueError("mini-batch training needs at least one chunked data argument (a Tensor with rows)")
    return grid


def _short(chunks) -> str:
    return str(chunks) if len(chunks) <= 4 else f"({chunks[0]}, {chunks[1]}, ..., {chunks[-1]}) x{len(chunks)}"


def epoch_batches(n_chunks: int, batch: int, seed: int, epoch: int) -> list:
    """The batches of ``epoch``: lists of row-chunk indices covering every chunk once."""
    order = np.random.default_rng(np.random.SeedSequence([seed, epoch])).permutation(n_chunks)
    return [sorted(order[i:i + batch].tolist()) for i in range(0, n_chunks, batch)]


def batch_at(step: int, n_chunks: int, batch: int, seed: int) -> tuple[int, list]:
    """``(epoch, chunk indices)`` of training step ``step`` (0-based)."""
    per_epoch = -(-n_chunks // batch)
    epoch, position = divmod(step, per_epoch)
    return epoch, epoch_batches(n_chunks, batch, seed, epoch)[position]


def take_row_chunks(t, indices: list, grid: tuple):
    """The rows of ``t`` in row chunks ``indices`` (in that order), whole chunks only."""
    if not isinstance(t, Tensor) or t.ndim == 0:
        return t
    starts = np.concatenate([[0], np.cumsum(grid)])
    parts = [t[int(starts[i]):int(starts[i + 1])] for i in indices]
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=0)


def rows_of(data) -> int:
    """Rows in the first chunked data argument (0 if none)."""
    for t in data:
        if isinstance(t, Tensor) and t.ndim:
            return int(t.shape[0])
    return 0


def keep_in_memory(data, mode="auto", scheduler=None) -> tuple:
    """``data`` with its computed Tensors persisted when ``mode`` is True, or "auto" and they fit."""
    from ..runtime import persist

    tensors = [t for t in data if isinstance(t, Tensor) and not _held(t, scheduler)]
    if not tensors or mode is False:
        return tuple(data)
    if mode not in (True, "auto"):
        raise ValueError(f"persist must be True, False or 'auto', got {mode!r}")
    if mode == "auto" and sum(t.nbytes for t in tensors) > _room(scheduler):
        return tuple(data)
    held = iter(persist(*tensors, scheduler=scheduler))
    lookup = {id(t): next(held) for t in tensors}
    return tuple(lookup.get(id(t), t) for t in data)


def _room(scheduler) -> float:
    """Bytes of data training may keep in memory: half the cluster's memory, or half the budget."""
    from .. import config
    from ..runtime import get_scheduler

    sched = get_scheduler(scheduler)
    if not isinstance(sched, str):  # a distributed Client
        try:
            limits = [w["memory_limit"] for w in sched.scheduler_info()["workers"].values()]
            if limits and all(limits):
                return 0.5 * sum(limits)
        except Exception:  # noqa: BLE001 - fall back to the local budget
            pass
    return 0.5 * config.memory_budget()


def _held(t: Tensor, scheduler) -> bool:
    """True if ``t``'s chunks already sit in memory where the run will happen (nothing to compute)."""
    from ..runtime import get_scheduler

    if t.op != "source" or t.params[0] != "dask":
        return False
    values = dict(t.params[1].__dask_graph__()).values()
    local = isinstance(get_scheduler(scheduler), str)
    if local:
        return all(isinstance(v, np.ndarray) or type(v).__name__ == "DataNode" for v in values)
    return all(type(v).__name__ == "Future" or type(getattr(v, "value", None)).__name__ == "Future"
               for v in values)
