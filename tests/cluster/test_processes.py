"""Training on a cluster of OS processes started with the compose file's commands, and surviving failures.

The scheduler and workers are ``dask scheduler`` / ``dask worker`` processes
(chunkflow.cluster.LocalProcessCluster); the loopback S3 server stands in for
MinIO. Every run must reach the parameters of the same run on local threads
(rtol 1e-10): losing a worker, gaining one, retiring one or killing the
client changes where and when tasks run, never what they compute.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from chunkflow.cluster import health_command
from chunkflow.ml import Adam, minimize

from .conftest import D, cluster_env, logistic, read_dataset, reference, write_dataset

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_health_command_answers_for_the_scheduler(cluster):
    argv = health_command(f"{cluster.dashboard}/health")
    assert subprocess.run([sys.executable, *argv[1:]], timeout=60).returncode == 0
    assert subprocess.run([sys.executable, *argv[1:-1], f"{cluster.dashboard}/no-such-page"],
                          capture_output=True, timeout=60).returncode != 0


def test_training_reads_s3_on_the_workers_and_matches_threads(cluster, client, s3):
    bucket, options = s3
    X, y = write_dataset(bucket, options)
    with distributed.get_task_stream(client) as ts:
        res = minimize(logistic, np.zeros(D), X, y, optimizer=Adam(lr=0.1), max_steps=8, persist=False)
    np.testing.assert_allclose(res.params, reference(8).params, rtol=1e-10, atol=1e-12)
    assert len(res.history) == 9
    readers = {t["worker"] for t in ts.data if "npy" in str(t["key"])}
    assert readers == set(cluster.worker_info()), "every worker reads its chunks from S3 itself"


def test_worker_killed_joined_and_retired_mid_training(cluster, client, s3):
    bucket, options = s3
    X, y = write_dataset(bucket, options)
    events = {}
    cluster.started |= set(cluster.worker_pids().values())

    def chaos(step, loss, params):
        if step == 1:  # a machine is lost: SIGKILL a worker and its nanny; its persisted chunks go too
            events["killed"] = victim = sorted(cluster.worker_info())[0]
            cluster.kill_worker(victim)
        elif step == 3:  # a new machine joins
            events["joined"] = cluster.add_worker().address
            cluster.started.update(cluster.worker_pids().values())
        elif step == 5:  # the other original worker leaves gracefully: the run goes on on the new one
            events["retired"] = sorted(set(cluster.worker_info()) - {events["joined"]})
            client.retire_workers(events["retired"])
        elif step == 7:
            events["left"] = set(cluster.worker_info())

    try:
        with distributed.get_task_stream(client) as ts:
            res = minimize(logistic, np.zeros(D), X, y, optimizer=Adam(lr=0.1), max_steps=10, callback=chaos)
    finally:
        while len(cluster.worker_info()) < 2:  # leave two workers for the next tests
            cluster.add_worker()
    np.testing.assert_allclose(res.params, reference(10).params, rtol=1e-10, atol=1e-12)
    assert events["killed"] not in events["retired"] and len(events["retired"]) == 1
    assert events["left"] == {events["joined"]}, "after the retirement only the worker that joined is left"
    assert events["joined"] in {t["worker"] for t in ts.data}, "the worker that joined mid-run executed tasks"


def _latest_step(fs, path):
    try:
        return int(fs.cat_file(f"{path}/LATEST").decode().strip().split("-")[1])
    except FileNotFoundError:
        return 0


def test_client_killed_mid_training_resumes_from_its_checkpoint(cluster, client, s3):
    import s3fs

    bucket, options = s3
    write_dataset(bucket, options)
    ckpt = f"{bucket}/run"
    max_steps = 16
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("train_client.py")), cluster.address,
                             bucket, options["endpoint_url"], ckpt, str(max_steps), "0.1"],
                            cwd=ROOT, env={**os.environ, **cluster_env(), "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
        deadline = time.monotonic() + 90
        while _latest_step(fs, ckpt.split("://")[1]) < 4:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint at step 4 within 90 s"
            time.sleep(0.1)
            fs.invalidate_cache()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_at = _latest_step(fs, ckpt.split("://")[1])
    assert proc.returncode == -signal.SIGKILL and 4 <= killed_at < max_steps

    X, y = read_dataset(bucket, options)
    steps = []
    res = minimize(logistic, np.zeros(D), X, y, optimizer=Adam(lr=0.1), max_steps=max_steps, checkpoint=ckpt,
                   checkpoint_every=2, resume=True, storage_options=options,
                   callback=lambda step, loss, params: steps.append(step))
    assert steps[0] == killed_at, "the rerun starts from the newest checkpoint, not from step 0"
    want = reference(max_steps)
    np.testing.assert_allclose(res.params, want.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.history, want.history, rtol=1e-10)
