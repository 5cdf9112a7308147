"""Per-step overhead of a compiled value-and-gradient step (issue: compile once, run many).

A logistic-regression loss on X of shape (chunks * rows, 8), persisted in
memory, split into 100 or 1,000 row chunks. For each size we time, in one
run: the compiled chunkflow step (``cf.value_and_grad`` re-bound with new
parameters), and the same data pass in NumPy on the whole array (forward
``X @ w``, loss, backward ``X.T @ r``). The overhead is the step time minus
the NumPy pass; with tiny chunks the pass is ~1 ms, so the step time is the
overhead. Medians of --repeat runs. Target: < 20 ms at 100 chunks on the
threaded scheduler.

    python benchmarks/step_overhead.py [--repeat 15]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import chunkflow as cf


def loss(w, x, y):
    z = x @ w
    return (cf.logaddexp(0.0, z) - y * z).mean()


def numpy_step(a, yv, w):
    z = a @ w
    p = 1 / (1 + np.exp(-z))
    return (np.logaddexp(0, z) - yv * z).mean(), a.T @ (p - yv) / len(yv)


def median_ms(fn, repeat):
    fn(0)
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rows", type=int, default=100, help="rows per chunk")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'chunks':>7} {'tasks':>6} {'threads ms':>11} {'sync ms':>8} {'numpy pass ms':>14} {'overhead ms':>12}")
    for nchunks in (100, 1000):
        a = rng.normal(size=(nchunks * args.rows, 8))
        yv = (a[:, 0] + 0.5 * rng.normal(size=len(a)) > 0).astype(float)
        x = cf.from_array(a, chunks=(args.rows, -1)).persist()
        y = cf.from_array(yv, chunks=(args.rows,)).persist()
        step = cf.value_and_grad(loss)
        w = np.zeros(8)
        value, grad = step(w, x, y)
        ref_value, ref_grad = numpy_step(a, yv, w)
        assert np.isclose(value, ref_value) and np.allclose(grad, ref_grad)
        threads = median_ms(lambda i: step(w + 0.01 * i, x, y), args.repeat)
        sync = median_ms(lambda i: step(w + 0.01 * i, x, y, scheduler="sync"), args.repeat)
        base = median_ms(lambda i: numpy_step(a, yv, w + 0.01 * i), args.repeat)
        cache = [c.cell_contents for c in step.__closure__ if isinstance(c.cell_contents, dict)][0]
        tasks = len(next(iter(cache.values()))[0].program)
        print(f"{nchunks:>7} {tasks:>6} {threads:>11.1f} {sync:>8.1f} {base:>14.1f} {threads - base:>12.1f}")


if __name__ == "__main__":
    main()
