"""Per-step scheduling overhead on a cluster of worker processes, worker scaling, and graph size.

The compiled logistic value-and-gradient step of ``step_overhead.py`` (same
loss, same timing helper), with X of shape (chunks * rows, 8) persisted in
the memory of a local cluster started with the compose file's commands
(``chunkflow.cluster.LocalProcessCluster``: ``dask scheduler`` and ``dask
worker`` processes, one thread each).

1. Overhead: median step time at 100 / 1,000 (/ 10,000 with ``--chunks``)
   row chunks of ``--rows`` rows on 2 workers, beside the same step on local
   threads. With tiny chunks the data pass is ~1 ms, so the step time is the
   scheduler's per-step cost. Target: < 100 ms a step at 1,000 chunks.
2. Scaling: step time on 1 and on 2 workers with chunks big enough that the
   data pass dominates (``--scale-chunks`` x ``--scale-rows``).
3. Graph size: bytes of the pickled graph each step submits, for the same
   chunk count and 1x and 100x the rows: the graph names persisted chunks by
   key and carries the parameters, never data, so the two are equal.

    python benchmarks/cluster.py [--chunks 100 1000] [--repeat 9]

On a shared 2-core machine the scheduler, two workers and this client share
the cores, so cluster figures are upper bounds; the report prints the load.
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from step_overhead import loss, median_ms  # noqa: E402  (the same step and timer)

import chunkflow as cf  # noqa: E402
from chunkflow.cluster import LocalProcessCluster  # noqa: E402

ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Recorder:
    """A scheduler for ``Compiled``: hands graphs to the Client, noting each one's pickled size."""

    def __init__(self, client):
        self.client, self.sizes = client, []

    def get(self, graph, keys, **kwargs):
        self.sizes.append(len(pickle.dumps(graph, protocol=5)))
        return self.client.get(graph, keys, **kwargs)


def data(nchunks, rows, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(nchunks * rows, 8))
    yv = (a[:, 0] + 0.5 * rng.normal(size=len(a)) > 0).astype(float)
    return a, yv


def tasks_of(step):
    cache = [c.cell_contents for c in step.__closure__ if isinstance(c.cell_contents, dict)][0]
    return len(next(iter(cache.values()))[0].program)


def time_step(client, nchunks, rows, repeat):
    """``(ms per step on the cluster, tasks, graph bytes, ms per step on local threads)``."""
    a, yv = data(nchunks, rows)
    x = cf.from_array(a, chunks=(rows, -1))
    y = cf.from_array(yv, chunks=(rows,))
    xs, ys = cf.persist(x, y, scheduler=client)
    step, rec, w = cf.value_and_grad(loss), Recorder(client), np.zeros(8)
    value, _ = step(w, xs, ys, scheduler=rec)
    assert np.isclose(value, np.log(2.0))
    ms = median_ms(lambda i: step(w + 0.01 * i, xs, ys, scheduler=rec), repeat)
    tasks = tasks_of(step)
    local_step = cf.value_and_grad(loss)
    xl, yl = cf.persist(x, y, scheduler="threads")
    local = median_ms(lambda i: local_step(w + 0.01 * i, xl, yl, scheduler="threads"), repeat)
    client.cancel([f for f in client.futures.values()])
    return ms, tasks, rec.sizes[-1], local


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rows", type=int, default=100, help="rows per chunk in the overhead table")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--scale-chunks", type=int, default=16)
    parser.add_argument("--scale-rows", type=int, default=250_000)
    args = parser.parse_args()
    import distributed

    # persisting from_array data sends it to the workers once: dask warns about that large graph
    warnings.filterwarnings("ignore", message="Sending large graph")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with LocalProcessCluster(n_workers=2, nthreads=1, memory_limit="2GiB", env=ENV) as cluster, \
            distributed.Client(cluster.address) as client:
        print("\n1. per-step overhead, 2 worker processes x 1 thread, persisted X of (chunks*rows, 8), "
              f"{args.rows} rows a chunk")
        print(f"{'chunks':>7} {'tasks':>6} {'cluster ms':>11} {'threads ms':>11} {'graph bytes':>12}")
        for n in args.chunks:
            ms, tasks, nbytes, local = time_step(client, n, args.rows, args.repeat)
            print(f"{n:>7} {tasks:>6} {ms:>11.1f} {local:>11.1f} {nbytes:>12,}", flush=True)

        n = args.chunks[0]
        print(f"\n3. graph submitted per step: {n} chunks, rows a chunk x1 and x100")
        small = time_step(client, n, args.rows, 1)[2]
        big = time_step(client, n, args.rows * 100, 1)[2]
        data_bytes = n * args.rows * 100 * 9 * 8
        print(f"   {args.rows} rows a chunk: {small:,} bytes; {args.rows * 100} rows a chunk ({data_bytes:,} bytes "
              f"of X and y): {big:,} bytes")
        # keys, parameters and chunk lengths, never data: bigger chunks make a few more tasks (4 MiB of
        # input a task), not a graph in proportion to the data
        assert big < data_bytes / 1000, "the step graph carries data"

        print(f"\n2. scaling: {args.scale_chunks} chunks x {args.scale_rows:,} rows x 8 "
              f"({args.scale_chunks * args.scale_rows * 64 / 2**20:.0f} MiB)")
        two = time_step(client, args.scale_chunks, args.scale_rows, args.repeat)[0]
    with LocalProcessCluster(n_workers=1, nthreads=1, memory_limit="4GiB", env=ENV) as cluster, \
            distributed.Client(cluster.address) as client:
        one = time_step(client, args.scale_chunks, args.scale_rows, args.repeat)[0]
    print(f"   1 worker {one:.1f} ms/step, 2 workers {two:.1f} ms/step: speed-up {one / two:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.0f} s")
