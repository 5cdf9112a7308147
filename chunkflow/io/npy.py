"""``.npy`` files in any fsspec storage: byte-range reads and streamed atomic writes.

Reading (:func:`from_npy`) fetches the header from the first bytes of the file
only (magic, version 1/2/3, dtype descr, ``fortran_order``, shape), checks the
file's size against it, and builds one dask task per chunk. A task names only
``(url, storage_options, data offset, shape, dtype, box)``, never data, so the
graph stays small and a worker reads its chunk straight from storage. A chunk
whose box spans whole trailing axes (row chunks, the default, of a C-order
file) is one contiguous byte range: one ``cat_file(path, start, end)``. Other
boxes are several runs, read with ``cat_ranges`` in batches of at most
``_MAX_RANGES``, or as one span sliced in memory when the runs are close
together (the span at most twice the chunk). Column chunks of a C-order file
are therefore one request per row: prefer row chunks (the default).

Fortran-order files are the C-order file of the transposed array: chunks are
planned on the reversed shape (``"auto"`` gives column chunks, each one
contiguous range) and each block is transposed after reading.

Writing (:meth:`Tensor.to_npy`) streams: the header, then the row bands of the
Tensor in order, into one file opened with ``fs.open(tmp, "wb")`` (a multipart
upload on object stores), under a temporary name moved into place when the
last byte is written (:func:`chunkflow.io.fs.atomic_file`). With a local
scheduler the appends are a chain of tasks in the graph (so dask computes the
bands in order) writing to the file open in this process, and a scheduler
callback holds back new tasks while more than two bands wait for the writer.
With a ``distributed`` Client the bands are computed on the workers as
futures and fetched in order, one at a time (bands finished ahead of the
writer wait on the workers, spilled to disk if need be). A write that fails
or is killed never makes the final name appear.

``device="gpu"`` reads on the host as above, then copies each chunk to the
GPU in the task after its read. A GPU Tensor is written from host copies of
its chunks (see ``blocks.py``).

Object dtypes are refused both ways: their ``.npy`` form is a pickle, and
loading a pickle can run code.
"""
from __future__ import annotations

import ast
import math
import os
import threading
import uuid
from dataclasses import dataclass

import dask
import numpy as np
from dask.base import tokenize
from dask.callbacks import Callback
from dask.core import flatten
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from ..backend import requested_device
from ..core.chunks import auto_chunks, normalize_chunks
from ..core.tensor import Tensor
from .blocks import boxed_source, check_tensor_to_write, host_dask
from .fs import atomic_file, storage_errors, url_to_fs

__all__ = ["from_npy", "to_npy", "NpyHeader", "parse_header", "header_bytes"]

MAGIC = b"\x93NUMPY"
_PROBE = 4096  # bytes fetched first: any header numpy writes for < ~300 dims fits
_MAX_RANGES = 1024  # most ranges read by one cat_ranges call (a box with more is split)
_ALIGN = 64  # numpy aligns the data start to 64 bytes
_WINDOW = 2  # bands computed ahead of the writer, at most (plus those running)


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header says: dtype, shape, order and where the data starts."""

    dtype: np.dtype
    shape: tuple
    fortran_order: bool
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


# ------------------------------------------------------------------ header
def parse_header(buf: bytes, url: str = "<bytes>"):
    """The :class:`NpyHeader` in ``buf``, or the number of bytes needed when ``buf`` is too short."""
    if len(buf) < 10 and MAGIC.startswith(bytes(buf[:6])):
        return 10
    if buf[:6] != MAGIC:
        raise ValueError(f"{url!r} is not a .npy file: it does not start with the NumPy magic string "
                         f"(first bytes {bytes(buf[:8])!r}); check the URL, or write it with np.save/to_npy")
    major, minor = buf[6], buf[7]
    if major == 1:
        start, hlen = 10, int.from_bytes(buf[8:10], "little")
    elif major in (2, 3):
        if len(buf) < 12:
            return 12
        start, hlen = 12, int.from_bytes(buf[8:12], "little")
    else:
        raise ValueError(f"{url!r} has .npy format version {major}.{minor}; versions 1.0, 2.0 and 3.0 "
                         f"are supported")
    if len(buf) < start + hlen:
        return start + hlen
    text = bytes(buf[start:start + hlen]).decode("utf8" if major == 3 else "latin1", errors="replace")
    return NpyHeader(*_header_fields(text, url), offset=start + hlen)


def _header_fields(text, url):
    try:
        d = ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"{url!r} has a corrupt .npy header {text.strip()[:200]!r} ({e}); "
                         f"the file is damaged: write it again") from e
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"{url!r} has a corrupt .npy header {d!r}: expected the keys 'descr', "
                         f"'fortran_order' and 'shape'; the file is damaged: write it again")
    shape, fortran = d["shape"], d["fortran_order"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"{url!r} has a corrupt .npy header: shape {shape!r} is not a tuple of ints >= 0")
    if not isinstance(fortran, bool):
        raise ValueError(f"{url!r} has a corrupt .npy header: fortran_order {fortran!r} is not a bool")
    try:
        dtype = np.lib.format.descr_to_dtype(d["descr"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{url!r} has a .npy header with an unreadable dtype {d['descr']!r} ({e})") from e
    _check_dtype(dtype, url)
    return dtype, shape, fortran


def _check_dtype(dtype, url):
    if dtype.hasobject:
        raise TypeError(f"{url!r}: dtype {dtype} holds Python objects, which .npy stores as a pickle; "
                        f"chunkflow does not load or write pickles (loading one can run code). Convert to a "
                        f"fixed-size dtype (e.g. astype('U') or numbers) first")


def header_bytes(dtype, shape) -> bytes:
    """The header of a C-order ``.npy`` file (smallest version that can hold it, data 64-byte aligned).

    >>> h = header_bytes(np.dtype("<f8"), (3,)); len(h), parse_header(h).shape
    (128, (3,))
    """
    d = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
         "shape": tuple(int(n) for n in shape)}
    text = "{" + "".join(f"{k!r}: {v!r}, " for k, v in d.items()) + "}"
    try:
        raw, version = text.encode("latin1"), 1
    except UnicodeEncodeError:
        raw, version = text.encode("utf8"), 3
    if version == 1 and len(raw) + 11 + _ALIGN > 65535:
        version = 2
    prefix = 10 if version == 1 else 12
    pad = -(prefix + len(raw) + 1) % _ALIGN
    body = raw + b" " * pad + b"\n"
    size = len(body).to_bytes(2 if version == 1 else 4, "little")
    return MAGIC + bytes([version, 0]) + size + body


def _read_header(fs, path, url):
    """``(header, file size)`` of the file at ``path``, from its first bytes only."""
    info = fs.info(path)
    if info.get("type") == "directory":
        raise ValueError(f"{url!r} is a directory, not a .npy file; give the URL of the file itself")
    size = info["size"]
    need = _PROBE
    while True:
        buf = fs.cat_file(path, start=0, end=min(need, size)) if size else b""
        got = parse_header(buf, url)
        if isinstance(got, NpyHeader):
            return got, info
        if got > size:
            raise ValueError(f"{url!r} is truncated: it has {size} bytes, fewer than its .npy header "
                             f"needs ({got}); write it again")
        need = got


# ------------------------------------------------------------------ reading
def from_npy(url, chunks="auto", storage_options=None, device=None) -> Tensor:
    """A Tensor reading the ``.npy`` file at ``url`` chunk by chunk (byte ranges, no full download).

    ``chunks`` is ``"auto"`` (row chunks from the memory budget; column chunks
    for Fortran-order files, so each chunk is one byte range), an int, a tuple
    or a dict, as for :func:`chunkflow.from_array`. ``device="gpu"`` gives
    CuPy chunks (read on the host, then copied to the GPU chunk by chunk);
    ``None`` or ``"cpu"`` gives NumPy chunks.
    """
    url = os.fspath(url) if isinstance(url, os.PathLike) else url
    device = requested_device(device, "from_npy")
    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):
        header, info = _read_header(fs, path, url)
    size = info["size"]
    if size != header.offset + header.nbytes:
        raise ValueError(f"{url!r} has {size - header.offset} bytes of data after its header, but the "
                         f"header (dtype {header.dtype}, shape {header.shape}) needs {header.nbytes}: the "
                         f"file is truncated or corrupt; write it again")
    grid = _grid(chunks, header)
    token = tokenize(url, storage_options, header, grid, size, info.get("mtime"), info.get("ETag"),
                     str(info.get("LastModified")))
    x = boxed_source(f"from-npy-{token}", grid, header.dtype, _read_chunk, url, storage_options, header)
    return x.to_device(device)


def _grid(chunks, header):
    if header.fortran_order and isinstance(chunks, str) and chunks == "auto":
        return auto_chunks(header.shape[::-1], header.dtype)[::-1]
    return normalize_chunks(chunks, header.shape, header.dtype)


def _read_chunk(url, storage_options, header, box):
    """One chunk of the array: the bytes of ``box`` (``(start, stop)`` per axis), read from storage."""
    if header.fortran_order:  # the file holds the transpose in C order
        return _read_box(url, storage_options, header, header.shape[::-1], box[::-1]).T
    return _read_box(url, storage_options, header, header.shape, box)


def _read_box(url, storage_options, header, shape, box):
    out = np.empty(tuple(b - a for a, b in box), dtype=header.dtype)
    if out.size == 0:
        return out
    itemsize = header.dtype.itemsize
    strides = _c_strides(shape)
    first = sum(a * s for (a, _), s in zip(box, strides))
    last = sum((b - 1) * s for (_, b), s in zip(box, strides)) + 1
    runs, axis = _runs(shape, box)
    if runs > _MAX_RANGES and last - first > 2 * out.size:  # split: neither a span nor one range a run
        k = next(k for k in range(axis) if box[k][1] - box[k][0] > 1)
        (a, b), mid = box[k], (box[k][0] + box[k][1]) // 2
        halves = [box[:k] + (half,) + box[k + 1:] for half in ((a, mid), (mid, b))]
        return np.concatenate([_read_box(url, storage_options, header, shape, h) for h in halves], axis=k)
    fs, path = url_to_fs(url, storage_options)
    base = header.offset
    with storage_errors(url, fs):
        if runs == 1 or last - first <= 2 * out.size:  # one range
            data = fs.cat_file(path, start=base + first * itemsize, end=base + last * itemsize)
            _check_len(data, (last - first) * itemsize, url)
            flat = np.frombuffer(data, header.dtype)
            out[...] = np.lib.stride_tricks.as_strided(  # the box, out of the span read
                flat, out.shape, tuple(s * itemsize for s in strides), writeable=False)
        else:  # one range per run
            run = (box[axis][1] - box[axis][0]) * strides[axis]
            starts = [base + s * itemsize for s in _run_starts(strides, box, axis)]
            parts = fs.cat_ranges([path] * len(starts), starts, [s + run * itemsize for s in starts],
                                  on_error="raise")
            data = b"".join(parts)
            _check_len(data, out.nbytes, url)
            out.reshape(-1).view(np.uint8)[:] = np.frombuffer(data, np.uint8)
    return out


def _check_len(data, want, url):
    if len(data) != want:
        raise ValueError(f"{url!r} returned {len(data)} bytes for a chunk that needs {want}: the file is "
                         f"truncated or changed while it was read; write it again")


def _c_strides(shape):
    """Element strides of a C-order array of ``shape``."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return tuple(reversed(out))


def _runs(shape, box):
    """``(number of contiguous runs, axis)`` of ``box`` in a C-order array of ``shape``.

    Axes after ``axis`` are whole, so a run is ``box[axis]`` times those axes;
    there is one run per index of the axes before ``axis``.
    """
    axis = len(shape) - 1
    while axis > 0 and box[axis] == (0, shape[axis]):
        axis -= 1
    return math.prod(b - a for a, b in box[:axis]), axis


def _run_starts(strides, box, axis):
    """Element offsets where the runs of ``box`` start, in C order."""
    starts = np.array([box[axis][0] * strides[axis]], dtype=np.int64)
    for lead in reversed(range(axis)):
        a, b = box[lead]
        starts = np.add.outer(np.arange(a, b, dtype=np.int64) * strides[lead], starts).reshape(-1)
    return [int(s) for s in starts]


# ------------------------------------------------------------------ writing
def to_npy(x, url, overwrite=False, storage_options=None) -> None:
    """Write the Tensor ``x`` to one ``.npy`` file at ``url``, streaming chunk by chunk, atomically.

    The file appears under its final name only once it is complete; an
    existing file is refused unless ``overwrite=True``. Chunks split along
    trailing axes are first joined into whole row bands (C order is row-major).
    A GPU Tensor's chunks are copied to the host in their tasks first.
    """
    url = os.fspath(url) if isinstance(url, os.PathLike) else url
    _check_writable(x, url)
    darr = host_dask(x)
    if darr.ndim > 1 and any(len(c) > 1 for c in darr.chunks[1:]):
        darr = darr.rechunk({axis: -1 for axis in range(1, darr.ndim)})
    (darr,) = dask.optimize(darr)
    fs, path = url_to_fs(url, storage_options)
    with storage_errors(url, fs):  # storage failures name this URL; computing errors pass as they are
        if fs.exists(path) and not overwrite:
            raise FileExistsError(f"{url!r} already exists; pass overwrite=True to replace it")
    with atomic_file(fs, path, overwrite=overwrite, url=url) as tmp:
        with storage_errors(url, fs):
            f = fs.open(tmp, "wb")
        with f:
            sink = _Sink(f, x.dtype, url, fs)
            sink.write(header_bytes(x.dtype, x.shape))
            written = _stream(darr, sink)
        if written != x.nbytes:
            raise ValueError(f"writing {url!r}: the chunks held {written} bytes but shape {x.shape} "
                             f"of {x.dtype} needs {x.nbytes}; nothing was written")


def _check_writable(x, url):
    check_tensor_to_write(x, url, "to_npy")
    _check_dtype(x.dtype, url)


class _Sink:
    """The open output file, appended to band after band by a chain of tasks."""

    def __init__(self, f, dtype, url, fs):
        self.f, self.dtype, self.url, self.fs = f, np.dtype(dtype), url, fs
        self.written = self.bands_written = 0
        self.writing = False
        self.cond = threading.Condition()
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self):
        return self.token

    def append(self, block):
        block = np.ascontiguousarray(block, dtype=self.dtype)
        with self.cond:
            self.writing = True
        try:
            self.write(memoryview(block.reshape(-1).view(np.uint8)))
        finally:
            with self.cond:
                self.writing = False
                self.written += block.nbytes
                self.bands_written += 1
                self.cond.notify_all()


    def write(self, data):
        with storage_errors(self.url, self.fs):
            self.f.write(data)


def _append(sink, block, previous):
    sink.append(block)


class _Backpressure(Callback):
    """Hold back the local scheduler while more than ``window`` bands wait for the writer.

    Runs on the scheduler's loop after each task; it waits only while a write
    is under way, which will finish and let the loop go on (no deadlock).
    """

    def __init__(self, sink, band_keys, window):
        super().__init__()
        self.sink, self.bands, self.window, self.computed = sink, set(band_keys), window, 0

    def _posttask(self, key, result, dsk, state, worker_id):
        sink = self.sink
        with sink.cond:
            self.computed += key in self.bands
            while self.computed - sink.bands_written > self.window and sink.writing:
                sink.cond.wait()


def _stream(darr, sink) -> int:
    """Append the row bands of ``darr`` to ``sink`` in order; the number of bytes written."""
    from ..runtime import get_scheduler

    scheduler = get_scheduler()
    if not isinstance(scheduler, str):  # a distributed Client: fetch finished bands in order
        futures = scheduler.compute(list(darr.to_delayed(optimize_graph=False).reshape(-1)))
        try:
            for future in futures:
                sink.append(future.result())
                future.release()
        finally:
            scheduler.cancel(futures)
        return sink.written
    name = f"to-npy-{sink.token}"
    keys = list(flatten(darr.__dask_keys__()))
    dsk, previous = {}, None
    for i, key in enumerate(keys):  # a chain: dask computes the bands in order
        dsk[(name, i)] = (_append, sink, key, previous)
        previous = (name, i)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[darr])
    # the appends run in this process, where the file is open
    local = "threads" if scheduler in ("processes", "multiprocessing") else scheduler
    with _Backpressure(sink, keys, window=_WINDOW):
        dask.compute(Delayed(previous, graph, layer=name), scheduler=local, optimize_graph=False)
    return sink.written


Tensor.to_npy = to_npy
