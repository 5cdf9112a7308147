"""Metrics equal scikit-learn's on NumPy input and on chunked input (lazy, computed together)."""
import numpy as np
import pytest
from sklearn import metrics as skm

import chunkflow as cf
from chunkflow.ml import metrics as m

CHUNKS = [None, 200, 37]


@pytest.fixture(scope="module")
def labels():
    rng = np.random.default_rng(0)
    yt = rng.integers(0, 3, 200)
    yp = np.where(rng.random(200) < 0.7, yt, rng.integers(0, 3, 200))
    return yt, yp


def _t(v, chunks):
    return v if chunks is None else cf.from_array(v, chunks=(chunks,) + (-1,) * (v.ndim - 1))


def _val(v):
    return np.asarray(v.compute() if isinstance(v, cf.Tensor) else v)


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
@pytest.mark.parametrize("average", ["binary", "macro", "micro", "weighted", None])
def test_prf_match_sklearn(labels, chunks, name, average):
    yt, yp = labels
    if average == "binary":
        yt, yp = (yt == 1).astype(int), (yp == 1).astype(int)
    ours = getattr(m, name)(_t(yt, chunks), _t(yp, chunks), average=average)
    assert isinstance(ours, float if chunks is None and average is not None else (np.ndarray, cf.Tensor))
    np.testing.assert_allclose(_val(ours), getattr(skm, name)(yt, yp, average=average), rtol=1e-12)


@pytest.mark.parametrize("chunks", CHUNKS)
def test_accuracy_confusion_logloss(labels, chunks):
    yt, yp = labels
    assert _val(m.accuracy_score(_t(yt, chunks), _t(yp, chunks))) == pytest.approx(skm.accuracy_score(yt, yp))
    assert _val(m.accuracy_score(_t(yt, chunks), _t(yp, chunks), normalize=False)) == \
        skm.accuracy_score(yt, yp, normalize=False)
    np.testing.assert_array_equal(_val(m.confusion_matrix(_t(yt, chunks), _t(yp, chunks))),
                                  skm.confusion_matrix(yt, yp))
    np.testing.assert_allclose(_val(m.confusion_matrix(_t(yt, chunks), _t(yp, chunks), normalize="true")),
                               skm.confusion_matrix(yt, yp, normalize="true"))
    P = np.random.default_rng(1).dirichlet([1, 1, 1], 200)
    np.testing.assert_allclose(_val(m.log_loss(_t(yt, chunks), _t(P, chunks))), skm.log_loss(yt, P), rtol=1e-12)
    b = (yt == 1).astype(int)
    p = np.clip(P[:, 1] + 0.2 * b, 0, 1)
    np.testing.assert_allclose(_val(m.log_loss(_t(b, chunks), _t(p, chunks))), skm.log_loss(b, p), rtol=1e-12)


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("name", ["mean_squared_error", "root_mean_squared_error", "mean_absolute_error",
                                  "r2_score"])
def test_regression_match_sklearn(chunks, name):
    rng = np.random.default_rng(2)
    y = rng.normal(size=200) + 10
    p = y + rng.normal(size=200) * 0.3
    np.testing.assert_allclose(_val(getattr(m, name)(_t(y, chunks), _t(p, chunks))), getattr(skm, name)(y, p),
                               rtol=1e-12)
    Y, Pm = np.stack([y, -y], 1), np.stack([p, -p * 1.1], 1)
    for mo in ("uniform_average", "raw_values"):
        np.testing.assert_allclose(_val(getattr(m, name)(_t(Y, chunks), _t(Pm, chunks), multioutput=mo)),
                                   getattr(skm, name)(Y, Pm, multioutput=mo), rtol=1e-12)


def test_r2_constant_target():
    y = np.ones(5)
    assert m.r2_score(y, y) == skm.r2_score(y, y) == 1.0
    assert m.r2_score(y, y + 1) == skm.r2_score(y, y + 1) == 0.0


def test_roc_auc_exact_and_histogram():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 5000)
    s = rng.random(5000) + 0.4 * y
    ref = skm.roc_auc_score(y, s)
    assert m.roc_auc_score(y, s) == pytest.approx(ref, abs=1e-12)
    s_tied = np.round(s, 1)
    assert m.roc_auc_score(y, s_tied) == pytest.approx(skm.roc_auc_score(y, s_tied), abs=1e-12)
    yt, st = cf.from_array(y, chunks=700), cf.from_array(s, chunks=700)
    assert float(m.roc_auc_score(yt, st, method="exact")) == pytest.approx(ref, abs=1e-12)
    auc, bound = cf.compute(*m.roc_auc_histogram(yt, st, n_bins=1024))
    assert abs(auc - ref) <= bound + 1e-12 and bound < 1e-3
    assert float(m.roc_auc_score(yt, st, n_bins=1024).compute()) == pytest.approx(float(auc))


def test_several_metrics_in_one_compute(labels):
    from tests.core.test_lower import ChunkCounter

    yt, yp = labels
    c = ChunkCounter(np.stack([yt, yp], 1).astype(float), chunks=(40, 2))
    a, b = c.tensor[:, 0], c.tensor[:, 1]
    acc, f1, cm = cf.compute(m.accuracy_score(a, b), m.f1_score(a, b, average="macro", labels=[0, 1, 2]),
                             m.confusion_matrix(a, b, labels=[0, 1, 2]))
    assert set(c.reads.values()) == {1}
    assert acc == pytest.approx(skm.accuracy_score(yt, yp))
    assert f1 == pytest.approx(skm.f1_score(yt, yp, average="macro"))
    np.testing.assert_array_equal(cm, skm.confusion_matrix(yt, yp))


def test_silhouette(labels):
    yt, _ = labels
    X = np.random.default_rng(4).normal(size=(200, 2)) + yt[:, None] * 3
    assert m.silhouette_score(X, yt) == pytest.approx(skm.silhouette_score(X, yt))
    est = m.silhouette_score(cf.from_array(X, chunks=(50, -1)), cf.from_array(yt, chunks=50), sample_size=200)
    assert est == pytest.approx(skm.silhouette_score(X, yt))


def test_bad_input(labels):
    yt, yp = labels
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        m.accuracy_score(yt, yp[:5])
    with pytest.raises(ValueError, match="multiclass but average='binary'"):
        m.f1_score(yt, yp)
    with pytest.raises(ValueError, match="average must be one of"):
        m.f1_score(yt, yp, average="samples")


@pytest.mark.parametrize("chunks", CHUNKS)
def test_sample_weight_matches_sklearn(chunks):
    rng = np.random.default_rng(3)
    yt = rng.integers(0, 3, 200)
    yp = np.where(rng.random(200) < 0.7, yt, rng.integers(0, 3, 200))
    w = rng.uniform(0.2, 3.0, 200)
    P = rng.dirichlet(np.ones(3), 200)
    r, rp = rng.normal(size=200), rng.normal(size=200)
    T = (lambda v: v) if chunks is None else (lambda v: cf.from_array(v, chunks=(chunks,) + (-1,) * (v.ndim - 1)))
    cases = [
        (m.accuracy_score(T(yt), T(yp), sample_weight=T(w)), skm.accuracy_score(yt, yp, sample_weight=w)),
        (m.f1_score(T(yt), T(yp), average="macro", sample_weight=T(w)),
         skm.f1_score(yt, yp, average="macro", sample_weight=w)),
        (m.precision_score(T(yt), T(yp), average="weighted", sample_weight=T(w)),
         skm.precision_score(yt, yp, average="weighted", sample_weight=w)),
        (m.confusion_matrix(T(yt), T(yp), sample_weight=T(w)), skm.confusion_matrix(yt, yp, sample_weight=w)),
        (m.log_loss(T(yt), T(P), sample_weight=T(w)), skm.log_loss(yt, P, sample_weight=w)),
        (m.r2_score(T(r), T(rp), sample_weight=T(w)), skm.r2_score(r, rp, sample_weight=w)),
        (m.mean_squared_error(T(r), T(rp), sample_weight=T(w)), skm.mean_squared_error(r, rp, sample_weight=w)),
        (m.mean_absolute_error(T(r), T(rp), sample_weight=T(w)), skm.mean_absolute_error(r, rp, sample_weight=w)),
    ]
    for ours, theirs in cases:
        np.testing.assert_allclose(np.asarray(ours.compute() if chunks else ours), theirs, rtol=1e-10)


@pytest.mark.parametrize("chunks", CHUNKS)
def test_roc_auc_positive_label_is_the_greater_one_and_weights_count(chunks):
    rng = np.random.default_rng(4)
    y = rng.integers(1, 3, 300)  # labels 1 and 2: 2 is positive, as scikit-learn
    s = np.round(y * 0.5 + rng.normal(0, 0.5, 300), 1)  # ties between classes
    w = rng.uniform(0.2, 3.0, 300)
    T = (lambda v: v) if chunks is None else (lambda v: cf.from_array(v, chunks=(chunks,)))
    got = m.roc_auc_score(T(y), T(s), method="exact")
    np.testing.assert_allclose(got, skm.roc_auc_score(y, s), rtol=1e-12)
    got = m.roc_auc_score(T(y), T(s), sample_weight=T(w), method="exact")
    np.testing.assert_allclose(got, skm.roc_auc_score(y, s, sample_weight=w), rtol=1e-12)
    if chunks is not None:  # the histogram estimate, within its bound
        auc, bound = m.roc_auc_histogram(T(y), T(s), sample_weight=T(w), n_bins=64)
        auc, bound = cf.compute(auc, bound)
        assert abs(auc - skm.roc_auc_score(y, s, sample_weight=w)) <= bound + 1e-12
