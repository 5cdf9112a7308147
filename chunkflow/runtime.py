"""Running graphs: ``compute`` and ``persist`` on the chosen Dask scheduler.

The scheduler is, in order: the ``scheduler=`` argument ("sync", "threads",
"processes" or a ``distributed.Client``), the active ``distributed`` Client if
there is one (Dask's convention), else the threaded scheduler. While the
threaded scheduler runs, BLAS libraries are limited to one thread per
scheduler thread: N scheduler threads times N BLAS threads oversubscribe the
cores (measured 2x slower on a Gram matrix on 2 cores).

Transient failures: with ``cf.config.set(retries=n)`` a run that fails with
a ``ConnectionError`` or ``TimeoutError`` (storage unreachable: the readers
of ``chunkflow.io`` turn the file systems' errors into these) is run again,
up to ``n`` times, waiting ``retry_delay`` seconds, doubled each time, in
between; on a ``distributed`` Client every task is also retried ``n`` times
at once (``client.get(..., retries=n)``), which absorbs a single failed
request without re-running the rest. When the retries run out the last
error is raised with the number of attempts in its message. Graphs are
pure, so running one again gives the same result.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import sys
import threading
import time

import dask
import numpy as np

from . import config
from .backend import to_host
from .core.lower import lower
from .core.tensor import Tensor

__all__ = ["compute", "persist", "get_scheduler", "Compiled", "peak_rss"]

logger = logging.getLogger(__name__)


def peak_rss() -> int:
    """Peak resident memory of this process in bytes, since it started this program.

    Reads ``VmHWM`` from /proc/self/status: ``getrusage``'s ``ru_maxrss``
    survives ``execve``, so a process spawned by a big parent (a test runner)
    would report the parent's size as its own peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

_NAMED = ("sync", "synchronous", "single-threaded", "threads", "threading", "processes", "multiprocessing")


def get_scheduler(scheduler=None):
    """The scheduler a run will use (see module docstring)."""
    if scheduler is not None:
        if isinstance(scheduler, str) and scheduler not in _NAMED:
            raise ValueError(
                f"unknown scheduler {scheduler!r}; use 'sync', 'threads', 'processes' or a distributed.Client"
            )
        return "sync" if scheduler in ("synchronous", "single-threaded") else scheduler
    if "distributed" in sys.modules:
        from distributed import default_client

        try:
            return default_client()
        except ValueError:
            pass
    return "threads"


@contextlib.contextmanager
def _blas_limit(scheduler):
    if scheduler not in ("threads", "threading"):
        yield
        return
    controller = _blas_controller()
    if controller is None:  # without threadpoolctl, BLAS keeps its own setting
        yield
        return
    # Runs from several threads at once (a search's concurrent fits) share one limit: the first sets
    # it, the last restores it. Nested limits restored out of order would leave BLAS at one thread.
    with _LIMIT_LOCK:
        if not _LIMIT_USERS:
            _LIMIT_USERS.append(controller.limit(limits=1, user_api="blas"))
        _LIMIT_USERS.append(None)
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT_USERS.pop()
            if len(_LIMIT_USERS) == 1:
                _LIMIT_USERS.pop().restore_original_limits()


_LIMIT_LOCK = threading.Lock()
_LIMIT_USERS: list = []  # [the active limit, then one entry per run inside it]


_CONTROLLER = []


def _blas_controller():
    """One threadpoolctl controller per process: finding the BLAS libraries costs ~5 ms."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _CONTROLLER.append(None)
    return _CONTROLLER[0]


def _split(args):
    tensors = [a for a in args if isinstance(a, Tensor)]
    return tensors, lower(tensors) if tensors else []


def compute(*args, scheduler=None, optimize_graph=True):
    """Values of all ``args`` computed in one run that shares their inputs.

    Tensors become NumPy arrays, or CuPy arrays for Tensors on the GPU; a
    client without a GPU of its own (a laptop driving a cluster's GPU
    workers) gets NumPy arrays, copied to the host on the workers. Other
    arguments are returned as they are.
    """
    sched = get_scheduler(scheduler)
    if not isinstance(sched, str):
        args = _to_client_device(args)
    tensors, arrays = _split(args)
    optimize_graph = optimize_graph and not _keeps_annotations(arrays, sched)
    with _blas_limit(sched):
        values = iter(_retrying(lambda: dask.compute(*arrays, scheduler=sched, optimize_graph=optimize_graph,
                                                     **_task_retries(sched))))
    return tuple(next(values) if isinstance(a, Tensor) else a for a in args)


def persist(*args, scheduler=None):
    """Tensors whose chunks are held in memory (or on cluster workers)."""
    tensors, arrays = _split(args)
    sched = get_scheduler(scheduler)
    with _blas_limit(sched):
        done = iter(_retrying(lambda: dask.persist(*arrays, scheduler=sched, **_task_retries(sched),
                                                   optimize_graph=not _keeps_annotations(arrays, sched))))
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(_held_source(next(done), a.device, sched))
        else:
            out.append(a)
    return tuple(out)


def _to_client_device(values, always=False):
    """``values`` with GPU Tensors moved to the CPU where this process can't hold CuPy arrays (or ``always``)."""
    from .backend import gpu_available

    if not always and gpu_available():
        return values
    return [v.to_device("cpu") if isinstance(v, Tensor) and v.device == "gpu" else v for v in values]


def _annotated_keys(arrays) -> set:
    """Keys of the tasks that touch GPU chunks (their layers carry ``backend.GPU_ANNOTATIONS``)."""
    return {k for a in arrays for layer in a.__dask_graph__().layers.values() if layer.annotations for k in layer}


def _keeps_annotations(arrays, scheduler) -> bool:
    """Whether a run on ``scheduler`` must skip dask's graph optimization to keep task annotations.

    dask's low-level fusion drops layer annotations, and a GPU task must keep
    its ``resources={"GPU": 1}`` to land on a GPU worker. chunkflow fuses its
    own kernels before lowering, so little is lost. Local schedulers ignore
    annotations.
    """
    return not isinstance(scheduler, str) and any(
        layer.annotations for a in arrays for layer in a.__dask_graph__().layers.values())


def _held_source(darr, device, scheduler) -> Tensor:
    """The source node of the persisted ``darr``, keyed by where its chunks are held.

    ``dask.persist`` keeps an array's name, and ``source_from_dask`` keys a
    node by that name, so a persisted *source* (``from_array``, ``from_npy``)
    would come back as the interned unpersisted node: its data re-read from
    storage every step, or, for in-memory data on a cluster, shipped inside
    every step's graph.
    """
    from dask.base import tokenize

    from .core.graph import _without_empty_blocks
    from .core.tensor import make_node

    darr = _without_empty_blocks(darr)
    where = "local" if isinstance(scheduler, str) else getattr(scheduler, "id", id(scheduler))
    return make_node("source", (), ("dask", darr), darr.shape, darr.dtype, darr.chunks, device=device,
                     key=f"from_dask-{darr.name}-held-{tokenize(where)}")


class Compiled:
    """A graph lowered once and re-run with new values for its parameters.

    Iterative solvers call the same step graph many times with new parameter
    values. Lowering, fusion and Dask's graph conversion happen here once;
    each call only binds the parameter blocks (``core.creation.parameter``
    nodes) and runs the scheduler, so the per-step cost is the data pass plus
    the scheduler's own per-task overhead (dask-ml rebuilds its graph every
    step and every line-search trial).
    """

    def __init__(self, outputs, params):
        from dask._task_spec import convert_legacy_graph
        from dask.highlevelgraph import HighLevelGraph

        # outputs come back to the client as NumPy, copied off the GPU on the workers
        arrays = lower(_to_client_device(list(outputs), always=True))
        graph = HighLevelGraph.merge(*(a.__dask_graph__() for a in arrays))
        self._graph = convert_legacy_graph(dict(graph))
        self._gpu_keys = _annotated_keys(arrays)  # their tasks must run on GPU workers
        self._local = None  # the graph with data blocks inlined, made on first local run
        self._keys = [a.__dask_keys__() for a in arrays]
        self._finalize = [a.__dask_postcompute__() for a in arrays]
        self.params = list(params)
        # every block of every parameter; a multi-block parameter (a data slot) binds one array a block
        self._param_keys = [[(p.key,) + idx for idx in np.ndindex(*(len(c) for c in p.chunks))]
                            for p in self.params]
        self._runs = itertools.count()
        self._downstream = _downstream(self._graph, {k for keys in self._param_keys for k in keys})

    def __len__(self):
        return len(self._graph)

    def __call__(self, *values, scheduler=None):
        """Output values (NumPy) for parameter ``values`` (in the order of ``params``).

        A parameter takes an array of its shape; a data slot (``core.autodiff.data_slot``)
        takes a list of its blocks in C order of their indices.
        """
        from dask._task_spec import DataNode

        if len(values) != len(self.params):
            raise ValueError(f"expected {len(self.params)} parameter values, got {len(values)}")
        sched = get_scheduler(scheduler)
        local = isinstance(sched, str)
        graph = dict(self._inlined() if local else self._graph)
        for keys, p, v in zip(self._param_keys, self.params, values):
            if not isinstance(v, (list, tuple)):
                v = np.asarray(to_host(v), dtype=p.dtype)
                if v.shape != p.shape or len(keys) != 1:
                    raise ValueError(f"parameter of shape {p.shape} was given a value of shape {v.shape}")
                graph[keys[0]] = DataNode(keys[0], v)
                continue
            if len(v) != len(keys):
                raise ValueError(f"data slot of {len(keys)} blocks was given {len(v)} blocks")
            for key, block in zip(keys, v):
                graph[key] = block if isinstance(block, DataNode) else DataNode(key, block)
        keys = self._keys
        if not local:
            # A cluster keeps results under their keys for a while after a run;
            # the keys that depend on the parameters get new names every run.
            suffix = f"-run{next(self._runs)}"
            graph, keys = _renamed(graph, keys, self._downstream, suffix)
            if self._gpu_keys:
                graph = _with_gpu_layer(graph, {_renamed_key(k, suffix) if k in self._downstream else k
                                                for k in self._gpu_keys})
        with _blas_limit(sched):
            results = _retrying(lambda: _get(sched)(graph, keys, **_task_retries(sched)))
        # NumPy on the client even when the step ran on GPUs: parameters live on the client
        return [to_host(fn(r, *args)) for (fn, args), r in zip(self._finalize, results)]

    def _inlined(self):
        """The graph with in-memory data blocks written into the tasks that read them.

        A local scheduler orders and tracks every key on every run; persisted
        blocks are data, not work, so they leave the graph (about a third of
        the per-step overhead at 100 chunks). Parameter keys stay, to be bound.
        On a cluster the blocks stay keys: their data lives on the workers.
        """
        if self._local is None:
            from dask._task_spec import DataNode

            params = {k for keys in self._param_keys for k in keys}
            data = {k: v for k, v in self._graph.items() if isinstance(v, DataNode) and k not in params}
            local = {}
            for k, v in self._graph.items():
                if k in data:
                    continue
                subs = {d: data[d] for d in v.dependencies if d in data}
                local[k] = v.substitute(subs) if subs else v
            outputs = {k for keys in self._keys for k in _flat(keys)}
            local.update({k: data[k] for k in outputs if k in data})
            self._local = local
        return self._local


TRANSIENT = (ConnectionError, TimeoutError)


def _task_retries(scheduler) -> dict:
    """``{"retries": n}`` for a distributed Client (its per-task retries), else nothing."""
    n = config.get("retries")
    return {"retries": n} if n and not isinstance(scheduler, str) else {}


def _retrying(run):
    """``run()``, run again after a transient error up to ``retries`` times (see module docstring)."""
    retries, delay = config.get("retries"), config.get("retry_delay")
    for attempt in range(retries + 1):
        try:
            return run()
        except TRANSIENT as e:
            if attempt == retries:
                final = _gave_up(e, retries) if retries else e
                if final is e:
                    raise
                raise final from e
            wait = min(delay * 2**attempt, 60.0)
            logger.warning("attempt %d of %d failed (%s: %s); running again in %.2g s", attempt + 1, retries + 1,
                           type(e).__name__, e, wait)
            time.sleep(wait)


def _gave_up(error, retries):
    """``error`` with the attempts made in its message (same type, so ``except`` clauses still match)."""
    note = (f" [gave up after {retries + 1} attempts of the run (chunkflow retries={retries}); raise "
            f"cf.config.set(retries=...) or CHUNKFLOW_RETRIES if the storage needs longer to come back]")
    try:
        return type(error)(f"{error}{note}")
    except Exception:  # noqa: BLE001 - an exception type that takes other arguments keeps its own
        if hasattr(error, "add_note"):
            error.add_note(note.strip(" []"))
        return error


def _downstream(graph, roots) -> set:
    """Keys of ``graph`` that depend (transitively) on ``roots``, the roots included."""
    users: dict = {}
    for k, v in graph.items():
        for d in v.dependencies:
            users.setdefault(d, []).append(k)
    seen, stack = set(roots), list(roots)
    while stack:
        for u in users.get(stack.pop(), ()):
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return seen


def _with_gpu_layer(graph, gpu_keys):
    """``graph`` as a HighLevelGraph whose ``gpu_keys`` sit in a layer annotated to run on GPU workers."""
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    from .backend import GPU_ANNOTATIONS

    gpu = {k: v for k, v in graph.items() if k in gpu_keys}
    cpu = {k: v for k, v in graph.items() if k not in gpu_keys}
    layers = {"cpu": MaterializedLayer(cpu), "gpu": MaterializedLayer(gpu, annotations=dict(GPU_ANNOTATIONS))}
    return HighLevelGraph(layers, {"cpu": set(), "gpu": set()})


def _renamed_key(k, suffix):
    return ((k[0] + suffix,) + k[1:]) if isinstance(k, tuple) else k + suffix


def _renamed(graph, keys, which, suffix):
    """``graph`` and ``keys`` with the keys in ``which`` renamed by ``suffix``."""
    subs = {k: _renamed_key(k, suffix) for k in which}
    out = {}
    for k, v in graph.items():
        deps = {d: subs[d] for d in v.dependencies if d in subs}
        if k in subs or deps:
            out[subs.get(k, k)] = v.substitute(deps, key=subs.get(k, k))
        else:
            out[k] = v

    def rename_keys(ks):
        return [rename_keys(x) for x in ks] if isinstance(ks, list) else subs.get(ks, ks)

    return out, rename_keys(keys)


def _flat(keys):
    if isinstance(keys, list):
        for k in keys:
            yield from _flat(k)
    else:
        yield keys


def _get(scheduler):
    """The ``get(graph, keys)`` function of a scheduler."""
    if scheduler in ("threads", "threading"):
        from dask.threaded import get

        return get
    if scheduler == "sync":
        from dask.local import get_sync

        return get_sync
    if scheduler in ("processes", "multiprocessing"):
        from dask.multiprocessing import get

        return get
    return scheduler.get
