"""``chunkflow predict``: score a dataset with a model directory, written as Parquet with a commit.

The model directory's ``pipeline.json`` says which columns the model reads
and how categorical columns were encoded; the data is read with just those
columns (plus any asked to be copied through), encoded the same way, scored
chunk by chunk (one task per row chunk: read, encode, predict, write), and
the result is a Parquet dataset committed with ``_SUCCESS`` last. A model
directory without ``_SUCCESS`` is refused. Custom-loss models score with the
``predict`` function of their own Python module, so they need
``allow_code=True`` (``--allow-code``): a model directory alone never makes
chunkflow import code.
"""
from __future__ import annotations

import numpy as np

from ..core.tensor import Tensor
from .modeldir import load_model, read_pipeline
from .runner import build_inputs, read_data
from .spec import SpecError

__all__ = ["predict"]


def _outputs(meta, est, params, X, allow_code):
    """``[(name, 1-D Tensor, integral)]``: the columns the model adds."""
    import chunkflow as cf

    task = meta["task"]
    if meta["kind"] == "custom":
        if not allow_code:
            raise PermissionError(
                f"this model was trained with a custom loss; scoring imports its predict function "
                f"{meta['custom']['predict']!r} from {meta['custom']['module_dir']}. Pass --allow-code if you "
                f"trust that code")
        from .spec import resolve_function

        fn = resolve_function(meta["custom"]["predict"], meta["custom"]["module_dir"], "model.predict")
        Xt = est.transform(X) if est is not None else X
        out = fn(params, Xt)
        if task == "classification":
            p = out if out.ndim == 1 else out[:, -1]
            return [("prediction", cf.astype(p >= 0.5, np.float64), True), ("probability", p, False)]
        return [("prediction", out.reshape(-1) if out.ndim > 1 else out, False)]
    final = est.steps[-1][1] if hasattr(est, "steps") else est
    if task == "classification":
        classes = np.asarray(final.classes_)
        integral = bool(np.all(np.mod(classes, 1) == 0))
        cols = [("prediction", est.predict(X), integral)]
        if hasattr(final, "predict_proba"):
            proba = est.predict_proba(X)
            if len(classes) == 2:
                cols.append(("probability", proba[:, 1], False))
            else:
                cols += [(f"probability_{_label(c)}", proba[:, i], False) for i, c in enumerate(classes)]
        return cols
    if task == "regression":
        pred = est.predict(X)
        return [("prediction", pred.reshape(-1) if pred.ndim > 1 else pred, False)]
    if task == "clustering":
        return [("cluster", est.predict(X), True)]
    if task == "decomposition":
        Z = est.transform(X)
        return [(f"component_{i}", Z[:, i], False) for i in range(Z.shape[1])]
    raise ValueError(f"chunkflow predict does not score {task} models yet; use the estimator's predict "
                     f"in Python (chunkflow.ml.load(url + '/estimator'))")


def _label(c) -> str:
    c = c.item() if isinstance(c, np.generic) else c
    return str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)


def _assemble(block, names, integral, keep):
    import pandas as pd

    df = pd.DataFrame({n: (block[:, j].astype(np.int64) if integral[j] else block[:, j])
                       for j, n in enumerate(names)})
    if keep is None:
        return df
    keep = keep.reset_index(drop=True)
    return pd.concat([keep, df], axis=1)


def predict(model_url, data_url, out_url, columns=None, overwrite=False, storage_options=None, fmt=None,
            allow_code=False) -> dict:
    """Score ``data_url`` with the model at ``model_url`` into the Parquet dataset ``out_url``; a summary."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    import chunkflow as cf
    from ..frame.frame import Frame, building
    from ..io.fs import storage_errors, url_to_fs

    meta = read_pipeline(model_url, storage_options)
    enc = meta["input"]
    if fmt is None:
        low = data_url.rstrip("/").lower()
        fmt = "csv" if low.endswith((".csv", ".csv.gz")) else "npy" if low.endswith(".npy") else enc["format"]
    fs, path = url_to_fs(data_url, storage_options)
    with storage_errors(data_url, fs):
        if not fs.exists(path) and not fs.glob(path):
            raise FileNotFoundError(f"data {data_url!r} does not exist; check the path, bucket and key")
    ofs, opath = url_to_fs(out_url, storage_options)
    if ofs.exists(opath) and not overwrite:
        raise FileExistsError(f"{out_url!r} already exists; pass --overwrite to replace it")
    keep = list(columns or [])
    if fmt == "npy":
        if keep:
            raise SpecError("--columns", "an .npy array has no named columns to copy")
        data = read_data("npy", data_url, storage_options=storage_options)
    else:
        need = list(dict.fromkeys(list(enc["numeric"]) + list(enc["categories"]) + keep))
        data = read_data(fmt, data_url, columns=need, storage_options=storage_options)
    X, _ = build_inputs(data, enc, with_label=False)
    est, params = load_model(model_url, meta, storage_options)
    cols = _outputs(meta, est, params, X, allow_code)
    names = [n for n, _, _ in cols]
    stacked = cf.stack([cf.astype(t, np.float64) for _, t, _ in cols], axis=1)
    rows = X.chunks[0]
    darr = stacked.to_dask().rechunk({0: rows, 1: -1})
    if isinstance(data, Tensor):
        n = cf.from_dask(darr).to_parquet(out_url, columns=names, overwrite=overwrite,
                                          storage_options=storage_options)
    else:
        keep_parts = data.to_dask()[keep].to_delayed() if keep else [None] * len(rows)
        if len(keep_parts) != len(rows):
            raise RuntimeError(f"{len(keep_parts)} data partitions but {len(rows)} row chunks of predictions")
        part = dask.delayed(_assemble, pure=True)
        integral = [i for _, _, i in cols]
        parts = [part(b, names, integral, k) for b, k in zip(darr.to_delayed().ravel(), keep_parts)]
        meta_df = _assemble(np.zeros((0, len(names))), names, integral,
                            data.to_dask()[keep]._meta if keep else None)
        with building():
            ddf = dd.from_delayed(parts, meta=meta_df, verify_meta=False)
        Frame(ddf, tuple(int(r) for r in rows)).to_parquet(out_url, overwrite=overwrite,
                                                           storage_options=storage_options)
        n = int(sum(rows))
    return {"status": "ok", "model": model_url, "data": data_url, "output": out_url, "rows": int(n),
            "columns": keep + names, "partitions": len(rows)}
