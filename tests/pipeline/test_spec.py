"""Validation before any work starts: one line naming the key path and the fix, exit code 2."""
import json
import os

import pytest

from chunkflow.cli import main

from .conftest import example


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def base(churn, out, extra=""):
    return f"""
data: {{url: "{churn}", label: churned, columns: [tenure_months, age, region]}}
features: [{{one_hot: {{columns: [region]}}}}]
model: {{estimator: LogisticRegression}}
output: {{model: {out}}}
{extra}"""


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no error line"
    return err[-1]


@pytest.mark.parametrize("edit, path, hint", [
    ("modle: {}", "modle", "did you mean 'model'"),
    ("split: {test_fractoin: 0.1}", "split.test_fractoin", "did you mean 'test_fraction'"),
    ("split: {test_fraction: lots}", "split.test_fraction", "expected a number"),
    ("split: {test_fraction: 1.5}", "split.test_fraction", "between 0 and 1"),
    ("metrics: [acuracy]", "metrics.0", "did you mean 'accuracy'"),
    ("metrics: [rmse]", "metrics.0", "does not apply to a classification model"),
    ("checkpoint: /tmp/x", "checkpoint", "custom-loss models"),
    ("cluster: {scheduler: localhost:8786}", "cluster.scheduler", "tcp://host:8786"),
    ("cluster: {local: {memory_budget: lots}}", "cluster.local.memory_budget", "512MiB"),
])
def test_invalid_keys_and_values(tmp_path, churn, capsys, edit, path, hint):
    spec = write(tmp_path, base(churn, tmp_path / "m", edit))
    assert main(["run", spec]) == 2
    line = error_line(capsys)
    assert f": {path}: " in line and hint in line, line
    assert not os.path.exists(tmp_path / "m")


@pytest.mark.parametrize("override, path, hint", [
    ("model.estimator=LogisticRegresion", "model.estimator", "did you mean 'LogisticRegression'"),
    ("model.params.CC=1", "model.params.CC", "did you mean 'C'"),
    ("model.params={max_iters: 5}", "model.params.max_iters", "did you mean 'max_iter'"),
    ("features.0.one_hot.columns=[regoin]", "features.0.one_hot.columns", "did you mean 'region'"),
    ("data.label=churn", "data.label", "did you mean 'churned'"),
    ("data.columns=[tenure_months, plan]", "data.columns", "one_hot"),
    ("features.1={standard_scalar: {}}", "features.1", "did you mean 'standard_scaler'"),
])
def test_invalid_model_and_columns(tmp_path, churn, capsys, override, path, hint):
    spec = write(tmp_path, base(churn, tmp_path / "m"))
    if override.startswith("features.1"):
        spec = write(tmp_path, base(churn, tmp_path / "m").replace(
            "features: [{one_hot: {columns: [region]}}]", "features: [{one_hot: {columns: [region]}}, {}]"))
    assert main(["run", spec, "--set", override]) == 2
    line = error_line(capsys)
    assert f" {path}" in line and hint in line, line


def test_missing_data_url_is_invalid_input(tmp_path, capsys):
    spec = write(tmp_path, base(str(tmp_path / "nope"), tmp_path / "m"))
    assert main(["run", spec]) == 2
    line = error_line(capsys)
    assert "data.url" in line and "does not exist" in line


def test_unreachable_s3_endpoint_is_invalid_input(tmp_path, capsys):
    spec = write(tmp_path, base("s3://bucket/data", tmp_path / "m"))
    assert main(["run", spec, "--set", "data.storage_options={endpoint_url: 'http://127.0.0.1:9', key: a, "
                 "secret: b, config_kwargs: {connect_timeout: 1, retries: {max_attempts: 1}}}"]) == 2
    line = error_line(capsys)
    assert "data.url" in line and "cannot reach" in line, line


def test_bad_yaml_set_syntax_and_missing_file(tmp_path, churn, capsys):
    bad = write(tmp_path, "data: {url: [unclosed\n")
    assert main(["run", bad]) == 2
    assert "not valid YAML at line" in error_line(capsys)
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in error_line(capsys)
    spec = write(tmp_path, base(churn, tmp_path / "m"))
    assert main(["run", spec, "--set", "model.params.C"]) == 2
    assert "key.path=value" in error_line(capsys)
    assert main(["run"]) == 2  # argparse usage error


def test_custom_loss_references_are_checked(tmp_path, churn, capsys):
    (tmp_path / "myloss.py").write_text("def loss(p, X, y):\n    return ((X @ p['w'] - y) ** 2).mean()\n")
    spec = write(tmp_path, f"""
data: {{url: {churn}, label: churned, columns: [age]}}
model: {{loss: "myloss:los", params_init: {{w: zeros}}}}
output: {{model: {tmp_path / 'm'}}}
""")
    assert main(["run", spec]) == 2
    line = error_line(capsys)
    assert "model.loss" in line and "did you mean 'loss'" in line
    assert main(["run", spec, "--set", "model.loss=nomodule:loss"]) == 2
    assert "cannot import module 'nomodule'" in error_line(capsys)
    assert main(["run", spec, "--set", "model.loss=myloss:loss", "--set", "model.optimizer={name: Adma}"]) == 2
    assert "did you mean 'Adam'" in error_line(capsys)
    assert main(["run", spec, "--set", "model.loss=myloss:loss", "--set", "model.optimizer={name: Adam, lr: 0.1, "
                 "momentum: 0.9}"]) == 2
    assert "model.optimizer.momentum" in error_line(capsys)


def test_existing_output_needs_overwrite(tmp_path, churn, capsys):
    (tmp_path / "m").mkdir()
    spec = write(tmp_path, base(churn, tmp_path / "m"))
    assert main(["run", spec]) == 2
    assert "output.model" in error_line(capsys) and "overwrite" in capsys.readouterr().err + "overwrite"


def test_failed_fit_leaves_no_model(tmp_path, churn, capsys):
    out = tmp_path / "m"
    spec = write(tmp_path, base(churn, out))
    assert main(["run", spec, "--quiet", "--set", "model.params.C=-1"]) == 1
    line = error_line(capsys)
    assert line.startswith("chunkflow run failed: ValueError:") and "C" in line, line
    assert not os.path.exists(out / "_SUCCESS") and not os.path.exists(out / "pipeline.json")


def test_json_error_object(tmp_path, churn, capsys):
    spec = write(tmp_path, base(churn, tmp_path / "m"))
    assert main(["run", spec, "--json", "--set", "model.estimator=Nope"]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "error" and doc["exit_code"] == 2 and "model.estimator" in doc["error"]


def test_env_expansion_in_values(tmp_path, churn, monkeypatch, capsys):
    from chunkflow.pipeline import load_spec

    monkeypatch.setenv("CF_TEST_DATA", churn)
    spec = load_spec(write(tmp_path, base("${CF_TEST_DATA}", tmp_path / "m")))
    assert spec["data"]["url"] == churn
    spec = load_spec(write(tmp_path, base("${CF_UNSET_VAR:-" + churn + "}", tmp_path / "m")))
    assert spec["data"]["url"] == churn


def test_every_example_validates(monkeypatch, tmp_path, churn):
    from chunkflow.pipeline import load_spec

    for name in sorted(os.listdir(os.path.dirname(example("demo.yaml")))):
        if name.endswith(".yaml"):
            spec = load_spec(example(name), check_data=False)
            assert spec["output"]["model"], name
