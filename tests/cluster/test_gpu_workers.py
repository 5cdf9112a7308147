"""CPU and GPU workers in one cluster: GPU tasks go to the workers with the ``GPU`` resource only.

The workers are OS processes started with the compose services' commands
(``worker`` and ``gpu-worker``). This machine has no GPU, so the GPU worker
has no CuPy: the GPU tasks fail there, with an error that names the worker,
which is what shows where they ran. That the scheduler held them for
``GPU=1`` workers is read from the scheduler itself. The CPU side of the same
cluster keeps computing.
"""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow import backend
from chunkflow.cluster import LocalProcessCluster
from chunkflow.core.lower import lower
from chunkflow.runtime import Compiled

from .conftest import cluster_env

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(backend.gpu_available(), reason="needs a GPU worker without CuPy (no local GPU)")]


def test_gpu_tasks_wait_for_and_run_on_the_gpu_worker_only():
    with LocalProcessCluster(n_workers=1, nthreads=1, memory_limit="1GiB", env=cluster_env()) as cluster:
        with distributed.Client(cluster.address) as client:
            x = cf.arange(64.0, chunks=8).reshape(32, 2)
            with pytest.raises(RuntimeError, match="no distributed Client with GPU workers"):
                x.to_device("gpu")  # CPU workers only
            gpu_worker = cluster.add_worker(gpu=True)
            assert gpu_worker.address in client.scheduler_info(n_workers=-1)["workers"]

            g = x.to_device("gpu")
            loss = ((g @ np.array([1.0, -1.0])) ** 2).sum()
            future = client.compute(lower([loss])[0], optimize_graph=False)
            distributed.wait(future)
            assert future.status == "error"
            with pytest.raises(ImportError, match=f"a GPU task ran on worker {gpu_worker.address}, which has no CuPy"):
                future.result()
            restrictions = client.run_on_scheduler(  # a lambda travels by value (the scheduler can't import tests)
                lambda dask_scheduler: {str(ts.key): ts.resource_restrictions for ts in dask_scheduler.tasks.values()})
            moved = {k: r for k, r in restrictions.items() if "to_gpu" in k}
            sources = {k: r for k, r in restrictions.items() if "arange" in k or "reshape" in k}
            assert len(moved) == 8 and all(r == {"GPU": 1} for r in moved.values())
            assert sources and all(not r for r in sources.values())
            del future

            # the same through cf.compute and a compiled step (runtime.Compiled keeps the annotation)
            with pytest.raises(ImportError, match=f"ran on worker {gpu_worker.address}"):
                cf.compute(g.sum())
            with pytest.raises(ImportError, match=f"ran on worker {gpu_worker.address}"):
                Compiled([g.mean(axis=0)], [])(scheduler=client)

            # the CPU side of the cluster is unaffected
            np.testing.assert_allclose(cf.compute(x.sum(axis=0))[0], np.arange(64.0).reshape(32, 2).sum(axis=0))
