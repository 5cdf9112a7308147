from .npy import from_npy, to_npy  # noqa: F401  (also attaches Tensor.to_npy)
from .zarr import from_zarr, to_zarr  # noqa: F401  (also attaches Tensor.to_zarr)
from .parquet import read_parquet, write_tensor  # noqa: F401  (also attaches Tensor.to_parquet)
from .csv import read_csv  # noqa: F401
