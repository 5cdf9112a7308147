"""Logistic regression trained to the same loss: chunkflow vs scikit-learn, dask-ml and Spark MLlib.

The same data (``--rows`` x 32 float64, labels from a known logistic model,
seed 0) and the same objective in every contender: scikit-learn's
``C * sum(logloss) + ||w||^2 / 2`` with ``C = 1`` and an unpenalized
intercept, i.e. ``mean(logloss) + ||w||^2 / (2 C n)``. chunkflow writes that
loss with its own ops and trains it with L-BFGS (``chunkflow.ml.minimize``);
scikit-learn runs ``LogisticRegression(solver="lbfgs")`` in memory; dask-ml
``LogisticRegression(solver="lbfgs")`` on a dask array with the same
chunks; Spark MLlib ``LogisticRegression`` on ``local[2]`` when pyspark is
installed. Each contender runs in a fresh subprocess (so peak RSS is its
own, read from VmHWM) ``--repeat`` times; the table shows medians of fit
time, the final objective evaluated by one NumPy function on each solution,
passes over X (loss-and-gradient evaluations) and peak RSS, with time
ratios against chunkflow measured in the same run.

Then one out-of-core run: the data written to a local .npy 3x the memory
budget, read back with ``cf.from_npy`` (each chunk's byte range, streamed
every pass since it does not fit) and trained to convergence; its peak RSS
is compared with the budget.

    python benchmarks/training.py [--rows 2000000] [--repeat 3] [--ooc-budget 512MiB]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import available, medians, rotate_runs, spawn  # noqa: E402

D = 32
C = 1.0
TOL = 1e-6  # max-norm of the gradient of the mean objective, for chunkflow and scikit-learn


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    w = rng.normal(size=D) / np.sqrt(D)
    y = (X @ w + 0.3 + rng.logistic(size=n) > 0).astype(np.float64)
    return X, y


def objective(X, y, coef, intercept):
    z = X @ coef + intercept
    return float(np.mean(np.logaddexp(0, z) - y * z) + coef @ coef / (2 * C * len(y)))


def peak_rss():
    from chunkflow.runtime import peak_rss as rss
    return rss()


def run_chunkflow(X, y, chunks):
    import chunkflow as cf
    from chunkflow.ml import LBFGS, losses, minimize

    n = len(y)
    Xt, yt = cf.from_array(X, chunks=(chunks, -1)), cf.from_array(y, chunks=chunks)

    def loss(p, X, y):
        return losses.logistic(X @ p["w"] + p["b"], y) + losses.l2(p["w"], alpha=1 / (C * n))

    start = time.perf_counter()
    res = minimize(loss, {"w": np.zeros(D), "b": np.array(0.0)}, Xt, yt, optimizer=LBFGS(tol=TOL, max_iter=500))
    elapsed = time.perf_counter() - start
    return elapsed, res.params["w"], float(res.params["b"]), res.n_evals


def run_sklearn(X, y, chunks):
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    m = LogisticRegression(C=C, tol=TOL, max_iter=1000).fit(X, y)
    elapsed = time.perf_counter() - start
    return elapsed, m.coef_.ravel(), float(m.intercept_[0]), int(m.n_iter_[0])


def run_daskml(X, y, chunks):
    import dask
    import dask.array as da
    from dask_ml.linear_model import LogisticRegression

    Xd, yd = da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks=chunks)
    with dask.config.set(scheduler="threads"):
        start = time.perf_counter()
        m = LogisticRegression(C=C, solver="lbfgs", tol=TOL, max_iter=500).fit(Xd, yd)
        elapsed = time.perf_counter() - start
    return elapsed, np.asarray(m.coef_).ravel(), float(np.ravel(m.intercept_)[0]), int(getattr(m, "n_iter_", -1) or -1)


def run_spark(X, y, chunks):
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "8g")
             .config("spark.ui.enabled", "false").getOrCreate())
    rows = [(float(t), Vectors.dense(r)) for r, t in zip(X, y)]
    df = spark.createDataFrame(rows, ["label", "features"]).cache()
    df.count()
    n = len(y)
    # Spark: mean(logloss) + regParam/2 ||w||^2 (elasticNetParam=0) -> regParam = 1/(C n)
    lr = LogisticRegression(regParam=1 / (C * n), elasticNetParam=0.0, standardization=False, tol=1e-10,
                            maxIter=500)
    start = time.perf_counter()
    m = lr.fit(df)
    elapsed = time.perf_counter() - start
    out = elapsed, m.coefficients.toArray(), float(m.intercept), int(m.summary.totalIterations)
    spark.stop()
    return out


CONTENDERS = {"chunkflow": run_chunkflow, "scikit-learn": run_sklearn, "dask-ml": run_daskml,
              "spark-mllib": run_spark}


def one(name, rows, chunks):
    """Run one contender in this process; print a JSON line."""
    X, y = make_data(rows)
    elapsed, coef, intercept, passes = CONTENDERS[name](X, y, chunks)
    print(json.dumps({"name": name, "time": elapsed, "objective": objective(X, y, coef, intercept),
                      "passes": passes, "peak_rss": peak_rss()}))


def ooc(budget, rows_factor=3.0):
    """Train from a .npy 3x the budget under that budget; print a JSON line."""
    import chunkflow as cf
    from chunkflow.ml import LBFGS, losses, minimize

    nbytes = cf.config.parse_bytes(budget)
    n = int(rows_factor * nbytes / (8 * (D + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        rng_rows = 500_000
        with cf.config.set(memory_budget=budget):
            # write X and y chunk by chunk from a seeded lazy generator (never whole in memory)
            g = cf.random.default_rng(1)
            Xl = g.normal(size=(n, D), chunks=(rng_rows, -1))
            w_true = np.random.default_rng(2).normal(size=D) / np.sqrt(D)
            u = g.uniform(1e-12, 1 - 1e-12, size=n, chunks=rng_rows)
            yl = ((Xl @ w_true + cf.log(u / (1 - u))) > 0).astype(np.float64)  # logistic noise
            Xl.to_npy(f"{tmp}/X.npy")
            yl.to_npy(f"{tmp}/y.npy")
            disk = os.path.getsize(f"{tmp}/X.npy") + os.path.getsize(f"{tmp}/y.npy")
            X, y = cf.from_npy(f"{tmp}/X.npy"), cf.from_npy(f"{tmp}/y.npy")
            y = y.rechunk({0: X.chunks[0]})

            def loss(p, X, y):
                return losses.logistic(X @ p["w"] + p["b"], y) + losses.l2(p["w"], alpha=1 / (C * n))

            start = time.perf_counter()
            res = minimize(loss, {"w": np.zeros(D), "b": np.array(0.0)}, X, y, optimizer=LBFGS(tol=1e-5),
                           max_steps=100)
            elapsed = time.perf_counter() - start
        print(json.dumps({"name": "chunkflow out-of-core", "rows": n, "disk_bytes": disk, "budget": nbytes,
                          "time": elapsed, "passes": res.n_evals, "converged": res.converged,
                          "objective": res.value, "peak_rss": peak_rss(), "chunks": len(X.chunks[0])}))



def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunks", type=int, default=250_000, help="rows per chunk (chunkflow, dask-ml)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ooc-budget", default="512MiB")
    parser.add_argument("--skip", nargs="*", default=[])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--ooc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args.one, args.rows, args.chunks)
    if args.ooc:
        return ooc(args.ooc_budget)
    names = available(n for n in CONTENDERS if n not in args.skip)
    runs = rotate_runs(names, args.repeat, lambda n: spawn(__file__, ["--one", n, "--rows", str(args.rows),
                                                                      "--chunks", str(args.chunks)]))
    print(f"\nlogistic regression, {args.rows:,} x {D}, C={C}; medians of {args.repeat} runs")
    print(f"{'':<14}{'fit s':>8}{'x chunkflow':>12}{'objective':>14}{'passes':>8}{'peak RSS MiB':>14}")
    base = None
    table = {}
    for n in CONTENDERS:
        if n not in runs:
            continue
        med = medians(runs[n])
        if "error" in med:
            print(f"{n:<14} failed: {med['error']}")
            continue
        table[n] = med
        base = base or (med["time"] if n == "chunkflow" else None)
    for n, med in table.items():
        ratio = med["time"] / table["chunkflow"]["time"] if "chunkflow" in table else float("nan")
        print(f"{n:<14}{med['time']:>8.2f}{ratio:>12.2f}{med['objective']:>14.8f}{med['passes']:>8.0f}"
              f"{med['peak_rss'] / 2**20:>14.0f}")
    if "chunkflow" in table:
        for n in ("dask-ml", "scikit-learn", "spark-mllib"):
            if n in table:
                print(f"chunkflow / {n} time: {table['chunkflow']['time'] / table[n]['time']:.2f}")
    if "ooc" not in args.skip:
        r = spawn(__file__, ["--ooc", "--ooc-budget", args.ooc_budget])
        if "error" in r:
            print(f"\nout-of-core run failed: {r['error']}")
        else:
            print(f"\nout-of-core: {r['rows']:,} x {D} on disk {r['disk_bytes'] / 2**30:.2f} GiB = "
                  f"{r['disk_bytes'] / r['budget']:.1f}x the {r['budget'] / 2**20:.0f} MiB budget; "
                  f"{r['passes']} passes in {r['time']:.1f} s, converged={r['converged']}, "
                  f"peak RSS {r['peak_rss'] / 2**20:.0f} MiB ({r['peak_rss'] / r['budget']:.2f}x budget)")


if __name__ == "__main__":
    main()
