"""Full-batch training: ``minimize(f, params, *data, optimizer=...)``.

The value-and-gradient step of ``f(params, *data)`` is traced and compiled
once, before the loop; each step re-runs that graph with the new parameter
values (one pass over the data: the value and gradient of each row chunk in
one task, partial gradients tree-summed) and makes one optimizer update on
the client, where the small parameters live.
"""
from __future__ import annotations

from ..core.autodiff import value_and_grad
from . import _validate as check
from .lbfgs import LBFGS
from .optim import Optimizer
from .result import MinimizeResult
from .tree import global_norm

__all__ = ["minimize"]


def minimize(f, params, *data, optimizer=None, max_steps=100, tol=None, callback=None, verbose=False,
             scheduler=None) -> MinimizeResult:
    """Minimize the scalar ``f(params, *data)`` over ``params``: a :class:`MinimizeResult`.

    optimizer: an :class:`Optimizer` (``init``/``update``; default
    ``Adam(lr=1e-2)``) or :class:`LBFGS`, which runs its own line-search
    iterations (at most ``max_steps`` of them; ``tol``, when given, replaces
    its gradient tolerance). Steps stop when the gradient's global L2 norm
    or the relative change of the loss between steps falls below ``tol``
    (``converged=True``), after ``max_steps`` updates, or when
    ``callback(step, loss, params)`` returns True. ``history[i]`` is the
    loss at the parameters before update ``i``. A NaN/inf loss or gradient
    raises FloatingPointError naming the step.
    """
    from .optim import Adam

    optimizer = Adam(lr=1e-2) if optimizer is None else optimizer
    max_steps = check.integer("max_steps", max_steps, low=0)
    tol = None if tol is None else check.number("tol", tol, low=0)
    step_fn = value_and_grad(f)  # compiled once, on the first call; re-run every step
    if isinstance(optimizer, LBFGS):
        return _minimize_lbfgs(step_fn, params, data, optimizer, max_steps, tol, callback, verbose, scheduler)
    if not isinstance(optimizer, Optimizer) and not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(f"optimizer must be a chunkflow.ml.optim optimizer (SGD, Adam, ..., LBFGS), "
                        f"got {optimizer!r}")
    state = optimizer.init(params)
    history: list = []
    result = MinimizeResult(params=params, message=f"reached max_steps={max_steps}")
    for step in range(max_steps + 1):
        value, grads = _evaluate(step_fn, params, data, scheduler, step)
        norm = global_norm(grads)
        history.append(value)
        result.value, result.grad_norm, result.n_evals = value, norm, step + 1
        if verbose:
            _report(step, value, norm, max_steps)
        stop = _stop_reason(history, norm, tol)
        if stop:
            result.converged, result.message = True, stop
            break
        if step == max_steps:
            break
        if callback is not None and callback(step, value, params):
            result.message = f"callback stopped at step {step}"
            break
        params, state = optimizer.update(grads, state, params)
        result.n_steps = step + 1
    result.params, result.history = params, history
    return result


def _evaluate(step_fn, params, data, scheduler, step):
    """``(loss, grads)`` at ``params``; non-finite values raise FloatingPointError naming ``step``."""
    try:
        value, grads = step_fn(params, *data, scheduler=scheduler)
    except FloatingPointError as e:
        raise FloatingPointError(f"step {step}: {e}") from e
    return float(value), grads


def _stop_reason(history, grad_norm, tol) -> str:
    """Why training has converged ('' if it has not)."""
    if tol is None:
        return ""
    if grad_norm < tol:
        return f"gradient norm {grad_norm:.3g} < tol={tol}"
    if len(history) > 1:
        prev, cur = history[-2], history[-1]
        if abs(prev - cur) < tol * max(abs(prev), abs(cur), 1e-300):
            return f"relative loss change < tol={tol}"
    return ""


def _report(step, value, grad_norm, max_steps):
    every = max(1, max_steps // 10)
    if step % every == 0 or step == max_steps:
        print(f"step {step:>6d}  loss {value:.6g}  grad norm {grad_norm:.3g}")


def _minimize_lbfgs(step_fn, params, data, optimizer, max_steps, tol, callback, verbose, scheduler):
    """:func:`minimize` delegated to ``optimizer.minimize`` (each line-search trial is one run)."""
    counter = [0]

    def fun(p):
        counter[0] += 1
        value, grads = step_fn(p, *data, scheduler=scheduler)
        return value, grads

    def on_iteration(k, value, p):
        if verbose:
            print(f"iteration {k:>5d}  loss {value:.6g}  evaluations {counter[0]}")
        return callback(k, value, p) if callback is not None else False

    return optimizer.minimize(fun, params, callback=on_iteration, max_iter=min(max_steps, optimizer.max_iter),
                              tol=tol)
