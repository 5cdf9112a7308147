"""`chunkflow run` on every example, `predict` and `inspect` on what it writes (small local data, loopback S3)."""
import json
import os

import numpy as np
import pytest
import yaml

from chunkflow.cli import DEMO_SPEC, main

from .conftest import example


def run_json(capsys, *argv):
    code = main(["run", *argv, "--json", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.fixture(scope="module")
def demo_model(churn, tmp_path_factory):
    """The demo pipeline trained on the small churn sample: (model dir, result)."""
    out = str(tmp_path_factory.mktemp("demo") / "model")
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["run", example("demo.yaml"), "--json", "--quiet", "--set", f"data.url={churn}",
                     "--set", f"output.model={out}"])
    assert code == 0
    return out, json.loads(buf.getvalue())


def test_demo_pipeline_writes_a_complete_model_dir(demo_model):
    out, result = demo_model
    assert result["status"] == "ok" and result["task"] == "classification"
    assert set(result["metrics"]) == {"accuracy", "roc_auc", "log_loss"}
    assert 0.7 < result["metrics"]["roc_auc"] < 0.95 and 0.65 < result["metrics"]["accuracy"] < 0.9
    assert result["rows"] == {"train": 16_000, "test": 4_000} and result["features"] == 13
    assert result["graph_runs"] >= 3 and result["peak_rss_bytes"] > 0
    for name in ("_SUCCESS", "pipeline.json", "metrics.json", "report.html", "estimator/model.json"):
        assert os.path.exists(os.path.join(out, name)), name
    assert not os.path.exists(os.path.join(out, "_INCOMPLETE"))
    meta = json.load(open(os.path.join(out, "pipeline.json")))
    assert meta["input"]["categories"] == {"region": ["central", "east", "north", "south", "west"],
                                           "plan": ["basic", "premium", "standard"]}
    assert meta["input"]["label"] == "churned" and meta["kind"] == "estimator"
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    assert metrics["metrics"] == result["metrics"]
    page = open(os.path.join(out, "report.html")).read()
    assert page.count("data:image/png;base64,") == 4  # loss, ROC, confusion matrix, coefficients
    assert "<script" not in page


def test_the_saved_pipeline_includes_preprocessing(demo_model, churn):
    import chunkflow as cf
    from chunkflow.ml import load

    out, result = demo_model
    model = load(os.path.join(out, "estimator"))
    assert [name for name, _ in model.steps] == ["standard_scaler", "model"]
    coef = dict(zip(json.load(open(os.path.join(out, "pipeline.json")))["input"]["feature_names"],
                    model.steps[-1][1].coef_[0]))
    assert coef["monthly_spend"] < -0.8 and coef["tenure_months"] > 0.5  # the sample's known signal
    assert result["coefficients"]["monthly_spend"] == pytest.approx(coef["monthly_spend"])


def test_demo_yaml_and_embedded_spec_agree():
    with open(example("demo.yaml")) as f:
        assert yaml.safe_load(f) == DEMO_SPEC


def test_predict_writes_parquet_with_the_training_encoding(demo_model, churn, tmp_path, capsys):
    import chunkflow as cf
    from chunkflow.ml import load
    from chunkflow.pipeline.runner import build_inputs

    out, _ = demo_model
    dest = str(tmp_path / "scores")
    assert main(["predict", out, churn, dest, "--columns", "age", "region", "--quiet"]) == 0
    assert "wrote 20,000 rows" in capsys.readouterr().out
    assert os.path.exists(os.path.join(dest, "_SUCCESS"))
    scores = cf.read_parquet(dest).compute()
    assert list(scores.columns) == ["age", "region", "prediction", "probability"]
    assert scores["prediction"].dtype == np.int64 and len(scores) == 20_000
    source = cf.read_parquet(churn).compute()
    np.testing.assert_array_equal(scores["age"].to_numpy(), source["age"].to_numpy())
    np.testing.assert_array_equal(scores["region"].to_numpy(), source["region"].to_numpy())
    # the same numbers as the model applied in Python
    meta = json.load(open(os.path.join(out, "pipeline.json")))
    X, _ = build_inputs(cf.read_parquet(churn), meta["input"], with_label=False)
    proba = np.asarray(load(os.path.join(out, "estimator")).predict_proba(X).compute())[:, 1]
    np.testing.assert_allclose(scores["probability"].to_numpy(), proba, rtol=1e-12)
    np.testing.assert_array_equal(scores["prediction"].to_numpy(), (proba > 0.5).astype(int))
    assert main(["predict", out, churn, dest]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err


def test_predict_refuses_an_incomplete_model(demo_model, churn, tmp_path, capsys):
    import shutil

    out, _ = demo_model
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    os.remove(broken / "_SUCCESS")
    (broken / "_INCOMPLETE").write_bytes(b"")
    assert main(["predict", str(broken), churn, str(tmp_path / "scores")]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "incomplete" in line and "did not finish" in line and "run the pipeline again" in line
    assert not os.path.exists(tmp_path / "scores")
    assert main(["predict", str(tmp_path / "nothing"), churn, str(tmp_path / "scores")]) == 2


def test_inspect_dataset_and_model(demo_model, churn, capsys):
    out, _ = demo_model
    assert main(["inspect", churn]) == 0
    text = capsys.readouterr().out
    assert "parquet dataset: 20,000 rows, 4 files, 4 row groups, 4 partitions" in text
    assert "region" in text and "float64" in text
    assert main(["inspect", out, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "model" and info["complete"] and info["class"] == "Pipeline"
    assert info["steps"][-1]["class"] == "LogisticRegression" and info["steps"][-1]["params"]["C"] == 1.0
    assert set(info["metrics"]) == {"accuracy", "roc_auc", "log_loss"}
    assert main(["inspect", out]) == 0
    assert "LogisticRegression" in capsys.readouterr().out


def test_report_without_matplotlib(churn, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    out = tmp_path / "m"
    result = run_json(capsys, example("demo.yaml"), "--set", f"data.url={churn}", "--set", f"output.model={out}",
                      "--set", "split.test_fraction=0.5")
    page = (out / "report.html").read_text()
    assert "data:image/png" not in page and "matplotlib is not installed" in page
    assert result["metrics"]["accuracy"] > 0.6


def test_kmeans_example(churn, tmp_path, capsys):
    result = run_json(capsys, example("kmeans.yaml"), "--set", f"data.url={churn}", "--set",
                      f"output.model={tmp_path / 'km'}", "--set", "model.params.max_iter=10")
    assert result["task"] == "clustering" and result["metrics"]["inertia"] > 0
    assert result["features"] == 5


def test_linear_regression_example(churn, tmp_path, capsys):
    from chunkflow.ml import load

    out = tmp_path / "lr"
    result = run_json(capsys, example("linear_regression.yaml"), "--set", f"data.url={churn}", "--set",
                      f"output.model={out}")
    assert result["task"] == "regression" and result["metrics"]["r2"] > 0.95
    assert 9 < result["metrics"]["rmse"] < 11  # the sample's noise has std 10
    coef = result["coefficients"]
    assert coef["tenure_months"] == pytest.approx(3.0, abs=0.05)
    assert coef["monthly_spend"] == pytest.approx(1.5, abs=0.05)
    assert coef["plan=premium"] - coef["plan=basic"] == pytest.approx(40.0, abs=1.0)
    assert "Residuals" in (out / "report.html").read_text()


def test_mlp_adam_example(churn, tmp_path, capsys):
    out = tmp_path / "mlp"
    result = run_json(capsys, example("mlp_adam.yaml"), "--set", f"data.url={churn}", "--set",
                      f"output.model={out}", "--set", f"checkpoint={tmp_path / 'ck'}", "--set", "model.steps=30",
                      "--set", "checkpoint_every=10")
    assert result["task"] == "classification" and result["fit"]["iterations"] == 30
    assert result["metrics"]["roc_auc"] > 0.7
    meta = json.load(open(out / "pipeline.json"))
    assert meta["kind"] == "custom" and meta["custom"]["predict"] == "mlp_loss:predict"
    assert os.path.exists(tmp_path / "ck" / "LATEST")
    # scoring a custom model imports its code: only when asked
    assert main(["predict", str(out), churn, str(tmp_path / "s")]) == 2
    assert "--allow-code" in capsys.readouterr().err
    assert main(["predict", str(out), churn, str(tmp_path / "s"), "--allow-code", "--quiet"]) == 0
    import chunkflow as cf

    scores = cf.read_parquet(str(tmp_path / "s")).compute()
    assert list(scores.columns) == ["prediction", "probability"] and scores["probability"].between(0, 1).all()


def test_als_example(ratings, tmp_path, capsys):
    pytest.importorskip("chunkflow.ml.als", reason="chunkflow.ml.ALS is not there yet")
    result = run_json(capsys, example("als.yaml"), "--set", f"data.url={ratings}", "--set",
                      f"output.model={tmp_path / 'als'}", "--set", "model.params.max_iter=5")
    assert result["task"] == "recommendation" and result["metrics"]["rmse"] < 1.0


@pytest.mark.slow
def test_logistic_s3_example(s3, tmp_path, capsys):
    from chunkflow.pipeline.sample import make_sample

    bucket, options = s3
    data = f"{bucket}/churn"
    make_sample(data, rows=8_000, partitions=2, storage_options=options)
    flow = "{" + ", ".join(f"{k}: '{v}'" for k, v in options.items()) + "}"
    result = run_json(capsys, example("logistic_s3.yaml"), "--set", f"data.url={data}/", "--set",
                      f"data.storage_options={flow}", "--set", f"output.model={bucket}/models/churn")
    assert result["metrics"]["roc_auc"] > 0.7 and set(result["metrics"]) == {"accuracy", "roc_auc", "log_loss", "f1"}
    import s3fs

    fs = s3fs.S3FileSystem(**options)
    assert fs.exists(f"{bucket}/models/churn/_SUCCESS") and fs.exists(f"{bucket}/models/churn/report.html")
    out = f"{bucket}/scores"
    args = ["--storage-option", f"endpoint_url={options['endpoint_url']}", "--storage-option", "key=testing",
            "--storage-option", "secret=testing"]
    assert main(["predict", f"{bucket}/models/churn", data, out, "--quiet", *args]) == 0
    assert fs.exists(f"{out}/_SUCCESS")
    capsys.readouterr()
    assert main(["inspect", f"{bucket}/models/churn", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["complete"]
