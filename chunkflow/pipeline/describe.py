"""``chunkflow inspect URL``: what a dataset or model directory holds, from metadata only.

A dataset (Parquet, CSV, .npy) gives its schema, row count, chunking
(Parquet files and row groups from the footers) and size on storage; a model
directory (from ``chunkflow run``, or ``est.save(url)``) gives whether it is
complete, its class and parameters, the columns it reads and its metrics.
"""
from __future__ import annotations

import json

__all__ = ["inspect_url", "format_info"]


def inspect_url(url, storage_options=None) -> dict:
    """A JSON-able description of the dataset or model at ``url``."""
    from ..io.fs import SUCCESS, storage_errors, url_to_fs
    from .modeldir import PIPELINE_JSON, is_model_dir

    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        if not fs.exists(path) and not fs.glob(path):
            raise FileNotFoundError(f"{url!r} does not exist; check the path, bucket and key")
        if is_model_dir(fs, path):
            return _model(url, fs, path, storage_options, fs.exists(f"{path.rstrip('/')}/{SUCCESS}"),
                          fs.exists(f"{path.rstrip('/')}/{PIPELINE_JSON}"))
        size = _size(fs, path)
    low = url.rstrip("/").lower()
    if low.endswith(".npy"):
        import chunkflow as cf

        t = cf.from_npy(url, storage_options=storage_options)
        return {"kind": "dataset", "url": url, "format": "npy", "shape": list(t.shape), "dtype": str(t.dtype),
                "chunks": [len(c) for c in t.chunks], "chunk_rows": t.chunks[0][0] if t.shape[0] else 0,
                "bytes": size}
    if low.endswith((".csv", ".csv.gz")):
        import chunkflow as cf

        f = cf.read_csv(url, storage_options=storage_options)
        return {"kind": "dataset", "url": url, "format": "csv", "columns": {c: str(t) for c, t in f.dtypes.items()},
                "rows": None, "partitions": f.npartitions, "bytes": size}
    return _parquet(url, fs, path, storage_options, size)


def _size(fs, path) -> int:
    try:
        return int(fs.du(path, total=True)) if fs.isdir(path) else int(fs.size(path))
    except Exception:  # noqa: BLE001 - size is informative only
        return None


def _parquet(url, fs, path, storage_options, size):
    import chunkflow as cf
    from ..io.parquet import list_data_files

    f = cf.read_parquet(url, storage_options=storage_options)
    files, _ = list_data_files(fs, path, url)
    import pyarrow.parquet as pq

    groups = 0
    for p in files:
        with fs.open(p, "rb") as fh:
            groups += pq.ParquetFile(fh).metadata.num_row_groups
    return {"kind": "dataset", "url": url, "format": "parquet",
            "columns": {c: str(t) for c, t in f.dtypes.items()},
            "rows": sum(f.lengths) if f.lengths is not None else None, "files": len(files), "row_groups": groups,
            "partitions": f.npartitions, "bytes": size}


def _model(url, fs, path, storage_options, complete, pipeline):
    info = {"kind": "model", "url": url, "complete": complete}
    if not complete:
        info["problem"] = "no _SUCCESS: the run that wrote it did not finish; run the pipeline again"
        return info
    est_url = f"{url.rstrip('/')}/estimator" if pipeline else url
    if pipeline:
        from .modeldir import read_pipeline

        meta = read_pipeline(url, storage_options)
        info.update(task=meta["task"], model=meta["estimator"], metrics=meta.get("metrics"),
                    created=meta.get("created"), columns=meta["input"]["numeric"],
                    categories=meta["input"]["categories"], label=meta["input"]["label"])
        if not meta.get("has_estimator"):
            return info
    from ..ml.persist import load

    est = load(est_url, storage_options=storage_options)
    info["class"] = type(est).__name__
    info["estimator"] = repr(est)
    if hasattr(est, "steps"):
        info["steps"] = [{"name": n, "class": type(s).__name__, "params": _plain(s.get_params(deep=False))}
                         for n, s in est.steps]
    else:
        info["params"] = _plain(est.get_params(deep=False))
    return info


def _plain(params) -> dict:
    out = {}
    for k, v in params.items():
        try:
            json.dumps(v)
            out[k] = v
        except TypeError:
            out[k] = repr(v)
    return out


def format_info(info: dict) -> str:
    """``info`` as lines for a person."""
    lines = [f"{info['url']}"]
    if info["kind"] == "model":
        lines.append(f"  model directory, {'complete' if info['complete'] else 'INCOMPLETE'}")
        if not info["complete"]:
            lines.append(f"  {info['problem']}")
            return "\n".join(lines)
        if info.get("task"):
            lines.append(f"  task       {info['task']}, trained {info.get('created')}")
            cats = ", ".join(f"{c} ({len(v)} values)" for c, v in (info.get("categories") or {}).items())
            lines.append(f"  reads      {', '.join(map(str, info['columns']))}" + (f"; one-hot {cats}" if cats else ""))
            lines.append(f"  label      {info.get('label')}")
        if info.get("estimator"):
            lines.append(f"  estimator  {info['estimator']}")
        for name, value in (info.get("metrics") or {}).items():
            lines.append(f"  {name:<10} {value:.4f}" if isinstance(value, float) else f"  {name:<10} {value}")
        return "\n".join(lines)
    size = f"{info['bytes'] / 2**20:,.1f} MiB" if info.get("bytes") is not None else "unknown size"
    if info["format"] == "npy":
        lines.append(f"  npy array {tuple(info['shape'])} {info['dtype']}, {info['chunks'][0]} row chunks of "
                     f"{info['chunk_rows']:,} rows, {size}")
        return "\n".join(lines)
    rows = f"{info['rows']:,} rows" if info.get("rows") is not None else "rows unknown until read"
    chunking = (f"{info['files']} files, {info['row_groups']} row groups, {info['partitions']} partitions"
                if info["format"] == "parquet" else f"{info['partitions']} blocks")
    lines.append(f"  {info['format']} dataset: {rows}, {chunking}, {size}")
    width = max(len(c) for c in info["columns"]) if info["columns"] else 0
    lines += [f"  {c:<{width}}  {t}" for c, t in info["columns"].items()]
    return "\n".join(lines)
