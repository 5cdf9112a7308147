"""Out-of-core runs keep peak RSS under the memory budget (measured in a subprocess)."""
import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, sys
    import chunkflow as cf
    from chunkflow.runtime import peak_rss
    budget = cf.config.parse_bytes(sys.argv[1])
    cf.config.set(memory_budget=budget)
    rows = int(4 * budget // (8 * 32))          # 4x the budget
    x = cf.random.default_rng(0).normal(size=(rows, 32))
    if sys.argv[2] == "reduce":
        out = cf.compute(x.sum(axis=0), x.max(axis=0))
        ok = abs(float(out[0].sum()) / x.size) < 0.01 and out[1].min() > 3
    else:  # two passes over x: standardize, then reduce
        z = (x - x.mean(axis=0)) / x.std(axis=0)
        zm, zs = cf.compute(z.mean(axis=0), z.std(axis=0))
        ok = abs(zm).max() < 1e-6 and abs(zs - 1).max() < 1e-6
    peak = peak_rss()
    print(json.dumps({"peak": peak, "budget": budget, "nbytes": x.nbytes,
                      "chunk_bytes": x.chunksize[0] * 32 * 8, "ok": bool(ok)}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("workload", ["reduce", "standardize"])
def test_peak_rss_stays_under_budget_on_data_4x_larger(workload):
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "384MiB", workload],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["ok"]
    assert report["nbytes"] >= 4 * report["budget"] * 0.99
    assert report["peak"] < report["budget"], report


def test_auto_chunks_follow_the_budget():
    import chunkflow as cf

    with cf.config.set(memory_budget="64MiB"):
        small = cf.random.default_rng(0).normal(size=(10_000_000, 8)).chunksize
    with cf.config.set(memory_budget="8GiB"):
        big = cf.random.default_rng(0).normal(size=(10_000_000, 8)).chunksize
    assert small[1] == big[1] == 8  # rows are split, columns kept whole
    assert small[0] < big[0]
    assert small[0] * 8 * 8 <= 64 * 2**20 / 6
