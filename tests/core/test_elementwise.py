"""Elementwise operations (chunkflow/core/elementwise.py) against NumPy.

Values, result dtypes (NumPy 2 promotion, Python scalars weak) and broadcast
shapes must be NumPy's on every chunking; where NumPy rejects a dtype with a
TypeError, chunkflow must reject it when the expression is written. Several
ops on the same inputs are checked in one compute (``check_ops``) to keep
the suite fast.
"""
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chunkflow as cf
from tests.helpers import (
    DTYPES, FLOAT_DTYPES, NUMERIC_DTYPES, array_and_grid, arrays, check_op, check_ops, check_tensor, chunk_grids,
)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


UNARY = {
    "abs": (cf.abs, np.abs), "negative": (cf.negative, np.negative), "exp": (cf.exp, np.exp),
    "expm1": (cf.expm1, np.expm1), "log": (cf.log, np.log), "log1p": (cf.log1p, np.log1p),
    "sqrt": (cf.sqrt, np.sqrt), "square": (cf.square, np.square), "sin": (cf.sin, np.sin),
    "cos": (cf.cos, np.cos), "tanh": (cf.tanh, np.tanh), "isnan": (cf.isnan, np.isnan),
    "isfinite": (cf.isfinite, np.isfinite), "sign": (cf.sign, np.sign), "floor": (cf.floor, np.floor),
    "round": (cf.round, np.round), "logical_not": (cf.logical_not, np.logical_not),
    "invert": (operator.invert, np.invert), "-x": (operator.neg, operator.neg),
    "abs()": (abs, abs), "+x": (operator.pos, operator.pos),
}


@given(data=array_and_grid(nan=True))
def test_unary(data):
    a, grid = data
    check_ops(UNARY, a, chunkings=[grid])


@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_default_chunkings(dtype):
    a = np.linspace(-3, 7, 35).reshape(7, 5).astype(dtype)
    accepted = check_ops(UNARY, a)
    if dtype is not np.bool_:
        assert "negative" in accepted and "sign" in accepted
    else:  # NumPy has no negative/sign for bool; chunkflow must refuse them too
        assert "negative" not in accepted and "sign" not in accepted


@given(data=array_and_grid(dtypes=NUMERIC_DTYPES, nan=True, low=-50, high=50))
def test_sigmoid(data):
    a, grid = data
    check_op(cf.sigmoid, _sigmoid, a, chunkings=[grid], rtol=1e-5 if a.dtype == np.float32 else 1e-12)


def test_sigmoid_is_stable_at_extremes():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    out = cf.sigmoid(cf.from_array(x, chunks=2)).compute(scheduler="sync")
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [0.0, _sigmoid(-50.0), 0.5, 1.0, 1.0], rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_decimals(dtype):
    a = (np.linspace(-40, 40, 23) * 1.37).astype(dtype)
    check_ops({
        f"{form}{d}": (f, lambda x, d=d: np.round(x, d))
        for d in (-1, 0, 2)
        for form, f in (("cf.round", lambda x, d=d: cf.round(x, d)), (".round", lambda x, d=d: x.round(d)))
    }, a)


# ---------------------------------------------------------------- binary operators
BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "<<": operator.lshift, ">>": operator.rshift,
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge,
}
# Exponents and shift counts stay small and non-negative: NumPy raises on
# integer ** negative integer, and shifts by the bit width or more are undefined.
_NONNEGATIVE = {"**", "<<", ">>"}


@st.composite
def two_broadcastable(draw, dtypes=DTYPES, nan=False, right_low=-10, right_high=10):
    """Two arrays of broadcast-compatible shapes (different ndims too) and a grid for each."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=5))
    a = draw(arrays(dtypes, shapes.input_shapes[0], nan))
    b = draw(arrays(dtypes, shapes.input_shapes[1], nan, right_low, right_high))
    return a, b, [draw(chunk_grids(a.shape)), draw(chunk_grids(b.shape))]


@given(data=two_broadcastable(nan=True))
def test_binary_operators(data):
    a, b, grids = data
    check_ops({k: (op, op) for k, op in BINARY.items() if k not in _NONNEGATIVE}, a, b, chunkings=[grids])


@given(data=two_broadcastable(right_low=0, right_high=5))
def test_power_and_shift_operators(data):
    a, b, grids = data
    check_ops({k: (BINARY[k], BINARY[k]) for k in _NONNEGATIVE}, a, b, chunkings=[grids])


# ``arr ** 2`` on an ndarray takes NumPy's fast path to ``square`` (bool ** 2 is
# int8 there, np.power gives int64); chunkflow's ``**`` is the ``power`` ufunc,
# so the ufunc is the reference for scalar exponents.
_SCALAR_REFERENCE = {**BINARY, "**": np.power}
_SCALARS = (2, 3.5, True, -1, np.float32(2.5), np.int64(3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_operators_with_scalars_both_sides(dtype):
    """x op s and s op x (reflected): NumPy 2 weak promotion for Python scalars, strong NumPy scalars."""
    a = (np.arange(-4, 11).reshape(3, 5) % 7).astype(dtype)
    cases = {}
    for name, op in BINARY.items():
        ref = _SCALAR_REFERENCE[name]
        for s in _SCALARS:
            if name in _NONNEGATIVE and s < 0:
                continue
            cases[f"x {name} {s!r}"] = (lambda x, op=op, s=s: op(x, s), lambda x, ref=ref, s=s: ref(x, s))
            cases[f"{s!r} {name} x"] = (lambda x, op=op, s=s: op(s, x), lambda x, ref=ref, s=s: ref(s, x))
    check_ops(cases, a, chunkings=[(2, 3)])


def test_weak_scalar_promotion_examples():
    x32 = cf.from_array(np.ones(4, np.float32), chunks=2)
    i32 = cf.from_array(np.ones(4, np.int32), chunks=2)
    b = cf.from_array(np.ones(4, bool), chunks=2)
    assert (x32 * 2.5).dtype == np.float32
    assert (2.5 * x32).dtype == np.float32
    assert (x32 * np.float64(2.5)).dtype == np.float64  # NumPy scalars are strong
    assert (i32 + 2).dtype == np.int32
    assert (i32 + 2.5).dtype == np.float64
    assert (2 - i32).dtype == np.int32
    assert (b + 1).dtype == np.int64
    assert (b & True).dtype == np.bool_
    assert (1 / i32).dtype == np.float64
    np.testing.assert_array_equal((2 ** i32).compute(scheduler="sync"), np.full(4, 2, np.int32))


@given(data=two_broadcastable(nan=True))
def test_binary_functions(data):
    a, b, grids = data
    fns = (cf.maximum, cf.minimum, cf.logical_and, cf.logical_or, cf.logical_xor)
    check_ops({f.__name__: (f, getattr(np, f.__name__)) for f in fns}, a, b, chunkings=[grids])


def test_maximum_minimum_propagate_nan():
    a = np.array([1.0, np.nan, 3.0, -np.inf])
    b = np.array([np.nan, 2.0, 1.0, np.inf])
    check_ops({"maximum": (cf.maximum, np.maximum), "minimum": (cf.minimum, np.minimum)}, a, b)


# ---------------------------------------------------------------- clip / where / astype
_BOUND = st.one_of(st.none(), st.integers(-5, 5), st.floats(-5, 5))


@given(data=array_and_grid(dtypes=NUMERIC_DTYPES, nan=True), lo=_BOUND, hi=_BOUND)
def test_clip_scalar_bounds(data, lo, hi):
    a, grid = data
    if lo is None and hi is None:  # NumPy 2 requires a bound; chunkflow returns x unchanged
        out = cf.clip(cf.from_array(a, chunks=grid), lo, hi)
        np.testing.assert_array_equal(out.compute(scheduler="sync"), a)
        return
    check_ops({
        "cf.clip": (lambda x: cf.clip(x, lo, hi), lambda x: np.clip(x, lo, hi)),
        ".clip": (lambda x: x.clip(lo, hi), lambda x: np.clip(x, lo, hi)),
    }, a, chunkings=[grid])


def test_clip_tensor_bounds_broadcast():
    a = np.linspace(-5, 5, 24).reshape(4, 6)
    lo = np.linspace(-3, 0, 6)
    hi = np.array([[1.0], [2.0], [3.0], [4.0]])
    check_op(cf.clip, np.clip, a, lo, hi)


@given(data=st.data())
def test_where_three_way_broadcast(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=5))
    cond = data.draw(arrays((np.bool_,), shapes.input_shapes[0]))
    x = data.draw(arrays(DTYPES, shapes.input_shapes[1], nan=True))
    y = data.draw(arrays(DTYPES, shapes.input_shapes[2], nan=True))
    grids = [data.draw(chunk_grids(a.shape)) for a in (cond, x, y)]
    check_op(cf.where, np.where, cond, x, y, chunkings=[grids])


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_nonbool_condition_and_scalars(dtype):
    c = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    check_ops({
        "scalars": (lambda c: cf.where(c, 1.5, 0), lambda c: np.where(c, 1.5, 0)),
        "mixed": (lambda c: cf.where(c > 0, c, -1), lambda c: np.where(c > 0, c, -1)),
    }, c)


@given(data=array_and_grid(nan=False, low=-100, high=100))
def test_astype(data):
    a, grid = data
    cases = {}
    for to in DTYPES + (np.uint8, np.float16):
        cases[f".astype({to.__name__})"] = (lambda x, to=to: x.astype(to), lambda x, to=to: x.astype(to))
        cases[f"cf.astype({to.__name__})"] = (lambda x, to=to: cf.astype(x, to), lambda x, to=to: x.astype(to))
    check_ops(cases, a, chunkings=[grid])


def test_astype_same_dtype_is_identity():
    x = cf.from_array(np.ones(3))
    assert x.astype(np.float64) is x


# ---------------------------------------------------------------- chains and broadcasting
@given(data=two_broadcastable(dtypes=FLOAT_DTYPES, nan=True))
def test_fused_chain_broadcasting(data):
    """A long chain fuses into one task per chunk; values and dtype stay NumPy's."""
    a, b, grids = data

    def f(x, y):
        return abs((x * 2 - y) / 3) ** 0.5 + (x > y) * (y - 1) - x * y

    check_op(f, f, a, b, chunkings=[grids])


def test_broadcast_different_ndims_default_chunkings():
    a = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    b = np.arange(4, dtype=np.int32)
    c = np.arange(3, dtype=np.float32).reshape(3, 1)
    check_op(lambda x, y, z: x * y - z, lambda x, y, z: x * y - z, a, b, c)
    check_op(lambda x, y: y + x, lambda x, y: y + x, np.float32(2.0) * np.ones((1, 5)), np.ones((4, 1)))


def test_broadcast_of_length_one_chunked_axis_against_long_axis():
    a = np.arange(5.0).reshape(5, 1)
    b = np.arange(7.0).reshape(1, 7)
    check_op(operator.add, operator.add, a, b, chunkings=[[((2, 3), (1,)), ((1,), (3, 4))]])


def test_numpy_array_operand_becomes_tensor():
    a = np.arange(6.0).reshape(2, 3)
    x = cf.from_array(a, chunks=1)
    for out, expected in ((x + np.ones(3), a + 1), (np.ones(3) + x, a + 1), (x * [1, 2, 3], a * [1, 2, 3])):
        assert isinstance(out, cf.Tensor)
        check_tensor(out, out.compute(scheduler="sync"), expected)


def test_special_values():
    a = np.array([0.0, np.nan, np.inf, -np.inf, 1e308, -0.0, -1.0])
    check_ops({k: UNARY[k] for k in ("isnan", "isfinite", "sign", "log", "sqrt", "exp", "tanh", "floor")}, a)
