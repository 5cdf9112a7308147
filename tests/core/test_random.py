"""Chunked random generation (chunkflow/core/random.py).

Each chunk draws from its own generator seeded by (seed, draw number, block
index), so values depend on the seed, the order of draws and the chunking,
and never on the scheduler. Different chunkings of the same seed give
different values by design (each block has its own stream).
"""
import numpy as np
import pytest

import chunkflow as cf


def _draws(rng, chunks, shape=(13, 4)):
    return (
        rng.normal(2.0, 3.0, size=shape, chunks=chunks),
        rng.uniform(-1.0, 5.0, size=shape, chunks=chunks),
        rng.integers(3, 9, size=shape, chunks=chunks),
        rng.standard_normal(size=shape, dtype=np.float32, chunks=chunks),
        rng.random(size=shape, chunks=chunks),
    )


@pytest.mark.parametrize("chunks", [(7, 3), -1, 1])
def test_same_seed_same_chunking_same_values(chunks):
    a = cf.compute(*_draws(cf.random.default_rng(42), chunks), scheduler="sync")
    b = cf.compute(*_draws(cf.random.default_rng(42), chunks), scheduler="sync")
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def local_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        with distributed.Client(c, set_as_default=False) as client:
            yield client


def test_values_do_not_depend_on_the_scheduler(local_client):
    draws = _draws(cf.random.default_rng(7), (7, 3))
    derived = (draws[0].sum(axis=0), (draws[1] - draws[1].mean(axis=0)).std(axis=0), draws[2] @ draws[3].T)
    reference = cf.compute(*draws, *derived, scheduler="sync")
    for scheduler in ["threads", local_client]:
        values = cf.compute(*draws, *derived, scheduler=scheduler)
        for x, y in zip(reference, values):
            np.testing.assert_array_equal(x, y)


def test_active_client_is_used_and_gives_same_values(local_client):
    x = cf.random.default_rng(3).normal(size=(20, 3), chunks=(6, -1))
    expected = x.compute(scheduler="sync")
    with local_client.as_current():
        from chunkflow.runtime import get_scheduler

        assert get_scheduler() is local_client
        np.testing.assert_array_equal(x.compute(), expected)


def test_persist_keeps_values():
    x = cf.random.default_rng(5).uniform(size=(25, 2), chunks=(4, 1))
    expected = x.compute(scheduler="sync")
    p = x.persist(scheduler="sync")
    assert p.chunks == x.chunks
    np.testing.assert_array_equal(p.compute(scheduler="sync"), expected)


def test_different_draws_seeds_and_blocks_differ():
    rng = cf.random.default_rng(1)
    a, b = rng.normal(size=(40,), chunks=10), rng.normal(size=(40,), chunks=10)
    c = cf.random.default_rng(2).normal(size=(40,), chunks=10)
    av, bv, cv = cf.compute(a, b, c, scheduler="sync")
    assert not np.array_equal(av, bv) and not np.array_equal(av, cv)
    blocks = av.reshape(4, 10)
    assert len({tuple(r) for r in blocks}) == 4  # no two blocks share a stream
    assert a.key != b.key  # successive draws are different nodes


def test_metadata_and_shapes():
    rng = cf.random.default_rng(0)
    x = rng.normal(size=(10, 3), chunks=(4, -1))
    assert x.shape == (10, 3) and x.dtype == np.float64 and x.chunks == ((4, 4, 2), (3,))
    s = rng.uniform()  # size=None: a 0-d Tensor, like NumPy's scalar
    assert s.shape == () and 0 <= float(s.compute(scheduler="sync")) < 1
    assert rng.standard_normal(5, dtype=np.float32).compute(scheduler="sync").dtype == np.float32
    i = rng.integers(10, size=(6,), dtype=np.int32)
    iv = i.compute(scheduler="sync")
    assert i.dtype == iv.dtype == np.int32 and iv.shape == (6,)
    e = rng.normal(size=(0, 3))
    assert e.compute(scheduler="sync").shape == (0, 3)


def test_distribution_moments():
    rng = cf.random.default_rng(123)
    n = 40_000
    normal = rng.normal(2.0, 3.0, size=(n,), chunks=7_000)
    uniform = rng.uniform(-1.0, 5.0, size=(n,), chunks=7_000)
    ints = rng.integers(3, 9, size=(n,), chunks=7_000)
    ints_end = rng.integers(3, 9, size=(n,), endpoint=True, chunks=7_000)
    std_normal = rng.standard_normal(size=(n,), chunks=7_000)
    nv, uv, iv, ev, sv = cf.compute(normal, uniform, ints, ints_end, std_normal, scheduler="sync")
    se = 5 / np.sqrt(n)  # five standard errors (per unit of standard deviation)
    assert abs(nv.mean() - 2.0) < 3.0 * se and abs(nv.std() - 3.0) < 3.0 * se * 1.5
    assert abs(sv.mean()) < se and abs(sv.std() - 1.0) < se * 1.5
    assert abs(((sv - sv.mean()) ** 3).mean()) < 0.1  # symmetric
    assert uv.min() >= -1.0 and uv.max() < 5.0
    assert abs(uv.mean() - 2.0) < 6 / np.sqrt(12) * se
    assert iv.min() == 3 and iv.max() == 8 and set(np.unique(iv)) == set(range(3, 9))
    assert ev.max() == 9 and ev.min() == 3
    assert abs(iv.mean() - 5.5) < 2 * se * 2


def test_random_inputs_in_fused_graphs():
    """Random sources are regenerated per task (inlined); values must agree with the materialized draw."""
    x = cf.random.default_rng(9).normal(size=(50, 4), chunks=(8, 2))
    xv, centred, z = cf.compute(x, (x - x.mean(0)).sum(0), ((x - x.mean(0)) / x.std(0)).max(0), scheduler="sync")
    np.testing.assert_allclose(centred, (xv - xv.mean(0)).sum(0), atol=1e-12)
    np.testing.assert_allclose(z, ((xv - xv.mean(0)) / xv.std(0)).max(0), rtol=1e-12)


@pytest.mark.parametrize("bad, err, match", [
    (lambda r: r.normal(size=3, dtype=np.int32), TypeError, "int32"),
    (lambda r: r.normal(scale=-1.0, size=3), ValueError, "-1.0"),
    (lambda r: r.integers(5, 5, size=3), ValueError, r"integers\(5, 5\)"),
    (lambda r: r.integers(0, 5, size=3, dtype=np.float64), TypeError, "float64"),
    (lambda r: cf.random.default_rng(-1), TypeError, "-1"),
    (lambda r: cf.random.default_rng(1.5), TypeError, "1.5"),
    (lambda r: r.uniform(size=(3, -1)), ValueError, r"\(3, -1\)"),
])
def test_bad_arguments(bad, err, match):
    with pytest.raises(err, match=match):
        bad(cf.random.default_rng(0))
