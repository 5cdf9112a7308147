"""The ``chunkflow`` command.

``chunkflow demo`` is the embedded default job: it standardizes a lazily
generated tensor several times larger than the memory budget, out of core on
local threads, and prints the results and the peak memory it used.
"""
from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


def demo(args) -> int:
    import numpy as np

    import chunkflow as cf
    from chunkflow.config import parse_bytes

    budget = parse_bytes(args.memory_budget)
    with cf.config.set(memory_budget=budget):
        rows = int(args.scale * budget // (8 * args.columns))
        rng = cf.random.default_rng(args.seed)
        x = rng.normal(loc=3.0, scale=2.0, size=(rows, args.columns), chunks="auto")
        z = (x - x.mean(axis=0)) / x.std(axis=0)
        print(f"chunkflow {cf.__version__} demo: out-of-core standardization on local threads")
        print(f"  input   {x.shape[0]:,} x {x.shape[1]} float64 = {x.nbytes / 2**30:.2f} GiB "
              f"({x.nbytes / budget:.1f}x the {budget / 2**30:.2f} GiB memory budget), "
              f"{x.npartitions} chunks of {x.chunksize[0]:,} rows, generated lazily")
        start = time.perf_counter()
        mean, std, zmean, zstd, zmax = cf.compute(
            x.mean(axis=0), x.std(axis=0), z.mean(axis=0), z.std(axis=0), z.max(axis=0)
        )
        elapsed = time.perf_counter() - start
    np.set_printoptions(precision=4, suppress=True, linewidth=120)
    print(f"  mean of x (expect ~3):          {mean[:6]}")
    print(f"  std of x (expect ~2):           {std[:6]}")
    print(f"  mean of standardized (~0):      {zmean[:6]}")
    print(f"  std of standardized (~1):       {zstd[:6]}")
    print(f"  max of standardized:            {zmax[:6]}")
    from chunkflow.runtime import peak_rss

    peak = peak_rss()
    print(f"  time {elapsed:.2f} s, peak RSS {peak / 2**30:.2f} GiB "
          f"({'under' if peak < budget else 'OVER'} the budget)")
    ok = np.allclose(zmean, 0, atol=1e-6) and np.allclose(zstd, 1, atol=1e-6)
    return 0 if ok and peak < budget else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="chunkflow", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run the embedded default job on local threads")
    p.add_argument("--memory-budget", default="512MiB", help="memory budget (default 512MiB)")
    p.add_argument("--scale", type=float, default=4.0, help="input size as a multiple of the budget")
    p.add_argument("--columns", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
