"""Mini-batch training, checkpoints and resume, NaN location, data persistence (ml/train.py, batches.py)."""
import json

import numpy as np
import pytest

import chunkflow as cf
from chunkflow.ml import SGD, Adam, losses, minimize, schedules
from chunkflow.ml.batches import batch_at, epoch_batches, keep_in_memory, row_chunks

rng = np.random.default_rng(1)
N, D, CHUNK = 4000, 3, 250
X = rng.normal(size=(N, D))
W_TRUE = np.array([2.0, -1.0, 0.5])
Y = X @ W_TRUE + 0.05 * rng.normal(size=N)
LSTSQ = np.linalg.lstsq(X, Y, rcond=None)[0]


def data():
    return cf.from_array(X, chunks=(CHUNK, -1)), cf.from_array(Y, chunks=CHUNK)


def mse(w, X, y):
    return losses.squared_error(X @ w, y)


def test_epochs_visit_every_chunk_once_in_a_seeded_order():
    for epoch in range(3):
        batches = epoch_batches(10, 3, seed=7, epoch=epoch)
        assert sorted(i for b in batches for i in b) == list(range(10))
        assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert epoch_batches(10, 3, 7, 0) == epoch_batches(10, 3, 7, 0)
    assert epoch_batches(10, 3, 7, 0) != epoch_batches(10, 3, 7, 1)
    assert epoch_batches(10, 3, 7, 0) != epoch_batches(10, 3, 8, 0)
    assert batch_at(5, 10, 3, 7) == (1, epoch_batches(10, 3, 7, 1)[1])


def test_minibatch_sgd_reaches_least_squares_and_is_reproducible():
    Xt, yt = data()
    opt = SGD(lr=schedules.exponential(0.1, 0.995), momentum=0.5)
    a = minimize(mse, np.zeros(D), Xt, yt, optimizer=opt, batch=2, max_steps=400, seed=3)
    b = minimize(mse, np.zeros(D), Xt, yt, optimizer=opt, batch=2, max_steps=400, seed=3)
    c = minimize(mse, np.zeros(D), Xt, yt, optimizer=opt, batch=2, max_steps=400, seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.history == b.history and a.history != c.history
    np.testing.assert_allclose(a.params, LSTSQ, atol=5e-3)


def test_minibatch_step_reads_only_its_chunks():
    Xt, yt = data()
    seen = []

    def loss(w, X, y):
        seen.append(X.shape[0])
        return mse(w, X, y)

    minimize(loss, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.01), batch=3, max_steps=5, seed=0)
    # traced once per distinct batch: 3 chunks each, and the epoch's last batch of 16 % 3 = 1 chunk
    assert set(seen) <= {3 * CHUNK, CHUNK} and len(seen) >= 1


def test_minibatch_tol_uses_epoch_mean_loss():
    Xt, yt = data()
    res = minimize(mse, np.zeros(D), Xt, yt, optimizer=Adam(lr=0.05), batch=4, max_steps=2000, tol=1e-3)
    assert res.converged and "epoch mean loss" in res.message and res.n_steps < 2000


def test_checkpoint_resume_reaches_the_uninterrupted_parameters(tmp_path):
    Xt, yt = data()
    opt = Adam(lr=0.05)
    params0 = {"w": np.zeros(D), "b": np.array(0.0)}

    def f(p, X, y):
        return losses.squared_error(X @ p["w"] + p["b"], y)

    whole = minimize(f, params0, Xt, yt, optimizer=opt, batch=3, max_steps=20, seed=5)
    url = str(tmp_path / "ckpt")
    first = minimize(f, params0, Xt, yt, optimizer=opt, batch=3, max_steps=12, seed=5, checkpoint=url,
                     checkpoint_every=5)
    assert first.n_steps == 12
    assert (tmp_path / "ckpt" / "LATEST").read_text() == "step-00000010"
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["LATEST", "step-00000005", "step-00000010"]
    resumed = minimize(f, params0, Xt, yt, optimizer=opt, batch=3, max_steps=20, seed=5, checkpoint=url,
                       checkpoint_every=5, resume=True)
    np.testing.assert_array_equal(resumed.params["w"], whole.params["w"])
    assert resumed.params["b"] == whole.params["b"] and resumed.history == whole.history
    doc = json.loads((tmp_path / "ckpt" / "step-00000020" / "checkpoint.json").read_text())
    assert doc["step"] == 20 and doc["format"] == 1


def test_resume_ignores_a_checkpoint_that_was_not_committed(tmp_path):
    Xt, yt = data()
    url = str(tmp_path / "ckpt")
    minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), max_steps=4, checkpoint=url, checkpoint_every=2)
    # a writer killed after starting step 6: its directory is marked incomplete and LATEST still names step 4
    half = tmp_path / "ckpt" / "step-00000006"
    half.mkdir()
    (half / "_INCOMPLETE").write_bytes(b"")
    (half / "leaf-00000.npy").write_bytes(b"\x93NUMPY")
    res = minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), max_steps=6, checkpoint=url,
                   checkpoint_every=2, resume=True)
    assert len(res.history) == 7 and res.n_steps == 6


def test_resume_refuses_a_corrupt_checkpoint(tmp_path):
    Xt, yt = data()
    url = str(tmp_path / "ckpt")
    minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), max_steps=2, checkpoint=url, checkpoint_every=2)
    (tmp_path / "ckpt" / "step-00000002" / "leaf-00000.npy").write_bytes(b"\x93NUMPY\x01\x00garbage")
    with pytest.raises(ValueError, match=r"leaf-00000\.npy is corrupt or truncated"):
        minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), max_steps=4, checkpoint=url, resume=True)


def test_checkpoints_on_s3(s3):
    bucket, options = s3
    Xt, yt = data()
    url = f"{bucket}/run1"
    whole = minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), batch=2, max_steps=6)
    minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), batch=2, max_steps=3, checkpoint=url,
             checkpoint_every=3, storage_options=options)
    resumed = minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.05), batch=2, max_steps=6, checkpoint=url,
                       checkpoint_every=3, storage_options=options, resume=True)
    np.testing.assert_array_equal(resumed.params, whole.params)


def test_nan_in_data_names_step_row_and_chunk():
    bad = X.copy()
    bad[1234, 1] = np.nan
    Xt, yt = cf.from_array(bad, chunks=(CHUNK, -1)), cf.from_array(Y, chunks=CHUNK)
    with pytest.raises(FloatingPointError, match=r"step 0: .*data argument 0 has NaN/inf in row 1234 "
                                                 r"\(row chunk 4\)"):
        minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.01), max_steps=3)
    chunk4 = [s for s in range(16) if 4 in batch_at(s, 16, 2, 0)[1]][0]
    with pytest.raises(FloatingPointError, match=rf"step {chunk4}: .*row 1234 \(row chunk 4\)"):
        minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.01), batch=2, max_steps=30)


def test_data_argument_errors():
    Xt, yt = data()
    with pytest.raises(ValueError, match=r"different row chunks.*rechunk"):
        row_chunks((Xt, cf.from_array(Y, chunks=500)))
    with pytest.raises(ValueError, match=r"4000 and 3999 rows"):
        row_chunks((Xt, cf.from_array(Y[:-1], chunks=500)))
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        minimize(mse, np.zeros(D), Xt, yt, resume=True)
    with pytest.raises(ValueError, match="LBFGS runs full-batch"):
        from chunkflow.ml import LBFGS
        minimize(mse, np.zeros(D), Xt, yt, optimizer=LBFGS(), batch=2)
    with pytest.raises(TypeError, match="callback must be callable"):
        minimize(mse, np.zeros(D), Xt, yt, callback=[1])


def test_computed_data_is_persisted_when_it_fits():
    Xt, yt = data()
    Z = cf.exp(Xt) * 2  # computed data: persisted once
    kept = keep_in_memory((Z, yt))
    assert kept[1] is yt  # in-memory data stays as it is
    assert kept[0] is not Z and kept[0].op == "source"
    np.testing.assert_allclose(kept[0].compute(), np.exp(X) * 2)
    with cf.config.set(memory_budget="64KiB"):
        assert keep_in_memory((Z, yt))[0] is Z  # too big: streamed each step
