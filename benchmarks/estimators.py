"""Estimators fitted with the same hyperparameters: chunkflow.ml vs scikit-learn, dask-ml and Spark MLlib.

Four tasks on ``--rows`` x 32 float64 data (seed 0; one generator per task,
so every contender sees the same array):

* ``logistic``: LogisticRegression, labels from a known logistic model;
  quality = scikit-learn's objective ``mean(logloss) + ||w||^2 / (2 C n)``
  (lower is better).
* ``linear``: LinearRegression (ordinary least squares, with intercept);
  quality = R^2 on the training data (higher is better).
* ``kmeans``: KMeans with 8 clusters on 8 Gaussian blobs; quality = inertia
  (lower is better).
* ``pca``: PCA to 8 components of correlated columns; quality = the fraction
  of the variance the 8 components explain (higher is better).

Quality is computed by one NumPy function per task from each contender's
solution (coefficients, centers, components), never taken from the
library's own report, so the numbers are comparable. The hyperparameters
of every contender are printed before the table (:data:`PARAMS`).

Each (task, contender) fit runs in a fresh subprocess ``--repeat`` times;
contenders take turns run by run. A subprocess builds the data, records its
peak RSS (``chunkflow.runtime.peak_rss``, VmHWM) as the baseline (imports and data),
times ``fit`` alone, then records the peak RSS again. The table shows
medians: fit seconds, quality, peak RSS, and time and peak ratios against
chunkflow measured in the same run. chunkflow and dask-ml get the data as
row chunks of ``--chunks`` rows (default ``rows / 8``, at most 250,000; dask's threaded scheduler); scikit-learn
gets the NumPy array; Spark MLlib (only when pyspark imports) a cached
DataFrame on ``local[2]``.

    python benchmarks/estimators.py [--rows 2000000] [--repeat 3] [--tasks logistic,kmeans] [--skip dask-ml]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import available, medians, spawn  # noqa: E402

D = 32
K = 8  # clusters (kmeans) and components (pca)
C = 1.0
TASKS = ("logistic", "linear", "kmeans", "pca")
CONTENDERS = ("chunkflow", "scikit-learn", "dask-ml", "spark-mllib")

# the same hyperparameters, as each library spells them
PARAMS = {
    "logistic": {
        "chunkflow": f"LogisticRegression(C={C}, tol=1e-4, max_iter=100)  # solver auto: L-BFGS",
        "scikit-learn": f"LogisticRegression(C={C}, solver='lbfgs', tol=1e-4, max_iter=100)",
        "dask-ml": f"LogisticRegression(C={C}, solver='lbfgs', tol=1e-4, max_iter=100)",
        "spark-mllib": f"LogisticRegression(regParam=1/(C n), elasticNetParam=0, standardization=False, "
                       f"tol=1e-4, maxIter=100)",
    },
    "linear": {
        "chunkflow": "LinearRegression()  # solver auto: Gram matrix, one pass",
        "scikit-learn": "LinearRegression()",
        "dask-ml": "LinearRegression(solver='newton')  # newton drops the penalty: OLS in one step",
        "spark-mllib": "LinearRegression(regParam=0, solver='normal', standardization=False)",
    },
    "kmeans": {
        "chunkflow": f"KMeans({K}, init='k-means||', oversampling_factor=2, init_max_iter=5, max_iter=300, "
                     f"tol=1e-4, random_state=0)",
        "scikit-learn": f"KMeans({K}, init='k-means++', n_init=1, max_iter=300, tol=1e-4, random_state=0)  "
                        f"# no k-means||",
        "dask-ml": f"KMeans({K}, init='k-means||', oversampling_factor=2, init_max_iter=5, max_iter=300, "
                   f"tol=1e-4, random_state=0)",
        "spark-mllib": f"KMeans(k={K}, initMode='k-means||', initSteps=5, maxIter=300, tol=1e-4, seed=0)",
    },
    "pca": {
        "chunkflow": f"PCA({K})  # svd_solver auto",
        "scikit-learn": f"PCA({K})  # svd_solver auto: covariance_eigh for n >> d",
        "dask-ml": f"PCA({K}, svd_solver='full')  # tsqr",
        "spark-mllib": f"PCA(k={K})  # covariance, mean-centered by a StandardScaler(withStd=False)",
    },
}


# ---------------------------------------------------------------- data and quality (NumPy, shared)
def make_data(task, n, seed=0):
    """``(X, y)`` for ``task``; ``y`` is None for unsupervised tasks."""
    rng = np.random.default_rng(seed)
    if task == "kmeans":
        centers = rng.normal(scale=4.0, size=(K, D))
        return centers[rng.integers(0, K, size=n)] + rng.normal(size=(n, D)), None
    X = rng.normal(size=(n, D))
    if task == "pca":
        return X @ (rng.normal(size=(D, D)) * np.logspace(0, -2, D)[:, None]), None
    w = rng.normal(size=D) / np.sqrt(D)
    if task == "logistic":
        return X, (X @ w + 0.3 + rng.logistic(size=n) > 0).astype(np.float64)
    return X, X @ w + 0.5 + 0.1 * rng.normal(size=n)


def _row_blocks(X, rows=250_000):
    return (X[i:i + rows] for i in range(0, len(X), rows))


def quality(task, X, y, sol):
    """One number per solution, computed the same way for every contender."""
    if task == "logistic":
        z = X @ sol["coef"] + sol["intercept"]
        return float(np.mean(np.logaddexp(0, z) - y * z) + sol["coef"] @ sol["coef"] / (2 * C * len(y)))
    if task == "linear":
        resid = y - X @ sol["coef"] - sol["intercept"]
        return float(1 - resid @ resid / np.sum((y - y.mean()) ** 2))
    if task == "kmeans":
        Cc = np.asarray(sol["centers"])
        return float(sum(np.maximum(((B[:, None, :] - Cc[None]) ** 2).sum(axis=2).min(axis=1), 0).sum()
                         for B in _row_blocks(X, 50_000)))
    # pca: variance captured by the span of the components, over the total variance
    Q, _ = np.linalg.qr(np.asarray(sol["components"]).T)
    mean = X.mean(axis=0)
    cov = X.T @ X / len(X) - np.outer(mean, mean)
    return float(np.trace(Q.T @ cov @ Q) / np.trace(cov))


QUALITY = {"logistic": "objective (lower)", "linear": "R^2 (higher)", "kmeans": "inertia (lower)",
           "pca": "explained var (higher)"}


# ---------------------------------------------------------------- contenders: fit -> solution
def _solution(task, m):
    """The solution arrays of a fitted scikit-learn-like model."""
    if task in ("logistic", "linear"):
        return {"coef": np.asarray(m.coef_, dtype=np.float64).ravel(),
                "intercept": float(np.ravel(np.asarray(m.intercept_))[0])}
    if task == "kmeans":
        return {"centers": np.asarray(m.cluster_centers_)}
    return {"components": np.asarray(m.components_)}


def fit_chunkflow(task, X, y, chunks):
    import chunkflow as cf
    from chunkflow import ml

    Xt = cf.from_array(X, chunks=(chunks, -1))
    yt = None if y is None else cf.from_array(y, chunks=(chunks,))
    m = {"logistic": lambda: ml.LogisticRegression(C=C, tol=1e-4, max_iter=100),
         "linear": lambda: ml.LinearRegression(),
         "kmeans": lambda: ml.KMeans(K, init="k-means||", oversampling_factor=2, init_max_iter=5, max_iter=300,
                                     tol=1e-4, random_state=0),
         "pca": lambda: ml.PCA(K)}[task]()
    start = time.perf_counter()
    m.fit(Xt, yt)
    return time.perf_counter() - start, _solution(task, m)


def fit_sklearn(task, X, y, chunks):
    from sklearn import cluster, decomposition, linear_model

    m = {"logistic": lambda: linear_model.LogisticRegression(C=C, solver="lbfgs", tol=1e-4, max_iter=100),
         "linear": lambda: linear_model.LinearRegression(),
         "kmeans": lambda: cluster.KMeans(K, init="k-means++", n_init=1, max_iter=300, tol=1e-4, random_state=0),
         "pca": lambda: decomposition.PCA(K)}[task]()
    start = time.perf_counter()
    m.fit(X, y)
    return time.perf_counter() - start, _solution(task, m)


def fit_daskml(task, X, y, chunks):
    import dask
    import dask.array as da
    from dask_ml import cluster, decomposition, linear_model

    Xd = da.from_array(X, chunks=(chunks, -1))
    yd = None if y is None else da.from_array(y, chunks=(chunks,))
    m = {"logistic": lambda: linear_model.LogisticRegression(C=C, solver="lbfgs", tol=1e-4, max_iter=100),
         "linear": lambda: linear_model.LinearRegression(solver="newton"),
         "kmeans": lambda: cluster.KMeans(K, init="k-means||", oversampling_factor=2, init_max_iter=5,
                                          max_iter=300, tol=1e-4, random_state=0),
         "pca": lambda: decomposition.PCA(K, svd_solver="full")}[task]()
    with dask.config.set(scheduler="threads"):
        start = time.perf_counter()
        m.fit(Xd) if yd is None else m.fit(Xd, yd)
        elapsed = time.perf_counter() - start
    return elapsed, _solution(task, m)


def fit_spark(task, X, y, chunks):
    from pyspark.ml import classification, clustering, feature, regression
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "8g")
             .config("spark.ui.enabled", "false").getOrCreate())
    labels = np.zeros(len(X)) if y is None else y
    df = spark.createDataFrame([(float(t), Vectors.dense(r)) for r, t in zip(X, labels)],
                               ["label", "features"]).cache()
    df.count()
    n = len(X)
    m = {"logistic": lambda: classification.LogisticRegression(regParam=1 / (C * n), elasticNetParam=0.0,
                                                               standardization=False, tol=1e-4, maxIter=100),
         "linear": lambda: regression.LinearRegression(regParam=0.0, solver="normal", standardization=False),
         "kmeans": lambda: clustering.KMeans(k=K, initMode="k-means||", initSteps=5, maxIter=300, tol=1e-4,
                                             seed=0),
         "pca": lambda: feature.PCA(k=K, inputCol="centered", outputCol="pcs")}[task]()
    start = time.perf_counter()
    if task == "pca":
        df = feature.StandardScaler(withMean=True, withStd=False, inputCol="features",
                                    outputCol="centered").fit(df).transform(df)
    fitted = m.fit(df)
    elapsed = time.perf_counter() - start
    if task in ("logistic", "linear"):
        sol = {"coef": fitted.coefficients.toArray(), "intercept": float(fitted.intercept)}
    elif task == "kmeans":
        sol = {"centers": np.asarray(fitted.clusterCenters())}
    else:
        sol = {"components": fitted.pc.toArray().T}
    spark.stop()
    return elapsed, sol


FITS = {"chunkflow": fit_chunkflow, "scikit-learn": fit_sklearn, "dask-ml": fit_daskml, "spark-mllib": fit_spark}


# ---------------------------------------------------------------- one run per subprocess
def one(task, name, rows, chunks):
    """Fit ``name`` on ``task`` in this process; print one JSON line."""
    from chunkflow.runtime import peak_rss

    X, y = make_data(task, rows)
    data_rss = peak_rss()
    elapsed, sol = FITS[name](task, X, y, chunks)
    rss = peak_rss()
    print(json.dumps({"time": elapsed, "quality": quality(task, X, y, sol), "peak_rss": rss,
                      "data_rss": data_rss}))




def report(rows, repeat, table):
    print(f"\n{rows:,} x {D} float64; medians of {repeat} runs; ratios are contender / chunkflow")
    head = (f"{'task':<10}{'contender':<14}{'fit s':>9}{'x time':>8}{'quality':>24}"
            f"{'peak MiB':>10}{'x peak':>8}{'base MiB':>10}")
    print(head)
    print("-" * len(head))
    for task, by_name in table.items():
        base = by_name.get("chunkflow", {})
        for name, med in by_name.items():
            if "error" in med:
                print(f"{task:<10}{name:<14} failed: {med['error']}")
                continue
            rt = med["time"] / base["time"] if "time" in base else float("nan")
            rp = med["peak_rss"] / base["peak_rss"] if "peak_rss" in base else float("nan")
            print(f"{task:<10}{name:<14}{med['time']:>9.2f}{rt:>8.2f}{med['quality']:>24.10g}"
                  f"{med['peak_rss'] / 2**20:>10.0f}{rp:>8.2f}{med['data_rss'] / 2**20:>10.0f}")
    print("quality: " + "; ".join(f"{t}: {q}" for t, q in QUALITY.items() if t in table))
    print("base MiB: peak RSS after importing chunkflow and building the data, before fit")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--chunks", type=int, default=None,
                        help="rows per chunk for chunkflow and dask-ml (default: rows / 8, at most 250,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {TASKS}")
    parser.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    parser.add_argument("--one", nargs=2, metavar=("TASK", "CONTENDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.chunks = args.chunks or max(1, min(250_000, args.rows // 8))
    if args.one:
        return one(*args.one, args.rows, args.chunks)
    tasks = [t for t in args.tasks.split(",") if t]
    bad = sorted(set(tasks) - set(TASKS))
    if bad:
        parser.error(f"unknown tasks {bad}; choose from {TASKS}")
    names = available(n for n in CONTENDERS if n not in args.skip)
    print("hyperparameters:")
    for task in tasks:
        for name in names:
            print(f"  {task:<10}{name:<14}{PARAMS[task][name]}")
    runs = {t: {n: [] for n in names} for t in tasks}
    for _ in range(args.repeat):  # rotate so no contender always runs first on a warm or cold machine
        for task in tasks:
            for name in names:
                runs[task][name].append(spawn(__file__, ["--one", task, name, "--rows", str(args.rows),
                                                         "--chunks", str(args.chunks)]))
        names = names[1:] + names[:1]
    report(args.rows, args.repeat, {t: {n: medians(runs[t][n]) for n in CONTENDERS if n in runs[t]}
                                    for t in tasks})


if __name__ == "__main__":
    main()
