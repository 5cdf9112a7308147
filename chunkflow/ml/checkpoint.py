"""Training checkpoints on any fsspec URL: JSON plus .npy, written atomically, never pickle.

Layout under the checkpoint URL::

    step-00000120/            one complete checkpoint (a committed dataset)
        checkpoint.json       step, loss history, the state's structure, format version
        leaf-00000.npy ...    every array of params and optimizer state
        _SUCCESS
    LATEST                    the name of the newest complete checkpoint

A checkpoint directory is written with the commit protocol of
``chunkflow.io.fs`` (``_INCOMPLETE`` first, ``_SUCCESS`` last) and only then
named in ``LATEST``, which is replaced atomically. A run killed while
writing leaves ``LATEST`` naming the previous complete checkpoint, so resume
never reads half a checkpoint. Older checkpoints beyond ``keep`` are removed
after the new one is committed.

The state is a pytree (dicts, lists, tuples) of arrays and Python scalars;
its structure is stored as JSON with each array replaced by the name of its
.npy file, so loading runs no code (``allow_pickle=False``).
"""
from __future__ import annotations

import io as _io
import json

import numpy as np

from ..io import fs as cfs

__all__ = ["save_checkpoint", "load_checkpoint"]

FORMAT = 1
LATEST = "LATEST"


def save_checkpoint(url, state: dict, step: int, storage_options=None, keep: int = 2) -> str:
    """Write ``state`` as the checkpoint of ``step`` under ``url``; the checkpoint's URL."""
    fs, root = cfs.url_to_fs(url, storage_options)
    name = f"step-{step:08d}"
    path = f"{root.rstrip('/')}/{name}"
    arrays: list = []
    tree = _encode(state, arrays)
    doc = {"format": FORMAT, "step": int(step), "state": tree}
    with cfs.storage_errors(url, fs):
        cfs.begin_dataset(fs, path, overwrite=True, url=f"{url}/{name}")
        for i, arr in enumerate(arrays):
            buf = _io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            fs.pipe_file(f"{path}/leaf-{i:05d}.npy", buf.getvalue())
        fs.pipe_file(f"{path}/checkpoint.json", json.dumps(doc).encode())
        cfs.commit_dataset(fs, path)
        with cfs.atomic_file(fs, f"{root.rstrip('/')}/{LATEST}", overwrite=True) as tmp:
            fs.pipe_file(tmp, name.encode())
        _prune(fs, root, keep)
    return f"{url.rstrip('/')}/{name}"


def load_checkpoint(url, storage_options=None):
    """``(state, step)`` of the newest complete checkpoint under ``url``, or None if there is none."""
    fs, root = cfs.url_to_fs(url, storage_options)
    latest = f"{root.rstrip('/')}/{LATEST}"
    with cfs.storage_errors(url, fs):
        if not fs.exists(latest):
            return None
        name = fs.cat_file(latest).decode().strip()
        path = f"{root.rstrip('/')}/{name}"
        cfs.check_complete(fs, path, url=f"{url}/{name}")
        try:
            doc = json.loads(fs.cat_file(f"{path}/checkpoint.json"))
        except (ValueError, FileNotFoundError) as e:
            raise ValueError(f"checkpoint {url}/{name} is unreadable ({e}); delete it or start without "
                             f"resume") from e
        if doc.get("format", 0) > FORMAT:
            raise ValueError(f"checkpoint {url}/{name} has format {doc['format']}, newer than this "
                             f"chunkflow reads ({FORMAT}); upgrade chunkflow")

        def load(i):
            raw = fs.cat_file(f"{path}/leaf-{i:05d}.npy")
            try:
                return np.load(_io.BytesIO(raw), allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise ValueError(f"checkpoint array {url}/{name}/leaf-{i:05d}.npy is corrupt or "
                                 f"truncated ({e})") from e

        return _decode(doc["state"], load), int(doc["step"])


def _prune(fs, root, keep):
    names = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False))
    steps = [n for n in names if n.startswith("step-")]
    for old in steps[:-keep] if keep > 0 else []:
        fs.rm(f"{root.rstrip('/')}/{old}", recursive=True)


def _encode(tree, arrays: list):
    """JSON for ``tree``: containers tagged, scalars kept, arrays replaced by their index."""
    if isinstance(tree, dict):
        if not all(isinstance(k, str) for k in tree):
            raise TypeError(f"checkpoint dict keys must be strings, got {list(tree)!r}")
        return {"dict": [[k, _encode(v, arrays)] for k, v in tree.items()]}
    if isinstance(tree, (list, tuple)):
        return {type(tree).__name__: [_encode(v, arrays) for v in tree]}
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return {"value": tree}
    arr = np.asarray(tree)
    if arr.dtype == object:
        raise TypeError(f"cannot checkpoint a value of type {type(tree).__name__}; use arrays and scalars")
    arrays.append(arr)
    return {"array": len(arrays) - 1}


def _decode(node, load):
    (tag, value), = node.items()
    if tag == "dict":
        return {k: _decode(v, load) for k, v in value}
    if tag in ("list", "tuple"):
        items = [_decode(v, load) for v in value]
        return items if tag == "list" else tuple(items)
    if tag == "value":
        return value
    if tag == "array":
        return load(int(value))
    raise ValueError(f"unknown entry {tag!r} in checkpoint.json")
