"""First-order optimizers against hand-written ``torch.optim`` algorithms, several steps on pytrees."""
import numpy as np
import pytest

from chunkflow.ml import SGD, Adagrad, Adam, AdamW, RMSprop, clip_by_global_norm, global_norm, schedules

rng = np.random.default_rng(0)
P0 = {"w": rng.normal(size=(3, 2)), "b": [rng.normal(size=2), np.array(0.5)]}
N_STEPS = 6


def grad_at(step, p):
    """A gradient that depends on the step and the parameters, so buffers and decay both matter."""
    return {"w": np.sin(p["w"] * (step + 1)) + 0.1 * step, "b": [np.cos(p["b"][0]) - step, p["b"][1] ** 2]}


def leaves(p):
    return [p["w"], p["b"][0], p["b"][1]]


def run(opt, n=N_STEPS):
    params, state = P0, opt.init(P0)
    for t in range(n):
        params, state = opt.update(grad_at(t, params), state, params)
    return params, state


def reference(rule, n=N_STEPS):
    """Run ``rule(t, p, g, buf) -> p`` (t = 1, 2, ...) leaf by leaf over the same gradients."""
    ps = [x.copy() for x in leaves(P0)]
    bufs = [{} for _ in ps]
    for t in range(1, n + 1):
        tree = {"w": ps[0], "b": [ps[1], ps[2]]}
        gs = leaves(grad_at(t - 1, tree))
        ps = [rule(t, p, g, buf) for p, g, buf in zip(ps, gs, bufs)]
    return ps


def torch_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    def rule(t, p, g, buf):
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf["b"] = g if t == 1 else momentum * buf["b"] + (1 - dampening) * g
            g = g + momentum * buf["b"] if nesterov else buf["b"]
        return p - lr * g
    return rule


def torch_adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    def rule(t, p, g, buf):
        if decoupled:
            p = p - lr * weight_decay * p
        elif weight_decay:
            g = g + weight_decay * p
        buf["m"] = betas[0] * buf.get("m", 0) + (1 - betas[0]) * g
        buf["v"] = betas[1] * buf.get("v", 0) + (1 - betas[1]) * g ** 2
        m_hat = buf["m"] / (1 - betas[0] ** t)
        v_hat = buf["v"] / (1 - betas[1] ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return rule


def torch_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    def rule(t, p, g, buf):
        if weight_decay:
            g = g + weight_decay * p
        buf["v"] = alpha * buf.get("v", 0) + (1 - alpha) * g ** 2
        v = buf["v"]
        if centered:
            buf["g_ave"] = buf.get("g_ave", 0) * alpha + (1 - alpha) * g
            v = v - buf["g_ave"] ** 2
        if momentum > 0:
            buf["b"] = momentum * buf.get("b", 0) + g / (np.sqrt(v) + eps)
            return p - lr * buf["b"]
        return p - lr * g / (np.sqrt(v) + eps)
    return rule


def torch_adagrad(lr, eps=1e-10, weight_decay=0.0):
    def rule(t, p, g, buf):
        if weight_decay:
            g = g + weight_decay * p
        buf["sum"] = buf.get("sum", 0) + g ** 2
        return p - lr * g / (np.sqrt(buf["sum"]) + eps)
    return rule


CASES = {
    "sgd": (SGD(lr=0.1), torch_sgd(0.1)),
    "sgd-momentum": (SGD(lr=0.05, momentum=0.9), torch_sgd(0.05, momentum=0.9)),
    "sgd-nesterov-wd": (SGD(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
                        torch_sgd(0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    "sgd-dampening": (SGD(lr=0.05, momentum=0.9, dampening=0.3), torch_sgd(0.05, momentum=0.9, dampening=0.3)),
    "adam": (Adam(lr=0.01), torch_adam(0.01)),
    "adam-wd": (Adam(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1),
                torch_adam(0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    "adamw": (AdamW(lr=0.02, weight_decay=0.1), torch_adam(0.02, weight_decay=0.1, decoupled=True)),
    "rmsprop": (RMSprop(lr=0.01), torch_rmsprop(0.01)),
    "rmsprop-momentum-wd": (RMSprop(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.01),
                            torch_rmsprop(0.01, alpha=0.9, momentum=0.5, weight_decay=0.01)),
    "rmsprop-centered": (RMSprop(lr=0.01, centered=True, momentum=0.3),
                         torch_rmsprop(0.01, centered=True, momentum=0.3)),
    "adagrad": (Adagrad(lr=0.1), torch_adagrad(0.1)),
    "adagrad-wd": (Adagrad(lr=0.1, eps=1e-6, weight_decay=0.05), torch_adagrad(0.1, eps=1e-6, weight_decay=0.05)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_algorithm(name):
    opt, rule = CASES[name]
    params, state = run(opt)
    assert state["step"] == N_STEPS
    for got, want in zip(leaves(params), reference(rule)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert isinstance(params["b"], list) and params["b"][1].shape == ()


def test_update_is_pure():
    opt = Adam(lr=0.1)
    state = opt.init(P0)
    p_copy = P0["w"].copy()
    new_params, new_state = opt.update(grad_at(0, P0), state, P0)
    np.testing.assert_array_equal(P0["w"], p_copy)
    assert state["step"] == 0 and not np.any(state["exp_avg"]["w"])
    assert new_state["step"] == 1 and np.all(new_state["exp_avg"]["w"] != 0)


def test_schedule_drives_lr():
    sched = schedules.step(0.1, step_size=2, gamma=0.5)
    lrs = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    got, _ = run(SGD(lr=sched))
    want = reference(lambda t, p, g, buf: p - lrs[t - 1] * g)
    for a, b in zip(leaves(got), want):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_clip_by_global_norm():
    g = {"a": np.array([3.0, 0.0]), "b": [np.array(4.0)]}
    clipped = clip_by_global_norm(g, 1.0)
    assert global_norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    assert clip_by_global_norm(g, 10.0) is g
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm(g, 0.0)


@pytest.mark.parametrize("make, match", [
    (lambda: SGD(lr=-0.1), r"lr must be in \[0"),
    (lambda: SGD(lr=0.1, momentum=-1), "momentum"),
    (lambda: SGD(lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda: Adam(betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda: Adam(betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda: Adam(eps=-1.0), "eps"),
    (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: RMSprop(alpha=1.5), "alpha"),
    (lambda: Adagrad(lr=float("nan")), "lr"),
])
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_type_errors():
    with pytest.raises(TypeError, match="lr must be"):
        SGD(lr="fast")
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam(betas=0.9)
    with pytest.raises(TypeError, match="floating-point"):
        SGD(lr=0.1).init({"w": np.arange(3)})


def test_mismatched_grads():
    opt = SGD(lr=0.1)
    state = opt.init(P0)
    with pytest.raises(ValueError, match="grads has 2 leaves"):
        opt.update({"w": P0["w"], "b": [P0["b"][0]]}, state, P0)
    with pytest.raises(ValueError, match="shape"):
        opt.update({"w": P0["w"].T, "b": P0["b"]}, state, P0)
