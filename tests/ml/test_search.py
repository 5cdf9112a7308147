"""GridSearchCV, RandomizedSearchCV and successive halving: scikit-learn's numbers, chunk-wise folds, errors."""
import numpy as np
import pytest
from scipy import stats
from sklearn import linear_model as sklm
from sklearn import model_selection as skms

import chunkflow as cf
from chunkflow.ml import (
    ALS, GridSearchCV, HalvingGridSearchCV, HalvingRandomSearchCV, KFold, LogisticRegression,
    RandomizedSearchCV, Ridge,
)

rng = np.random.default_rng(0)
N, D = 240, 5
X = rng.normal(size=(N, D))
Y = X @ rng.normal(size=D) + 0.5 * rng.normal(size=N)
Y_CLASS = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=N) > 0).astype(np.int64)
ALPHAS = {"alpha": [0.01, 3.0, 300.0]}


def chunked(a, rows=24):
    return cf.from_array(a, chunks=(rows, -1) if a.ndim == 2 else rows)


def test_grid_equals_sklearn_on_numpy():
    ours = GridSearchCV(Ridge(), ALPHAS, cv=KFold(5)).fit(X, Y)
    ref = skms.GridSearchCV(sklm.Ridge(), ALPHAS, cv=skms.KFold(5)).fit(X, Y)
    assert ours.best_params_ == ref.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"],
                               rtol=0, atol=1e-8)
    for k in range(5):
        np.testing.assert_allclose(ours.cv_results_[f"split{k}_test_score"],
                                   ref.cv_results_[f"split{k}_test_score"], atol=1e-8)
    np.testing.assert_allclose(ours.cv_results_["std_test_score"], ref.cv_results_["std_test_score"], atol=1e-8)
    np.testing.assert_array_equal(ours.cv_results_["rank_test_score"], ref.cv_results_["rank_test_score"])
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    assert list(ours.cv_results_["param_alpha"]) == ALPHAS["alpha"]
    assert ours.cv_results_["mean_fit_time"].shape == (3,) and (ours.cv_results_["mean_fit_time"] > 0).all()
    assert abs(ours.best_score_ - ref.best_score_) < 1e-8
    np.testing.assert_allclose(ours.best_estimator_.coef_, ref.best_estimator_.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.predict(X[:7]), ref.predict(X[:7]), atol=1e-8)
    assert abs(ours.score(X, Y) - ref.score(X, Y)) < 1e-8


@pytest.mark.parametrize("scoring", ["neg_mean_squared_error", "r2", "neg_mean_absolute_error"])
def test_regression_scoring_equals_sklearn(scoring):
    ours = GridSearchCV(Ridge(), ALPHAS, cv=3, scoring=scoring).fit(X, Y)
    ref = skms.GridSearchCV(sklm.Ridge(), ALPHAS, cv=3, scoring=scoring).fit(X, Y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-8)


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss", "roc_auc", "f1"])
def test_classification_scoring_equals_sklearn(scoring):
    """Same folds (StratifiedKFold for a classifier with cv=int, as scikit-learn) and the same metric values."""
    grid = {"C": [0.01, 1.0]}
    ours = GridSearchCV(LogisticRegression(), grid, cv=3, scoring=scoring).fit(X, Y_CLASS)
    ref = skms.GridSearchCV(sklm.LogisticRegression(), grid, cv=3, scoring=scoring).fit(X, Y_CLASS)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-4)
    assert ours.best_params_ == ref.best_params_
    np.testing.assert_allclose(ours.predict_proba(X[:5]), ref.predict_proba(X[:5]), atol=1e-4)


def test_chunked_folds_are_whole_chunks_and_match_numpy_on_the_same_rows():
    """On a Tensor the folds are KFold's row-chunk groups; scores equal scikit-learn's on those same rows."""
    Xt, yt = chunked(X), chunked(Y)
    ours = GridSearchCV(Ridge(), ALPHAS, cv=4, scoring="neg_mean_squared_error").fit(Xt, yt)
    folds = list(KFold(4).split(Xt))
    ref = skms.GridSearchCV(sklm.Ridge(), ALPHAS, cv=folds, scoring="neg_mean_squared_error").fit(X, Y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-8)
    assert ours.best_params_ == ref.best_params_
    pred = ours.predict(Xt)
    assert isinstance(pred, cf.Tensor)  # the refit model keeps the output-kind rule
    np.testing.assert_allclose(pred.compute(), ref.predict(X), atol=1e-8)
    # dask input takes the same path
    two = {"alpha": ALPHAS["alpha"][:2]}
    dask_out = GridSearchCV(Ridge(), two, cv=4, scoring="neg_mean_squared_error").fit(Xt.to_dask(), yt.to_dask())
    np.testing.assert_allclose(dask_out.cv_results_["mean_test_score"], ours.cv_results_["mean_test_score"][:2],
                               atol=1e-12)


def test_callable_scorer_and_threads_give_the_same_results():
    def neg_max_error(est, X, y):
        return -float(np.max(np.abs(np.asarray(est.predict(X)) - y)))

    one = GridSearchCV(Ridge(), ALPHAS, cv=3, scoring=neg_max_error).fit(X, Y)
    two = GridSearchCV(Ridge(), ALPHAS, cv=3, scoring=neg_max_error, n_jobs=3).fit(X, Y)
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"])
    ref = skms.GridSearchCV(sklm.Ridge(), ALPHAS, cv=3, scoring="neg_max_error").fit(X, Y)
    np.testing.assert_allclose(one.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-8)


def test_randomized_is_sklearn_sampling_and_reproducible():
    dists = {"alpha": stats.loguniform(1e-3, 1e3), "fit_intercept": [True, False]}
    a = RandomizedSearchCV(Ridge(), dists, n_iter=6, random_state=3, cv=3).fit(X, Y)
    b = RandomizedSearchCV(Ridge(), dists, n_iter=6, random_state=3, cv=3).fit(X, Y)
    ref = skms.RandomizedSearchCV(sklm.Ridge(), dists, n_iter=6, random_state=3, cv=3).fit(X, Y)
    assert a.cv_results_["params"] == b.cv_results_["params"] == ref.cv_results_["params"]
    np.testing.assert_allclose(a.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-8)
    c = RandomizedSearchCV(Ridge(), dists, n_iter=6, random_state=4, cv=3).fit(X, Y)
    assert c.cv_results_["params"] != a.cv_results_["params"]


EASY = {"alpha": [1e-2, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]}


@pytest.mark.parametrize("make", [lambda a: a, lambda a: chunked(a, rows=12)], ids=["numpy", "chunked"])
def test_halving_finds_the_exhaustive_best_with_fewer_rows(make):
    Xi, yi = make(X), make(Y)
    folds = list(KFold(3).split(Xi))  # the exhaustive search on the same folds, by scikit-learn
    full = skms.GridSearchCV(sklm.Ridge(), EASY, cv=folds).fit(X, Y)
    half = HalvingGridSearchCV(Ridge(), EASY, cv=3, factor=3, random_state=0).fit(Xi, yi)
    assert half.best_params_ == full.best_params_ == {"alpha": 1e-2}
    res = half.cv_results_
    assert half.n_candidates_ == [9, 3, 1][:half.n_iterations_] and half.n_iterations_ >= 2
    assert list(res["n_resources"]) == [r for r, c in zip(half.n_resources_, half.n_candidates_) for _ in range(c)]
    assert np.all(np.diff(half.n_resources_) > 0)
    rows_halving = float(np.sum(res["n_train_rows"])) * 3  # rows fitted, over all candidates and folds
    rows_full = len(EASY["alpha"]) * N * 2 / 3 * 3
    assert rows_halving < 0.5 * rows_full
    assert res["rank_test_score"][half.best_index_] == 1 and res["iter"][half.best_index_] == half.n_iterations_ - 1
    again = HalvingGridSearchCV(Ridge(), EASY, cv=3, factor=3, random_state=0).fit(Xi, yi)
    np.testing.assert_array_equal(again.cv_results_["mean_test_score"], res["mean_test_score"])


def test_halving_random_search():
    dists = {"alpha": stats.loguniform(1e-3, 1e9)}
    h = HalvingRandomSearchCV(Ridge(), dists, cv=3, min_resources=20, random_state=0).fit(X, Y)
    assert h.n_candidates_[0] == h.max_resources_ // 20 == 8
    ref = skms.ParameterSampler(dists, 8, random_state=0)
    assert [c["params"] for c in [{"params": p} for p in ref]] == h.cv_results_["params"][:8]
    assert h.best_params_["alpha"] == min(p["alpha"] for p in ref)  # the least shrinkage wins on this data
    assert h.n_resources_[0] == 20 and h.n_resources_[1] == 60


def test_search_tunes_als():
    """An estimator fitted without y (ALS on (user, item, rating) rows) is searched with its own score."""
    r = np.random.default_rng(1)
    U, V = r.normal(size=(30, 2)), r.normal(size=(20, 2))
    uu, ii = np.nonzero(r.random((30, 20)) < 0.7)
    R = np.c_[uu, ii, (U[uu] * V[ii]).sum(1) + 0.05 * r.normal(size=len(uu))][r.permutation(len(uu))]
    s = GridSearchCV(ALS(max_iter=8, reg_param=0.01, seed=0), {"rank": [1, 2]}, cv=3).fit(R)
    assert s.best_params_ == {"rank": 2}
    assert s.cv_results_["mean_test_score"][1] > s.cv_results_["mean_test_score"][0]


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r"Invalid parameter 'alhpa' for estimator Ridge.*'alpha'"):
        GridSearchCV(Ridge(), {"alhpa": [1.0]}).fit(X, Y)
    with pytest.raises(ValueError, match="param_grid is empty"):
        GridSearchCV(Ridge(), {}).fit(X, Y)
    with pytest.raises(ValueError, match="param_grid is empty"):
        GridSearchCV(Ridge(), []).fit(X, Y)
    with pytest.raises(ValueError, match=r"param_grid\['alpha'\] must be a non-empty list"):
        GridSearchCV(Ridge(), {"alpha": []}).fit(X, Y)
    with pytest.raises(ValueError, match=r"unknown scoring 'acuracy' \(did you mean 'accuracy'\?\); accepted: "
                                         r"\[.*'neg_log_loss'.*\]"):
        GridSearchCV(Ridge(), ALPHAS, scoring="acuracy").fit(X, Y)
    with pytest.raises(ValueError, match="cv=5 folds need at least 5 row chunks, but X has 3 row chunk.*rechunk "
                                         "X into smaller row chunks.*or lower cv"):
        GridSearchCV(Ridge(), ALPHAS, cv=5).fit(chunked(X, rows=80), chunked(Y, rows=80))
    with pytest.raises(ValueError, match="cv=5 folds need at least 5 row chunks"):
        GridSearchCV(Ridge(), ALPHAS, cv=KFold(5)).fit(chunked(X, rows=80), chunked(Y, rows=80))
    with pytest.raises(ValueError, match="n_iter must be an integer >= 1"):
        RandomizedSearchCV(Ridge(), ALPHAS, n_iter=0).fit(X, Y)
    with pytest.raises(ValueError, match="factor must be a number > 1"):
        HalvingGridSearchCV(Ridge(), ALPHAS, factor=1).fit(X, Y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GridSearchCV(Ridge(), ALPHAS).fit(X, Y[:10])


def test_failed_fits_get_error_score_or_raise():
    from sklearn.exceptions import FitFailedWarning

    grid = {"alpha": [1.0, -1.0]}  # a negative alpha is refused by Ridge
    with pytest.warns(FitFailedWarning, match="3 of 6 fits failed"):
        s = GridSearchCV(Ridge(), grid, cv=3).fit(X, Y)
    assert np.isnan(s.cv_results_["mean_test_score"][1]) and s.cv_results_["rank_test_score"][1] == 2
    assert s.best_params_ == {"alpha": 1.0}
    with pytest.raises(ValueError, match="alpha"):
        GridSearchCV(Ridge(), grid, cv=3, error_score="raise").fit(X, Y)


def test_refit_false_and_delegation():
    s = GridSearchCV(Ridge(), ALPHAS, cv=3, refit=False).fit(X, Y)
    assert not hasattr(s, "best_estimator_") and not hasattr(s, "predict")
    s = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=3).fit(X, Y_CLASS)
    np.testing.assert_array_equal(s.classes_, [0, 1])
    assert hasattr(s, "predict_proba") and not hasattr(GridSearchCV(Ridge(), ALPHAS), "predict_proba")


# ---------------------------------------------------------------- on a real cluster (worker processes)
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        yield c


def _spans(stream, prefix):
    """``(worker, start, stop)`` of the tasks whose key starts with ``prefix``."""
    out = []
    for t in stream.data:
        if str(t["key"]).strip("('").startswith(prefix):
            compute = [s for s in t["startstops"] if s["action"] == "compute"]
            out += [(t["worker"], s["start"], s["stop"]) for s in compute]
    return out


@pytest.mark.slow
def test_numpy_fits_are_concurrent_tasks_on_the_cluster(client):
    import distributed

    with distributed.get_task_stream(client) as ts:
        ours = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3).fit(X, Y_CLASS)
    spans = _spans(ts, "_task")
    assert len(spans) == 12 and len({w for w, _, _ in spans}) == 2  # one task per (candidate, fold)
    spans.sort(key=lambda s: s[1])
    assert any(b[1] < a[2] for a, b in zip(spans, spans[1:]))  # some fits overlap in time
    ref = skms.GridSearchCV(sklm.LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3).fit(X, Y_CLASS)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-4)


@pytest.mark.slow
def test_chunked_fits_run_on_the_workers_from_persisted_data(client):
    import distributed

    Xt, yt = chunked(X), chunked(Y)
    with distributed.get_task_stream(client) as ts:
        ours = GridSearchCV(Ridge(), ALPHAS, cv=4, scoring="neg_mean_squared_error", n_jobs=2).fit(Xt, yt)
    assert len({t["worker"] for t in ts.data}) == 2
    name = Xt.to_dask().name  # X's chunks were made on the workers once (persisted), then read by every fit
    assert sum(name in str(t["key"]) for t in ts.data) == len(Xt.chunks[0])
    folds = list(KFold(4).split(Xt))
    ref = skms.GridSearchCV(sklm.Ridge(), ALPHAS, cv=folds, scoring="neg_mean_squared_error").fit(X, Y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-8)
    assert ours.best_params_ == ref.best_params_
