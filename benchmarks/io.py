"""Parquet read throughput and bytes fetched: chunkflow vs direct pyarrow (+ s3fs), in one run.

Usage::

    python benchmarks/io.py                       # ~1 GB dataset, 3 rounds
    python benchmarks/io.py --size-gb 0.1 --repeat 5

Methodology
-----------
Data.  A table of 32 float64 columns of standard normals (``--seed``), split
into 8 Parquet files (snappy, row groups of 2**17 rows = 32 MiB uncompressed)
in a temporary directory, and the same files uploaded to a moto S3 server
started in its own process on 127.0.0.1 (so the server does not share the
benchmark's interpreter lock).

Workloads.  Each reads the whole dataset into one pandas DataFrame:
``full`` all 32 columns, ``2-of-32`` columns c3 and c17; ``tensor`` all
columns into one float64 NumPy array. chunkflow:
``cf.read_parquet(url, columns=...).compute()`` (``.to_tensor().compute()``
for tensor), on its default threaded scheduler and default ``chunk_bytes``.
Direct pyarrow: ``pq.read_table(url, columns=...).to_pandas()`` (for tensor,
the table's columns stacked into one array), on Arrow's own local file system,
and for S3 on an ``s3fs.S3FileSystem`` with the same options (pyarrow wraps it
as Python file system, as it does when given s3fs). Both are the natural calls
a user would write.

Time.  One warm-up round, then ``--repeat`` rounds; in each round every
(source, workload, library) runs once, the libraries in an order that
alternates from round to round. The table shows medians and the ratio
chunkflow throughput / pyarrow throughput (>= 0.8 is the target). Local files
sit in the page cache after the warm-up, so local figures measure decoding
and assembly, not the disk.

Bytes.  Bytes fetched for the 2-of-32 projection: from S3, the bytes of GET
response bodies the moto server sent (a WSGI wrapper around moto's app counts
them); locally, bytes returned by the files of ``countfs://``, fsspec's local
file system registered under its own protocol. The reference is the
compressed size of the selected column chunks in the Parquet footers; the
target is <= 1.2x. Direct pyarrow goes through the same fsspec file systems
with fsspec's defaults (s3fs opens files with read-ahead).
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chunkflow as cf  # noqa: E402

NCOLS, NFILES, ROW_GROUP = 32, 8, 2**17
SELECTED = ["c3", "c17"]


# ------------------------------------------------------------------ counting local reads
class _Counter:
    lock = threading.Lock()
    n = 0

    @classmethod
    def add(cls, k):
        with cls.lock:
            cls.n += k


def _counting_local_fs():
    """fsspec's local file system as ``countfs://``, counting the bytes its files return."""
    from fsspec.implementations.local import LocalFileOpener, LocalFileSystem

    class CountingFile(LocalFileOpener):
        def read(self, *args):
            data = super().read(*args)
            _Counter.add(len(data))
            return data

        def readinto(self, buffer):
            n = self.f.readinto(buffer)
            _Counter.add(n or 0)
            return n

    class CountingFileSystem(LocalFileSystem):
        protocol = ("countfs",)

        def _open(self, path, mode="rb", block_size=None, **kwargs):
            if "r" not in mode:
                return super()._open(path, mode, block_size, **kwargs)
            return CountingFile(self._strip_protocol(path), mode, fs=self, **kwargs)

    fsspec.register_implementation("countfs", CountingFileSystem, clobber=True)


# ------------------------------------------------------------------ data and servers
def make_dataset(directory, size_gb, seed):
    rows = int(size_gb * 1e9 / (NCOLS * 8))
    rng = np.random.default_rng(seed)
    per = -(-rows // NFILES)
    for i in range(NFILES):
        n = min(per, rows - i * per)
        table = pa.table({f"c{j}": rng.standard_normal(n) for j in range(NCOLS)})
        pq.write_table(table, os.path.join(directory, f"part.{i}.parquet"), row_group_size=ROW_GROUP)
    return rows


def selected_bytes(directory):
    total = 0
    for name in sorted(os.listdir(directory)):
        meta = pq.ParquetFile(os.path.join(directory, name)).metadata
        idx = [j for j in range(meta.num_columns) if meta.schema.column(j).name in SELECTED]
        total += sum(meta.row_group(r).column(j).total_compressed_size
                     for r in range(meta.num_row_groups) for j in idx)
    return total


_MOTO = """
import sys
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

sent = [0]
app = DomainDispatcherApplication(create_backend_app)


def counting(environ, start_response):  # bytes of GET response bodies; GET /__bytes__ reports them
    if environ["PATH_INFO"] == "/__bytes__":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(sent[0]).encode()]
    body = app(environ, start_response)
    if environ["REQUEST_METHOD"] != "GET":
        return body
    out = list(body)
    sent[0] += sum(len(b) for b in out)
    return out


run_simple("127.0.0.1", int(sys.argv[1]), counting, threaded=True, request_handler=MotoRequestHandler)
"""


def start_moto():
    """A moto S3 server in its own process, counting the bytes its GET responses send."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", _MOTO, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}


def server_bytes(options):
    import urllib.request

    with urllib.request.urlopen(options["endpoint_url"] + "/__bytes__") as r:
        return int(r.read())


# ------------------------------------------------------------------ the two libraries
def run_chunkflow(url, workload, options):
    columns = SELECTED if workload == "2-of-32" else None
    f = cf.read_parquet(url, columns=columns, storage_options=options)
    return f.to_tensor().compute() if workload == "tensor" else f.compute()


def run_pyarrow(url, workload, options):
    columns = SELECTED if workload == "2-of-32" else None
    if options is None:
        fs, path = None, url.split("://", 1)[-1]
    else:
        fs, path = fsspec.core.url_to_fs(url, **options)
    table = pq.read_table(path, columns=columns, filesystem=fs)
    if workload == "tensor":
        out = np.empty((table.num_rows, table.num_columns))
        for j, col in enumerate(table.columns):
            out[:, j] = col.to_numpy()
        return out
    return table.to_pandas()


RUNNERS = {"chunkflow": run_chunkflow, "pyarrow": run_pyarrow}


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    elapsed = time.perf_counter() - t
    del out
    return elapsed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size-gb", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-s3", action="store_true", help="skip the S3 rows")
    args = p.parse_args(argv)
    import s3fs

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        t = time.perf_counter()
        rows = make_dataset(data, args.size_gb, args.seed)
        nbytes = rows * NCOLS * 8
        print(f"dataset: {rows:,} rows x {NCOLS} float64 = {nbytes / 1e9:.2f} GB in {NFILES} files "
              f"({sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)) / 1e9:.2f} GB on disk), "
              f"made in {time.perf_counter() - t:.0f} s")
        sources = {"local": (data, None)}
        moto = None
        if not args.no_s3:
            moto, options = start_moto()
            fs = s3fs.S3FileSystem(**options)
            fs.mkdir("bench")
            t = time.perf_counter()
            fs.put(data + "/", "bench/data/", recursive=True)
            print(f"uploaded to moto S3 at {options['endpoint_url']} in {time.perf_counter() - t:.0f} s")
            sources["s3"] = ("s3://bench/data", options)
        try:
            results = measure(sources, args.repeat, nbytes)
            fetched = measure_bytes(data, sources)
        finally:
            if moto is not None:
                moto.terminate()
                moto.wait()
    report(results, fetched, selected_bytes_value=fetched.pop("_selected"), nbytes=nbytes, repeat=args.repeat)


def measure(sources, repeat, nbytes):
    cases = [(s, w) for s in sources for w in ("full", "2-of-32", "tensor") if not (s == "s3" and w == "tensor")]
    times = {(s, w, lib): [] for s, w in cases for lib in RUNNERS}
    for rnd in range(repeat + 1):  # round 0 warms up
        order = list(RUNNERS) if rnd % 2 else list(reversed(RUNNERS))
        for s, w in cases:
            url, options = sources[s]
            for lib in order:
                elapsed = timed(RUNNERS[lib], url, w, options)
                if rnd:
                    times[(s, w, lib)].append(elapsed)
        print(f"round {rnd}{' (warm-up)' if not rnd else ''} done", flush=True)
    return {k: statistics.median(v) for k, v in times.items()}


def measure_bytes(data, sources):
    out = {"_selected": selected_bytes(data)}
    _counting_local_fs()
    for lib, run in (("chunkflow", run_chunkflow), ("pyarrow", _pyarrow_via_fsspec)):
        before = _Counter.n
        run(f"countfs://{data}", "2-of-32", None)
        out[("local", lib)] = _Counter.n - before
        if "s3" in sources:  # counted by the server: bytes it sent
            url, options = sources["s3"]
            before = server_bytes(options)
            run(url, "2-of-32", options)
            out[("s3", lib)] = server_bytes(options) - before
    return out


def _pyarrow_via_fsspec(url, workload, options):
    fs, path = fsspec.core.url_to_fs(url, **(options or {}))
    return pq.read_table(path, columns=SELECTED, filesystem=fs).to_pandas()


def report(results, fetched, selected_bytes_value, nbytes, repeat):
    print(f"\nmedians of {repeat} runs; throughput = in-memory bytes of the result / time")
    print(f"{'source':<7} {'workload':<9} {'chunkflow s':>12} {'pyarrow s':>10} {'cf GB/s':>8} {'pa GB/s':>8} "
          f"{'cf/pa':>6}")
    for (s, w, lib), t in results.items():
        if lib != "chunkflow":
            continue
        pa_t = results[(s, w, "pyarrow")]
        size = nbytes * (len(SELECTED) / NCOLS if w == "2-of-32" else 1)
        print(f"{s:<7} {w:<9} {t:>12.3f} {pa_t:>10.3f} {size / t / 1e9:>8.2f} {size / pa_t / 1e9:>8.2f} "
              f"{pa_t / t:>6.2f}")
    print(f"\nbytes fetched for columns {SELECTED} (selected column chunks: {selected_bytes_value / 1e6:.1f} MB)")
    print(f"{'source':<7} {'library':<10} {'MB fetched':>11} {'/ selected':>11}")
    for (s, lib), n in fetched.items():
        print(f"{s:<7} {lib:<10} {n / 1e6:>11.1f} {n / selected_bytes_value:>11.2f}")


if __name__ == "__main__":
    main()
