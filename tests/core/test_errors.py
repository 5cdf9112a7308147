"""Bad inputs: each raises the documented exception where the expression is written,
and the message names the offending value (and what would be accepted)."""
import numpy as np
import pytest

import chunkflow as cf

A = np.arange(20.0).reshape(5, 4)


@pytest.fixture
def x():
    return cf.from_array(A, chunks=(2, 3))


def _t(shape, dtype=np.float64, chunks=2):
    return cf.from_array(np.ones(shape, dtype=dtype), chunks=chunks)


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("make", [
    lambda: _t((5, 4)) + _t((3,)),
    lambda: _t((5, 4)) * _t((5,)),
    lambda: cf.maximum(_t((5, 4)), _t((2, 4))),
    lambda: _t((5, 4)) == _t((4, 5)),
    lambda: _t((5, 4)) + np.ones(3),
])
def test_non_broadcastable_operands_name_both_shapes(make):
    with pytest.raises(ValueError, match=r"could not be broadcast.*\(5, 4\).*\((3|5|2, 4|4, 5)"):
        make()


def test_where_with_non_broadcastable_operands():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        cf.where(_t((2,), bool), _t((3,)), 0.0)


@pytest.mark.parametrize("make, match", [
    (lambda x: cf.concatenate([x, _t((5, 3))], axis=0), r"\(5, 4\).*\(5, 3\)"),
    (lambda x: cf.concatenate([x, _t((5,))]), r"same number of dimensions.*2.*1"),
    (lambda x: cf.stack([x, _t((4, 5))]), r"same shape.*\(5, 4\).*\(4, 5\)"),
    (lambda x: cf.broadcast_to(x, (3, 4)), r"\(5, 4\).*\(3, 4\)"),
    (lambda x: cf.broadcast_to(x, (4,)), r"shape \(5, 4\) to shape \(4,\)"),
    (lambda x: cf.squeeze(x, axis=0), r"axis 0 of length 5"),
])
def test_mismatched_shapes(x, make, match):
    with pytest.raises(ValueError, match=match):
        make(x)


# ---------------------------------------------------------------- axes
@pytest.mark.parametrize("make", [
    lambda x: x.sum(axis=2), lambda x: x.mean(axis=-3), lambda x: cf.max(x, axis=(0, 5)),
    lambda x: x.var(axis=2), lambda x: x.argmax(axis=2), lambda x: x.cumsum(axis=-3),
    lambda x: cf.logsumexp(x, axis=2), lambda x: cf.flip(x, 2), lambda x: cf.roll(x, 1, axis=2),
    lambda x: cf.moveaxis(x, 2, 0), lambda x: cf.moveaxis(x, 0, -3), lambda x: cf.swapaxes(x, 0, 2),
    lambda x: cf.concatenate([x, x], axis=2), lambda x: cf.linalg.norm(x, axis=2),
    lambda x: cf.transpose(x, (0, 2)), lambda x: x.transpose(2, 0), lambda x: cf.take(x, [0], axis=2),
])
def test_bad_axis_names_axis_and_range(x, make):
    with pytest.raises(np.exceptions.AxisError, match=r"axis -?[235] .*ndim 2.*-2\.\.1"):
        make(x)


@pytest.mark.parametrize("make, match", [
    (lambda x: cf.expand_dims(x, 4), r"axis 4 .*ndim 3.*-3\.\.2"),
    (lambda x: cf.stack([x, x], axis=3), r"axis 3 .*ndim 3.*-3\.\.2"),
    (lambda x: cf.sum(cf.asarray(1.0), axis=0), r"axis 0 .*0-d"),
])
def test_bad_axis_other_ranks(x, make, match):
    with pytest.raises(np.exceptions.AxisError, match=match):
        make(x)


@pytest.mark.parametrize("make, err, match", [
    (lambda x: x.sum(axis=(0, 0)), ValueError, r"repeated axis in \(0, 0\)"),
    (lambda x: x.sum(axis=(1, -1)), ValueError, r"repeated axis"),
    (lambda x: x.sum(axis=1.5), TypeError, r"axis must be an int.*1\.5"),
    (lambda x: x.mean(axis="0"), TypeError, r"'0'"),
    (lambda x: cf.transpose(x, (0, 0)), ValueError, r"\(0, 0\).*permutation"),
    (lambda x: cf.transpose(x, (0,)), ValueError, r"\(0,\).*permutation"),
    (lambda x: x.var(ddof=-1), ValueError, r"ddof.*-1"),
])
def test_bad_axis_values(x, make, err, match):
    with pytest.raises(err, match=match):
        make(x)


# ---------------------------------------------------------------- chunk specs
@pytest.mark.parametrize("chunks, err, match", [
    ("big", ValueError, r"chunks='big'"),
    ((2,), ValueError, r"chunks \(2,\) has 1 entries.*2 axes"),
    ((2, 2, 2), ValueError, r"\(2, 2, 2\) has 3 entries"),
    (0, ValueError, r"chunk size 0 on axis 0 must be positive"),
    ((2, -2), ValueError, r"chunk size -2 on axis 1"),
    (((2, 2), (4,)), ValueError, r"\(2, 2\) on axis 0 sum to 4, but the axis has length 5"),
    (((2, 3), (-1, 5)), ValueError, r"\(-1, 5\)"),
    ({2: 3}, ValueError, r"axes \[2\] outside 0\.\.1"),
    (2.5, TypeError, r"2\.5"),
    ((2, "x"), TypeError, r"'x' on axis 1"),
])
def test_bad_chunk_specs_name_the_spec(chunks, err, match):
    with pytest.raises(err, match=match):
        cf.from_array(A, chunks=chunks)
    with pytest.raises(err, match=match):
        cf.from_array(A, chunks=2).rechunk(chunks)
    with pytest.raises(err, match=match):
        cf.zeros((5, 4), chunks=chunks)


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("make, match", [
    (lambda: _t(4) & _t(4), r"bitwise_and.*float64"),
    (lambda: _t(4) << 1, r"left_shift.*float64"),
    (lambda: ~_t(4), r"invert.*float64"),
    (lambda: -_t(4, bool), r"negative.*bool"),
    (lambda: cf.sign(_t(4, bool)), r"sign.*bool"),
    (lambda: _t(4, bool) - _t(4, bool), r"subtract.*bool"),
    (lambda: cf.logsumexp(_t(4, np.complex128)), r"complex"),
    (lambda: cf.random.default_rng(0).normal(size=3, dtype=np.int64), r"int64"),
    (lambda: cf.asarray(np.array([object()])), r"object"),
    (lambda: cf.from_array(np.array([{}, 1], dtype=object)), r"object"),
    (lambda: cf.round(_t(4), 1.5), r"decimals.*1\.5"),
])
def test_wrong_dtype_is_a_type_error(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_float_index_is_an_index_error(x):
    with pytest.raises(IndexError, match="float64"):
        x[cf.from_array(np.array([0.0, 1.0]))]
    with pytest.raises(IndexError, match="float64"):
        x[np.array([0.5])]
    with pytest.raises(IndexError, match="1.5"):
        x[1.5]


# ---------------------------------------------------------------- indexing
@pytest.mark.parametrize("index, match", [
    (5, r"index 5 is out of bounds for axis 0 with size 5"),
    (-6, r"index -6 is out of bounds for axis 0 with size 5"),
    ((0, 4), r"index 4 is out of bounds for axis 1 with size 4"),
    ((slice(None), -5), r"index -5 is out of bounds for axis 1 with size 4"),
    ((Ellipsis, 7), r"index 7 is out of bounds for axis 1 with size 4"),
    ((None, 0, 9), r"index 9 is out of bounds for axis 1 with size 4"),
    (np.array([0, 5]), r"index 5 is out of bounds for axis 0 with size 5"),
    ((slice(None), [1, -9]), r"index -9 is out of bounds for axis 1 with size 4"),
    (np.ones(4, bool), r"boolean index of shape \(4,\).*\(5,\)"),
])
def test_out_of_range_index_names_index_axis_and_size(x, index, match):
    with pytest.raises(IndexError, match=match):
        x[index]


@pytest.mark.parametrize("index, match", [
    ((0, 1, 2), r"too many indices for Tensor: Tensor is 2-dimensional, but 3 were indexed"),
    ((0, None, 1, 2), r"2-dimensional, but 3 were indexed"),
    ((Ellipsis, 0, Ellipsis), r"single ellipsis"),
    (("a",), r"only integers, slices.*'a'"),
])
def test_bad_index(x, index, match):
    with pytest.raises(IndexError, match=match):
        x[index]


def test_zero_step_slice(x):
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]


# ---------------------------------------------------------------- reshape
@pytest.mark.parametrize("shape, match", [
    ((3, 7), r"size 20 \(shape \(5, 4\)\) into shape \(3, 7\)"),
    ((-1, 3), r"size 20 into shape \(-1, 3\)"),
    ((-1, -1), r"one unknown dimension.*\(-1, -1\)"),
    ((-2, 10), r"negative dimensions.*\(-2, 10\)"),
    (21, r"into shape \(21,\)"),
])
def test_reshape_to_incompatible_size(x, shape, match):
    with pytest.raises(ValueError, match=match):
        x.reshape(shape)


def test_reshape_of_unknown_length_asks_for_chunk_sizes(x):
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        x[x[:, 0] > 3].reshape(-1)


# ---------------------------------------------------------------- linear algebra
@pytest.mark.parametrize("make, match", [
    (lambda x: x @ _t((5, 2)), r"shapes \(5, 4\) and \(5, 2\) are not aligned: 4 .* != 5"),
    (lambda x: x @ _t((3,)), r"shapes \(5, 4\) and \(3,\) are not aligned: 4 .* != 3"),
    (lambda x: cf.matmul(_t((2,)), x), r"shapes \(2,\) and \(5, 4\) are not aligned"),
    (lambda x: x @ cf.asarray(2.0), r"at least 1-D.*\(5, 4\) and \(\)"),
    (lambda x: cf.dot(x, _t((5, 2))), r"\(5, 4\) and \(5, 2\)"),
    (lambda x: cf.tensordot(x, _t((3, 2)), axes=([1], [0])), r"axis 1 of a \(shape \(5, 4\)\) has length 4.*"
                                                             r"axis 0 of b \(shape \(3, 2\)\) has length 3"),
    (lambda x: cf.tensordot(x, x, axes=([0, 1], [0])), r"pair 2 axes of a with 1 of b"),
    (lambda x: cf.linalg.solve(x, _t((5,))), r"square 2-D matrix, got shape \(5, 4\)"),
    (lambda x: cf.linalg.solve(_t((4, 4)), _t((5,))), r"b of shape \(5,\).*a of shape \(4, 4\)"),
    (lambda x: cf.linalg.cholesky(x), r"square.*\(5, 4\)"),
    (lambda x: cf.linalg.qr(x.T), r"tall-skinny.*\(4, 5\)"),
    (lambda x: cf.linalg.lstsq(x, _t((4,))), r"b of shape \(4,\).*\(5, 4\)"),
    (lambda x: cf.linalg.norm(x, ord=3), r"matrix norm order 3"),
    (lambda x: cf.linalg.norm(x[0], ord="fro"), r"'fro'"),
])
def test_linalg_misaligned_shapes(x, make, match):
    with pytest.raises(ValueError, match=match):
        make(x)


# ---------------------------------------------------------------- creation and reductions
@pytest.mark.parametrize("make, err, match", [
    (lambda: cf.zeros((2, -3)), ValueError, r"negative dimensions.*\(2, -3\)"),
    (lambda: cf.ones("abc"), (TypeError, ValueError), r"abc|'a'"),
    (lambda: cf.arange(0, 10, 0), ValueError, r"step must not be zero"),
    (lambda: cf.linspace(0, 1, -2), ValueError, r"-2"),
    (lambda: cf.min(_t((0, 3)), axis=0), ValueError, r"zero-size array to reduction operation minimum.*\(0, 3\)"),
    (lambda: cf.argmax(_t((0,))), ValueError, r"empty sequence"),
    (lambda: cf.compute(_t(3), scheduler="nope"), ValueError, r"unknown scheduler 'nope'"),
])
def test_bad_creation_and_reduction_arguments(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_errors_are_raised_before_anything_runs(x, monkeypatch):
    """Shape errors come from metadata: nothing is computed to find them."""
    import dask

    def refuse(*a, **k):
        raise AssertionError("computed while building an expression")

    monkeypatch.setattr(dask, "compute", refuse)
    y = (x - x.mean(0)) / x.std(0)
    with pytest.raises(ValueError, match=r"\(5, 4\) \(3,\)"):
        y + _t((3,))
    with pytest.raises(IndexError, match="out of bounds"):
        y[:, 10]
    with pytest.raises(ValueError, match="not aligned"):
        y @ y


def test_tensor_is_immutable(x):
    with pytest.raises(AttributeError, match="immutable.*'shape'"):
        x.shape = (4, 5)


def test_multidimensional_integer_index_is_refused_clearly(x):
    # NumPy allows it; dask fails obscurely, so chunkflow names the workaround
    with pytest.raises(IndexError, match=r"integer array indices must be 1-D, got shape \(2, 2\)"):
        x[np.array([[0, 1], [2, 3]])]
    with pytest.raises(IndexError, match=r"1-D, got shape \(2, 1\)"):
        x[:, cf.from_array(np.array([[0], [1]]))]


def test_scalar_boolean_index_is_refused(x):
    # NumPy reads x[True] as x[None]; chunkflow refuses it rather than guess
    with pytest.raises(IndexError, match="True"):
        x[True]
