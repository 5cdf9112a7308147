"""A killed training run resumes from its checkpoint to the same params; failures never look complete."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from chunkflow.cli import main

from .conftest import example


def _load_params(model_dir):
    import json

    from chunkflow.pipeline.modeldir import load_model

    meta = json.load(open(os.path.join(model_dir, "pipeline.json")))
    return load_model(model_dir, meta)[1]


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_params(churn, tmp_path, capsys):
    steps = 400
    common = [example("mlp_adam.yaml"), "--quiet", "--set", f"data.url={churn}", "--set", f"model.steps={steps}",
              "--set", "checkpoint_every=10", "--set", "model.batch=1"]
    # the reference: one uninterrupted run
    ref = tmp_path / "ref"
    assert main(["run", *common, "--set", f"output.model={ref}", "--set", f"checkpoint={tmp_path / 'ck-ref'}",
                 "--set", "resume=false"]) == 0
    capsys.readouterr()
    # a run killed (SIGKILL) once it has written a checkpoint, then run again with resume: true
    out, ck = tmp_path / "run", tmp_path / "ck"
    argv = [sys.executable, "-m", "chunkflow.cli", "run", *common, "--set", f"output.model={out}",
            "--set", f"checkpoint={ck}", "--set", "resume=true"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (ck / "LATEST").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed; raise model.steps"
    killed_at = int((ck / "LATEST").read_text().split("-")[1])
    assert 0 < killed_at < steps
    assert not (out / "_SUCCESS").exists()  # nothing that looks like a finished model
    assert main(["run", *common, "--set", f"output.model={out}", "--set",
                 f"checkpoint={ck}", "--set", "resume=true", "--set", "output.overwrite=true"]) == 0
    a, b = _load_params(ref), _load_params(out)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_custom_loss_failure_leaves_no_model(churn, tmp_path, capsys):
    (tmp_path / "badloss.py").write_text(
        "import chunkflow as cf\n"
        "def loss(p, X, y):\n    return cf.log(X @ p['w'] - 1e9).mean()  # NaN: log of a negative number\n"
        "def predict(p, X):\n    return X @ p['w']\n")
    spec = tmp_path / "p.yaml"
    spec.write_text(f"""
data: {{url: "{churn}", label: churned, columns: [age, tenure_months]}}
model: {{loss: "badloss:loss", params_init: {{w: zeros}}, steps: 5}}
output: {{model: "{tmp_path / 'm'}"}}
""")
    assert main(["run", str(spec), "--quiet"]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("chunkflow run failed: FloatingPointError: step 0")
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_custom_loss_on_a_cluster_ships_its_module(churn, tmp_path, capsys):
    """--scheduler: the pipeline's own module (not installed on workers) is sent to them by value."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        assert main(["run", example("mlp_adam.yaml"), "--quiet", "--scheduler", lc.scheduler_address,
                     "--set", f"data.url={churn}", "--set", f"output.model={tmp_path / 'm'}",
                     "--set", f"checkpoint={tmp_path / 'ck'}", "--set", "model.steps=5"]) == 0
    assert (tmp_path / "m" / "_SUCCESS").exists()
