"""From a table to the model's input: categorical encoding on the table, numeric stages as estimators.

Categorical string columns are one-hot encoded here, on the dask DataFrame
under the Frame: the categories of every listed column are learned in one
pass (distinct values per partition, then merged), sorted, and recorded in
``pipeline.json`` so ``chunkflow predict`` encodes new data the same way (a
value not seen in training becomes all zeros). :func:`encode_frame` is the
one place to swap for the Frame API's own categorical support later.

Numeric stages (``standard_scaler``, ``impute``, ...) become ``chunkflow.ml``
transformers placed before the model in one ``chunkflow.ml.Pipeline``, so the
saved model includes them.
"""
from __future__ import annotations

import numpy as np

from .spec import STAGES

__all__ = ["learn_categories", "encode_frame", "numeric_stages", "feature_names"]


def learn_categories(frame, columns, scheduler=None) -> dict:
    """``{column: sorted distinct values}`` of the categorical ``columns``, from one pass over them."""
    import dask

    from ..runtime import get_scheduler

    parts = frame.to_dask()[list(columns)].to_delayed()
    distinct = dask.delayed(_distinct, pure=True)
    found = dask.compute(*[distinct(p, list(columns)) for p in parts], scheduler=get_scheduler(scheduler))
    out = {}
    for col in columns:  # per-partition sets merged here: no shuffle, whatever the scheduler
        values = set().union(*(f[col] for f in found))
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        out[col] = sorted(values, key=lambda v: (str(type(v)), v))
    return out


def _distinct(df, columns) -> dict:
    return {c: set(df[c].dropna().unique().tolist()) for c in columns}


def feature_names(numeric, categories) -> list:
    """Names of the encoded columns: the numeric ones, then ``column=value`` per category."""
    return list(numeric) + [f"{c}={v}" for c, values in categories.items() for v in values]


def _encode_partition(df, numeric, categories, extra):
    import pandas as pd

    n = len(df)
    names = feature_names(numeric, categories)
    out = np.zeros((n, len(names) + len(extra)), dtype=np.float64)
    if numeric:
        out[:, :len(numeric)] = df[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    j = len(numeric)
    for col, values in categories.items():
        codes = pd.Categorical(df[col], categories=values).codes  # -1: unseen or missing
        hit = codes >= 0
        out[np.nonzero(hit)[0], j + codes[hit]] = 1.0
        j += len(values)
    for k, col in enumerate(extra):
        out[:, j + k] = df[col].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(out, columns=names + list(extra), index=df.index)


def encode_frame(frame, numeric, categories, extra=()):
    """A float64 Frame: ``numeric`` columns, one-hot ``categories``, then the ``extra`` columns (e.g. the label).

    The encoding runs per partition; the partition lengths carry over, so
    the Tensor of the result has known row chunks when the input's are known.
    """
    import pandas as pd

    from ..frame.frame import building, from_dask_dataframe

    names = feature_names(numeric, categories) + list(extra)
    meta = pd.DataFrame({n: pd.Series([], dtype="float64") for n in names})
    ddf = frame.to_dask()[list(numeric) + list(categories) + list(extra)]
    with building():
        out = ddf.map_partitions(_encode_partition, list(numeric), categories, list(extra), meta=meta,
                                 align_dataframes=False)
    return from_dask_dataframe(out, lengths=frame.lengths)


def numeric_stages(stages) -> list:
    """``[(name, transformer)]`` for the numeric feature stages (one_hot is done on the table)."""
    import chunkflow.ml as ml

    steps = []
    for i, stage in enumerate(stages):
        (name, params), = stage.items()
        if STAGES[name] is None:
            continue
        steps.append((f"{name}_{i}" if any(name == s for s, _ in steps) else name,
                      getattr(ml, STAGES[name])(**(params or {}))))
    return steps
