"""Scalers, imputer, encoder and polynomial features against scikit-learn, on NumPy and chunked input."""
import numpy as np
import pytest
from sklearn import impute as skimpute
from sklearn import preprocessing as skp

import chunkflow as cf
from chunkflow.ml import (
    MaxAbsScaler, MinMaxScaler, OneHotEncoder, PolynomialFeatures, SimpleImputer, StandardScaler,
)
from chunkflow.ml.base import NotFittedError
from tests.core.test_lower import ChunkCounter

CHUNKS = [(57, -1), (10, -1), (7, 2)]  # one chunk; regular with a short last; split columns too


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    a = rng.normal(3.0, 2.0, size=(57, 4))
    a[:, 2] = 1.5  # a constant column: scale 1
    a[:, 3] *= 1e3
    return a


SCALERS = [
    (StandardScaler, skp.StandardScaler, {}),
    (StandardScaler, skp.StandardScaler, {"with_mean": False}),
    (StandardScaler, skp.StandardScaler, {"with_std": False}),
    (MinMaxScaler, skp.MinMaxScaler, {"feature_range": (-1, 2)}),
    (MaxAbsScaler, skp.MaxAbsScaler, {}),
]
ATTRS = ["mean_", "var_", "scale_", "min_", "data_min_", "data_max_", "data_range_", "max_abs_", "n_samples_seen_"]


@pytest.mark.parametrize("ours, theirs, kw", SCALERS)
@pytest.mark.parametrize("chunks", CHUNKS)
def test_scalers_match_sklearn(data, ours, theirs, kw, chunks):
    ref = theirs(**kw).fit(data)
    for X in (data, cf.from_array(data, chunks=chunks)):
        m = ours(**kw).fit(X)
        for attr in ATTRS:
            if hasattr(ref, attr) and getattr(ref, attr) is not None:
                np.testing.assert_allclose(getattr(m, attr), getattr(ref, attr), rtol=1e-12, atol=1e-12)
        out = m.transform(X)
        assert isinstance(out, np.ndarray if X is data else cf.Tensor)
        np.testing.assert_allclose(np.asarray(out), ref.transform(data), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(m.inverse_transform(out)), data, rtol=1e-12, atol=1e-9)


def test_standard_scaler_fit_is_one_pass(data):
    c = ChunkCounter(data, chunks=(10, 4))
    StandardScaler().fit(c.tensor)
    assert set(c.reads.values()) == {1} and len(c.reads) == c.nchunks


def test_scalers_reject_nan_naming_the_column(data):
    bad = data.copy()
    bad[5, 1] = np.nan
    for X in (bad, cf.from_array(bad, chunks=(10, -1))):
        with pytest.raises(ValueError, match=r"NaN or inf in column\(s\) \[1\]"):
            StandardScaler().fit(X)


def test_bad_input_errors(data):
    with pytest.raises(NotFittedError):
        StandardScaler().transform(data)
    m = StandardScaler().fit(cf.from_array(data, chunks=(10, -1)))
    with pytest.raises(ValueError, match="3 features.*expecting 4"):
        m.transform(cf.from_array(data[:, :3], chunks=(10, -1)))
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler(feature_range=(2, 1)).fit(data)


def test_dask_input_gives_dask_output(data):
    import dask.array as da

    out = StandardScaler().fit(da.from_array(data, chunks=(10, 4))).transform(da.from_array(data, chunks=(10, 4)))
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(out.compute(), skp.StandardScaler().fit_transform(data), atol=1e-12)


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_simple_imputer_matches_sklearn(strategy):
    rng = np.random.default_rng(1)
    a = np.round(rng.normal(size=(40, 3)), 1)
    a[rng.random(a.shape) < 0.25] = np.nan
    ref = skimpute.SimpleImputer(strategy=strategy, fill_value=-7.0).fit(a)
    for X in [a, cf.from_array(a, chunks=(9, -1))]:
        m = SimpleImputer(strategy=strategy, fill_value=-7.0).fit(X)
        np.testing.assert_allclose(m.statistics_, np.asarray(ref.statistics_, dtype=float), rtol=1e-12)
        np.testing.assert_allclose(np.asarray(m.transform(X)), ref.transform(a), rtol=1e-12)


def test_simple_imputer_median_of_chunked_input_is_exact_in_column_groups():
    rng = np.random.default_rng(2)
    a = np.round(rng.normal(size=(61, 4)), 2)
    a[rng.random(a.shape) < 0.2] = -1.0
    a[:, 2] = -1.0  # all missing: dropped, as scikit-learn
    ref = skimpute.SimpleImputer(strategy="median", missing_values=-1.0).fit(a)
    with cf.config.set(memory_budget=4 * 8 * 61 * 2):  # two columns per group: two passes
        m = SimpleImputer(strategy="median", missing_values=-1.0).fit(cf.from_array(a, chunks=(17, -1)))
    np.testing.assert_allclose(m.statistics_[[0, 1, 3]], ref.statistics_[[0, 1, 3]], rtol=1e-12)
    np.testing.assert_allclose(m.transform(cf.from_array(a, chunks=(17, -1))).compute(), ref.transform(a))


def test_simple_imputer_drops_empty_columns_and_other_missing_marker():
    a = np.array([[1.0, np.nan, -1], [3.0, np.nan, 4], [-1, np.nan, 6]])
    ref = skimpute.SimpleImputer().fit(a)
    np.testing.assert_allclose(SimpleImputer().fit(a).transform(a), ref.transform(a))
    ref = skimpute.SimpleImputer(missing_values=-1).fit(np.nan_to_num(a))
    m = SimpleImputer(missing_values=-1).fit(cf.from_array(np.nan_to_num(a), chunks=(2, -1)))
    np.testing.assert_allclose(m.statistics_, ref.statistics_)


@pytest.mark.parametrize("handle_unknown", ["error", "ignore"])
def test_one_hot_encoder_matches_sklearn(handle_unknown):
    rng = np.random.default_rng(2)
    a = rng.integers(0, 4, size=(30, 2)) * np.array([1, 10])
    ref = skp.OneHotEncoder(sparse_output=False, handle_unknown=handle_unknown).fit(a)
    for X in (a, cf.from_array(a, chunks=(7, -1))):
        m = OneHotEncoder(handle_unknown=handle_unknown).fit(X)
        assert all((c == r).all() for c, r in zip(m.categories_, ref.categories_))
        np.testing.assert_array_equal(np.asarray(m.transform(X)), ref.transform(a))
    unseen = np.array([[99, 0]])
    if handle_unknown == "ignore":
        np.testing.assert_array_equal(m.transform(unseen), ref.transform(unseen))
    else:
        with pytest.raises(ValueError, match="unknown categories"):
            m.transform(unseen)
        with pytest.raises(ValueError, match="unknown categories"):
            m.transform(cf.from_array(unseen, chunks=(1, -1))).compute()


def test_one_hot_encoder_strings_and_sparse_refused():
    a = np.array([["a", "x"], ["b", "y"], ["a", "y"]], dtype=object)
    ref = skp.OneHotEncoder(sparse_output=False).fit(a)
    m = OneHotEncoder().fit(a)
    np.testing.assert_array_equal(m.transform(a), ref.transform(a))
    assert list(m.get_feature_names_out()) == list(ref.get_feature_names_out())
    np.testing.assert_array_equal(m.inverse_transform(m.transform(a)), a)
    with pytest.raises(ValueError, match="sparse_output=False"):
        OneHotEncoder(sparse_output=True).fit(a)


@pytest.mark.parametrize("kw", [{}, {"interaction_only": True}, {"degree": 3, "include_bias": False}])
def test_polynomial_features_match_sklearn(data, kw):
    ref = skp.PolynomialFeatures(**kw).fit(data)
    for X in (data, cf.from_array(data, chunks=(10, -1))):
        m = PolynomialFeatures(**kw).fit(X)
        np.testing.assert_array_equal(m.powers_, ref.powers_)
        np.testing.assert_allclose(np.asarray(m.transform(X)), ref.transform(data), rtol=1e-12)
    assert list(m.get_feature_names_out()) == list(ref.get_feature_names_out())


@pytest.fixture(scope="module")
def mixed_frame():
    import pandas as pd

    rng = np.random.default_rng(5)
    return pd.DataFrame({"color": rng.choice(["red", "green", "blue"], 60), "size": rng.choice([1, 2, 3], 60),
                         "ok": rng.choice(["y", "n"], 60),
                         "kind": pd.Categorical(rng.choice(["x", "z"], 60))})


@pytest.mark.parametrize("drop", [None, "first", "if_binary", ["red", 2, "n", "z"]])
def test_one_hot_encoder_on_a_frame_of_mixed_columns(mixed_frame, drop):
    df = mixed_frame
    ref = skp.OneHotEncoder(sparse_output=False, drop=drop).fit(df)
    frame = cf.from_pandas(df, npartitions=3)
    for X in (df, frame):
        m = OneHotEncoder(drop=drop).fit(X)
        for ours, theirs in zip(m.categories_, ref.categories_):
            assert [str(v) for v in ours] == [str(v) for v in theirs]
        out = m.transform(X)
        if X is frame:  # lazy, with the Frame's row chunks
            assert isinstance(out, cf.Tensor) and out.chunks[0] == frame.to_tensor(["size"]).chunks[0]
        np.testing.assert_array_equal(np.asarray(out.compute() if X is frame else out), ref.transform(df))
        assert list(m.get_feature_names_out()) == list(ref.get_feature_names_out())
        np.testing.assert_array_equal(m.inverse_transform(out).astype(str),
                                      ref.inverse_transform(ref.transform(df)).astype(str))
        if drop is not None:
            assert [None if v is None else int(v) for v in m.drop_idx_] == \
                [None if v is None else int(v) for v in ref.drop_idx_]


def test_one_hot_encoder_string_tensor_and_frame_name_checks(mixed_frame):
    df = mixed_frame[["color", "ok"]]
    t = cf.from_array(df.to_numpy().astype(str), chunks=(25, -1))
    ref = skp.OneHotEncoder(sparse_output=False).fit(df)
    np.testing.assert_array_equal(OneHotEncoder().fit(t).transform(t).compute(), ref.transform(df))
    m = OneHotEncoder().fit(cf.from_pandas(df))
    with pytest.raises(ValueError, match="feature names should match"):
        m.transform(cf.from_pandas(df[["ok", "color"]]))
    bad = df.copy()
    bad.loc[3, "color"] = None
    with pytest.raises(ValueError, match="NaN in column 0"):
        OneHotEncoder().fit(cf.from_pandas(bad))


def test_scaler_refuses_a_frame_with_reordered_columns():
    import pandas as pd

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 7.0]})
    m = StandardScaler().fit(cf.from_pandas(df))
    assert list(m.feature_names_in_) == ["a", "b"]
    with pytest.raises(ValueError, match="feature names should match"):
        m.transform(cf.from_pandas(df[["b", "a"]]))
    np.testing.assert_allclose(m.transform(cf.from_pandas(df)).compute(), skp.StandardScaler().fit_transform(df))
