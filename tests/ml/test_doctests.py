"""The examples in chunkflow.ml's docstrings run as written."""
import doctest
import importlib

import pytest

MODULES = ["chunkflow.ml.optim", "chunkflow.ml.lbfgs", "chunkflow.ml.schedules", "chunkflow.ml.tree", "chunkflow.ml.als",
           "chunkflow.ml.model_selection"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
