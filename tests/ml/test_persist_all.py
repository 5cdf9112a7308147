"""Model files for every registered non-linear estimator and Pipeline: round trips and identical outputs.

Each estimator is fitted, saved to a local directory, loaded, and must give
the same learned attributes and exactly the same outputs (predict /
transform / predict_proba) on NumPy input and on chunked input. Pipelines
nest estimators; one round-trips through the loopback S3 server.
"""
import json
import os

import numpy as np
import pytest

import chunkflow as cf
from chunkflow.core.tensor import Tensor
from chunkflow.ml import load
from chunkflow.ml.als import ALS
from chunkflow.ml.assembler import VectorAssembler
from chunkflow.ml.cluster import KMeans, MiniBatchKMeans
from chunkflow.ml.decomposition import PCA, TruncatedSVD
from chunkflow.ml.logistic import LogisticRegression
from chunkflow.ml.naive_bayes import GaussianNB
from chunkflow.ml.pipeline import Pipeline, make_pipeline
from chunkflow.ml.encoders import OneHotEncoder
from chunkflow.ml.preprocessing import MaxAbsScaler, MinMaxScaler, PolynomialFeatures, SimpleImputer, StandardScaler

rng = np.random.default_rng(2)
N = 300
X = rng.normal(size=(N, 4)) + [0.0, 3.0, -1.0, 10.0]
Y_CLASS = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 3)  # numbers: chunked predict needs numeric classes
Y_STR = np.array(["a", "b", "c"])[Y_CLASS]
X_NAN = np.where(rng.random(X.shape) < 0.1, np.nan, X)
X_INT = rng.integers(0, 4, size=(N, 3)).astype(np.float64)
X_STR = np.array(["red", "green", "blue"], dtype=object)[rng.integers(0, 3, size=(N, 2))]

# (estimator, X, y, output methods); X chunked as (100, -1) must give the same outputs too
CASES = [
    (KMeans(n_clusters=3, random_state=0), X, None, ["predict", "transform"]),
    (KMeans(n_clusters=2, init=X[:2].copy(), n_init=1, random_state=0), X, None, ["predict"]),
    (MiniBatchKMeans(n_clusters=3, random_state=0), X, None, ["predict", "transform"]),
    (PCA(n_components=2, whiten=True), X, None, ["transform", "inverse_transform"]),
    (TruncatedSVD(n_components=2, random_state=0), X, None, ["transform"]),
    (GaussianNB(), X, Y_CLASS, ["predict", "predict_proba"]),
    (GaussianNB(priors=[0.2, 0.3, 0.5], var_smoothing=1e-3), X, Y_STR, ["predict_proba"]),
    (StandardScaler(), X, None, ["transform", "inverse_transform"]),
    (StandardScaler(with_mean=False), X, None, ["transform"]),
    (MinMaxScaler(feature_range=(-1, 2), clip=True), X, None, ["transform"]),
    (MaxAbsScaler(), X, None, ["transform"]),
    (SimpleImputer(), X_NAN, None, ["transform"]),
    (SimpleImputer(strategy="constant", fill_value=-7.0), X_NAN, None, ["transform"]),
    (OneHotEncoder(handle_unknown="ignore"), X_INT, None, ["transform"]),
    (PolynomialFeatures(degree=2), X, None, ["transform"]),
    # (user, item, rating) rows: ids are the rounded columns of X_INT; predict reads the first two columns
    (ALS(rank=2, max_iter=3, seed=0), np.c_[X_INT[:, :2], X[:, 0]], None, ["predict"]),
    (ALS(rank=2, max_iter=2, seed=0, implicit_prefs=True, cold_start_strategy="drop"),
     np.c_[X_INT[:, :2], np.abs(X[:, 0])], None, ["predict"]),
]


def chunked(a):
    return cf.from_array(a, chunks=(100, -1))


def outputs(model, method, x):
    out = getattr(model, method)(x)
    return np.asarray(out.compute() if isinstance(out, Tensor) else out)


def assert_same_state(a, b):
    """Same class, parameters and learned attributes (arrays equal in dtype, shape and values)."""
    assert type(a) is type(b)
    assert repr(a) == repr(b)
    learned = {k for k, v in vars(a).items() if k.endswith("_") and not isinstance(v, Tensor)}
    assert learned == {k for k in vars(b) if k.endswith("_")}
    for k in learned:
        v, w = getattr(a, k), getattr(b, k)
        if isinstance(v, np.ndarray):
            assert v.dtype == w.dtype and v.shape == w.shape, k
            np.testing.assert_array_equal(v, w, err_msg=k)
        elif isinstance(v, list):
            assert len(v) == len(w), k
            for vi, wi in zip(v, w):
                assert getattr(vi, "dtype", type(vi)) == getattr(wi, "dtype", type(wi)), k
                np.testing.assert_array_equal(vi, wi, err_msg=k)
        else:
            assert v == w or (v != v and w != w), k


def assert_same_outputs(a, b, methods, x):
    for xi in (x, chunked(x)):
        for method in methods:
            np.testing.assert_array_equal(outputs(a, method, xi), outputs(b, method, xi), err_msg=method)


def round_trip(model, url, **kw):
    model.save(url, **kw)
    return load(url, **kw)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[type(c[0]).__name__ for c in CASES])
def test_round_trip_local(i, tmp_path):
    est, x, y, methods = CASES[i]
    model = est.fit(x, y)
    loaded = round_trip(model, str(tmp_path / "model"))
    assert_same_state(model, loaded)
    xt = x if "inverse_transform" not in methods else model.transform(x)
    for method in methods:
        xi = xt if method == "inverse_transform" else x
        assert_same_outputs(model, loaded, [method], xi)


def test_lazy_attributes_are_not_saved(tmp_path):
    """KMeans fitted on chunked input has lazy labels_: the model saves without them."""
    model = KMeans(n_clusters=3, random_state=0).fit(chunked(X))
    assert isinstance(model.labels_, Tensor)
    loaded = round_trip(model, str(tmp_path / "model"))
    assert not hasattr(loaded, "labels_")
    assert "labels_" not in json.load(open(tmp_path / "model" / "model.json"))["model"]["attributes"]
    assert_same_state(model, loaded)
    assert_same_outputs(model, loaded, ["predict", "transform"], X)


def test_dask_attributes_are_not_saved(tmp_path):
    da = pytest.importorskip("dask.array")
    model = MiniBatchKMeans(n_clusters=3, random_state=0).fit(da.from_array(X, chunks=(100, -1)))
    assert hasattr(type(model.labels_), "__dask_graph__")
    loaded = round_trip(model, str(tmp_path / "model"))
    assert not hasattr(loaded, "labels_")
    assert_same_outputs(model, loaded, ["predict"], X)


def test_one_hot_string_categories_without_pickle(tmp_path):
    model = OneHotEncoder(categories=[["red", "green", "blue"], ["blue", "red", "green"]]).fit(X_STR)
    auto = OneHotEncoder().fit(X_STR)
    for m, name in ((model, "given"), (auto, "auto")):
        url = str(tmp_path / name)
        loaded = round_trip(m, url)
        for c, d in zip(m.categories_, loaded.categories_):
            assert d.dtype == c.dtype
            np.testing.assert_array_equal(c, d)
        np.testing.assert_array_equal(m.transform(X_STR), loaded.transform(X_STR))
        np.testing.assert_array_equal(loaded.inverse_transform(loaded.transform(X_STR)), X_STR)
        for root, _, files in os.walk(url):  # every array is a plain .npy readable without pickle
            for f in files:
                if f.endswith(".npy"):
                    assert np.load(os.path.join(root, f), allow_pickle=False).dtype != object


PIPELINES = [
    (lambda: Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5))]), Y_CLASS,
     ["predict", "predict_proba"]),
    (lambda: make_pipeline(PCA(n_components=3), KMeans(n_clusters=3, random_state=0)), None,
     ["predict", "transform"]),
    (lambda: make_pipeline(SimpleImputer(), MinMaxScaler(), PolynomialFeatures(), GaussianNB()), Y_CLASS,
     ["predict"]),
]


@pytest.mark.parametrize("i", range(len(PIPELINES)))
@pytest.mark.parametrize("fit_chunked", [False, True], ids=["fit_numpy", "fit_chunked"])
def test_pipeline_round_trip(i, fit_chunked, tmp_path):
    make, y, methods = PIPELINES[i]
    x = X_NAN if i == 2 else X
    yi = None if y is None else (cf.from_array(y, chunks=(100,)) if fit_chunked else y)
    model = make().fit(chunked(x) if fit_chunked else x, yi)
    loaded = round_trip(model, str(tmp_path / "model"))
    assert type(loaded) is Pipeline and [n for n, _ in loaded.steps] == [n for n, _ in model.steps]
    for (_, a), (_, b) in zip(model.steps, loaded.steps):
        assert_same_state(a, b)
    assert_same_outputs(model, loaded, methods, x)


def test_pipeline_round_trip_s3(s3):
    bucket, options = s3
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(chunked(X), Y_CLASS)
    loaded = round_trip(model, f"{bucket}/models/pipe", storage_options=options)
    for (_, a), (_, b) in zip(model.steps, loaded.steps):
        assert_same_state(a, b)
    assert_same_outputs(model, loaded, ["predict", "predict_proba"], X)


def test_vector_assembler_pipeline_round_trip(tmp_path):
    """A Pipeline whose first stage picks columns of a table: saved and loaded, same outputs on a Frame."""
    import pandas as pd

    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    model = Pipeline([("assemble", VectorAssembler(["d", "a"])), ("scale", StandardScaler()),
                      ("clf", LogisticRegression())]).fit(cf.from_pandas(df, npartitions=3), Y_CLASS)
    loaded = round_trip(model, str(tmp_path / "model"))
    for (_, a), (_, b) in zip(model.steps, loaded.steps):
        assert_same_state(a, b)
    for frame in (df, cf.from_pandas(df, npartitions=3)):
        np.testing.assert_array_equal(outputs(model, "predict_proba", frame), outputs(loaded, "predict_proba", frame))
