"""Linear algebra (chunkflow/core/linalg.py) against NumPy."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkflow as cf
from tests.helpers import DTYPES, NUMERIC_DTYPES, arrays, check_op, check_ops, chunk_grids

RTOL = {np.float32: 1e-4, np.float64: 1e-10}


@st.composite
def matmul_operands(draw):
    """(a, b) with NumPy-compatible ``@`` shapes: 1-D operands and broadcast batch axes too."""
    n, k, m = (draw(st.integers(1, 5)) for _ in range(3))
    a_shape = draw(st.sampled_from([(k,), (n, k), (2, n, k), (1, n, k)]))
    b_shape = draw(st.sampled_from([(k,), (k, m), (2, k, m), (3, 1, k, m)]))
    if len(a_shape) == 3 and len(b_shape) == 4:
        a_shape = (1,) + a_shape[1:]
    dtypes = draw(st.sampled_from([DTYPES, NUMERIC_DTYPES]))
    a = draw(arrays(dtypes, a_shape, low=-5, high=5))
    b = draw(arrays(dtypes, b_shape, low=-5, high=5))
    return a, b, [draw(chunk_grids(a.shape)), draw(chunk_grids(b.shape))]


@given(data=matmul_operands())
def test_matmul(data):
    a, b, grids = data
    check_ops({
        "@": (lambda x, y: x @ y, lambda x, y: x @ y),
        "matmul": (cf.matmul, np.matmul),
    }, a, b, chunkings=[grids], rtol=RTOL)


def test_matmul_with_numpy_operand_on_either_side():
    a, w = np.arange(12.0).reshape(4, 3), np.array([1.0, -1.0, 2.0])
    x = cf.from_array(a, chunks=(3, 2))
    for out, expected in ((x @ w, a @ w), (w @ x.T, w @ a.T)):
        assert isinstance(out, cf.Tensor)
        np.testing.assert_allclose(out.compute(scheduler="sync"), expected)


@given(data=st.data())
def test_dot_inner_outer(data):
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    a = data.draw(arrays(NUMERIC_DTYPES, data.draw(st.sampled_from([(k,), (n, k)])), low=-5, high=5))
    b = data.draw(arrays(NUMERIC_DTYPES, data.draw(st.sampled_from([(k,), (k, 3), (2, k, 3)])), low=-5, high=5))
    grids = [data.draw(chunk_grids(a.shape)), data.draw(chunk_grids(b.shape))]
    cases = {"dot": (cf.dot, np.dot), ".dot": (lambda x, y: x.dot(y), lambda x, y: x.dot(y)),
             "outer": (cf.outer, np.outer)}
    if b.ndim == 1:
        cases["inner"] = (cf.inner, np.inner)
        cases["vecdot"] = (cf.vecdot, np.vecdot)
    check_ops(cases, a, b, chunkings=[grids], rtol=RTOL)


def test_dot_with_scalar():
    check_op(lambda x: cf.dot(x, 3.0), lambda x: np.dot(x, 3.0), np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("axes, b_shape", [
    (0, (2, 2)), (1, (4, 2)), (2, (3, 4, 5)), (((0,), (1,)), (3, 2)), (((1, 0), (0, 2)), (3, 5, 2)),
    (([-1], [0]), (4, 3)),
])
def test_tensordot(axes, b_shape):
    dtype = np.int32 if isinstance(axes, int) else np.float64  # int32 stays int32, as in NumPy
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(dtype) - 7
    b = (np.arange(int(np.prod(b_shape))).reshape(b_shape) % 5).astype(dtype)
    check_op(lambda x, y: cf.tensordot(x, y, axes=axes), lambda x, y: np.tensordot(x, y, axes=axes), a, b,
             rtol=1e-10)


def test_trace_diagonal():
    a = np.arange(20.0).reshape(4, 5)
    check_ops({
        "diagonal": (cf.diagonal, np.diagonal),
        "diagonal k=1": (lambda x: cf.diagonal(x, 1), lambda x: np.diagonal(x, 1)),
        "trace": (cf.trace, np.trace),
    }, a)


# ---------------------------------------------------------------- norms
@given(data=st.data())
def test_vector_norms(data):
    a = data.draw(arrays(NUMERIC_DTYPES, data.draw(st.sampled_from([(5,), (3, 4), (2, 3, 2)])), low=-5, high=5))
    axis = data.draw(st.sampled_from([None, 0, -1] if a.ndim > 1 else [None, 0]))
    keepdims = data.draw(st.booleans())
    cases = {}
    for ord_ in (None, 1, 2, np.inf, -np.inf, 0, 3):
        if axis is None and a.ndim > 1 and ord_ is not None:
            continue  # NumPy: ord with axis=None needs 1-D or 2-D; matrix norms are tested below
        cases[f"ord={ord_}"] = (lambda x, o=ord_: cf.linalg.norm(x, o, axis, keepdims),
                                lambda x, o=ord_: np.linalg.norm(x, o, axis, keepdims))
    check_ops(cases, a, chunkings=[data.draw(chunk_grids(a.shape))], rtol=RTOL)


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES)
def test_matrix_norms(dtype):
    a = (np.arange(-6, 14).reshape(4, 5) * 1.5).astype(dtype)
    cases = {}
    for keepdims in (False, True):
        for o in (None, "fro", 1, -1, np.inf, -np.inf):
            cases[f"ord={o} keepdims={keepdims}"] = (lambda x, o=o, k=keepdims: cf.linalg.norm(x, o, keepdims=k),
                                                     lambda x, o=o, k=keepdims: np.linalg.norm(x, o, keepdims=k))
        cases[f"vector_norm keepdims={keepdims}"] = (
            lambda x, k=keepdims: cf.linalg.vector_norm(x, keepdims=k),
            lambda x, k=keepdims: np.linalg.vector_norm(x, keepdims=k))
        cases[f"matrix_norm keepdims={keepdims}"] = (
            lambda x, k=keepdims: cf.linalg.matrix_norm(x, keepdims=k),
            lambda x, k=keepdims: np.linalg.matrix_norm(x, keepdims=k))
    cases["axis=(1, 0)"] = (lambda x: cf.linalg.norm(x, axis=(1, 0)), lambda x: np.linalg.norm(x, axis=(1, 0)))
    check_ops(cases, a, rtol=RTOL)


def test_matrix_norms_from_singular_values_and_over_axes_in_order():
    a = np.arange(3 * 5 * 4, dtype=np.float64).reshape(3, 5, 4) % 7 - 3.0
    cases = {f"norm ord={o} axis={ax} keepdims={k}": (
        lambda x, o=o, ax=ax, k=k: np.linalg.norm(x, o, axis=ax, keepdims=k),
        lambda x, o=o, ax=ax, k=k: np.linalg.norm(x, o, axis=ax, keepdims=k))
        for o in (2, -2, "nuc", 1, np.inf) for ax in ((1, 2), (2, 1), (0, 2), (-1, 0)) for k in (False, True)}
    cases.update({f"matrix_norm {o}": (lambda x, o=o: np.linalg.matrix_norm(x, ord=o),
                                       lambda x, o=o: np.linalg.matrix_norm(x, ord=o)) for o in (2, -2, "nuc")})
    check_ops(cases, a, rtol=1e-10)


def test_matrix_norm_of_stack():
    a = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4) - 10
    check_ops({o: (lambda x, o=o: cf.linalg.matrix_norm(x, ord=o), lambda x, o=o: np.linalg.matrix_norm(x, ord=o))
               for o in ("fro", 1, -1, np.inf, -np.inf)}, a)


# ---------------------------------------------------------------- factorizations and solvers
@pytest.mark.parametrize("shape, chunks", [((12, 3), 4), ((12, 3), (5, -1)), ((10, 4), (4, 2)), ((4, 4), -1),
                                           ((9, 2), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_qr_tall_skinny(shape, chunks, dtype):
    a = np.random.default_rng(1).normal(size=shape).astype(dtype)
    q, r = cf.linalg.qr(cf.from_array(a, chunks=chunks))
    assert q.shape == shape and r.shape == (shape[1], shape[1]) and q.dtype == r.dtype == dtype
    qv, rv = cf.compute(q, r, scheduler="sync")
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(qv @ rv, a, atol=tol * 10)
    np.testing.assert_allclose(qv.T @ qv, np.eye(shape[1]), atol=tol * 10)
    np.testing.assert_array_equal(np.tril(rv, -1), 0)
    # QR is unique up to the signs of R's rows (tsqr may pick other signs than LAPACK)
    np.testing.assert_allclose(np.abs(rv), np.abs(np.linalg.qr(a)[1]), rtol=tol * 10, atol=tol * 10)


def _spd(n, dtype=np.float64):
    m = np.random.default_rng(2).normal(size=(n, n))
    return (m @ m.T + n * np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_solve(dtype):
    a = _spd(5).astype(dtype) if dtype != np.int64 else np.round(_spd(5)).astype(dtype)
    b1, b2 = np.arange(5, dtype=dtype), np.arange(10, dtype=dtype).reshape(5, 2)
    rtol = {np.float32: 1e-4, np.float64: 1e-10}
    check_op(cf.linalg.solve, np.linalg.solve, a, b1, chunkings=[[2, 3], [-1, -1], [1, 1]], rtol=rtol)
    check_op(cf.linalg.solve, np.linalg.solve, a, b2, chunkings=[[2, 3], [-1, 1]], rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cholesky_and_inv(dtype):
    a = _spd(6, dtype)
    rtol = {np.float32: 1e-4, np.float64: 1e-10}
    check_ops({
        "cholesky": (cf.linalg.cholesky, np.linalg.cholesky),
        "cholesky upper": (lambda x: cf.linalg.cholesky(x, upper=True), lambda x: np.linalg.cholesky(x, upper=True)),
        "inv": (cf.linalg.inv, np.linalg.inv),
    }, a, chunkings=[4, -1, 1], rtol=rtol)


@pytest.mark.parametrize("b_shape", [(20,), (20, 2)])
def test_lstsq_tall_skinny(b_shape):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 3)), rng.normal(size=b_shape)
    expected = np.linalg.lstsq(a, b, rcond=None)
    for chunks in (5, (7, -1)):
        out = cf.linalg.lstsq(cf.from_array(a, chunks=chunks), cf.from_array(b, chunks=6))
        x, res, rank, sv = cf.compute(*out, scheduler="sync")
        np.testing.assert_allclose(x, expected[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res, expected[1], rtol=1e-10)
        assert int(rank) == expected[2]
        np.testing.assert_allclose(sv, expected[3], rtol=1e-10)
        assert out[0].shape == expected[0].shape and out[0].dtype == expected[0].dtype


def test_svd_tall_skinny():
    a = np.random.default_rng(4).normal(size=(15, 3))
    u, s, vt = cf.compute(*cf.linalg.svd(cf.from_array(a, chunks=5), full_matrices=False), scheduler="sync")
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose((u * s) @ vt, a, atol=1e-10)


def test_public_names_are_linalg_functions():
    # an elementwise kernel named "matmul" once replaced cf.matmul with a one-argument ufunc
    assert cf.matmul is cf.linalg.matmul and cf.dot is cf.linalg.dot and cf.tensordot is cf.linalg.tensordot


@pytest.mark.parametrize("dtype", [np.bool_, np.int32])
def test_product_dtypes_are_numpys(dtype):
    # dask sums bool and int32 partial products as int64; NumPy keeps the operand dtype
    a = (np.arange(12).reshape(4, 3) % 2).astype(dtype)
    check_ops({
        "@": (lambda x: x @ x.T, lambda x: x @ x.T),
        "tensordot": (lambda x: cf.tensordot(x, x, axes=([0], [0])), lambda x: np.tensordot(x, x, axes=([0], [0]))),
        "vecdot": (lambda x: cf.vecdot(x, x), lambda x: np.vecdot(x, x)),
    }, a)


# ---------------------------------------------------------------- the array API's linalg extension
def _stack(shape, seed=5, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _spd_stack(shape, dtype=np.float64):
    m = _stack(shape)
    return (m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def _close(out, expected, rtol=1e-10, atol=1e-12):
    expected = np.asarray(expected)
    assert out.shape == expected.shape and out.dtype == expected.dtype, (out.shape, out.dtype, expected.shape,
                                                                        expected.dtype)
    np.testing.assert_allclose(cf.compute(out, scheduler="sync")[0], expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("chunks", [-1, 1, (1, -1, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacked_square_functions_match_numpy(chunks, dtype):
    a = _spd_stack((3, 4, 4), dtype)
    x = cf.from_array(a, chunks=chunks)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else {}
    _close(cf.linalg.inv(x), np.linalg.inv(a), **tol)
    _close(cf.linalg.det(x), np.linalg.det(a), **tol)
    _close(cf.linalg.cholesky(x), np.linalg.cholesky(a), **tol)
    _close(cf.linalg.cholesky(x, upper=True), np.linalg.cholesky(a, upper=True), **tol)
    _close(cf.linalg.eigvalsh(x), np.linalg.eigvalsh(a), **tol)
    _close(cf.linalg.matrix_power(x, 3), np.linalg.matrix_power(a, 3), rtol=1e-4 if dtype == np.float32 else 1e-10)
    _close(cf.linalg.matrix_power(x, -2), np.linalg.matrix_power(a, -2), **tol)
    _close(cf.linalg.matrix_power(x, 0), np.linalg.matrix_power(a, 0))
    sign, logabsdet = np.linalg.slogdet(a)
    res = cf.linalg.slogdet(x)
    assert type(res).__name__ == "SlogdetResult" and res.sign is res[0] and res.logabsdet is res[1]
    _close(res.sign, sign)
    _close(res.logabsdet, logabsdet, **tol)
    w, v = cf.linalg.eigh(x)
    _close(w, np.linalg.eigh(a).eigenvalues, **tol)
    (vv,) = cf.compute(v, scheduler="sync")  # eigenvectors are unique up to sign: check a v = v w
    np.testing.assert_allclose(a @ vv, vv * np.linalg.eigh(a).eigenvalues[..., None, :], rtol=1e-3, atol=1e-3)


def test_stacked_solve_broadcasts_like_numpy():
    a = _spd_stack((2, 1, 3, 3))
    b = _stack((4, 3, 2), seed=6)
    x = cf.linalg.solve(cf.from_array(a, chunks=1), cf.from_array(b, chunks=2))
    _close(x, np.linalg.solve(a, b))
    b1 = _stack((3,), seed=7)
    _close(cf.linalg.solve(cf.asarray(a), cf.asarray(b1)), np.linalg.solve(a, b1))


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 4, 3), (2, 3, 4), (0, 3, 3), (2, 0, 3)])
def test_decompositions_of_any_matrix_match_numpy(shape):
    a = _stack(shape)
    x = cf.asarray(a)
    _close(cf.linalg.svdvals(x), np.linalg.svd(a, compute_uv=False))
    _close(cf.linalg.pinv(x), np.linalg.pinv(a))
    _close(cf.linalg.matrix_rank(x), np.linalg.matrix_rank(a))
    _close(cf.linalg.matrix_rank(x, rtol=0.5), np.linalg.matrix_rank(a, rtol=0.5))
    if len(shape) == 3:
        rtol = np.full(shape[:1], 0.3)
        _close(cf.linalg.matrix_rank(x, rtol=cf.asarray(rtol)), np.linalg.matrix_rank(a, rtol=rtol))
        _close(cf.linalg.pinv(x, rtol=cf.asarray(rtol)), np.linalg.pinv(a, rtol=rtol))
    for mode in ("reduced", "complete"):
        q, r = np.linalg.qr(a, mode=mode)
        res = cf.linalg.qr(x, mode=mode)
        assert type(res).__name__ == "QRResult" and res.Q is res[0] and res.R is res[1]
        _close(res.Q, q)
        _close(res.R, r)
    for full in (True, False):
        u, s, vh = np.linalg.svd(a, full_matrices=full)
        res = cf.linalg.svd(x, full_matrices=full)
        assert type(res).__name__ == "SVDResult" and (res.U, res.S, res.Vh) == tuple(res)
        assert res.U.shape == u.shape and res.Vh.shape == vh.shape
        _close(res.S, s)


def test_svd_defaults_to_full_matrices_like_numpy_and_the_standard():
    a = _stack((6, 2))
    u, s, vh = cf.linalg.svd(cf.from_array(a, chunks=3))
    assert u.shape == (6, 6) and s.shape == (2,) and vh.shape == (2, 2)
    np.testing.assert_allclose(cf.compute(s)[0], np.linalg.svd(a, compute_uv=False), rtol=1e-10)


@pytest.mark.parametrize("s1, s2, axis", [((3,), (3,), -1), ((4, 3), (3,), -1), ((2, 1, 3), (4, 3), -1),
                                           ((3, 5), (3, 1), 0), ((3, 5), (3, 1), -2)])
@pytest.mark.parametrize("dtype", [np.int32, np.float64])
def test_cross_matches_numpy(s1, s2, axis, dtype):
    a, b = (np.round(_stack(s, seed) * 5).astype(dtype) for s, seed in ((s1, 8), (s2, 9)))
    out = cf.linalg.cross(cf.from_array(a, chunks=1), cf.asarray(b), axis=axis)
    _close(out, np.cross(a, b, axis=axis))


def test_linalg_diagonal_and_trace_use_the_last_two_axes():
    a = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    x = cf.from_array(a, chunks=2)
    for offset in (0, 1, -1, 3, -2, 10, -10):
        _close(cf.linalg.diagonal(x, offset=offset), np.diagonal(a, offset, -2, -1))
        _close(cf.linalg.trace(x, offset=offset, dtype=np.int64), np.trace(a, offset, -2, -1))
    _close(cf.linalg.matrix_transpose(x), np.swapaxes(a, -1, -2))
    # the top-level functions keep NumPy's axes (0, 1)
    _close(cf.diagonal(x), np.diagonal(a))
    _close(cf.trace(x), np.trace(a))


@pytest.mark.parametrize("make, match", [
    (lambda: cf.linalg.det(cf.ones((2, 3, 4))), r"square matrices in the last two axes, got shape \(2, 3, 4\)"),
    (lambda: cf.linalg.inv(cf.ones((3, 4))), r"square 2-D matrix, got shape \(3, 4\)"),
    (lambda: cf.linalg.eigh(cf.ones((4,))), r"at least 2-D\), got shape \(4,\)"),
    (lambda: cf.linalg.svdvals(cf.ones(())), r"got shape \(\)"),
    (lambda: cf.linalg.solve(cf.ones((2, 3, 3)), cf.ones((4, 3, 1))), r"do not broadcast"),
    (lambda: cf.linalg.cross(cf.ones((4,)), cf.ones((4,))), r"length 3 along axis -1.*\(4,\)"),
    (lambda: cf.linalg.qr(cf.ones((3, 3)), mode="r"), r"mode"),
])
def test_linalg_errors_name_the_shapes(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_full_svd_that_would_not_fit_the_budget_is_refused():
    x = cf.random.default_rng(0).normal(size=(100_000, 5), chunks=(10_000, -1))
    with cf.config.set(memory_budget="1GiB"):
        with pytest.raises(ValueError, match="full_matrices=False"):
            cf.linalg.svd(x)
    u, s, vh = cf.linalg.svd(x, full_matrices=False)
    assert u.shape == (100_000, 5) and s.shape == (5,) and vh.shape == (5, 5)
