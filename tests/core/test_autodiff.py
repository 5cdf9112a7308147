"""Reverse-mode autodiff: every rule against central finite differences."""
import numpy as np
import pytest

import chunkflow as cf
from tests.core.test_lower import ChunkCounter


def finite_difference(f, w, eps=1e-6):
    g = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        d = np.zeros_like(w)
        d[i] = eps
        g[i] = (f(w + d) - f(w - d)) / (2 * eps)
    return g


def check_grad(loss, w, *data, chunkings=((4, -1), (7, -1), -1), rtol=1e-5, atol=1e-7):
    """Gradient of ``loss(w, *tensors)`` on several chunkings vs finite differences on NumPy data."""
    arrays = [np.asarray(d) for d in data]

    def numeric(wv):
        tensors = [cf.from_array(a, chunks=-1) for a in arrays]
        return float(loss(cf.asarray(wv), *tensors).compute(scheduler="sync"))

    expected = finite_difference(numeric, w)
    for chunks in chunkings:
        tensors = [cf.from_array(a, chunks=chunks if a.ndim == 2 else (chunks[0] if isinstance(chunks, tuple) else -1))
                   for a in arrays]
        value, got = cf.value_and_grad(loss)(w, *tensors, scheduler="sync")
        np.testing.assert_allclose(value, numeric(w), rtol=1e-10)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"chunks={chunks}")


rng = np.random.default_rng(0)
X = rng.normal(size=(23, 4))
Y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(float)
W = rng.normal(size=4) * 0.3


ELEMENTWISE = {
    "exp-log1p": lambda w, x: cf.log1p(cf.exp(x @ w)).sum(),
    "sigmoid": lambda w, x: cf.sigmoid(x @ w).sum(),
    "tanh-square": lambda w, x: cf.square(cf.tanh(x @ w)).mean(),
    "sin-cos": lambda w, x: (cf.sin(x @ w) * cf.cos(x @ w)).sum(),
    "div-sqrt": lambda w, x: (x / cf.sqrt(w * w + 1.0)).sum(),
    "power": lambda w, x: ((x * w) ** 2).sum() + (cf.abs(w) ** 3).sum(),
    "max-min": lambda w, x: cf.maximum(x * w, 0.1).sum() + cf.minimum(x, w).sum(),
    "where-clip": lambda w, x: cf.where(x > 0, x * w, -w).sum() + cf.clip(x * w, -0.5, 0.5).sum(),
    "logaddexp": lambda w, x: cf.logaddexp(0.0, x @ w).sum(),
    "broadcast-sub": lambda w, x: ((x - w) ** 2).sum(),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_rules(name):
    check_grad(ELEMENTWISE[name], W, X)


REDUCTIONS = {
    "mean-axis0": lambda w, x: ((x * w).mean(axis=0) ** 2).sum(),
    "var": lambda w, x: (x * w).var(axis=0, ddof=1).sum(),
    "std": lambda w, x: (x * w).std(axis=0).sum(),
    "max": lambda w, x: (x * w).max(axis=1).sum(),
    "min-all": lambda w, x: (x * w).min(),
    "logsumexp": lambda w, x: cf.logsumexp(x * w, axis=1).sum(),
    "prod": lambda w, x: cf.prod(w + 2.0),
    "keepdims": lambda w, x: ((x * w) / (x * w).sum(axis=1, keepdims=True)).std(),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_rules(name):
    check_grad(REDUCTIONS[name], W, X)


MOVEMENT = {
    "transpose": lambda w, x: ((x * w).T @ x[:, 0]).sum(),
    "reshape": lambda w, x: ((x * w).reshape(-1) ** 2).sum(),
    "slice": lambda w, x: ((x * w)[2:17:3, 1:] ** 2).sum(),
    "int-index": lambda w, x: (x * w)[5].sum() ** 2,
    "concatenate": lambda w, x: (cf.concatenate([x * w, x]) ** 2).sum(),
    "stack-free-matmul": lambda w, x: ((x @ cf.stack([w, w * 2], axis=1)) ** 2).sum(),
    "rechunk": lambda w, x: ((x * w).rechunk((5, 2)) ** 2).sum(),
    "gram": lambda w, x: ((x * w).T @ (x * w)).sum(),
    "int-array-rows": lambda w, x: ((x * w)[np.array([3, 3, 0, 22, 3])] ** 2).sum(),
    "int-array-cols": lambda w, x: (cf.sin(x * w)[:, np.array([2, 0, 2])]).sum(),
    "param-lookup": lambda w, x: (x[:, :3] * w[np.array([0, 2, 2])] ** 2).sum(),
    "bool-mask-array": lambda w, x: cf.exp((x * w)[np.arange(23) % 3 == 0]).sum(),
    "bool-mask-tensor": lambda w, x: ((x * w)[x[:, 0] > 0] ** 2).sum(),
    "int-tensor": lambda w, x: (w[cf.argmax(x, axis=1)] * x[:, 0]).sum(),
    "cumsum-rows": lambda w, x: (cf.cumsum(x * w, axis=0) * x).sum(),
    "cumsum-cols": lambda w, x: (cf.cumsum(x * w, axis=1) ** 2).sum(),
    "cumsum-flat": lambda w, x: (cf.cumsum(x * w) * cf.arange(92.0)).sum(),
}


@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement_and_product_rules(name):
    check_grad(MOVEMENT[name], W, X)


def test_astype_passes_gradient_through_casts():
    # finite differences through float32 rounding are meaningless: compare with the analytic value
    x = cf.from_array(X, chunks=(5, -1))
    g = cf.grad(lambda w, x: (x * w).astype(np.float32).astype(np.float64).sum())(W, x)
    np.testing.assert_allclose(g, X.sum(0), rtol=1e-6)


def test_standard_losses_match_analytic_gradients():
    def logistic(w, x, y):
        z = x @ w
        return (cf.logaddexp(0.0, z) - y * z).mean()

    def squared(w, x, y):
        r = x @ w - y
        return (r * r).mean() / 2

    n = len(Y)
    p = 1 / (1 + np.exp(-(X @ W)))
    for loss, expect in [(logistic, X.T @ (p - Y) / n), (squared, X.T @ (X @ W - Y) / n)]:
        x, y = cf.from_array(X, chunks=(5, -1)), cf.from_array(Y, chunks=(5,))
        np.testing.assert_allclose(cf.grad(loss)(W, x, y), expect, rtol=1e-12)


def test_pytree_params_and_argnums():
    params = {"w": W, "b": [np.array(0.3), np.ones(2)]}

    def loss(p, x):
        return ((x @ p["w"] + p["b"][0]) ** 2).sum() + (p["b"][1] ** 3).sum()

    x = cf.from_array(X, chunks=(6, -1))
    value, g = cf.value_and_grad(loss)(params, x)
    z = X @ W + 0.3
    assert set(g) == {"w", "b"} and isinstance(g["b"], list)
    np.testing.assert_allclose(value, (z ** 2).sum() + 2.0)
    np.testing.assert_allclose(g["w"], 2 * X.T @ z)
    np.testing.assert_allclose(g["b"][0], 2 * z.sum())
    np.testing.assert_allclose(g["b"][1], 3 * np.ones(2))
    gw, gs = cf.grad(lambda w, s, x: ((x @ w) * s).sum(), argnums=(0, 1))(W, np.array(2.0), x)
    np.testing.assert_allclose(gw, 2 * X.sum(0))
    np.testing.assert_allclose(gs, (X @ W).sum())


def test_value_and_gradient_step_reads_each_chunk_once():
    counted = ChunkCounter(X, chunks=(5, 4))
    y = cf.from_array(Y, chunks=(5,))

    def loss(w, x, y):
        z = x @ w
        return (cf.logaddexp(0.0, z) - y * z).mean() + 0.1 * (w * w).sum()

    cf.value_and_grad(loss)(W, counted.tensor, y)
    assert set(counted.reads.values()) == {1} and len(counted.reads) == counted.nchunks


def test_has_aux_returns_computed_aux():
    x = cf.from_array(X, chunks=(6, -1))
    (value, aux), g = cf.value_and_grad(lambda w, x: ((x @ w).sum(), {"n": 3, "m": (x @ w).max()}), has_aux=True)(W, x)
    assert aux["n"] == 3
    np.testing.assert_allclose(aux["m"], (X @ W).max())
    np.testing.assert_allclose(g, X.sum(0))


@pytest.mark.parametrize(
    "f, params, exc, match",
    [
        (lambda w, x: x @ w, W, ValueError, "must return a scalar"),
        (lambda w, x: (x @ w).sum(), np.arange(4), TypeError, "floating point"),
        (lambda w, x: (x @ w).sum(), np.ones(3), ValueError, r"\(23, 4\) and \(3,\)"),
        (lambda w, x: 3.0, W, TypeError, "floating-point scalar|must return"),
    ],
)
def test_bad_input(f, params, exc, match):
    with pytest.raises(exc, match=match):
        cf.value_and_grad(f)(params, cf.from_array(X, chunks=(5, -1)))


def test_nan_in_data_stops_with_a_clear_error():
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(FloatingPointError, match="not finite"):
        cf.value_and_grad(lambda w, x: (x @ w).sum())(W, cf.from_array(bad, chunks=(5, -1)))


def test_compiled_step_runs_on_a_distributed_cluster():
    distributed = pytest.importorskip("distributed")

    def loss(w, x, y):
        z = x @ w
        return (cf.logaddexp(0.0, z) - y * z).mean()

    w1 = np.full(4, 0.1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        x = cf.from_array(X, chunks=(5, -1)).persist()
        y = cf.from_array(Y, chunks=(5,)).persist()
        step = cf.value_and_grad(loss)
        step(np.zeros(4), x, y)
        v_cluster, g_cluster = step(w1, x, y)  # the compiled step, re-bound
    v_local, g_local = cf.value_and_grad(loss)(w1, cf.from_array(X, chunks=(5, -1)), cf.from_array(Y, chunks=(5,)))
    np.testing.assert_allclose(v_cluster, v_local, rtol=1e-12)
    np.testing.assert_allclose(g_cluster, g_local, rtol=1e-12)


def test_compiled_step_is_reused_with_new_parameters():
    x = cf.from_array(X, chunks=(5, -1))
    step = cf.value_and_grad(lambda w, x: ((x @ w) ** 2).sum())
    grads = [step(W * k, x)[1] for k in (1.0, 2.0, 3.0)]
    for k, g in zip((1.0, 2.0, 3.0), grads):
        np.testing.assert_allclose(g, 2 * X.T @ (X @ (W * k)), rtol=1e-12)
    cache = [c.cell_contents for c in step.__closure__ if isinstance(c.cell_contents, dict)][0]
    assert len(cache) == 1


def test_gradient_through_indexing_accumulates_repeated_indices():
    emb = rng.normal(size=(5, 3))
    idx = np.array([0, 2, 2, 4, 0, 0])
    expected = np.zeros_like(emb)
    np.add.at(expected, idx, 2 * emb[idx])
    for index in (idx, cf.from_array(idx, chunks=4)):
        got = cf.grad(lambda e, i: (e[i] ** 2).sum())(emb, index)
        np.testing.assert_allclose(got, expected)


def test_gradient_through_indexing_refuses_a_huge_scatter():
    x = cf.ones((4000, 1000), chunks=(1000, -1))
    with cf.config.set(memory_budget="16MiB"), pytest.raises(NotImplementedError, match="tenth of the memory budget"):
        cf.grad(lambda w, x: ((x * w)[np.array([1, 2])]).sum())(np.ones(1000), x)


# ---------------------------------------------------------------- random shapes and chunkings
from hypothesis import given, strategies as st  # noqa: E402

COMPOSITES = {
    "logistic": lambda w, x: cf.logaddexp(0.0, x @ w).mean(),
    "tanh-mlp": lambda w, x: (cf.tanh(x * w) @ cf.cos(w)).sum(),
    "softmax": lambda w, x: (cf.logsumexp(x * w, axis=1) - (x * w)[:, 0]).sum(),
    "standardize": lambda w, x: (((x * w) - (x * w).mean(axis=0)) / ((x * w).std(axis=0) + 1.0)).max(axis=0).sum(),
    "gram-trace": lambda w, x: cf.trace((x * w).T @ x),
    "slice-concat": lambda w, x: (cf.concatenate([x[1:] * w, x[:1] - w]) ** 2).sum(),
    "where-abs": lambda w, x: cf.where(x * w > 0, cf.abs(x - w), cf.sqrt(w * w + 1.0)).sum(),
    "rows-take": lambda w, x: ((x * w)[np.array([0, 0, -1])] ** 3).sum(),
}


@given(
    name=st.sampled_from(sorted(COMPOSITES)),
    n=st.integers(2, 30),
    d=st.integers(1, 5),
    chunk_rows=st.integers(1, 30),
    chunk_cols=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_finite_differences_on_random_shapes_and_chunkings(name, n, d, chunk_rows, chunk_cols, seed):
    r = np.random.default_rng(seed)
    x, w = r.normal(size=(n, d)), r.normal(size=d) * 0.5
    loss = COMPOSITES[name]
    numeric = lambda wv: float(loss(cf.asarray(wv), cf.from_array(x, chunks=-1)).compute(scheduler="sync"))
    expected = finite_difference(numeric, w)
    value, got = cf.value_and_grad(loss)(w, cf.from_array(x, chunks=(chunk_rows, chunk_cols)), scheduler="sync")
    np.testing.assert_allclose(value, numeric(w), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
