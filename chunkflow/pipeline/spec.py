"""Pipeline files: read the YAML, apply ``--set`` overrides, validate everything up front.

A spec is checked against :data:`SCHEMA` (a nested dict: a key maps to a
type, a tuple of allowed strings, ``[type]`` for a list, or a nested dict
for a section), then the parts that need more than a type: the estimator
name and its parameters (against ``get_params()``), feature stages,
optimizer, custom ``module:function`` references (imported with the YAML
file's folder first on ``sys.path``), metrics for the model's task, and the
data URL (checked with fsspec, nothing read). Every problem raises
:class:`SpecError` with the key path and the fix, so the command can print
one line and exit with code 2 before any work starts.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import os
import re
import sys

import yaml

__all__ = ["SpecError", "Spec", "load_spec", "apply_override", "SCHEMA", "estimator_class", "task_of",
           "resolve_function", "METRICS", "STAGES"]

SCHEMA = {
    "name": str,
    "data": {"url": str, "format": ("parquet", "csv", "npy"), "columns": [str], "filters": list,
             "label": (str, int), "storage_options": dict},
    "split": {"test_fraction": float, "seed": int, "test_url": str},
    "features": list,
    "model": {"estimator": str, "params": dict, "loss": str, "params_init": (dict, str), "optimizer": dict,
              "steps": int, "batch": int, "tol": float, "seed": int, "predict": str,
              "task": ("classification", "regression")},
    "metrics": [str],
    "output": {"model": str, "metrics": str, "report": str, "overwrite": bool},
    "cluster": {"local": {"n_workers": int, "threads_per_worker": int, "memory_budget": (str, int)},
                "scheduler": str},
    "checkpoint": str,
    "checkpoint_every": int,
    "resume": bool,
}

# metric -> the tasks it applies to; the defaults per task come first in this order
METRICS = {
    "accuracy": ("classification",), "roc_auc": ("classification",), "log_loss": ("classification",),
    "precision": ("classification",), "recall": ("classification",), "f1": ("classification",),
    "rmse": ("regression", "recommendation"), "mae": ("regression", "recommendation"),
    "r2": ("regression",), "mse": ("regression", "recommendation"),
    "inertia": ("clustering",), "explained_variance": ("decomposition",),
}
DEFAULT_METRICS = {
    "classification": ["accuracy", "roc_auc", "log_loss"], "regression": ["rmse", "mae", "r2"],
    "clustering": ["inertia"], "decomposition": ["explained_variance"], "recommendation": ["rmse", "mae"],
}
# feature stage -> chunkflow.ml class (None: done by the pipeline on the table, see features.py)
STAGES = {
    "one_hot": None, "standard_scaler": "StandardScaler", "min_max_scaler": "MinMaxScaler",
    "max_abs_scaler": "MaxAbsScaler", "impute": "SimpleImputer", "polynomial": "PolynomialFeatures",
}
_ONE_HOT = {"columns": [str]}
_NOT_ESTIMATORS = {"Pipeline", "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "SimpleImputer", "OneHotEncoder",
                   "PolynomialFeatures"}
_OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS")


class SpecError(ValueError):
    """An invalid pipeline file: ``path`` is the key path (``model.params.C``), the message says the fix."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclasses.dataclass
class Spec:
    """A validated pipeline: the document with defaults filled in, and where it came from."""

    doc: dict
    source: str            # the YAML file ('<string>' when built from a dict)
    base_dir: str          # custom modules are imported from here first
    task: str              # classification, regression, clustering, decomposition, recommendation

    def __getitem__(self, key):
        return self.doc[key]


# ---------------------------------------------------------------- loading
def load_spec(path_or_doc, overrides=(), scheduler=None, check_data=True) -> Spec:
    """The validated :class:`Spec` of a YAML file (or dict), with ``key.path=value`` overrides applied."""
    if isinstance(path_or_doc, dict):
        doc, source, base = path_or_doc, "<string>", os.getcwd()
    else:
        source = os.fspath(path_or_doc)
        if not os.path.isfile(source):
            raise SpecError("", f"pipeline file {source!r} does not exist; give the path of a YAML file "
                                f"(see examples/)")
        with open(source) as f:
            try:
                doc = yaml.safe_load(f)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                raise SpecError("", f"{source} is not valid YAML{where}: "
                                    f"{getattr(e, 'problem', None) or e}") from None
        base = os.path.dirname(os.path.abspath(source))
    if not isinstance(doc, dict):
        raise SpecError("", f"{source} must hold a mapping of keys (data, model, output, ...), "
                            f"got {type(doc).__name__}")
    doc = _expand_env(doc)
    for item in overrides:
        apply_override(doc, item)
    if scheduler:
        doc["cluster"] = {"scheduler": scheduler}
    _check(doc, SCHEMA, "")
    task = _check_model(doc, base)
    _check_features(doc.get("features") or [])
    _fill_defaults(doc, task)
    _check_metrics(doc, task)
    _check_rest(doc)
    if check_data:
        check_url(doc["data"]["url"], doc["data"].get("storage_options"), "data.url")
        if doc["split"].get("test_url"):
            check_url(doc["split"]["test_url"], doc["data"].get("storage_options"), "split.test_url")
    return Spec(doc, source, base, task)


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand_env(node):
    """A copy of ``node`` with ``${VAR}`` / ``${VAR:-default}`` in strings replaced from the environment."""
    if isinstance(node, dict):
        return {k: _expand_env(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v) for v in node]
    if isinstance(node, str) and "${" in node:
        def sub(m):
            value = os.environ.get(m.group(1), m.group(2))
            if value is None:
                raise SpecError("", f"{node!r} uses ${{{m.group(1)}}}, which is not set; set it in the "
                                    f"environment or write ${{{m.group(1)}:-default}}")
            return value
        return _ENV.sub(sub, node)
    return node


def apply_override(doc: dict, item: str):
    """Set ``doc[a][b][c] = value`` for ``"a.b.c=value"`` (value parsed as YAML; list indices as numbers)."""
    if not isinstance(item, str) or "=" not in item:
        raise SpecError("--set", f"{item!r} is not key.path=value (e.g. --set model.params.C=0.5)")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".")]
    if not all(parts):
        raise SpecError("--set", f"{key!r} is not a dotted key path (e.g. model.params.C)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node = doc
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[:i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SpecError(f"--set {key}", f"{where!r}: {'.'.join(parts[:i]) or 'the root'} is a list of "
                                                f"{len(node)}; use an index 0..{len(node) - 1}")
            part = int(part)
        elif not isinstance(node, dict):
            raise SpecError(f"--set {key}", f"{'.'.join(parts[:i])!r} is a {type(node).__name__}, not a section")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}
            node = node[part]


# ---------------------------------------------------------------- generic checks
def _type_name(t) -> str:
    if isinstance(t, dict):
        return "a mapping"
    if isinstance(t, list):
        return f"a list of {_type_name(t[0])}s"
    if isinstance(t, tuple) and all(isinstance(x, str) for x in t):
        return "one of " + ", ".join(t)
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {str: "a string", int: "an integer", float: "a number", bool: "true/false", list: "a list",
            dict: "a mapping"}[t]


def _unknown_key(key, allowed, path):
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SpecError(path, f"unknown key {key!r}{hint} (allowed here: {', '.join(allowed)})")


def _check(value, schema, path):
    """Raise SpecError if ``value`` does not fit ``schema`` (see module docstring)."""
    if value is None:
        return
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise SpecError(path or "<root>", f"expected {_type_name(schema)} with keys "
                                              f"{', '.join(schema)}, got {value!r}")
        for key, sub in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in schema:
                _unknown_key(key, schema, where)
            _check(sub, schema[key], where)
        return
    if isinstance(schema, list):
        if not isinstance(value, list) or not all(_fits(v, schema[0]) for v in value):
            raise SpecError(path, f"expected {_type_name(schema)}, got {value!r}")
        return
    if isinstance(schema, tuple) and all(isinstance(x, str) for x in schema):
        if value not in schema:
            close = difflib.get_close_matches(str(value), schema, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(path, f"{value!r} is not one of {', '.join(schema)}{hint}")
        return
    if not _fits(value, schema):
        raise SpecError(path, f"expected {_type_name(schema)}, got {value!r} ({type(value).__name__})")


def _fits(value, t) -> bool:
    if isinstance(t, tuple):
        return any(_fits(value, x) for x in t)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, t)


# ---------------------------------------------------------------- model
def estimator_names() -> list:
    """Names of the chunkflow.ml estimators a pipeline can fit."""
    import chunkflow.ml as ml

    names = [n for n in ml.__all__ if n[:1].isupper() and n not in _NOT_ESTIMATORS and not n.endswith("SearchCV")]
    out = []
    for n in names:
        try:
            cls = getattr(ml, n)
        except (AttributeError, ImportError):  # an optional estimator whose dependencies are missing
            continue
        # predictors, plus the decompositions (fit + transform, judged by their reduced output)
        if isinstance(cls, type) and hasattr(cls, "fit") and (hasattr(cls, "predict") or n in ("PCA", "TruncatedSVD")):
            out.append(n)
    return sorted(out)


def estimator_class(name, path="model.estimator"):
    """The chunkflow.ml class called ``name``; SpecError listing close names if there is none."""
    names = estimator_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise SpecError(path, f"unknown estimator {name!r}{hint} (chunkflow.ml has: {', '.join(names)})")
    import chunkflow.ml as ml

    return getattr(ml, name)


def task_of(est_or_cls) -> str:
    """classification, regression, clustering, decomposition or recommendation."""
    cls = est_or_cls if isinstance(est_or_cls, type) else type(est_or_cls)
    from sklearn.base import ClassifierMixin, ClusterMixin, RegressorMixin

    if cls.__name__ == "ALS":
        return "recommendation"
    if issubclass(cls, ClassifierMixin):
        return "classification"
    if issubclass(cls, RegressorMixin):
        return "regression"
    if issubclass(cls, ClusterMixin) or "KMeans" in cls.__name__:
        return "clustering"
    return "decomposition"


def check_params(cls, params, path):
    """Raise SpecError for a parameter that ``cls`` does not have (checked against ``get_params()``)."""
    allowed = sorted(cls().get_params(deep=False))
    for key in params or {}:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"{path}.{key}", f"{cls.__name__} has no parameter {key!r}{hint} "
                                             f"(parameters: {', '.join(allowed)})")


def resolve_function(ref, base_dir, path):
    """The function named by ``"module:function"``, the module imported with ``base_dir`` first on sys.path."""
    if not isinstance(ref, str) or ref.count(":") != 1 or not all(ref.split(":")):
        raise SpecError(path, f"expected 'module:function' (e.g. 'mlp_loss:loss'), got {ref!r}")
    module_name, func_name = ref.split(":")
    added = base_dir not in sys.path
    if added:
        sys.path.insert(0, base_dir)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SpecError(path, f"cannot import module {module_name!r} ({e}); put {module_name}.py next to the "
                              f"pipeline file ({base_dir}) or on PYTHONPATH") from None
    except Exception as e:
        raise SpecError(path, f"importing {module_name!r} failed: {type(e).__name__}: {e}") from None
    finally:
        if added:
            sys.path.remove(base_dir)
    func = getattr(module, func_name, None)
    if not callable(func):
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        close = difflib.get_close_matches(func_name, names, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(path, f"module {module_name!r} has no function {func_name!r}{hint}")
    return func


def optimizer_from(doc, path="model.optimizer"):
    """The chunkflow.ml optimizer that ``{name: Adam, lr: 0.01, ...}`` describes."""
    from chunkflow.ml import optim
    from chunkflow.ml.lbfgs import LBFGS

    doc = dict(doc or {"name": "Adam", "lr": 0.01})
    name = doc.pop("name", None)
    if name not in _OPTIMIZERS:
        close = difflib.get_close_matches(str(name), _OPTIMIZERS, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"{path}.name", f"unknown optimizer {name!r}{hint} (one of {', '.join(_OPTIMIZERS)})")
    cls = LBFGS if name == "LBFGS" else getattr(optim, name)
    allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"{path}.{key}", f"{name} has no parameter {key!r}{hint} (parameters: "
                                             f"{', '.join(allowed)})")
    try:
        return cls(**doc)
    except (TypeError, ValueError) as e:
        raise SpecError(path, f"{name}({', '.join(f'{k}={v!r}' for k, v in doc.items())}) is invalid: {e}") \
            from None


def _check_model(doc, base_dir) -> str:
    model = doc.get("model")
    if not model:
        raise SpecError("model", "missing; give {estimator: LogisticRegression, params: {...}} or a custom "
                                 "{loss: 'module:function', params_init: ...}")
    if ("estimator" in model) == ("loss" in model):
        raise SpecError("model", "give exactly one of 'estimator' (a chunkflow.ml estimator) or 'loss' (a "
                                 "custom 'module:function' trained with chunkflow.ml.minimize)")
    if "estimator" in model:
        custom_only = [k for k in ("loss", "params_init", "optimizer", "steps", "batch", "tol", "predict",
                                   "task") if k in model]
        if custom_only:
            raise SpecError(f"model.{custom_only[0]}", "applies to custom-loss models (model.loss) only; "
                                                       "pass estimator settings in model.params")
        cls = estimator_class(model["estimator"])
        check_params(cls, model.get("params"), "model.params")
        if doc.get("checkpoint") or doc.get("resume"):
            raise SpecError("checkpoint", f"checkpoint/resume apply to custom-loss models (model.loss); "
                                          f"{model['estimator']} fits in a few passes: remove them")
        return task_of(cls)
    if "params" in model:
        raise SpecError("model.params", "custom-loss models take params_init (initial parameters), not params")
    resolve_function(model["loss"], base_dir, "model.loss")
    if isinstance(model.get("params_init"), str):
        resolve_function(model["params_init"], base_dir, "model.params_init")
    elif not model.get("params_init"):
        raise SpecError("model.params_init", "missing; give {w: zeros, b: 0.0} (zeros = one per feature) or "
                                             "'module:function' returning the initial params")
    if model.get("predict"):
        resolve_function(model["predict"], base_dir, "model.predict")
    optimizer_from(model.get("optimizer"))
    for key in ("steps", "batch"):
        if model.get(key) is not None and model[key] < 1:
            raise SpecError(f"model.{key}", f"must be >= 1, got {model[key]}")
    return model.get("task", "regression")


def _check_features(stages):
    for i, stage in enumerate(stages):
        path = f"features.{i}"
        if not isinstance(stage, dict) or len(stage) != 1:
            raise SpecError(path, f"each stage is a one-key mapping like {{standard_scaler: {{}}}}, got {stage!r}")
        (name, params), = stage.items()
        if name not in STAGES:
            _unknown_key(name, STAGES, path)
        params = params or {}
        if not isinstance(params, dict):
            raise SpecError(f"{path}.{name}", f"expected a mapping of parameters, got {params!r}")
        if STAGES[name] is None:
            _check(params, _ONE_HOT, f"{path}.{name}")
            if not params.get("columns"):
                raise SpecError(f"{path}.{name}.columns", "missing; list the categorical columns to encode")
        else:
            import chunkflow.ml as ml

            params = dict(params)
            if name == "impute" and "strategy" in params and params["strategy"] not in (
                    "mean", "median", "most_frequent", "constant"):
                raise SpecError(f"{path}.{name}.strategy", f"{params['strategy']!r} is not one of mean, median, "
                                                           f"most_frequent, constant")
            check_params(getattr(ml, STAGES[name]), params, f"{path}.{name}")


def _check_metrics(doc, task):
    for i, name in enumerate(doc["metrics"]):
        if name not in METRICS:
            close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"metrics.{i}", f"unknown metric {name!r}{hint} (for {task}: "
                                            f"{', '.join(m for m, t in METRICS.items() if task in t)})")
        if task not in METRICS[name]:
            raise SpecError(f"metrics.{i}", f"{name!r} does not apply to a {task} model (use "
                                            f"{', '.join(m for m, t in METRICS.items() if task in t)})")


def _check_rest(doc):
    data = doc["data"]
    if not data.get("url"):
        raise SpecError("data.url", "missing; give the dataset's URL (a path, s3://bucket/key, ...)")
    if doc["task"] in ("classification", "regression") and data.get("label") is None:
        raise SpecError("data.label", f"missing; a {doc['task']} model needs the label column")
    frac = doc["split"]["test_fraction"]
    if not 0 < frac < 1:
        raise SpecError("split.test_fraction", f"must be between 0 and 1 (exclusive), got {frac}")
    if not doc["output"].get("model"):
        raise SpecError("output.model", "missing; give the URL to write the model directory to")
    if doc.get("resume") and not doc.get("checkpoint"):
        raise SpecError("resume", "resume: true needs checkpoint: URL (where the checkpoints are written)")
    cluster = doc.get("cluster") or {}
    if cluster.get("local") is not None and cluster.get("scheduler"):
        raise SpecError("cluster", "give either local or scheduler, not both")
    sched = cluster.get("scheduler")
    if sched and not sched.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise SpecError("cluster.scheduler", f"expected a scheduler address like tcp://host:8786, got {sched!r}")
    budget = (cluster.get("local") or {}).get("memory_budget")
    if budget is not None:
        from chunkflow.config import parse_bytes

        try:
            parse_bytes(budget)
        except (TypeError, ValueError) as e:
            raise SpecError("cluster.local.memory_budget", f"{e}") from None
    fmt = data.get("format")
    if fmt == "npy" and isinstance(data.get("label"), str):
        raise SpecError("data.label", "an .npy array has no column names; give the label's column index")
    if fmt != "npy" and isinstance(data.get("label"), int):
        raise SpecError("data.label", "give the label column's name (column indices are for .npy data)")


def _fill_defaults(doc, task):
    doc["task"] = task
    data = doc.setdefault("data", {}) or {}
    doc["data"] = data
    url = data.get("url") or ""
    if data.get("format") is None:
        stem = url.rstrip("/").lower()
        data["format"] = "csv" if stem.endswith((".csv", ".csv.gz")) else "npy" if stem.endswith(".npy") \
            else "parquet"
    split = doc.get("split") or {}
    split.setdefault("test_fraction", 0.2)
    split.setdefault("seed", 0)
    doc["split"] = split
    doc["features"] = doc.get("features") or []
    doc["metrics"] = doc.get("metrics") or list(DEFAULT_METRICS[task])
    output = doc.get("output") or {}
    output.setdefault("overwrite", False)
    doc["output"] = output
    doc["cluster"] = doc.get("cluster") or {}
    doc.setdefault("checkpoint_every", 10)
    doc["resume"] = bool(doc.get("resume"))
    model = doc["model"]
    if "loss" in model:
        model.setdefault("steps", 100)
        model.setdefault("seed", 0)


def check_url(url, storage_options, path):
    """Raise SpecError if ``url`` (or the files its glob matches) does not exist or can't be reached."""
    from chunkflow.io.fs import storage_errors, url_to_fs

    try:
        fs, p = url_to_fs(url, storage_options)
        with storage_errors(url, fs):
            found = bool(fs.glob(p)) if any(c in p for c in "*?[") else fs.exists(p)
    except (ValueError, TypeError, ImportError) as e:
        raise SpecError(path, str(e)) from None
    except (PermissionError, ConnectionError) as e:
        raise SpecError(path, f"cannot reach the data: {e}") from None
    except OSError as e:
        raise SpecError(path, f"cannot reach the data: {type(e).__name__}: {e}") from None
    if not found:
        raise SpecError(path, f"{url!r} does not exist; check the path (relative paths are from "
                              f"{os.getcwd()}), bucket and key")
