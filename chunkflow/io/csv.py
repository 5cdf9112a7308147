"""CSV files as Frames, read in byte-range blocks; Frames written as CSV parts with a commit.

Planning, on the client: list the files (one file, a glob or a directory;
see ``parquet.list_data_files``), take their sizes, and cut each file into
byte ranges of ``blocksize`` (default: the memory-budget rule of
``chunkflow.config.auto_chunk_bytes``). The header and the column types come
from a sample at the start of the first file (``sample`` bytes, cut at the
last full line) read with ``pyarrow.csv``; ``dtype=`` overrides inferred
types and ``columns=`` selects columns. A column that is empty throughout the
sample is read as strings.

Each task reads one range ``(path, offset, length)``: it holds the lines that
*start* inside the range (fsspec's ``read_block`` snaps both ends to the next
newline), so neighbouring tasks neither lose nor repeat a line. The first
block of every file drops that file's header after checking it names the same
columns as the first file's. The names and types found by planning are
applied to every block, so all partitions agree. A value that does not parse
as its column's type raises an error naming the file and byte range, and the
``dtype=`` override that fixes it.

Limits: quoted fields must not contain newlines (a block boundary could fall
inside one; use ``blocksize=None`` to read each file whole), and files are
not decompressed. Partition lengths are unknown until read, so
``Frame.to_tensor`` runs a counting pass.
"""
from __future__ import annotations

import io

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from fsspec.utils import read_block

from .. import config
from ..frame.frame import Frame, building, check_columns
from .fs import storage_errors, url_to_fs
from .parquet import display_path, list_data_files, open_input, write_parts

__all__ = ["read_csv", "write_frame_csv", "CsvBlockReader"]

_SAMPLE = 256 * 2**10


def read_csv(url, columns=None, dtype=None, blocksize="auto", storage_options=None, header=True,
             delimiter=",", sample=_SAMPLE) -> Frame:
    """A Frame reading the CSV file, glob or directory at ``url`` in byte-range blocks.

    ``dtype`` is one type for every column or a dict ``{column: type}``
    (NumPy/pandas dtype names or pyarrow types); ``blocksize`` is bytes, a
    string like ``"64MiB"``, ``"auto"`` or None (one block per file).
    """
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character, got {delimiter!r}")
    fs, path = url_to_fs(url, storage_options)
    files, _ = list_data_files(fs, path, url)
    with storage_errors(url, fs):
        sizes = [fs.size(f) for f in files]
        head = _sample(fs, files[0], sizes[0], config.parse_bytes(sample))
    schema = _infer_schema(head, header, delimiter, dtype, display_path(fs, files[0]))
    columns = schema.names if columns is None else check_columns(columns, schema.names, where=repr(url))
    block = _blocksize(blocksize)
    pieces = [(f, off, length, off == 0) for f, size in zip(files, sizes) for off, length in _ranges(size, block)]
    reader = CsvBlockReader(fs, schema, columns, header, delimiter)
    import dask.dataframe as dd

    with building():
        ddf = dd.from_map(reader, pieces, meta=reader.meta(), label="read-csv", enforce_metadata=False)
    return Frame(ddf, None)


def _blocksize(blocksize):
    if blocksize is None:
        return None
    if blocksize == "auto":
        return config.auto_chunk_bytes()
    return config.parse_bytes(blocksize)


def _ranges(size, block):
    if not size or block is None:
        return [(0, size)]
    return [(off, min(block, size - off)) for off in range(0, size, block)]


def _sample(fs, path, size, nbytes) -> bytes:
    with open_input(fs, path) as f:
        data = f.read(min(size, nbytes))
    if len(data) < size:  # keep whole lines only
        data = data[: data.rfind(b"\n") + 1]
    return data


def _arrow_type(spec, where):
    if isinstance(spec, pa.DataType):
        return spec
    if spec in (str, "str", "string", "object"):
        return pa.string()
    try:
        return pa.from_numpy_dtype(np.dtype(spec))
    except TypeError as e:
        raise TypeError(f"dtype {spec!r} for {where} is not understood; use a NumPy dtype name such as "
                        f"'float64', 'int64', 'bool', 'str', or a pyarrow type") from e


def _infer_schema(sample, header, delimiter, dtype, where):
    """The column names and types of the first file, from its first lines (``dtype`` overriding)."""
    if not sample.strip():
        raise ValueError(f"{where!r} is empty: no header or rows to learn the columns from")
    read = pacsv.ReadOptions(autogenerate_column_names=not header)
    try:
        table = pacsv.read_csv(io.BytesIO(sample), read_options=read,
                               parse_options=pacsv.ParseOptions(delimiter=delimiter),
                               convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except pa.ArrowInvalid as e:
        raise ValueError(f"cannot parse the start of {where!r} as CSV: {e}") from e
    schema = table.schema
    # dates stay strings, as pandas.read_csv leaves them without parse_dates (dtype= converts them)
    types = {f.name: (pa.string() if pa.types.is_null(f.type) or pa.types.is_temporal(f.type) else f.type)
             for f in schema}
    if dtype is not None:
        if isinstance(dtype, dict):
            check_columns(list(dtype), list(types), where=repr(where))
            types.update({k: _arrow_type(v, f"column {k!r}") for k, v in dtype.items()})
        else:
            types = {k: _arrow_type(dtype, "every column") for k in types}
    return pa.schema([(name, types[name]) for name in schema.names])


class CsvBlockReader:
    """Reads the lines that start in one byte range into pandas (the function behind each task)."""

    def __init__(self, fs, schema, columns, header, delimiter):
        self.fs, self.schema, self.columns = fs, schema, list(columns)
        self.header, self.delimiter = header, delimiter

    def __dask_tokenize__(self):
        return (type(self).__name__, self.fs.__dask_tokenize__(), self.schema.to_string(), self.columns,
                self.header, self.delimiter)

    def meta(self, columns=None):
        return self.schema.empty_table().select(self.columns if columns is None else list(columns)).to_pandas()

    def __call__(self, piece, columns=None):
        path, offset, length, first = piece
        columns = self.columns if columns is None else list(columns)
        url = display_path(self.fs, path)
        with storage_errors(url, self.fs):
            with open_input(self.fs, path) as f:
                data = f.read() if length is None else read_block(f, offset, length, delimiter=b"\n")
        if first and self.header:
            data = self._drop_header(data, url)
        if not data.strip():
            return self.meta(columns)
        names = self.schema.names
        # an empty field is missing, also in a string column (pandas.read_csv's NaN; pyarrow would give "")
        convert = pacsv.ConvertOptions(column_types=dict(zip(names, self.schema.types)), include_columns=columns,
                                       strings_can_be_null=True)
        try:
            table = pacsv.read_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(column_names=names),
                                   parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                                   convert_options=convert)
        except pa.ArrowInvalid as e:
            raise ValueError(f"cannot parse bytes {offset}..{offset + (length or 0)} of {url!r}: {e}. The column "
                             f"types came from the first lines of the first file; if a column holds other "
                             f"values later, pass dtype={{'column': 'float64'}} (or 'str') to read_csv") from e
        return table.to_pandas()

    def _drop_header(self, data, url):
        end = data.find(b"\n")
        line, rest = (data, b"") if end < 0 else (data[:end + 1], data[end + 1:])
        found = pacsv.read_csv(io.BytesIO(line), parse_options=pacsv.ParseOptions(delimiter=self.delimiter)).column_names
        if found != self.schema.names:
            raise ValueError(f"the header of {url!r} names columns {found}, but the first file's names "
                             f"{self.schema.names}; read files with different columns separately")
        return rest


def _write_csv_part(df, fs, path):
    if isinstance(df, pd.Series):
        df = df.to_frame()
    with fs.open(path, "wb") as f:
        pacsv.write_csv(pa.Table.from_pandas(df, preserve_index=False), f)
    return len(df)


def write_frame_csv(frame, url, overwrite=False, storage_options=None):
    """Write ``frame`` as a directory of ``part.NNNNN.csv`` files with headers; returns the rows written."""
    fs, path = url_to_fs(url, storage_options)
    write = dask.delayed(_write_csv_part, pure=False)
    tasks = [write(part, fs, f"{path}/part.{i:05d}.csv") for i, part in enumerate(frame.to_dask().to_delayed())]
    return sum(write_parts(fs, path, url, overwrite, tasks))
