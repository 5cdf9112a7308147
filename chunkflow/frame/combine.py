"""Joining and stacking Frames: ``merge`` (broadcasting a small side) and ``concat``.

``merge`` validates first (the key columns exist on both sides and their
dtypes can be compared: numbers with numbers, strings with strings, ...), then
picks the plan that moves least data:

* the other side is a pandas object or a one-partition Frame: every partition
  of the big side is joined with it in its own task (no shuffle);
* the other side is small (its known row count times its columns within
  ``chunkflow.config.auto_chunk_bytes()``): dask's broadcast join, which
  sends the small side's partitions to every task of the big side;
* otherwise: dask's hash join, a shuffle of both sides.

``broadcast=True``/``False`` overrides the choice. Broadcasting works for
``how="inner"`` and for the side that is not kept whole by a left or right
join. The result's row lengths are unknown (a join can drop or repeat rows).

``concat`` stacks Frames with the same columns; the lengths are the
concatenated lengths when every input knows its own.
"""
from __future__ import annotations

import pandas as pd

from .. import config
from .frame import Frame, building, check_columns, from_pandas

__all__ = ["merge", "concat"]

_HOW = ("inner", "left", "right", "outer")


def _as_frame(obj, what):
    if isinstance(obj, Frame):
        return obj
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return from_pandas(obj)
    raise TypeError(f"{what} must be a Frame or a pandas DataFrame, got {type(obj).__name__}")


def _kind(dtype) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return _kind(dtype.categories.dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or dtype == object:
        return "string"
    return str(dtype)


def _small(frame) -> bool:
    if frame.npartitions == 1:
        return True
    if frame.lengths is None:
        return False
    return sum(frame.lengths) * max(1, len(frame.columns)) * 8 <= config.auto_chunk_bytes()


def merge(left, right, how="inner", on=None, left_on=None, right_on=None, suffixes=("_x", "_y"), broadcast=None):
    """``left`` joined with ``right`` on key columns, as pandas' ``merge`` (see the module docstring).

    >>> import pandas as pd, chunkflow as cf
    >>> f = cf.from_pandas(pd.DataFrame({"k": [1, 2, 2], "x": [1.0, 2.0, 3.0]}), npartitions=2)
    >>> f.merge(pd.DataFrame({"k": [2], "name": ["two"]}), on="k").compute()["x"].tolist()
    [2.0, 3.0]
    """
    left, right = _as_frame(left, "left"), _as_frame(right, "right")
    if how not in _HOW:
        raise ValueError(f"how must be one of {list(_HOW)}, got {how!r}")
    if on is not None:
        if left_on is not None or right_on is not None:
            raise TypeError("give on= or left_on=/right_on=, not both")
        left_on = right_on = on
    if left_on is None or right_on is None:
        common = [c for c in left.columns if c in right.columns]
        if left_on is None and right_on is None and common:
            left_on = right_on = common
        else:
            raise TypeError("merge needs on=<column(s)> (or left_on= and right_on=): the tables share no columns")
    left_on = check_columns(left_on, left.columns, where="the left table")
    right_on = check_columns(right_on, right.columns, where="the right table")
    if len(left_on) != len(right_on):
        raise ValueError(f"left_on {left_on} and right_on {right_on} must name as many columns")
    for a, b in zip(left_on, right_on):
        ta, tb = left.dtypes[a], right.dtypes[b]
        if _kind(ta) != _kind(tb) and {_kind(ta), _kind(tb)} != {"bool", "number"}:
            raise TypeError(f"cannot merge on left column {a!r} ({ta}) with right column {b!r} ({tb}): the key "
                            f"types differ; convert one side first, e.g. .astype({{{b!r}: '{ta}'}})")
    if broadcast is None:
        small_right = how in ("inner", "left") and _small(right)
        small_left = how in ("inner", "right") and _small(left)
        broadcast = (small_right and right.npartitions > 1) or (small_left and left.npartitions > 1 and not small_right)
        broadcast = broadcast or None  # None: dask's own choice (one-partition sides join without a shuffle)
    with building():
        out = left._ddf.merge(right._ddf, how=how, left_on=left_on, right_on=right_on, suffixes=suffixes,
                              broadcast=broadcast)
    return Frame(out, None)


def concat(frames, ignore_index=False):
    """The rows of ``frames`` (Frames or pandas DataFrames) one after another, as ``pd.concat``."""
    import dask.dataframe as dd

    if not isinstance(frames, (list, tuple)) or not frames:
        raise TypeError(f"concat takes a non-empty list of Frames, got {frames!r}")
    frames = [_as_frame(f, "each item") for f in frames]
    first = frames[0].columns
    for f in frames[1:]:
        if f.ndim != frames[0].ndim:
            raise TypeError("concat takes all tables or all single columns, not a mix")
        if set(f.columns) != set(first):
            raise ValueError(f"concat needs the same columns in every Frame: {first} and {f.columns} differ; "
                             f"select or assign columns first")
    known = all(f.lengths is not None for f in frames)
    lengths = tuple(n for f in frames for n in f.lengths) if known else None
    with building():
        out = dd.concat([f._ddf for f in frames], ignore_index=ignore_index)
    if out.npartitions != sum(f.npartitions for f in frames):  # dask interleaved partitions by index
        lengths = None
    return Frame(out, lengths)
