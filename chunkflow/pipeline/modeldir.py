"""The model directory a run writes (layout in ``chunkflow/pipeline/__init__.py``), committed atomically.

:func:`write_model_dir` marks the directory ``_INCOMPLETE``, writes the
estimator (``chunkflow.ml.persist``), the custom params (checkpoint format),
``pipeline.json``, ``metrics.json`` and ``report.html``, and only then
``_SUCCESS``. :func:`read_pipeline` refuses a directory without ``_SUCCESS``.
"""
from __future__ import annotations

import json
import os

__all__ = ["write_model_dir", "read_pipeline", "load_model", "FORMAT", "PIPELINE_JSON", "is_model_dir"]

FORMAT = "chunkflow-pipeline"
FORMAT_VERSION = 1
PIPELINE_JSON = "pipeline.json"


def _join(path, name):
    return f"{os.fspath(path).rstrip('/')}/{name}"


def write_model_dir(url, meta: dict, estimator=None, params=None, files=None, overwrite=False,
                    storage_options=None):
    """Write the model directory at ``url``; ``files`` maps extra names to bytes (metrics.json, report.html)."""
    from ..io.fs import begin_dataset, commit_dataset, storage_errors, url_to_fs
    from ..ml.checkpoint import save_checkpoint

    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        begin_dataset(fs, path, overwrite=overwrite, url=url)
        if estimator is not None:
            from ..ml.persist import save

            save(estimator, _join(url, "estimator"), overwrite=True, storage_options=storage_options)
        if params is not None:
            save_checkpoint(_join(url, "params"), {"params": params}, step=0, storage_options=storage_options,
                            keep=1)
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
        fs.pipe_file(_join(path, PIPELINE_JSON), json.dumps(doc, indent=1, default=_json_default).encode())
        for name, data in (files or {}).items():
            fs.pipe_file(_join(path, name), data)
        commit_dataset(fs, path)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def is_model_dir(fs, path) -> bool:
    return fs.exists(_join(path, PIPELINE_JSON)) or fs.exists(_join(path, "model.json"))


def read_pipeline(url, storage_options=None) -> dict:
    """``pipeline.json`` of the model directory at ``url``; refuses one whose write did not finish."""
    from ..io.fs import INCOMPLETE, SUCCESS, storage_errors, url_to_fs

    url = os.fspath(url)
    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        if not fs.exists(path):
            raise FileNotFoundError(f"model {url!r} does not exist; give the output.model URL of a finished "
                                    f"`chunkflow run`")
        if not fs.exists(_join(path, SUCCESS)):
            why = (f"it has {INCOMPLETE} and no {SUCCESS}: the run that wrote it did not finish"
                   if fs.exists(_join(path, INCOMPLETE)) else f"it has no {SUCCESS} marker")
            raise ValueError(f"model {url!r} is incomplete ({why}); run the pipeline again to write it")
        if not fs.exists(_join(path, PIPELINE_JSON)):
            raise ValueError(f"{url!r} is not a chunkflow pipeline model (no {PIPELINE_JSON}); models saved "
                             f"with est.save(url) load with chunkflow.ml.load(url)")
        doc = json.loads(fs.cat_file(_join(path, PIPELINE_JSON)))
    if doc.get("format") != FORMAT or doc.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(f"{url!r}: {PIPELINE_JSON} has format {doc.get('format')!r} version "
                         f"{doc.get('format_version')!r}; this chunkflow reads {FORMAT} up to {FORMAT_VERSION}")
    return doc


def load_model(url, meta, storage_options=None):
    """``(estimator or None, params or None)`` stored in the model directory."""
    from ..ml.checkpoint import load_checkpoint
    from ..ml.persist import load

    estimator = params = None
    if meta.get("has_estimator"):
        estimator = load(_join(url, "estimator"), storage_options=storage_options)
    if meta.get("kind") == "custom":
        saved = load_checkpoint(_join(url, "params"), storage_options)
        if saved is None:
            raise ValueError(f"model {url!r} has no params/ checkpoint; run the pipeline again")
        params = saved[0]["params"]
    return estimator, params
