"""The four training proofs of test_train.py again, on a real distributed LocalCluster (worker processes)."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.ml import LBFGS, SGD, Adam, losses, minimize

from .test_train import LSTSQ, X_LIN, Y_LIN, D, N, blobs, chunked, mlp_logits, mse, xor_data

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def ran_on_workers(client, fn):
    with distributed.get_task_stream(client) as ts:
        out = fn()
    workers = {t["worker"] for t in ts.data}
    assert workers, "nothing ran on the cluster"
    return out, workers


def test_least_squares_on_cluster(client):
    Xt, yt = chunked(X_LIN, Y_LIN)
    res, workers = ran_on_workers(client, lambda: minimize(mse, np.zeros(D), Xt, yt, optimizer=LBFGS(tol=1e-12)))
    np.testing.assert_allclose(res.params, LSTSQ, rtol=1e-8, atol=1e-8)
    assert len(workers) == 2


def test_l2_logistic_on_cluster_matches_sklearn(client):
    from sklearn.linear_model import LogisticRegression

    r = np.random.default_rng(1)
    X = r.normal(size=(N, D))
    y = (X @ np.array([2.0, -1.0, 0.0, 0.5]) - 0.3 + r.logistic(size=N) > 0).astype(float)
    Xt, yt = chunked(X, y)
    C = 0.1

    def loss(p, X, y):
        return losses.logistic(X @ p["w"] + p["b"], y) + losses.l2(p["w"], alpha=1 / (C * N))

    res, _ = ran_on_workers(client, lambda: minimize(loss, {"w": np.zeros(D), "b": np.array(0.0)}, Xt, yt,
                                                     optimizer=LBFGS(tol=1e-10)))
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    got, want = np.r_[res.params["w"], res.params["b"]], np.r_[ref.coef_.ravel(), ref.intercept_]
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-4


def test_softmax_regression_minibatch_on_cluster(client):
    X, labels = blobs()
    Xt, yt = chunked(X, labels, n_chunks=6)

    def loss(p, X, y):
        return losses.softmax_cross_entropy(X @ p["W"] + p["b"], y)

    p0 = {"W": np.zeros((2, 3)), "b": np.zeros(3)}
    res, _ = ran_on_workers(client, lambda: minimize(loss, p0, Xt, yt, optimizer=Adam(lr=0.1), batch=2,
                                                     max_steps=40, seed=1))
    accuracy = np.mean(np.argmax(X @ res.params["W"] + res.params["b"], axis=1) == labels)
    assert accuracy > 0.95
    # the same batches and updates as on local threads
    local = minimize(loss, p0, Xt, yt, optimizer=Adam(lr=0.1), batch=2, max_steps=40, seed=1, scheduler="threads")
    np.testing.assert_allclose(res.params["W"], local.params["W"], rtol=1e-10, atol=1e-12)


def test_mlp_on_cluster(client):
    X, y = xor_data()
    Xt, yt = chunked(X, y)
    h, r = 8, np.random.default_rng(4)
    p0 = {"W1": r.normal(size=(2, h)), "b1": np.zeros(h), "W2": r.normal(size=h) * 0.5, "b2": np.array(0.0)}
    mlp, _ = ran_on_workers(client, lambda: minimize(lambda p, X, y: losses.logistic(mlp_logits(p, X), y), p0,
                                                     Xt, yt, optimizer=LBFGS(), max_steps=60))
    p = mlp.params
    assert np.mean(((np.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]) > 0) == y) > 0.95


def test_computed_data_is_persisted_on_the_workers(client):
    Xt, yt = chunked(X_LIN, Y_LIN)
    Z = Xt * 1.0 + 0.0  # computed: persisted on the cluster before the first step
    res = minimize(mse, np.zeros(D), Z, yt, optimizer=SGD(lr=0.2, momentum=0.5), max_steps=40)
    local = minimize(mse, np.zeros(D), Xt, yt, optimizer=SGD(lr=0.2, momentum=0.5), max_steps=40,
                     scheduler="threads")
    np.testing.assert_allclose(res.params, local.params, rtol=1e-12)
    np.testing.assert_allclose(res.params, LSTSQ, rtol=1e-2, atol=1e-2)
