"""NumPy functions, linear algebra and movement on Tensors with CuPy chunks, against NumPy.

Covers the block functions of ``chunkflow/core/numpy_compat.py``,
``chunkflow/core/linalg.py`` and ``chunkflow/core/manipulation.py``: each
result must come back as a CuPy array holding NumPy's values (no silent trip
through the host, no NumPy constant mixed into a CuPy kernel). Tolerances
allow for the GPU's different summation order. Skipped with the reason on
machines without CuPy and a CUDA device; run them on a GPU machine with
``pytest tests/gpu``.
"""
import warnings

import numpy as np
import pytest

import chunkflow as cf
from chunkflow.backend import gpu_available, gpu_unavailable_reason, to_host

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason=f"needs a GPU: {gpu_unavailable_reason()}")]

if gpu_available():
    import cupy

RNG = np.random.default_rng(3)
A = RNG.normal(size=(23, 4))
A_NAN = A.copy()
A_NAN[RNG.random(A.shape) < 0.2] = np.nan
A_NAN[:, 3] = np.nan  # an all-NaN column
INTS = RNG.integers(0, 9, size=31)
SPD = (lambda m: m @ np.swapaxes(m, -1, -2) + 5 * np.eye(5))(RNG.normal(size=(3, 5, 5)))
# singular values well apart from every cutoff used below (ranks 5, 3, 2, 1 at rtol None, 1e-3, 0.3, 0.5)
_Q = np.linalg.qr(RNG.normal(size=(2, 3, 5, 5)))[0]
GRADED = (_Q[0] * np.array([10.0, 4.0, 1.0, 1e-4, 1e-9])) @ np.swapaxes(_Q[1], -1, -2)
TALL = RNG.normal(size=(60, 4))


def gpu(a, chunks):
    t = cf.from_array(np.asarray(a), chunks=chunks).to_device("gpu")
    assert t.device == "gpu"
    return t


def _host(value):
    assert isinstance(value, cupy.ndarray), f"expected a CuPy result, got {type(value).__name__}"
    return cupy.asnumpy(value)


def check(cases, *arrays, chunks, rtol=1e-10, atol=1e-12):
    """Each ``cf_fn`` on GPU Tensors of ``arrays`` (computed in one run) against ``np_fn`` on the arrays.

    ``cases`` maps a label to ``(cf_fn, np_fn)``; an output may be a tuple of arrays.
    """
    tensors = [gpu(a, chunks) for a in arrays]
    labels, outs, wants = [], [], []
    for label, (cf_fn, np_fn) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices, as NumPy warns
            want = np_fn(*arrays)
        out = cf_fn(*tensors)
        pairs = list(zip(out, want)) if isinstance(want, tuple) else [(out, want)]
        for i, (o, w) in enumerate(pairs):
            assert isinstance(o, cf.Tensor) and o.device == "gpu", f"{label}[{i}]: not a GPU Tensor: {o!r}"
            labels.append(f"{label}[{i}]")
            outs.append(o)
            wants.append(np.asarray(w))
    values = cf.compute(*outs)
    for label, o, v, w in zip(labels, outs, values, wants):
        got = _host(v)
        assert got.shape == w.shape, f"{label}: shape {got.shape}, NumPy's {w.shape}"
        assert got.dtype == o.dtype, f"{label}: the chunks are {got.dtype}, the Tensor says {o.dtype}"
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(got, w, err_msg=label)
        else:
            np.testing.assert_allclose(got, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=label)


# ---------------------------------------------------------------- numpy_compat
@pytest.mark.parametrize("chunks", [(5, 2), (23, -1)])
def test_nan_reductions_and_statistics(chunks):
    w = RNG.random(23)
    cases = {
        "nansum": (lambda x: np.nansum(x, axis=0), lambda x: np.nansum(x, axis=0)),
        "nanmean": (lambda x: np.nanmean(x, axis=1), lambda x: np.nanmean(x, axis=1)),
        "nanvar": (lambda x: np.nanvar(x, axis=0, ddof=1), lambda x: np.nanvar(x, axis=0, ddof=1)),
        "nanmax": (lambda x: np.nanmax(x, axis=0), lambda x: np.nanmax(x, axis=0)),
        "nanmin": (np.nanmin, np.nanmin),
        "nan_to_num": (np.nan_to_num, np.nan_to_num),
        "isclose": (lambda x: np.isclose(x, 0.5, atol=0.3), lambda x: np.isclose(x, 0.5, atol=0.3)),
    }
    check(cases, A_NAN, chunks=chunks)
    cases = {
        "average-w": (lambda x: np.average(x, axis=0, weights=w), lambda x: np.average(x, axis=0, weights=w)),
        "cov": (lambda x: np.cov(x, rowvar=False), lambda x: np.cov(x, rowvar=False)),
        "corrcoef": (lambda x: np.corrcoef(x, rowvar=False), lambda x: np.corrcoef(x, rowvar=False)),
        "ptp": (lambda x: np.ptp(x, axis=0), lambda x: np.ptp(x, axis=0)),
        "nanargmax": (lambda x: np.nanargmax(x, axis=0), lambda x: np.nanargmax(x, axis=0)),
    }
    check(cases, A, chunks=chunks)


@pytest.mark.parametrize("chunks", [(5, 2), (23, -1)])
def test_order_statistics(chunks):
    cases = {
        "median-0": (lambda x: np.median(x, axis=0), lambda x: np.median(x, axis=0)),
        "median-all": (np.median, np.median),
        "quantile": (lambda x: np.quantile(x, [0.1, 0.5, 0.9], axis=1),
                     lambda x: np.quantile(x, [0.1, 0.5, 0.9], axis=1)),
        "percentile-keepdims": (lambda x: np.percentile(x, 25, axis=0, keepdims=True),
                                lambda x: np.percentile(x, 25, axis=0, keepdims=True)),
    }
    for method in ("lower", "higher", "nearest", "midpoint"):
        cases[f"quantile-{method}"] = (lambda x, m=method: np.quantile(x, [0.3, 0.7], axis=0, method=m),
                                       lambda x, m=method: np.quantile(x, [0.3, 0.7], axis=0, method=m))
    check(cases, A, chunks=chunks)
    cases = {  # CuPy has no nanquantile: computed from one sort per block (numpy_compat._nanquantile)
        "nanmedian": (lambda x: np.nanmedian(x, axis=0), lambda x: np.nanmedian(x, axis=0)),
        "nanpercentile": (lambda x: np.nanpercentile(x, [5, 50, 95], axis=0),
                          lambda x: np.nanpercentile(x, [5, 50, 95], axis=0)),
        "nanquantile-rows": (lambda x: np.nanquantile(x, 0.4, axis=1), lambda x: np.nanquantile(x, 0.4, axis=1)),
    }
    for method in ("lower", "higher", "nearest", "midpoint"):
        cases[f"nanquantile-{method}"] = (lambda x, m=method: np.nanquantile(x, [0.0, 0.3, 1.0], axis=0, method=m),
                                          lambda x, m=method: np.nanquantile(x, [0.0, 0.3, 1.0], axis=0, method=m))
    check(cases, A_NAN, chunks=chunks)


@pytest.mark.parametrize("chunks", [7, 31])
def test_counting_and_binning(chunks):
    wts = RNG.random(31)
    cases = {
        "bincount": (np.bincount, np.bincount),
        "bincount-min": (lambda x: np.bincount(x, minlength=12), lambda x: np.bincount(x, minlength=12)),
        "isin": (lambda x: np.isin(x, [1, 3, 8]), lambda x: np.isin(x, [1, 3, 8])),
        "isin-invert": (lambda x: np.isin(x, [2, 4], invert=True), lambda x: np.isin(x, [2, 4], invert=True)),
        "digitize": (lambda x: np.digitize(x, [2, 4, 6]), lambda x: np.digitize(x, [2, 4, 6])),
        "digitize-right": (lambda x: np.digitize(x, [6, 4, 2], right=True),
                           lambda x: np.digitize(x, [6, 4, 2], right=True)),
        "argwhere": (lambda x: np.argwhere(x > 4), lambda x: np.argwhere(x > 4)),
        "nonzero": (lambda x: np.nonzero(x > 6), lambda x: np.nonzero(x > 6)),
        "unique": (lambda x: np.unique(x, return_counts=True), lambda x: np.unique(x, return_counts=True)),
    }
    check(cases, INTS, chunks=chunks)
    check({"bincount-w": (lambda x, w: np.bincount(x, weights=w), lambda x, w: np.bincount(x, weights=w))},
          INTS, wts, chunks=chunks)
    counts, edges = np.histogram(gpu(A[:, 0], 5), bins=6)
    want_counts, want_edges = np.histogram(A[:, 0], bins=6)
    np.testing.assert_allclose(edges, want_edges)  # edges are NumPy on the client
    np.testing.assert_array_equal(_host(counts.compute()), want_counts)
    w32 = np.abs(A[:, 1]).astype(np.float32)
    for density in (False, True):
        counts, _ = np.histogram(gpu(A[:, 0], 5), bins=[-3, -1, 0, 2.5], weights=gpu(w32, 7), density=density)
        want, _ = np.histogram(A[:, 0], bins=[-3, -1, 0, 2.5], weights=w32, density=density)
        got = _host(counts.compute())
        assert got.dtype == want.dtype == counts.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("chunks", [(5, 2), (23, -1)])
def test_lowered_to_dask(chunks):
    v = A[:4, 0]
    cases = {
        "einsum": (lambda x: np.einsum("ij,ij->j", x, x), lambda x: np.einsum("ij,ij->j", x, x)),
        "pad": (lambda x: np.pad(x, ((1, 2), (0, 1))), lambda x: np.pad(x, ((1, 2), (0, 1)))),
        "pad-edge": (lambda x: np.pad(x, 2, mode="edge"), lambda x: np.pad(x, 2, mode="edge")),
        "diag": (lambda x: np.diag(x[:4, 0], k=1), lambda x: np.diag(x[:4, 0], k=1)),
        "diagonal": (lambda x: np.diagonal(x), lambda x: np.diagonal(x)),
        "hstack": (lambda x: np.hstack([x, x]), lambda x: np.hstack([x, x])),
        "column_stack": (lambda x: np.column_stack([x[:, 0], x]), lambda x: np.column_stack([x[:, 0], x])),
        "outer": (lambda x: np.outer(x[:4, 0], v), lambda x: np.outer(x[:4, 0], v)),
    }
    check(cases, A, chunks=chunks)


# ---------------------------------------------------------------- linalg
@pytest.mark.parametrize("chunks", [(1, -1, -1), (2, 3, 5)])
def test_small_matrix_linalg(chunks):
    b = RNG.normal(size=(5, 2))
    cases = {
        "cholesky": (cf.linalg.cholesky, np.linalg.cholesky),
        "cholesky-upper": (lambda x: cf.linalg.cholesky(x, upper=True), lambda x: np.linalg.cholesky(x, upper=True)),
        "inv": (cf.linalg.inv, np.linalg.inv),
        "pinv": (cf.linalg.pinv, np.linalg.pinv),
        "det": (cf.linalg.det, np.linalg.det),
        "slogdet": (lambda x: tuple(cf.linalg.slogdet(x)), lambda x: tuple(np.linalg.slogdet(x))),
        "eigvalsh": (cf.linalg.eigvalsh, np.linalg.eigvalsh),
        "solve": (lambda x: cf.linalg.solve(x, b), lambda x: np.linalg.solve(x, b)),
        "matrix_power": (lambda x: cf.linalg.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3)),
        "svdvals": (cf.linalg.svdvals, np.linalg.svdvals),
        "trace": (lambda x: cf.linalg.trace(x), lambda x: np.linalg.trace(x)),
        "norm-fro": (lambda x: cf.linalg.matrix_norm(x), lambda x: np.linalg.matrix_norm(x)),
    }
    check(cases, SPD, chunks=chunks, rtol=1e-8, atol=1e-10)
    rtol_stack = np.array([1e-3, 0.3, 0.5])
    cases = {  # CuPy's matrix_rank and pinv take no rtol: bridged in linalg._matrix_rank / _pinv
        "matrix_rank": (cf.linalg.matrix_rank, np.linalg.matrix_rank),
        "matrix_rank-rtol": (lambda x: cf.linalg.matrix_rank(x, rtol=1e-3),
                             lambda x: np.linalg.matrix_rank(x, rtol=1e-3)),
        "matrix_rank-stack": (lambda x: cf.linalg.matrix_rank(x, rtol=cf.asarray(rtol_stack)),
                              lambda x: np.linalg.matrix_rank(x, rtol=rtol_stack)),
        "pinv-rtol": (lambda x: cf.linalg.pinv(x, rtol=1e-3), lambda x: np.linalg.pinv(x, rtol=1e-3)),
        "pinv-stack": (lambda x: cf.linalg.pinv(x, rtol=cf.asarray(rtol_stack)),
                       lambda x: np.linalg.pinv(x, rtol=rtol_stack)),
    }
    check(cases, GRADED, chunks=chunks, rtol=1e-8, atol=1e-10)
    # eigenvectors and singular vectors are unique up to sign: compare what they rebuild
    w, v = (_host(a) for a in cf.compute(*cf.linalg.eigh(gpu(SPD, chunks))))
    np.testing.assert_allclose(v @ (w[..., None] * np.swapaxes(v, -1, -2)), SPD, atol=1e-8)
    for full in (True, False):
        u, s, vh = (_host(a) for a in cf.compute(*cf.linalg.svd(gpu(SPD, chunks), full_matrices=full)))
        np.testing.assert_allclose((u[..., :5] * s[..., None, :]) @ vh[..., :5, :], SPD, atol=1e-8)
    q, r = (_host(a) for a in cf.compute(*cf.linalg.qr(gpu(SPD, chunks))))
    np.testing.assert_allclose(q @ r, SPD, atol=1e-8)


@pytest.mark.parametrize("chunks", [(15, -1), (60, -1)])
def test_tall_linalg(chunks):
    y = TALL @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.01 * RNG.normal(size=60)
    w = np.array([0.5, -1.0, 2.0, 0.25])
    cases = {
        "matmul": (lambda x: x @ w, lambda x: x @ w),
        "gram": (lambda x: x.T @ x, lambda x: x.T @ x),
        "tensordot": (lambda x: np.tensordot(x, x, axes=([0], [0])), lambda x: np.tensordot(x, x, axes=([0], [0]))),
        "norm": (lambda x: cf.linalg.norm(x, axis=1), lambda x: np.linalg.norm(x, axis=1)),
        "vector_norm-1": (lambda x: cf.linalg.vector_norm(x, ord=1, axis=0),
                          lambda x: np.linalg.vector_norm(x, ord=1, axis=0)),
    }
    check(cases, TALL, chunks=chunks, rtol=1e-9)
    sol, *_ = cf.linalg.lstsq(gpu(TALL, chunks), gpu(y, chunks[0]))
    np.testing.assert_allclose(_host(sol.compute()), np.linalg.lstsq(TALL, y, rcond=None)[0], rtol=1e-8)
    q, r = (_host(a) for a in cf.compute(*cf.linalg.qr(gpu(TALL, chunks))))
    np.testing.assert_allclose(q @ r, TALL, atol=1e-10)
    u, s, vh = (_host(a) for a in cf.compute(*cf.linalg.svd(gpu(TALL, chunks), full_matrices=False)))
    np.testing.assert_allclose(s, np.linalg.svd(TALL, compute_uv=False), rtol=1e-8)
    np.testing.assert_allclose((u * s) @ vh, TALL, atol=1e-10)


# ---------------------------------------------------------------- manipulation
@pytest.mark.parametrize("chunks", [(5, 3), (23, -1)])
def test_movement_and_indexing(chunks):
    a = RNG.normal(size=(23, 6))
    idx = np.array([4, 0, 22, 4, 7])
    mask = a[:, 0] > 0
    cases = {
        "reshape": (lambda x: x.reshape(6, 23), lambda x: x.reshape(6, 23)),
        "transpose": (lambda x: x.T, lambda x: x.T),
        "moveaxis": (lambda x: np.moveaxis(x[:, :, None], 2, 0), lambda x: np.moveaxis(x[:, :, None], 2, 0)),
        "concatenate": (lambda x: np.concatenate([x, 2 * x], axis=1), lambda x: np.concatenate([x, 2 * x], axis=1)),
        "stack": (lambda x: np.stack([x, x], axis=1), lambda x: np.stack([x, x], axis=1)),
        "split": (lambda x: tuple(np.array_split(x, 3, axis=0)), lambda x: tuple(np.array_split(x, 3, axis=0))),
        "flip": (lambda x: np.flip(x, axis=0), lambda x: np.flip(x, axis=0)),
        "roll": (lambda x: np.roll(x, 3, axis=0), lambda x: np.roll(x, 3, axis=0)),
        "roll-flat": (lambda x: np.roll(x, -5), lambda x: np.roll(x, -5)),
        "tile": (lambda x: np.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1))),
        "repeat": (lambda x: np.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1)),
        "take": (lambda x: np.take(x, idx, axis=0), lambda x: np.take(x, idx, axis=0)),
        "fancy": (lambda x: x[idx, 1:4], lambda x: x[idx, 1:4]),
        "fancy-pointwise": (lambda x: x[idx, [0, 1, 2, 3, 5]], lambda x: x[idx, [0, 1, 2, 3, 5]]),
        "mask-numpy": (lambda x: x[mask], lambda x: x[mask]),
        "mask-tensor": (lambda x: x[x[:, 1] > 0], lambda x: x[x[:, 1] > 0]),
        "where-1arg": (lambda x: np.where(x > 1), lambda x: np.where(x > 1)),
        "broadcast_to": (lambda x: np.broadcast_to(x[:1], (4, 6)), lambda x: np.broadcast_to(x[:1], (4, 6))),
    }
    check(cases, a, chunks=chunks)


def test_gradients_through_slicing_and_array_indexing():
    """The VJPs of indexing build their results from GPU cotangents (manipulation.scatter_*)."""
    x = RNG.normal(size=(40, 4))
    w0 = RNG.normal(size=6)
    idx = np.array([0, 2, 2, 5])
    X = gpu(x, (10, -1))
    g = cf.grad(lambda w: ((X @ w[idx]) ** 2).sum())(w0)
    r = 2 * (x @ w0[idx])
    want = np.zeros(6)
    np.add.at(want, idx, x.T @ r)
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-9)
    g = cf.grad(lambda w: ((X @ w[1:5]) ** 2).sum())(w0)
    want = np.zeros(6)
    want[1:5] = x.T @ (2 * (x @ w0[1:5]))
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-9)


def test_parameters_may_be_cupy_arrays():
    """A CuPy parameter is differentiated like its NumPy twin; the gradient is NumPy on the client."""
    x = RNG.normal(size=(40, 4))
    w0 = RNG.normal(size=4)
    X = gpu(x, (10, -1))

    def loss(w):
        return ((X @ w - 1.0) ** 2).mean()

    g_np = cf.grad(loss)(w0)
    g_cp = cf.grad(loss)(cupy.asarray(w0))
    np.testing.assert_allclose(to_host(g_cp), g_np, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g_np), 2 * x.T @ (x @ w0 - 1.0) / 40, rtol=1e-9)


def test_cupy_arrays_as_small_arguments():
    """Indices, quantiles, bin edges and test values given as CuPy arrays are kept in the graph as NumPy."""
    x = gpu(A, (5, 2))
    idx, q, bins = np.array([3, 0, 3, 17]), np.array([0.25, 0.75]), np.array([-1.0, 0.0, 1.0])
    cases = [  # cf's functions: NumPy's would ask CuPy first, as a CuPy array is among the arguments
        (x[cupy.asarray(idx)], A[idx]),
        (cf.take(x, cupy.asarray(idx), axis=0), A[idx]),
        (cf.quantile(x, cupy.asarray(q), axis=0), np.quantile(A, q, axis=0)),
        (cf.digitize(x, cupy.asarray(bins)), np.digitize(A, bins)),
        (cf.isin(gpu(INTS, 7), cupy.asarray([1, 2])), np.isin(INTS, [1, 2])),
        (cf.histogram(x, bins=cupy.asarray(bins))[0], np.histogram(A, bins=bins)[0]),
    ]
    for (got, want), value in zip(cases, cf.compute(*(c[0] for c in cases))):
        np.testing.assert_allclose(_host(value), want, rtol=1e-12)
