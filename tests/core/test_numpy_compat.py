"""NumPy functions beyond the array API, called as NumPy functions on Tensors, against NumPy."""
import numpy as np
import pytest

import chunkflow as cf
from tests.helpers import check_op, check_ops

RNG = np.random.default_rng(7)
A = RNG.normal(size=(23, 4))
A_NAN = A.copy()
A_NAN[RNG.random(A.shape) < 0.2] = np.nan
A_NAN[:, 3] = np.nan  # an all-NaN column
A_INF = A.copy()
A_INF[[1, 5, 9], [0, 1, 2]] = [np.inf, -np.inf, np.nan]


def test_nan_reductions_match_numpy_with_all_nan_slices():
    cases = {}
    for name in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin"):
        for axis in (None, 0, 1):
            f = getattr(np, name)
            cases[f"{name}-{axis}"] = (lambda x, f=f, axis=axis: f(x, axis=axis),
                                       lambda x, f=f, axis=axis: f(x, axis=axis))
    cases["nanvar-ddof1"] = (lambda x: np.nanvar(x, axis=0, ddof=1), lambda x: np.nanvar(x, axis=0, ddof=1))
    cases["nanmean-keepdims"] = (lambda x: np.nanmean(x, axis=1, keepdims=True),
                                 lambda x: np.nanmean(x, axis=1, keepdims=True))
    check_ops(cases, A_NAN)
    ok = A_NAN[:, :3]
    check_ops({"nanargmax": (lambda x: np.nanargmax(x, axis=0), lambda x: np.nanargmax(x, axis=0)),
               "nanargmin": (lambda x: np.nanargmin(x, axis=1), lambda x: np.nanargmin(x, axis=1))},
              np.where(np.isnan(ok).all(axis=1, keepdims=True), 0.0, ok))


def test_nan_reductions_on_integers_are_plain_reductions():
    ints = np.arange(24).reshape(6, 4)
    check_ops({"nansum": (np.nansum, np.nansum), "nanmax": (lambda x: np.nanmax(x, axis=0),
                                                            lambda x: np.nanmax(x, axis=0))}, ints)


def test_nanmean_gradient_skips_nans():
    x = cf.from_array(A_NAN[:, :3], chunks=(5, -1))
    g = np.asarray(cf.grad(lambda t: np.nanmean(t) + 0.5 * np.nansum(t))(x))  # NaNs get zero gradient
    mask = ~np.isnan(A_NAN[:, :3])
    want = np.where(mask, 1 / mask.sum() + 0.5, 0.0)
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_ptp_average_cov_corrcoef():
    w = RNG.random(23)
    cases = {
        "ptp": (lambda x: np.ptp(x, axis=0), lambda x: np.ptp(x, axis=0)),
        "average": (lambda x: np.average(x, axis=0), lambda x: np.average(x, axis=0)),
        "average-w": (lambda x: np.average(x, axis=0, weights=w), lambda x: np.average(x, axis=0, weights=w)),
        "average-full-w": (lambda x: np.average(x, weights=np.abs(A)), lambda x: np.average(x, weights=np.abs(A))),
        "cov-rowvar": (lambda x: np.cov(x.T), lambda x: np.cov(x.T)),
        "cov-cols": (lambda x: np.cov(x, rowvar=False), lambda x: np.cov(x, rowvar=False)),
        "cov-bias": (lambda x: np.cov(x, rowvar=False, bias=True), lambda x: np.cov(x, rowvar=False, bias=True)),
        "cov-1d": (lambda x: np.cov(x[:, 0]), lambda x: np.cov(x[:, 0])),
        "cov-y": (lambda x: np.cov(x[:, 0], x[:, 1]), lambda x: np.cov(x[:, 0], x[:, 1])),
        "corrcoef": (lambda x: np.corrcoef(x, rowvar=False), lambda x: np.corrcoef(x, rowvar=False)),
    }
    check_ops(cases, A)
    avg, total = np.average(cf.from_array(A, chunks=(5, 2)), axis=0, weights=w, returned=True)
    want_avg, want_total = np.average(A, axis=0, weights=w, returned=True)
    np.testing.assert_allclose(avg.compute(), want_avg)
    np.testing.assert_allclose(total.compute(), want_total)
    with pytest.raises(ValueError, match="3 weights for axis 0 of length 23"):
        np.average(cf.from_array(A), axis=0, weights=np.ones(3))


@pytest.mark.parametrize("q", [0.5, [0.1, 0.5, 0.99]])
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("method", ["linear", "nearest", "lower"])
def test_quantiles_are_exact(q, axis, method):
    check_ops({
        "quantile": (lambda x: np.quantile(x, q, axis=axis, method=method),
                     lambda x: np.quantile(x, q, axis=axis, method=method)),
        "percentile": (lambda x: np.percentile(x, np.multiply(q, 100), axis=axis, method=method),
                       lambda x: np.percentile(x, np.multiply(q, 100), axis=axis, method=method)),
        "keepdims": (lambda x: np.quantile(x, q, axis=axis, keepdims=True),
                     lambda x: np.quantile(x, q, axis=axis, keepdims=True)),
    }, A)


def test_medians_and_nan_quantiles():
    check_ops({"median": (lambda x: np.median(x, axis=0), lambda x: np.median(x, axis=0)),
               "median-all": (np.median, np.median)}, A)
    check_ops({"nanmedian": (lambda x: np.nanmedian(x[:, :3], axis=0), lambda x: np.nanmedian(x[:, :3], axis=0)),
               "nanpercentile": (lambda x: np.nanpercentile(x[:, :3], [5, 95], axis=0),
                                 lambda x: np.nanpercentile(x[:, :3], [5, 95], axis=0))}, A_NAN)
    with pytest.raises(ValueError, match=r"quantiles must be in \[0, 1\]"):
        np.quantile(cf.from_array(A), 1.5)


def test_comparisons_and_cleaning():
    b = A + 1e-9
    b[0, 0] += 1
    check_ops({
        "isclose": (lambda x: np.isclose(x, b), lambda x: np.isclose(x, b)),
        "isclose-inf": (lambda x: np.isclose(x, A_INF, equal_nan=True), lambda x: np.isclose(x, A_INF, equal_nan=True)),
        "allclose": (lambda x: np.allclose(x[1:], b[1:]), lambda x: np.bool_(np.allclose(x[1:], b[1:]))),
        "not-allclose": (lambda x: np.allclose(x, b), lambda x: np.bool_(np.allclose(x, b))),
        "array_equal": (lambda x: np.array_equal(x, x), lambda x: np.bool_(np.array_equal(x, x))),
        "nan_to_num": (lambda x: np.nan_to_num(x), lambda x: np.nan_to_num(x)),
        "nan_to_num-vals": (lambda x: np.nan_to_num(x, nan=-1, posinf=9, neginf=-9),
                            lambda x: np.nan_to_num(x, nan=-1, posinf=9, neginf=-9)),
    }, A_INF)
    assert np.array_equal(cf.from_array(A), cf.from_array(A[:5])) is False
    assert bool(np.allclose(cf.from_array(A), A))


def test_stacking_and_splitting():
    check_ops({
        "hstack": (lambda x: np.hstack([x, x[:, :1]]), lambda x: np.hstack([x, x[:, :1]])),
        "hstack-1d": (lambda x: np.hstack([x[:, 0], x[:, 1]]), lambda x: np.hstack([x[:, 0], x[:, 1]])),
        "vstack": (lambda x: np.vstack([x, x[0]]), lambda x: np.vstack([x, x[0]])),
        "dstack": (lambda x: np.dstack([x, x]), lambda x: np.dstack([x, x])),
        "column_stack": (lambda x: np.column_stack([x[:, 0], x]), lambda x: np.column_stack([x[:, 0], x])),
        "atleast_2d": (lambda x: np.atleast_2d(x[:, 0]), lambda x: np.atleast_2d(x[:, 0])),
    }, A)
    check_op(lambda x: tuple(np.split(x, [3, 10], axis=0)), lambda x: tuple(np.split(x, [3, 10], axis=0)), A)
    check_op(lambda x: tuple(np.array_split(x, 3, axis=1)), lambda x: tuple(np.array_split(x, 3, axis=1)), A)
    with pytest.raises(ValueError, match="equal division"):
        np.split(cf.from_array(A), 3)


def test_functions_lowered_to_dask():
    ints = RNG.integers(0, 7, size=40)
    check_ops({"bincount": (np.bincount, np.bincount),
               "bincount-min": (lambda x: np.bincount(x, minlength=10), lambda x: np.bincount(x, minlength=10)),
               "isin": (lambda x: np.isin(x, [1, 3]), lambda x: np.isin(x, [1, 3])),
               "digitize": (lambda x: np.digitize(x, [2, 4]), lambda x: np.digitize(x, [2, 4])),
               "unique": (np.unique, np.unique),
               "argwhere": (lambda x: np.argwhere(x > 4), lambda x: np.argwhere(x > 4))}, ints)
    for kw in ({"return_counts": True}, {"return_index": True, "return_inverse": True}):
        check_op(lambda x: np.unique(x, **kw), lambda x: np.unique(x, **kw), ints)
    w = RNG.random((5, 4))
    check_ops({"einsum": (lambda x: np.einsum("ij,kj->ik", x, w), lambda x: np.einsum("ij,kj->ik", x, w)),
               "pad": (lambda x: np.pad(x, ((1, 2), (0, 1))), lambda x: np.pad(x, ((1, 2), (0, 1)))),
               "pad-edge": (lambda x: np.pad(x, 2, mode="edge"), lambda x: np.pad(x, 2, mode="edge")),
               "diag": (lambda x: np.diag(x[:4]), lambda x: np.diag(x[:4])),
               "diag-vec": (lambda x: np.diag(x[:3, 0], k=1), lambda x: np.diag(x[:3, 0], k=1)),
               "amax": (lambda x: np.amax(x, axis=0), lambda x: np.amax(x, axis=0))}, A)
    counts, edges = np.histogram(cf.from_array(A[:, 0], chunks=5), bins=6)
    want_counts, want_edges = np.histogram(A[:, 0], bins=6)
    np.testing.assert_array_equal(counts.compute(), want_counts)
    np.testing.assert_allclose(edges, want_edges)
    hw = RNG.random(23)
    counts, _ = np.histogram(cf.from_array(A[:, 0], chunks=5), bins=[-3, 0, 3], weights=cf.from_array(hw, chunks=7))
    np.testing.assert_allclose(counts.compute(), np.histogram(A[:, 0], bins=[-3, 0, 3], weights=hw)[0])
    with pytest.raises(ValueError, match="weights of shape"):
        np.histogram(cf.from_array(A[:, 0]), weights=np.ones(3))


def test_shape_queries_and_errors():
    x = cf.from_array(A, chunks=(5, 2))
    assert np.shape(x) == A.shape and np.ndim(x) == 2 and np.size(x) == A.size and np.size(x, 1) == 4
    with pytest.raises(TypeError, match="astype"):
        np.bincount(x)
    with pytest.raises(NotImplementedError, match="aweights"):
        np.cov(x, aweights=np.ones(4))
    check_op(lambda t: np.linalg.det(t.T @ t), lambda a: np.linalg.det(a.T @ a), A, rtol=1e-8)


def test_nan_statistics_keep_float32_as_numpy_does():
    a = A_NAN[:, :3].astype(np.float32)
    check_ops({f"{name}-{axis}": (lambda x, f=getattr(np, name), axis=axis: f(x, axis=axis),
                                  lambda x, f=getattr(np, name), axis=axis: f(x, axis=axis))
               for name in ("nanmean", "nanvar", "nanstd") for axis in (None, 0, 1)}, a, rtol=1e-5)
    # np.cov/np.corrcoef compute in at least float64
    check_ops({"cov": (np.cov, np.cov), "corrcoef": (lambda x: np.corrcoef(x, rowvar=False),
                                                      lambda x: np.corrcoef(x, rowvar=False))},
              A.astype(np.float32), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # all-NaN slices, as in NumPy
def test_nan_scans_treat_nans_as_identity():
    check_ops({f"{name}-{axis}": (lambda x, f=getattr(np, name), axis=axis: f(x, axis=axis),
                                  lambda x, f=getattr(np, name), axis=axis: f(x, axis=axis))
               for name in ("nancumsum", "nancumprod") for axis in (None, 0, 1)}, A_NAN[:8] / 2)
    check_op(lambda x: np.nancumsum(x, axis=0), lambda x: np.nancumsum(x, axis=0), np.arange(12).reshape(4, 3))


def test_np_unique_makes_nans_one_value_and_inverse_keeps_shape():
    a = np.array([[1.0, np.nan, 2.0], [np.nan, 1.0, 3.0], [np.nan, 2.0, 1.0]])
    x = cf.from_array(a, chunks=(1, 2))
    for kw in ({}, dict(return_counts=True), dict(return_inverse=True),
               dict(return_index=True, return_inverse=True, return_counts=True), dict(equal_nan=False)):
        want = np.unique(a, **kw)
        got = cf.compute(*np.unique(x, **kw)) if isinstance(want, tuple) else cf.compute(np.unique(x, **kw))
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want), kw
        for g, w in zip(got, want):
            assert g.shape == w.shape, kw
            np.testing.assert_array_equal(g, w, err_msg=str(kw))


@pytest.mark.parametrize("axis", [(0, 1), (1, 0), [1], (-1, 0)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_medians_and_quantiles_over_several_axes(axis, keepdims):
    a = RNG.normal(size=(5, 4, 3))
    a[1, 2, 0] = np.nan
    check_ops({
        "median": (lambda x: np.median(x, axis=axis, keepdims=keepdims),
                   lambda x: np.median(x, axis=axis, keepdims=keepdims)),
        "nanmedian": (lambda x: np.nanmedian(x, axis=axis, keepdims=keepdims),
                      lambda x: np.nanmedian(x, axis=axis, keepdims=keepdims)),
        "nanquantile": (lambda x: np.nanquantile(x, [0.2, 0.9], axis=axis, keepdims=keepdims),
                        lambda x: np.nanquantile(x, [0.2, 0.9], axis=axis, keepdims=keepdims)),
    }, a)


def test_median_of_booleans_and_quantile_dtypes_follow_numpy():
    b = A > 0
    check_ops({f"median-{axis}": (lambda x, axis=axis: np.median(x, axis=axis),
                                  lambda x, axis=axis: np.median(x, axis=axis)) for axis in (None, 0, 1)}, b)
    f32 = A.astype(np.float32)
    # a Python scalar q keeps float32 data float32; NumPy scalars and lists promote (NEP 50)
    for q in (50, 50.0, np.float64(50), np.float32(50), [10, 50], np.array([10, 50], np.float32), np.int64(50)):
        check_op(lambda x, q=q: np.percentile(x, q, axis=0), lambda x, q=q: np.percentile(x, q, axis=0), f32,
                 chunkings=[(5, 2)], rtol=1e-6)
    check_op(lambda x: np.quantile(x, np.float64(0.5)), lambda x: np.quantile(x, np.float64(0.5)), f32,
             chunkings=[(5, 2)], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int32, np.int64, np.float32])
def test_einsum_keeps_numpy_dtype(dtype):
    a = (A * 3).astype(dtype)
    check_ops({s: (lambda x, s=s: np.einsum(s, x, x), lambda x, s=s: np.einsum(s, x, x))
               for s in ("ij,ij->j", "ij,ik->jk", "ij,ij->")}, a)


def test_fliplr_flipud():
    check_ops({"fliplr": (np.fliplr, np.fliplr), "flipud": (np.flipud, np.flipud)}, A)
    with pytest.raises(ValueError, match="at least 2"):
        np.fliplr(cf.from_array(A[0], chunks=2))
