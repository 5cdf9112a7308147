"""PCA and TruncatedSVD against scikit-learn on NumPy and chunked input, every solver."""
import numpy as np
import pytest
from sklearn import decomposition as skd

import chunkflow as cf
from chunkflow.ml import PCA, TruncatedSVD
from chunkflow.ml.base import NotFittedError
from tests.core.test_lower import ChunkCounter


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) * np.linspace(3, 0.5, 8) + 5.0


ATTRS = ["components_", "explained_variance_", "explained_variance_ratio_", "singular_values_", "mean_"]


@pytest.mark.parametrize("solver, n_components", [
    ("covariance_eigh", 3), ("covariance_eigh", 0.9), ("covariance_eigh", None), ("full", 3), ("full", 0.9),
    ("full", None), ("randomized", 3), ("auto", 2),
])
@pytest.mark.parametrize("chunks", [None, (300, -1), (70, -1), (41, 3)])
def test_pca_matches_sklearn(data, solver, n_components, chunks):
    ref = skd.PCA(n_components, svd_solver="full").fit(data)
    X = data if chunks is None else cf.from_array(data, chunks=chunks)
    m = PCA(n_components, svd_solver=solver, random_state=0).fit(X)
    assert m.n_components_ == ref.n_components_
    for attr in ATTRS:
        np.testing.assert_allclose(getattr(m, attr), getattr(ref, attr), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(m.noise_variance_, ref.noise_variance_, rtol=1e-9, atol=1e-12)
    out = m.transform(X)
    assert isinstance(out, np.ndarray if chunks is None else cf.Tensor)
    np.testing.assert_allclose(np.asarray(out), ref.transform(data), atol=1e-9)


def test_pca_whiten_and_inverse(data):
    ref = skd.PCA(3, whiten=True).fit(data)
    m = PCA(3, whiten=True).fit(cf.from_array(data, chunks=(50, -1)))
    Z = m.transform(cf.from_array(data, chunks=(50, -1)))
    np.testing.assert_allclose(Z.compute(), ref.transform(data), atol=1e-9)
    np.testing.assert_allclose(m.inverse_transform(Z).compute(), ref.inverse_transform(ref.transform(data)),
                               atol=1e-9)


def test_pca_covariance_fit_is_one_pass(data):
    c = ChunkCounter(data, chunks=(40, 8))
    PCA(3, svd_solver="covariance_eigh").fit(c.tensor)
    assert set(c.reads.values()) == {1} and len(c.reads) == c.nchunks


def test_randomized_pca_on_wide_data():
    rng = np.random.default_rng(1)
    a = (rng.normal(size=(400, 5)) * [20, 10, 5, 2, 1]) @ rng.normal(size=(5, 1200)) + rng.normal(size=(400, 1200)) * 0.01
    ref = skd.PCA(4, svd_solver="full").fit(a)
    m = PCA(4, random_state=0).fit(cf.from_array(a, chunks=(100, -1)))  # auto: randomized for > 1000 features
    np.testing.assert_allclose(m.explained_variance_, ref.explained_variance_, rtol=1e-7)
    np.testing.assert_allclose(m.components_, ref.components_, atol=1e-6)


@pytest.mark.parametrize("algorithm", ["randomized", "full"])
def test_truncated_svd_matches_sklearn(data, algorithm):
    ref = skd.TruncatedSVD(3, algorithm="arpack").fit(data)
    for X in (data, cf.from_array(data, chunks=(70, -1))):
        m = TruncatedSVD(3, algorithm=algorithm, random_state=0).fit(X)
        for attr in ATTRS[:-1]:
            np.testing.assert_allclose(getattr(m, attr), getattr(ref, attr), rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(np.asarray(m.transform(X)), ref.transform(data), atol=1e-8)


def test_bad_input(data):
    with pytest.raises(NotFittedError):
        PCA().transform(data)
    with pytest.raises(ValueError, match="n_components=20 must be between 0 and"):
        PCA(20).fit(data)
    with pytest.raises(ValueError, match="integer n_components"):
        PCA(0.5, svd_solver="randomized").fit(data)
    with pytest.raises(ValueError, match="svd_solver must be one of"):
        PCA(2, svd_solver="magic").fit(data)
    m = PCA(2).fit(data)
    with pytest.raises(ValueError, match="7 features.*expecting 8"):
        m.transform(cf.from_array(data[:, :7], chunks=(100, -1)))


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("chunks", [None, (70, -1)])
def test_pca_probabilistic_model_matches_sklearn(data, whiten, chunks):
    ref = skd.PCA(3, whiten=whiten).fit(data)
    X = data if chunks is None else cf.from_array(data, chunks=chunks)
    ours = PCA(3, whiten=whiten).fit(X)
    np.testing.assert_allclose(ours.get_covariance(), ref.get_covariance(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.get_precision(), ref.get_precision(), rtol=1e-6, atol=1e-9)
    ss = ours.score_samples(X)
    np.testing.assert_allclose(np.asarray(ss if chunks is None else ss.compute()), ref.score_samples(data),
                               rtol=1e-8)
    np.testing.assert_allclose(ours.score(X), ref.score(data), rtol=1e-8)


def test_truncated_svd_arpack_is_the_exact_solver(data):
    ref = skd.TruncatedSVD(3, algorithm="arpack").fit(data)
    ours = TruncatedSVD(3, algorithm="arpack").fit(cf.from_array(data, chunks=(70, -1)))
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-8)
    np.testing.assert_allclose(np.abs(ours.components_), np.abs(ref.components_), rtol=1e-6, atol=1e-9)
