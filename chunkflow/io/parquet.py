"""Parquet datasets as Frames and Tensors: read by row group, written with a commit.

Reading (:func:`read_parquet`) happens in two places:

* **Planning, on the client**, reads only metadata: the file listing (one
  file, a glob, or a directory tree with hive ``key=value`` partitions, files
  and folders starting with ``_`` or ``.`` skipped) and every file's footer,
  in a thread pool. Partition filters drop whole files; row-group statistics
  drop row groups (``pyarrow.dataset`` fragments do both). Consecutive row
  groups of a file are merged into one piece until the selected columns'
  uncompressed size reaches ``chunk_bytes`` (default: the memory-budget rule
  of ``chunkflow.config.auto_chunk_bytes``); a row group more than twice
  ``chunk_bytes`` is split into row ranges of about ``chunk_bytes`` (each
  range reads the row group's column chunks again: splitting buys memory,
  not I/O, and is not done under a row filter). Each piece's row count
  is known from the footers, so the Frame knows its partition lengths and
  ``to_tensor`` its row chunks, unless a filter on data columns drops rows.
  ``to_tensor`` on such a Frame reads each block straight from Arrow into
  one NumPy array, and ``compute`` converts the pieces' Arrow tables to pandas
  once (:class:`ParquetSource`).
* **Tasks, on the workers**, each read one piece: ``(path, row groups, row
  range, partition values, row offset)`` with the columns dask's optimizer
  projected; the graph carries no data. Files are opened without read-ahead
  (``cache_type="none"``), so pyarrow fetches just the column chunks it needs
  (coalesced into few range requests); local files use Arrow's own reader.

Rows get a global RangeIndex when the lengths are known (a per-partition one
after a row filter); a pandas index stored in the file comes back as a column
(``__index_level_N__`` columns are left out). Hive partition columns take the
types Arrow infers (int32 for numbers, string otherwise), not categoricals.

Writing (:func:`write_frame`, ``Tensor.to_parquet``) follows the commit
protocol of ``chunkflow.io.fs``: refuse an existing dataset unless
``overwrite=True``, mark it ``_INCOMPLETE``, write ``part.NNNNN.parquet`` files
in parallel tasks (in ``key=value/`` folders with ``partition_on``), then
``_SUCCESS``. Readers refuse a dataset whose write did not finish.
"""
from __future__ import annotations

import concurrent.futures
import functools
import operator
import re

import dask
import dask.array as da
import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .. import config
from ..core.tensor import Tensor
from ..frame.frame import Frame, building, check_columns
from .blocks import host_dask
from .fs import begin_dataset, check_complete, commit_dataset, storage_errors, url_to_fs

__all__ = [
    "read_parquet", "write_frame", "write_tensor", "ParquetPieceReader", "FilteredPieceReader", "ParquetSource",
    "list_data_files", "open_input", "arrow_filesystem", "write_parts", "display_path",
]

_GLOB = re.compile(r"[*?\[]")
_FORMAT = ds.ParquetFileFormat()
_INDEX_COLUMN = "__index_level_"
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


# ------------------------------------------------------------------ files and file systems
def display_path(fs, path) -> str:
    """``path`` as a URL with its protocol, for messages."""
    return fs.unstrip_protocol(path) if "file" not in _protocols(fs) else path


def _protocols(fs):
    p = fs.protocol
    return (p,) if isinstance(p, str) else tuple(p)


def _natural_key(path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _hidden(relative):
    return any(part.startswith(("_", ".")) for part in relative.split("/") if part)


def list_data_files(fs, path, url):
    """``(files, base_dir)``: the data files ``url`` names (a file, a glob or a directory tree), in order.

    Files in a directory come in natural order (``part.2`` before
    ``part.10``); a directory whose chunkflow write did not finish is refused.
    """
    with storage_errors(url, fs):
        if _GLOB.search(path):
            base = _GLOB.split(path, 1)[0].rsplit("/", 1)[0]
            check_complete(fs, base, url)
            files = [p for p in fs.glob(path) if fs.isfile(p) and not _hidden(p[len(base):])]
        elif fs.isdir(path):
            base = path.rstrip("/")
            check_complete(fs, base, url)
            files = [p for p in fs.find(base) if not _hidden(p[len(base):])]
        elif fs.isfile(path):  # a part of a dataset whose write did not finish is refused too
            parent = path.rsplit("/", 1)[0]
            check_complete(fs, parent, url)
            return [path], parent
        else:
            raise FileNotFoundError(f"{url!r} does not exist; check the URL, bucket and key")
    if not files:
        raise FileNotFoundError(f"{url!r} matches no data files; check the URL or glob pattern")
    return sorted(files, key=_natural_key), base


def open_input(fs, path):
    """A read-only file for ``path`` without read-ahead: the reader asks for the exact ranges it needs."""
    try:
        return fs.open(path, "rb", cache_type="none")
    except TypeError:  # file systems whose open() takes no cache options
        return fs.open(path, "rb")


class _ExactRangeHandler(pafs.FSSpecHandler):
    """fsspec under pyarrow, with files opened by :func:`open_input` (no read-ahead)."""

    def open_input_file(self, path):
        return pa.PythonFile(open_input(self.fs, path), mode="r")


def arrow_filesystem(fs):
    """A pyarrow file system for fsspec's ``fs``: Arrow's own for plain local files."""
    if type(fs) is fsspec.implementations.local.LocalFileSystem:
        return pafs.LocalFileSystem()
    return pafs.PyFileSystem(_ExactRangeHandler(fs))


# ------------------------------------------------------------------ planning
def read_parquet(url, columns=None, filters=None, storage_options=None, chunk_bytes=None) -> Frame:
    """A Frame reading the Parquet file, glob or (hive-partitioned) directory at ``url``.

    ``columns`` and ``filters`` (pyarrow/pandas DNF tuples such as
    ``[("year", ">=", 2020)]``, or a ``pyarrow.dataset`` expression) are
    applied at the reader: only those columns and the row groups that can
    match are fetched. Partitions follow row groups, merged or split towards
    ``chunk_bytes`` (bytes or a string like ``"64MiB"``).
    """
    fs, path = url_to_fs(url, storage_options)
    target = config.parse_bytes(chunk_bytes) if chunk_bytes is not None else config.auto_chunk_bytes()
    files, base = list_data_files(fs, path, url)
    dataset = _open_dataset(files, base, fs, url)
    schema = dataset.schema.remove_metadata()
    available = [n for n in schema.names if not n.startswith(_INDEX_COLUMN)]
    columns = available if columns is None else check_columns(columns, available, where=repr(url))
    expr, filter_names = _filter_expression(filters, available, url)
    with storage_errors(url, fs):
        fragments = list(dataset.get_fragments())
        partition_names = {k for f in fragments for k in ds.get_partition_keys(f.partition_expression)}
        if expr is not None:  # partition values drop whole files
            fragments = list(dataset.get_fragments(filter=expr))
    row_filter = expr is not None and (filter_names is None or not filter_names <= partition_names)
    with storage_errors(url, fs):
        _load_footers(fragments, fs)
        if row_filter:  # row-group statistics drop what cannot match
            fragments = [f.subset(filter=expr, schema=dataset.schema) for f in fragments]
    file_columns = [c for c in columns if c not in partition_names]
    _check_schemas(fragments, [c for c in schema.names if c in file_columns], fs)
    pieces = [p for f in fragments for p in _pieces(f, file_columns, target, split=not row_filter)]
    reader = ParquetPieceReader(fs, schema, columns, expr if row_filter else None)
    return _frame(reader, pieces, known=not row_filter, fragments={f.path: f for f in fragments})


def _open_dataset(files, base, fs, url):
    """The pyarrow dataset of ``files`` with hive partitions under ``base``; corrupt first file named."""
    try:
        with storage_errors(url, fs):
            return ds.dataset(files, filesystem=arrow_filesystem(fs), format="parquet", partitioning="hive",
                              partition_base_dir=base)
    except pa.ArrowInvalid as e:
        raise ValueError(f"cannot read the Parquet schema of {display_path(fs, files[0])!r}: {e}. The file "
                         f"is corrupt, truncated or not Parquet: rewrite it or remove it from {url!r}") from e


def _filter_expression(filters, available, url):
    """``(expression, names it reads)`` for ``filters``; names is None for a pyarrow expression."""
    if filters is None:
        return None, set()
    if isinstance(filters, ds.Expression):
        return filters, None
    if not isinstance(filters, (list, tuple)) or not filters:
        raise TypeError(f"filters must be a list of (column, op, value) tuples, a list of such lists, or a "
                        f"pyarrow.dataset expression, got {filters!r}")
    dnf = [filters] if isinstance(filters[0], tuple) else filters
    for conjunction in dnf:
        if not isinstance(conjunction, (list, tuple)) or not all(
                isinstance(t, tuple) and len(t) == 3 for t in conjunction):
            raise TypeError(f"each filter must be a (column, op, value) tuple, got {conjunction!r}")
    names = {t[0] for c in dnf for t in c}
    check_columns(sorted(names), available, where=repr(url))
    return pq.filters_to_expression(dnf), names


def _load_footers(fragments, fs):
    """Read every file's footer (in threads); a corrupt or truncated file is named in the error."""
    def load(fragment):
        try:
            fragment.ensure_complete_metadata()
        except pa.ArrowInvalid as e:
            raise ValueError(f"cannot read the Parquet footer of {display_path(fs, fragment.path)!r}: {e}. The "
                             f"file is corrupt, truncated or not Parquet: rewrite it or remove it") from e

    if len(fragments) < 2:
        return [load(f) for f in fragments]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(fragments))) as pool:
        list(pool.map(load, fragments))


def _compatible(a, b) -> bool:
    wide = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    return wide.get(a, a) == wide.get(b, b)


def _check_schemas(fragments, names, fs):
    """Raise if a selected column is missing from a file or has another type than in the first file."""
    if not fragments:
        return
    first = fragments[0]
    ref = first.physical_schema
    for fragment in fragments[1:]:
        schema = fragment.physical_schema
        for name in names:
            here = schema.field(name).type if name in schema.names else None
            there = ref.field(name).type if name in ref.names else None
            if here is None or there is None or not _compatible(here, there):
                a, b = display_path(fs, first.path), display_path(fs, fragment.path)
                raise ValueError(f"schema mismatch in column {name!r}: {there or 'missing'} in {a!r} but "
                                 f"{here or 'missing'} in {b!r}; rewrite the files with one schema, or read "
                                 f"them separately (or without {name!r} via columns=[...])")


def _pieces(fragment, names, target, split=True):
    """Pieces ``(path, row_groups, row_range, partition, nrows)`` of one file, sized towards ``target`` bytes."""
    meta = fragment.metadata
    wanted = set(names)
    idx = [j for j in range(meta.num_columns) if meta.schema.column(j).path.split(".")[0] in wanted]
    partition = ds.get_partition_keys(fragment.partition_expression)
    out, group, rows, size = [], [], 0, 0
    for rg in fragment.row_groups:
        n = rg.num_rows
        if n == 0:
            continue
        nbytes = sum(meta.row_group(rg.id).column(j).total_uncompressed_size for j in idx)
        if group and size + nbytes > target:
            out.append((fragment.path, tuple(group), None, partition, rows))
            group, rows, size = [], 0, 0
        if split and nbytes > 2 * target and n > 1:  # split only when a piece would be far over
            k = min(n, -(-nbytes // target))
            bounds = [n * i // k for i in range(k + 1)]
            out += [(fragment.path, (rg.id,), (a, b), partition, b - a) for a, b in zip(bounds, bounds[1:])]
            continue
        group.append(rg.id)
        rows += n
        size += nbytes
    if group:
        out.append((fragment.path, tuple(group), None, partition, rows))
    return out


def _frame(reader, pieces, known, fragments=None):
    """The Frame over ``pieces``: global RangeIndex and lengths when ``known``; ``fragments`` hold the footers."""
    import dask.dataframe as dd

    if not pieces:  # everything filtered out: one empty partition
        pieces = [None]
    lengths = [0 if p is None else p[-1] for p in pieces]
    offsets = [sum(lengths[:i]) for i in range(len(lengths))]
    args = [(p, o if known else None) for p, o in zip(pieces, offsets)]
    divisions = None
    if known and pieces[0] is not None:
        divisions = tuple(offsets) + (sum(lengths) - 1,)
    with building():
        ddf = dd.from_map(reader, args, meta=reader.meta(), divisions=divisions, label="read-parquet",
                          enforce_metadata=False)
    return Frame(ddf, tuple(lengths) if known else None, source=ParquetSource(reader, args, fragments))


# ------------------------------------------------------------------ tasks
def _partition_expression(partition, schema):
    terms = [ds.field(k).is_null() if v is None else ds.field(k) == pa.scalar(v, type=schema.field(k).type)
             for k, v in partition.items()]
    return functools.reduce(operator.and_, terms) if terms else None


class ParquetPieceReader:
    """Reads one piece into pandas: the function behind each task (``columns`` is dask's projection)."""

    def __init__(self, fs, schema, columns, row_filter):
        self.fs, self.filesystem = fs, arrow_filesystem(fs)
        self.schema, self.columns, self.row_filter = schema, list(columns), row_filter

    def __dask_tokenize__(self):
        return (type(self).__name__, self.fs.__dask_tokenize__(), self.schema.to_string(), self.columns,
                str(self.row_filter))

    def meta(self, columns=None):
        table = self.schema.empty_table().select(self.columns if columns is None else list(columns))
        return table.to_pandas()

    def __call__(self, piece_and_offset, columns=None):
        piece, offset = piece_and_offset
        columns = self.columns if columns is None else list(columns)
        if piece is None:
            return self.meta(columns)
        table = self.read_table(piece, columns)
        df = table.to_pandas(split_blocks=True, self_destruct=True)
        start = offset or 0
        df.index = pd.RangeIndex(start, start + len(df))
        return df

    def read_table(self, piece, columns):
        """The piece's rows of ``columns`` as a pyarrow Table."""
        path, row_groups, rows, partition, _ = piece
        fragment = _FORMAT.make_fragment(path, filesystem=self.filesystem, row_groups=list(row_groups),
                                         partition_expression=_partition_expression(partition, self.schema))
        url = display_path(self.fs, path)
        try:
            with storage_errors(url, self.fs):
                table = fragment.to_table(schema=self.schema, columns=columns, filter=self.row_filter)
        except pa.ArrowInvalid as e:
            raise ValueError(f"cannot read row groups {list(row_groups)} of {url!r}: {e}. The file is corrupt "
                             f"or truncated: rewrite it") from e
        return table if rows is None else table.slice(rows[0], rows[1] - rows[0])

    def scan(self, pieces, columns, fragments=None):
        """All ``pieces`` as one Table from one ``pyarrow.dataset`` scan, or None where that cannot serve.

        Arrow then reads column chunks of many row groups at once on its own
        I/O and CPU threads, as ``pyarrow.parquet.read_table`` does (a piece a
        task left two scheduler threads waiting on each other's reads). Row
        ranges (split row groups) keep the piece-by-piece path, and so does a
        scan that fails: that path names the file at fault. ``fragments``
        (path to the planner's fragment) spare reading the footers again.
        """
        if not pieces or any(p is None or p[2] is not None for p in pieces):
            return None
        fragments = fragments or {}
        parts = [fragments[path].subset(row_group_ids=list(groups)) if path in fragments else
                 _FORMAT.make_fragment(path, filesystem=self.filesystem, row_groups=list(groups),
                                       partition_expression=_partition_expression(partition, self.schema))
                 for path, groups, _, partition, _ in pieces]
        dataset = ds.FileSystemDataset(parts, self.schema, _FORMAT, self.filesystem)
        try:
            with storage_errors(display_path(self.fs, pieces[0][0]), self.fs):
                return dataset.to_table(columns=columns, filter=self.row_filter, use_threads=True)
        except (pa.ArrowInvalid, OSError):
            return None

    def read_arrow(self, piece_and_offset, columns):
        """The piece's rows of ``columns`` as a pyarrow Table (an empty one for the empty piece)."""
        piece, _ = piece_and_offset
        return self.schema.empty_table().select(columns) if piece is None else self.read_table(piece, columns)

    def read_numpy(self, piece_and_offset, columns, dtype, ndim):
        """The piece's ``columns`` as one NumPy block of ``dtype`` (1-D when ``ndim`` is 1); nulls become NaN."""
        piece, _ = piece_and_offset
        if piece is None:
            return np.empty((0, len(columns))[:ndim], dtype=dtype)
        table = self.read_table(piece, columns)
        out = np.empty((table.num_rows, len(columns)), dtype=dtype)
        for j, column in enumerate(table.columns):
            if column.null_count and dtype.kind in "biu":
                raise ValueError(f"column {columns[j]!r} has missing values, which {dtype} cannot hold; "
                                 f"pass to_tensor(dtype='float64') to read them as NaN")
            start = 0
            for chunk in column.chunks:  # straight into the block: no concatenated column in between
                out[start:start + len(chunk), j] = chunk.to_numpy(zero_copy_only=False)
                start += len(chunk)
        return out[:, 0] if ndim == 1 else out


class FilteredPieceReader:
    """Reads one piece's rows where a condition holds, with their global row positions as the index."""

    def __init__(self, reader, expr, names):
        self.reader, self.expr, self.names = reader, expr, list(names)

    def __dask_tokenize__(self):
        return (type(self).__name__, self.reader.__dask_tokenize__(), str(self.expr), self.names)

    def meta(self, columns=None):
        return self.reader.meta(columns)

    def __call__(self, piece_and_spans, columns=None):
        piece, spans = piece_and_spans
        columns = self.reader.columns if columns is None else list(columns)
        if piece is None:
            return self.meta(columns)
        table = self.reader.read_table(piece, columns + [n for n in self.names if n not in columns])
        position = np.concatenate([np.arange(a, a + n, dtype=np.int64) for a, n in spans])
        table = table.append_column("__chunkflow_row__", pa.array(position)).filter(self.expr)
        index = pd.Index(table.column("__chunkflow_row__").to_numpy())
        df = table.select(columns).to_pandas(split_blocks=True, self_destruct=True)
        df.index = index
        return df


class ParquetSource:
    """A Parquet Frame's pieces read without pandas partitions: NumPy blocks, or one pandas result.

    ``Frame.to_tensor`` gets a dask array whose blocks come straight from
    Arrow; ``Frame.compute`` concatenates the pieces' Arrow tables (no copy)
    and converts once, as ``pyarrow.parquet.read_table(...).to_pandas()``
    does, instead of converting each partition and concatenating the frames.
    """

    def __init__(self, reader, args, fragments=None):
        self.reader, self.args, self.fragments = reader, args, fragments

    def to_arrow(self, columns, scheduler):
        if scheduler == "threads":  # in this process: one Arrow scan reads the pieces with Arrow's threads
            table = self.reader.scan([arg[0] for arg in self.args], list(columns), self.fragments)
            if table is not None:
                return table
        read = dask.delayed(self.reader.read_arrow, pure=True)
        tables = dask.compute(*[read(arg, list(columns)) for arg in self.args], scheduler=scheduler)
        return pa.concat_tables(tables)

    def to_pandas(self, columns, ndim, scheduler):
        df = self.to_arrow(columns, scheduler).to_pandas(self_destruct=True)
        return df[columns[0]] if ndim == 1 else df

    def filtered(self, expr, names, columns):
        """A Frame of ``columns`` of the rows where ``expr`` holds, keeping their index labels (None when
        the row groups' statistics rule none of them out: then filtering after the read is cheaper).

        Row groups whose statistics rule ``expr`` out are dropped before
        anything is read (``fragment.subset``, from the footers the planner
        kept); each remaining piece reads its row groups' ``columns`` and the
        condition's columns ``names``, then keeps the matching rows. Index
        labels are the rows' global positions, as a pandas filter keeps them.
        """
        import dask.dataframe as dd

        kept, args, pruned = {}, [], False
        for piece, offset in self.args:
            if piece is None:
                continue
            path, groups, rows, partition, _ = piece
            fragment = self.fragments[path]
            if path not in kept:
                with storage_errors(display_path(self.reader.fs, path), self.reader.fs):
                    sub = fragment.subset(filter=expr, schema=self.reader.schema)
                kept[path] = set() if sub is None else {rg.id for rg in sub.row_groups}
            spans, start = [], offset
            for g in groups:
                n = fragment.metadata.row_group(g).num_rows if rows is None else rows[1] - rows[0]
                if g in kept[path]:
                    spans.append((g, start, n))
                else:
                    pruned = True
                start += n
            if spans:
                args.append(((path, tuple(g for g, _, _ in spans), rows, partition, None),
                             tuple((a, n) for _, a, n in spans)))
        if not pruned:  # statistics rule nothing out: pandas' own filter after the read is cheaper
            return None
        reader = FilteredPieceReader(self.reader, expr, sorted(names))
        if not args:
            args = [(None, ())]
        divisions = None
        if args[0][0] is not None:
            divisions = tuple(spans[0][0] for _, spans in args) + (args[-1][1][-1][0] + args[-1][1][-1][1] - 1,)
        with building():
            ddf = dd.from_map(reader, args, meta=reader.meta(), divisions=divisions, label="read-parquet-where",
                              enforce_metadata=False)
        return Frame(ddf[list(columns)])

    def dask_array(self, columns, dtype, lengths, ndim):
        dtype = np.dtype(dtype)
        name = "read-parquet-tensor-" + tokenize(self.reader, self.args, columns, dtype.str, ndim)
        tail = (0,) if ndim == 2 else ()
        dsk = {(name, i, *tail): (self.reader.read_numpy, arg, list(columns), dtype, ndim)
               for i, arg in enumerate(self.args)}
        chunks = (tuple(lengths),) + (((len(columns),),) if ndim == 2 else ())
        return da.Array(HighLevelGraph.from_collections(name, dsk, dependencies=()), name, chunks,
                        meta=np.empty((0,) * ndim, dtype=dtype))


# ------------------------------------------------------------------ writing
def write_parts(fs, path, url, overwrite, tasks):
    """Run the delayed part writers ``tasks`` between ``begin_dataset`` and ``commit_dataset``."""
    from ..runtime import get_scheduler

    with storage_errors(url, fs):
        begin_dataset(fs, path, overwrite=overwrite, url=url)
    with storage_errors(url, fs):
        results = dask.compute(*tasks, scheduler=get_scheduler())
        commit_dataset(fs, path)
    return results


def _write_table(table, fs, path, **options):
    parent = path.rsplit("/", 1)[0]
    fs.makedirs(parent, exist_ok=True)
    with fs.open(path, "wb") as f:
        pq.write_table(table, f, **options)
    return table.num_rows


def _hive_value(v) -> str:
    from urllib.parse import quote

    return _HIVE_NULL if pd.isna(v) else quote(str(v), safe="")


def _write_frame_part(df, fs, path, i, partition_on, options):
    if isinstance(df, pd.Series):
        df = df.to_frame()
    name = f"part.{i:05d}.parquet"
    if not partition_on:
        return _write_table(pa.Table.from_pandas(df, preserve_index=False), fs, f"{path}/{name}", **options)
    n = 0
    for keys, group in df.groupby(partition_on, dropna=False, observed=True, sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        folder = "/".join(f"{k}={_hive_value(v)}" for k, v in zip(partition_on, keys))
        table = pa.Table.from_pandas(group.drop(columns=partition_on), preserve_index=False)
        n += _write_table(table, fs, f"{path}/{folder}/{name}", **options)
    return n


def write_frame(frame, url, partition_on=None, overwrite=False, storage_options=None, **options):
    """Write ``frame`` as a Parquet dataset directory at ``url``; returns the number of rows written.

    One ``part.NNNNN.parquet`` per partition (per partition and key with
    ``partition_on``, in hive ``key=value/`` folders). ``options`` go to
    ``pyarrow.parquet.write_table`` (``compression``, ``row_group_size``).
    The index is not written.
    """
    fs, path = url_to_fs(url, storage_options)
    partition_on = [] if partition_on is None else check_columns(partition_on, frame.columns)
    if partition_on and set(partition_on) == set(frame.columns):
        raise ValueError(f"partition_on={partition_on} leaves no columns to write; keep at least one data column")
    parts = frame.to_dask().to_delayed()
    write = dask.delayed(_write_frame_part, pure=False)
    tasks = [write(part, fs, path, i, partition_on, options) for i, part in enumerate(parts)]
    return sum(write_parts(fs, path, url, overwrite, tasks))


def _write_block(block, fs, path, names, options):
    block = block.reshape(len(block), -1)
    table = pa.table({name: block[:, j] for j, name in enumerate(names)})
    return _write_table(table, fs, path, **options)


def write_tensor(tensor, url, columns=None, overwrite=False, storage_options=None, **options):
    """Write a 1-D or 2-D Tensor as a Parquet dataset, one file per row chunk; columns named ``columns``.

    Column names default to ``c0, c1, ...``; returns the number of rows written. A GPU
    Tensor's chunks are copied to the host in their tasks first.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"write_tensor takes a chunkflow Tensor, got {type(tensor).__name__}")
    if tensor.ndim not in (1, 2):
        raise ValueError(f"Parquet holds tables: a Tensor with 1 or 2 axes, got shape {tensor.shape}; "
                         f"reshape it first")
    ncols = 1 if tensor.ndim == 1 else tensor.shape[1]
    names = [f"c{j}" for j in range(ncols)] if columns is None else list(columns)
    if len(names) != ncols or not all(isinstance(n, str) for n in names) or len(set(names)) != ncols:
        raise ValueError(f"columns must be {ncols} distinct names (one per column of shape {tensor.shape}), "
                         f"got {columns!r}")
    fs, path = url_to_fs(url, storage_options)
    darr = host_dask(tensor)
    if darr.ndim == 2:
        darr = darr.rechunk({1: -1})
    write = dask.delayed(_write_block, pure=False)
    tasks = [write(b, fs, f"{path}/part.{i:05d}.parquet", names, options)
             for i, b in enumerate(darr.to_delayed().ravel())]
    return sum(write_parts(fs, path, url, overwrite, tasks))


def _tensor_to_parquet(self, url, columns=None, overwrite=False, storage_options=None, **options):
    """Write this 1-D/2-D Tensor as a Parquet dataset (see ``chunkflow.io.parquet.write_tensor``)."""
    return write_tensor(self, url, columns=columns, overwrite=overwrite, storage_options=storage_options, **options)


Tensor.to_parquet = _tensor_to_parquet  # the core does not import io: the method is attached here
