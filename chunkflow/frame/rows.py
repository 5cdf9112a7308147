"""Row operations: filters, sampling, de-duplication and sorting (each leaves the row lengths unknown).

A filter keeps an unknown number of rows of each partition, so the result's
``lengths`` are None and ``to_tensor`` counts them in one pass. Costs differ:

* ``frame[mask]``, ``query``, ``dropna``, ``sample``: one task a partition,
  no data moves between partitions (dask reads only the columns they and what
  follows them use).
* ``drop_duplicates``: a tree reduction of per-partition uniques (all in one
  partition at the end unless ``split_out`` is given, then a hash shuffle).
* ``nlargest``/``nsmallest``: per-partition top ``n``, then the top ``n`` of those.
* ``sort_index``: one task, for a one-partition result (a groupby, ``value_counts``).
* ``sort_values``: a **full shuffle**. dask samples quantiles of the key (one
  pass), then moves every row to the partition of its key range (a second
  pass that rewrites the whole table through memory or disk). Prefer
  ``nlargest`` for top-k and a groupby for per-key summaries.

Row order after ``drop_duplicates`` and ``sample`` is not pandas' row order;
compare them with pandas after sorting. ``sort_values`` orders rows with equal
keys as the shuffle left them; rows missing the first key (and every row when
that key is strings that may be missing) are split off and placed before or
after the sorted rest, as ``na_position`` says (dask alone puts them last).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.errors import UndefinedVariableError

__all__ = ["RowOps"]


def _bool_mask(mask, where):
    from .frame import Frame
    from .ops import describe_operand

    if not isinstance(mask, Frame) or mask.ndim != 1:
        raise TypeError(f"{where} takes a boolean column such as frame['a'] > 0, got {type(mask).__name__}")
    dtype = mask.dtypes.iloc[0]
    if not (dtype == bool or str(dtype) == "boolean"):
        raise TypeError(f"{where} needs a boolean column, got {describe_operand(mask)}; compare it first, "
                        f"e.g. frame[frame['a'] > 0]")
    return mask._ddf


def _missing_apart(frame, by, ascending, na_position):
    """``frame.sort_values(by, ascending, na_position)`` as a sort of the rows that have ``by[0]`` and, before
    or after them, the rows missing it (ordered by the other keys)."""
    import dask.dataframe as dd

    ascending = list(ascending) if isinstance(ascending, (list, tuple)) else [ascending] * len(by)
    key = frame._ddf[by[0]].isna()
    missing, present = frame._ddf[key], frame._ddf[~key]
    if len(by) > 1:
        missing = frame._new(missing, None).sort_values(by[1:], ascending=ascending[1:], na_position=na_position)._ddf
    # missing values of later keys are placed within each partition, where dask honours na_position
    present = present.sort_values(by=by if len(by) > 1 else by[0], ascending=ascending if len(by) > 1 else
                                  ascending[0], na_position=na_position)
    return frame._new(dd.concat([missing, present] if na_position == "first" else [present, missing]), None)


def _sort_index(part, ascending, na_position):
    return part.sort_index(ascending=ascending, na_position=na_position)


def _can_be_missing(dtype) -> bool:
    return not (isinstance(dtype, np.dtype) and dtype.kind in "biu")


class RowOps:
    """Mixin: operations that keep or reorder some rows of a Frame or Series."""

    __slots__ = ()

    def _filter(self, mask):
        ddf_mask = _bool_mask(mask, "a row filter")
        pred = mask._pred
        if pred is not None and pred.source is self._source and self._lengths is not None:
            out = self._source.filtered(pred.expr, pred.names, self.columns)  # row groups skipped at the reader
            if out is not None:
                return out if self.ndim == 2 else out[self.columns[0]]
        return self._new(self._ddf[ddf_mask], None)

    def dropna(self, subset=None, how="any"):
        """Rows without missing values (``how="all"``: drop only rows missing everywhere in ``subset``)."""
        from .frame import check_columns

        if how not in ("any", "all"):
            raise ValueError(f"how must be 'any' or 'all', got {how!r}")
        if self.ndim == 1:
            return self._new(self._ddf.dropna(), None)
        subset = None if subset is None else check_columns(subset, self.columns)
        return self._new(self._ddf.dropna(subset=subset, how=how), None)

    def query(self, expr):
        """Rows where the pandas expression ``expr`` holds, e.g. ``"a > 0 and b < 1"``."""
        from .frame import ColumnNotFoundError, check_columns

        if not isinstance(expr, str):
            raise TypeError(f"query takes an expression string such as 'a > 0 and b < 1', got {expr!r}")
        try:
            out = self._ddf.query(expr)
        except UndefinedVariableError as e:
            name = str(e).split("'")[1] if "'" in str(e) else str(e)
            try:
                check_columns(name, self.columns)
            except ColumnNotFoundError as missing:
                raise ColumnNotFoundError(f"in query {expr!r}: {missing}") from e
            raise
        return self._new(out, None)

    def sample(self, frac=None, replace=False, random_state=None, seed=None, n=None):
        """About ``frac`` of the rows, drawn per partition; the same ``random_state`` (or ``seed``) gives the same rows."""
        if n is not None:
            raise ValueError("sample(n=...) would need a pass to draw exactly n rows; give frac=n/len(frame)")
        if frac is None or not 0 <= frac <= (float("inf") if replace else 1):
            raise ValueError(f"frac must be a fraction in [0, 1] (any positive number with replace=True), got {frac!r}")
        if seed is not None and random_state is not None and seed != random_state:
            raise ValueError("give random_state or seed, not two different values")
        state = random_state if random_state is not None else seed
        return self._new(self._ddf.sample(frac=frac, replace=replace, random_state=state), None)

    def drop_duplicates(self, subset=None, keep="first", split_out=None):
        """Rows with duplicates (in ``subset`` of the columns) removed; one partition unless ``split_out``."""
        from .frame import check_columns

        kwargs = {"keep": keep} if split_out is None else {"keep": keep, "split_out": split_out}
        if self.ndim == 2 and subset is not None:
            kwargs["subset"] = check_columns(subset, self.columns)
        return self._new(self._ddf.drop_duplicates(**kwargs), None)

    def sort_values(self, by=None, ascending=True, na_position="last"):
        """Rows sorted by ``by`` — a full shuffle of the table (see the module docstring)."""
        from .frame import check_columns

        if self.ndim == 1:  # dask sorts tables only: sort the one-column table
            table = RowOps.sort_values(self.to_frame(name="__value__"), "__value__", ascending, na_position)
            return self._new(table._ddf["__value__"].rename(self._ddf.name), None)
        if by is None:
            raise TypeError("sort_values needs by=<column> or a list of columns")
        by = check_columns(by, self.columns)
        if na_position not in ("first", "last"):
            raise ValueError(f"na_position must be 'first' or 'last', got {na_position!r}")
        ddf, dtype = self._ddf, self.dtypes[by[0]]
        if ddf.npartitions > 1 and _can_be_missing(dtype) and (
                na_position == "first" or not pd.api.types.is_numeric_dtype(dtype)):
            # dask (2026.8) sends rows missing the first key to the last partition whatever na_position says,
            # and cannot find the partition bounds of strings with missing values: sort the rows that have it
            return _missing_apart(self, by, ascending, na_position)
        return self._new(ddf.sort_values(by=by if len(by) > 1 else by[0], ascending=ascending,
                                         na_position=na_position), None)

    def sort_index(self, ascending=True, na_position="last"):
        """Rows sorted by their index labels: for a one-partition result such as a groupby or
        ``value_counts``, where it is a sort in one task (dask has no distributed index sort)."""
        if self.npartitions != 1:
            raise NotImplementedError(f"sort_index sorts a one-partition result (a groupby, value_counts); this "
                                      f"Frame has {self.npartitions} partitions: sort by a column with "
                                      f"sort_values, or .reset_index() first")
        out = self._ddf.map_partitions(_sort_index, ascending, na_position, meta=self._ddf._meta)
        return self._new(out, self._lengths)

    def nlargest(self, n=5, columns=None):
        """The ``n`` rows with the largest values in ``columns`` (for a Frame), in descending order."""
        return self._top("nlargest", n, columns)

    def nsmallest(self, n=5, columns=None):
        """The ``n`` rows with the smallest values in ``columns`` (for a Frame), in ascending order."""
        return self._top("nsmallest", n, columns)

    def _top(self, how, n, columns):
        from .frame import check_columns

        if self.ndim == 1:
            return self._new(getattr(self._ddf, how)(n), None)
        if columns is None:
            raise TypeError(f"{how} needs columns=<column> or a list of columns")
        columns = check_columns(columns, self.columns)
        return self._new(getattr(self._ddf, how)(n, columns=columns), None)

