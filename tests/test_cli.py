"""The `chunkflow` command's demo (the README's main job)."""
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_out_of_core_under_budget():
    run = subprocess.run(
        [sys.executable, "-m", "chunkflow.cli", "demo", "--memory-budget", "256MiB", "--columns", "16"],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "under the budget" in run.stdout
    assert "4.0x the 0.25 GiB memory budget" in run.stdout
