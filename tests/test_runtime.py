"""compute/persist and the choice of scheduler."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.runtime import get_scheduler


@pytest.fixture
def pair():
    a = np.random.default_rng(0).normal(size=(40, 3))
    return a, cf.from_array(a, chunks=(7, 3))


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_compute_on_each_named_scheduler(pair, scheduler):
    a, x = pair
    s, m = cf.compute(x.sum(0), (x * 2).max(), scheduler=scheduler)
    np.testing.assert_allclose(s, a.sum(0))
    np.testing.assert_allclose(m, (a * 2).max())


def test_compute_passes_non_tensors_through(pair):
    a, x = pair
    out = cf.compute(x.sum(), 3, "label")
    assert out[1:] == (3, "label")


def test_persist_keeps_values_and_chunks(pair):
    a, x = pair
    y = (x + 1).persist()
    assert y.chunks == x.chunks and y.op == "source"
    np.testing.assert_allclose(y.compute(), a + 1)


def test_unknown_scheduler_is_rejected():
    with pytest.raises(ValueError, match="unknown scheduler 'gpu-cluster'"):
        get_scheduler("gpu-cluster")


def test_default_scheduler_is_threads_without_a_client():
    assert get_scheduler() == "threads"


def test_active_distributed_client_is_used(pair):
    distributed = pytest.importorskip("distributed")
    a, x = pair
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert get_scheduler() is client
        with distributed.get_task_stream(client) as ts:
            total, gram = cf.compute(x.sum(0), x.T @ x)
        assert len(ts.data) > 0  # the work ran on the cluster's workers
        np.testing.assert_allclose(total, a.sum(0))
        np.testing.assert_allclose(gram, a.T @ a)
        r = cf.random.default_rng(3).normal(size=(30, 2), chunks=(4, 2))
        on_cluster = r.compute()
    np.testing.assert_array_equal(on_cluster, r.compute(scheduler="sync"))


def test_repr_names_shape_dtype_chunks_and_tasks(pair):
    _, x = pair
    text = repr(x.sum(0))
    for part in ("shape=(3,)", "dtype=float64", "tasks=", "chunk_bytes="):
        assert part in text
    html = x._repr_html_()
    assert "<table>" in html and "chunksize" in html


def test_tensor_is_immutable(pair):
    _, x = pair
    with pytest.raises(AttributeError, match="immutable"):
        x.shape = (1,)


def test_blas_limit_is_restored_after_concurrent_runs():
    """Runs from several threads share one BLAS limit; the library's own setting comes back afterwards."""
    import threading

    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    x = cf.from_array(np.random.default_rng(0).normal(size=(4000, 20)), chunks=(500, -1))
    errors = []

    def work():
        try:
            for _ in range(5):
                np.testing.assert_allclose((x.T @ x).compute(), x.compute().T @ x.compute(), rtol=1e-10)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and blas_threads() == before
