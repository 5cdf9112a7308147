"""One checker for chunkflow ops against NumPy, and hypothesis strategies for its inputs.

``check_op(cf_fn, np_fn, *arrays)`` builds Tensors from the NumPy ``arrays``
on several chunkings (one chunk, chunks of 1, regular chunks with a shorter
last one, irregular chunks; or the grids passed as ``chunkings``), applies
``cf_fn`` to the Tensors and ``np_fn`` to the arrays, and checks that

* the Tensor's eager ``shape``, ``dtype`` and ``chunks`` are NumPy's shape and
  dtype, and the chunks sum to the shape (unknown NaN lengths, from boolean
  masks, are allowed eagerly and must resolve to NumPy's length at compute);
* the computed value has NumPy's shape, dtype and values (exact for bool and
  integer results, ``assert_allclose`` with a dtype-scaled tolerance for
  floating results).

``cf_fn`` may return one Tensor or a tuple of Tensors (then ``np_fn`` returns
a tuple of the same length); all outputs are computed in one ``cf.compute``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chunkflow as cf

__all__ = [
    "check_op", "check_ops", "check_tensor", "CHUNKINGS", "DTYPES", "FLOAT_DTYPES", "NUMERIC_DTYPES",
    "shapes", "arrays", "chunk_grids", "array_and_grid",
]

DTYPES = (np.bool_, np.int32, np.int64, np.float32, np.float64)
NUMERIC_DTYPES = DTYPES[1:]
FLOAT_DTYPES = (np.float32, np.float64)
RTOL = {2: 5e-3, 4: 2e-5, 8: 1e-10}  # by float itemsize (half, single, double)


# ---------------------------------------------------------------- chunkings
def _short_last(n):
    """Regular blocks with a shorter last one where the length allows it."""
    for c in (2, 3, 4, 5, 7):
        if c < n and n % c:
            return c
    return 1


def _irregular(n):
    """Blocks cycling through lengths 3, 1, 2 (irregular, uneven last)."""
    blocks, cycle = [], (3, 1, 2)
    while sum(blocks) < n:
        blocks.append(min(cycle[len(blocks) % 3], n - sum(blocks)))
    return tuple(blocks) or (0,)


CHUNKINGS = {
    "single": lambda shape: -1,
    "ones": lambda shape: tuple(1 for _ in shape),
    "short-last": lambda shape: tuple(_short_last(n) for n in shape),
    "irregular": lambda shape: tuple(_irregular(n) for n in shape),
}


# ---------------------------------------------------------------- checking
def _rtol(dtype, rtol=None):
    """``rtol`` if given (a number, or a dict by dtype), else the default for ``dtype``."""
    dtype = np.dtype(dtype)
    if isinstance(rtol, dict):
        rtol = {np.dtype(k): v for k, v in rtol.items()}.get(dtype)
    if rtol is not None:
        return rtol
    if dtype.kind == "c":
        return RTOL[dtype.itemsize // 2]
    return RTOL.get(dtype.itemsize, 1e-10) if dtype.kind == "f" else 0.0


def _scale(arrays):
    finite = [np.abs(a[np.isfinite(a)]).max() for a in arrays
              if a.dtype.kind in "fciu" and np.isfinite(a).any()]
    return float(max([1.0, *finite]))


def check_tensor(t, value, expected, rtol=None, atol=None, where=""):
    """Assert that Tensor ``t`` (computed to ``value``) matches NumPy's ``expected``."""
    expected = np.asarray(expected)
    assert isinstance(t, cf.Tensor), f"{where}expected a Tensor, got {type(t).__name__}"
    # eager metadata
    assert t.ndim == expected.ndim, f"{where}eager ndim {t.ndim} != numpy {expected.ndim} ({t.shape} vs {expected.shape})"
    for ax, (s, e) in enumerate(zip(t.shape, expected.shape)):
        assert math.isnan(s) or s == e, f"{where}eager shape {t.shape} != numpy {expected.shape} (axis {ax})"
    assert t.dtype == expected.dtype, f"{where}eager dtype {t.dtype} != numpy {expected.dtype}"
    assert len(t.chunks) == t.ndim, f"{where}chunks {t.chunks} do not have one entry per axis of {t.shape}"
    for ax, (c, s) in enumerate(zip(t.chunks, t.shape)):
        if math.isnan(s):
            assert any(math.isnan(b) for b in c), f"{where}unknown length on axis {ax} but chunks {c} are known"
        else:
            assert sum(c) == s and all(b >= 0 for b in c), f"{where}chunks {c} on axis {ax} do not sum to {s}"
    # computed value
    value = np.asarray(value)
    assert value.shape == expected.shape, f"{where}computed shape {value.shape} != numpy {expected.shape}"
    assert value.dtype == expected.dtype, f"{where}computed dtype {value.dtype} != numpy {expected.dtype}"
    if expected.dtype.kind in "fc":
        rtol = _rtol(expected.dtype) if rtol is None else rtol
        atol = rtol if atol is None else atol
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
    else:
        np.testing.assert_array_equal(value, expected, err_msg=where)


def check_op(cf_fn, np_fn, *arrays, chunkings=None, rtol=None, atol=None, scheduler="sync", labels=None):
    """Check ``cf_fn`` on Tensors of ``arrays`` against ``np_fn`` on the arrays.

    ``chunkings`` is a list of entries, each a chunk spec for ``from_array``
    used for every array, or a list with one spec per array; by default the
    named chunkings of :data:`CHUNKINGS`. ``rtol`` is a number or a dict from
    result dtype to rtol (by default it depends on the dtype); the default
    ``atol`` is ``rtol`` times the largest finite input magnitude (sums of
    large terms may cancel to small results). ``labels`` name the outputs in
    failure messages.
    """
    arrays = [np.asarray(a) for a in arrays]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice" and the like
        expected = np_fn(*arrays)
    multi = isinstance(expected, (tuple, list))
    expected = tuple(expected) if multi else (expected,)
    if chunkings is None:
        chunkings = [[CHUNKINGS[name](a.shape) for a in arrays] for name in CHUNKINGS]
    for chunking in chunkings:
        specs = chunking if isinstance(chunking, list) else [chunking] * len(arrays)
        assert len(specs) == len(arrays), f"chunking {chunking} does not give one spec per array"
        tensors = [cf.from_array(a, chunks=s) for a, s in zip(arrays, specs)]
        out = cf_fn(*tensors)
        out = tuple(out) if multi else (out,)
        assert len(out) == len(expected), f"{len(out)} outputs, numpy gives {len(expected)}"
        values = cf.compute(*out, scheduler=scheduler)
        for i, (t, v, e) in enumerate(zip(out, values, expected)):
            e = np.asarray(e)
            tol = _rtol(e.dtype, rtol)
            label = labels[i] if labels else i
            where = f"output {label}, input chunks {[x.chunks for x in tensors]}: "
            check_tensor(t, v, e, rtol=tol, atol=tol * _scale(arrays) if atol is None else atol, where=where)


def _numpy_error(np_fn, arrays):
    """The TypeError/ValueError class NumPy raises for ``np_fn(*arrays)``, or None."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np_fn(*arrays)
    except (TypeError, ValueError) as e:
        return TypeError if isinstance(e, TypeError) else ValueError
    return None


def check_ops(cases, *arrays, **kw):
    """:func:`check_op` for several ops on the same inputs, computed together.

    ``cases`` maps a label to ``(cf_fn, np_fn)``. Where NumPy raises
    ``TypeError`` (a dtype it has no loop for) or ``ValueError`` (e.g. min of
    an empty axis), chunkflow must raise the same class when the expression
    is written; the others are checked in one ``cf.compute`` per chunking.
    Returns the accepted cases.
    """
    arrays = [np.asarray(a) for a in arrays]
    accepted = {}
    for label, (cf_fn, np_fn) in cases.items():
        error = _numpy_error(np_fn, arrays)
        if error is not None:
            try:
                cf_fn(*(cf.from_array(a, chunks=-1) for a in arrays))
            except error:
                continue
            raise AssertionError(f"{label}: NumPy raises {error.__name__} for inputs "
                                 f"{[(a.shape, str(a.dtype)) for a in arrays]}, chunkflow does not")
        accepted[label] = (cf_fn, np_fn)
    if accepted:
        fns = list(accepted.values())
        check_op(
            lambda *xs: tuple(f(*xs) for f, _ in fns), lambda *xs: tuple(g(*xs) for _, g in fns),
            *arrays, labels=list(accepted), **kw,
        )
    return accepted


# ---------------------------------------------------------------- strategies
def shapes(min_dims=0, max_dims=3, min_side=0, max_side=6):
    """Array shapes, including empty and length-1 axes."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def elements(dtype, nan=False, low=-10, high=10):
    """Moderate values of ``dtype`` (NaN and infinities only when ``nan``)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        return st.integers(max(low, np.iinfo(dtype).min), min(high, np.iinfo(dtype).max))
    width = dtype.itemsize * 8
    finite = st.floats(low, high, width=width, allow_subnormal=False)
    if nan:
        return st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf]))
    return finite


@st.composite
def arrays(draw, dtypes=DTYPES, shape=None, nan=False, low=-10, high=10):
    """A NumPy array of a drawn dtype and shape with moderate values."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(shapes()) if shape is None else (draw(shape) if isinstance(shape, st.SearchStrategy) else shape)
    return draw(hnp.arrays(dtype, shape, elements=elements(dtype, nan, low, high)))


@st.composite
def chunk_grids(draw, shape, max_blocks=3):
    """A random chunk grid (explicit block lengths per axis) for ``shape``.

    Blocks are irregular, and may have length 0 (boolean selections and
    ``compute_chunk_sizes`` make such grids).
    """
    grid = []
    for n in shape:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=max_blocks - 1)))
        bounds = [0, *cuts, n]
        grid.append(tuple(b - a for a, b in zip(bounds, bounds[1:])))
    return tuple(grid)


@st.composite
def array_and_grid(draw, dtypes=DTYPES, shape=None, nan=False, low=-10, high=10):
    """(array, random chunk grid for it)."""
    a = draw(arrays(dtypes, shape, nan, low, high))
    return a, draw(chunk_grids(a.shape))


def check_process_cluster_round_trip(read, write, read_back, a):
    """On a 2-process LocalCluster: ``read()`` is summed on the workers, ``write(x - mean)`` stores it, and
    ``read_back()`` (after the cluster is gone) equals NumPy's ``a - a.mean(0)``."""
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        x = read()
        with distributed.get_task_stream(client) as ts:
            total = x.sum(axis=0).compute()
        assert len(ts.data) > 0  # the chunks were read on the workers
        np.testing.assert_allclose(total, a.sum(axis=0))
        write(x - x.mean(axis=0))
    np.testing.assert_allclose(read_back(), a - a.mean(axis=0))
