"""Core: the lazy Tensor graph, its operations and their lowering to Dask."""
from . import methods  # noqa: F401  (attaches operators and methods to Tensor)
from .tensor import Tensor

__all__ = ["Tensor"]
