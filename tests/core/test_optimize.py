"""Optimizer rewrites keep values and reduce passes."""
import numpy as np
import pytest

import chunkflow as cf
from chunkflow.core.graph import toposort
from chunkflow.core.optimize import optimize


def _reductions(t):
    return [n for n in toposort([t]) if n.op == "reduce"]


@pytest.fixture
def data():
    a = np.random.default_rng(0).normal(5.0, 2.0, size=(60, 4))
    return a, cf.from_array(a, chunks=(9, -1))


def test_interning_makes_equal_expressions_one_node(data):
    _, x = data
    assert (x + 1) * 2 is (x + 1) * 2
    assert x.mean(0) is x.mean(axis=0)


def test_linear_reduction_moves_through_affine_map(data):
    a, x = data
    y = ((x - x.mean(0)) / x.std(0)).sum(0)
    (opt,) = optimize([y])
    # every reduction of the rewritten graph reads x itself: one pass
    assert all(r.inputs[0] is x for r in _reductions(opt))
    np.testing.assert_allclose(opt.compute(), ((a - a.mean(0)) / a.std(0)).sum(0), atol=1e-10)


@pytest.mark.parametrize(
    "expr, ref",
    [
        (lambda x: (x * 3.0 + 1.0).sum(0), lambda a: (a * 3.0 + 1.0).sum(0)),
        (lambda x: (2.0 - x).mean(1), lambda a: (2.0 - a).mean(1)),
        (lambda x: (-(x / x.max(0))).sum(0, keepdims=True), lambda a: (-(a / a.max(0))).sum(0, keepdims=True)),
        (lambda x: (x - x.mean()).sum(), lambda a: (a - a.mean()).sum()),
        (lambda x: (x * x).sum(0), lambda a: (a * a).sum(0)),  # not affine: left alone
    ],
)
def test_rewrites_keep_values(data, expr, ref):
    a, x = data
    np.testing.assert_allclose(expr(x).compute(), ref(a), rtol=1e-10, atol=1e-9)


def test_integer_sums_are_not_rewritten():
    x = cf.from_array(np.arange(12).reshape(4, 3), chunks=(2, 3))
    y = (x + 1).sum(0)
    (opt,) = optimize([y])
    assert opt is y
    np.testing.assert_array_equal(y.compute(), (np.arange(12).reshape(4, 3) + 1).sum(0))
