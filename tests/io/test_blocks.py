"""chunkflow/io/blocks.py: the readers' device argument and the writers' host copies."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.backend import gpu_available, requested_device
from chunkflow.io.blocks import host_dask


def test_requested_device_names_cpu_and_gpu_and_refuses_others():
    assert requested_device(None, "from_npy") == requested_device("cpu", "from_npy") == "cpu"
    assert requested_device("CPU", "from_npy") == "cpu"
    for bad in ("bogus", "tpu", 3):
        with pytest.raises(ValueError, match=r"from_npy: unknown device .*use 'cpu' or 'gpu'"):
            requested_device(bad, "from_npy")


@pytest.mark.skipif(gpu_available(), reason="checks the error raised without a GPU")
def test_requested_device_gpu_without_a_gpu_says_why_and_the_fix():
    for name in ("gpu", "cuda", "cuda:0"):
        with pytest.raises(RuntimeError, match=r"from_zarr\(device='gpu'\) needs a GPU.*device='cpu'"):
            requested_device(name, "from_zarr")


def test_cpu_tensors_are_placed_and_written_as_they_are():
    x = cf.from_array(np.arange(12.0).reshape(4, 3), chunks=(2, 3))
    assert x.to_device("cpu") is x
    assert host_dask(x).name == x.to_dask().name  # no copy task added for a CPU Tensor


def test_gpu_tensors_are_written_from_host_copies_made_on_gpu_workers():
    from chunkflow.core import creation
    from chunkflow.core.tensor import make_node

    host = cf.from_array(np.arange(6.0), chunks=3)
    # a GPU Tensor as to_device builds it, without asking for a GPU: the graph is only built, never run
    x = make_node("dask", (host,), (creation._same, (), ()), host.shape, host.dtype, host.chunks, device="gpu")
    darr = host_dask(x)
    layers = darr.__dask_graph__().layers
    assert darr.name.startswith("to_cpu") and layers[darr.name].annotations == {"resources": {"GPU": 1}}
    assert isinstance(darr._meta, np.ndarray)  # the writer's tasks see NumPy blocks
