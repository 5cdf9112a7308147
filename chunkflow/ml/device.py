"""Where an estimator's data goes, and computed values back on the client as NumPy.

Parameters and fitted attributes live on the client as NumPy arrays (small
parameters, big data; scikit-learn's attributes are NumPy), while the data
may be chunked on GPUs as CuPy arrays. A run over GPU chunks gives CuPy
results, which NumPy refuses (``np.asarray`` of a CuPy array raises), so
every place in ``chunkflow.ml`` where computed values come back goes through
:func:`compute` and :func:`fetch`: the runtime's, with GPU results moved to
the CPU inside the graph (on the worker that has the GPU, so the client
needs no CuPy) and anything still CuPy copied to NumPy (``backend.to_host``).
Compiled steps (``runtime.Compiled``, which ``cf.value_and_grad`` runs)
return NumPy themselves.

Estimators take ``device``: ``None`` (the default: where the data is; NumPy
input runs on the CPU, a GPU Tensor on the GPU), ``"cpu"`` or ``"gpu"`` (the
data is moved there first; ``"gpu"`` also runs NumPy input on the GPU).
:func:`fit_device` checks the value where the input is validated
(``base.validate_X``, ``fit_input.fit_input``/``predict_input``), and
:func:`place` moves Tensors there. Nothing here needs scikit-learn.
"""
from __future__ import annotations

from ..backend import normalize_device, require_gpu, to_host
from ..core.tensor import Tensor
from ..runtime import compute as _compute

__all__ = ["compute", "fetch", "fit_device", "place"]


def _to_cpu(value):
    """A GPU Tensor moved to the CPU in its graph; anything else as it is."""
    if isinstance(value, Tensor) and value.device == "gpu":
        return value.to_device("cpu")
    return value


def compute(*args, scheduler=None, optimize_graph=True):
    """``runtime.compute``, with every computed value a NumPy array (also for GPU Tensors)."""
    values = _compute(*(_to_cpu(a) for a in args), scheduler=scheduler, optimize_graph=optimize_graph)
    return to_host(values)


def fetch(value, scheduler=None):
    """The value of one Tensor (or dask array, or array) as NumPy."""
    if isinstance(value, Tensor):
        return compute(value, scheduler=scheduler)[0]
    if hasattr(value, "compute") and hasattr(value, "__dask_graph__"):
        value = value.compute(scheduler=scheduler) if scheduler is not None else value.compute()
    return to_host(value)


def fit_device(estimator):
    """``estimator.device`` checked: None, ``"cpu"`` or ``"gpu"`` (``"cuda"`` means ``"gpu"``).

    Raises ValueError naming ``device`` for an unknown value, and RuntimeError
    (naming the estimator and why) for ``"gpu"`` where no GPU can run the work.
    Estimators without a ``device`` parameter run where their data is.
    """
    device = getattr(estimator, "device", None)
    if device is None:
        return None
    name = type(estimator).__name__
    try:
        resolved = normalize_device(device)
    except ValueError:
        raise ValueError(f"{name}: device must be None, 'cpu' or 'gpu', got {device!r}") from None
    if resolved == "gpu":
        require_gpu(f"{name}(device={device!r})")
    return resolved


def place(tensor, device):
    """``tensor`` on ``device`` (lazy; None or the device it is on already: unchanged)."""
    if device is None or tensor is None or tensor.device == device:
        return tensor
    return tensor.to_device(device)
