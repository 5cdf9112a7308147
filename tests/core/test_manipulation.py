"""Shape, movement and indexing (chunkflow/core/manipulation.py) against NumPy."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chunkflow as cf
from chunkflow.core.chunks import drop_empty_blocks
from tests.helpers import DTYPES, array_and_grid, arrays, check_op, check_ops, check_tensor, chunk_grids, shapes


# ---------------------------------------------------------------- basic indexing
@given(data=st.data())
def test_basic_indexing(data):
    a, grid = data.draw(array_and_grid(shape=shapes(max_side=7)))
    index = data.draw(hnp.basic_indices(a.shape, allow_newaxis=True, allow_ellipsis=True))
    check_op(lambda x: x[index], lambda x: x[index], a, chunkings=[grid])


@pytest.mark.parametrize("index", [
    np.s_[::2], np.s_[::-1], np.s_[-3:], np.s_[1:-1, ::-2], np.s_[..., 0], np.s_[None, 2, ..., None],
    np.s_[-1, -1], np.s_[5:2:-1, 1::3], np.s_[100:], np.s_[-100:2], np.s_[:, None, :, None], np.s_[()],
    np.s_[...], np.s_[:, :], np.s_[np.int64(2)],
])
def test_basic_indexing_examples(index):
    a = np.arange(7 * 5).reshape(7, 5)
    check_op(lambda x: x[index], lambda x: x[index], a)


# ---------------------------------------------------------------- integer-array indexing
@given(data=st.data())
def test_integer_array_on_one_axis(data):
    a, grid = data.draw(array_and_grid(shape=shapes(min_dims=1, min_side=1, max_side=6)))
    axis = data.draw(st.integers(0, a.ndim - 1))
    n = a.shape[axis]
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=8)), dtype=np.int64)
    index = (slice(None),) * axis + (idx,)
    check_ops({
        "numpy index": (lambda x: x[index], lambda x: x[index]),
        "list index": (lambda x: x[(slice(None),) * axis + (idx.tolist(),)], lambda x: x[index]),
        "Tensor index": (lambda x: x[(slice(None),) * axis + (cf.from_array(idx, chunks=3),)], lambda x: x[index]),
        "take": (lambda x: cf.take(x, idx, axis=axis), lambda x: np.take(x, idx, axis=axis)),
    }, a, chunkings=[grid])


@given(data=st.data())
def test_array_index_mixed_with_basic_indices(data):
    """One integer or boolean array among ints, slices and None: NumPy moves the array's axis
    first when it and the ints are apart (dask kept it in place)."""
    a, grid = data.draw(array_and_grid(shape=shapes(min_dims=1, min_side=1, max_side=5)))
    index = data.draw(hnp.basic_indices(a.shape, allow_newaxis=True, allow_ellipsis=False))
    index = list(index) if isinstance(index, tuple) else [index]
    consuming = [i for i, item in enumerate(index) if item is not None]
    while len(consuming) < a.ndim:
        index.append(slice(None))
        consuming.append(len(index) - 1)
    axis = data.draw(st.integers(0, a.ndim - 1))
    n = a.shape[axis]
    index[consuming[axis]] = data.draw(st.one_of(
        st.lists(st.integers(-n, n - 1), max_size=4).map(lambda v: np.array(v, dtype=np.int64)),
        hnp.arrays(np.bool_, (n,)),
    ))
    index = tuple(index)
    check_op(lambda x: x[index], lambda x: x[index], a, chunkings=[grid])


def test_integer_array_with_slices_and_negative_indices():
    a = np.arange(6 * 7).reshape(6, 7)
    for index in (np.s_[[0, -1, 2, 2]], np.s_[1:5, [-1, 0]], np.s_[[5, 4, 3], ::2], np.s_[..., [3, -7]],
                  np.s_[np.array([1, 0]), 3]):
        check_op(lambda x: x[index], lambda x: x[index], a)


# ---------------------------------------------------------------- boolean masks
def _check_unknown_length(t, expected):
    """A boolean selection has NaN length until computed; then it is NumPy's."""
    assert math.isnan(t.shape[0]) and all(math.isnan(c) for c in t.chunks[0])
    check_tensor(t, t.compute(scheduler="sync"), expected)


@given(data=st.data())
def test_boolean_mask_along_axis0(data):
    a, grid = data.draw(array_and_grid(shape=shapes(min_dims=1, max_side=6)))
    mask = data.draw(arrays((np.bool_,), (a.shape[0],)))
    x = cf.from_array(a, chunks=grid)
    m = cf.from_array(mask, chunks=(grid[0],))
    _check_unknown_length(x[m], a[mask])
    # a NumPy mask is known here, so lengths are known eagerly (dask's behaviour)
    check_op(lambda x: x[mask], lambda x: x[mask], a, chunkings=[grid])
    # downstream ops on unknown lengths resolve at compute
    if a.dtype != np.bool_:
        _check_unknown_length(x[m] * 2 + 1, a[mask] * 2 + 1)
        s, expected = x[m].sum(axis=0), a[mask].sum(axis=0)
        check_tensor(s, s.compute(scheduler="sync"), expected)


@pytest.mark.parametrize("index", [
    lambda m, t: m, lambda m, t: (m, slice(1, 3)), lambda m, t: (m, None), lambda m, t: (None, m),
    lambda m, t: (Ellipsis, t), lambda m, t: (Ellipsis, t, None), lambda m, t: (0, Ellipsis, t),
    lambda m, t: (slice(None), m[0]), lambda m, t: (slice(1, None), m[1]), lambda m, t: (m[:, :, 0], 2),
    lambda m, t: (slice(None), m[0], slice(None, None, -2)),
])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_boolean_mask_over_some_axes(index, as_tensor):
    """An N-d mask over N of the axes (N > 1), before, after or beside other indices, as NumPy."""
    a = np.random.default_rng(3).normal(size=(2, 3, 4, 5))
    lead, trail = a[..., 0] > 0, a[0, 0] > 0  # masks over the first three and the last two axes

    def cf_fn(x):
        wrap = (lambda m: cf.from_array(m, chunks=2)) if as_tensor else (lambda m: m)
        return x[index(wrap(lead), wrap(trail))]

    check_op(cf_fn, lambda x: x[index(lead, trail)], a, chunkings=[(1, 2, 3, 2), -1])


def test_mask_from_comparison_of_same_tensor():
    a = np.arange(-6.0, 18.0).reshape(8, 3)
    x = cf.from_array(a, chunks=(3, 2))
    _check_unknown_length(x[x[:, 0] > 0], a[a[:, 0] > 0])
    _check_unknown_length(x[x > 0], a[a > 0])
    resolved = x[x[:, 0] > 0].compute_chunk_sizes()
    assert resolved.shape == (5, 3) and sum(resolved.chunks[0]) == 5
    _, mean = cf.compute(x[x[:, 0] > 0], x[x[:, 0] > 0].mean(axis=0), scheduler="sync")
    np.testing.assert_allclose(mean, a[a[:, 0] > 0].mean(axis=0))


# ---------------------------------------------------------------- reshape and axes
@st.composite
def reshape_target(draw, size):
    """A shape with ``size`` elements (possibly with one -1)."""
    dims, rest = [], size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [d for d in range(1, min(rest, 8) + 1) if rest % d == 0] if rest else [0, 1, 2]
        d = draw(st.sampled_from(divisors))
        dims.append(d)
        rest = rest // d if d else rest
    if rest or not dims or size:
        dims.append(rest if size else 0)
    if size and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@given(data=st.data())
def test_reshape(data):
    a, grid = data.draw(array_and_grid())
    target = data.draw(reshape_target(a.size))
    check_ops({
        "cf.reshape": (lambda x: cf.reshape(x, target), lambda x: np.reshape(x, target)),
        ".reshape(tuple)": (lambda x: x.reshape(target), lambda x: x.reshape(target)),
        ".reshape(*ints)": (lambda x: x.reshape(*target), lambda x: x.reshape(*target)),
        "ravel": (lambda x: x.ravel(), lambda x: x.ravel()),
    }, a, chunkings=[grid])


@given(data=st.data())
def test_transpose_moveaxis_swapaxes(data):
    a, grid = data.draw(array_and_grid(shape=shapes(max_dims=4, max_side=3)))
    perm = tuple(data.draw(st.permutations(range(a.ndim))))
    cases = {
        ".T": (lambda x: x.T, lambda x: x.T),
        "transpose()": (lambda x: cf.transpose(x), lambda x: np.transpose(x)),
        "transpose(perm)": (lambda x: cf.transpose(x, perm), lambda x: np.transpose(x, perm)),
        ".transpose(*perm)": (lambda x: x.transpose(*perm), lambda x: x.transpose(*perm)),
        "permute_dims": (lambda x: cf.permute_dims(x, perm), lambda x: np.permute_dims(x, perm)),
    }
    if a.ndim:
        src = data.draw(st.integers(-a.ndim, a.ndim - 1))
        dst = data.draw(st.integers(-a.ndim, a.ndim - 1))
        cases["moveaxis"] = (lambda x: cf.moveaxis(x, src, dst), lambda x: np.moveaxis(x, src, dst))
        cases["swapaxes"] = (lambda x: cf.swapaxes(x, src, dst), lambda x: np.swapaxes(x, src, dst))
        k = data.draw(st.integers(0, a.ndim))
        many_src, many_dst = perm[:k], tuple(data.draw(st.permutations(range(a.ndim))))[:k]
        cases["moveaxis many"] = (lambda x: cf.moveaxis(x, many_src, many_dst),
                                  lambda x: np.moveaxis(x, many_src, many_dst))
    if a.ndim >= 2:
        cases[".mT"] = (lambda x: x.mT, lambda x: np.matrix_transpose(x))
    check_ops(cases, a, chunkings=[grid])


@given(data=st.data())
def test_squeeze_expand_dims(data):
    a, grid = data.draw(array_and_grid(shape=shapes(max_dims=4, max_side=3)))
    ones = [i for i, s in enumerate(a.shape) if s == 1]
    sq_axis = tuple(data.draw(st.lists(st.sampled_from(ones), unique=True))) if ones else ()
    ex_axis = data.draw(st.integers(-a.ndim - 1, a.ndim))
    check_ops({
        "squeeze()": (lambda x: cf.squeeze(x), lambda x: np.squeeze(x)),
        "squeeze(axes)": (lambda x: x.squeeze(sq_axis), lambda x: np.squeeze(x, sq_axis)),
        "expand_dims": (lambda x: cf.expand_dims(x, ex_axis), lambda x: np.expand_dims(x, ex_axis)),
        "expand_dims 2": (lambda x: cf.expand_dims(x, (0, -1)), lambda x: np.expand_dims(x, (0, -1))),
    }, a, chunkings=[grid])


@given(data=st.data())
def test_broadcast_to(data):
    shapes_ = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=4))
    a = data.draw(arrays(DTYPES, shapes_.input_shapes[0]))
    target = shapes_.result_shape
    extra = tuple(data.draw(st.lists(st.integers(0, 3), max_size=2)))
    target = extra + target
    check_ops({
        "broadcast_to": (lambda x: cf.broadcast_to(x, target), lambda x: np.broadcast_to(x, target)),
        "broadcast_arrays": (lambda x: cf.broadcast_arrays(x, cf.zeros(target, chunks=2))[0],
                             lambda x: np.broadcast_arrays(x, np.zeros(target))[0]),
    }, a, chunkings=[data.draw(chunk_grids(a.shape))])


# ---------------------------------------------------------------- joining
@given(data=st.data())
def test_concatenate_and_stack(data):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    axis = data.draw(st.integers(-len(base), len(base) - 1))
    k = data.draw(st.integers(1, 3))
    arrs = []
    for _ in range(k):
        shape = list(base)
        shape[axis] = data.draw(st.integers(0, 4))
        arrs.append(data.draw(arrays(DTYPES, tuple(shape))))
    grids = [data.draw(chunk_grids(a.shape)) for a in arrs]
    check_op(lambda *xs: cf.concatenate(xs, axis=axis), lambda *xs: np.concatenate(xs, axis=axis),
             *arrs, chunkings=[grids])
    check_op(lambda *xs: cf.concatenate(xs, axis=None), lambda *xs: np.concatenate(xs, axis=None),
             *arrs, chunkings=[grids])
    same = [arrs[0]] + [data.draw(arrays((arrs[0].dtype,), arrs[0].shape)) for _ in range(k - 1)]
    stack_axis = data.draw(st.integers(-len(base) - 1, len(base)))
    check_op(lambda *xs: cf.stack(xs, axis=stack_axis), lambda *xs: np.stack(xs, axis=stack_axis),
             *same, chunkings=[[data.draw(chunk_grids(a.shape)) for a in same]])


def test_concatenate_mixed_dtypes_and_numpy_inputs():
    a, b = np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((1, 3), np.float32)
    check_op(lambda x, y: cf.concatenate([x, y]), lambda x, y: np.concatenate([x, y]), a, b)
    out = cf.concatenate([cf.from_array(a), b])
    check_tensor(out, out.compute(scheduler="sync"), np.concatenate([a, b]))
    check_tensor(cf.concat([cf.from_array(a), b]), out.compute(scheduler="sync"), np.concatenate([a, b]))  # Tensors


# ---------------------------------------------------------------- rechunk, flip, roll
@given(data=st.data())
def test_rechunk(data):
    a, grid = data.draw(array_and_grid())
    new = data.draw(chunk_grids(a.shape))
    specs = [new, -1, "auto", 1] + ([{0: -1}, {-1: 2}] if a.ndim else [])
    check_ops({f"rechunk({spec})": (lambda x, spec=spec: x.rechunk(spec), lambda x: x) for spec in specs},
              a, chunkings=[grid])
    x = cf.from_array(a, chunks=grid)
    assert x.rechunk(new).chunks == drop_empty_blocks(new)  # zero-length blocks are dropped
    assert x.rechunk(1).chunks == tuple((1,) * n if n else (0,) for n in a.shape)
    assert cf.rechunk(x, x.chunks) is x  # same grid: no new node


@given(data=st.data())
def test_flip_roll(data):
    a, grid = data.draw(array_and_grid(shape=shapes(max_side=5)))
    axis = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1))) if a.ndim else None
    shift = data.draw(st.integers(-7, 7))
    cases = {
        "flip": (lambda x: cf.flip(x, axis=axis), lambda x: np.flip(x, axis=axis)),
        "roll": (lambda x: cf.roll(x, shift, axis=axis), lambda x: np.roll(x, shift, axis=axis)),
    }
    if a.ndim >= 2:
        cases["roll tuple"] = (lambda x: cf.roll(x, (shift, 1), axis=(0, -1)),
                               lambda x: np.roll(x, (shift, 1), axis=(0, -1)))
        cases["flip tuple"] = (lambda x: cf.flip(x, axis=(0, -1)), lambda x: np.flip(x, axis=(0, -1)))
    check_ops(cases, a, chunkings=[grid])


def test_tile_repeat_unstack():
    a = np.arange(6).reshape(2, 3)
    check_ops({
        "tile": (lambda x: cf.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1))),
        "repeat": (lambda x: cf.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1)),
        "repeat flat": (lambda x: x.repeat(3), lambda x: x.repeat(3)),
        "unstack": (lambda x: cf.unstack(x, axis=1)[2], lambda x: np.unstack(x, axis=1)[2]),
    }, a)


def test_iteration_and_len():
    a = np.arange(6).reshape(3, 2)
    x = cf.from_array(a, chunks=2)
    assert len(x) == 3
    rows = [r.compute(scheduler="sync") for r in x]
    np.testing.assert_array_equal(np.stack(rows), a)


# ---------------------------------------------------------------- regressions (each was a bug)
def test_array_index_beside_new_axis():
    """dask mixes a boolean/integer array with None wrongly; chunkflow indexes, then adds axes."""
    a = np.arange(24.0).reshape(6, 4)
    mask = a[:, 0] % 8 == 0
    x = cf.from_array(a, chunks=(4, 3))
    m = cf.from_array(mask, chunks=2)
    for index in (np.s_[mask, None], np.s_[None, mask], np.s_[None, mask, None, 1], np.s_[[0, 5], None],
                  np.s_[..., None, [3, 0]], np.s_[2, [0, 3]], np.s_[[1, 0], None, 2]):
        check_op(lambda x: x[index], lambda x: x[index], a, chunkings=[(4, 3), 1])
    for index, ref in ((np.s_[m, None], np.s_[mask, None]), (np.s_[None, m, :2], np.s_[None, mask, :2])):
        out = x[index]
        check_tensor(out, out.compute(scheduler="sync"), a[ref])


def test_single_integer_array_index_of_length_above_one():
    # ``spec in ((Ellipsis,), ())`` compared an index array elementwise: every x[array] raised
    a = np.arange(10) * 3
    check_op(lambda x: x[np.array([3, -1, 0])], lambda x: x[np.array([3, -1, 0])], a)
    check_op(lambda x: x[np.array([], dtype=int)], lambda x: x[np.array([], dtype=int)], a)


def test_reshape_that_dask_cannot_do_directly():
    a = np.arange(6 * 5).reshape(6, 5)
    for shape in ((5, 6), (3, 10), (2, 3, 5), (10, 3), (30,)):
        check_op(lambda x: x.reshape(shape), lambda x: x.reshape(shape), a)


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3, 1), (0, 0)])
def test_empty_arrays(shape):
    a = np.zeros(shape)
    check_ops({
        "ravel": (lambda x: x.ravel(), lambda x: x.ravel()),
        "reshape": (lambda x: x.reshape(shape[::-1]), lambda x: x.reshape(shape[::-1])),
        "roll": (lambda x: cf.roll(x, 1), lambda x: np.roll(x, 1)),
        "cumsum": (lambda x: x.cumsum(), lambda x: np.cumsum(x)),
        "sum": (lambda x: x.sum(0), lambda x: x.sum(0)),
    }, a)
    check_tensor(cf.from_array(a), cf.from_array(a).compute(scheduler="sync"), a)  # chunks="auto" on empty


def test_zero_length_blocks_from_selections():
    """compute_chunk_sizes after a selection leaves empty chunks; grids drop them (dask mishandles them)."""
    a = np.arange(40.0).reshape(10, 4)
    mask = np.zeros(10, bool)
    mask[[0, 1, 8]] = True
    x = cf.from_array(a, chunks=(3, 2))
    sel = x[cf.from_array(mask, chunks=3)].compute_chunk_sizes()
    assert sel.shape == (3, 4) and 0 not in sel.chunks[0]
    ref = a[mask]
    check_tensor(sel, sel.compute(scheduler="sync"), ref)
    for out, expected in ((sel.cumsum(0), ref.cumsum(0)), (sel.argmax(0), ref.argmax(0)),
                          (sel.reshape(4, 3), ref.reshape(4, 3)), (sel[[2, 0]], ref[[2, 0]]),
                          (sel.T @ sel, ref.T @ ref), (cf.concatenate([sel, x[:0]]), ref)):
        check_tensor(out, out.compute(scheduler="sync"), expected)


def test_array_index_apart_from_integer_goes_first():
    a = np.arange(120).reshape(2, 3, 4, 5)
    for index in (np.s_[1, :, [0, 2]], np.s_[:, [0, 1], :, 1], np.s_[1, ..., [0, 2]], np.s_[None, 1, [True, False, True]]):
        check_op(lambda x: x[index], lambda x: x[index], a, chunkings=[2, -1])


def _check(t, expected):
    check_tensor(t, t.compute(scheduler="sync"), expected)


@pytest.mark.parametrize("index", [
    (np.array([0, 2, 1]), np.array([[1], [3]])),                  # arrays broadcast pointwise
    (np.array([0, 2, 1]), 1, np.array([[1], [3]])),               # ints count as 0-d arrays
    (np.array([0, 2]), slice(None), np.array([4, -1])),           # arrays apart: broadcast axes go first
    (slice(1, None), np.array([[3], [0]]), np.array([1, 2, -5])),  # adjacent after a slice: in place
    (1, np.array([[1, 2], [3, 0]])),                              # a 2-D array beside an int
    (None, np.array([0, -1]), np.array([1, 2]), None),
    (Ellipsis, np.array([1, 0]), np.array([4, 0])),
    (-1, np.array([-1, 0])),
])
@pytest.mark.parametrize("as_tensors", [False, True])
def test_several_integer_arrays_index_pointwise(index, as_tensors):
    a = np.arange(60).reshape(3, 4, 5)
    x = cf.from_array(a, chunks=2)
    idx = tuple(cf.asarray(i) if as_tensors and isinstance(i, np.ndarray) else i for i in index)
    _check(x[idx], a[index])


def test_zero_d_integer_tensors_index_like_integers():
    a = np.arange(60).reshape(3, 4, 5)
    x = cf.from_array(a, chunks=2)
    i, j, k = cf.asarray(1), cf.asarray(np.int8(2)), cf.asarray(-1)
    _check(x[i, j, k], a[1, 2, -1])
    _check(x[i], a[1])
    _check(x[i, :, k], a[1, :, -1])
    _check(x[:, j], a[:, 2])


def test_zero_d_integer_tensors_as_slice_bounds():
    a = np.arange(10)
    x = cf.from_array(a, chunks=3)
    _check(x[cf.asarray(1):cf.asarray(7):cf.asarray(2)], a[1:7:2])
    _check(x[np.int64(-3):], a[-3:])
    with pytest.raises(IndexError, match="slice bounds"):
        x[cf.asarray([1, 2]):]
    with pytest.raises(IndexError, match="slice bounds"):
        x[cf.asarray(1.5):]


@pytest.mark.parametrize("mask", [True, False])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_zero_d_boolean_index(mask, as_tensor):
    m = cf.asarray(mask) if as_tensor else np.asarray(mask)
    out = cf.asarray(1.0)[m]
    assert np.array_equal(cf.compute(out)[0], np.asarray(1.0)[np.asarray(mask)])
    a = np.arange(12.0).reshape(3, 4)
    out = cf.from_array(a, chunks=2)[1, m, :2]
    assert np.array_equal(cf.compute(out)[0], a[1, np.asarray(mask), :2])
    if not as_tensor:  # a NumPy mask's length is known
        assert out.shape == a[1, np.asarray(mask), :2].shape
