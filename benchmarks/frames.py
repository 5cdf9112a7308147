"""A feature-engineering query on Parquet: chunkflow Frames vs plain dask.dataframe vs pandas in memory.

The data: ``--rows`` rows (default 10,000,000) x 10 columns (ids, a store
key, a string category, prices, quantities, three float features, a flag, a
day), written by this script as Parquet files of 1,000,000 rows (row groups of
250,000) into a temporary directory. The query, written the natural way in
each library:

1. read the Parquet dataset (7 of the 10 columns are used);
2. filter rows: ``qty > 0 & x3 > -1``;
3. assign ``revenue = price * qty`` and ``ratio = x1 / (|x2| + 1)``;
4. merge with a small table of 1,000 stores (region, weight) -- a broadcast join;
5. group by region: revenue sum and mean, ratio mean, row count (computed);
6. the columns ``revenue, ratio, weight`` as a 2-D array (chunkflow:
   ``to_tensor``, which counts the filtered rows in one pass so the Tensor's
   row chunks are known; dask: ``to_dask_array()`` with unknown chunks, no
   counting pass -- ``lengths=True`` fails after the merge in dask 2026.8;
   pandas: ``to_numpy``) and their column means (computed).

Each contender runs in a fresh subprocess ``--repeat`` times (the order
rotates); the table shows medians of wall time and peak RSS (VmHWM), time
ratios against dask.dataframe, and a checksum of the results (the same in all
three). chunkflow's peak RSS is compared with its memory budget
(``cf.config.memory_budget()``).

    python benchmarks/frames.py [--rows 10000000] [--repeat 3] [--skip pandas]
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
from _common import medians, rotate_runs, spawn  # noqa: E402

FILE_ROWS = 1_000_000
ROW_GROUP = 250_000
STORES = 1_000
FEATURES = ["revenue", "ratio", "weight"]


def write_data(path, rows, seed=0):
    """Write the dataset as Parquet files of FILE_ROWS rows; returns the bytes written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    cats = np.array([f"c{i:02d}" for i in range(20)])
    os.makedirs(path, exist_ok=True)
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - start)
        table = pa.table({
            "id": np.arange(start, start + n, dtype=np.int64),
            "store": rng.integers(0, STORES, n, dtype=np.int64),
            "cat": cats[rng.integers(0, len(cats), n)],
            "price": rng.uniform(1, 100, n),
            "qty": rng.integers(-2, 10, n),
            "x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
            "flag": rng.random(n) < 0.3,
            "day": rng.integers(0, 365, n, dtype=np.int32),
        })
        pq.write_table(table, f"{path}/part.{i:05d}.parquet", row_group_size=ROW_GROUP)
    return sum(os.path.getsize(f"{path}/{f}") for f in os.listdir(path))


def stores_table():
    import pandas as pd

    rng = np.random.default_rng(1)
    return pd.DataFrame({"store": np.arange(STORES, dtype=np.int64), "region": rng.integers(0, 10, STORES),
                         "weight": rng.uniform(0.5, 2.0, STORES)})


AGG = {"revenue": ["sum", "mean"], "ratio": "mean", "qty": "count"}


def run_chunkflow(path):
    import chunkflow as cf

    f = cf.read_parquet(path)
    f = f[(f["qty"] > 0) & (f["x3"] > -1.0)]
    f = f.assign(revenue=f["price"] * f["qty"], ratio=f["x1"] / (f["x2"].abs() + 1.0))
    f = f.merge(stores_table(), on="store")
    agg = f.groupby("region").agg(AGG).compute()
    (means,) = cf.compute(f[FEATURES].to_tensor().mean(axis=0))
    return agg, means


def run_dask(path):
    import dask.dataframe as dd

    f = dd.read_parquet(path)
    f = f[(f["qty"] > 0) & (f["x3"] > -1.0)]
    f = f.assign(revenue=f["price"] * f["qty"], ratio=f["x1"] / (f["x2"].abs() + 1.0))
    f = f.merge(stores_table(), on="store")
    agg = f.groupby("region").agg(AGG).compute()
    # to_dask_array(lengths=True) fails after this merge in dask 2026.8 (it counts 5 partitions of 10);
    # a mean over rows needs no chunk sizes, so plain dask skips the counting pass chunkflow makes
    means = f[FEATURES].to_dask_array().mean(axis=0).compute()
    return agg, means


def run_pandas(path):
    import pandas as pd

    f = pd.read_parquet(path, columns=["store", "price", "qty", "x1", "x2", "x3"])
    f = f[(f["qty"] > 0) & (f["x3"] > -1.0)]
    f = f.assign(revenue=f["price"] * f["qty"], ratio=f["x1"] / (f["x2"].abs() + 1.0))
    f = f.merge(stores_table(), on="store")
    agg = f.groupby("region").agg(AGG)
    means = f[FEATURES].to_numpy().mean(axis=0)
    return agg, means


CONTENDERS = {"chunkflow": run_chunkflow, "dask.dataframe": run_dask, "pandas": run_pandas}


def one(name, path):
    """Run one contender in this process; print a JSON line."""
    from chunkflow.runtime import peak_rss

    start = time.perf_counter()
    agg, means = CONTENDERS[name](path)
    elapsed = time.perf_counter() - start
    agg = agg.sort_index()
    checksum = float(agg[("revenue", "sum")].sum() / 1e9 + agg[("qty", "count")].sum() / 1e6 + means.sum())
    print(json.dumps({"time": elapsed, "peak_rss": peak_rss(), "checksum": checksum,
                      "groups": int(len(agg))}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    parser.add_argument("--one", nargs=2, metavar=("CONTENDER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(*args.one)
    import chunkflow as cf

    names = [n for n in CONTENDERS if n not in args.skip]
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/data"
        start = time.perf_counter()
        nbytes = write_data(path, args.rows)
        print(f"wrote {args.rows:,} rows x 10 columns, {nbytes / 2**20:.0f} MiB of Parquet in "
              f"{time.perf_counter() - start:.1f} s")
        runs = rotate_runs(names, args.repeat, lambda n: spawn(__file__, ["--one", n, path]))
    table = {n: medians(r) for n, r in runs.items()}
    budget = cf.config.memory_budget()
    base = table.get("dask.dataframe", {})
    print(f"\nfilter, assign, broadcast merge, groupby-agg, to_tensor + column means; {args.rows:,} rows; "
          f"medians of {args.repeat} runs; ratios are contender / dask.dataframe")
    head = f"{'contender':<16}{'time s':>9}{'x dask':>8}{'peak MiB':>10}{'x dask':>8}{'checksum':>20}"
    print(head)
    print("-" * len(head))
    for name, med in table.items():
        if "error" in med:
            print(f"{name:<16} failed: {med['error']}")
            continue
        rt = med["time"] / base["time"] if "time" in base else float("nan")
        rp = med["peak_rss"] / base["peak_rss"] if "peak_rss" in base else float("nan")
        print(f"{name:<16}{med['time']:>9.2f}{rt:>8.2f}{med['peak_rss'] / 2**20:>10.0f}{rp:>8.2f}"
              f"{med['checksum']:>20.10g}")
    if "peak_rss" in table.get("chunkflow", {}):
        peak = table["chunkflow"]["peak_rss"]
        print(f"chunkflow peak RSS {peak / 2**20:.0f} MiB = {peak / budget:.2f}x its memory budget "
              f"({budget / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
