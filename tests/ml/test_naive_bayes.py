"""GaussianNB against scikit-learn: one pass, same parameters and probabilities."""
import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB as SKGaussianNB

import chunkflow as cf
from chunkflow.ml import GaussianNB
from chunkflow.ml.base import NotFittedError
from tests.core.test_lower import ChunkCounter


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    X = rng.normal(size=(200, 4)) + y[:, None] * [1.0, -0.5, 0.2, 0.0] + 100.0  # large means
    return X, y


@pytest.mark.parametrize("chunks", [None, (200, -1), (30, -1), (17, 3)])
@pytest.mark.parametrize("priors", [None, [0.2, 0.3, 0.5]])
def test_matches_sklearn(data, chunks, priors):
    X, y = data
    ref = SKGaussianNB(priors=priors).fit(X, y)
    Xi = X if chunks is None else cf.from_array(X, chunks=chunks)
    yi = y if chunks is None else cf.from_array(y, chunks=(chunks[0],))
    m = GaussianNB(priors=priors).fit(Xi, yi)
    np.testing.assert_array_equal(m.classes_, ref.classes_)
    np.testing.assert_allclose(m.class_count_, ref.class_count_)
    np.testing.assert_allclose(m.class_prior_, ref.class_prior_)
    np.testing.assert_allclose(m.theta_, ref.theta_, rtol=1e-12)
    np.testing.assert_allclose(m.var_, ref.var_, rtol=1e-9)
    np.testing.assert_allclose(m.epsilon_, ref.epsilon_, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(m.predict_proba(Xi)), ref.predict_proba(X), atol=1e-9)
    np.testing.assert_allclose(np.asarray(m.predict_log_proba(Xi)), ref.predict_log_proba(X), rtol=1e-8, atol=1e-8)
    pred = m.predict(Xi)
    assert isinstance(pred, np.ndarray if chunks is None else cf.Tensor)
    np.testing.assert_array_equal(np.asarray(pred), ref.predict(X))
    assert m.score(Xi, yi) == pytest.approx(ref.score(X, y))


def test_fit_is_one_pass_over_x(data):
    X, y = data
    c = ChunkCounter(X, chunks=(40, 4))
    GaussianNB().fit(c.tensor, cf.from_array(y, chunks=40))
    assert set(c.reads.values()) == {1} and len(c.reads) == c.nchunks


def test_string_labels_numpy(data):
    X, y = data
    names = np.array(["a", "b", "c"], dtype=object)[y]
    m = GaussianNB().fit(X, names)
    np.testing.assert_array_equal(m.predict(X), SKGaussianNB().fit(X, names).predict(X))


def test_bad_input(data):
    X, y = data
    with pytest.raises(NotFittedError):
        GaussianNB().predict(X)
    with pytest.raises(ValueError, match="Number of priors"):
        GaussianNB(priors=[0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="sum of the priors"):
        GaussianNB(priors=[0.5, 0.5, 0.5]).fit(X, y)
    with pytest.raises(ValueError, match="var_smoothing"):
        GaussianNB(var_smoothing=-1).fit(X, y)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[2\]"):
        GaussianNB().fit(cf.from_array(bad, chunks=(50, -1)), cf.from_array(y, chunks=50))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GaussianNB().fit(cf.from_array(X, chunks=(50, -1)), cf.from_array(y[:10], chunks=5))


@pytest.mark.parametrize("chunks", [None, (30, -1)])
def test_sample_weight_and_string_labels_match_sklearn(data, chunks):
    X, y = data
    names = np.asarray(["low", "mid", "high"])[y]
    w = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    ref = SKGaussianNB().fit(X, names, sample_weight=w)
    if chunks is None:
        Xk, yk, wk = X, names, w
    else:
        Xk, yk, wk = (cf.from_array(X, chunks=chunks), cf.from_array(names, chunks=(30,)),
                      cf.from_array(w, chunks=(30,)))
    ours = GaussianNB().fit(Xk, yk, sample_weight=wk)
    for name in ("theta_", "var_", "class_count_", "class_prior_", "epsilon_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-9, atol=1e-12)
    pred = ours.predict(Xk)
    np.testing.assert_array_equal(np.asarray(pred if chunks is None else pred.compute()), ref.predict(X))
    np.testing.assert_allclose(ours.score(Xk, yk, sample_weight=wk), ref.score(X, names, sample_weight=w))
