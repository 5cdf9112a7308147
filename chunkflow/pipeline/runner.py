"""``chunkflow run``: read, encode, split, fit, evaluate, write the model directory.

Nothing is written until the model is fitted and evaluated; the model
directory is then written with the commit protocol (``modeldir.py``), so a
run that fails anywhere leaves no directory that looks complete. Estimators
are fitted inside one ``chunkflow.ml.Pipeline`` with the numeric feature
stages; custom losses are trained with ``chunkflow.ml.minimize`` (with
checkpoints and resume when the spec asks). Training data is kept in memory
when it fits in half the memory budget (``chunkflow.ml.batches``), else it
is re-read from storage on every pass.
"""
from __future__ import annotations

import contextlib
import datetime
import io
import json
import logging
import re
import time

import numpy as np

from .. import config
from ..core.tensor import Tensor
from .features import encode_frame, feature_names, learn_categories, numeric_stages
from .report import Console, have_matplotlib, make_plots, render_html
from .spec import SpecError, resolve_function

__all__ = ["run", "read_data", "build_inputs", "GraphRuns"]

log = logging.getLogger("chunkflow.pipeline")


# ---------------------------------------------------------------- reading
def read_data(fmt, url, columns=None, filters=None, storage_options=None):
    """A Frame (parquet, csv) or Tensor (npy) for the dataset at ``url``."""
    import chunkflow as cf

    if fmt == "parquet":
        filters = [tuple(f) for f in filters] if filters and not isinstance(filters[0][0], (list, tuple)) \
            else ([[tuple(f) for f in c] for c in filters] if filters else None)
        return cf.read_parquet(url, columns=columns, filters=filters, storage_options=storage_options)
    if fmt == "csv":
        return cf.read_csv(url, columns=columns, storage_options=storage_options)
    return cf.from_npy(url, storage_options=storage_options)


def plan_encoding(data, spec) -> dict:
    """The input description (columns, categories to learn, label) for the spec's data; SpecError if off."""
    d = spec["data"]
    label = d.get("label")
    one_hot = [c for stage in spec["features"] for name, p in stage.items() if name == "one_hot"
               for c in p["columns"]]
    if isinstance(data, Tensor):
        if data.ndim != 2:
            raise SpecError("data.url", f"an .npy dataset must be 2-D (rows x columns), got shape {data.shape}")
        if one_hot:
            raise SpecError("features", "one_hot needs named columns (parquet or csv data), not an .npy array")
        ncols = data.shape[1]
        if label is not None and not -ncols <= label < ncols:
            raise SpecError("data.label", f"column index {label} is out of range for {ncols} columns")
        label = None if label is None else label % ncols
        numeric = [j for j in range(ncols) if j != label]
        return {"format": "npy", "numeric": numeric, "categories": {}, "label": label,
                "feature_names": [f"x{j}" for j in numeric]}
    available = data.columns
    for c in ([label] if label is not None else []) + one_hot:
        if c not in available:
            import difflib

            close = difflib.get_close_matches(c, available, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            where = column_key(spec, c)
            raise SpecError(where, f"column {c!r} is not in the data{hint} (columns: {', '.join(available)})")
    numeric = [c for c in (d.get("columns") or available) if c != label and c not in one_hot]
    dtypes = data.dtypes
    import pandas as pd

    bad = [c for c in numeric if not (pd.api.types.is_numeric_dtype(dtypes[c]) or
                                      pd.api.types.is_bool_dtype(dtypes[c]))]
    if bad:
        raise SpecError("data.columns", f"columns {bad} are not numeric ({[str(dtypes[c]) for c in bad]}); "
                                        f"encode them with a {{one_hot: {{columns: {bad}}}}} feature stage or "
                                        f"leave them out of data.columns")
    if label is not None and not pd.api.types.is_numeric_dtype(dtypes[label]) \
            and not pd.api.types.is_bool_dtype(dtypes[label]):
        raise SpecError("data.label", f"label column {label!r} is {dtypes[label]}; pipelines take numeric "
                                      f"labels (encode the classes as integers)")
    return {"format": spec["data"]["format"], "numeric": numeric, "categories": {c: None for c in one_hot},
            "label": label, "feature_names": None}


def build_inputs(data, enc, with_label=True):
    """``(X, y)`` float64 Tensors from a Frame or 2-D Tensor as ``enc`` describes (y None without a label)."""
    import chunkflow as cf

    label = enc["label"] if with_label else None
    if isinstance(data, Tensor):
        X = cf.take(data, np.asarray(enc["numeric"]), axis=1).astype(np.float64)
        y = data[:, label].astype(np.float64) if label is not None else None
        return X, y
    extra = [label] if label is not None else []
    d = len(feature_names(enc["numeric"], enc["categories"]))
    if enc["categories"]:
        T = encode_frame(data, enc["numeric"], enc["categories"], extra).to_tensor(dtype=np.float64)
    else:
        T = data[list(enc["numeric"]) + extra].to_tensor(dtype=np.float64)
    if T.ndim == 1:
        T = T[:, None]
    X = T[:, :d]
    return X, (T[:, d] if extra else None)


class GraphRuns:
    """Counts scheduler runs (each reads the data it needs once) on the local schedulers."""

    def __init__(self):
        from dask.callbacks import Callback

        self.count = 0

        def start(dsk):
            self.count += 1

        self._cb = Callback(start=start)

    def __enter__(self):
        self._cb.__enter__()
        return self

    def __exit__(self, *exc):
        self._cb.__exit__(*exc)


@contextlib.contextmanager
def cluster(spec, console):
    """Connect to (or start) what the spec's ``cluster`` names; None means local threads."""
    c = spec["cluster"]
    local = c.get("local") or {}
    budget = local.get("memory_budget")
    with config.set(memory_budget=budget) if budget else contextlib.nullcontext():
        if c.get("scheduler"):
            from distributed import Client

            console.line("cluster", f"connecting to {c['scheduler']}")
            try:
                client = Client(c["scheduler"], timeout="15s")
            except (OSError, TimeoutError) as e:
                raise ConnectionError(f"cannot reach the scheduler {c['scheduler']} ({e}); check the address "
                                      f"and that the cluster is up (docker compose up)") from e
            with client:
                yield client
        elif local.get("n_workers"):
            from distributed import Client, LocalCluster

            n, t = local["n_workers"], local.get("threads_per_worker", 1)
            console.line("cluster", f"starting a local cluster: {n} workers x {t} threads")
            with LocalCluster(n_workers=n, threads_per_worker=t, dashboard_address=None,
                              memory_limit=config.memory_budget() // n if budget else "auto") as lc, \
                    Client(lc) as client:
                yield client
        else:
            import os

            console.line("cluster", f"local threads ({os.cpu_count()} cores), memory budget "
                                    f"{config.memory_budget() / 2**20:,.0f} MiB")
            yield None


class _NewtonLog(io.TextIOBase):
    """Collects the objective of each Newton iteration that LogisticRegression(verbose=1) prints."""

    _LINE = re.compile(r"newton iteration (\d+): objective ([-+0-9.eE]+)")

    def __init__(self, bar, rows):
        self.values, self.bar, self.rows, self._buf = [], bar, rows, ""

    def write(self, text):
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            m = self._LINE.search(line)
            if m:
                self.values.append(float(m.group(2)))
                self.bar.update(int(m.group(1)), self.values[-1], self.rows)
        return len(text)


# ---------------------------------------------------------------- fitting
def _fit_estimator(spec, X, y, enc, console, quiet):
    import chunkflow.ml as ml
    from ..ml.progress import Progress

    m = spec["model"]
    cls = getattr(ml, m["estimator"])
    est = cls(**(m.get("params") or {}))
    stages = numeric_stages(spec["features"])
    task = spec.task
    model = est if task == "recommendation" else ml.Pipeline(stages + [("model", est)])
    names = " -> ".join([n for n, _ in stages] + [m["estimator"]])
    console.line("fit", names)
    history = None
    capture = "verbose" in est.get_params() and not est.get_params()["verbose"] \
        and getattr(est, "solver", None) in ("auto", "newton")
    if capture:
        est.set_params(verbose=1)
        bar = Progress(enabled=not quiet, label="  newton iteration")
        sink = _NewtonLog(bar, X.shape[0])
        try:
            with contextlib.redirect_stdout(sink):
                model.fit(X, y)
        finally:
            est.set_params(verbose=0)
        bar.close()
        history = sink.values or None
    elif task in ("classification", "regression"):
        model.fit(X, y)
    else:
        model.fit(X)
    final = model if task == "recommendation" else model.steps[-1][1]
    n_iter = getattr(final, "n_iter_", None)
    n_iter = int(np.max(n_iter)) if n_iter is not None else None
    fit = {"iterations": n_iter, "final_loss": history[-1] if history else None}
    loss = {"values": history, "title": f"{m['estimator']}: objective per Newton iteration",
            "xlabel": "Newton iteration", "ylabel": "penalized training loss", "x0": 1} if history else None
    return model, fit, loss


def _params_init(spec, d):
    m = spec["model"]
    init = m["params_init"]
    if isinstance(init, str):
        return resolve_function(init, spec.base_dir, "model.params_init")(d, m["seed"])
    out = {}
    for k, v in init.items():
        if v == "zeros":
            out[k] = np.zeros(d)
        elif isinstance(v, (int, float)):
            out[k] = np.array(float(v))
        elif isinstance(v, list):
            out[k] = np.asarray(v, dtype=np.float64)
        else:
            raise SpecError(f"model.params_init.{k}", f"expected 'zeros' (one per feature), a number or a list, "
                                                      f"got {v!r}")
    return out


def _fit_custom(spec, X, y, console, quiet):
    import chunkflow.ml as ml
    from ..ml.batches import keep_in_memory
    from .spec import optimizer_from

    m = spec["model"]
    loss = resolve_function(m["loss"], spec.base_dir, "model.loss")
    stages = numeric_stages(spec["features"])
    pre = None
    if stages:
        pre = ml.Pipeline(stages)
        console.line("fit", f"preprocessing: {' -> '.join(n for n, _ in stages)}")
        pre.fit(X)
        X = pre.transform(X)
    X, y = keep_in_memory((X, y), "auto")
    params = _params_init(spec, X.shape[1])
    opt = optimizer_from(m.get("optimizer"))
    ckpt = spec["checkpoint"] if "checkpoint" in spec.doc else None
    batch = "" if m.get("batch") is None else f", {m['batch']} row chunks a step"
    where = f", checkpoints at {ckpt}" if ckpt else ""
    console.line("fit", f"{m['loss']} with {type(opt).__name__}, {m['steps']} steps{batch}{where}"
                        f"{', resuming' if spec['resume'] else ''}")
    res = ml.minimize(loss, params, X, y, optimizer=opt, max_steps=m["steps"], tol=m.get("tol"),
                      batch=m.get("batch"), seed=m["seed"], progress=not quiet, checkpoint=ckpt,
                      checkpoint_every=spec["checkpoint_every"], resume=spec["resume"],
                      storage_options=spec["data"].get("storage_options") if ckpt and "://" in ckpt else None)
    fit = {"iterations": res.n_steps, "final_loss": float(res.value), "message": res.message}
    hist = {"values": list(res.history), "title": f"{m['loss']}: training loss per step",
            "xlabel": "step", "ylabel": "training loss"}
    return pre, res.params, fit, hist


# ---------------------------------------------------------------- evaluating
def _evaluate(spec, model, params, X_test, y_test, plots):
    import chunkflow as cf
    from . import evaluate

    task, names = spec.task, spec["metrics"]
    if spec["model"].get("loss"):
        pre, predict = model, _custom_predict(spec)
        Xt = pre.transform(X_test) if pre is not None else X_test
        out = predict(params, Xt)
        if task == "classification":
            p = out if out.ndim == 1 else out[:, -1]
            proba = cf.stack([1.0 - p, p], axis=1)
            return evaluate.classification(proba, y_test, np.array([0.0, 1.0]), names)
        return evaluate.regression(out, y_test, names)
    if task == "classification":
        final = model.steps[-1][1]
        if hasattr(final, "predict_proba"):
            proba = model.predict_proba(X_test)
        else:  # decision scores through a sigmoid: a monotone map, right for ROC, not for log loss
            s = model.decision_function(X_test)
            proba = cf.stack([1.0 - cf.sigmoid(s), cf.sigmoid(s)], axis=1) if s.ndim == 1 else cf.exp(
                s - cf.logsumexp(s, axis=1, keepdims=True))
            names = [n for n in names if n != "log_loss"]
        return evaluate.classification(proba, y_test, final.classes_, names)
    if task == "regression":
        pred = model.predict(X_test)
        return evaluate.regression(pred.reshape(-1) if pred.ndim > 1 else pred, y_test, names)
    if task == "recommendation":
        pred = model.predict(X_test[:, :2])
        return evaluate.regression(pred, X_test[:, 2], names, skip_nan=True)
    final = model.steps[-1][1]
    if task == "clustering":
        return {"inertia": float(final.inertia_)}, {}
    ratio = np.asarray(final.explained_variance_ratio_)
    plots["coefficients"] = {"names": [f"component {i}" for i in range(len(ratio))], "values": ratio.tolist(),
                             "title": "Explained variance ratio", "xlabel": "share of the variance"}
    return {"explained_variance": float(ratio.sum())}, {}


def _custom_predict(spec):
    m = spec["model"]
    ref = m.get("predict") or f"{m['loss'].split(':')[0]}:predict"
    return resolve_function(ref, spec.base_dir, "model.predict")


def _coefficients(spec, model, params, enc):
    names = enc["feature_names"]
    scaled = any("scaler" in n for stage in spec["features"] for n in stage)
    title = "Coefficients" + (" (on scaled features)" if scaled else "")
    if params is not None:
        for k, v in params.items():
            v = np.asarray(v)
            if v.ndim == 1 and len(v) == len(names):
                return {"names": names, "values": v.tolist(), "title": f"Parameter {k!r}" +
                        (" (on scaled features)" if scaled else ""), "xlabel": "weight"}
        return None
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    coef = getattr(final, "coef_", None)
    if coef is None:
        return None
    coef = np.asarray(coef)
    coef = coef[0] if coef.ndim == 2 and coef.shape[0] == 1 else coef
    if coef.ndim != 1 or len(coef) != len(names):
        return None
    return {"names": names, "values": coef.tolist(), "title": title}


# ---------------------------------------------------------------- the run
def run(spec, quiet=False, console=None) -> dict:
    """Run the validated ``spec``; the result dict (metrics, timings, output URLs)."""
    from ..io.fs import url_to_fs
    from ..ml.model_selection import train_test_split
    from ..runtime import peak_rss

    console = console or Console(quiet=quiet)
    d, out = spec["data"], spec["output"]
    so = d.get("storage_options")
    fs, mpath = url_to_fs(out["model"], so)
    if fs.exists(mpath) and not out["overwrite"]:
        raise SpecError("output.model", f"{out['model']!r} already exists; set output.overwrite: true "
                                        f"(or --set output.overwrite=true) to replace it")
    timings, plots = {}, {}
    runs = GraphRuns()
    with cluster(spec, console) as client, runs:
        t = time.perf_counter()
        columns = None
        if d.get("columns") and d["format"] != "npy":
            one_hot = [c for s in spec["features"] for n, p in s.items() if n == "one_hot" for c in p["columns"]]
            columns = list(dict.fromkeys(d["columns"] + one_hot + ([d["label"]] if d.get("label") else [])))
        data = _read(spec, d["format"], d["url"], columns, d.get("filters"), so, "data")
        console.line("read", _describe(data, d))
        enc = plan_encoding(data, spec)
        if enc["categories"]:
            t1 = time.perf_counter()
            enc["categories"] = learn_categories(data, list(enc["categories"]))
            console.line("encode", "one-hot " + ", ".join(f"{c} ({len(v)} values)" for c, v in
                                                          enc["categories"].items())
                         + f" in {time.perf_counter() - t1:.1f} s")
        enc["feature_names"] = feature_names(enc["numeric"], enc["categories"]) if enc["format"] != "npy" \
            else enc["feature_names"]
        if client is not None and spec["model"].get("loss"):
            _pickle_custom_by_value(spec)
        if spec.task == "recommendation":
            X, y = _als_inputs(data, spec)
        else:
            X, y = build_inputs(data, enc, with_label=enc["label"] is not None)
        split = spec["split"]
        if split.get("test_url"):
            test = _read(spec, d["format"], split["test_url"], columns, d.get("filters"), so, "split.test_url")
            X_tr, y_tr = X, y
            X_te, y_te = _als_inputs(test, spec) if spec.task == "recommendation" else build_inputs(
                test, enc, with_label=enc["label"] is not None)
        elif y is not None:
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=split["test_fraction"],
                                                      random_state=split["seed"])
        else:
            X_tr, X_te = train_test_split(X, test_size=split["test_fraction"], random_state=split["seed"])
            y_tr = y_te = None
        console.line("split", f"{X_tr.shape[0]:,} train / {X_te.shape[0]:,} test rows, {X_tr.shape[1]} "
                              f"features" + ("" if split.get("test_url") else f" (seed {split['seed']})"))
        timings["read"] = time.perf_counter() - t

        t = time.perf_counter()
        params = None
        if spec["model"].get("loss"):
            model, params, fit, loss = _fit_custom(spec, X_tr, y_tr, console, quiet)
        else:
            from ..ml.batches import keep_in_memory

            held = keep_in_memory(tuple(a for a in (X_tr, y_tr) if a is not None), "auto")
            X_tr, y_tr = held if y_tr is not None else (held[0], None)
            model, fit, loss = _fit_estimator(spec, X_tr, y_tr, enc, console, quiet)
        if loss:
            plots["loss"] = loss
        timings["fit"] = time.perf_counter() - t
        console.line("fit", f"done in {timings['fit']:.1f} s" +
                     (f", {fit['iterations']} iterations" if fit.get("iterations") is not None else ""))

        t = time.perf_counter()
        metrics, more = _evaluate(spec, model, params, X_te, y_te, plots)
        plots.update(more)
        coef = _coefficients(spec, model, params, enc) if spec.task in ("classification", "regression") else None
        if coef:
            plots["coefficients"] = coef
        timings["evaluate"] = time.perf_counter() - t
        console.line("evaluate", ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    model_name = (spec["model"].get("estimator") or spec["model"]["loss"])
    result = {
        "status": "ok", "name": spec.doc.get("name"), "pipeline": spec.source, "task": spec.task,
        "model": model_name, "rows": {"train": int(X_tr.shape[0]), "test": int(X_te.shape[0])},
        "features": int(X_tr.shape[1]), "metrics": metrics, "fit": fit,
        "graph_runs": runs.count if client is None else None,
        "coefficients": dict(zip(coef["names"], coef["values"])) if coef and len(coef["names"]) <= 100 else None,
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    t = time.perf_counter()
    console.line("write", f"model directory {out['model']}")
    result["output"] = {"model": out["model"], "report": f"{out['model'].rstrip('/')}/report.html",
                        "metrics": f"{out['model'].rstrip('/')}/metrics.json"}
    timings["write"] = 0.0
    timings["total"] = console.elapsed()
    result["timings"] = timings
    result["peak_rss_bytes"] = peak_rss()
    result["memory_budget_bytes"] = config.memory_budget()
    images = make_plots(result, plots)
    reason = "" if have_matplotlib() else ("plots left out: matplotlib is not installed "
                                           "(pip install 'chunkflow[report]')")
    if reason:
        console.line("report", reason)
    page = render_html(result, images, spec.doc, reason).encode()
    meta = {
        "kind": "custom" if params is not None else "estimator", "task": spec.task, "estimator": model_name,
        "has_estimator": model is not None, "input": enc, "metrics": metrics, "created": result["finished"],
        "custom": {"loss": spec["model"]["loss"], "predict": _custom_ref(spec), "module_dir": spec.base_dir}
        if params is not None else None,
        "spec": spec.doc,
    }
    write_model_dir(spec, out, meta, model, params, page, result)
    timings["write"] = time.perf_counter() - t
    timings["total"] = console.elapsed()
    result["peak_rss_bytes"] = peak_rss()
    result["memory_budget_bytes"] = config.memory_budget()
    return result


def write_model_dir(spec, out, meta, model, params, page, result):
    """Write the model directory, and the metrics/report copies the spec's output asks for."""
    from ..io.fs import atomic_file, url_to_fs
    from .modeldir import write_model_dir as write

    so = spec["data"].get("storage_options")
    metrics_doc = json.dumps({k: result[k] for k in ("name", "task", "model", "metrics", "rows", "features",
                                                     "fit", "timings", "peak_rss_bytes")}, indent=1,
                             default=str).encode()
    write(out["model"], meta, estimator=model, params=params,
          files={"metrics.json": metrics_doc, "report.html": page}, overwrite=out["overwrite"],
          storage_options=so)
    for key, name, data in (("metrics", None, metrics_doc), ("report", "report.html", page)):
        if out.get(key):
            url = out[key] if name is None else f"{out[key].rstrip('/')}/{name}"
            fs, path = url_to_fs(url, so)
            with atomic_file(fs, path, overwrite=True, url=url) as tmp:
                fs.pipe_file(tmp, data)
            result["output"][key] = url


def _custom_ref(spec):
    m = spec["model"]
    return m.get("predict") or f"{m['loss'].split(':')[0]}:predict"


def _pickle_custom_by_value(spec):
    """Ship the pipeline's own modules to cluster workers by value (they are not installed there)."""
    import importlib

    import cloudpickle

    m = spec["model"]
    for ref in (m.get("loss"), m.get("predict"), m.get("params_init") if isinstance(m.get("params_init"), str)
                else None):
        if ref:
            cloudpickle.register_pickle_by_value(importlib.import_module(ref.split(":")[0]))


def column_key(spec, name) -> str:
    """The key path of the spec that names column ``name`` (for error messages)."""
    if name == spec["data"].get("label"):
        return "data.label"
    for i, stage in enumerate(spec["features"]):
        for stage_name, p in stage.items():
            if stage_name == "one_hot" and name in p["columns"]:
                return f"features.{i}.one_hot.columns"
    return "data.columns"


def _read(spec, fmt, url, columns, filters, so, where):
    from ..frame.frame import ColumnNotFoundError

    try:
        return read_data(fmt, url, columns, filters, so)
    except ColumnNotFoundError as e:
        m = re.search(r"column '([^']*)'", str(e))
        raise SpecError(column_key(spec, m.group(1)) if m and where == "data" else where, str(e)) from None


def _describe(data, d) -> str:
    if isinstance(data, Tensor):
        return f"npy {d['url']}: {data.shape[0]:,} x {data.shape[1]} {data.dtype}, {data.npartitions} chunks"
    rows = f"{sum(data.lengths):,} rows" if data.lengths is not None else "rows counted later (row filter)"
    return f"{d['format']} {d['url']}: {rows} x {len(data.columns)} columns, {data.npartitions} partitions"


def _als_inputs(data, spec):
    """ALS input: (user, item, rating) float64 columns as one Tensor (the label is the rating)."""
    p = spec["model"].get("params") or {}
    cols = [p.get("user_col", "user"), p.get("item_col", "item"), p.get("rating_col", "rating")]
    if isinstance(data, Tensor):
        return data[:, :3].astype(np.float64), None
    return data[cols].to_tensor(dtype=np.float64), None
