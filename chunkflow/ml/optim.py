"""First-order optimizers as pure functions of pytrees: ``init(params)`` and ``update``.

Each optimizer holds only hyper-parameters. ``state = opt.init(params)``
makes the per-parameter buffers; ``params, state = opt.update(grads, state,
params)`` makes one step and returns new trees (nothing is modified in
place), so the same object serves the training loop, estimators and
checkpointing. Update rules follow the algorithms documented for PyTorch's
``torch.optim`` step by step (weight decay there is an L2 term added to the
gradient, except in :class:`AdamW`, where it is decoupled).

>>> import numpy as np
>>> opt = SGD(lr=0.1, momentum=0.9)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> params, state = opt.update({"w": params["w"]}, state, params)
>>> params["w"], state["step"]
(array([ 0.9, -1.8]), 1)

L-BFGS needs the objective itself, not one gradient: see :class:`LBFGS`.
"""
from __future__ import annotations

import numpy as np

from ..backend import to_host
from . import _validate as check
from .lbfgs import LBFGS
from .schedules import as_schedule
from .tree import tree_flatten, _matching, global_norm, tree_map

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS", "clip_by_global_norm"]


class Optimizer:
    """Base of the first-order optimizers: the pytree plumbing around one leaf-wise rule.

    Subclasses set ``slots`` (names of per-parameter buffers, zero at start)
    and write ``_leaf(t, lr, p, g, *buffers) -> (p, *buffers)`` for step
    ``t`` (1 for the first update) with learning rate ``lr``.
    """

    slots: tuple = ()

    def __init__(self, lr):
        self.lr = as_schedule(lr)

    def init(self, params) -> dict:
        """The state before the first step: ``{"step": 0, <slot>: zeros like params, ...}``."""
        leaves, unflatten = tree_flatten(params)
        arrays = [_float_array(x, i) for i, x in enumerate(leaves)]
        return {"step": 0, **{name: unflatten([np.zeros_like(a) for a in arrays]) for name in self.slots}}

    def update(self, grads, state, params):
        """``(new_params, new_state)`` after one step along ``grads``."""
        leaves, unflatten = tree_flatten(params)
        leaves = [_float_array(x, i) for i, x in enumerate(leaves)]
        grad_leaves = [to_host(g) for g in _matching(grads, leaves, "grads")]  # CuPy (GPU data) as NumPy
        buffers = [_matching(state[name], leaves, f"state[{name!r}]") for name in self.slots]
        t = int(state["step"]) + 1
        lr = float(self.lr(t - 1))
        new = [self._leaf(t, lr, p, np.asarray(g, dtype=p.dtype), *bufs)
               for p, g, *bufs in zip(leaves, grad_leaves, *buffers)]
        new_state = {"step": t}
        for i, name in enumerate(self.slots):
            new_state[name] = unflatten([n[1 + i] for n in new])
        return unflatten([n[0] for n in new]), new_state

    def _leaf(self, t, lr, p, g, *buffers):
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _float_array(x, i) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        raise TypeError(f"parameter leaf {i} has dtype {arr.dtype}; optimizers update floating-point "
                        f"parameters (cast with .astype(float))")
    return arr


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    ``g += weight_decay * p``; ``b = g`` at the first step, else
    ``b = momentum * b + (1 - dampening) * g``; the step direction is
    ``g + momentum * b`` (Nesterov) or ``b``; ``p -= lr * direction``.
    """

    def __init__(self, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0):
        super().__init__(lr)
        self.momentum = check.number("momentum", momentum, low=0)
        self.dampening = check.number("dampening", dampening, low=0, high=1)
        self.weight_decay = check.number("weight_decay", weight_decay, low=0)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, got momentum={momentum!r} "
                             f"and dampening={dampening!r}")
        self.slots = ("momentum_buffer",) if self.momentum else ()

    def _leaf(self, t, lr, p, g, *buf):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if not self.momentum:
            return (p - lr * g,)
        b = g if t == 1 else self.momentum * buf[0] + (1 - self.dampening) * g
        direction = g + self.momentum * b if self.nesterov else b
        return p - lr * direction, b


class Adam(Optimizer):
    """Adam with bias correction, as ``torch.optim.Adam`` (weight decay as an L2 gradient term).

    ``m = b1*m + (1-b1)*g``; ``v = b2*v + (1-b2)*g**2``;
    ``p -= lr * (m / (1-b1**t)) / (sqrt(v / (1-b2**t)) + eps)``.
    """

    slots = ("exp_avg", "exp_avg_sq")
    _decoupled = False

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check.number("betas[0]", betas[0], low=0, high=1, high_open=True),
                      check.number("betas[1]", betas[1], low=0, high=1, high_open=True))
        self.eps = check.number("eps", eps, low=0)
        self.weight_decay = check.number("weight_decay", weight_decay, low=0)

    def _leaf(self, t, lr, p, g, m, v):
        b1, b2 = self.betas
        if self.weight_decay and self._decoupled:
            p = p * (1 - lr * self.weight_decay)
        elif self.weight_decay:
            g = g + self.weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + self.eps), m, v


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: ``p *= 1 - lr*weight_decay`` first."""

    _decoupled = True

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    ``v = alpha*v + (1-alpha)*g**2`` (minus the squared running mean of ``g``
    when ``centered``); ``p -= lr * g / (sqrt(v) + eps)``, or with momentum
    ``b = momentum*b + g / (sqrt(v) + eps)``; ``p -= lr * b``.
    """

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0, centered=False):
        super().__init__(lr)
        self.alpha = check.number("alpha", alpha, low=0, high=1, high_open=True)
        self.eps = check.number("eps", eps, low=0)
        self.momentum = check.number("momentum", momentum, low=0)
        self.weight_decay = check.number("weight_decay", weight_decay, low=0)
        self.centered = bool(centered)
        self.slots = ("square_avg",) + (("momentum_buffer",) if self.momentum else ()) + (
            ("grad_avg",) if self.centered else ())

    def _leaf(self, t, lr, p, g, v, *rest):
        rest = list(rest)
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = self.alpha * v + (1 - self.alpha) * g * g
        v_used = v
        if self.centered:
            rest[-1] = self.alpha * rest[-1] + (1 - self.alpha) * g
            v_used = v - rest[-1] ** 2
        scaled = g / (np.sqrt(v_used) + self.eps)
        if self.momentum:
            rest[0] = self.momentum * rest[0] + scaled
            return (p - lr * rest[0], v, *rest)
        return (p - lr * scaled, v, *rest)


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``: ``s += g**2``; ``p -= lr * g / (sqrt(s) + eps)``."""

    slots = ("sum",)

    def __init__(self, lr=1e-2, eps=1e-10, weight_decay=0.0):
        super().__init__(lr)
        self.eps = check.number("eps", eps, low=0)
        self.weight_decay = check.number("weight_decay", weight_decay, low=0)

    def _leaf(self, t, lr, p, g, s):
        if self.weight_decay:
            g = g + self.weight_decay * p
        s = s + g * g
        return p - lr * g / (np.sqrt(s) + self.eps), s


def clip_by_global_norm(grads, max_norm: float):
    """``grads`` scaled by ``min(1, max_norm / norm)``, where ``norm`` is their global L2 norm.

    >>> clip_by_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)["b"]
    array([0.8])
    """
    max_norm = check.number("max_norm", max_norm, low=0, low_open=True)
    host = tree_map(to_host, grads)  # CuPy gradients (GPU data) as NumPy
    norm = global_norm(host)
    if not np.isfinite(norm):
        raise FloatingPointError(f"the gradients' global norm is {norm}; check the loss for NaN/inf")
    if norm <= max_norm:
        return grads
    scale = max_norm / norm
    return tree_map(lambda g: np.asarray(g) * np.asarray(scale, dtype=np.asarray(g).dtype), host)
