"""Model files: JSON + .npy round trips on local disk and a real loopback S3 server, and refusals."""
import json
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

import chunkflow as cf
from chunkflow.ml import (
    ElasticNet, GammaRegressor, Lasso, LinearRegression, LinearSVC, LogisticRegression, PoissonRegressor, Ridge,
    TweedieRegressor, load,
)
from chunkflow.ml import persist
from chunkflow.ml.persist import ModelFileError, from_state, register, to_state

rng = np.random.default_rng(1)
X = rng.normal(size=(120, 4))
Y_REG = X @ [1.0, -2.0, 0.5, 0.0] + 1.0 + 0.1 * rng.normal(size=120)
Y_CLASS = np.array(["a", "b", "c"])[rng.integers(0, 3, 120)]
Y_POS = np.exp(0.3 * X[:, 0]) + 0.1

MODELS = [
    (LinearRegression(), Y_REG), (Ridge(alpha=[1.0, 2.0]), np.c_[Y_REG, -Y_REG]), (Lasso(alpha=0.05), Y_REG),
    (ElasticNet(alpha=0.05, l1_ratio=0.2), Y_REG),
    (LogisticRegression(class_weight={"a": 2.0, "b": 1.0}, penalty="elasticnet", l1_ratio=0.5), Y_CLASS),
    (LogisticRegression(penalty=None), Y_CLASS == "a"), (LinearSVC(C=0.5), Y_CLASS),
    (PoissonRegressor(alpha=0.1), np.round(Y_POS)), (GammaRegressor(), Y_POS), (TweedieRegressor(power=1.5), Y_POS),
]


def fitted(i):
    est, y = MODELS[i]
    return est.fit(X, y)


def assert_same(a, b):
    assert type(a) is type(b)
    assert a.get_params() == b.get_params() or repr(a) == repr(b)
    for k, v in vars(a).items():
        if k.endswith("_"):
            w = getattr(b, k)
            if isinstance(v, np.ndarray):
                assert v.dtype == w.dtype and v.shape == w.shape, k
                np.testing.assert_array_equal(v, w, err_msg=k)
            else:
                assert v == w, k
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("i", range(len(MODELS)), ids=[type(m).__name__ for m, _ in MODELS])
def test_round_trip_local(i, tmp_path):
    model = fitted(i)
    url = str(tmp_path / "model")
    model.save(url)
    assert {"model.json", "_SUCCESS", "coef_.npy", "intercept_.npy"} <= set(os.listdir(url)) or \
        {"model.json", "_SUCCESS", "coef_.npy"} <= set(os.listdir(url))
    assert_same(model, load(url))


def test_all_linear_models_round_trip_through_s3(s3):
    """Every model above through S3 in one test (a single server, many directories)."""
    bucket, options = s3
    for i, (est, _) in enumerate(MODELS):
        model = fitted(i)
        model.save(f"{bucket}/all/{i}", storage_options=options)
        assert_same(model, load(f"{bucket}/all/{i}", storage_options=options))


def test_feature_names_and_lazy_predictions_survive(tmp_path):
    frame = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    model = LogisticRegression().fit(frame, Y_CLASS)
    model.save(str(tmp_path / "m"))
    back = load(str(tmp_path / "m"))
    assert back.feature_names_in_.dtype == object and list(back.feature_names_in_) == ["w", "x", "y", "z"]
    lazy = back.predict(cf.from_array(X, chunks=(50, -1)))
    np.testing.assert_array_equal(lazy.compute(), model.predict(frame))


def test_overwrite(tmp_path):
    url = str(tmp_path / "m")
    fitted(0).save(url)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fitted(2).save(url)
    fitted(2).save(url, overwrite=True)
    assert isinstance(load(url), Lasso)


def _doc(url):
    with open(os.path.join(url, "model.json")) as f:
        return json.load(f)


def _write_doc(url, doc):
    with open(os.path.join(url, "model.json"), "w") as f:
        json.dump(doc, f)


def test_unknown_class_is_refused(tmp_path):
    url = str(tmp_path / "m")
    fitted(0).save(url)
    doc = _doc(url)
    doc["model"]["class"] = "os.system"
    _write_doc(url, doc)
    with pytest.raises(ModelFileError, match="unknown model class 'os.system'"):
        load(url)


def test_newer_format_is_refused(tmp_path):
    url = str(tmp_path / "m")
    fitted(0).save(url)
    doc = _doc(url)
    doc["format_version"] = persist.FORMAT_VERSION + 1
    _write_doc(url, doc)
    with pytest.raises(ModelFileError, match="upgrade chunkflow"):
        load(url)


def test_tampered_and_truncated_arrays_are_refused(tmp_path):
    url = str(tmp_path / "m")
    fitted(4).save(url)
    path = os.path.join(url, "coef_.npy")
    data = open(path, "rb").read()
    tampered = bytearray(data)
    tampered[-1] ^= 0xFF
    open(path, "wb").write(bytes(tampered))
    with pytest.raises(ModelFileError, match="checksum"):
        load(url)
    open(path, "wb").write(data[:-8])
    with pytest.raises(ModelFileError, match="truncated or was modified"):
        load(url)
    os.remove(path)
    with pytest.raises(ModelFileError, match="missing"):
        load(url)


def test_pickled_array_is_refused_even_with_matching_checksum(tmp_path):
    """An object array written with pickle (and a forged checksum) is still not unpickled."""
    import hashlib
    import io

    url = str(tmp_path / "m")
    fitted(0).save(url)
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    open(os.path.join(url, "coef_.npy"), "wb").write(buf.getvalue())
    doc = _doc(url)
    doc["arrays"]["coef_"]["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    _write_doc(url, doc)
    with pytest.raises(ModelFileError, match="without pickle"):
        load(url)


def test_incomplete_or_missing_model(tmp_path):
    url = str(tmp_path / "m")
    fitted(0).save(url)
    os.remove(os.path.join(url, "_SUCCESS"))
    open(os.path.join(url, "_INCOMPLETE"), "w").close()
    with pytest.raises(ValueError, match="incomplete"):
        load(url)
    with pytest.raises(FileNotFoundError):
        load(str(tmp_path / "nothing"))
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ModelFileError, match="no model.json"):
        load(str(tmp_path / "empty"))


def test_unsafe_array_names_and_attributes_are_refused(tmp_path):
    url = str(tmp_path / "m")
    fitted(0).save(url)
    doc = _doc(url)
    doc["arrays"]["../evil"] = doc["arrays"].pop("coef_")
    _write_doc(url, doc)
    with pytest.raises(ModelFileError, match="unsafe name"):
        load(url)
    state, arrays = to_state(fitted(0))
    state["attributes"]["__class__"] = 1
    with pytest.raises(ModelFileError, match="not a learned attribute"):
        from_state(state, arrays)
    state, arrays = to_state(fitted(0))
    state["params"]["exec"] = "print('hi')"
    with pytest.raises(ModelFileError, match="parameters it does not have"):
        from_state(state, arrays)


def test_register_only_accepts_chunkflow_ml_classes():
    class Outside(BaseEstimator):
        pass

    with pytest.raises(ValueError, match="only chunkflow.ml"):
        register(Outside)
    with pytest.raises(TypeError, match="not a registered"):
        to_state(Outside())


class _Container(BaseEstimator):
    """A stand-in for Pipeline: nested estimators in a list of (name, estimator) tuples."""

    def __init__(self, steps=None, options=None):
        self.steps = steps
        self.options = options


_Container.__module__ = "chunkflow.ml._test_container"
register(_Container)


def test_nested_estimators_save_in_subdirectories(tmp_path):
    inner = [("ols", fitted(0)), ("clf", fitted(4))]
    outer = _Container(steps=inner, options={1: np.float64, "nan": float("nan"), "t": (1, "x")})
    outer.weights_ = np.arange(3.0)
    state, arrays = to_state(outer)
    assert "params/steps/0/1/coef_" in arrays and "params/steps/1/1/classes_" in arrays
    url = str(tmp_path / "pipe")
    persist.save(outer, url)
    assert os.path.exists(os.path.join(url, "params", "steps", "1", "1", "coef_.npy"))
    back = load(url)
    assert isinstance(back, _Container) and back.steps[0][0] == "ols"
    assert_same(inner[1][1], back.steps[1][1])
    assert back.options[1] is np.float64 and np.isnan(back.options["nan"]) and back.options["t"] == (1, "x")
    np.testing.assert_array_equal(back.weights_, outer.weights_)


def test_unstorable_values_are_refused():
    est = LinearRegression()
    est.fit(X, Y_REG)
    est.callback_ = lambda: None
    with pytest.raises(TypeError, match="without pickle"):
        to_state(est)


def test_load_in_a_fresh_process_imports_the_estimator_modules(tmp_path):
    """Estimator modules load lazily; a process that only calls load() still finds every class."""
    import subprocess
    import sys

    from chunkflow.ml import LogisticRegression, OneHotEncoder, Pipeline, StandardScaler

    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    model = Pipeline([("s", StandardScaler()), ("c", LogisticRegression())]).fit(X, y)
    model.save(str(tmp_path / "m"))
    OneHotEncoder().fit(np.array([[1], [2], [2]])).save(str(tmp_path / "e"))
    code = ("import sys, numpy as np; from chunkflow.ml import load; m = load(sys.argv[1]); e = load(sys.argv[2]); "
            "print(m.predict(np.load(sys.argv[3])).tolist(), e.categories_[0].tolist())")
    np.save(tmp_path / "X.npy", X)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m"), str(tmp_path / "e"),
                          str(tmp_path / "X.npy")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"{model.predict(X).tolist()} [1, 2]"
