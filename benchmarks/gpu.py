"""GPU chunks: a chunked matmul against cuBLAS, a logistic-regression gradient pass against HBM bandwidth.

Usage::

    python benchmarks/gpu.py                       # sizes from the GPU's free memory, 5 timed runs
    python benchmarks/gpu.py --smoke               # tiny sizes, 2 runs: checks that everything runs
    python benchmarks/gpu.py --repeat 9 --json gpu_results.json

Without a usable GPU (no CuPy, or no CUDA device) it prints one line saying
why and exits 0, so ``make bench`` and CI never fail on a CPU machine.

Methodology
-----------
One process, GPU 0, chunkflow on its default scheduler (threads; every GPU
chunk lives in this process's GPU memory). Data is drawn on the GPU by
``cupy.random`` (seeded) and wrapped with ``cf.from_array``, whose chunks are
views of the CuPy array (no copy): the Tensors are persisted on the GPU from
the start. Each timed run starts and ends with
``cupy.cuda.Device().synchronize()``, so the time covers all GPU work the
run queued. One warm-up round (cuBLAS handles, kernel compilation,
chunkflow's step compilation), then ``--repeat`` timed rounds; in each round
every contender runs once, in an order that rotates from round to round. The
tables show medians; measured ceilings (cuBLAS, ``X.sum()``) are also given
as the best run, since a ceiling is a best case.

(a) Chunked matmul. ``A`` (n x k) @ ``B`` (k x m), float32 and float64, with
n = k = m = ``--matmul-size`` and ``A`` in ``--matmul-chunks`` row chunks.
chunkflow: ``(cf.from_array(A, chunks=(c, k)) @ cf.from_array(B, chunks=(k, m))).persist()``,
expression building and lowering included, as a user pays them. cuBLAS:
``cupy.matmul(A, B, out=C)``, one GEMM of the same size. Rate = 2 n k m /
time. "x cuBLAS" = cuBLAS time / chunkflow time (the fraction of cuBLAS's
rate that chunkflow reaches); "% peak" = rate / the datasheet peak (below).
CuPy runs float32 GEMMs on the CUDA cores (FP32 peak) unless ``CUPY_TF32=1``
is set, which allows TF32 tensor cores (TF32 peak); float64 GEMMs use the
FP64 tensor cores on sm_80 and later (FP64 Tensor Core peak). Agreement: the
relative Frobenius error of chunkflow's product against cuBLAS's.

(b) Gradient pass. ``X`` (N x ``--cols``), labels ``y`` in {0, 1}, float32 and
float64, N chosen so that X takes ``--grad-fraction`` of the free GPU memory
(at most 32 GiB; or ``--grad-rows``), in ``--grad-chunks`` row chunks. The
pass is one call of ``cf.value_and_grad(loss)(w, X, y)`` with
``loss = mean(logaddexp(0, X @ w) - y * (X @ w))`` (as in
``step_overhead.py``), ``w`` a NumPy vector of X's dtype changed every run;
the value and gradient come back as NumPy, so their transfer is included.
Bytes moved = ``X.nbytes + y.nbytes``, one read of the data: the least any
evaluation needs, since a fused loss-and-gradient reads each chunk once.
Figures: GB/s = bytes / time; "% HBM" = that over the datasheet HBM
bandwidth; "% sum" = that over the read bandwidth of ``cupy.sum`` over the
same X measured in the same run (the best of its runs: what one read of X
achieves here). Reference: the same value and gradient written in CuPy on the
whole arrays (``z = X @ w``; ``X.T @ (sigmoid(z) - y) / N``), which reads X
twice. Issue 7's target: the chunkflow pass at >= 50% of HBM peak.

Peaks (``PEAKS``): dense (no sparsity) figures at boost clock from NVIDIA's
datasheets: "NVIDIA H100 Tensor Core GPU" (SXM5, PCIe and NVL columns),
"NVIDIA H200 Tensor Core GPU" (SXM and NVL) and "NVIDIA A100 Tensor Core
GPU" (SXM and PCIe, 40 GB and 80 GB). The datasheets give TF32 with
sparsity; it is halved here. The device name reported by CUDA picks the
column (``peak_key``); for a device not in the table only the measured
ratios are printed. The HBM figure is checked against the one computed from
the device properties (2 x memory clock x bus width), which is printed too.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import chunkflow as cf
from chunkflow.backend import gpu_unavailable_reason

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import rotate_runs  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TARGET_HBM = 0.5  # issue 7: the gradient pass at >= 50% of HBM peak bandwidth

# FLOP/s and bytes/s; see the module docstring for the sources
PEAKS = {
    "H100 SXM": {"fp64": 67e12, "fp32": 67e12, "tf32": 494.5e12, "hbm": 3.35e12},
    "H100 PCIe": {"fp64": 51e12, "fp32": 51e12, "tf32": 378e12, "hbm": 2.0e12},
    "H100 NVL": {"fp64": 60e12, "fp32": 60e12, "tf32": 417.5e12, "hbm": 3.9e12},
    "H200 SXM": {"fp64": 67e12, "fp32": 67e12, "tf32": 494.5e12, "hbm": 4.8e12},
    "H200 NVL": {"fp64": 60e12, "fp32": 60e12, "tf32": 417.5e12, "hbm": 4.8e12},
    "A100 SXM 80GB": {"fp64": 19.5e12, "fp32": 19.5e12, "tf32": 156e12, "hbm": 2.039e12},
    "A100 SXM 40GB": {"fp64": 19.5e12, "fp32": 19.5e12, "tf32": 156e12, "hbm": 1.555e12},
    "A100 PCIe 80GB": {"fp64": 19.5e12, "fp32": 19.5e12, "tf32": 156e12, "hbm": 1.935e12},
    "A100 PCIe 40GB": {"fp64": 19.5e12, "fp32": 19.5e12, "tf32": 156e12, "hbm": 1.555e12},
}
DTYPES = ("float32", "float64")


def peak_key(name: str):
    """The ``PEAKS`` entry for a CUDA device name, or None.

    >>> peak_key("NVIDIA H100 80GB HBM3"), peak_key("NVIDIA A100-PCIE-40GB"), peak_key("NVIDIA H200 NVL")
    ('H100 SXM', 'A100 PCIe 40GB', 'H200 NVL')
    """
    n = name.lower().replace("-", " ")
    if "gh200" in n or "gb200" in n:  # Grace Hopper/Blackwell modules: other clocks and memory
        return None
    if "h200" in n:
        return "H200 NVL" if "nvl" in n else "H200 SXM"
    if "h100" in n:
        return "H100 NVL" if "nvl" in n else "H100 PCIe" if "pcie" in n else "H100 SXM"
    if "a100" in n:
        return f"A100 {'PCIe' if 'pcie' in n else 'SXM'} {'80GB' if '80gb' in n else '40GB'}"
    return None


def matmul_peak_kind(dtype: str) -> str:
    """Which peak a CuPy GEMM of ``dtype`` runs against (see the module docstring)."""
    if dtype == "float64":
        return "fp64"
    return "tf32" if os.environ.get("CUPY_TF32") == "1" else "fp32"


# ------------------------------------------------------------------ timing
def timed(cp, fn):
    """``(seconds, result)`` of ``fn()``, from an idle GPU to the end of the GPU work it queued."""
    device = cp.cuda.Device()
    device.synchronize()
    start = time.perf_counter()
    out = fn()
    device.synchronize()
    return time.perf_counter() - start, out


def warm_and_time(cp, contenders, repeat):
    """``{name: [seconds, ...]}``: one untimed warm-up each, then ``repeat`` rotating rounds."""
    for fn in contenders.values():
        timed(cp, fn)
    return rotate_runs(list(contenders), repeat, lambda name: timed(cp, contenders[name])[0])


# ------------------------------------------------------------------ (a) matmul
def matmul_size(cp, dtype, size):
    """``size``, halved until A, B, cuBLAS's C and chunkflow's product take at most half the free GPU memory."""
    free, _ = cp.cuda.runtime.memGetInfo()
    while size > 256 and 4 * size * size * np.dtype(dtype).itemsize > free / 2:
        size //= 2
    return size


def bench_matmul(cp, dtype, size, nchunks, repeat):
    size = matmul_size(cp, dtype, size)
    rs = cp.random.RandomState(0)
    A = rs.standard_normal((size, size), dtype=dtype)
    B = rs.standard_normal((size, size), dtype=dtype)
    C = cp.empty((size, size), dtype=dtype)
    rows = math.ceil(size / nchunks)
    At = cf.from_array(A, chunks=(rows, size))
    Bt = cf.from_array(B, chunks=(size, size))
    contenders = {
        "cuBLAS": lambda: cp.matmul(A, B, out=C),
        "chunkflow": lambda: (At @ Bt).persist(),
    }
    times = warm_and_time(cp, contenders, repeat)
    got = cp.asarray((At @ Bt).compute())  # untimed agreement check
    cp.matmul(A, B, out=C)
    error = float(cp.linalg.norm(got - C) / cp.linalg.norm(C))
    del got
    flops = 2.0 * size ** 3
    return {"dtype": dtype, "size": size, "chunks": len(At.chunks[0]), "flops": flops, "times": times,
            "rel_error": error, "peak_kind": matmul_peak_kind(dtype)}


# ------------------------------------------------------------------ (b) gradient pass
def loss(w, X, y):
    z = X @ w
    return (cf.logaddexp(0.0, z) - y * z).mean()


def grad_rows(cp, dtype, cols, fraction, rows=None):
    """Rows of X: ``rows`` if given, else X at ``fraction`` of the free GPU memory (at most 32 GiB)."""
    if rows:
        return rows
    free, _ = cp.cuda.runtime.memGetInfo()
    row_bytes = cols * np.dtype(dtype).itemsize
    return max(1, int(min(fraction * free, 32 * 2**30) // row_bytes))


def bench_grad(cp, dtype, rows, cols, nchunks, repeat):
    rs = cp.random.RandomState(1)
    X = rs.standard_normal((rows, cols), dtype=dtype)
    w_true = rs.standard_normal(cols, dtype=dtype) / math.sqrt(cols)  # a Python float keeps the dtype
    y = (X @ w_true + rs.standard_normal(rows, dtype=dtype) > 0).astype(dtype)
    del w_true
    chunk = math.ceil(rows / nchunks)
    Xt, yt = cf.from_array(X, chunks=(chunk, cols)), cf.from_array(y, chunks=chunk)
    step = cf.value_and_grad(loss)
    w0 = np.full(cols, 0.01, dtype=dtype)
    calls = {"chunkflow": 0, "cupy": 0}

    def chunkflow_pass():
        calls["chunkflow"] += 1
        return step(w0 * calls["chunkflow"], Xt, yt)

    def cupy_pass(w=None):
        if w is None:
            calls["cupy"] += 1
            w = w0 * calls["cupy"]
        z = X @ cp.asarray(w)
        value = (cp.logaddexp(0, z) - y * z).mean()
        g = X.T @ (1 / (1 + cp.exp(-z)) - y) / rows
        return float(value), cp.asnumpy(g)

    contenders = {"X.sum()": lambda: X.sum(), "cupy": cupy_pass, "chunkflow": chunkflow_pass}
    times = warm_and_time(cp, contenders, repeat)
    (value, grad), (ref_value, ref_grad) = step(w0, Xt, yt), cupy_pass(w0)  # untimed agreement check
    rtol = 1e-3 if dtype == "float32" else 1e-9
    agree = bool(np.isclose(value, ref_value, rtol=rtol)
                 and np.allclose(grad, ref_grad, rtol=rtol, atol=rtol * np.abs(ref_grad).max()))
    return {"dtype": dtype, "rows": rows, "cols": cols, "chunks": len(Xt.chunks[0]), "x_bytes": X.nbytes,
            "bytes": X.nbytes + y.nbytes, "times": times, "agree": agree}


# ------------------------------------------------------------------ environment
def device_info(cp) -> dict:
    props = cp.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    clock_khz, bus_bits = props.get("memoryClockRate", 0), props.get("memoryBusWidth", 0)
    free, total = cp.cuda.runtime.memGetInfo()
    key = peak_key(name)
    return {
        "name": name, "peaks": key, "compute_capability": f"{props.get('major', '?')}.{props.get('minor', '?')}",
        "memory_gib": round(total / 2**30, 1), "free_gib": round(free / 2**30, 1),
        "hbm_from_properties": 2 * clock_khz * 1e3 * bus_bits / 8 if clock_khz and bus_bits else None,
        "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(), "cuda_driver": cp.cuda.runtime.driverGetVersion(),
        "cupy": cp.__version__, "cupy_tf32": os.environ.get("CUPY_TF32", "0"),
    }


def git_commit() -> str:
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if line[3:].startswith("chunkflow/")]
    return head + (f" with uncommitted changes ({', '.join(dirty)})" if dirty else "")


# ------------------------------------------------------------------ report
def _pct(x):
    return f"{100 * x:.1f}" if x is not None else "n/a"


def report_matmul(results, peaks, repeat):
    size = results[0]["size"]
    print(f"\n(a) chunked matmul ({size} x {size}) @ ({size} x {size}), A in {results[0]['chunks']} row chunks; "
          f"medians of {repeat} runs")
    print(f"{'dtype':<8}{'peak':>6}{'TFLOP/s':>9} | {'cuBLAS s':>9}{'TFLOP/s':>9}{'% peak':>8}{'best':>8} | "
          f"{'chunkflow s':>12}{'TFLOP/s':>9}{'% peak':>8} | {'x cuBLAS':>9}{'rel. error':>11}")
    for r in results:
        if "error" in r:
            print(f"{r['dtype']:<8} failed: {r['error']}")
            continue
        peak = peaks[r["peak_kind"]] if peaks else None
        ref, got = np.median(r["times"]["cuBLAS"]), np.median(r["times"]["chunkflow"])
        best = min(r["times"]["cuBLAS"])
        rate_ref, rate_got, rate_best = r["flops"] / ref, r["flops"] / got, r["flops"] / best
        print(f"{r['dtype']:<8}{r['peak_kind']:>6}{peak / 1e12 if peak else float('nan'):>9.1f} | "
              f"{ref:>9.4f}{rate_ref / 1e12:>9.1f}{_pct(peak and rate_ref / peak):>8}"
              f"{_pct(peak and rate_best / peak):>8} | {got:>12.4f}{rate_got / 1e12:>9.1f}"
              f"{_pct(peak and rate_got / peak):>8} | {ref / got:>9.2f}{r['rel_error']:>11.1e}")


def report_grad(results, peaks, repeat):
    r0 = next((r for r in results if "error" not in r), results[0])
    print(f"\n(b) logistic loss + gradient, cf.value_and_grad over X (N x {r0.get('cols', '?')}) on the GPU in "
          f"{r0.get('chunks', '?')} row chunks; bytes = X + y, one read; medians of {repeat} runs")
    print(f"{'dtype':<8}{'N':>12}{'GB':>7} | {'sum GB/s':>9} | {'cupy s':>8}{'GB/s':>7} | {'chunkflow s':>12}"
          f"{'GB/s':>7}{'% HBM':>7}{'% sum':>7}{'x cupy':>8} | {'agree':>6}  target >= {TARGET_HBM:.0%} of HBM")
    hbm = peaks["hbm"] if peaks else None
    for r in results:
        if "error" in r:
            print(f"{r['dtype']:<8} failed: {r['error']}")
            continue
        t = r["times"]
        best_sum = r["x_bytes"] / min(t["X.sum()"])
        ref, got = np.median(t["cupy"]), np.median(t["chunkflow"])
        bw = r["bytes"] / got
        verdict = "n/a" if hbm is None else ("met" if bw >= TARGET_HBM * hbm else "missed")
        print(f"{r['dtype']:<8}{r['rows']:>12,}{r['bytes'] / 1e9:>7.2f} | {best_sum / 1e9:>9.0f} | "
              f"{ref:>8.4f}{r['bytes'] / ref / 1e9:>7.0f} | {got:>12.4f}{bw / 1e9:>7.0f}{_pct(hbm and bw / hbm):>7}"
              f"{_pct(bw / best_sum):>7}{ref / got:>8.2f} | {str(r['agree']):>6}  {verdict}")


def print_device(info, peaks):
    where = (f"datasheet peaks of {info['peaks']}" if peaks else
             "not in the datasheet table: % peak columns are n/a")
    sheet = f"{peaks['hbm'] / 1e12:.2f}" if peaks else "n/a"
    props = f"{info['hbm_from_properties'] / 1e12:.2f}" if info["hbm_from_properties"] else "n/a"
    print(f"device: {info['name']} (compute capability {info['compute_capability']}, {info['memory_gib']} GiB; "
          f"{where})")
    print(f"CUDA runtime {info['cuda_runtime']}, driver {info['cuda_driver']}, CuPy {info['cupy']}, "
          f"CUPY_TF32={info['cupy_tf32']}; HBM bandwidth: datasheet {sheet} TB/s, from device properties "
          f"{props} TB/s")


# ------------------------------------------------------------------ main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after one warm-up (median reported)")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated: float32,float64")
    parser.add_argument("--matmul-size", type=int, default=16384, help="n = k = m of the matmul")
    parser.add_argument("--matmul-chunks", type=int, default=8, help="row chunks of A")
    parser.add_argument("--cols", type=int, default=32, help="columns of X in the gradient pass")
    parser.add_argument("--grad-rows", type=int, default=0, help="rows of X (default: from --grad-fraction)")
    parser.add_argument("--grad-fraction", type=float, default=0.3,
                        help="X's share of the free GPU memory when --grad-rows is not given")
    parser.add_argument("--grad-chunks", type=int, default=8, help="row chunks of X")
    parser.add_argument("--skip", nargs="*", default=[], choices=["matmul", "grad"])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and 2 runs: check that it runs")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeat, args.matmul_size, args.matmul_chunks = 2, 512, 4
        args.grad_rows, args.grad_chunks = args.grad_rows or 65_536, 4
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    reason = gpu_unavailable_reason()
    if reason is not None:
        print(f"benchmarks/gpu.py: skipped, no GPU to measure: {reason}")
        return 0
    import cupy as cp

    info = device_info(cp)
    peaks = PEAKS.get(info["peaks"])
    print_device(info, peaks)
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    out = {"device": info, "args": vars(args), "commit": git_commit(), "python": platform.python_version(),
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "matmul": [], "grad": []}
    failed = False
    for section, run in (("matmul", lambda d: bench_matmul(cp, d, args.matmul_size, args.matmul_chunks,
                                                           args.repeat)),
                         ("grad", lambda d: bench_grad(cp, d, grad_rows(cp, d, args.cols, args.grad_fraction,
                                                                            args.grad_rows),
                                                       args.cols, args.grad_chunks, args.repeat))):
        if section in args.skip:
            continue
        for dtype in dtypes:
            try:
                out[section].append(run(dtype))
            except Exception as e:  # noqa: BLE001 - report it in the table, go on with the rest
                failed = True
                out[section].append({"dtype": dtype, "error": f"{type(e).__name__}: {e}"})
            finally:
                cp.get_default_memory_pool().free_all_blocks()
        (report_matmul if section == "matmul" else report_grad)(out[section], peaks, args.repeat)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
