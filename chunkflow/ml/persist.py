"""Safe model files: a directory of ``model.json`` and one ``.npy`` per array, never pickle.

Layout of a saved model (any fsspec URL: local path, ``s3://``, ``gs://``, ``memory://``)::

    model/
      model.json        format, format_version, chunkflow_version, the model's state, and
                        for each array its file, shape, dtype and SHA-256
      coef_.npy         np.save(..., allow_pickle=False)
      params/steps/0/1/ arrays of nested estimators (a Pipeline's steps) in subdirectories
      _SUCCESS          the commit marker of chunkflow.io.fs

A model's *state* is plain JSON: ``{"class", "params", "attributes"}`` where
params are ``get_params(deep=False)`` and attributes the learned ones (names
ending in ``_``). Learned attributes that are lazy (a ``Tensor`` or dask
collection, e.g. KMeans's ``labels_`` after fitting chunked input) are not
saved: they describe the training data, not the model, and would need that
data to compute; the loaded model lacks them. Values that JSON lacks are tagged: ``{"__array__": key}``
points into the arrays, ``{"__estimator__": state}`` nests an estimator
(saved by the same rules, its arrays under its own key prefix),
``{"__tuple__": [...]}``, ``{"__dict__": [[k, v], ...]}`` (non-string keys),
``{"__float__": "nan"}``, ``{"__dtype__": "<f8"}``.

Loading runs no code from the file: the class is looked up in a registry of
``chunkflow.ml`` estimators (:func:`register`), never imported by name;
arrays are read with ``allow_pickle=False`` and checked against the
checksums, shapes and dtypes recorded at save time, so a truncated or
modified file is refused with a message saying so. :func:`to_state` and
:func:`from_state` are public so containers (Pipeline) can nest estimators.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re

import numpy as np

from ..core.tensor import Tensor
from ..io.fs import begin_dataset, check_complete, commit_dataset, storage_errors, url_to_fs

__all__ = ["register", "registered", "to_state", "from_state", "save", "load", "ModelFileMixin",
           "FORMAT_VERSION", "ModelFileError"]

FORMAT = "chunkflow-model"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
_REGISTRY: dict[str, type] = {}
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*_$")


class ModelFileError(ValueError):
    """A model file that can't be loaded: unknown class, newer format, corrupted or modified arrays."""


def register(cls):
    """Class decorator: allow ``cls`` (a ``chunkflow.ml`` estimator) to be saved and loaded."""
    if not isinstance(cls, type) or not cls.__module__.startswith("chunkflow.ml"):
        raise ValueError(f"only chunkflow.ml estimator classes can be registered for model files, got {cls!r}")
    name = f"chunkflow.ml.{cls.__name__}"
    if _REGISTRY.get(name, cls) is not cls:
        raise ValueError(f"{name} is already registered to {_REGISTRY[name]!r}")
    _REGISTRY[name] = cls
    return cls


def registered() -> dict:
    """The registry: public class name -> class."""
    return dict(_REGISTRY)


def _import_registered(name):
    """The class ``chunkflow.ml.<Name>`` after importing the module that defines it (estimators load lazily);
    None for a name chunkflow.ml does not export. Only chunkflow's own modules are ever imported."""
    import importlib

    from . import _LAZY

    short = name[len("chunkflow.ml."):] if name.startswith("chunkflow.ml.") else None
    if short not in _LAZY or _LAZY[short] is None:
        return None
    importlib.import_module(f"chunkflow.ml.{_LAZY[short]}")
    return _REGISTRY.get(name)


def _name_of(cls) -> str:
    name = f"chunkflow.ml.{cls.__name__}"
    if _REGISTRY.get(name) is not cls:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} is not a registered chunkflow.ml estimator; "
                        f"only those can be saved (see chunkflow.ml.persist.register)")
    return name


# ---------------------------------------------------------------- state <-> JSON + arrays
def to_state(estimator, prefix: str = "") -> tuple[dict, dict]:
    """``(state, arrays)`` of ``estimator``: a JSON-able dict and ``{key: ndarray}``.

    Array keys start with ``prefix`` (``"steps/0/"`` for a nested estimator),
    so a container can merge the arrays of its parts without collisions.
    """
    name = _name_of(type(estimator))
    arrays: dict = {}
    params = {k: _encode(v, f"{prefix}params/{k}", arrays) for k, v in estimator.get_params(deep=False).items()}
    attributes = {k: _encode(v, f"{prefix}{k}", arrays) for k, v in vars(estimator).items()
                  if _ATTRIBUTE.match(k) and not _is_lazy(v)}
    return {"class": name, "params": params, "attributes": attributes}, arrays


def _is_lazy(value) -> bool:
    """Whether ``value`` is a lazy array (chunkflow Tensor or dask collection): not saved, see above."""
    return isinstance(value, Tensor) or hasattr(type(value), "__dask_graph__")


def from_state(state: dict, arrays: dict):
    """The estimator described by ``state`` (from :func:`to_state`), its arrays taken from ``arrays``."""
    if not isinstance(state, dict) or not isinstance(state.get("class"), str):
        raise ModelFileError("the model state has no class name; the file is not a chunkflow model")
    cls = _REGISTRY.get(state["class"]) or _import_registered(state["class"])
    if cls is None:
        from . import _LAZY

        known = sorted(set(_REGISTRY) | {f"chunkflow.ml.{k}" for k, v in _LAZY.items() if v and k[0].isupper()})
        raise ModelFileError(f"unknown model class {state['class']!r}: only chunkflow.ml estimators can be "
                             f"loaded ({', '.join(known)})")
    params = {k: _decode(v, arrays) for k, v in dict(state.get("params", {})).items()}
    allowed = set(cls._get_param_names()) if hasattr(cls, "_get_param_names") else set(params)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ModelFileError(f"the file gives {state['class']} parameters it does not have: {unknown}; "
                             f"it was written by another version of chunkflow")
    estimator = cls(**params)
    for k, v in dict(state.get("attributes", {})).items():
        if not _ATTRIBUTE.match(k):
            raise ModelFileError(f"attribute name {k!r} is not a learned attribute (names end in '_')")
        setattr(estimator, k, _decode(v, arrays))
    return estimator


def _encode(value, key, arrays):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.ndarray):
        return _encode_array(value, key, arrays)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"__dtype__": np.dtype(value).str}
    if isinstance(value, list):
        return [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{key}/{k}", arrays) for k, v in value.items()}
        return {"__dict__": [[_encode(k, f"{key}/k{i}", arrays), _encode(v, f"{key}/{i}", arrays)]
                             for i, (k, v) in enumerate(value.items())]}
    if hasattr(value, "get_params"):
        state, nested = to_state(value, prefix=f"{key}/")
        arrays.update(nested)
        return {"__estimator__": state}
    raise TypeError(f"{key!r} holds a {type(value).__name__}, which a model file can't store without pickle "
                    f"(numbers, strings, lists, dicts, NumPy arrays and chunkflow.ml estimators can be stored)")


def _encode_array(arr, key, arrays):
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"array key {key!r} is not a safe file name")
    tag = {"__array__": key}
    if arr.dtype == object:
        if not all(isinstance(v, str) for v in arr.ravel()):
            raise TypeError(f"{key!r} is an object array of non-strings; it can't be saved without pickle")
        arr = arr.astype(str)
        tag["object"] = True
    elif arr.dtype.kind not in "biufcUSmM":
        raise TypeError(f"{key!r} has dtype {arr.dtype}, which can't be saved without pickle")
    arrays[key] = arr
    return tag


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        key = value["__array__"]
        if key not in arrays:
            raise ModelFileError(f"the model refers to array {key!r}, which the file does not list")
        arr = arrays[key]
        return arr.astype(object) if value.get("object") else arr
    if "__estimator__" in value:
        return from_state(value["__estimator__"], arrays)
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["__dict__"]}
    if "__float__" in value:
        if value["__float__"] not in ("nan", "inf", "-inf"):
            raise ModelFileError(f"bad float tag {value!r}")
        return float(value["__float__"])
    if "__dtype__" in value:
        return np.dtype(value["__dtype__"]).type
    return {k: _decode(v, arrays) for k, v in value.items()}


# ---------------------------------------------------------------- files
def _join(path, name):
    return f"{path.rstrip('/')}/{name}"


def save(estimator, url, overwrite=False, storage_options=None):
    """Write ``estimator`` as a model directory at ``url`` (committed atomically; never pickle)."""
    import chunkflow

    state, arrays = to_state(estimator)
    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        begin_dataset(fs, path, overwrite=overwrite, url=url)
        listing = {}
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
            data = buf.getvalue()
            name = f"{key}.npy"
            if "/" in key:
                fs.makedirs(_join(path, key.rsplit("/", 1)[0]), exist_ok=True)
            fs.pipe_file(_join(path, name), data)
            listing[key] = {"file": name, "shape": list(arr.shape), "dtype": arr.dtype.str,
                            "sha256": hashlib.sha256(data).hexdigest()}
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "chunkflow_version": chunkflow.__version__,
               "model": state, "arrays": listing}
        fs.pipe_file(_join(path, MODEL_JSON), json.dumps(doc, indent=1, allow_nan=False).encode())
        commit_dataset(fs, path)


def load(url, storage_options=None):
    """The estimator saved at ``url`` by ``model.save(url)``; refuses unknown classes and damaged files."""
    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        meta_path = _join(path, MODEL_JSON)
        if not fs.exists(meta_path):
            if not fs.exists(path):
                raise FileNotFoundError(f"{url!r} does not exist; check the URL (a model is saved with "
                                        f"model.save(url))")
            raise ModelFileError(f"{url!r} is not a chunkflow model directory: it has no {MODEL_JSON}")
        check_complete(fs, path, url)
        try:
            doc = json.loads(fs.cat_file(meta_path))
        except ValueError as e:
            raise ModelFileError(f"{url}/{MODEL_JSON} is not valid JSON ({e}); the file is damaged") from e
        _check_header(doc, url)
        arrays = {key: _read_array(fs, path, url, key, meta) for key, meta in dict(doc["arrays"]).items()}
    return from_state(doc["model"], arrays)


def _check_header(doc, url):
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{url!r} is not a chunkflow model file (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{url!r} has no valid format_version")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{url!r} was written in model format {version} by chunkflow "
                             f"{doc.get('chunkflow_version')}; this chunkflow reads formats up to "
                             f"{FORMAT_VERSION}: upgrade chunkflow to load it")
    if not isinstance(doc.get("arrays"), dict) or not isinstance(doc.get("model"), dict):
        raise ModelFileError(f"{url!r}: {MODEL_JSON} lacks 'model' or 'arrays'")


def _read_array(fs, path, url, key, meta):
    if not isinstance(key, str) or not _KEY.match(key) or any(p in (".", "..") for p in key.split("/")):
        raise ModelFileError(f"{url!r} lists an array with an unsafe name {key!r}")
    if not isinstance(meta, dict) or meta.get("file") != f"{key}.npy":
        raise ModelFileError(f"{url!r}: the entry for array {key!r} is malformed")
    where = f"{url.rstrip('/')}/{key}.npy"
    try:
        data = fs.cat_file(_join(path, meta["file"]))
    except FileNotFoundError as e:
        raise ModelFileError(f"{where} is missing; the model directory is incomplete") from e
    if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        raise ModelFileError(f"{where} does not match the checksum recorded in {MODEL_JSON}: it is truncated "
                             f"or was modified after saving; save the model again")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        raise ModelFileError(f"{where} is not a readable .npy array without pickle ({e})") from e
    if list(arr.shape) != list(meta.get("shape", [])) or arr.dtype.str != meta.get("dtype"):
        raise ModelFileError(f"{where} has shape {arr.shape} and dtype {arr.dtype.str}, but {MODEL_JSON} "
                             f"records {meta.get('shape')} and {meta.get('dtype')}")
    return arr


class ModelFileMixin:
    """Adds ``save(url, overwrite=False, storage_options=None)`` (see :func:`save`) to an estimator."""

    def save(self, url, overwrite=False, storage_options=None):
        """Write this model to ``url`` as ``model.json`` + ``.npy`` files; load it with ``chunkflow.ml.load``."""
        save(self, url, overwrite=overwrite, storage_options=storage_options)
