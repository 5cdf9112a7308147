"""``Series.str`` and ``Series.dt``: pandas' string and datetime methods, partition by partition.

Each method maps every partition to the same rows, so the row lengths are
kept. The accessor checks the column's dtype when it is used, as pandas does,
and names the column and its dtype when it is not strings or datetimes.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["StringMethods", "DatetimeMethods"]


def _is_string(dtype) -> bool:
    return pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype) or dtype == object


class _Accessor:
    __slots__ = ("_series",)
    kind = ""

    def __init__(self, series):
        self._series = series

    def _wrap(self, ddf):
        from .frame import Frame

        return Frame(ddf, self._series._lengths)  # a Series (a DataFrame for isocalendar, split(expand=True))

    def _dask(self):
        raise NotImplementedError

    def __getattr__(self, name):
        """pandas' other methods and properties of the accessor (``.str.slice``, ``.dt.strftime``, ...), as dask
        offers them, each mapping a partition to the same rows."""
        if name.startswith("_"):
            raise AttributeError(name)
        attr = getattr(self._dask(), name, None)
        if attr is None:
            raise AttributeError(f"'.{self.kind}' of column {self._series.name!r} has no method {name!r}")
        if not callable(attr):
            return self._wrap(attr)

        def method(*args, **kwargs):
            return self._wrap(attr(*args, **kwargs))

        method.__name__ = name
        return method

    def __getitem__(self, key):
        """``.str[i]`` or ``.str[i:j]``: the character(s) at ``key`` of each value."""
        return self._wrap(self._dask()[key])


class StringMethods(_Accessor):
    """String methods of a column of strings (see the module docstring)."""

    __slots__ = ()

    def __init__(self, series):
        if not _is_string(series.dtype):
            raise AttributeError(f"the .str accessor needs a column of strings, but column {series.name!r} is "
                                 f"{series.dtype}; convert it with .astype(str) first")
        super().__init__(series)

    kind = "str"

    @property
    def _str(self):
        return self._series._ddf.str

    def _dask(self):
        return self._str

    def lower(self):
        """Each string in lower case."""
        return self._wrap(self._str.lower())

    def upper(self):
        """Each string in upper case."""
        return self._wrap(self._str.upper())

    def strip(self, to_strip=None):
        """Each string without leading and trailing whitespace (or the characters ``to_strip``)."""
        return self._wrap(self._str.strip(to_strip))

    def len(self):
        """The length of each string."""
        return self._wrap(self._str.len())

    def contains(self, pat, case=True, regex=True, na=None):
        """True where the string contains ``pat`` (a regular expression unless ``regex=False``)."""
        kwargs = {} if na is None else {"na": na}
        return self._wrap(self._str.contains(pat, case=case, regex=regex, **kwargs))

    def startswith(self, pat):
        """True where the string starts with ``pat``."""
        return self._wrap(self._str.startswith(pat))

    def endswith(self, pat):
        """True where the string ends with ``pat``."""
        return self._wrap(self._str.endswith(pat))

    def replace(self, pat, repl, regex=False):
        """Each string with ``pat`` replaced by ``repl``."""
        return self._wrap(self._str.replace(pat, repl, regex=regex))


class DatetimeMethods(_Accessor):
    """Parts of the dates and times in a datetime (or timedelta: ``.dt.days``) column (see the module docstring)."""

    __slots__ = ()

    def __init__(self, series):
        if not (pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype)):
            raise AttributeError(f"the .dt accessor needs a datetime column, but column {series.name!r} is "
                                 f"{series.dtype}; parse it first, e.g. frame.assign({series.name}=lambda f: "
                                 f"f[{series.name!r}].astype('datetime64[ns]'))")
        super().__init__(series)

    kind = "dt"

    def _dask(self):
        return self._series._ddf.dt

    def _part(self, name):
        return self._wrap(getattr(self._series._ddf.dt, name))

    year = property(lambda self: self._part("year"), doc="The year.")
    month = property(lambda self: self._part("month"), doc="The month, 1 to 12.")
    day = property(lambda self: self._part("day"), doc="The day of the month.")
    day_of_week = property(lambda self: self._part("day_of_week"), doc="The day of the week, Monday 0 to Sunday 6.")
    day_of_year = property(lambda self: self._part("day_of_year"), doc="The day of the year.")
    hour = property(lambda self: self._part("hour"), doc="The hour, 0 to 23.")
    minute = property(lambda self: self._part("minute"), doc="The minute.")
    dayofweek = weekday = day_of_week
    dayofyear = day_of_year
