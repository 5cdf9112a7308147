"""Column-wise operations shared by :class:`Frame` and :class:`Series`: operators, cleaning, reductions.

Everything here maps each partition to a partition of the same rows, so the
result keeps the row lengths (``_lengths``) of its input, and ``to_tensor``
on it still knows its row chunks without reading. The one exception is a
binary operation between two tables whose lengths differ (or are unknown):
pandas aligns them on the index, which may change the rows, so the lengths
become unknown.

Type errors are found while building, not while running: dask evaluates each
operation on an empty partition of the right dtypes first, and a failure there
is re-raised naming both operands and their dtypes.

Reductions (``sum``, ``mean``, ...) follow pandas: they run at once and give a
pandas Series with one value per column (a scalar for a Series). Their answer
is as small as the column list, so computing it is never the out-of-core step.
"""
from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from . import pushdown

__all__ = ["ColumnOps", "describe_operand", "unwrap"]

_BINARY = {
    "add": (operator.add, "+"), "sub": (operator.sub, "-"), "mul": (operator.mul, "*"),
    "truediv": (operator.truediv, "/"), "floordiv": (operator.floordiv, "//"), "mod": (operator.mod, "%"),
    "pow": (operator.pow, "**"), "and": (operator.and_, "&"), "or": (operator.or_, "|"),
    "xor": (operator.xor, "^"),
}
_COMPARE = {"lt": (operator.lt, "<"), "le": (operator.le, "<="), "gt": (operator.gt, ">"),
            "ge": (operator.ge, ">="), "eq": (operator.eq, "=="), "ne": (operator.ne, "!=")}


def unwrap(value):
    """The dask collection behind a Frame, or ``value`` itself (a scalar)."""
    from .frame import Frame

    if isinstance(value, Frame):
        return value._ddf
    if isinstance(value, (pd.DataFrame, pd.Series, pd.Index, np.ndarray, list)):
        raise TypeError(f"cannot combine a Frame with an in-memory {type(value).__name__} row by row; wrap it "
                        f"with cf.from_pandas(...) first, or use a scalar")
    return value


def describe_operand(value) -> str:
    """``value`` for messages: ``column 'a' (int64)``, the columns and dtypes of a Frame, or a scalar."""
    from .frame import Frame

    if isinstance(value, Frame):
        if value.ndim == 1:
            return f"column {value.columns[0]!r} ({value.dtypes.iloc[0]})"
        return "columns " + ", ".join(f"{c!r} ({t})" for c, t in value.dtypes.items())
    return f"{value!r} ({type(value).__name__})"


def _joint_lengths(a, b):
    from .frame import Frame

    if not isinstance(b, Frame):
        return a._lengths
    return a._lengths if a._lengths is not None and a._lengths == b._lengths else None


def _operator(name, fn, symbol, reflected=False):
    def method(self, other):
        left, right = (other, self) if reflected else (self, other)
        try:
            out = fn(unwrap(left), unwrap(right))
        except TypeError as e:
            if "cannot combine a Frame" in str(e):
                raise
            raise TypeError(f"cannot compute {describe_operand(left)} {symbol} {describe_operand(right)}: {e}. "
                            f"Convert a column first, e.g. .astype('float64'), or select numeric columns") from e
        result = self._new(out, _joint_lengths(self, other))
        if not reflected:
            result._pred = pushdown.compare(name, self, other) or pushdown.combine(name, self, other)
        return result

    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    method.__doc__ = f"``{'other ' + symbol + ' self' if reflected else 'self ' + symbol + ' other'}``, elementwise."
    return method


def _unary(name, fn):
    def method(self):
        try:
            out = fn(self._ddf)
        except TypeError as e:
            raise TypeError(f"cannot apply {name} to {describe_operand(self)}: {e}") from e
        return self._new(out, self._lengths)

    method.__name__ = f"__{name}__"
    return method


class ColumnOps:
    """Mixin: elementwise operators and column-wise methods on ``self._ddf`` (rows unchanged)."""

    __slots__ = ()
    __hash__ = None  # == is elementwise

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.log1p(frame["a"])`` and other elementwise NumPy functions, partition by partition (rows kept)."""
        from .frame import Frame

        if method != "__call__" or kwargs.get("out") is not None:
            return NotImplemented  # reductions (np.add.reduce), out=: use the methods (sum, ...) instead
        frames = [x for x in inputs if isinstance(x, Frame)]
        inputs = [x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in inputs]  # NumPy's scalars
        try:
            out = ufunc(*map(unwrap, inputs), **kwargs)
        except TypeError as e:
            if "cannot combine a Frame" in str(e):
                raise
            raise TypeError(f"cannot apply numpy.{ufunc.__name__} to "
                            f"{', '.join(map(describe_operand, inputs))}: {e}") from e
        lengths = frames[0]._lengths
        if any(f._lengths != lengths for f in frames[1:]):
            lengths = None
        return self._new(out, lengths)

    def __bool__(self):
        raise ValueError(f"the truth value of a {type(self).__name__} is ambiguous; combine conditions "
                         f"with & | ~ (not and/or/not), or compute a scalar with .any() / .all()")

    def _new(self, ddf, lengths):
        from .frame import Frame

        return Frame(ddf, lengths)

    # ------------------------------------------------------------ cleaning and conversion
    def astype(self, dtype):
        """Columns cast to ``dtype`` (one dtype, or ``{column: dtype}``)."""
        if isinstance(dtype, dict):
            from .frame import check_columns

            check_columns(list(dtype), self.columns)
        try:
            return self._new(self._ddf.astype(dtype), self._lengths)
        except (TypeError, ValueError) as e:
            raise type(e)(f"cannot cast {describe_operand(self)} to {dtype!r}: {e}") from e

    def isna(self):
        """True where a value is missing (NaN, None, NaT, NA)."""
        return self._new(self._ddf.isna(), self._lengths)

    def notna(self):
        """True where a value is present."""
        return self._new(~self._ddf.isna(), self._lengths)

    isnull, notnull = isna, notna

    def fillna(self, value):
        """Missing values replaced by ``value`` (a scalar, or ``{column: value}`` for a Frame)."""
        if isinstance(value, dict):
            from .frame import check_columns

            check_columns(list(value), self.columns)
            # column by column: dask's projection through fillna({...}) loses the fill when one column
            # is selected afterwards (frame.fillna({"a": 0})["a"] kept its NaNs, dask 2026.8)
            ddf = self._ddf
            for column, fill in value.items():
                ddf = ddf.assign(**{column: ddf[column].fillna(unwrap(fill))})
            return self._new(ddf, self._lengths)
        return self._new(self._ddf.fillna(unwrap(value)), self._lengths)

    def clip(self, lower=None, upper=None):
        """Values limited to ``[lower, upper]`` (either may be None)."""
        return self._new(self._ddf.clip(lower=lower, upper=upper), self._lengths)

    def where(self, cond, other=np.nan):
        """Values kept where ``cond`` holds and replaced by ``other`` elsewhere (pandas' ``where``)."""
        return self._new(self._ddf.where(unwrap(cond), unwrap(other)), self._lengths)

    def mask(self, cond, other=np.nan):
        """Values replaced by ``other`` where ``cond`` holds (the opposite of :meth:`where`)."""
        return self._new(self._ddf.mask(unwrap(cond), unwrap(other)), self._lengths)

    def abs(self):
        """Absolute values."""
        return abs(self)

    def round(self, decimals=0):
        """Values rounded to ``decimals`` places."""
        return self._new(self._ddf.round(decimals), self._lengths)

    # ------------------------------------------------------------ reductions (computed, like pandas)
    def _reduce(self, how, **kwargs):
        from ..runtime import get_scheduler

        try:
            lazy = getattr(self._ddf, how)(**kwargs)
        except (TypeError, ValueError) as e:  # dask raises ValueError for the mean of strings
            raise type(e)(f"cannot compute {how} of {describe_operand(self)}: {e}; pass numeric_only=True "
                          f"or select numeric columns") from e
        return lazy.compute(scheduler=get_scheduler())

    def sum(self, **kwargs):
        """Sum of each column (missing values skipped), computed."""
        return self._reduce("sum", **kwargs)

    def mean(self, **kwargs):
        """Mean of each column, computed."""
        return self._reduce("mean", **kwargs)

    def min(self, **kwargs):
        """Minimum of each column, computed."""
        return self._reduce("min", **kwargs)

    def max(self, **kwargs):
        """Maximum of each column, computed."""
        return self._reduce("max", **kwargs)

    def std(self, ddof=1, **kwargs):
        """Standard deviation of each column (``ddof=1`` as pandas), computed."""
        return self._reduce("std", ddof=ddof, **kwargs)

    def var(self, ddof=1, **kwargs):
        """Variance of each column (``ddof=1`` as pandas), computed."""
        return self._reduce("var", ddof=ddof, **kwargs)

    def count(self):
        """Number of non-missing values in each column, computed."""
        return self._reduce("count")

    def nunique(self, dropna=True):
        """Number of distinct values in each column, computed."""
        return self._reduce("nunique", dropna=dropna)

    def any(self):
        """Whether any value is true, per column, computed."""
        return self._reduce("any")

    def all(self):
        """Whether all values are true, per column, computed."""
        return self._reduce("all")


for _name, (_fn, _symbol) in _BINARY.items():
    setattr(ColumnOps, f"__{_name}__", _operator(_name, _fn, _symbol))
    setattr(ColumnOps, f"__r{_name}__", _operator(_name, _fn, _symbol, reflected=True))
for _name, (_fn, _symbol) in _COMPARE.items():
    setattr(ColumnOps, f"__{_name}__", _operator(_name, _fn, _symbol))
for _name, _fn in {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs,
                   "invert": operator.invert}.items():
    setattr(ColumnOps, f"__{_name}__", _unary(_name, _fn))
