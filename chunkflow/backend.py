"""Devices: NumPy chunks on the CPU, CuPy chunks on GPUs.

Kernels call ``array_module(block, ...)`` and use the module it returns, so
the same kernel runs on either kind of chunk; ``on_module`` moves the NumPy
operands of a GPU kernel (a parameter vector, a small broadcast block) to the
GPU first, since CuPy refuses to mix the two.

A Tensor's ``device`` is ``"cpu"`` or ``"gpu"``. ``Tensor.to_device("gpu")``
copies chunks to the GPU in their tasks (``to_gpu``), and every task of a GPU
Tensor carries the Dask annotation ``GPU_ANNOTATIONS`` (``resources={"GPU": 1}``)
so that a ``distributed`` scheduler runs it only on workers started with
``--resources GPU=1``; CPU and GPU workers can share one cluster. Locally
(threads), annotations are ignored and the process's GPU is used.

Nothing here imports CuPy until a GPU is asked for: everything else runs
without it.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "array_module", "device_of", "normalize_device", "gpu_available", "gpu_unavailable_reason",
    "require_gpu", "requested_device", "to_gpu", "to_cpu", "to_host", "on_module", "GPU_ANNOTATIONS", "GPU_INSTALL_HINT",
    "gpu_meta",
]

GPU_ANNOTATIONS = {"resources": {"GPU": 1}}
GPU_INSTALL_HINT = "install CuPy with `pip install 'chunkflow[gpu]'` on a machine with an NVIDIA GPU and CUDA 12"

_DEVICES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}


def array_module(*arrays):
    """``cupy`` if any of ``arrays`` is a CuPy array, else ``numpy``."""
    for a in arrays:
        if _is_cupy(a):
            import cupy

            return cupy
    return np


def _is_cupy(a) -> bool:
    return type(a).__module__.startswith("cupy")


def device_of(array) -> str:
    """``"gpu"`` for CuPy arrays (and dask arrays of them), ``"cpu"`` otherwise."""
    meta = getattr(array, "_meta", array)  # a dask array's blocks are of its meta's type
    return "gpu" if _is_cupy(meta) else "cpu"


def normalize_device(device, default="cpu") -> str:
    """``"cpu"`` or ``"gpu"`` for a device name (``None`` gives ``default``; ``"cuda"`` means ``"gpu"``)."""
    if device is None:
        return default
    name = getattr(device, "type", device)  # array-API-style device objects
    if isinstance(name, str):
        key = name.lower().split(":")[0]
        if key in _DEVICES:
            return _DEVICES[key]
    raise ValueError(f"unknown device {device!r}; use 'cpu' or 'gpu' (CuPy chunks on an NVIDIA GPU)")


_STATE: dict = {}


def gpu_unavailable_reason():
    """Why this process cannot use a GPU (a sentence), or None when it can."""
    if "reason" not in _STATE:
        _STATE["reason"] = _probe()
    return _STATE["reason"]


def _probe():
    try:
        import cupy
    except ImportError:
        return f"CuPy is not installed ({GPU_INSTALL_HINT})"
    except Exception as e:  # noqa: BLE001 - a broken CUDA install raises anything on import
        return f"CuPy failed to import: {type(e).__name__}: {e}"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - no driver raises CUDARuntimeError
        return f"CuPy found no CUDA device ({type(e).__name__}: {e})"
    return None if count > 0 else "CuPy found no CUDA device"


def gpu_available() -> bool:
    """Whether this process has CuPy and at least one CUDA device."""
    return gpu_unavailable_reason() is None


def require_gpu(what: str) -> None:
    """Raise unless GPU chunks can run: here (CuPy and a device) or on a connected cluster's GPU workers.

    Called when a Tensor is moved to the GPU, so a missing GPU is reported at
    the line that asked for one rather than when the graph runs.
    """
    if gpu_available() or _cluster_has_gpu_workers():
        return
    raise RuntimeError(
        f"{what} needs a GPU, but {gpu_unavailable_reason()}, and no distributed Client with GPU workers "
        f"(started with --resources GPU=1) is active. Use device='cpu', or connect a Client to a cluster "
        f"with GPU workers (docker compose --profile gpu up)."
    )


def _cluster_has_gpu_workers() -> bool:
    import sys

    if "distributed" not in sys.modules:
        return False
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        return False
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
    except TypeError:  # older distributed: no n_workers argument
        workers = client.scheduler_info()["workers"].values()
    return any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers)


def requested_device(device, what: str) -> str:
    """``"cpu"`` or ``"gpu"`` for the ``device=`` argument of ``what`` (a function or method name).

    Checked before any work: an unknown name is a ValueError naming ``what``;
    ``"gpu"`` where no GPU can run it is ``require_gpu``'s RuntimeError.
    """
    try:
        device = normalize_device(device)
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None
    if device == "gpu":
        require_gpu(f"{what}(device='gpu')")
    return device


def gpu_meta(dtype, ndim: int):
    """An empty CuPy array of ``dtype`` (a dask array's ``meta``), NumPy where this process has no GPU.

    A client without a GPU can still build graphs for a cluster's GPU
    workers; dask then only believes the chunks are NumPy until they arrive.
    """
    if gpu_available():
        import cupy

        return cupy.empty((0,) * ndim, dtype=dtype)
    return np.empty((0,) * ndim, dtype=dtype)


# ------------------------------------------------------------------ kernels
def to_gpu(block):
    """``block`` as a CuPy array (a task's kernel: runs on the worker)."""
    if _is_cupy(block):
        return block
    try:
        import cupy
    except ImportError:
        raise ImportError(f"a GPU task ran on {_where()}, which has no CuPy; {GPU_INSTALL_HINT}, or start "
                          f"GPU workers from the chunkflow GPU image (docker/Dockerfile.gpu)") from None
    return cupy.asarray(block)


def to_cpu(block):
    """``block`` as a NumPy array (a task's kernel)."""
    return block.get() if _is_cupy(block) else np.asarray(block)


def to_host(value):
    """``value`` with CuPy arrays (also inside tuples, lists and dicts) copied to NumPy."""
    if _is_cupy(value):
        return value.get()
    if isinstance(value, (list, tuple)):
        return type(value)(to_host(v) for v in value)
    if isinstance(value, dict):
        return {k: to_host(v) for k, v in value.items()}
    return value


def on_module(xp, values):
    """``values`` with NumPy arrays moved to ``xp`` (CuPy kernels take no NumPy operands).

    Scalars (Python and NumPy) are left alone: both modules take them.
    """
    if xp is np:
        return values
    return [xp.asarray(v) if isinstance(v, np.ndarray) else v for v in values]


def _where() -> str:
    try:
        from distributed import get_worker

        return f"worker {get_worker().address}"
    except (ImportError, ValueError):
        import socket

        return f"host {socket.gethostname()}"
