"""Array-module dispatch for chunk kernels: NumPy on the CPU, CuPy on GPUs.

Kernels call ``array_module(block)`` and use what it returns, so the same
kernel runs on either kind of chunk.
"""
from __future__ import annotations

import numpy as np

__all__ = ["array_module", "device_of"]


def array_module(*arrays):
    """``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy

            return cupy
    return np


def device_of(array) -> str:
    """``"gpu"`` for CuPy arrays, ``"cpu"`` otherwise."""
    return "gpu" if array_module(array) is not np else "cpu"
