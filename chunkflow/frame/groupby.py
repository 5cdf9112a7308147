"""``frame.groupby(keys)``: per-group aggregations with pandas' result layout.

Plan: every (column, function) pair of the request is one of

* a function dask's tree aggregation runs in one pass (``sum``, ``mean``,
  ``count``, ``min``, ``max``, ``std``, ``var``, ``first``, ``last``): all of
  them go into one ``groupby(...).agg`` call, so the data is read once;
* ``nunique`` or ``size``, which dask's ``agg`` does not take: each is its
  own dask groupby over the same input (dask-expr shares the read of the
  input partitions when they are computed together).

The partial results are reduced to one partition (the groups are assumed to
fit in memory, as with pandas' result) and one small task lays them out as
pandas would: flat column names for ``agg("sum")`` or ``agg({"a": "sum"})``,
``(column, function)`` pairs when a list of functions is given, named columns
for ``agg(total=("a", "sum"))``, and a Series for a single selected column;
group keys sorted when ``sort=True``. The result's meta is pandas' own answer
on a small sample partition, so a type error (``mean`` of strings) is raised
while building, naming the column.
"""
from __future__ import annotations

import pandas as pd

from .frame import Frame, check_columns

__all__ = ["GroupBy", "AGGREGATIONS"]

AGGREGATIONS = ("sum", "mean", "count", "min", "max", "std", "var", "nunique", "size", "first", "last")
_SEPARATE = ("nunique", "size")


def _pandas_result(df, by, layout, series_out, dropna, sort):
    """pandas' answer for ``layout`` on ``df``: the reference used for meta and in tests."""
    g = df.groupby(by, dropna=dropna, sort=sort)
    cols = {}
    for label, column, func in layout:
        cols[label] = g.size() if func == "size" else g[column].agg(func)
    return _layout(cols, layout, series_out, sort)


def _layout(cols, layout, series_out, sort):
    index = next(iter(cols.values())).index
    out = pd.DataFrame({label: s.reindex(index) for label, s in cols.items()}, index=index)
    if sort:
        out = out.sort_index()
    if series_out:
        label, column, func = layout[0]
        return out.iloc[:, 0].rename(None if func == "size" else column)
    return out


def _assemble(agg, *separate, layout, series_out, sort):
    cols, k = {}, 0
    for label, column, func in layout:
        if func in _SEPARATE:
            cols[label] = separate[k]
            k += 1
        else:
            cols[label] = agg[(column, func)]
    return _layout(cols, layout, series_out, sort)


def _assemble_separate(*separate, layout, series_out, sort):
    return _assemble(None, *separate, layout=layout, series_out=series_out, sort=sort)


class GroupBy:
    """Rows of a Frame grouped by key columns; aggregations give lazy Frames (see the module docstring)."""

    __slots__ = ("_frame", "_by", "_dropna", "_sort", "_selection")

    def __init__(self, frame, by, dropna=True, sort=True, selection=None):
        if frame.ndim != 2:
            raise TypeError("groupby needs a table; use series.to_frame() first")
        self._frame, self._by = frame, check_columns(by, frame.columns)
        self._dropna, self._sort, self._selection = dropna, sort, selection

    def __getitem__(self, key):
        """The groups restricted to column ``key`` (a Series-like group) or to a list of columns."""
        check_columns(key, self._frame.columns)
        return GroupBy(self._frame, self._by, self._dropna, self._sort, key)

    def __getattr__(self, name):
        if not name.startswith("_") and name in self._frame.columns:
            return self[name]
        raise AttributeError(f"'GroupBy' object has no attribute or column {name!r}")

    @property
    def _values(self):
        if self._selection is None:
            return [c for c in self._frame.columns if c not in self._by]
        return [self._selection] if isinstance(self._selection, str) else list(self._selection)

    def _plan(self, spec, named):
        """``(layout, series_out)``: the (label, column, function) triples of the request, in order."""
        single = isinstance(self._selection, str)
        if named:
            if spec is not None:
                raise TypeError("give agg() a spec or name=(column, function) pairs, not both")
            layout = []
            for name, pair in named.items():
                if not (isinstance(pair, tuple) and len(pair) == 2):
                    raise TypeError(f"named aggregation {name}= takes a (column, function) pair, got {pair!r}")
                layout.append((name, pair[0], pair[1]))
            out = layout, False
        elif isinstance(spec, str):
            out = [(c, c, spec) for c in self._values], single
        elif isinstance(spec, (list, tuple)):
            out = [(f if single else (c, f), c, f) for c in self._values for f in spec], False
        elif isinstance(spec, dict):
            nested = any(isinstance(f, (list, tuple)) for f in spec.values())
            layout = []
            for c, funcs in spec.items():
                for f in ([funcs] if isinstance(funcs, str) else funcs):
                    layout.append(((c, f) if nested else c, c, f))
            out = layout, False
        else:
            raise TypeError(f"agg takes a function name, a list of names or a dict {{column: name(s)}}, got {spec!r}")
        layout = out[0]
        if not layout:
            raise ValueError("the aggregation selects no columns: every column is a group key")
        check_columns(sorted({c for _, c, _ in layout}), self._frame.columns)
        for _, c, f in layout:
            if f not in AGGREGATIONS:
                raise ValueError(f"unknown aggregation {f!r} for column {c!r}; use one of {list(AGGREGATIONS)}")
        return out

    def agg(self, spec=None, **named) -> Frame:
        """Aggregations per group: ``"sum"``, ``["sum", "max"]``, ``{"a": "sum", "b": ["mean", "nunique"]}``
        or ``total=("a", "sum")``, with pandas' result layout, as a lazy Frame (or Series)."""
        import dask.dataframe as dd

        from .ops import describe_operand

        layout, series_out = self._plan(spec, named)
        columns = list(dict.fromkeys(self._by + [c for _, c, _ in layout]))
        ddf = self._frame._ddf[columns]
        try:
            meta = _pandas_result(ddf._meta_nonempty, self._by, layout, series_out, self._dropna, self._sort)
        except TypeError as e:
            for _, c, f in layout:
                try:
                    _pandas_result(ddf._meta_nonempty, self._by, [(c, c, f)], False, self._dropna, False)
                except TypeError:
                    raise TypeError(f"cannot compute {f} of {describe_operand(self._frame[c])} per group: {e}; "
                                    f"select numeric columns or convert with astype") from e
            raise
        meta = meta.iloc[:0]
        group = ddf.groupby(self._by, dropna=self._dropna, sort=False)
        spec_dask = {}
        for _, c, f in layout:
            if f not in _SEPARATE:
                spec_dask.setdefault(c, []).append(f)
        agg = group.agg(spec_dask, split_out=1) if spec_dask else None
        separate = [group.size(split_out=1) if f == "size" else group[c].nunique(split_out=1)
                    for _, c, f in layout if f in _SEPARATE]
        parts = ([agg] if agg is not None else []) + separate
        fn = _assemble if agg is not None else _assemble_separate
        out = dd.map_partitions(fn, *parts, layout=layout, series_out=series_out, sort=self._sort, meta=meta,
                                align_dataframes=False, enforce_metadata=False)
        return Frame(out, None)

    aggregate = agg

    def size(self):
        """Rows per group (missing values included), as a lazy Series."""
        ddf = self._frame._ddf[self._by]
        meta = ddf._meta_nonempty.groupby(self._by, dropna=self._dropna, sort=self._sort).size().iloc[:0]
        sizes = ddf.groupby(self._by, dropna=self._dropna, sort=False).size(split_out=1)
        return Frame(sizes.map_partitions(_finish_size, self._sort, meta.name, meta=meta), None)


def _finish_size(sizes, sort, name):
    return (sizes.sort_index() if sort else sizes).rename(name)


def _shorthand(name, doc):
    def method(self):
        return self.agg(name)

    method.__name__, method.__doc__ = name, doc
    return method


for _name, _doc in {
    "sum": "Sum per group.", "mean": "Mean per group.", "count": "Non-missing values per group.",
    "min": "Minimum per group.", "max": "Maximum per group.",
    "std": "Standard deviation per group (``ddof=1``).", "var": "Variance per group (``ddof=1``).",
    "nunique": "Distinct values per group.", "first": "First non-missing value per group.",
    "last": "Last non-missing value per group.",
}.items():
    setattr(GroupBy, _name, _shorthand(_name, _doc))
