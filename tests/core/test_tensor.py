"""The Tensor node: metadata, interning, conversions."""
import numpy as np
import pytest

import chunkflow as cf


def test_metadata_is_known_before_running():
    x = cf.ones((10, 4), chunks=(3, 4), dtype=np.float32)
    assert (x.shape, x.ndim, x.size, x.nbytes, x.dtype) == ((10, 4), 2, 40, 160, np.float32)
    assert x.chunks == ((3, 3, 3, 1), (4,)) and x.numblocks == (4, 1) and x.device == "cpu"


def test_len_of_unknown_length_says_what_to_do():
    x = cf.from_array(np.arange(10.0), chunks=3)
    sel = x[x > 3]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        len(sel)
    assert len(sel.compute_chunk_sizes()) == 6


def test_scalar_conversions():
    x = cf.from_array(np.arange(6.0), chunks=2)
    assert float(x.sum()) == 15.0 and int(x.max()) == 5 and bool(x.any())
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)


def test_item_tolist_copy_as_numpy():
    a = np.arange(12.0).reshape(3, 4)
    x = cf.from_array(a, chunks=(2, 3))
    assert x.sum().item() == a.sum().item() and type(x.sum().item()) is float
    assert type(x.astype(int)[1, 2].item()) is int
    for args in ((5,), (-1,), (1, 2), ((2, 3),)):
        assert x.item(*args) == a.item(*args)
    assert x.tolist() == a.tolist() and x[0, 0].tolist() == 0.0
    assert x.copy() is x  # immutable: the same Tensor
    with pytest.raises(ValueError, match="size 1"):
        x.item()
    with pytest.raises(IndexError, match="out of bounds"):
        x.item(12)


def test_equal_expressions_are_one_node():
    x = cf.from_array(np.arange(6.0), chunks=2)
    assert cf.exp(x + 1) is cf.exp(x + 1)
    assert (x + 1).key != (x + 2).key
