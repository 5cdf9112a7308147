"""Running graphs: ``compute`` and ``persist`` on the chosen Dask scheduler.

The scheduler is, in order: the ``scheduler=`` argument ("sync", "threads",
"processes" or a ``distributed.Client``), the active ``distributed`` Client if
there is one (Dask's convention), else the threaded scheduler. While the
threaded scheduler runs, BLAS libraries are limited to one thread per
scheduler thread: N scheduler threads times N BLAS threads oversubscribe the
cores (measured 2x slower on a Gram matrix on 2 cores).
"""
from __future__ import annotations

import contextlib
import sys

import dask

from .core.graph import source_from_dask
from .core.lower import lower
from .core.tensor import Tensor

__all__ = ["compute", "persist", "get_scheduler"]

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
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl, BLAS keeps its own setting
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _split(args):
    tensors = [a for a in args if isinstance(a, Tensor)]
    return tensors, lower(tensors) if tensors else []


def compute(*args, scheduler=None, optimize_graph=True):
    """Values of all ``args`` computed in one run that shares their inputs.

    Tensors become NumPy (or CuPy) arrays; other arguments are returned as
    they are.
    """
    tensors, arrays = _split(args)
    sched = get_scheduler(scheduler)
    with _blas_limit(sched):
        values = iter(dask.compute(*arrays, scheduler=sched, optimize_graph=optimize_graph))
    return tuple(next(values) if isinstance(a, Tensor) else a for a in args)


def persist(*args, scheduler=None):
    """Tensors whose chunks are held in memory (or on cluster workers)."""
    tensors, arrays = _split(args)
    sched = get_scheduler(scheduler)
    with _blas_limit(sched):
        done = iter(dask.persist(*arrays, scheduler=sched))
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(source_from_dask(next(done), device=a.device))
        else:
            out.append(a)
    return tuple(out)
