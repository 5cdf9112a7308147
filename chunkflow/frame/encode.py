"""Categorical features: categories learned in one pass, then one-hot or ordinal numeric columns.

``categorize`` reads the selected columns once: each partition gives its
distinct values, partial sets are merged in a tree (one task per
``split_every`` partitions), and the sorted union becomes each column's
``CategoricalDtype``. After that, every encoding is a per-partition map with
the same categories everywhere, so the row lengths are kept and the output
columns (one per category) are known before anything runs:

* ``get_dummies`` (``one_hot``): a column per category, pandas' layout
  (``<column>_<category>``, appended after the other columns; ``dtype=bool``
  as pandas; missing values get no column);
* ``ordinal_encode``: the category's position (``-1`` for missing), as
  ``pandas.Categorical(...).codes``.

Both give numeric columns that ``to_tensor``/``to_tensors`` turn into the
2-D Tensors ``chunkflow.ml`` estimators take. Columns that are already
categorical with known categories are not read again.
"""
from __future__ import annotations

import pandas as pd

from .frame import Frame, check_columns

__all__ = ["categorize", "get_dummies", "ordinal_encode"]


def _is_text(dtype) -> bool:
    return dtype == object or (pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype))


def _default_columns(frame):
    return [c for c, t in frame.dtypes.items() if _is_text(t) or isinstance(t, pd.CategoricalDtype)]


def _partition_uniques(df, columns):
    return {c: pd.unique(df[c].dropna()) for c in columns}


def _merge_uniques(*parts):
    return {c: pd.unique(pd.concat([pd.Series(p[c]) for p in parts], ignore_index=True)) for c in parts[0]}


def _sorted(values):
    index = pd.Index(values)
    try:
        return index.sort_values()
    except TypeError:  # mixed types that do not compare: first-appearance order
        return index


def learn_categories(frame, columns, split_every=8) -> dict:
    """``{column: pandas.Index of sorted distinct values}``, read in one pass over ``columns``."""
    import dask

    from ..runtime import get_scheduler

    if not columns:
        return {}
    parts = frame._ddf[columns].to_delayed()
    level = [dask.delayed(_partition_uniques, pure=True)(p, columns) for p in parts]
    while len(level) > 1:
        level = [dask.delayed(_merge_uniques, pure=True)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    (found,) = dask.compute(level[0], scheduler=get_scheduler())
    return {c: _sorted(found[c]) for c in columns}


def categorize(frame, columns=None) -> Frame:
    """``frame`` with ``columns`` (default: every string column) as categoricals; one pass learns the categories.

    >>> import pandas as pd, chunkflow as cf
    >>> f = cf.from_pandas(pd.DataFrame({"c": ["b", "a", None, "b"]}), npartitions=2).categorize()
    >>> list(f.dtypes["c"].categories), f.lengths
    (['a', 'b'], (2, 2))
    """
    if frame.ndim != 2:
        raise TypeError("categorize works on a table; use series.to_frame() first")
    columns = _default_columns(frame) if columns is None else check_columns(columns, frame.columns)
    known = {c for c in columns if isinstance(frame.dtypes[c], pd.CategoricalDtype)
             and frame.dtypes[c].categories is not None and frame._ddf[c].cat.known}
    learned = learn_categories(frame, [c for c in columns if c not in known])
    if not learned:
        return frame
    types = {c: pd.CategoricalDtype(v) for c, v in learned.items()}
    return Frame(frame._ddf.astype(types), frame.lengths)


def get_dummies(frame, columns=None, prefix=None, prefix_sep="_", dtype=bool, drop_first=False) -> Frame:
    """One-hot columns for ``columns`` (default: every string or categorical column), as ``pd.get_dummies``.

    Row lengths are kept; the categories are learned in one pass (see :func:`categorize`).
    """
    import dask.dataframe as dd

    if not isinstance(frame, Frame):
        raise TypeError(f"get_dummies takes a Frame, got {type(frame).__name__}; for pandas use pd.get_dummies")
    if frame.ndim == 1:
        frame = frame.to_frame()
    columns = _default_columns(frame) if columns is None else check_columns(columns, frame.columns)
    if not columns:
        return frame
    coded = categorize(frame, columns)
    out = dd.get_dummies(coded._ddf, columns=columns, prefix=prefix, prefix_sep=prefix_sep, dtype=dtype,
                         drop_first=drop_first)
    return Frame(out, frame.lengths)


def ordinal_encode(frame, columns=None) -> Frame:
    """``columns`` replaced by their category codes (``-1`` for missing), lengths kept.

    >>> import pandas as pd, chunkflow as cf
    >>> f = cf.from_pandas(pd.DataFrame({"c": ["b", "a", None]})).ordinal_encode()
    >>> f.compute()["c"].tolist()
    [1, 0, -1]
    """
    if frame.ndim != 2:
        raise TypeError("ordinal_encode works on a table; use series.to_frame() first")
    columns = _default_columns(frame) if columns is None else check_columns(columns, frame.columns)
    coded = categorize(frame, columns)
    ddf = coded._ddf.assign(**{c: coded._ddf[c].cat.codes for c in columns})
    return Frame(ddf, frame.lengths)
