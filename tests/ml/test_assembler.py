"""VectorAssembler: table columns as a float matrix, first stage of a Pipeline; errors name the column."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression as SKLogistic
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler as SKScaler

import chunkflow as cf
from chunkflow.frame import ColumnNotFoundError
from chunkflow.ml import LogisticRegression, Pipeline, SimpleImputer, StandardScaler, VectorAssembler, load

rng = np.random.default_rng(0)
N = 200
DF = pd.DataFrame({"a": rng.normal(size=N), "b": rng.integers(0, 5, N), "flag": rng.random(N) > 0.5,
                   "name": np.array(["x", "y"])[rng.integers(0, 2, N)], "c": rng.normal(size=N) * 3})
Y = (DF.a - 0.3 * DF.b + 0.5 * rng.normal(size=N) > -0.6).astype(np.int64).to_numpy()


def frame(df=DF, parts=4):
    return cf.from_pandas(df, npartitions=parts)


def test_frame_gives_a_lazy_float_tensor_of_the_columns_in_order():
    f = frame()
    out = VectorAssembler(["c", "a", "flag"]).fit_transform(f)
    assert isinstance(out, cf.Tensor) and out.dtype == np.float64 and out.shape == (N, 3)
    assert out.chunks[0] == f.lengths
    np.testing.assert_array_equal(out.compute(), DF[["c", "a", "flag"]].to_numpy(dtype=float))
    nd = VectorAssembler(["c", "a", "flag"]).fit_transform(DF)
    assert isinstance(nd, np.ndarray)
    np.testing.assert_array_equal(nd, out.compute())
    one = VectorAssembler(["a"]).fit_transform(f)
    assert one.shape == (N, 1)
    np.testing.assert_array_equal(VectorAssembler(["a", "b"]).fit(f).get_feature_names_out(), ["a", "b"])


def test_first_stage_of_a_pipeline_matches_sklearn():
    cols = ["a", "b", "c"]
    model = Pipeline([("assemble", VectorAssembler(cols)), ("scale", StandardScaler()),
                      ("clf", LogisticRegression(tol=1e-10))]).fit(frame(), Y)
    ref = sk_make_pipeline(SKScaler(), SKLogistic(tol=1e-10, max_iter=1000)).fit(DF[cols].to_numpy(dtype=float), Y)
    proba = model.predict_proba(frame())
    assert isinstance(proba, cf.Tensor)
    np.testing.assert_allclose(proba.compute(), ref.predict_proba(DF[cols].to_numpy(dtype=float)), atol=1e-6)
    np.testing.assert_array_equal(model.predict(DF), np.asarray(model.predict(frame()).compute()))


def test_pipeline_with_assembler_round_trips(tmp_path):
    model = Pipeline([("assemble", VectorAssembler(["a", "c"])), ("clf", LogisticRegression())]).fit(DF, Y)
    model.save(str(tmp_path / "m"))
    loaded = load(str(tmp_path / "m"))
    assert loaded.steps[0][1].input_cols_ == ["a", "c"]
    np.testing.assert_array_equal(loaded.predict_proba(DF), model.predict_proba(DF))


def test_handle_invalid():
    df = DF.copy()
    df.loc[[3, 150], "a"] = np.nan
    f = frame(df)
    with pytest.raises(ValueError, match=r"column\(s\) \['a'\] contain missing values.*handle_invalid='skip'"):
        VectorAssembler(["a", "b"]).fit_transform(df)
    lazy = VectorAssembler(["a", "b"]).fit_transform(f)  # the values are only known when a chunk is computed
    with pytest.raises(ValueError, match=r"column\(s\) \['a'\] contain missing values"):
        lazy.compute()
    kept = VectorAssembler(["a", "b"], handle_invalid="keep").fit_transform(f).compute()
    assert np.isnan(kept[[3, 150], 0]).all()
    skipped = VectorAssembler(["a", "b"], handle_invalid="skip").fit_transform(f)
    assert skipped.shape == (N - 2, 2) and sum(skipped.chunks[0]) == N - 2
    np.testing.assert_array_equal(skipped.compute(), np.delete(kept, [3, 150], axis=0))
    np.testing.assert_array_equal(VectorAssembler(["a", "b"], handle_invalid="skip").fit_transform(df),
                                  skipped.compute())
    with pytest.raises(ValueError, match="would no longer line up with y"):
        VectorAssembler(["a"], handle_invalid="skip").fit(f, Y)
    imputed = Pipeline([("assemble", VectorAssembler(["a", "b"], handle_invalid="keep")),
                        ("impute", SimpleImputer()), ("clf", LogisticRegression())]).fit(f, Y)
    assert np.isfinite(imputed.predict_proba(f).compute()).all()


def test_errors_name_the_column():
    with pytest.raises(ColumnNotFoundError, match=r"column 'aa' is not in the table; available columns: "
                                                  r"\['a', 'b', 'flag', 'name', 'c'\]; did you mean 'a'\?"):
        VectorAssembler(["aa", "b"]).fit(frame())
    with pytest.raises(TypeError, match=r"column 'name' has dtype .* not numeric; encode it first: "
                                        r"frame.get_dummies\(\['name'\]\).*OneHotEncoder"):
        VectorAssembler(["a", "name"]).fit(DF)
    with pytest.raises(TypeError, match="column 'name' has dtype"):
        VectorAssembler(["name"]).fit(frame())
    with pytest.raises(TypeError, match="selects columns of a chunkflow Frame or a pandas DataFrame, got ndarray"):
        VectorAssembler(["a"]).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="handle_invalid must be one of"):
        VectorAssembler(["a"], handle_invalid="drop").fit(DF)
    fitted = VectorAssembler(["a", "b"]).fit(DF)
    with pytest.raises(ValueError, match=r"X has columns \['b', 'a'\], but this VectorAssembler was fitted on"):
        fitted.set_params(input_cols=["b", "a"]).transform(DF)
