"""Retries of transient storage errors (chunkflow.runtime, ``cf.config.set(retries=n)``), with a real outage.

The S3 server is reached through a TCP proxy (proxy.py) that is taken down
and brought back: connections are refused and reset, as when MinIO restarts.
botocore's own retries are turned off in storage_options
(``total_max_attempts=1``) so that chunkflow's are the ones tested.
"""
import logging
import threading

import numpy as np
import pytest

import chunkflow as cf
from chunkflow.ml import Adam, minimize

from .conftest import D, dataset, logistic, read_dataset, reference, write_dataset
from .proxy import TcpProxy


@pytest.fixture
def outage(s3):
    """``(bucket_url, storage_options through the proxy, proxy)`` with the training data written."""
    bucket, options = s3
    write_dataset(bucket, options)
    host, port = options["endpoint_url"].split("//")[1].split(":")
    proxy = TcpProxy(host, int(port))
    proxied = {**options, "endpoint_url": proxy.url, "config_kwargs": {"retries": {"total_max_attempts": 1}}}
    try:
        yield bucket, proxied, proxy
    finally:
        proxy.down()


def test_a_run_is_tried_again_until_the_storage_is_back(outage, caplog):
    bucket, options, proxy = outage
    X, y = read_dataset(bucket, options)
    proxy.down()
    threading.Timer(1.0, proxy.up).start()
    with cf.config.set(retries=6, retry_delay=0.2), caplog.at_level(logging.WARNING, "chunkflow.runtime"):
        (total,) = cf.compute(X.sum(axis=0), scheduler="threads")
    np.testing.assert_allclose(total, dataset()[0].sum(axis=0))
    assert "attempt 1 of 7 failed (ConnectionError" in caplog.text and "X.npy" in caplog.text


def test_when_retries_run_out_the_error_names_the_url_and_the_attempts(outage):
    bucket, options, proxy = outage
    X, y = read_dataset(bucket, options)
    proxy.down()
    with cf.config.set(retries=2, retry_delay=0.01):
        with pytest.raises(ConnectionError, match=r"(?s)s3://test-\w+/train/X\.npy.*gave up after 3 attempts"):
            cf.compute(X.sum(), scheduler="threads")
    with pytest.raises(ConnectionError, match="could not reach the storage") as info:  # retries=0: as before
        cf.compute(X.sum(), scheduler="sync")
    assert "gave up" not in str(info.value)


def test_retries_must_be_counts():
    with pytest.raises(ValueError, match="retries must be an int >= 0"):
        cf.config.set(retries=-1)
    with pytest.raises(ValueError, match="retry_delay"):
        cf.config.set(retry_delay=-0.5)


@pytest.mark.slow
def test_training_on_the_cluster_outlives_a_storage_outage(cluster, client, outage, caplog):
    import distributed

    bucket, options, proxy = outage
    X, y = read_dataset(bucket, options)

    def storage_restarts(step, loss, params):
        if step == 2:  # the object store goes away for 2.5 s while the workers read every step
            proxy.down()
            threading.Timer(2.5, proxy.up).start()

    with cf.config.set(retries=6, retry_delay=0.25), caplog.at_level(logging.WARNING, "chunkflow.runtime"), \
            distributed.get_task_stream(client) as ts:
        res = minimize(logistic, np.zeros(D), X, y, optimizer=Adam(lr=0.1), max_steps=6, persist=False,
                       callback=storage_restarts)
    np.testing.assert_allclose(res.params, reference(6).params, rtol=1e-10, atol=1e-12)
    failed = [t for t in ts.data if t.get("status") == "error"]
    assert failed, "tasks failed while the storage was down (and were retried by the scheduler)"
    assert "failed (ConnectionError" in caplog.text, "the outage outlasted the immediate task retries: the run ran again"
