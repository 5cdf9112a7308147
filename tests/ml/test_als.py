"""ALS: equal to a dense NumPy ALS with the same start, accurate on low-rank data, implicit feedback, errors."""
import numpy as np
import pandas as pd
import pytest

import chunkflow as cf
from chunkflow.ml import ALS, load

rng = np.random.default_rng(0)
NU, NI, K, NOISE = 60, 40, 3, 0.1
U_TRUE, V_TRUE = rng.normal(size=(NU, K)), rng.normal(size=(NI, K))
MASK = rng.random((NU, NI)) < 0.5
UU, II = np.nonzero(MASK)
R_DENSE = U_TRUE @ V_TRUE.T + NOISE * rng.normal(size=(NU, NI))
USER_IDS, ITEM_IDS = np.arange(NU) * 3 + 5, np.arange(NI) * 2 + 1000  # sparse, arbitrary ids
RATINGS = np.c_[USER_IDS[UU], ITEM_IDS[II], R_DENSE[UU, II]][rng.permutation(len(UU))]


def reference_als(R, mask, rank, iters, reg, seed, implicit=False, alpha=1.0):
    """Dense ALS-WR (Spark's updates) on a users x items matrix: the items first, then the users."""
    U = np.random.default_rng(seed).normal(size=(R.shape[0], rank))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    V = np.zeros((R.shape[1], rank))

    def solve(F, Rm, M):  # rows of Rm (entities x others), M: which entries are ratings
        out = np.zeros((Rm.shape[0], rank))
        for j in range(Rm.shape[0]):
            r, m = Rm[j], M[j]
            if implicit:
                c1 = alpha * np.abs(r) * m
                p = (r > 0) & m
                A = F.T @ F + (F * c1[:, None]).T @ F + reg * p.sum() * np.eye(rank)
                b = F.T @ ((1 + c1) * p)
            else:
                Fm = F[m]
                A = Fm.T @ Fm + reg * m.sum() * np.eye(rank)
                b = Fm.T @ r[m]
            out[j] = np.linalg.solve(A, b)
        return out

    for _ in range(iters):
        V = solve(U, R.T, mask.T)
        U = solve(V, R, mask)
    return U, V


def chunked(a, rows=300):
    return cf.from_array(a, chunks=(rows, -1))


@pytest.mark.parametrize("make", [lambda a: a, chunked, lambda a: chunked(a).to_dask()],
                         ids=["numpy", "tensor", "dask"])
def test_explicit_equals_dense_reference(make):
    model = ALS(rank=K, max_iter=4, reg_param=0.05, seed=7).fit(make(RATINGS))
    U, V = reference_als(R_DENSE, MASK, K, 4, 0.05, 7)
    np.testing.assert_array_equal(model.user_ids_, USER_IDS)
    np.testing.assert_array_equal(model.item_ids_, ITEM_IDS)
    assert (model.n_users_, model.n_items_) == (NU, NI)
    np.testing.assert_allclose(model.user_factors_, U, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.item_factors_, V, rtol=0, atol=1e-8)


def test_implicit_equals_dense_reference():
    counts = np.where(MASK, rng.poisson(2.0, size=MASK.shape) - 0.5, 0.0)  # some negative "ratings" too
    rows = np.c_[USER_IDS[UU], ITEM_IDS[II], counts[UU, II]]
    model = ALS(rank=K, max_iter=3, reg_param=0.1, implicit_prefs=True, alpha=2.0, seed=1).fit(chunked(rows, 500))
    U, V = reference_als(counts, MASK, K, 3, 0.1, 1, implicit=True, alpha=2.0)
    np.testing.assert_allclose(model.user_factors_, U, rtol=0, atol=1e-8)
    np.testing.assert_allclose(model.item_factors_, V, rtol=0, atol=1e-8)
    # the preferences are ranked: items a user interacted with positively score above the rest on average
    S = model.user_factors_ @ model.item_factors_.T
    pos = (counts > 0)
    assert S[pos].mean() > S[~pos].mean() + 0.05


def test_held_out_rmse_near_noise_and_predict_kinds():
    n_test = 400
    test, train = RATINGS[:n_test], RATINGS[n_test:]
    model = ALS(rank=K, max_iter=15, reg_param=0.02, seed=0).fit(chunked(train))
    pred = model.predict(test[:, :2])
    known = ~np.isnan(pred)
    rmse = np.sqrt(np.mean((pred[known] - test[known, 2]) ** 2))
    assert rmse < 2 * NOISE, rmse
    assert abs(model.score(test) + rmse) < 1e-12
    lazy = model.predict(chunked(test, 150))
    assert isinstance(lazy, cf.Tensor)
    np.testing.assert_allclose(lazy.compute(), pred, equal_nan=True)
    assert abs(model.score(chunked(test, 150)) - model.score(test)) < 1e-12


def test_cold_start_nan_and_drop():
    model = ALS(rank=2, max_iter=2, seed=0).fit(RATINGS)
    pairs = np.array([[USER_IDS[0], ITEM_IDS[0]], [999_999, ITEM_IDS[0]], [USER_IDS[1], 7], [USER_IDS[2], ITEM_IDS[3]]])
    p = model.predict(pairs)
    assert np.isnan(p[1]) and np.isnan(p[2]) and not np.isnan(p[[0, 3]]).any()
    model.set_params(cold_start_strategy="drop")
    np.testing.assert_array_equal(model.predict(pairs), p[[0, 3]])
    lazy = model.predict(cf.from_array(pairs, chunks=(2, -1)))
    assert lazy.chunks[0] == (1, 1)  # the kept rows of each chunk are known before the values
    np.testing.assert_array_equal(lazy.compute(), p[[0, 3]])


def test_frame_and_dataframe_input_with_column_names():
    df = pd.DataFrame({"uid": RATINGS[:, 0].astype(np.int64), "movie": RATINGS[:, 1].astype(np.int64),
                       "stars": RATINGS[:, 2], "other": 1.0})
    kw = dict(rank=K, max_iter=3, seed=2, user_col="uid", item_col="movie", rating_col="stars")
    a = ALS(**kw).fit(df)
    b = ALS(**kw).fit(cf.from_pandas(df, npartitions=4))
    c = ALS(rank=K, max_iter=3, seed=2).fit(RATINGS)
    np.testing.assert_allclose(a.user_factors_, c.user_factors_, atol=1e-12)
    np.testing.assert_allclose(b.item_factors_, c.item_factors_, atol=1e-12)
    np.testing.assert_allclose(b.predict(df), c.predict(RATINGS[:, :2]), atol=1e-12)
    with pytest.raises(KeyError, match=r"column 'user' is not in the DataFrame; available columns: .*'uid'"):
        ALS().fit(df)


def test_recommendations():
    model = ALS(rank=K, max_iter=5, reg_param=0.05, seed=0).fit(RATINGS)
    items, scores = model.recommend_for_all_users(5)
    assert items.shape == scores.shape == (NU, 5)
    S = model.user_factors_ @ model.item_factors_.T
    np.testing.assert_allclose(scores, -np.sort(-S, axis=1)[:, :5], atol=1e-12)
    np.testing.assert_array_equal(items[:, 0], ITEM_IDS[np.argmax(S, axis=1)])
    one_items, one_scores = model.recommend_for_user(USER_IDS[4], 5)
    np.testing.assert_array_equal(one_items, items[4])
    users, _ = model.recommend_for_all_items(3)
    np.testing.assert_array_equal(users[:, 0], USER_IDS[np.argmax(S, axis=0)])
    with pytest.raises(ValueError, match="user 4 was not in the training data"):
        model.recommend_for_user(4)


def test_nonnegative_solves_the_constrained_normal_equations():
    model = ALS(rank=K, max_iter=3, reg_param=0.1, nonnegative=True, seed=0).fit(RATINGS)
    U, V = model.user_factors_, model.item_factors_
    assert (U >= 0).all() and (V >= 0).all() and (U > 0).any()
    # KKT for every user: the gradient A x - b is ~0 where x > 0 and >= 0 where x = 0
    for u in range(NU):
        m = MASK[u]
        A = V[m].T @ V[m] + 0.1 * m.sum() * np.eye(K)
        g = A @ U[u] - V[m].T @ R_DENSE[u, m]
        assert np.all(np.abs(g[U[u] > 0]) < 1e-6) and np.all(g[U[u] == 0] > -1e-6)


def test_save_load_round_trip(tmp_path):
    model = ALS(rank=K, max_iter=2, seed=0, cold_start_strategy="drop").fit(RATINGS)
    model.save(str(tmp_path / "als"))
    loaded = load(str(tmp_path / "als"))
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded.user_factors_, model.user_factors_)
    np.testing.assert_array_equal(loaded.item_ids_, model.item_ids_)
    np.testing.assert_array_equal(loaded.predict(RATINGS[:50]), model.predict(RATINGS[:50]))


def test_bad_input():
    bad = RATINGS.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"ratings column 'rating \(column 2\)' contains NaN"):
        ALS().fit(chunked(bad))
    df = pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [1.0, np.nan]})
    with pytest.raises(ValueError, match="ratings column 'rating' contains NaN"):
        ALS().fit(df)
    for value, shown in ((-3, "-3.0"), (1.5, "1.5")):
        bad = RATINGS.copy()
        bad[5, 0] = value
        with pytest.raises(ValueError, match=rf"ids in column 'user \(column 0\)' must be non-negative integers, "
                                             rf"found \[{shown}\]"):
            ALS().fit(chunked(bad))
    with pytest.raises(TypeError, match="column 'item' has dtype"):
        ALS().fit(pd.DataFrame({"user": [1], "item": ["a"], "rating": [1.0]}))
    with pytest.raises(ValueError, match=r"ALS expects \(n, 3\) rows of \[user, item, rating\]"):
        ALS().fit(np.ones((4, 2)))
    with pytest.raises(ValueError, match="rank must be an integer >= 1"):
        ALS(rank=0).fit(RATINGS)
    with pytest.raises(ValueError, match="cold_start_strategy must be 'nan' or 'drop'"):
        ALS(cold_start_strategy="zero").fit(RATINGS)


@pytest.mark.slow
def test_on_a_cluster_equals_local():
    distributed = pytest.importorskip("distributed")
    local = ALS(rank=K, max_iter=3, reg_param=0.05, seed=7).fit(chunked(RATINGS))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        with distributed.get_task_stream(c) as ts:
            remote = ALS(rank=K, max_iter=3, reg_param=0.05, seed=7).fit(chunked(RATINGS))
        assert len({t["worker"] for t in ts.data}) == 2
        assert any("normal_block" in str(t["key"]) for t in ts.data)
    np.testing.assert_allclose(remote.user_factors_, local.user_factors_, rtol=0, atol=1e-10)
