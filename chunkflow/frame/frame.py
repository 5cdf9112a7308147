"""``Frame``: a chunked table on dask.dataframe that knows its partition lengths.

A Frame wraps a dask DataFrame (or Series, after ``frame["col"]``) and, when
it knows them, the number of rows in each partition. Readers learn the lengths
from file metadata (Parquet row-group footers), so ``to_tensor`` can give a
Tensor whose row chunks are known before anything runs, and chunkflow's
shape checks work on it at once. An operation that drops an unknown number of
rows (a row filter; a CSV read) leaves the lengths unknown; ``to_tensor`` then
runs one counting pass (``len`` of every partition, with dask's column
projection reading as little as it can) before building the Tensor.

The pandas-like API is deliberately small here: the engine is dask.dataframe
(``to_dask()`` gives it back), and the table API grows on top of it rather
than beside it.
"""
from __future__ import annotations

import contextlib
import difflib
import math

import numpy as np
import pandas as pd

__all__ = ["Frame", "from_pandas", "from_dask_dataframe", "ColumnNotFoundError", "check_columns", "building"]


def building():
    """Context for building dask DataFrames: pandas' own ``str`` dtype kept where it is the default.

    dask converts string columns to ``string[pyarrow]`` (NA semantics). With
    pandas >= 3 the default ``str`` dtype is already Arrow-backed, so the
    conversion only changes dtypes and missing-value semantics from pandas'.
    """
    import dask

    keep = pd.Series(["a"]).dtype != object  # pandas infers its Arrow-backed str dtype
    return dask.config.set({"dataframe.convert-string": False}) if keep else contextlib.nullcontext()


class ColumnNotFoundError(KeyError, ValueError):
    """A column name that the table does not have (a KeyError for pandas users, a ValueError for readers)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def check_columns(requested, available, where="the table") -> list:
    """``requested`` as a list of names, each checked against ``available``.

    A missing name raises :class:`ColumnNotFoundError` listing what exists and
    the closest match.

    >>> check_columns("a", ["a", "b"])
    ['a']
    """
    available = list(available)
    names = [requested] if isinstance(requested, str) else requested
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"columns must be a column name or a list of names, got {requested!r}")
    for name in names:
        if name not in available:
            close = difflib.get_close_matches(name, available, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ColumnNotFoundError(f"column {name!r} is not in {where}; available columns: {available}{hint}")
    if len(set(names)) != len(names):
        raise ValueError(f"columns {list(names)} name a column more than once")
    return list(names)


class Frame:
    """A lazy table split into row partitions (see the module docstring)."""

    __slots__ = ("_ddf", "_lengths", "_source")

    def __init__(self, ddf, lengths=None, source=None):
        import dask.dataframe as dd

        if not isinstance(ddf, (dd.DataFrame, dd.Series)):
            raise TypeError(f"Frame wraps a dask DataFrame or Series, got {type(ddf).__name__}; "
                            f"use cf.from_pandas for a pandas DataFrame")
        if lengths is not None:
            lengths = tuple(int(n) for n in lengths)
            if len(lengths) != ddf.npartitions:
                raise ValueError(f"{len(lengths)} partition lengths given for {ddf.npartitions} partitions")
        self._ddf = ddf
        self._lengths = lengths
        # a reader that can make NumPy blocks of the same partitions directly (see to_tensor); None if not
        self._source = source

    # ------------------------------------------------------------ metadata
    @property
    def columns(self) -> list:
        """Column names (one name for a single-column Frame made by ``frame["col"]``)."""
        return [self._ddf.name] if self.ndim == 1 else list(self._ddf.columns)

    @property
    def dtypes(self) -> pd.Series:
        """The pandas dtype of each column."""
        meta = self._ddf._meta
        return pd.Series({meta.name: meta.dtype}) if self.ndim == 1 else meta.dtypes

    @property
    def ndim(self) -> int:
        return self._ddf.ndim

    @property
    def npartitions(self) -> int:
        return self._ddf.npartitions

    @property
    def lengths(self):
        """Rows per partition as a tuple, or None when unknown until the data is read."""
        return self._lengths

    @property
    def shape(self) -> tuple:
        n = sum(self._lengths) if self._lengths is not None else math.nan
        return (n,) if self.ndim == 1 else (n, len(self.columns))

    def __len__(self):
        if self._lengths is not None:
            return sum(self._lengths)
        return int(len(self._ddf))  # one counting pass

    def __repr__(self):
        rows = sum(self._lengths) if self._lengths is not None else "unknown"
        return (f"Frame(rows={rows}, npartitions={self.npartitions}, "
                f"columns={dict(zip(self.columns, map(str, self.dtypes)))})")

    # ------------------------------------------------------------ selection
    def __getitem__(self, key) -> "Frame":
        """``frame["a"]`` (one column) or ``frame[["a", "b"]]``; the reader then reads only those."""
        if self.ndim == 1:
            raise TypeError(f"this Frame is the single column {self.columns[0]!r}; it has no columns to select")
        if isinstance(key, str):
            check_columns(key, self.columns)
        elif isinstance(key, (list, tuple)):
            key = check_columns(list(key), self.columns)
        else:
            raise TypeError(f"select columns with a name or a list of names, got {key!r}")
        return Frame(self._ddf[key], self._lengths, self._source)

    # ------------------------------------------------------------ results
    def to_dask(self):
        """The dask DataFrame (or Series) behind this Frame."""
        return self._ddf

    def compute(self, scheduler=None):
        """The whole table as a pandas DataFrame (or Series)."""
        from ..runtime import get_scheduler

        if self._source is not None and self._lengths is not None:  # straight from a reader: one conversion
            return self._source.to_pandas(self.columns, self.ndim, get_scheduler(scheduler))
        return self._ddf.compute(scheduler=get_scheduler(scheduler))

    def head(self, n=5, scheduler=None):
        """The first ``n`` rows as pandas, reading only the partitions that hold them (all if lengths are unknown)."""
        from ..runtime import get_scheduler

        if self._lengths is None:
            k = -1
        else:
            total, k = 0, 0
            while k < len(self._lengths) and total < n:
                total += self._lengths[k]
                k += 1
        return self._ddf.head(n, npartitions=max(k, 1), compute=False).compute(scheduler=get_scheduler(scheduler))

    def to_arrow(self, scheduler=None):
        """The whole table as a ``pyarrow.Table``."""
        import pyarrow as pa

        from ..runtime import get_scheduler

        if self._source is not None and self._lengths is not None:
            return self._source.to_arrow(self.columns, get_scheduler(scheduler))
        out = self.compute(scheduler)
        out = out.to_frame() if isinstance(out, pd.Series) else out
        return pa.Table.from_pandas(out, preserve_index=False)

    def to_tensor(self, columns=None, dtype=None):
        """A 2-D Tensor of the numeric ``columns`` (1-D for a single-column Frame), rows chunked by partition.

        The row chunks are the partition lengths, known from metadata when the
        Frame came from Parquet without a row filter; otherwise one counting
        pass runs first. ``dtype`` defaults to NumPy's common type of the
        columns. A Frame straight from a reader builds each block from the
        file's columns without a pandas DataFrame in between.
        """
        from ..core.graph import source_from_dask

        frame = self if columns is None else self[columns]
        ddf = frame._ddf
        target = _tensor_dtype(frame.dtypes, dtype)
        lengths = frame._lengths
        if lengths is None:  # unknown until read: one counting pass, reading one column
            one = ddf if frame.ndim == 1 else ddf[frame.columns[0]]
            lengths = tuple(int(n) for n in one.map_partitions(len).compute())
        if frame._source is not None:
            return source_from_dask(frame._source.dask_array(frame.columns, target, lengths, frame.ndim))
        if any(t != target for t in frame.dtypes):  # also turns nullable NA into NaN
            ddf = ddf.astype(target)
        darr = ddf.to_dask_array(lengths=list(lengths))
        if darr.dtype != target:
            darr = darr.astype(target)
        return source_from_dask(darr)

    # ------------------------------------------------------------ writing
    def to_parquet(self, url, partition_on=None, overwrite=False, storage_options=None, **kwargs):
        """Write a Parquet dataset directory, committed atomically (see ``chunkflow.io.parquet``)."""
        from ..io.parquet import write_frame

        return write_frame(self, url, partition_on=partition_on, overwrite=overwrite,
                           storage_options=storage_options, **kwargs)

    def to_csv(self, url, overwrite=False, storage_options=None, **kwargs):
        """Write a directory of CSV parts with headers, committed atomically (see ``chunkflow.io.csv``)."""
        from ..io.csv import write_frame_csv

        return write_frame_csv(self, url, overwrite=overwrite, storage_options=storage_options, **kwargs)


def _tensor_dtype(dtypes, dtype):
    """The NumPy dtype a Tensor of columns with pandas ``dtypes`` gets; TypeError for non-numeric columns."""
    bad = [name for name, t in dtypes.items()
           if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
           or isinstance(t, pd.CategoricalDtype)]
    if bad:
        raise TypeError(f"columns {bad} are not numeric ({[str(dtypes[b]) for b in bad]}); select numeric "
                        f"columns with to_tensor(columns=[...]) or encode them first")
    if dtype is not None:
        return np.dtype(dtype)
    numpy_types = [np.dtype(getattr(t, "numpy_dtype", t)) for t in dtypes]
    out = np.result_type(*numpy_types)
    nullable = any(isinstance(t, pd.api.extensions.ExtensionDtype) for t in dtypes)
    if nullable and out.kind in "biu":  # pandas' nullable ints may hold NA: NaN needs a float
        out = np.result_type(out, np.float64)
    return out


def from_pandas(df, npartitions=None, chunksize=None) -> Frame:
    """A Frame from a pandas DataFrame split into ``npartitions`` (default 1) row partitions.

    >>> import pandas as pd
    >>> f = from_pandas(pd.DataFrame({"a": [1, 2, 3]}), npartitions=2)
    >>> f.lengths
    (2, 1)
    """
    import dask.dataframe as dd

    if not isinstance(df, (pd.DataFrame, pd.Series)):
        raise TypeError(f"from_pandas takes a pandas DataFrame or Series, got {type(df).__name__}")
    if npartitions is None and chunksize is None:
        npartitions = 1
    with building():
        ddf = dd.from_pandas(df, npartitions=npartitions, chunksize=chunksize, sort=False)
    lengths = ddf.map_partitions(len).compute(scheduler="sync")  # pandas in memory: free
    return Frame(ddf, tuple(int(n) for n in lengths))


def from_dask_dataframe(ddf, lengths=None) -> Frame:
    """A Frame from a dask DataFrame; give ``lengths`` (rows per partition) if known."""
    return Frame(ddf, lengths)
