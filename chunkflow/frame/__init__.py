"""Chunked tables: :class:`Frame` on dask.dataframe, convertible to a Tensor."""
from .frame import ColumnNotFoundError, Frame, check_columns, from_dask_dataframe, from_pandas

__all__ = ["Frame", "from_pandas", "from_dask_dataframe", "ColumnNotFoundError", "check_columns"]
