"""KMeans and MiniBatchKMeans against scikit-learn on blobs; passes per Lloyd iteration."""
import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

import chunkflow as cf
from chunkflow.ml import KMeans, MiniBatchKMeans
from chunkflow.ml.base import NotFittedError
from tests.core.test_lower import ChunkCounter


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(1500, n_features=4, centers=5, cluster_std=0.8, random_state=3)
    ref = SKKMeans(5, n_init=10, random_state=0).fit(X)
    return X, ref


@pytest.mark.parametrize("init", ["k-means||", "k-means++"])
@pytest.mark.parametrize("chunks", [(1500, -1), (200, -1), (333, 2)])
def test_kmeans_matches_sklearn_on_blobs(blobs, init, chunks):
    X, ref = blobs
    m = KMeans(5, init=init, random_state=0).fit(cf.from_array(X, chunks=chunks))
    assert m.cluster_centers_.shape == (5, 4) and m.n_iter_ >= 1
    assert abs(m.inertia_ / ref.inertia_ - 1) < 0.01
    labels = m.labels_
    assert isinstance(labels, cf.Tensor)  # lazy for chunked input
    assert adjusted_rand_score(ref.labels_, labels.compute()) == 1.0


def test_kmeans_numpy_in_numpy_out(blobs):
    X, ref = blobs
    m = KMeans(5, random_state=1).fit(X)
    assert isinstance(m.labels_, np.ndarray) and isinstance(m.predict(X), np.ndarray)
    np.testing.assert_array_equal(m.predict(X), m.labels_)
    dist = np.sqrt(((X[:, None] - m.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(m.transform(X), dist, atol=1e-9)
    np.testing.assert_allclose(-m.score(X), m.inertia_, rtol=1e-10)


def test_array_init_reproduces_sklearn_lloyd(blobs):
    X, _ = blobs
    init = X[:5]
    ref = SKKMeans(5, init=init, n_init=1, algorithm="lloyd").fit(X)
    m = KMeans(5, init=init).fit(cf.from_array(X, chunks=(100, -1)))
    np.testing.assert_allclose(m.cluster_centers_, ref.cluster_centers_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(m.inertia_, ref.inertia_, rtol=1e-8)
    assert m.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("kind", ["numpy", "chunked", "chunked weights"])
def test_sample_weight_reproduces_sklearn_lloyd(blobs, kind):
    X, _ = blobs
    w = np.random.default_rng(4).uniform(0.0, 3.0, size=len(X))
    ref = SKKMeans(5, init=X[:5], n_init=1, algorithm="lloyd").fit(X, sample_weight=w)
    Xin = X if kind == "numpy" else cf.from_array(X, chunks=(100, -1))
    win = cf.from_array(w, chunks=250) if kind == "chunked weights" else w  # chunks unlike X's
    m = KMeans(5, init=X[:5]).fit(Xin, sample_weight=win)
    np.testing.assert_allclose(m.cluster_centers_, ref.cluster_centers_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(m.inertia_, ref.inertia_, rtol=1e-8)
    assert m.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(m.score(Xin, sample_weight=win), ref.score(X, sample_weight=w), rtol=1e-8)


def test_integer_weights_equal_repeated_rows(blobs):
    X, _ = blobs
    counts = np.random.default_rng(5).integers(0, 4, size=len(X))
    weighted = KMeans(5, init=X[:5], tol=0.0).fit(cf.from_array(X, chunks=(128, -1)), sample_weight=counts)
    repeated = KMeans(5, init=X[:5], tol=0.0).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-10)


@pytest.mark.parametrize("init", ["k-means||", "k-means++", "random"])
def test_weighted_initializations_find_the_weighted_clusters(blobs, init):
    X, _ = blobs
    w = np.random.default_rng(6).uniform(0.5, 2.0, size=len(X))
    ref = SKKMeans(5, n_init=10, random_state=0).fit(X, sample_weight=w)
    m = KMeans(5, init=init, random_state=0, n_init=3).fit(cf.from_array(X, chunks=(200, -1)), sample_weight=w)
    assert abs(m.inertia_ / ref.inertia_ - 1) < 0.01
    assert adjusted_rand_score(ref.labels_, m.labels_.compute()) == 1.0


@pytest.mark.parametrize("weights, match", [
    (np.full(1500, np.nan), "sample_weight contains NaN"), (-np.ones(1500), "negative values"),
    (np.zeros(1500), "sums to 0.0"), (np.ones(7), r"sample_weight.shape == \(7,\), expected \(1500,\)")])
def test_bad_chunked_sample_weight(blobs, weights, match):
    X, _ = blobs
    with pytest.raises(ValueError, match=match):
        KMeans(5).fit(cf.from_array(X, chunks=(300, -1)), sample_weight=cf.from_array(weights))


def test_one_pass_per_lloyd_iteration(blobs):
    X, _ = blobs
    c = ChunkCounter(X, chunks=(150, 4))
    m = KMeans(5, init=X[:5], tol=0.0, max_iter=4).fit(c.tensor)
    # the first pass (variances + finite check), one per iteration, and one for the final inertia
    assert m.n_iter_ == 4
    assert set(c.reads.values()) == {1 + 4 + 1}


def test_kmeans_parallel_passes(blobs):
    X, _ = blobs
    c = ChunkCounter(X, chunks=(150, 4))
    m = KMeans(5, init_max_iter=3, max_iter=1, random_state=0).fit(c.tensor)
    # one chunk read for the first center; 1 stats pass, 3 rounds, 1 weighting pass, 1 Lloyd, 1 final inertia
    assert sorted(set(c.reads.values())) <= [7, 8]
    assert m.n_iter_ == 1


def test_n_init_keeps_the_best(blobs):
    X, _ = blobs
    one = KMeans(5, init="random", n_init=1, random_state=0).fit(X)
    many = KMeans(5, init="random", n_init=4, random_state=0).fit(X)
    assert many.inertia_ <= one.inertia_ + 1e-9


def test_minibatch_kmeans_close_to_sklearn(blobs):
    X, ref = blobs
    m = MiniBatchKMeans(5, batch_chunks=2, random_state=0).fit(cf.from_array(X, chunks=(100, -1)))
    assert abs(m.inertia_ / ref.inertia_ - 1) < 0.02
    assert adjusted_rand_score(ref.labels_, m.labels_.compute()) > 0.99


def test_minibatch_sample_weight(blobs):
    X, _ = blobs
    w = np.random.default_rng(7).uniform(0.5, 2.0, size=len(X))
    ref = SKKMeans(5, n_init=10, random_state=0).fit(X, sample_weight=w)
    m = MiniBatchKMeans(5, batch_chunks=2, random_state=0).fit(cf.from_array(X, chunks=(100, -1)), sample_weight=w)
    assert abs(m.inertia_ / ref.inertia_ - 1) < 0.02  # inertia_ is weighted, as scikit-learn's
    assert adjusted_rand_score(ref.labels_, m.labels_.compute()) > 0.99
    # integer weights are repeated rows: with every chunk in every batch the steps see the same sums
    counts = np.random.default_rng(8).integers(0, 4, size=len(X))
    kw = dict(init=X[:5], batch_chunks=100, max_iter=6, max_no_improvement=100)
    weighted = MiniBatchKMeans(5, **kw).fit(cf.from_array(X, chunks=(300, -1)), sample_weight=counts)
    repeated = MiniBatchKMeans(5, **kw).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(weighted.inertia_, repeated.inertia_, rtol=1e-10)


def test_bad_input(blobs):
    X, _ = blobs
    with pytest.raises(NotFittedError):
        KMeans(2).predict(X)
    with pytest.raises(ValueError, match="n_clusters must be an integer >= 1"):
        KMeans(0).fit(X)
    with pytest.raises(ValueError, match="init must be one of"):
        KMeans(2, init="bogus").fit(X)
    m = KMeans(2, random_state=0).fit(cf.from_array(X, chunks=(500, -1)))
    with pytest.raises(ValueError, match="3 features.*expecting 4"):
        m.predict(X[:, :3])
    bad = X.copy()
    bad[7, 3] = np.inf
    with pytest.raises(ValueError, match=r"column\(s\) \[3\]"):
        KMeans(2).fit(cf.from_array(bad, chunks=(500, -1)))
