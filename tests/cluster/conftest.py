"""Fixtures for the cluster tests: a process cluster (the compose file's commands) and data on loopback S3."""
import time

import numpy as np
import pytest

import chunkflow as cf

distributed = pytest.importorskip("distributed")

N, D, CHUNK = 2_000, 5, 250  # 8 row chunks


def logistic(w, X, y):
    z = X @ w
    return (cf.logaddexp(0.0, z) - y * z).mean()


def dataset():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, D))
    y = (X @ np.linspace(-1, 1, D) + 0.3 * rng.normal(size=N) > 0).astype(float)
    return X, y


def write_dataset(bucket_url, options, name="train"):
    """Write X and y as .npy files on S3; Tensors that read them back chunk by chunk (on the workers)."""
    X, y = dataset()
    cf.from_array(X, chunks=(CHUNK, -1)).to_npy(f"{bucket_url}/{name}/X.npy", storage_options=options)
    cf.from_array(y, chunks=(CHUNK,)).to_npy(f"{bucket_url}/{name}/y.npy", storage_options=options)
    return read_dataset(bucket_url, options, name)


def read_dataset(bucket_url, options, name="train"):
    return (cf.from_npy(f"{bucket_url}/{name}/X.npy", chunks=(CHUNK, -1), storage_options=options),
            cf.from_npy(f"{bucket_url}/{name}/y.npy", chunks=(CHUNK,), storage_options=options))


def reference(max_steps, **kw):
    """The parameters of the run the cluster tests must reproduce: local threads, in-memory data."""
    from chunkflow.ml import Adam, minimize

    X, y = dataset()
    Xt, yt = cf.from_array(X, chunks=(CHUNK, -1)), cf.from_array(y, chunks=(CHUNK,))
    return minimize(logistic, np.zeros(D), Xt, yt, optimizer=Adam(lr=0.1), max_steps=max_steps,
                    scheduler="threads", **kw)


def alive(pid) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def cluster_env():
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def cluster():
    """A scheduler and two workers started as OS processes with chunkflow.cluster's commands."""
    from chunkflow.cluster import LocalProcessCluster

    pids = set()
    with LocalProcessCluster(n_workers=2, nthreads=1, memory_limit="1GiB", env=cluster_env()) as c:
        c.started = pids  # tests that start workers add their pids here
        yield c
        pids |= set(c.worker_pids().values()) | {p.pid for p in [c.scheduler, *c.workers]}
        procs = [c.scheduler, *c.workers]
    assert all(p.poll() is not None for p in procs)
    time.sleep(0.5)
    assert not [p for p in pids if alive(p)], "a scheduler, nanny or worker process outlived the cluster"


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster.address) as c:
        yield c
