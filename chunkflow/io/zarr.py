"""Zarr v3 arrays in any fsspec storage: chunk-aligned reads, writes that commit last.

Reading (:func:`from_zarr`) opens the array once on the client to learn its
shape, dtype and chunk grid, and makes the Tensor's chunks the Zarr chunks
(the shards, for sharded arrays), so no rechunking follows the read. A read
task names only ``(url, storage_options, metadata token, box)``; each process
opens the array once per metadata token (one small ``zarr.json`` request) and
reads its chunk's keys straight from storage. Zarr v2 arrays are read too.

Writing (:meth:`Tensor.to_zarr`) never writes metadata first (which is what
``dask.array.to_zarr`` does, so a killed write there looks like a whole array
full of fill values). The order here is:

1. ``begin_dataset``: refuse an existing dataset unless ``overwrite=True``,
   then write the ``_INCOMPLETE`` marker;
2. every chunk, in parallel, through a ``zarr.Array`` built in memory from the
   final metadata (so no task writes ``zarr.json``);
3. ``zarr.json``, last of the data;
4. ``commit_dataset``: ``_SUCCESS``, then ``_INCOMPLETE`` removed.

A write that fails or is killed before step 3 leaves no ``zarr.json`` and
leaves ``_INCOMPLETE``: zarr itself finds no array there, and
:func:`from_zarr` says the dataset is incomplete and to write it again with
``overwrite=True``. The Zarr chunks are the Tensor's chunks when they are
regular (equal blocks, a smaller last one); an irregular grid is first
rechunked to its largest block per axis.

``device="gpu"`` reads on the host, then copies each chunk to the GPU in the
task after its read; a GPU Tensor is written from host copies of its chunks
(see ``blocks.py``).
"""
from __future__ import annotations

import json
import os

import dask
import numpy as np
from dask.base import tokenize
from dask.core import flatten
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from ..backend import requested_device
from ..core.chunks import normalize_chunks
from ..core.tensor import Tensor
from .blocks import boxed_source, boxes, check_tensor_to_write, host_dask
from .fs import begin_dataset, check_complete, commit_dataset, storage_errors, url_to_fs

__all__ = ["from_zarr", "to_zarr"]

_METADATA = ("zarr.json", ".zarray", ".zgroup")
_OPEN: dict = {}  # (url, options token, metadata token) -> zarr.Array, per process
_SOURCES: dict = {}  # read layer name -> (protocol, path) it reads, to refuse overwriting a source
_MAX_OPEN = 64


def _join(path, name):
    return f"{path.rstrip('/')}/{name.strip('/')}" if name else path


def _zarr():
    """The zarr package (imported on first use: it is an optional extra and slow to import)."""
    try:
        import zarr
    except ImportError as e:
        raise ImportError("reading and writing Zarr needs zarr-python 3: pip install 'chunkflow[zarr]'") from e
    if int(zarr.__version__.split(".")[0]) < 3:
        raise ImportError(f"chunkflow needs zarr-python >= 3 (Zarr v3), found {zarr.__version__}: "
                          f"pip install -U 'zarr>=3'")
    return zarr


def _store(fs, path, url, storage_options, read_only):
    """A zarr store for ``url``: zarr's own LocalStore for local files, else fsspec's."""
    storage = _zarr().storage
    if "file" in _protocols(fs) or "local" in _protocols(fs):
        return storage.LocalStore(path, read_only=read_only)
    return storage.FsspecStore.from_url(url, storage_options=storage_options, read_only=read_only)


def _where(fs, path):
    return _protocols(fs)[0], path.rstrip("/")


def _protocols(fs):
    p = fs.protocol
    return (p,) if isinstance(p, str) else tuple(p)


# ------------------------------------------------------------------ reading
def from_zarr(url, component=None, chunks=None, storage_options=None, device=None) -> Tensor:
    """A Tensor reading the Zarr array at ``url`` (or at ``component`` inside the group at ``url``).

    ``chunks=None`` uses the array's own chunks (shards, if sharded); other
    values are as for :func:`chunkflow.from_array` (best as multiples of them).
    ``device="gpu"`` gives CuPy chunks (read on the host, then copied to the
    GPU chunk by chunk); ``None`` or ``"cpu"`` gives NumPy chunks.
    """
    url = os.fspath(url) if isinstance(url, os.PathLike) else url
    device = requested_device(device, "from_zarr")
    if component is not None and not isinstance(component, str):
        raise TypeError(f"component must be a path string inside {url!r}, got {component!r}")
    full = _join(url, component or "")
    fs, root = url_to_fs(url, storage_options)
    path = _join(root, component or "")
    with storage_errors(full, fs):
        check_complete(fs, root, url)
        if component:
            check_complete(fs, path, full)
        _check_is_array(fs, root, path, url, component, storage_options)
        arr = _zarr().open_array(_store(fs, path, full, storage_options, True), mode="r")
    dtype = arr.dtype if isinstance(arr.dtype, np.dtype) else np.dtype(arr.dtype)
    if dtype.hasobject:
        raise TypeError(f"{full!r} holds variable-length values (dtype {arr.metadata.data_type}); chunkflow "
                        f"Tensors need a fixed-size dtype: convert the array with zarr first")
    grid = _read_grid(arr, chunks, dtype)
    token = tokenize(full, storage_options, json.dumps(arr.metadata.to_dict(), default=str, sort_keys=True))
    name = f"from-zarr-{tokenize(token, grid)}"
    _SOURCES[name] = _where(fs, path)
    return boxed_source(name, grid, dtype, _read_chunk, full, storage_options, token).to_device(device)


def _check_is_array(fs, root, path, url, component, storage_options):
    """Raise FileNotFoundError/ValueError naming what is at ``path`` when it is not a Zarr array."""
    full = _join(url, component or "")
    if not fs.exists(path):
        if component and fs.exists(root):
            raise FileNotFoundError(f"{url!r} has no component {component!r}; arrays there: "
                                    f"{_arrays_in(fs, root, url, storage_options) or 'none'}")
        raise FileNotFoundError(f"{full!r} does not exist; check the URL (and component)")
    if fs.exists(_join(path, ".zarray")):
        return
    if not fs.exists(_join(path, "zarr.json")):
        raise ValueError(f"{full!r} is not a Zarr array: it has no zarr.json (or .zarray); give the URL "
                         f"of an array written by zarr or to_zarr")
    node = json.loads(fs.cat_file(_join(path, "zarr.json"))).get("node_type")
    if node == "group":
        raise ValueError(f"{full!r} is a Zarr group, not an array; pass component= one of "
                         f"{_arrays_in(fs, path, full, storage_options) or '(it holds no arrays)'}")
    if node != "array":
        raise ValueError(f"{full!r} has a zarr.json with node_type {node!r}; expected a Zarr array")


def _arrays_in(fs, path, url, storage_options, most=20):
    """Paths of (up to ``most``) arrays in the group at ``path``, for error messages."""
    zarr = _zarr()
    try:
        group = zarr.open_group(_store(fs, path, url, storage_options, True), mode="r")
        names = sorted(name for name, node in group.members(max_depth=None) if isinstance(node, zarr.Array))
    except Exception:  # not a group (or unreadable): list nothing rather than hide the real error
        return []
    return names[:most] + (["..."] if len(names) > most else [])


def _read_grid(arr, chunks, dtype):
    if chunks is None:
        block = arr.shards or arr.chunks
        return normalize_chunks(tuple(int(b) for b in block), arr.shape, dtype)
    return normalize_chunks(chunks, arr.shape, dtype)


def _read_chunk(url, storage_options, token, box):
    """One chunk of the array at ``url``: the values in ``box`` (``(start, stop)`` per axis)."""
    arr = _opened(url, storage_options, token)
    return np.asarray(arr[tuple(slice(a, b) for a, b in box)])


def _opened(url, storage_options, token):
    key = (url, tokenize(storage_options), token)
    arr = _OPEN.get(key)
    if arr is None:
        fs, path = url_to_fs(url, storage_options)
        with storage_errors(url, fs):
            arr = _zarr().open_array(_store(fs, path, url, storage_options, True), mode="r")
        if len(_OPEN) >= _MAX_OPEN:
            _OPEN.clear()
        _OPEN[key] = arr
    return arr


# ------------------------------------------------------------------ writing
def to_zarr(x, url, overwrite=False, storage_options=None) -> None:
    """Write the Tensor ``x`` as a Zarr v3 array at ``url``; ``zarr.json`` is written last.

    The Zarr chunks are ``x``'s chunks when they are regular (all blocks of
    an axis equal but a smaller last one); otherwise ``x`` is first rechunked
    to a regular grid of its largest block per axis. An existing dataset is
    refused unless ``overwrite=True``. A failed write leaves an incomplete
    dataset that readers refuse (see the module docstring). A GPU Tensor's
    chunks are copied to the host in their tasks first.
    """
    url = os.fspath(url) if isinstance(url, os.PathLike) else url
    _check_writable(x, url)
    darr = host_dask(x)
    chunk_shape = _regular_chunk_shape(darr.chunks)
    if darr.chunks != normalize_chunks(chunk_shape, darr.shape, darr.dtype):
        darr = darr.rechunk(chunk_shape)
    metadata = _metadata_bytes(x.shape, chunk_shape, x.dtype, url)
    fs, path = url_to_fs(url, storage_options)
    if overwrite:
        _check_not_a_source(darr, fs, path, url)
    (darr,) = dask.optimize(darr)
    with storage_errors(url, fs):
        begin_dataset(fs, path, overwrite=overwrite, url=url)
    written = _write_chunks(darr, url, storage_options, metadata)  # computing errors pass as they are
    if written != darr.npartitions:
        raise ValueError(f"writing {url!r}: {written} of {darr.npartitions} chunks were written")
    with storage_errors(url, fs):
        fs.pipe_file(_join(path, "zarr.json"), metadata)
        commit_dataset(fs, path)


def _check_writable(x, url):
    check_tensor_to_write(x, url, "to_zarr")
    if x.dtype.hasobject:
        raise TypeError(f"cannot write {url!r}: dtype {x.dtype} holds Python objects, which Zarr cannot "
                        f"store without a specific codec; convert to a fixed-size dtype (numbers, or "
                        f"astype('U')/astype('S')) first")


def _check_not_a_source(darr, fs, path, url):
    """Refuse to write over an array this Tensor reads: the write removes it first."""
    protocol, target = _where(fs, path)
    for layer in darr.__dask_graph__().layers:
        source = _SOURCES.get(layer)
        if source and source[0] == protocol and (source[1] == target or source[1].startswith(target + "/")):
            raise ValueError(f"cannot write {url!r}: the Tensor reads from it, and writing replaces it "
                             f"before reading ends. Write to a new URL (then remove the old one)")


def _regular_chunk_shape(grid) -> tuple:
    """The Zarr chunk shape for ``grid``: its first block where regular, else its largest (at least 1)."""
    out = []
    for blocks in grid:
        regular = all(b == blocks[0] for b in blocks[:-1]) and blocks[-1] <= blocks[0]
        out.append(max(1, int(blocks[0] if regular else max(blocks))))
    return tuple(out)


def _metadata_bytes(shape, chunk_shape, dtype, url) -> bytes:
    """The ``zarr.json`` zarr would write for this array, made in memory."""
    zarr = _zarr()
    store = zarr.storage.MemoryStore()
    try:
        zarr.create_array(store=store, shape=shape, chunks=chunk_shape, dtype=dtype, zarr_format=3)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot write {url!r}: Zarr v3 has no data type for {dtype} ({e})") from e
    return store._store_dict["zarr.json"].to_bytes()


def _write_chunks(darr, url, storage_options, metadata) -> int:
    """Write every block of ``darr`` (aligned with the Zarr chunks); the number written."""
    from ..runtime import get_scheduler

    name = f"to-zarr-{tokenize(darr.name, url, storage_options, metadata)}"
    dsk = {}
    for (index, box), key in zip(boxes(darr.chunks), flatten(darr.__dask_keys__())):
        dsk[(name, *index)] = (_write_chunk, url, storage_options, metadata, box, key)
    dsk[(f"{name}-count",)] = (sum, list(dsk))
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[darr])
    (count,) = dask.compute(Delayed((f"{name}-count",), graph, layer=name), scheduler=get_scheduler(),
                            optimize_graph=False)
    return count


def _write_chunk(url, storage_options, metadata, box, block) -> int:
    """Write one block through an array made from ``metadata`` (no ``zarr.json`` is written)."""
    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        store = _store(fs, path, url, storage_options, False)
        zarr = _zarr()
        arr = zarr.Array(zarr.AsyncArray(json.loads(metadata), zarr.storage.StorePath(store, "")))
        arr[tuple(slice(a, b) for a, b in box)] = block
    return 1


Tensor.to_zarr = to_zarr
