"""Array API additions (chunkflow/core/array_api.py) against NumPy.

Each function is checked with ``check_op`` on several chunkings of small
inputs (values, dtype, eager shape and chunks), plus its argument errors.
Also here: the array-API arguments of creation functions (``device=``,
``copy=``) and ``__dlpack__``.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkflow as cf
from tests.helpers import DTYPES, arrays, check_op

WITH_NAN = np.array([3.0, np.nan, 1.0, 3.0, -0.5, np.nan, 1.0, 2.0])


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_finfo_gives_python_numbers(dtype):
    ref = np.finfo(dtype)
    for arg in (dtype, np.dtype(dtype), cf.asarray(1, dtype=dtype)):
        info = cf.finfo(arg)
        assert (info.bits, info.eps, info.max, info.min, info.smallest_normal) == (
            ref.bits, float(ref.eps), float(ref.max), float(ref.min), float(ref.smallest_normal))
        assert all(isinstance(v, float) for v in (info.eps, info.max, info.min, info.smallest_normal))
        assert info.dtype == ref.dtype


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.uint64])
def test_iinfo_gives_python_ints(dtype):
    info = cf.iinfo(cf.asarray(1, dtype=dtype))
    ref = np.iinfo(dtype)
    assert (info.bits, info.min, info.max, info.dtype) == (ref.bits, ref.min, ref.max, np.dtype(dtype))
    assert isinstance(info.max, int)


def test_info_rejects_the_wrong_kind():
    with pytest.raises(TypeError, match="iinfo for integers"):
        cf.finfo(np.int32)
    with pytest.raises(TypeError, match="finfo for floating"):
        cf.iinfo(cf.float32)
    with pytest.raises(TypeError, match="dtype or a Tensor"):
        cf.finfo("not a dtype")


def test_result_type_and_can_cast_take_tensors():
    x8, xf = cf.asarray([1], dtype=np.int8), cf.asarray([1.0], dtype=np.float32)
    assert cf.result_type(x8, np.int16) == np.int16
    assert cf.result_type(x8, xf) == np.result_type(np.int8, np.float32)
    assert cf.result_type(xf, 1.0) == np.float32  # Python scalars are weak
    assert cf.can_cast(x8, np.int64) and not cf.can_cast(xf, np.int8)
    with pytest.raises(ValueError, match="at least one Tensor or dtype"):
        cf.result_type(1, 2.0)


def test_namespace_info():
    info = cf.__array_namespace_info__()
    assert info.default_device() in info.devices()
    assert info.default_dtypes()["indexing"] == np.intp
    assert set(info.dtypes(kind="real floating").values()) == {np.dtype(np.float32), np.dtype(np.float64)}
    assert len(info.dtypes()) == 13 and info.capabilities()["boolean indexing"] is True
    with pytest.raises(ValueError, match="device 'tpu'"):
        info.dtypes(device="tpu")
    assert cf.arange(3).__array_namespace__() is cf


# ---------------------------------------------------------------- creation
@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("lengths", [(4,), (3, 5), (2, 0, 3)])
def test_meshgrid(indexing, lengths):
    arrays_ = [np.arange(n, dtype=np.float32) * (i + 1) for i, n in enumerate(lengths)]
    check_op(lambda *xs: tuple(cf.meshgrid(*xs, indexing=indexing)),
             lambda *xs: tuple(np.meshgrid(*xs, indexing=indexing)), *arrays_)


def test_meshgrid_errors():
    with pytest.raises(ValueError, match="indexing must be"):
        cf.meshgrid(cf.arange(2), indexing="yx")
    with pytest.raises(ValueError, match="1-D Tensors; input 0 has shape"):
        cf.meshgrid(cf.zeros((2, 2)))


@pytest.mark.parametrize("k", [-2, 0, 1, 5])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 3), (0, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.bool_])
def test_tril_triu(k, shape, dtype):
    x = (np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(dtype)
    check_op(lambda t: (cf.tril(t, k=k), cf.triu(t, k=k)),
             lambda a: (np.tril(a, k=k), np.triu(a, k=k)), x)


def test_tril_errors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        cf.tril(cf.arange(3))
    with pytest.raises(TypeError, match="k must be an int"):
        cf.triu(cf.eye(3), k=1.5)


def test_dlpack_round_trip():
    x = cf.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    np.testing.assert_array_equal(np.from_dlpack(x), np.arange(6.0).reshape(2, 3))
    assert x.__dlpack_device__() == (1, 0)
    y = cf.from_dlpack(np.arange(4))
    np.testing.assert_array_equal(y.compute(scheduler="sync"), np.arange(4))
    assert cf.from_dlpack(x) is x
    with pytest.raises(TypeError, match="__dlpack__"):
        cf.from_dlpack([1, 2])


def test_creation_functions_take_a_device():
    for t in (cf.zeros(3, device="cpu"), cf.ones(3, device=None), cf.empty(3, device="cpu"),
              cf.full(3, 2, device="cpu"), cf.arange(3, device="cpu"), cf.eye(2, device="cpu"),
              cf.linspace(0, 1, 3, device="cpu"), cf.zeros_like(cf.ones(2), device="cpu"),
              cf.asarray([1], device="cpu"), cf.astype(cf.arange(2), np.float32, device="cpu")):
        assert t.device == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'; use 'cpu' or 'gpu'"):
        cf.zeros(3, device="tpu")


@pytest.mark.parametrize("args", [(0, 7, 26), (0.0, 1.0, 1), (-1.5, 2, 7, False), (1, 1, 4), (0, 10, 4),
                                  (1j, 3 + 2j, 5), (2, -3, 0)])
def test_linspace_matches_numpy_exactly(args):
    start, stop, num, *rest = args
    endpoint = rest[0] if rest else True
    got = cf.linspace(start, stop, num, endpoint=endpoint).compute(scheduler="sync")
    ref = np.linspace(start, stop, num, endpoint=endpoint)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)  # exact, the endpoint included


def test_linspace_integer_dtype_floors_as_numpy():
    np.testing.assert_array_equal(cf.linspace(0, 10, 4, dtype=np.int64).compute(scheduler="sync"),
                                  np.linspace(0, 10, 4, dtype=np.int64))


@pytest.mark.parametrize("args, kwargs", [((0.0,), {"step": 2}), ((5,), {}), ((1, 2**62, 2**60), {}),
                                          ((10, 0, -3), {}), ((0, 1, 0.25), {}), ((3,), {"dtype": np.uint8})])
def test_arange_dtype_and_length_as_numpy(args, kwargs):
    got = cf.arange(*args, **kwargs)
    ref = np.arange(*args, **kwargs)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    np.testing.assert_array_equal(got.compute(scheduler="sync"), ref)


def test_asarray_copy_false_refuses_to_copy():
    x = cf.arange(3)
    assert cf.asarray(x, copy=False) is x and cf.asarray(x, copy=True) is x
    with pytest.raises(ValueError, match="cannot change dtype"):
        cf.asarray(x, dtype=np.float32, copy=False)
    with pytest.raises(ValueError):
        cf.asarray([1, 2, 3], copy=False)
    assert cf.asarray(x, dtype=np.float32).dtype == np.float32


# ---------------------------------------------------------------- scans
@given(a=arrays(dtypes=DTYPES, shape=st.sampled_from([(7,), (3, 4), (0, 3)])), initial=st.booleans(),
       axis=st.sampled_from([0, -1]))
def test_cumulative_sum_and_prod(a, initial, axis):
    def expected(fn, first):
        def f(x):
            out = fn(x, axis=axis)
            if not initial:
                return out
            pad = np.full(tuple(1 if d == axis % x.ndim else s for d, s in enumerate(x.shape)), first, out.dtype)
            return np.concatenate([pad, out], axis=axis)
        return f

    check_op(lambda t: (cf.cumulative_sum(t, axis=axis, include_initial=initial),
                        cf.cumulative_prod(t, axis=axis, include_initial=initial)),
             lambda x: (expected(np.cumsum, 0)(x), expected(np.cumprod, 1)(x)), a)


def test_cumulative_sum_axis_and_dtype():
    check_op(lambda t: cf.cumulative_sum(t, dtype=np.float32), lambda x: np.cumsum(x, dtype=np.float32),
             np.arange(6, dtype=np.int8))
    with pytest.raises(ValueError, match="axis is required for a 2-d Tensor"):
        cf.cumulative_sum(cf.ones((2, 2)))
    with pytest.raises(ValueError, match="0-d Tensor"):
        cf.cumulative_prod(cf.asarray(1.0))


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.bool_])
def test_diff(n, dtype):
    x = (np.arange(24).reshape(4, 6) ** 2 % 7).astype(dtype)
    check_op(lambda t: (cf.diff(t, n=n), cf.diff(t, axis=0, n=n)),
             lambda a: (np.diff(a, n=n), np.diff(a, axis=0, n=n)), x)


def test_diff_prepend_append():
    x = np.array([[1.0, 4.0, 9.0], [2.0, 2.0, 0.0]])
    check_op(lambda t, p, q: cf.diff(t, prepend=p, append=q), lambda a, p, q: np.diff(a, prepend=p, append=q),
             x, np.zeros((2, 1)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-negative int"):
        cf.diff(cf.arange(3), n=-1)


# ---------------------------------------------------------------- sorting
@given(a=arrays(dtypes=DTYPES, shape=st.sampled_from([(9,), (4, 5), (2, 3, 4), (0, 3)]), nan=True),
       axis=st.sampled_from([0, -1]), descending=st.booleans())
def test_sort_and_stable_argsort(a, axis, descending):
    def np_argsort(x):
        if not descending:
            return np.argsort(x, axis=axis, stable=True)
        flipped = np.flip(x, axis)  # stable descending: ties keep their order
        n = x.shape[axis]
        return n - 1 - np.flip(np.argsort(flipped, axis=axis, stable=True), axis)

    def np_sort(x):
        out = np.sort(x, axis=axis)
        return np.flip(np.sort(np.flip(x, axis), axis=axis), axis) if descending else out

    check_op(lambda t: (cf.sort(t, axis=axis, descending=descending),
                        cf.argsort(t, axis=axis, descending=descending)),
             lambda x: (np_sort(x), np_argsort(x)), a)


def test_np_sort_and_argsort_with_axis_none_flatten():
    a = np.array([[3.0, np.nan, 1.0], [2.0, 1.0, 0.5], [np.nan, 4.0, 1.0]])
    check_op(lambda t: (np.sort(t, axis=None), np.argsort(t, axis=None, stable=True)),
             lambda x: (np.sort(x, axis=None), np.argsort(x, axis=None, stable=True)), a)


def test_argsort_descending_keeps_ties_in_order():
    x = cf.from_array(np.array([1, 3, 1, 3, 2]), chunks=2)
    np.testing.assert_array_equal(cf.argsort(x, descending=True).compute(scheduler="sync"), [1, 3, 4, 0, 2])
    with pytest.raises(ValueError, match="0-d Tensor"):
        cf.sort(cf.asarray(1.0))


def test_take_along_axis():
    x = np.array([[5.0, 1.0, 3.0], [2.0, 8.0, 0.0]])
    idx = np.argsort(x, axis=1)
    check_op(lambda t, i: cf.take_along_axis(t, i, axis=1), lambda a, i: np.take_along_axis(a, i, axis=1), x, idx)
    check_op(lambda t, i: cf.take_along_axis(t, i, axis=0), lambda a, i: np.take_along_axis(a, i, axis=0),
             x, np.array([[1, 0, -1]]))
    with pytest.raises(ValueError, match="same number of dimensions"):
        cf.take_along_axis(cf.ones((2, 2)), cf.arange(2), axis=0)
    with pytest.raises(TypeError, match="integer indices"):
        cf.take_along_axis(cf.ones((2, 2)), cf.ones((2, 2)))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(side):
    sorted_ = np.array([0.0, 1.0, 1.0, 2.5, 4.0, 9.0])
    v = np.array([[-1.0, 1.0], [2.5, 10.0]])
    check_op(lambda a, b: cf.searchsorted(a, b, side=side), lambda a, b: np.searchsorted(a, b, side=side),
             sorted_, v)
    unsorted = np.array([4.0, 0.0, 9.0, 1.0])
    sorter = np.argsort(unsorted)
    check_op(lambda a, b, s: cf.searchsorted(a, b, side=side, sorter=s),
             lambda a, b, s: np.searchsorted(a, b, side=side, sorter=s), unsorted, v, sorter)


def test_searchsorted_scalar_value():
    check_op(lambda a: cf.searchsorted(a, 2.5), lambda a: np.searchsorted(a, 2.5), np.arange(5.0))


def test_numpy_functions_dispatch_with_numpy_argument_order():
    t = cf.from_array(np.array([3, 1, 2, 1]), chunks=2)
    np.testing.assert_array_equal(np.argsort(t, axis=0, stable=True).compute(scheduler="sync"), [1, 3, 2, 0])
    np.testing.assert_array_equal(np.diff(t, n=2).compute(scheduler="sync"), [3, -2])
    with pytest.raises(TypeError):
        np.diff(t, 2)  # NumPy's positional n is not the standard's keyword-only axis


def test_searchsorted_errors():
    with pytest.raises(ValueError, match="1-D x1"):
        cf.searchsorted(cf.ones((2, 2)), cf.ones(2))
    with pytest.raises(ValueError, match="side must be"):
        cf.searchsorted(cf.arange(3), 1, side="middle")


# ---------------------------------------------------------------- unique
@given(a=arrays(dtypes=DTYPES, shape=st.sampled_from([(8,), (3, 4), (0,), ()]), nan=True, low=-3, high=3))
def test_unique_functions(a):
    def cf_unique(t):
        every = cf.unique_all(t)
        return (cf.unique_values(t), *cf.unique_counts(t), *cf.unique_inverse(t), *every)

    def np_unique(x):  # np.unique: sorted (NumPy >= 2.3's unique_values need not be), NaNs distinct
        values, index, inverse, counts = np.unique(x, True, True, True, equal_nan=False)
        inverse = inverse.reshape(x.shape)
        return values, values, counts, values, inverse, values, index, inverse, counts

    check_op(cf_unique, np_unique, a)


def test_unique_nans_are_distinct_and_lengths_unknown():
    x = cf.from_array(WITH_NAN, chunks=3)
    values, counts = cf.unique_counts(x)
    assert np.isnan(values.shape[0])
    v, c = cf.compute(values, counts, scheduler="sync")
    np.testing.assert_array_equal(v, [-0.5, 1.0, 2.0, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(c, [1, 2, 1, 2, 1, 1])
