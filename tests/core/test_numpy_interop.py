"""NumPy protocols (chunkflow/core/methods.py): NumPy functions on Tensors stay lazy."""
import numpy as np
import pytest

import chunkflow as cf
from tests.helpers import check_tensor

A = np.arange(-6.0, 14.0).reshape(5, 4) / 3
B = np.linspace(0, 1, 8).reshape(2, 4)


def _lazy(out, expected):
    """``out`` is a Tensor (nothing ran) whose value is ``expected``."""
    assert isinstance(out, cf.Tensor), f"expected a lazy Tensor, got {type(out).__name__}"
    check_tensor(out, out.compute(scheduler="sync"), np.asarray(expected), rtol=1e-12, atol=1e-12)


@pytest.fixture
def x():
    return cf.from_array(A, chunks=(2, 3))


@pytest.fixture
def y():
    return cf.from_array(B, chunks=1)


@pytest.mark.parametrize("fn", [np.exp, np.abs, np.negative, np.sqrt, np.isnan, np.sin, np.floor, np.logical_not])
def test_unary_ufuncs(fn, x):
    with np.errstate(invalid="ignore"):
        _lazy(fn(x), fn(A))


@pytest.mark.parametrize("fn", [np.add, np.multiply, np.maximum, np.power, np.greater, np.true_divide])
def test_binary_ufuncs_with_arrays_and_scalars(fn, x):
    with np.errstate(all="ignore"):
        _lazy(fn(x, 2.0), fn(A, 2.0))
        _lazy(fn(2.0, x), fn(2.0, A))
        _lazy(fn(x, A[0]), fn(A, A[0]))
        _lazy(fn(A[0], x), fn(A[0], A))


def test_numpy_scalars_and_arrays_on_the_left(x):
    _lazy(np.float32(2) * x, np.float32(2) * A)
    _lazy(A + x, A + A)
    _lazy(A[0] @ x.T, A[0] @ A.T)
    _lazy(np.matmul(x, A.T), A @ A.T)


@pytest.mark.parametrize("call", [
    lambda m, a: m.mean(a, axis=0), lambda m, a: m.sum(a), lambda m, a: m.std(a, axis=1, ddof=1),
    lambda m, a: m.max(a, axis=-1, keepdims=True), lambda m, a: m.var(a), lambda m, a: m.argmax(a, axis=0),
    lambda m, a: m.transpose(a), lambda m, a: m.reshape(a, (4, 5)), lambda m, a: m.clip(a, 0, 1),
    lambda m, a: m.where(a > 0, a, 0), lambda m, a: m.round(a, 1), lambda m, a: m.cumsum(a, axis=0),
    lambda m, a: m.linalg.norm(a), lambda m, a: m.linalg.norm(a, axis=1), lambda m, a: m.linalg.norm(a, ord=1),
    lambda m, a: m.squeeze(a[None]), lambda m, a: m.expand_dims(a, 0), lambda m, a: m.flip(a, 0),
    lambda m, a: m.dot(a, a.T), lambda m, a: m.tensordot(a, a, axes=([0], [0])), lambda m, a: m.prod(a[:2], 0),
    lambda m, a: m.add.reduce(a, axis=0), lambda m, a: m.maximum.reduce(a, axis=1),
])
def test_array_functions_stay_lazy(call, x):
    out = call(np, x)
    expected = call(np, A)
    _lazy(out, expected)


def test_concatenate_stack_mixed(x, y):
    _lazy(np.concatenate([x, y]), np.concatenate([A, B]))
    _lazy(np.concatenate([x, B]), np.concatenate([A, B]))
    _lazy(np.stack([x[:2], y]), np.stack([A[:2], B]))


def test_linalg_functions(x):
    spd = cf.from_array(A.T @ A + np.eye(4), chunks=2)
    expected = A.T @ A + np.eye(4)
    _lazy(np.linalg.cholesky(spd), np.linalg.cholesky(expected))
    _lazy(np.linalg.solve(spd, np.ones(4)), np.linalg.solve(expected, np.ones(4)))
    _lazy(np.linalg.inv(spd), np.linalg.inv(expected))
    q, r = np.linalg.qr(x)
    assert isinstance(q, cf.Tensor) and isinstance(r, cf.Tensor)
    qv, rv = cf.compute(q, r, scheduler="sync")
    np.testing.assert_allclose(qv @ rv, A, atol=1e-12)


def test_asarray_computes(x):
    out = np.asarray(x)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, A)
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(np.array(x[0]), A[0])
    assert float(x[0, 0]) == A[0, 0] and int(x[1, 1]) == int(A[1, 1]) and bool(x[4, 3]) is True


def test_scalar_conversion_of_large_tensor_is_refused(x):
    with pytest.raises(ValueError, match="20 elements is ambiguous"):
        bool(x)
    with pytest.raises(ValueError, match="ambiguous"):
        float(x)


def test_array_namespace(x):
    xp = x.__array_namespace__()
    assert xp is cf
    _lazy(xp.mean(xp.exp(x), axis=0), np.mean(np.exp(A), axis=0))
    assert xp.float64 is np.float64


def test_unsupported_numpy_function_is_not_silently_computed(x):
    # NumPy functions chunkflow has no lazy version of refuse rather than compute
    with pytest.raises(TypeError):
        np.fft.fft(x)


def test_ufunc_methods_and_dtype_argument(x, y):
    v = cf.from_array(A[0], chunks=3)
    _lazy(np.add.outer(v, x), np.add.outer(A[0], A))
    _lazy(np.multiply.outer(x, 2.0), np.multiply.outer(A, 2.0))
    _lazy(np.equal.outer(v, v), np.equal.outer(A[0], A[0]))
    _lazy(np.add.accumulate(x), np.add.accumulate(A))
    _lazy(np.multiply.accumulate(x, axis=1), np.multiply.accumulate(A, axis=1))
    _lazy(np.add.reduce(x, axis=None), np.add.reduce(A, axis=None))
    assert np.add.reduce(x, dtype=np.float32).dtype == np.float32  # dtype= was ignored
    assert np.exp(x, dtype=np.float32).dtype == np.float32
    np.testing.assert_allclose(np.exp(x, dtype=np.float32).compute(), np.exp(A, dtype=np.float32), rtol=1e-6)
    _lazy(np.add(x, 1, dtype=np.float32), np.add(A, 1, dtype=np.float32))


def test_np_cross_of_three_vectors():
    a = np.arange(21.0).reshape(7, 3) % 5 - 2
    b = a[::-1] * 0.5
    t, u = cf.from_array(a, chunks=2), cf.from_array(b, chunks=3)
    _lazy(np.cross(t, u), np.cross(a, b))
    _lazy(np.cross(t.T, u.T, axis=0), np.cross(a.T, b.T, axis=0))
    with pytest.raises(ValueError, match="length 3"):
        np.cross(t[:, :2], u[:, :2])
