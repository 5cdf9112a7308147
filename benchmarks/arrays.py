"""NumPy vs dask.array vs chunkflow on three array workloads, in one run.

Usage::

    python benchmarks/arrays.py                      # N = 8,000,000 rows (2 GB), 15-30 minutes
    python benchmarks/arrays.py --rows 1000000 --repeat 3 --json out.json

Methodology
-----------
Data.  X has shape (N, 32), float64, standard normal, drawn once by NumPy in
the parent process (``--seed``) and saved to a temporary ``.npy`` file. For
each workload, every library gets a fresh *spawned* subprocess (a worker) that
loads X into its own memory and, for dask and chunkflow, wraps it in persisted
chunks of ``C`` rows (``da.from_array(X, chunks=(C, 32)).persist()`` and
``cf.from_array(X, chunks=(C, -1)).persist()``; the chunks are views of X,
not copies). NumPy works on X itself. A workload's workers live side by side;
only one computes at a time.

Workloads.  (a) ``((X - X.mean(0)) / X.std(0)).sum(0)``, (b) ``X.T @ X``,
(c) ``(exp(X * 0.5) + sin(X)).sum()``, and a *lazy* (a) in which X is not
persisted but drawn chunk by chunk (``default_rng(0).normal(size=(N, 32),
chunks=...)``) inside every run, for dask and chunkflow only.

Time.  Each run builds the expression and computes it (graph building and
chunkflow's lowering are included, as a user would pay them). One warm-up
round, then ``--repeat`` timed rounds; in each round every library's worker
runs once, in an order that rotates from round to round, so a change in the
machine's load hits all libraries alike. The table shows the median. dask and chunkflow
use the threaded scheduler with their defaults (one thread per core; chunkflow
limits BLAS to one thread per task, dask does not).

Agreement.  Results are compared with NumPy's (computed in the parent) with
``np.allclose`` (rtol 1e-7, atol 1e-9 * N: every output is a sum over N rows).
(a)'s exact value is 0 for any X, so for (a) an untimed extra check also
compares ``(((X - m) / s) ** 2).sum(0)`` (= N per column) with NumPy's. The
lazy variant draws different numbers in dask and chunkflow; it is checked only
for |result| <= atol.

Peak memory.  In the subprocess, after X is loaded (and persisted) and
``gc.collect()``: the baseline is the current RSS (VmRSS), and the kernel's
peak-RSS counter is reset by writing ``5`` to ``/proc/self/clear_refs``. After
the warm-up and timed runs, *peak RSS* is VmHWM (the peak resident set since the
reset) minus the baseline: the most memory the workload added on top of the
data, at any moment, in any thread. (Where clear_refs cannot be written the
figure falls back to ``ru_maxrss`` minus the baseline, and is marked ``~``.)

Passes over X.  For dask and chunkflow, *measured from the graph*: the graph
that ``compute`` runs (after ``dask.optimize``: culling and blockwise fusion)
is walked, including the subgraphs of fused tasks, and for each top-level task
the X chunks it references are counted; passes = that total / number of
chunks. It counts tasks that read each chunk, not how many times a task's
NumPy calls stream the chunk through memory (dask's fused task for (c) calls
``X * 0.5`` and ``sin(X)`` separately and so reads X twice from RAM; a
chunkflow task evaluates its program on cache-sized row blocks and reads each
chunk once). For NumPy the value is *analytic* (calls in the expression that
read X: (a) mean 1, std 2, subtraction 1; (b) 1; (c) 2).

Floors.  Measured in the same run, in the parent, before and again after the
workloads (the better of the two is used: a floor is a best case):
memory read bandwidth = the best of (a) NumPy ``X.sum()`` on one thread and
(b) ``np.sum`` over nproc contiguous slices of X on nproc threads (median of 5
each; 2 GB at the default size); matmul rate = the best of ``np.dot`` of two
4000 x 4000 float64 matrices with BLAS on all cores and on one core (median
of 3 each; on a shared machine all-core BLAS can lose to one core). A workload's floor time
is the larger of a memory floor (unavoidable passes x nbytes(X) / bandwidth,
1 pass for each workload) and a compute floor ((b): 2*N*32*32 flops / matmul
rate; (a), (c): NumPy kernels timed on a cache-resident block of 1024 rows on
one core, scaled to N rows and divided by nproc -- for (a) the column sums and
sums of squares a one-pass evaluation needs at least, for (c) the chain).
"% of floor" is floor / measured time. For (a) one pass is enough because the result is a
function of per-column sums: sum((X - m) / s) = (sum(X) - N*m) / s; an
evaluator of the expression as written needs 2 passes (statistics, then the
standardized sum), which doubles (a)'s memory floor.

Code.  At the start the chunkflow package is copied to a temporary directory
and every subprocess imports that copy (the run records the git commit, whether
the tree had uncommitted changes, and a hash of the copied sources), so all
chunkflow figures of one run come from the same code.

Noise.  The machine may be shared. Before the floors and before each round
the script waits (``--wait-idle``, default 60 s) for the CPUs to be less than
20% busy, and it reports, per library and workload, the mean share of all CPUs
that *other* processes used during its timed runs (from /proc/stat, VM steal
included, minus the worker's own CPU time) and the cores the library itself
used (worker CPU time / wall time over the timed runs). On 2 cores, cores used
+ 2 x others' load near 2 means the library was starved; treat such rows as
unreliable.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
COLS = 32
LIBS = ("numpy", "dask", "chunkflow")
WORKLOADS = {
    "a": "standardize-and-sum ((X - X.mean(0)) / X.std(0)).sum(0)",
    "b": "Gram X.T @ X",
    "c": "elementwise chain (exp(X*0.5) + sin(X)).sum()",
}
TARGETS = {"a": 0.5, "b": 1.0, "c": 0.7}  # chunkflow time / dask time, from the issue
FLOOR_PASSES = {"a": 1, "b": 1, "c": 1}  # unavoidable passes over X, see module docstring
NUMPY_PASSES = {"a": 4, "b": 1, "c": 2}  # analytic, see module docstring


# ------------------------------------------------------------------ workloads
def expression(workload: str, m, X):
    """The workload written once for all three libraries (``m``: np, da or cf)."""
    if workload == "a":
        return ((X - X.mean(0)) / X.std(0)).sum(0)
    if workload == "b":
        return X.T @ X
    if workload == "c":
        return (m.exp(X * 0.5) + m.sin(X)).sum()
    if workload == "a-check":
        return (((X - X.mean(0)) / X.std(0)) ** 2).sum(0)
    raise ValueError(workload)


def library(lib: str):
    """(module for ufuncs, function computing an expression) for ``lib``."""
    if lib == "numpy":
        return np, lambda e: e
    if lib == "dask":
        import dask
        import dask.array as da

        return da, lambda e: dask.compute(e)[0]
    if lib == "chunkflow":
        import chunkflow as cf

        return cf, lambda e: cf.compute(e)[0]
    raise ValueError(lib)


def persisted(lib: str, X: np.ndarray, chunk_rows: int):
    if lib == "numpy":
        return X
    if lib == "dask":
        import dask.array as da

        return da.from_array(X, chunks=(chunk_rows, COLS)).persist()
    import chunkflow as cf

    return cf.from_array(X, chunks=(chunk_rows, -1)).persist()


def lazy_input(lib: str, rows: int, chunk_rows: int):
    if lib == "dask":
        import dask.array as da

        return da.random.default_rng(0).normal(size=(rows, COLS), chunks=(chunk_rows, COLS))
    import chunkflow as cf

    return cf.random.default_rng(0).normal(size=(rows, COLS), chunks=(chunk_rows, -1))


# ------------------------------------------------------------------ memory
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_kib(exact: bool) -> int:
    if exact:
        return _status_kib("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ------------------------------------------------------------------ CPU contention
def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot; busy includes steal (the VM's host)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def busy_fraction(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy over ``seconds`` (call while this process is idle)."""
    b0, t0 = cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = cpu_jiffies()
    return (b1 - b0) / max(t1 - t0, 1)


def wait_until_quiet(timeout: float, threshold: float = 0.2) -> float:
    """Wait up to ``timeout`` s for other processes to leave the CPUs; the last busy fraction."""
    deadline = time.monotonic() + timeout
    busy = busy_fraction()
    while busy > threshold and time.monotonic() < deadline:
        busy = busy_fraction(2.0)
    return busy


# ------------------------------------------------------------------ passes
def _x_refs(obj, xkeys: set, out: set) -> None:
    """Add to ``out`` the keys in ``xkeys`` that a task (or subgraph) references."""
    from dask._task_spec import GraphNode, Task, TaskRef

    if isinstance(obj, np.ndarray):
        return
    if isinstance(obj, GraphNode):
        if obj.key in xkeys:
            out.add(obj.key)
        out.update(k for k in obj.dependencies if k in xkeys)
        if isinstance(obj, Task):
            for a in (*obj.args, *obj.kwargs.values()):
                _x_refs(a, xkeys, out)
    elif isinstance(obj, TaskRef):
        if obj.key in xkeys:
            out.add(obj.key)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _x_refs(k, xkeys, out)
            _x_refs(v, xkeys, out)
    elif isinstance(obj, (tuple, list)):
        try:
            if obj in xkeys:
                out.add(obj)
                return
        except TypeError:
            pass
        for a in obj:
            _x_refs(a, xkeys, out)


def graph_passes(dask_arrays, x_dask) -> float:
    """Tasks (after optimization) reading each chunk of ``x_dask``, averaged over chunks."""
    import dask
    from dask.core import flatten

    xkeys = set(flatten(x_dask.__dask_keys__()))
    graph = {}
    for arr in dask.optimize(*dask_arrays):
        graph.update(dict(arr.__dask_graph__()))
    reads = 0
    for key, task in graph.items():
        if key in xkeys:
            continue
        refs: set = set()
        _x_refs(task, xkeys, refs)
        reads += len(refs)
    return reads / len(xkeys)


def passes(lib: str, workload: str, X):
    if lib == "numpy":
        return NUMPY_PASSES[workload]
    m, _ = library(lib)
    expr = expression(workload, m, X)
    if lib == "dask":
        return graph_passes([expr], X)
    return graph_passes([expr.to_dask()], X.to_dask())


# ------------------------------------------------------------------ workers (one subprocess per library)
def serve(spec: dict, conn) -> None:
    """A worker: set up one (library, workload), then answer "run" and "finish" from the parent."""
    lib, workload = spec["lib"], spec["workload"]
    sys.path.insert(0, spec["chunkflow_path"])  # the snapshot taken at the start of the run
    m, compute = library(lib)
    if lib == "chunkflow" and not m.__file__.startswith(spec["chunkflow_path"]):
        raise RuntimeError(f"imported chunkflow from {m.__file__}, not from the snapshot")
    lazy = workload == "lazy-a"
    X = None if lazy else persisted(lib, np.load(spec["data"]), spec["chunk_rows"])

    def run():
        data = lazy_input(lib, spec["rows"], spec["chunk_rows"]) if lazy else X
        return compute(expression("a" if lazy else workload, m, data))

    gc.collect()
    baseline = _status_kib("VmRSS")
    exact = reset_peak()
    conn.send("ready")
    value = None
    while conn.recv() == "run":
        cpu0, t0 = time.process_time(), time.perf_counter()
        value = run()
        conn.send((time.perf_counter() - t0, time.process_time() - cpu0))
    out = {"value": np.asarray(value), "peak_mib": (peak_kib(exact) - baseline) / 1024, "peak_exact": exact,
           "baseline_mib": baseline / 1024}
    if not lazy:
        out["passes"] = passes(lib, workload, X)
        if workload == "a":
            out["check_value"] = np.asarray(compute(expression("a-check", m, X)))
    conn.send(out)


def _serve(spec, conn):
    try:
        serve(spec, conn)
    except BaseException as exc:  # report, don't hang the parent
        import traceback

        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


class Worker:
    """A spawned subprocess holding one library's data for one workload."""

    def __init__(self, spec: dict):
        self.spec = spec
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(spec, child))
        self.proc.start()
        self.times, self.cpu, self.others = [], [], []
        self._recv()  # "ready": data loaded and persisted

    def _recv(self):
        msg = self.conn.recv()
        if isinstance(msg, tuple) and msg and msg[0] == "error":
            self.proc.join()
            raise RuntimeError(f"{self.spec['lib']} {self.spec['workload']} failed:\n{msg[1]}")
        return msg

    def run(self, timed: bool) -> None:
        busy0, total0 = cpu_jiffies()
        self.conn.send("run")
        wall, cpu = self._recv()
        busy1, total1 = cpu_jiffies()
        if timed:
            own = cpu * os.sysconf("SC_CLK_TCK")
            self.times.append(wall)
            self.cpu.append(cpu)
            self.others.append(max(busy1 - busy0 - own, 0) / max(total1 - total0, 1))

    def finish(self) -> dict:
        self.conn.send("finish")
        out = self._recv()
        self.proc.join()
        out.update(times=self.times, cores_used=sum(self.cpu) / sum(self.times),
                   others_load=statistics.mean(self.others))
        return out


def measure_workload(specs: list[dict], repeat: int, wait_idle: float) -> dict:
    """Interleaved runs of one workload in every library's worker: warm-up round, then ``repeat`` rounds.

    The libraries take turns (in a rotating order) so that a change in the
    machine's load during the measurement hits all of them alike.
    """
    workers = [Worker(spec) for spec in specs]
    try:
        for rnd in range(repeat + 1):
            wait_until_quiet(wait_idle)
            k = rnd % len(workers)
            for w in workers[k:] + workers[:k]:
                w.run(timed=rnd > 0)
        return {w.spec["lib"]: w.finish() for w in workers}
    finally:
        for w in workers:
            if w.proc.is_alive():
                w.proc.kill()


# ------------------------------------------------------------------ floors (parent)
def median_time(fn, repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bandwidth(X: np.ndarray, threads: int) -> dict:
    """Read bandwidth in GB/s of a NumPy sum over X: one thread, and ``threads`` threads."""
    one = X.nbytes / median_time(X.sum, 5) / 1e9
    parts = np.array_split(X.reshape(-1), threads)
    with ThreadPoolExecutor(threads) as pool:  # np.sum releases the GIL
        many = X.nbytes / median_time(lambda: list(pool.map(np.sum, parts)), 5) / 1e9
    return {"one_thread_gbs": one, "all_threads_gbs": many, "gbs": max(one, many)}


def matmul_rate(n: int = 4000) -> dict:
    """GFLOP/s of ``np.dot`` on n x n float64 matrices: BLAS on all cores, and on one."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    flops = 2 * n**3
    all_cores = flops / median_time(lambda: np.dot(a, b), 3) / 1e9
    with threadpool_limits(limits=1, user_api="blas"):
        one = flops / median_time(lambda: np.dot(a, b), 3) / 1e9
    return {"all_cores_gflops": all_cores, "one_core_gflops": one, "gflops": max(all_cores, one)}


def kernel_seconds_per_row(workload: str, X: np.ndarray) -> float:
    """One core's time per row for a workload's NumPy kernels on a cache-resident block."""
    blk = np.ascontiguousarray(X[:1024])  # 256 KiB: fits in L2
    if workload == "a":  # the least arithmetic of one pass: column sums and sums of squares
        def fn():
            blk.sum(0)
            (blk * blk).sum(0)
    elif workload == "c":
        def fn():
            (np.exp(blk * 0.5) + np.sin(blk)).sum()
    else:
        raise ValueError(workload)
    loops = 50
    return median_time(lambda: [fn() for _ in range(loops)], 5) / (loops * len(blk))


def floors(X: np.ndarray, threads: int) -> dict:
    """Floor times per workload (see module docstring) and the machine rates behind them."""
    busy0, total0 = cpu_jiffies()
    own0 = time.process_time()
    bw = bandwidth(X, threads)
    mm = matmul_rate()
    gflops = mm["gflops"]
    rows = X.shape[0]
    busy1, total1 = cpu_jiffies()
    own = (time.process_time() - own0) * os.sysconf("SC_CLK_TCK")
    out = {"bandwidth": bw, "matmul": mm, "others_load": max(busy1 - busy0 - own, 0) / max(total1 - total0, 1),
           "workloads": {}}
    for w in WORKLOADS:
        if w == "b":
            comp = 2 * rows * COLS * COLS / (gflops * 1e9)
        else:
            comp = kernel_seconds_per_row(w, X) * rows / threads
        out["workloads"][w] = {"compute_s": comp}
        out["workloads"][w].update(floor_time(out, w, rows))
    return out


def best_floors(first: dict, second: dict, rows: int) -> dict:
    """Floors from two measurements: the higher rates and the shorter kernel times."""
    out = {
        "bandwidth": {k: max(first["bandwidth"][k], second["bandwidth"][k]) for k in first["bandwidth"]},
        "matmul": {k: max(first["matmul"][k], second["matmul"][k]) for k in first["matmul"]},
        "others_load": [first["others_load"], second["others_load"]],
        "workloads": {w: {"compute_s": min(first["workloads"][w]["compute_s"], second["workloads"][w]["compute_s"])}
                      for w in first["workloads"]},
    }
    for w in out["workloads"]:
        out["workloads"][w].update(floor_time(out, w, rows))
    return out


def floor_time(fl: dict, workload: str, rows: int) -> dict:
    """Memory floor, and the floor (the larger of memory and compute), in seconds."""
    mem = FLOOR_PASSES[workload] * rows * COLS * 8 / (fl["bandwidth"]["gbs"] * 1e9)
    return {"memory_s": mem, "floor_s": max(mem, fl["workloads"][workload]["compute_s"])}


# ------------------------------------------------------------------ reference and checks
def reference(X: np.ndarray) -> dict:
    ref = {w: np.asarray(expression(w, np, X)) for w in WORKLOADS}
    ref["a-check"] = np.asarray(expression("a-check", np, X))
    return ref


def agrees(got, want, rows: int) -> bool:
    return bool(np.allclose(got, want, rtol=1e-7, atol=1e-9 * rows))


# ------------------------------------------------------------------ environment
def machine() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import dask
    import psutil
    from threadpoolctl import threadpool_info

    import chunkflow as cf

    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)" for i in threadpool_info()
            if i["user_api"] == "blas" and "numpy" in i["filepath"]][:1]
    return {
        "nproc": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": model, "python": platform.python_version(), "numpy": np.__version__,
        "dask": dask.__version__, "chunkflow": cf.__version__, "blas": blas[0] if blas else "?",
        "commit": git_commit(), "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def snapshot_chunkflow(dest: str) -> tuple[str, str]:
    """Copy the chunkflow package to ``dest``: (its path for sys.path, a hash of its sources).

    Every subprocess imports this copy, so all measurements of one run use the
    same code even if the working tree is edited while the run goes on.
    """
    import hashlib
    import shutil

    import chunkflow

    src = Path(chunkflow.__file__).parent
    shutil.copytree(src, Path(dest) / "chunkflow", ignore=shutil.ignore_patterns("__pycache__"))
    digest = hashlib.sha256()
    for f in sorted((Path(dest) / "chunkflow").rglob("*.py")):
        digest.update(str(f.relative_to(dest)).encode() + b"\0" + f.read_bytes())
    return dest, digest.hexdigest()[:12]


def git_commit() -> str:
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain").splitlines()
             if line[3:].startswith("chunkflow/")]
    return head + (f" with uncommitted changes ({', '.join(dirty)})" if dirty else "")


# ------------------------------------------------------------------ report
def fmt_ratio(r, target=None):
    if r is None:
        return "-"
    if target is None:
        return f"{r:.2f}x"
    return f"{r:.2f}x (<= {target}: {'ok' if r <= target else 'MISS'})"


def _percent(x) -> str:
    return " and ".join(f"{100 * v:.0f}%" for v in (x if isinstance(x, list) else [x]))


def table(header, rows) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def report(results: dict, fl: dict, args) -> str:
    med = {k: {lib: statistics.median(r["times"]) for lib, r in v.items()} for k, v in results.items()}
    time_rows, mem_rows = [], []
    for w in WORKLOADS:
        if w not in results:
            continue
        t, floor = med[w], floor_time(fl, w, args.rows)["floor_s"]
        time_rows.append([
            w, *(f"{t[lib]:.3f}" for lib in LIBS),
            fmt_ratio(t["chunkflow"] / t["dask"], TARGETS[w]), fmt_ratio(t["chunkflow"] / t["numpy"]),
            f"{floor:.3f}", " / ".join(f"{100 * floor / t[lib]:.0f}%" for lib in LIBS),
        ])
        r = results[w]
        mem_rows.append([
            w, *(("" if r[lib]["peak_exact"] else "~") + f"{r[lib]['peak_mib']:.0f}" for lib in LIBS),
            " / ".join(f"{r[lib]['passes']:g}" for lib in LIBS),
            " / ".join("yes" if r[lib]["agrees"] else "NO" for lib in LIBS),
            " / ".join(f"{r[lib]['cores_used']:.1f}" for lib in LIBS),
            " / ".join(f"{100 * r[lib]['others_load']:.0f}%" for lib in LIBS),
        ])
    out = [
        f"rows N = {args.rows:,}, X = {args.rows * COLS * 8 / 1e9:.2f} GB, chunk rows C = {args.chunk_rows:,} "
        f"({math.ceil(args.rows / args.chunk_rows)} chunks), median of {args.repeat} runs after 1 warm-up",
        f"floors: read bandwidth {fl['bandwidth']['gbs']:.1f} GB/s (1 thread {fl['bandwidth']['one_thread_gbs']:.1f}, "
        f"all threads {fl['bandwidth']['all_threads_gbs']:.1f}), matmul {fl['matmul']['gflops']:.1f} GFLOP/s "
        f"(all cores {fl['matmul']['all_cores_gflops']:.1f}, one core {fl['matmul']['one_core_gflops']:.1f}); "
        f"others' load while measuring floors {_percent(fl['others_load'])}",
        "",
        table(["workload", "numpy s", "dask s", "chunkflow s", "chunkflow/dask (target)", "chunkflow/numpy",
               "floor s", "% of floor np / dask / cf"], time_rows),
        "",
        table(["workload", "peak RSS MiB numpy", "dask", "chunkflow", "passes np / dask / cf",
               "agrees np / dask / cf", "cores used np / dask / cf", "others' load np / dask / cf"], mem_rows),
    ]
    if "lazy-a" in results:
        lz = results["lazy-a"]
        lazy_rows = [[lib, f"{med['lazy-a'][lib]:.3f}", ("" if lz[lib]["peak_exact"] else "~")
                      + f"{lz[lib]['peak_mib']:.0f}", "yes" if lz[lib]["agrees"] else "NO",
                      f"{lz[lib]['cores_used']:.1f}", f"{100 * lz[lib]['others_load']:.0f}%"]
                     for lib in ("dask", "chunkflow")]
        lazy_rows.append(["chunkflow/dask", fmt_ratio(med["lazy-a"]["chunkflow"] / med["lazy-a"]["dask"]),
                          fmt_ratio(lz["chunkflow"]["peak_mib"] / max(lz["dask"]["peak_mib"], 1)), "", "", ""])
        out += ["", "lazy (a): X drawn chunk by chunk inside each run, not persisted",
                table(["library", "median s", "peak RSS MiB", "|result| small", "cores used", "others' load"],
                      lazy_rows)]
    out += ["", "workloads: " + "; ".join(f"({k}) {v}" for k, v in WORKLOADS.items()),
            "passes: numpy analytic; dask and chunkflow counted from the optimized graph (tasks reading each chunk)",
            "peak RSS: max resident memory during warm-up + timed runs minus RSS after X was loaded and persisted",
            "cores used: process CPU time / wall time over the timed runs; others' load: share of all CPUs busy "
            "with other processes (incl. VM steal) during its timed runs"]
    return "\n".join(out)


def to_json(results, fl, env, args, ref) -> dict:
    def clean(r):
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}

    return {
        "machine": env, "rows": args.rows, "cols": COLS, "chunk_rows": args.chunk_rows,
        "repeat": args.repeat, "seed": args.seed, "floors": fl, "targets_chunkflow_over_dask": TARGETS,
        "floor_passes": FLOOR_PASSES,
        "results": {w: {lib: {**clean(r), "median_s": statistics.median(r["times"])} for lib, r in v.items()}
                    for w, v in results.items()},
        "reference": {w: v.tolist() for w, v in ref.items()},
    }


# ------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=8_000_000, help="rows N of X (default 8,000,000 = 2 GB)")
    p.add_argument("--chunk-rows", default="250000",
                   help="rows per chunk C for dask and chunkflow, or 'auto' for chunkflow's choice (default 250000)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up (default 5)")
    p.add_argument("--workloads", default="a,b,c,lazy", help="comma-separated subset of a,b,c,lazy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wait-idle", type=float, default=60, metavar="SECONDS",
                   help="before each measurement, wait up to this long for other processes to leave "
                        "the CPUs (below 20%% busy); 0 to skip (default 60)")
    p.add_argument("--json", metavar="PATH", help="also write all figures to PATH as JSON")
    p.add_argument("--from-json", metavar="PATH",
                   help="measure nothing: print the report of a run saved with --json (floors recomputed "
                        "from its measured rates with this script's floor definitions)")
    args = p.parse_args(argv)
    if args.chunk_rows == "auto":
        from chunkflow.core.chunks import normalize_chunks

        args.chunk_rows = normalize_chunks((("auto", -1)), (args.rows, COLS), np.float64)[0][0]
    args.chunk_rows = min(int(args.chunk_rows), args.rows)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    return args


def measure_all(args, data: str, cf_path: str, ref: dict) -> dict:
    """Every workload in every library (see ``measure_workload``)."""
    results = {}
    for w in args.workloads:
        key, libs = ("lazy-a", LIBS[1:]) if w == "lazy" else (w, LIBS)
        specs = [{"lib": lib, "workload": key, "rows": args.rows, "chunk_rows": args.chunk_rows,
                  "data": data, "chunkflow_path": cf_path} for lib in libs]
        results[key] = measure_workload(specs, args.repeat, args.wait_idle)
        for lib, r in results[key].items():
            if key == "lazy-a":
                r["agrees"] = bool(np.all(np.abs(r["value"]) <= 1e-9 * args.rows))
            else:
                r["agrees"] = agrees(r["value"], ref[key], args.rows) and (
                    key != "a" or agrees(r["check_value"], ref["a-check"], args.rows))
            print(f"  {key:7s} {lib:10s} median {statistics.median(r['times']):8.3f} s  "
                  f"peak +{r['peak_mib']:7.0f} MiB  agrees {r['agrees']}  cores {r['cores_used']:.1f}  "
                  f"others' load {100 * r['others_load']:.0f}%", flush=True)
    return results


def report_saved(path: str) -> str:
    """The report of a run saved with ``--json``."""
    saved = json.loads(Path(path).read_text())
    args = argparse.Namespace(rows=saved["rows"], chunk_rows=saved["chunk_rows"], repeat=saved["repeat"])
    fl = saved["floors"]
    for w in fl["workloads"]:
        fl["workloads"][w].update(floor_time(fl, w, args.rows))
    env = saved["machine"]
    head = (f"{env['date']}  commit {env['commit']}\n{env['cpu']}, {env['nproc']} cores, {env['memory_gib']} GiB; "
            f"python {env['python']}, numpy {env['numpy']}, dask {env['dask']}, chunkflow {env['chunkflow']}, "
            f"{env['blas']}\n")
    return head + report(saved["results"], fl, args)


def main(argv=None):
    args = parse_args(argv)
    if args.from_json:
        print(report_saved(args.from_json))
        return
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="cf-bench-") as tmp:
        env = machine()
        cf_path, env["chunkflow_sources_sha256"] = snapshot_chunkflow(os.path.join(tmp, "pkg"))
        print(f"{env['date']}  commit {env['commit']}\nchunkflow sources snapshot "
              f"{env['chunkflow_sources_sha256']} (sha256 of its .py files, used by every measurement)\n"
              f"{env['cpu']}, {env['nproc']} cores, {env['memory_gib']} GiB; python {env['python']}, "
              f"numpy {env['numpy']}, dask {env['dask']}, chunkflow {env['chunkflow']}, {env['blas']}", flush=True)
        X = np.random.default_rng(args.seed).standard_normal((args.rows, COLS))
        print("measuring floors ...", flush=True)
        wait_until_quiet(args.wait_idle)
        fl = floors(X, threads)
        ref = reference(X)
        data = os.path.join(tmp, "X.npy")
        np.save(data, X)
        del X
        gc.collect()
        results = measure_all(args, data, cf_path, ref)
        print("measuring floors again ...", flush=True)
        wait_until_quiet(args.wait_idle)
        fl = best_floors(fl, floors(np.load(data), threads), args.rows)
    env["commit_at_end"] = git_commit()
    if env["commit_at_end"] != env["commit"]:
        print(f"note: the working tree changed during the run (measurements used the snapshot): "
              f"now {env['commit_at_end']}")
    text = report(results, fl, args)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(results, fl, env, args, ref), indent=1))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
