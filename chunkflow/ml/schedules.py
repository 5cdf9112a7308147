"""Learning-rate schedules: callables ``step -> lr`` that optimizers take in place of a float.

``step`` counts the updates already made (0 for the first update), so a
schedule's value at step ``t`` matches PyTorch's ``lr_scheduler`` after ``t``
calls to ``scheduler.step()``.

>>> s = cosine(0.1, T_max=10)
>>> round(s(0), 6), round(s(5), 6), round(s(10), 6)
(0.1, 0.05, 0.0)
"""
from __future__ import annotations

import math

from . import _validate as check

__all__ = ["constant", "step", "exponential", "cosine", "warmup", "as_schedule"]


class Schedule:
    """A named learning-rate schedule: ``schedule(step)`` gives the rate for that update."""

    def __init__(self, fn, description: str):
        self._fn, self._description = fn, description

    def __call__(self, t: int) -> float:
        return self._fn(t)

    def __repr__(self) -> str:
        return self._description


def constant(lr: float) -> Schedule:
    """``lr`` at every step."""
    lr = check.number("lr", lr, low=0)
    return Schedule(lambda t: lr, f"constant({lr})")


def step(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (t // step_size)`` (PyTorch's ``StepLR``)."""
    lr = check.number("lr", lr, low=0)
    step_size = check.integer("step_size", step_size, low=1)
    gamma = check.number("gamma", gamma, low=0)
    return Schedule(lambda t: lr * gamma ** (t // step_size), f"step({lr}, step_size={step_size}, gamma={gamma})")


def exponential(lr: float, gamma: float) -> Schedule:
    """``lr * gamma ** t`` (PyTorch's ``ExponentialLR``)."""
    lr = check.number("lr", lr, low=0)
    gamma = check.number("gamma", gamma, low=0)
    return Schedule(lambda t: lr * gamma ** t, f"exponential({lr}, gamma={gamma})")


def cosine(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:  # noqa: N803 - PyTorch's name
    """Cosine annealing from ``lr`` to ``eta_min`` over ``T_max`` steps, then ``eta_min``.

    ``eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2`` for ``t <= T_max``
    (PyTorch's ``CosineAnnealingLR`` closed form, held at ``eta_min`` afterwards).
    """
    lr = check.number("lr", lr, low=0)
    T_max = check.integer("T_max", T_max, low=1)  # noqa: N806
    eta_min = check.number("eta_min", eta_min, low=0, high=lr)

    def fn(t):
        t = min(t, T_max)
        return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2

    return Schedule(fn, f"cosine({lr}, T_max={T_max}, eta_min={eta_min})")


def warmup(n: int, then) -> Schedule:
    """A linear ramp over ``n`` steps up to ``then``, then ``then`` restarted at step 0.

    Step ``t < n`` gets ``then(0) * (t + 1) / n``; step ``t >= n`` gets
    ``then(t - n)``. ``then`` is a schedule or a float learning rate.
    """
    n = check.integer("n", n, low=1)
    after = as_schedule(then, "then")

    def fn(t):
        return after(0) * (t + 1) / n if t < n else after(t - n)

    return Schedule(fn, f"warmup({n}, then={after!r})")


def as_schedule(lr, name: str = "lr"):
    """``lr`` as a callable ``step -> lr``: a float becomes :func:`constant`."""
    if callable(lr):
        return lr
    try:
        return constant(check.number(name, lr, low=0))
    except TypeError:
        raise TypeError(f"{name} must be a non-negative float or a schedule (callable step -> lr), "
                        f"got {lr!r}") from None
