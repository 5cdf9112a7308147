"""``Series``: one column of a Frame (``frame["a"]``), with pandas' Series methods.

A Series is a :class:`~chunkflow.frame.frame.Frame` whose dask collection is a
dask Series (``ndim == 1``), so everything that takes a Frame (``to_tensor``,
``lengths``, ``chunkflow.ml``) takes a Series too. Reductions give scalars;
``unique`` gives the distinct values in order of first appearance, as pandas
does (per-partition uniques, concatenated in partition order and made unique
again: one pass); ``value_counts`` stays lazy, since it can be as long as the
data.
"""
from __future__ import annotations

import pandas as pd

from .frame import Frame
from . import pushdown

__all__ = ["Series"]


def _unique_in_order(*parts):
    return pd.Series(pd.concat(parts, ignore_index=True).unique(), dtype=parts[0].dtype, name=parts[0].name)


class Series(Frame):
    """One lazy column (see the module docstring)."""

    __slots__ = ()

    @property
    def name(self):
        """The column's name."""
        return self._ddf.name

    @property
    def dtype(self):
        """The column's pandas dtype."""
        return self._ddf._meta.dtype

    @property
    def str(self):
        """String methods (``.str.lower()``, ``.contains``, ...), as pandas' ``Series.str``."""
        from .accessors import StringMethods

        return StringMethods(self)

    @property
    def dt(self):
        """Date and time parts (``.dt.year``, ``.hour``, ...), as pandas' ``Series.dt``."""
        from .accessors import DatetimeMethods

        return DatetimeMethods(self)

    @property
    def cat(self):
        """The dask ``.cat`` accessor of a categorical column."""
        return self._ddf.cat

    def to_frame(self, name=None) -> Frame:
        """This column as a one-column table."""
        return Frame(self._ddf.to_frame(name=name) if name is not None else self._ddf.to_frame(), self._lengths)

    def rename(self, name):
        """The same values under another name."""
        return Series(self._ddf.rename(name), self._lengths)

    def reset_index(self, drop=False, name=None):
        """The index as a column and a fresh 0..n-1 index per partition (dask's); ``name`` names the values."""
        ddf = self._ddf if name is None else self._ddf.rename(name)
        return Frame(ddf.reset_index(drop=drop), self._lengths)

    def isin(self, values):
        """True where the value is one of ``values``."""
        values = list(values)
        out = Series(self._ddf.isin(values), self._lengths)
        out._pred = pushdown.isin(self, values)
        return out

    def between(self, left, right, inclusive="both"):
        """True where ``left <= value <= right`` (``inclusive`` as pandas)."""
        return Series(self._ddf.between(left, right, inclusive=inclusive), self._lengths)

    def map(self, mapping):
        """Values looked up in the dict or pandas Series ``mapping`` (NaN where absent), or ``fn(value)``."""
        meta = pd.Series(self._ddf._meta_nonempty.map(mapping), name=self.name).iloc[:0]
        return Series(self._ddf.map(mapping, meta=meta), self._lengths)

    def unique(self):
        """The distinct values in order of first appearance (as pandas), computed."""
        import dask

        from ..runtime import get_scheduler

        level = [dask.delayed(_unique_in_order, pure=True)(p) for p in self._ddf.to_delayed()]
        while len(level) > 1:  # a tree that keeps partition order, so first appearances stay first
            level = [dask.delayed(_unique_in_order, pure=True)(*level[i:i + 8]) for i in range(0, len(level), 8)]
        (out,) = dask.compute(level[0], scheduler=get_scheduler())
        return out.array if isinstance(out.dtype, pd.api.extensions.ExtensionDtype) else out.to_numpy()

    def value_counts(self, normalize=False, sort=True, ascending=False, dropna=True):
        """Rows per distinct value, lazily (a Series indexed by value, most frequent first)."""
        return Series(self._ddf.value_counts(normalize=normalize, sort=sort, ascending=ascending, dropna=dropna),
                      None)

    def _reduce(self, how, **kwargs):
        kwargs.pop("numeric_only", None)
        return super()._reduce(how, **kwargs)

    def quantile(self, q=0.5):
        """Approximate quantile(s) ``q`` (dask's sketch: exact on one partition), computed."""
        from ..runtime import get_scheduler

        return self._ddf.quantile(q).compute(scheduler=get_scheduler())
