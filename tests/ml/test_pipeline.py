"""Pipeline: scikit-learn semantics, chunked input, leading scalers fitted in one pass."""
import numpy as np
import pytest
from sklearn import pipeline as skpipe
from sklearn import preprocessing as skp
from sklearn.base import clone
from sklearn.decomposition import PCA as SKPCA
from sklearn.naive_bayes import GaussianNB as SKGaussianNB

import chunkflow as cf
from chunkflow.ml import PCA, GaussianNB, KMeans, MaxAbsScaler, MinMaxScaler, Pipeline, StandardScaler, make_pipeline
from tests.core.test_lower import ChunkCounter


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    X = rng.normal(2.0, 3.0, size=(120, 5)) + y[:, None]
    return X, y


def test_params_clone_and_named_steps():
    p = make_pipeline(StandardScaler(), PCA(2))
    assert list(p.named_steps) == ["standardscaler", "pca"]
    assert p.get_params()["pca__n_components"] == 2
    p.set_params(pca__n_components=3)
    assert p.named_steps["pca"].n_components == 3
    q = clone(p)
    assert q.get_params()["pca__n_components"] == 3 and q.steps[0][1] is not p.steps[0][1]


@pytest.mark.parametrize("chunks", [None, (120, -1), (25, -1)])
def test_matches_sklearn_pipeline(data, chunks):
    X, y = data
    ref = skpipe.make_pipeline(skp.StandardScaler(), skp.MinMaxScaler(), SKPCA(3), SKGaussianNB()).fit(X, y)
    Xi = X if chunks is None else cf.from_array(X, chunks=chunks)
    yi = y if chunks is None else cf.from_array(y, chunks=(chunks[0],))
    p = make_pipeline(StandardScaler(), MinMaxScaler(), PCA(3), GaussianNB()).fit(Xi, yi)
    np.testing.assert_allclose(p[1].data_min_, ref[1].data_min_, atol=1e-12)
    np.testing.assert_allclose(p[1].scale_, ref[1].scale_, rtol=1e-12)
    np.testing.assert_allclose(p[2].components_, ref[2].components_, atol=1e-9)
    np.testing.assert_allclose(np.asarray(p.predict_proba(Xi)), ref.predict_proba(X), atol=1e-9)
    np.testing.assert_array_equal(np.asarray(p.predict(Xi)), ref.predict(X))
    assert p.score(Xi, yi) == pytest.approx(ref.score(X, y))
    np.testing.assert_allclose(np.asarray(p[:-1].transform(Xi)), ref[:-1].transform(X), atol=1e-9)


def test_leading_scalers_share_one_pass(data):
    X, _ = data
    ref = skpipe.make_pipeline(skp.StandardScaler(), skp.MaxAbsScaler(), skp.MinMaxScaler((-1, 1)),
                               skp.StandardScaler(with_mean=False)).fit(X)
    c = ChunkCounter(X, chunks=(30, 5))
    p = make_pipeline(StandardScaler(), MaxAbsScaler(), MinMaxScaler((-1, 1)), StandardScaler(with_mean=False))
    p.fit(c.tensor)
    # three leading scalers from one pass, the last (final) stage one more
    assert set(c.reads.values()) == {2}
    for ours, theirs in zip(p, ref):
        np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-10)
    np.testing.assert_allclose(p.transform(cf.from_array(X, chunks=(30, -1))).compute(), ref.transform(X),
                               atol=1e-10)


def test_clustering_pipeline_lazy_output(data):
    X, _ = data
    p = Pipeline([("scale", StandardScaler()), ("km", KMeans(2, random_state=0))])
    labels = p.fit_predict(cf.from_array(X, chunks=(40, -1)))
    assert isinstance(labels, cf.Tensor)
    assert set(np.unique(labels.compute())) == {0, 1}
