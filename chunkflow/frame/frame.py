"""``Frame``: a chunked table on dask.dataframe that knows its partition lengths.

A Frame wraps a dask DataFrame and, when it knows them, the number of rows in
each partition; ``frame["col"]`` gives a :class:`~chunkflow.frame.series.Series`
(a Frame subclass of one column). Readers learn the lengths from file metadata
(Parquet row-group footers), so ``to_tensor`` can give a Tensor whose row
chunks are known before anything runs, and chunkflow's shape checks work on it
at once. Operations that keep every row (column selection, ``assign``,
``astype``, ``rename``, ``drop``, ``fillna``, ``isna``, ``clip``, ``where``,
arithmetic, ``get_dummies``) keep the lengths; an operation that drops an
unknown number of rows (a row filter, ``query``, ``dropna``, ``sample``, a
merge, a groupby; a CSV read) leaves them unknown, and ``to_tensor`` then runs
one counting pass (``len`` of every partition, with dask's column projection
reading as little as it can) before building the Tensor.

The engine is dask.dataframe (``to_dask()`` gives it back): every method here
is a thin, validated call of the dask method of the same name, with pandas'
semantics. chunkflow adds the lengths, errors that name the column and the
fix, encoders whose output feeds ``chunkflow.ml``, and ``to_tensor(s)``.
Where results are computed: reductions to one value per column (``sum``,
``mean``, ``describe``, ``unique``, ...) compute at once and return pandas or
NumPy, as in pandas; anything as long as the data (row filters, groupby,
merge, ``value_counts``) stays a lazy Frame until ``compute()``.

Modules: ``ops`` (operators, cleaning, reductions), ``rows`` (filters, sorting),
``series`` and ``accessors`` (one column, ``.str``/``.dt``), ``groupby``,
``combine`` (merge, concat), ``encode`` (categorize, one-hot, ordinal).
"""
from __future__ import annotations

import contextlib
import difflib
import math

import numpy as np
import pandas as pd

from ..backend import requested_device
from .ops import ColumnOps, unwrap
from .rows import RowOps

__all__ = ["Frame", "from_pandas", "from_dask_dataframe", "from_dask", "ColumnNotFoundError", "check_columns",
           "building"]


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


def _is_dask_series(obj) -> bool:
    import dask.dataframe as dd

    return isinstance(obj, dd.Series)


class Frame(ColumnOps, RowOps):
    """A lazy table split into row partitions (see the module docstring).

    >>> import pandas as pd, chunkflow as cf
    >>> f = cf.from_pandas(pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 0.0, 2.0]}), npartitions=2)
    >>> g = f.assign(c=f["a"] * f["b"])
    >>> g.lengths, g["c"].sum()
    ((2, 1), np.float64(6.5))
    """

    __slots__ = ("_ddf", "_lengths", "_source", "_pred")

    def __new__(cls, ddf=None, lengths=None, source=None):
        if cls is Frame and _is_dask_series(ddf):  # one column: the Series subclass
            from .series import Series

            cls = Series
        return object.__new__(cls)

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
        self._pred = None  # a row condition the reader can apply (frame.pushdown), on boolean columns

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
        """``frame["a"]`` (a Series), ``frame[["a", "b"]]`` (the reader then reads only those) or ``frame[mask]``."""
        if isinstance(key, Frame):
            return self._filter(key)
        if self.ndim == 1:
            raise TypeError(f"this Frame is the single column {self.columns[0]!r}; it has no columns to select")
        if isinstance(key, str):
            check_columns(key, self.columns)
        elif isinstance(key, (list, tuple)):
            key = check_columns(list(key), self.columns)
        else:
            raise TypeError(f"select columns with a name or a list of names, got {key!r}")
        return Frame(self._ddf[key], self._lengths, self._source)

    def __getattr__(self, name):
        """``frame.a`` for ``frame["a"]`` when ``a`` is a column name that is not a method; otherwise
        dask.dataframe's method of that name (``sort_index``, ``cumsum``, ``reset_index``, ...), wrapped."""
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(type(self), name, None)
        if isinstance(attr, property):  # a property that raised AttributeError: let its message through
            return attr.fget(self)
        columns = self.columns if self.ndim == 2 else []
        if name in columns:
            return self[name]
        if name not in _NOT_DELEGATED and hasattr(type(self._ddf), name):  # pandas' API, as dask offers it
            return _delegated(self._ddf, name)
        close = difflib.get_close_matches(name, columns, n=1)
        hint = f"; did you mean the column {close[0]!r}?" if close else ""
        raise AttributeError(f"{type(self).__name__!r} object has no attribute or column {name!r}{hint}")

    def __setitem__(self, name, value):
        """``frame["c"] = value``: :meth:`assign` in place (this Frame object now holds the new table)."""
        if not isinstance(name, str):
            raise TypeError(f"set one column by name, got {name!r}")
        out = self.assign(**{name: value})
        self._ddf, self._lengths, self._source = out._ddf, out._lengths, None

    def __iter__(self):
        """The column names, as iterating a pandas DataFrame gives (values need ``compute()`` first)."""
        if self.ndim == 1:
            raise TypeError(f"iterating the lazy column {self.columns[0]!r} would read it; use .compute() first")
        return iter(self.columns)

    def __dir__(self):
        return sorted(set(super().__dir__()) | {c for c in self.columns if isinstance(c, str) and c.isidentifier()})

    # ------------------------------------------------------------ columns
    def assign(self, **columns) -> "Frame":
        """New or replaced columns, in order; each value a Series, a scalar or ``fn(frame) -> value`` (pandas' ``assign``).

        Row lengths are kept: assignment aligns the value to this Frame's rows.
        """
        if self.ndim == 1:
            raise TypeError("assign works on a table; use to_frame() first")
        ddf = self._ddf
        for name, value in columns.items():
            if callable(value) and not isinstance(value, Frame):
                value = value(Frame(ddf, self._lengths))
            if isinstance(value, Frame) and value.ndim != 1:
                raise TypeError(f"assign {name}=... takes one column, got a Frame with columns {value.columns}")
            ddf = ddf.assign(**{name: unwrap(value)})
        return Frame(ddf, self._lengths)

    def rename(self, columns=None):
        """Columns renamed by the dict or function ``columns``."""
        if isinstance(columns, dict):
            check_columns(list(columns), self.columns)
        elif not callable(columns):
            raise TypeError(f"rename(columns=...) takes a dict {{old: new}} or a function, got {columns!r}")
        return Frame(self._ddf.rename(columns=columns), self._lengths)

    def drop(self, columns=None):
        """This table without ``columns`` (a name or a list)."""
        if columns is None:
            raise TypeError("drop(columns=...) needs the column names to drop (rows are not dropped by label)")
        return Frame(self._ddf.drop(columns=check_columns(columns, self.columns)), self._lengths)

    def select_dtypes(self, include=None, exclude=None):
        """The columns whose dtypes match (pandas' ``select_dtypes``)."""
        return self[list(self._ddf._meta.select_dtypes(include=include, exclude=exclude).columns)]

    # ------------------------------------------------------------ aggregation, joins, encoding
    def groupby(self, by, dropna=True, sort=True):
        """Rows grouped by the column(s) ``by``; see :class:`chunkflow.frame.groupby.GroupBy`."""
        from .groupby import GroupBy

        return GroupBy(self, by, dropna=dropna, sort=sort)

    def merge(self, right, how="inner", on=None, left_on=None, right_on=None, suffixes=("_x", "_y"),
              broadcast=None):
        """A database-style join (see :func:`chunkflow.frame.combine.merge`); a small side is broadcast."""
        from .combine import merge

        return merge(self, right, how=how, on=on, left_on=left_on, right_on=right_on, suffixes=suffixes,
                     broadcast=broadcast)

    def categorize(self, columns=None):
        """String columns as categoricals, categories learned in one pass (see ``chunkflow.frame.encode``)."""
        from .encode import categorize

        return categorize(self, columns)

    def get_dummies(self, columns=None, prefix=None, prefix_sep="_", dtype=bool, drop_first=False):
        """One-hot columns for ``columns`` (see :func:`chunkflow.frame.encode.get_dummies`)."""
        from .encode import get_dummies

        return get_dummies(self, columns, prefix=prefix, prefix_sep=prefix_sep, dtype=dtype, drop_first=drop_first)

    one_hot = get_dummies

    def ordinal_encode(self, columns=None):
        """Each of ``columns`` replaced by its category code (see :func:`chunkflow.frame.encode.ordinal_encode`)."""
        from .encode import ordinal_encode

        return ordinal_encode(self, columns)

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

    def describe(self, scheduler=None):
        """Count, mean, std, min, quartiles and max of the numeric columns, computed (quartiles approximate)."""
        from ..runtime import get_scheduler

        return self._ddf.describe().compute(scheduler=get_scheduler(scheduler))

    def head(self, n=5, scheduler=None):
        """The first ``n`` rows as pandas, reading only the partitions that hold them (all if lengths are unknown)."""
        from ..runtime import get_scheduler

        ddf = self._ddf
        if self._lengths is None:
            # each partition's head first: dask rewrites sort_values(...).head(n) into a top-n that ignores
            # na_position and fails on a Series (dask 2026.8); a per-partition head is not rewritten
            ddf, k = ddf.map_partitions(_partition_head, n, meta=ddf._meta), -1
        else:
            total, k = 0, 0
            while k < len(self._lengths) and total < n:
                total += self._lengths[k]
                k += 1
        return ddf.head(n, npartitions=max(k, 1) if k > 0 else -1, compute=False).compute(
            scheduler=get_scheduler(scheduler))

    def to_arrow(self, scheduler=None):
        """The whole table as a ``pyarrow.Table``."""
        import pyarrow as pa

        from ..runtime import get_scheduler

        if self._source is not None and self._lengths is not None:
            return self._source.to_arrow(self.columns, get_scheduler(scheduler))
        out = self.compute(scheduler)
        out = out.to_frame() if isinstance(out, pd.Series) else out
        return pa.Table.from_pandas(out, preserve_index=False)

    def to_tensor(self, columns=None, dtype=None, device=None):
        """A 2-D Tensor of the numeric ``columns`` (1-D for a single-column Frame), rows chunked by partition.

        The row chunks are the partition lengths, known from metadata when the
        Frame came from Parquet without a row filter; otherwise one counting
        pass runs first. ``dtype`` defaults to NumPy's common type of the
        columns. A Frame straight from a reader builds each block from the
        file's columns without a pandas DataFrame in between. ``device="gpu"``
        gives CuPy chunks: each block is built on the host as above, then
        copied to the GPU in its own task.
        """
        device = requested_device(device, "Frame.to_tensor")  # before the counting pass
        return self._host_tensor(columns, dtype).to_device(device)

    def _host_tensor(self, columns, dtype):
        from ..core.graph import source_from_dask

        frame = self if columns is None else self[columns]
        ddf = frame._ddf
        target = _tensor_dtype(frame.dtypes, dtype)
        lengths = frame._lengths if frame._lengths is not None else frame.count_rows()
        if frame._source is not None:
            return source_from_dask(frame._source.dask_array(frame.columns, target, lengths, frame.ndim))
        if any(t != target for t in frame.dtypes):  # also turns nullable NA into NaN
            ddf = ddf.astype(target)
        darr = ddf.to_dask_array(lengths=list(lengths))
        if darr.dtype != target:
            darr = darr.astype(target)
        return source_from_dask(darr)

    def count_rows(self) -> tuple:
        """Rows per partition: the known lengths, or one counting pass that reads one column."""
        if self._lengths is not None:
            return self._lengths
        from ..runtime import get_scheduler

        one = self._ddf if self.ndim == 1 else self._ddf[self.columns[0]]
        return tuple(int(n) for n in one.map_partitions(len).compute(scheduler=get_scheduler()))

    def to_tensors(self, features, label, dtype=None, device=None):
        """``(X, y)``: a 2-D Tensor of ``features`` and a 1-D Tensor of ``label`` with the same row chunks.

        Both come from one Tensor of the columns ``features + [label]``, so
        computing them together reads each partition once; unknown lengths
        are counted in one pass shared by both. ``X`` has ``dtype`` (default:
        the features' common type), ``y`` the label's own type. With
        ``device="gpu"`` that one Tensor is copied to the GPU, and ``X`` and
        ``y`` are sliced from it there.
        """
        device = requested_device(device, "Frame.to_tensors")
        features = check_columns(features, self.columns)
        (label,) = check_columns(label, self.columns)
        if label in features:
            raise ValueError(f"label {label!r} is also among the features {features}; leave it out of them")
        both = self[features + [label]]
        x_type = _tensor_dtype(both.dtypes.iloc[:-1], dtype)
        y_type = _tensor_dtype(both.dtypes.iloc[-1:], None)
        frame = Frame(both._ddf, both.count_rows(), both._source)
        t = frame._host_tensor(None, np.result_type(x_type, y_type)).to_device(device)
        X, y = t[:, :len(features)], t[:, len(features)]
        return (X if X.dtype == x_type else X.astype(x_type)), (y if y.dtype == y_type else y.astype(y_type))

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


# positional access and NumPy views are what code tests to tell a pandas object (in memory) from a Frame
_NOT_DELEGATED = frozenset({"iloc", "loc", "at", "iat", "values", "to_numpy", "index", "array", "axes"})


def _partition_head(part, n):
    return part.head(n)


def _wrap_dask(value):
    """A dask DataFrame/Series result as a Frame (row counts unknown), a dask scalar computed, else as it is."""
    import dask.dataframe as dd

    if isinstance(value, (dd.DataFrame, dd.Series)):
        return Frame(value)
    if type(value).__name__ == "Scalar" and hasattr(value, "compute"):
        return value.compute()
    return value


def _delegated(ddf, name):
    """``ddf.<name>`` for a method chunkflow does not define: dask.dataframe's, its results wrapped."""
    attr = getattr(ddf, name)
    if not callable(attr):
        return _wrap_dask(attr)

    def method(*args, **kwargs):
        unwrap = [a._ddf if isinstance(a, Frame) else a for a in args]
        return _wrap_dask(attr(*unwrap, **{k: v._ddf if isinstance(v, Frame) else v for k, v in kwargs.items()}))

    method.__name__ = name
    method.__doc__ = f"dask.dataframe's ``{name}`` (pandas semantics), the result wrapped as a Frame."
    return method


def _tensor_dtype(dtypes, dtype):
    """The NumPy dtype a Tensor of columns with pandas ``dtypes`` gets; TypeError for non-numeric columns."""
    bad = [name for name, t in dtypes.items()
           if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
           or isinstance(t, pd.CategoricalDtype)]
    if bad:
        raise TypeError(f"columns {bad} are not numeric ({[str(dtypes[b]) for b in bad]}); select numeric "
                        f"columns with to_tensor(columns=[...]), or encode them first: frame.ordinal_encode"
                        f"({bad}) for category codes (after frame.categorize({bad}) to reuse the categories) "
                        f"or cf.get_dummies(frame, columns={bad}) for one-hot columns")
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
    """A Frame from a dask DataFrame (or a Series from a dask Series); give ``lengths`` (rows per partition) if known."""
    return Frame(ddf, lengths)


def from_dask(obj, lengths=None):
    """A Frame from a dask DataFrame or Series, a Tensor from a dask array (``cf.from_dask`` dispatches here)."""
    import dask.array as da

    if isinstance(obj, da.Array):
        from ..core.creation import from_dask as array_from_dask

        if lengths is not None:
            raise TypeError("lengths= is for dask DataFrames; a dask array knows its chunks")
        return array_from_dask(obj)
    import dask.dataframe as dd

    if not isinstance(obj, (dd.DataFrame, dd.Series)):
        raise TypeError(f"from_dask takes a dask array, DataFrame or Series, got {type(obj).__name__}")
    return Frame(obj, lengths)
