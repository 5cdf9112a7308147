"""The training loop: ``minimize(f, params, *data, optimizer=...)``, full batch or mini-batch.

The value-and-gradient step of ``f(params, *data)`` is traced and compiled
once, before the loop; each step re-runs that graph with the new parameter
values (one pass over the data: the value and gradient of each row chunk in
one task, partial gradients tree-summed) and makes one optimizer update on
the client, where the small parameters live.

``batch=k`` trains on ``k`` row chunks a step (``batches.py``: an epoch
visits every chunk once, in an order drawn from the seed). Each distinct
batch is compiled once and kept, up to ``cache`` programs. Data that fits in
memory is persisted before the first step; larger data is re-read from its
source every step. ``checkpoint=URL`` saves params, optimizer state, step and
history every ``checkpoint_every`` steps (``checkpoint.py``); ``resume=True``
continues from the newest checkpoint and reaches the same parameters as an
uninterrupted run, because batches depend only on ``(seed, step)``.

Data may be chunked on GPUs (``x.to_device("gpu")``); the parameters stay
NumPy on the client either way: compiled steps (``runtime.Compiled``) return
their value and gradient as NumPy.
"""
from __future__ import annotations

import numpy as np

from ..core.autodiff import _signature, _Step, value_and_grad
from ..core.tensor import Tensor
from . import _validate as check
from .batches import batch_at, keep_in_memory, row_chunks, rows_of, take_row_chunks
from .checkpoint import load_checkpoint, save_checkpoint
from .lbfgs import LBFGS
from .optim import Optimizer
from .progress import Progress
from .result import MinimizeResult
from .tree import global_norm

__all__ = ["minimize"]


def minimize(f, params, *data, optimizer=None, max_steps=100, tol=None, batch=None, seed=0, persist="auto",
             callback=None, progress=False, checkpoint=None, checkpoint_every=100, resume=False,
             storage_options=None, scheduler=None) -> MinimizeResult:
    """Minimize the scalar ``f(params, *data)`` over ``params``: a :class:`MinimizeResult`.

    optimizer: an :class:`Optimizer` (``init``/``update``; default
    ``Adam(lr=1e-2)``) or :class:`LBFGS`, which runs its own line-search
    iterations (at most ``max_steps``; ``tol``, when given, replaces its
    gradient tolerance; full batch only).

    batch: None for full-batch steps, or the number of row chunks per step
    (mini-batch SGD; ``seed`` fixes the order). persist: keep computed data
    in memory between steps — "auto" (when it fits), True or False.

    Steps stop when the gradient's global L2 norm or the relative change of
    the loss falls below ``tol`` (``converged=True``; with mini-batches, the
    change of the mean loss between epochs), after ``max_steps`` updates, or
    when ``callback(step, loss, params)`` (or any of a list of callbacks)
    returns True. ``history[i]`` is the loss at the parameters before update
    ``i``. progress: show step, loss and rows/s on stderr (True, False, or
    None: when stderr is a terminal). A NaN/inf loss or gradient raises
    FloatingPointError naming the step and, when the data holds NaN/inf, the
    data argument, row and chunk.
    """
    from .optim import Adam

    optimizer = Adam(lr=1e-2) if optimizer is None else optimizer
    max_steps = check.integer("max_steps", max_steps, low=0)
    tol = None if tol is None else check.number("tol", tol, low=0)
    checkpoint_every = check.integer("checkpoint_every", checkpoint_every, low=1)
    callbacks = _callbacks(callback)
    if batch is not None:
        batch = check.integer("batch", batch, low=1)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=URL, the place the checkpoints were written")
    data = keep_in_memory(data, persist, scheduler)
    if isinstance(optimizer, LBFGS):
        if batch is not None or checkpoint is not None:
            raise ValueError("LBFGS runs full-batch line searches without checkpoints; use batch=None and "
                             "checkpoint=None, or a first-order optimizer (SGD, Adam, ...)")
        return _minimize_lbfgs(value_and_grad(f), params, data, optimizer, max_steps, tol, callbacks,
                               progress, scheduler)
    if not isinstance(optimizer, Optimizer) and not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be a chunkflow.ml.optim optimizer (SGD, Adam, ..., LBFGS), "
                        f"got {optimizer!r}")
    loop = _Loop(f, data, batch, seed, scheduler)
    state, history, start = optimizer.init(params), [], 0
    if resume:
        saved = load_checkpoint(checkpoint, storage_options)
        if saved is not None:
            (payload, start) = saved
            params, state, history = payload["params"], payload["opt_state"], list(payload["history"])
    bar = Progress(total=max_steps, enabled=progress)
    result = MinimizeResult(params=params, message=f"reached max_steps={max_steps}", n_steps=start)
    for step in range(start, max_steps + 1):
        value, grads, rows = loop.evaluate(params, step)
        norm = global_norm(grads)
        history.append(value)
        result.value, result.grad_norm, result.n_evals = value, norm, result.n_evals + 1
        bar.update(step, value, rows)
        stop = loop.stop_reason(history, norm, tol)
        if stop:
            result.converged, result.message = True, stop
            break
        if step == max_steps:
            break
        if any(cb(step, value, params) for cb in callbacks):
            result.message = f"callback stopped at step {step}"
            break
        params, state = optimizer.update(grads, state, params)
        result.n_steps = step + 1
        if checkpoint is not None and (step + 1) % checkpoint_every == 0:
            save_checkpoint(checkpoint, {"params": params, "opt_state": state, "history": history},
                            step + 1, storage_options)
    bar.close(f"{result.message} after {result.n_steps} steps, loss {result.value:.6g}")
    result.params, result.history = params, history
    return result


def _callbacks(callback) -> list:
    if callback is None:
        return []
    callbacks = list(callback) if isinstance(callback, (list, tuple)) else [callback]
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callback must be callable(step, loss, params) or a list of them, got {cb!r}")
    return callbacks


class _Loop:
    """The data side of one training run: which rows a step reads and how its loss is judged."""

    def __init__(self, f, data, batch, seed, scheduler):
        self.f, self.data, self.batch, self.seed, self.scheduler = f, data, batch, seed, scheduler
        self.grid = row_chunks(data) if batch is not None else None
        self.n_chunks = len(self.grid) if batch is not None else 1
        self.per_epoch = -(-self.n_chunks // batch) if batch is not None else 1
        # one compiled program per distinct batch, all of them while an epoch's worth fits the cache
        self.step_fn = value_and_grad(f, cache_size=min(max(self.per_epoch, 8), 64))
        # in-memory data on a local scheduler: one program per batch shape, each batch's blocks bound to it
        self.blocks = _local_blocks(data, scheduler) if batch is not None else None
        self.slot_steps: dict = {}

    def batch_data(self, step):
        if self.batch is None:
            return self.data, None
        _, indices = batch_at(step, self.n_chunks, self.batch, self.seed)
        return tuple(take_row_chunks(t, indices, self.grid) for t in self.data), indices

    def evaluate(self, params, step):
        """``(loss, grads, rows read)`` at ``params`` for ``step``; NaN/inf raise FloatingPointError."""
        if self.blocks is not None:  # batch Tensors are only built to trace a new batch shape
            _, indices = batch_at(step, self.n_chunks, self.batch, self.seed)
            rows = sum(self.grid[k] for k in indices)
        else:
            data, indices = self.batch_data(step)
            rows = rows_of(data)
        try:
            if self.blocks is not None:
                value, grads = self._run_slots(params, step, indices)
            else:
                value, grads = self.step_fn(params, *data, scheduler=self.scheduler)
        except FloatingPointError as e:
            where = _locate_nonfinite(self.batch_data(step)[0], indices, self.grid, self.scheduler)
            raise FloatingPointError(f"step {step}: {e}{where}") from e
        return float(value), grads, rows

    def _run_slots(self, params, step, indices):
        """``(loss, grads)`` of the batch ``indices`` with its blocks bound to a compiled step."""
        slots = [i for i, blocks in enumerate(self.blocks) if blocks is not None]
        shape_key = (tuple(self.grid[k] for k in indices), _signature(params))
        entry = self.slot_steps.get(shape_key)
        if entry is None:
            data = self.batch_data(step)[0]
            entry = self.slot_steps[shape_key] = (
                _Step(self.f, (params, *data), (0,), False, slots=tuple(1 + i for i in slots)), data)
        program, data = entry
        values = [[b for k in indices for b in self.blocks[i][k]] for i in slots]
        value, grads, _ = program((params, *data), (0,), self.scheduler, values)
        return value, grads[0]

    def stop_reason(self, history, grad_norm, tol) -> str:
        """Why training has converged ('' if it has not)."""
        if tol is None:
            return ""
        if self.batch is None:
            return _stop_reason(history, grad_norm, tol)
        n = self.per_epoch
        if len(history) % n or len(history) < 2 * n:
            return ""
        prev, cur = np.mean(history[-2 * n:-n]), np.mean(history[-n:])
        if abs(prev - cur) < tol * max(abs(prev), abs(cur), 1e-300):
            return f"relative change of the epoch mean loss < tol={tol}"
        return ""


def _local_blocks(data, scheduler):
    """Per data argument, its row chunks' in-memory blocks (lists in C order), or None for all.

    None when any chunked argument would have to be computed or lives on a
    cluster: then each batch is traced as a graph of its own.
    """
    from ..runtime import get_scheduler
    from .batches import _held

    if not isinstance(get_scheduler(scheduler), str):
        return None
    out = []
    for t in data:
        if not isinstance(t, Tensor) or t.ndim == 0:
            out.append(None)
            continue
        if not _held(t, scheduler):
            return None
        darr = t.params[1]
        graph = dict(darr.__dask_graph__())
        rest = [range(len(c)) for c in t.chunks[1:]]
        out.append([[graph[(darr.name, i, *j)] for j in np.ndindex(*(len(r) for r in rest))]
                    for i in range(len(t.chunks[0]))])
    return out


def _stop_reason(history, grad_norm, tol) -> str:
    """Why full-batch training has converged ('' if it has not)."""
    if grad_norm < tol:
        return f"gradient norm {grad_norm:.3g} < tol={tol}"
    if len(history) > 1:
        prev, cur = history[-2], history[-1]
        if abs(prev - cur) < tol * max(abs(prev), abs(cur), 1e-300):
            return f"relative loss change < tol={tol}"
    return ""


def _locate_nonfinite(data, indices, grid, scheduler) -> str:
    """'; data argument i has NaN/inf in row r (chunk c)' for the first such row, or ''."""
    from ..core import elementwise as ew
    from .device import compute

    for i, t in enumerate(data):
        if not isinstance(t, Tensor) or t.ndim == 0 or t.dtype.kind not in "fc":
            continue
        bad = ~ew.UFUNCS["isfinite"](t)
        rows = bad.any(axis=tuple(range(1, t.ndim))) if t.ndim > 1 else bad
        (flags,) = compute(rows, scheduler=scheduler)
        if not flags.any():
            continue
        row = int(np.argmax(flags))
        chunks = t.chunks[0]
        k = int(np.searchsorted(np.cumsum(chunks), row, side="right"))
        if indices is not None:  # a mini-batch: map back to the row and chunk of the full data
            start = int(np.concatenate([[0], np.cumsum(grid)])[indices[k]])
            row, k = start + row - int(np.sum(chunks[:k])), indices[k]
        return f"; data argument {i} has NaN/inf in row {row} (row chunk {k}); clean or impute it"
    return ""


def _minimize_lbfgs(step_fn, params, data, optimizer, max_steps, tol, callbacks, progress, scheduler):
    """:func:`minimize` delegated to ``optimizer.minimize`` (each line-search trial is one run)."""
    counter = [0]
    rows = rows_of(data)
    bar = Progress(total=min(max_steps, optimizer.max_iter), enabled=progress, label="iteration")

    def fun(p):
        counter[0] += 1
        try:
            return step_fn(p, *data, scheduler=scheduler)
        except FloatingPointError as e:
            raise FloatingPointError(f"{e}{_locate_nonfinite(data, None, None, scheduler)}") from e

    def on_iteration(k, value, p):
        bar.update(k, value, rows, extra=f"  evaluations {counter[0]}")
        return any(cb(k, value, p) for cb in callbacks)

    result = optimizer.minimize(fun, params, callback=on_iteration, max_iter=min(max_steps, optimizer.max_iter),
                                tol=tol)
    bar.close(f"{result.message} after {result.n_steps} iterations, loss {result.value:.6g}")
    return result
