"""chunkflow.io: storage through fsspec (see ``fs.py`` for URLs, errors and the commit protocol).

Readers and writers: ``npy.py`` (.npy byte ranges), ``zarr.py`` (Zarr v3),
``parquet.py`` (pyarrow.dataset) and ``csv.py`` (pyarrow.csv byte-range
blocks). Each format module loads on first use, so ``chunkflow.io.fs`` does
not pull in pandas, pyarrow or zarr.
"""
_LAZY = {
    "from_npy": "npy", "to_npy": "npy", "from_zarr": "zarr", "to_zarr": "zarr",
    "read_parquet": "parquet", "write_tensor": "parquet", "read_csv": "csv",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'chunkflow.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"chunkflow.io.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
