"""Devices without a GPU: names, errors, and where GPU tasks are told to run.

What runs on a GPU is tested in tests/gpu (skipped without one); these tests
check what must hold on every machine.
"""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow import backend
from chunkflow.core import creation
from chunkflow.core.tensor import make_node

no_gpu = pytest.mark.skipif(backend.gpu_available(), reason="this machine has a GPU: the no-GPU error can't happen")


@pytest.mark.parametrize("name, expected", [("cpu", "cpu"), ("CPU", "cpu"), ("gpu", "gpu"), ("cuda", "gpu"),
                                            ("cuda:0", "gpu"), (None, "cpu")])
def test_device_names(name, expected):
    assert backend.normalize_device(name) == expected


def test_unknown_device_names_the_choices():
    with pytest.raises(ValueError, match="unknown device 'tpu'; use 'cpu' or 'gpu'"):
        cf.ones(3).to_device("tpu")


def test_to_device_of_its_own_device_is_the_same_tensor():
    x = cf.arange(6)
    assert x.to_device("cpu") is x and x.to_device(None) is x


@no_gpu
@pytest.mark.parametrize("make", [lambda: cf.arange(6).to_device("gpu"), lambda: cf.zeros(3, device="gpu"),
                                  lambda: cf.asarray([1.0, 2.0], device="cuda"),
                                  lambda: cf.from_array(np.ones(4)).to_device("gpu")])
def test_asking_for_a_gpu_without_one_fails_at_once_with_the_fix(make):
    with pytest.raises(RuntimeError, match=r"needs a GPU, but CuPy is not installed .*chunkflow\[gpu\].*"
                                           r"--resources GPU=1"):
        make()


def test_cpu_kernels_take_their_operands_as_they_are():
    leaves = [np.ones(3), 2.0]
    assert backend.on_module(np, leaves) is leaves
    host = backend.to_host({"w": np.arange(3), "b": (1.5,)})
    np.testing.assert_array_equal(host["w"], np.arange(3))
    assert host["b"] == (1.5,)


def _gpu_node(x):
    """``x`` moved to the GPU as ``to_device`` builds it, without asking for a GPU (the graph is only lowered)."""
    return make_node("dask", (x,), (creation._same, (), ()), x.shape, x.dtype, x.chunks, device="gpu")


def test_tasks_that_touch_gpu_chunks_carry_the_gpu_resource_and_no_others_do():
    x = cf.arange(40.0, chunks=10).reshape(20, 2)
    g = _gpu_node(x)
    w = cf.from_array(np.array([1.0, -1.0]))  # a CPU parameter used by a GPU kernel
    loss = ((g @ w) ** 2).sum() + g.mean(axis=0).sum()
    back = (g * 2).to_device("cpu") + 1  # the copy back runs on a GPU worker, what follows on any worker
    assert (g.device, loss.device, back.device, (g * 2).to_device("cpu").device) == ("gpu", "gpu", "cpu", "cpu")
    from chunkflow.core.lower import lower  # the graphs are only lowered: nothing runs on a GPU

    loss_graph, back_graph = (a.__dask_graph__() for a in lower([loss, back]))
    gpu_layers = {name for name, layer in loss_graph.layers.items() if layer.annotations}
    cpu_layers = set(loss_graph.layers) - gpu_layers
    assert all(loss_graph.layers[n].annotations == {"resources": {"GPU": 1}} for n in gpu_layers)
    assert any(n.startswith("to_gpu") for n in gpu_layers) and any(n.startswith("reduce") for n in gpu_layers)
    # the CPU side (arange, reshape, the parameter) carries no annotation
    assert cpu_layers and all(not n.startswith(("to_gpu", "reduce")) for n in cpu_layers)
    annotated = {n.split("-")[0] for n, layer in back_graph.layers.items() if layer.annotations}
    assert "to_cpu" in annotated
    assert not back_graph.layers[back.key].annotations  # `+ 1` after the copy back: a CPU task


def test_reductions_on_both_devices_do_not_share_a_task():
    x = cf.arange(40.0, chunks=10)
    from chunkflow.core.lower import lower

    cpu_sum, gpu_sum = lower([x.sum(), _gpu_node(x).sum()])
    cpu_layers = {n for n, layer in cpu_sum.__dask_graph__().layers.items() if n.startswith("reduce")}
    gpu_layers = {n for n, layer in gpu_sum.__dask_graph__().layers.items() if n.startswith("reduce")}
    assert cpu_layers and gpu_layers and not cpu_layers & gpu_layers
