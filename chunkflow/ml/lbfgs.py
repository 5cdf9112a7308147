"""L-BFGS with a strong-Wolfe line search (Nocedal & Wright, algorithms 7.4, 3.5 and 3.6).

Unlike the first-order optimizers, L-BFGS needs the objective itself: each
line-search trial calls ``fun(params) -> (value, grads)`` once, i.e. runs the
compiled value-and-gradient graph once. Parameters are pytrees; the method
works on them as one flat float64 vector.

>>> import numpy as np
>>> rosen = lambda x: (float((1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2),
...                    np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0]**2), 200 * (x[1] - x[0]**2)]))
>>> LBFGS(tol=1e-9).minimize(rosen, np.array([-1.2, 1.0])).params.round(6)
array([1., 1.])
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import to_host
from . import _validate as check
from .result import MinimizeResult
from .tree import ravel

__all__ = ["LBFGS", "line_search_wolfe"]


class LBFGS:
    """Limited-memory BFGS: ``LBFGS(...).minimize(fun, x0)`` gives a :class:`MinimizeResult`.

    history: number of (s, y) pairs kept. max_iter: iterations (each one line
    search). tol: stop when the largest absolute gradient entry is <= tol.
    ftol: stop when the relative decrease of the value in an iteration is
    <= ftol. c1, c2: the strong-Wolfe constants. max_ls: evaluations per line
    search.
    """

    def __init__(self, history=10, max_iter=100, tol=1e-6, ftol=1e-12, c1=1e-4, c2=0.9, max_ls=25):
        self.history = check.integer("history", history, low=1)
        self.max_iter = check.integer("max_iter", max_iter, low=0)
        self.tol = check.number("tol", tol, low=0)
        self.ftol = check.number("ftol", ftol, low=0)
        self.c1 = check.number("c1", c1, low=0, high=1, low_open=True, high_open=True)
        self.c2 = check.number("c2", c2, low=self.c1, high=1, low_open=True, high_open=True)
        self.max_ls = check.integer("max_ls", max_ls, low=1)

    def __repr__(self) -> str:
        return "LBFGS(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"

    def init(self, params):
        raise TypeError("LBFGS needs the objective, not one gradient: call LBFGS.minimize(fun, params), "
                        "or chunkflow.ml.minimize(f, params, *data, optimizer=LBFGS())")

    update = init

    def minimize(self, fun, x0, callback=None, max_iter=None, tol=None) -> MinimizeResult:
        """Minimize ``fun(params) -> (value, grads)`` from ``x0`` (a pytree of float arrays).

        ``callback(iteration, value, params)`` runs after each iteration and
        stops the loop by returning True. ``max_iter``/``tol`` override the
        constructor's for this call. A non-finite value or gradient at a
        line-search trial shortens the step; at an accepted point it raises
        FloatingPointError naming the iteration.
        """
        max_iter = self.max_iter if max_iter is None else check.integer("max_iter", max_iter, low=0)
        tol = self.tol if tol is None else check.number("tol", tol, low=0)
        x, unravel = ravel(x0)
        counter = [0]

        def fg(v):
            counter[0] += 1
            value, grads = to_host(fun(unravel(v)))  # CuPy results (GPU data) as NumPy
            g, _ = ravel(grads)
            if g.shape != v.shape:
                raise ValueError(f"fun returned a gradient with {g.size} entries for {v.size} parameters")
            return float(value), g

        try:
            f, g = fg(x)
        except FloatingPointError as e:
            raise FloatingPointError(f"L-BFGS iteration 0 (the starting point): {e}") from e
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            raise FloatingPointError(f"L-BFGS iteration 0 (the starting point): the value ({f}) or the "
                                     f"gradient is not finite")
        memory: list = []
        history, message, converged, k = [f], f"reached max_iter={max_iter}", False, 0
        while True:
            if np.max(np.abs(g), initial=0.0) <= tol:
                message, converged = f"gradient max-norm <= tol={tol}", True
                break
            if k >= max_iter:
                break
            d = -_two_loop(g, memory)
            if g @ d >= 0:  # not a descent direction (lost curvature information): restart
                memory.clear()
                d = -g
            alpha0 = 1.0 if memory else min(1.0, 1.0 / np.linalg.norm(g, 1))
            step = line_search_wolfe(fg, x, f, g, d, alpha0, self.c1, self.c2, self.max_ls)
            if step is None and memory:
                memory.clear()
                d = -g
                step = line_search_wolfe(fg, x, f, g, d, min(1.0, 1.0 / np.linalg.norm(g, 1)),
                                         self.c1, self.c2, self.max_ls)
            if step is None:
                message = f"the line search found no acceptable step at iteration {k}"
                break
            alpha, f_new, g_new = step
            if not (math.isfinite(f_new) and np.all(np.isfinite(g_new))):
                raise FloatingPointError(f"L-BFGS iteration {k + 1}: non-finite value or gradient")
            s, y = alpha * d, g_new - g
            if s @ y > 1e-10 * (y @ y):
                memory.append((s, y, 1.0 / (s @ y)))
                del memory[:-self.history]
            decrease = f - f_new
            x, f, g, k = x + s, f_new, g_new, k + 1
            history.append(f)
            if callback is not None and callback(k, f, unravel(x)):
                message = f"callback stopped at iteration {k}"
                break
            if decrease <= self.ftol * max(abs(f), abs(f + decrease), 1.0):
                message, converged = f"relative decrease <= ftol={self.ftol}", True
                break
        return MinimizeResult(
            params=unravel(x), history=history, n_steps=k, converged=converged, value=f,
            grad_norm=float(np.linalg.norm(g)), n_evals=counter[0], message=message,
        )


def _two_loop(g, memory) -> np.ndarray:
    """The inverse-Hessian approximation times ``g`` (L-BFGS two-loop recursion)."""
    q = g.copy()
    alphas = []
    for s, y, rho in reversed(memory):
        a = rho * (s @ q)
        q -= a * y
        alphas.append(a)
    if memory:
        s, y, _ = memory[-1]
        q *= (s @ y) / (y @ y)
    for (s, y, rho), a in zip(memory, reversed(alphas)):
        b = rho * (y @ q)
        q += s * (a - b)
    return q


def line_search_wolfe(fg, x, f0, g0, d, alpha0=1.0, c1=1e-4, c2=0.9, max_evals=25):
    """``(alpha, f, g)`` at a step satisfying the strong Wolfe conditions, or None.

    ``fg(x) -> (value, gradient)``. Algorithm 3.5 of Nocedal & Wright:
    grow the step until it brackets an acceptable one, then :func:`_zoom`.
    A trial raising FloatingPointError counts as an infinite value.
    """
    dphi0 = float(g0 @ d)
    evals = [0]

    def phi(alpha):
        evals[0] += 1
        try:
            f, g = fg(x + alpha * d)
        except FloatingPointError:
            return (alpha, math.inf, math.nan, None)
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            return (alpha, math.inf, math.nan, None)
        return (alpha, f, float(g @ d), g)

    prev = (0.0, f0, dphi0, g0)
    alpha = alpha0
    while evals[0] < max_evals:
        cur = phi(alpha)
        if cur[1] > f0 + c1 * alpha * dphi0 or (prev[0] > 0 and cur[1] >= prev[1]):
            return _zoom(phi, prev, cur, f0, dphi0, c1, c2, evals, max_evals)
        if abs(cur[2]) <= -c2 * dphi0:
            return cur[0], cur[1], cur[3]
        if cur[2] >= 0:
            return _zoom(phi, cur, prev, f0, dphi0, c1, c2, evals, max_evals)
        prev, alpha = cur, alpha * 2.0
    return None


def _zoom(phi, lo, hi, f0, dphi0, c1, c2, evals, max_evals):
    """Algorithm 3.6: shrink the bracket ``[lo, hi]`` (``(alpha, f, dphi, g)`` each) to a Wolfe step."""
    while evals[0] < max_evals:
        alpha = _cubic_min(lo, hi)
        if abs(hi[0] - lo[0]) < 1e-16 * max(1.0, abs(lo[0])):
            break
        cur = phi(alpha)
        if cur[1] > f0 + c1 * alpha * dphi0 or cur[1] >= lo[1]:
            hi = cur
        else:
            if abs(cur[2]) <= -c2 * dphi0:
                return cur[0], cur[1], cur[3]
            if cur[2] * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = cur
    # No Wolfe point within budget: the best sufficient-decrease point, if any, still helps.
    return (lo[0], lo[1], lo[3]) if lo[0] > 0 else None


def _cubic_min(lo, hi) -> float:
    """The minimizer of the cubic through both bracket ends, kept inside it; else the midpoint."""
    (a, fa, da, _), (b, fb, db, _) = lo, hi
    mid = (a + b) / 2
    if not all(map(math.isfinite, (fa, fb, da, db))):
        return mid
    d1 = da + db - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc < 0:
        return mid
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = db - da + 2 * d2
    if denom == 0:
        return mid
    alpha = b - (b - a) * (db + d2 - d1) / denom
    low, high = min(a, b), max(a, b)
    margin = 0.1 * (high - low)
    return alpha if low + margin <= alpha <= high - margin else mid
