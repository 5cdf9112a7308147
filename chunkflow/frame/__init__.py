"""Chunked tables: :class:`Frame` on dask.dataframe, convertible to a Tensor (design note: ``frame.py``)."""
from .frame import ColumnNotFoundError, Frame, check_columns, from_dask, from_dask_dataframe, from_pandas
from .series import Series
from .groupby import GroupBy
from .combine import concat, merge
from .encode import categorize, get_dummies, ordinal_encode

__all__ = ["Frame", "Series", "GroupBy", "from_pandas", "from_dask_dataframe", "from_dask", "ColumnNotFoundError",
           "check_columns", "concat", "merge", "categorize", "get_dummies", "ordinal_encode"]
