"""Row conditions that a Parquet reader can apply itself: row groups it never fetches.

A comparison of a column straight from ``read_parquet`` with a scalar
(``<``, ``<=``, ``>``, ``>=``, ``==``), ``isin`` of scalars, and ``&``/``|``
of such conditions on the same reader carry a ``Condition`` (a pyarrow
expression) next to their dask column. ``frame[mask]`` on a Frame of that
same reader hands the expression to the reader (``ParquetSource.filtered``):
row groups whose min/max statistics rule it out are not read, and the rows
are filtered as pandas would, keeping their index labels.

Not pushed: negation and ``!=`` (pandas keeps a missing value's row under
them, ``NaN != 1`` being True, where Arrow's null logic drops it), NaN
scalars, and a scalar of another kind than the column (pandas compares
``int == "3"`` as all False; Arrow would raise).
"""
from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass

import numpy as np

__all__ = ["Condition", "compare", "combine", "isin"]

_COMPARE = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "eq": operator.eq}


@dataclass(frozen=True, eq=False)
class Condition:
    """A row condition on the Parquet reader ``source``: ``expr`` reads the columns ``names``."""

    source: object
    expr: object
    names: frozenset


def _column(frame):
    """The column name of ``frame`` when it is one column straight from a reader that can filter."""
    source = getattr(frame, "_source", None)
    if source is None or not hasattr(source, "filtered") or frame.ndim != 1 or frame._lengths is None:
        return None
    return frame.columns[0]


def _matches(dtype, value) -> bool:
    """Whether Arrow compares ``value`` with a column of pandas ``dtype`` as pandas does."""
    from pandas.api import types

    if isinstance(value, (bool, np.bool_)):
        return types.is_bool_dtype(dtype)
    if isinstance(value, (numbers.Real, np.number)):
        return types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype)
    if isinstance(value, str):
        return types.is_string_dtype(dtype)
    return False


def _usable(value, dtype) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    try:
        return _matches(dtype, value)
    except TypeError:
        return False


def compare(name, column, value):
    """The Condition of ``column <name> value``, or None."""
    col = _column(column)
    if name not in _COMPARE or col is None or not _usable(value, column.dtypes.iloc[0]):
        return None
    import pyarrow.dataset as ds

    value = value.item() if isinstance(value, np.generic) else value
    return Condition(column._source, _COMPARE[name](ds.field(col), value), frozenset([col]))


def combine(name, left, right):
    """The Condition of ``left & right`` (``name`` "and") or ``left | right`` ("or"), or None."""
    a, b = getattr(left, "_pred", None), getattr(right, "_pred", None)
    if name not in ("and", "or") or a is None or b is None or a.source is not b.source:
        return None
    expr = a.expr & b.expr if name == "and" else a.expr | b.expr
    return Condition(a.source, expr, a.names | b.names)


def isin(column, values):
    """The Condition of ``column.isin(values)``, or None."""
    col = _column(column)
    dtype = column.dtypes.iloc[0] if col is not None else None
    if col is None or not values or not all(_usable(v, dtype) for v in values):
        return None
    import pyarrow.dataset as ds

    return Condition(column._source, ds.field(col).isin([v.item() if isinstance(v, np.generic) else v
                                                         for v in values]), frozenset([col]))
