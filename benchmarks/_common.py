"""Helpers shared by the benchmark scripts: one contender per fresh subprocess, medians of repeats.

Each contender runs as ``python <script> --one ...`` so its peak RSS (VmHWM,
``chunkflow.runtime.peak_rss``) is its own; the child prints one JSON line and
the parent keeps the last line of its stdout.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

__all__ = ["spawn", "medians", "rotate_runs", "available"]


def spawn(script, args, timeout=None) -> dict:
    """The JSON object the last stdout line of ``python script *args`` holds, or ``{"error": last stderr line}``."""
    try:
        out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def medians(runs) -> dict:
    """Median of every numeric figure over the successful runs; ``{"error": ...}`` when none succeeded."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[0]["error"]}
    return {k: float(np.median([r[k] for r in ok])) for k, v in ok[0].items() if isinstance(v, (int, float))}


def rotate_runs(names, repeat, run) -> dict:
    """``{name: [run(name), ...]}`` over ``repeat`` rounds, rotating the order so no one always runs first."""
    runs = {n: [] for n in names}
    order = list(names)
    for _ in range(repeat):
        for n in order:
            runs[n].append(run(n))
        order = order[1:] + order[:1]
    return runs


def available(names) -> list:
    """``names`` without ``spark-mllib`` when pyspark is not installed (said once on stdout)."""
    names = list(names)
    if "spark-mllib" in names:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            names.remove("spark-mllib")
            print("spark-mllib: pyspark is not installed; skipped")
    return names
