"""Reductions and scans (chunkflow/core/reductions.py) against NumPy.

Every reduction is checked with axis None / int / negative int / tuple / (),
keepdims on and off, on random chunk grids including empty and length-1
axes; several reductions of one input (and reductions that depend on each
other) are computed together in one ``cf.compute``, which is where the
fused-group lowering could go wrong.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkflow as cf
from tests.helpers import DTYPES, FLOAT_DTYPES, array_and_grid, check_op, check_ops, shapes

# Sums of up to ~200 float32 terms in another order differ by ~n*eps.
RTOL = {np.float16: 1e-2, np.float32: 1e-4, np.float64: 1e-9}


@st.composite
def axes(draw, ndim, allow_none=True, allow_tuple=True):
    """None, an int (negative too) or a tuple of distinct ints (incl. ()) valid for ``ndim``."""
    options = [st.none()] if allow_none else []
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        options.append(st.lists(st.integers(-ndim, ndim - 1), unique_by=lambda a: a % ndim, max_size=ndim)
                       .map(tuple) if ndim else st.just(()))
    return draw(st.one_of(*options))


def _logsumexp_np(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _reductions(axis, keepdims):
    kw = dict(axis=axis, keepdims=keepdims)
    cases = {}
    for name in ("sum", "mean", "min", "max", "any", "all"):
        cases[f"cf.{name}"] = (lambda x, n=name: getattr(cf, n)(x, **kw), lambda x, n=name: getattr(np, n)(x, **kw))
        cases[f".{name}"] = (lambda x, n=name: getattr(x, n)(**kw), lambda x, n=name: getattr(np, n)(x, **kw))
    cases["logsumexp"] = (lambda x: cf.logsumexp(x, **kw), lambda x: _logsumexp_np(x, **kw))
    cases[".logsumexp"] = (lambda x: x.logsumexp(**kw), lambda x: _logsumexp_np(x, **kw))
    return cases


@given(data=st.data())
def test_reductions_fused(data):
    a, grid = data.draw(array_and_grid(nan=True))
    axis, keepdims = data.draw(axes(a.ndim)), data.draw(st.booleans())
    check_ops(_reductions(axis, keepdims), a, chunkings=[grid], rtol=RTOL)


@given(data=st.data())
def test_var_std_ddof(data):
    a, grid = data.draw(array_and_grid(dtypes=DTYPES, low=-100, high=100))
    axis, keepdims = data.draw(axes(a.ndim)), data.draw(st.booleans())
    n = np.sum(np.ones(a.shape), axis=axis)
    n = int(np.min(n)) if np.size(n) else 0
    cases = {}
    for ddof in range(3):
        if ddof >= n:  # NumPy divides by n - ddof <= 0: inf or nan depending on rounding; see below
            continue
        kw = dict(axis=axis, ddof=ddof, keepdims=keepdims)
        cases[f"var ddof={ddof}"] = (lambda x, kw=kw: cf.var(x, **kw), lambda x, kw=kw: np.var(x, **kw))
        cases[f"std ddof={ddof}"] = (lambda x, kw=kw: x.std(**kw), lambda x, kw=kw: np.std(x, **kw))
    cases["var correction=1"] = (lambda x: cf.var(x, axis=axis, correction=1, keepdims=keepdims),
                                 lambda x: np.var(x, axis=axis, correction=1, keepdims=keepdims))
    if n <= 1:
        cases.pop("var correction=1")
    check_ops(cases, a, chunkings=[grid], rtol=RTOL)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_var_with_ddof_at_least_count():
    """n - ddof <= 0: NumPy divides by 0, giving inf (nan where all values are equal)."""
    a = np.array([[1.0, 3.0, 4.0], [3.0, 3.0, 5.0]])
    for ddof in (2, 3):
        check_op(lambda x: cf.var(x, axis=0, ddof=ddof), lambda x: np.var(x, axis=0, ddof=ddof), a)
        np.testing.assert_array_equal(np.var(a, axis=0, ddof=ddof), [np.inf, np.nan, np.inf])


def test_var_is_stable_for_large_offsets():
    a = 1e8 + np.arange(24.0).reshape(6, 4)
    check_op(lambda x: x.var(axis=0), lambda x: np.var(x, axis=0), a, rtol=1e-6, atol=0)


@given(data=st.data())
def test_prod(data):
    # |values| <= 2 and at most 64 elements: no float32 overflow in any order
    a, grid = data.draw(array_and_grid(shape=shapes(max_side=4), low=-2, high=2))
    axis, keepdims = data.draw(axes(a.ndim)), data.draw(st.booleans())
    check_ops({
        "prod": (lambda x: cf.prod(x, axis=axis, keepdims=keepdims), lambda x: np.prod(x, axis=axis, keepdims=keepdims)),
        ".prod": (lambda x: x.prod(axis=axis, keepdims=keepdims), lambda x: np.prod(x, axis=axis, keepdims=keepdims)),
    }, a, chunkings=[grid], rtol=RTOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_, None])
@pytest.mark.parametrize("name", ["sum", "prod", "mean"])
def test_reduction_dtype_argument(name, dtype):
    a = (np.arange(30).reshape(5, 6) % 4).astype(np.int32)
    cf_fn, np_fn = getattr(cf, name), getattr(np, name)
    check_ops({
        "axis=0": (lambda x: cf_fn(x, axis=0, dtype=dtype), lambda x: np_fn(x, axis=0, dtype=dtype)),
        "axis=None": (lambda x: cf_fn(x, dtype=dtype), lambda x: np_fn(x, dtype=dtype)),
    }, a, rtol=RTOL)


def test_reductions_of_default_chunkings():
    a = np.linspace(-2, 3, 5 * 3 * 2).reshape(5, 3, 2)
    for axis in (None, 0, 1, -1, (0, 2), (1, 2), ()):
        check_ops(_reductions(axis, False), a, rtol=RTOL)


def test_reductions_of_0d():
    a = np.array(2.5)
    check_ops(_reductions(None, False), a)
    check_ops(_reductions((), True), a)


def test_logsumexp_is_stable():
    a = np.array([[1000.0, 999.0, -np.inf], [-1000.0, -1001.0, -np.inf], [-np.inf, -np.inf, -np.inf]])
    expected = np.array([1000 + np.log1p(np.exp(-1.0)), -1000 + np.log1p(np.exp(-1.0)), -np.inf])
    check_op(lambda x: cf.logsumexp(x, axis=1), lambda x: expected, a, chunkings=[-1, (1, -1), (2, -1)], rtol=1e-12)
    check_op(lambda x: cf.logsumexp(x), lambda x: 1000 + np.log1p(np.exp(-1.0)), a[:, :2].T, rtol=1e-12)


@pytest.mark.parametrize("values, dtype, chunks", [
    ([-1000.0, -np.inf], np.float64, 1),             # a chunk of only -inf
    ([-100.0, -np.inf, -101.0], np.float32, 1),      # float32 log-probabilities with a masked entry
])
def test_logsumexp_with_all_minus_inf_or_empty_chunk(values, dtype, chunks):
    a = np.array(values, dtype=dtype)
    finite = a[np.isfinite(a)]
    expected = (finite.max() + np.log(np.sum(np.exp(finite - finite.max())))).astype(dtype)
    check_op(cf.logsumexp, lambda x: expected, a, chunkings=[chunks])


def test_logsumexp_of_selection_with_an_empty_block():
    """Grids drop zero-length blocks, but a boolean selection makes empty blocks at run time."""
    a = np.array([-1000.0, 5.0, 7.0, -1001.0])
    keep = np.array([True, False, False, True])
    x = cf.from_array(a, chunks=1)[cf.from_array(keep, chunks=1)]
    expected = -1000 + np.log1p(np.exp(-1.0))
    np.testing.assert_allclose(cf.logsumexp(x).compute(scheduler="sync"), expected, rtol=1e-12)


# ---------------------------------------------------------------- arg-reductions and scans
@given(data=st.data())
def test_argmin_argmax(data):
    a, grid = data.draw(array_and_grid(nan=True, low=-3, high=3))  # small range: many ties
    axis = data.draw(axes(a.ndim, allow_tuple=False))
    keepdims = data.draw(st.booleans())
    kw = dict(axis=axis, keepdims=keepdims)
    check_ops({
        "argmin": (lambda x: cf.argmin(x, **kw), lambda x: np.argmin(x, **kw)),
        "argmax": (lambda x: cf.argmax(x, **kw), lambda x: np.argmax(x, **kw)),
        ".argmax": (lambda x: x.argmax(**kw), lambda x: np.argmax(x, **kw)),
    }, a, chunkings=[grid])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf * 0 in dask's scan kernels, as in NumPy's
@given(data=st.data())
def test_cumsum_cumprod(data):
    a, grid = data.draw(array_and_grid(shape=shapes(min_dims=1, max_side=4), nan=True, low=-2, high=2))
    axis = data.draw(axes(a.ndim, allow_tuple=False))
    dtype = data.draw(st.sampled_from([None, np.float64, np.int64]))
    if dtype is np.int64:  # casting nan/inf to int is undefined
        a = np.where(np.isfinite(a), a, 0).astype(a.dtype)
    kw = dict(axis=axis, dtype=dtype)
    check_ops({
        "cumsum": (lambda x: cf.cumsum(x, **kw), lambda x: np.cumsum(x, **kw)),
        "cumprod": (lambda x: cf.cumprod(x, **kw), lambda x: np.cumprod(x, **kw)),
        ".cumsum": (lambda x: x.cumsum(**kw), lambda x: np.cumsum(x, **kw)),
    }, a, chunkings=[grid], rtol=RTOL)


# ---------------------------------------------------------------- several reductions in one compute
@given(data=array_and_grid(dtypes=(np.int32,), shape=shapes(min_dims=2, max_dims=2, min_side=1), low=-5, high=5),
       dtype=st.sampled_from(FLOAT_DTYPES))
def test_dependent_reductions_in_one_compute(data, dtype):
    # Integer values: a constant column has std exactly 0 both here and in NumPy
    # (with arbitrary floats NumPy's float32 std of a constant column can be 1e-26).
    a, grid = data
    a = a.astype(dtype)

    def cases(x, m):
        mu, sd = m.mean(x, axis=0), m.std(x, axis=0)
        z = (x - mu) / sd
        return (
            z.sum(0),
            (x - x.max(axis=1, keepdims=True)).sum(axis=1),
            (x - m.mean(x)).var(),
            m.sum(x, axis=0).max(),
            x.sum() / x.size - m.mean(x),
            m.sum(x * x, axis=0) - m.sum(x, axis=0) * mu,
            m.min(x - x.min(axis=0), axis=0),
            mu,
            sd,
        )

    def cf_fn(x):
        return cases(x, cf)

    def np_fn(x):
        with np.errstate(all="ignore"):
            return cases(x, np)

    labels = ["z.sum(0)", "x-max(1)", "var(x-mean)", "sum(0).max()", "sum/size-mean", "sumsq",
              "min(x-min)", "mean", "std"]
    check_op(cf_fn, np_fn, a, chunkings=[grid], rtol={np.float32: 2e-3, np.float64: 1e-8}, labels=labels)


def test_standardize_sum_default_chunkings():
    a = np.random.default_rng(0).normal(size=(23, 4))
    check_op(lambda x: ((x - x.mean(0)) / x.std(0)).sum(0),
             lambda x: ((x - x.mean(0)) / x.std(0)).sum(0), a, atol=1e-9)


def test_reductions_of_differently_chunked_operands():
    a = np.arange(35.0).reshape(7, 5)
    b = np.arange(5.0)[::-1].copy()
    check_op(lambda x, y: ((x * y).sum(0), (x - y).max(1), x.mean(0) + y),
             lambda x, y: ((x * y).sum(0), (x - y).max(1), x.mean(0) + y),
             a, b, chunkings=[[(3, 2), (2,)], [(2, 5), -1], [-1, 1]])


def test_compute_several_outputs_matches_separate_computes():
    x = cf.from_array(np.arange(60.0).reshape(12, 5), chunks=(5, 2))
    outs = (x.mean(0), x.std(0), x.max(0), x.sum(), x.var(1), ((x - x.mean(0)) / x.std(0)).sum(0))
    together = cf.compute(*outs, scheduler="sync")
    for t, v in zip(outs, together):
        np.testing.assert_allclose(v, t.compute(scheduler="sync"), rtol=1e-12, atol=1e-12)


def test_count_nonzero():
    a = np.array([[0, 1, 2], [0, 0, 3]])
    check_op(lambda x: cf.count_nonzero(x, axis=0), lambda x: np.count_nonzero(x, axis=0), a)
    assert cf.count_nonzero(cf.from_array(a)).compute(scheduler="sync") == 3


def test_scans_refuse_unknown_lengths():
    """dask's cumsum over chunks of unknown length returned too few rows; chunkflow refuses instead."""
    a = np.arange(12.0).reshape(6, 2)
    x = cf.from_array(a, chunks=2)
    sel = x[cf.from_array(a[:, 0] > 2, chunks=2)]
    for fn in (cf.cumsum, cf.cumprod):
        with pytest.raises(ValueError, match=r"unknown chunk sizes \(shape \(nan, 2\).*compute_chunk_sizes"):
            fn(sel, axis=0)
    check_op(lambda x: x.cumsum(0), lambda x: x.cumsum(0), a[a[:, 0] > 2])


def test_arg_reductions_keepdims_without_axis():
    a = np.arange(24).reshape(2, 3, 4) % 7
    check_ops({
        "argmax": (lambda x: cf.argmax(x, keepdims=True), lambda x: np.argmax(x, keepdims=True)),
        "argmin": (lambda x: cf.argmin(x, keepdims=True), lambda x: np.argmin(x, keepdims=True)),
    }, a)
