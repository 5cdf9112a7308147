"""The `chunkflow` command: exit codes, and the demo (the README's main job) end to end."""
import json
import os
import subprocess
import sys

import pytest

from chunkflow.cli import main


def test_usage_errors_exit_2(capsys):
    assert main(["--help"]) == 0
    assert main(["frobnicate"]) == 2
    assert main(["run"]) == 2
    assert main(["demo", "--rows", "10"]) == 2
    assert "at least 1000 rows" in capsys.readouterr().err


def test_module_entry_point_exit_code(tmp_path):
    run = subprocess.run([sys.executable, "-m", "chunkflow.cli", "run", str(tmp_path / "missing.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("chunkflow run: invalid input: pipeline file")


@pytest.mark.slow
def test_demo_trains_evaluates_and_reuses_its_data(tmp_path):
    cmd = [sys.executable, "-m", "chunkflow.cli", "demo", "--rows", "40000", "--dir", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for word in ("roc_auc", "log_loss", "accuracy", "peak memory", "learned vs true coefficient"):
        assert word in run.stdout
    assert "newton iteration" in run.stderr and "wrote 1 Parquet parts" in run.stderr
    assert os.path.exists(tmp_path / "data" / "_SUCCESS")
    assert os.path.exists(tmp_path / "output" / "model" / "report.html")
    again = subprocess.run(cmd + ["--json", "--quiet"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    result = json.loads(again.stdout)
    assert result["data"]["reused"] and result["metrics"]["roc_auc"] > 0.75
