"""The generalized linear model solver: one objective, four solvers (newton, lbfgs, sgd, adam).

Every iterative linear model here (logistic, multinomial, squared-hinge SVM,
Poisson, Gamma, Tweedie, and least squares on wide data) minimizes

    F(W, b) = 1/N sum_i s_i loss(y_i, x_i W + b) + pen(W) + 1/2 l2_b |b|^2

with ``pen(W) = sum_jk (1/2 l2 (f_j W_jk)^2 + l1 f_j |W_jk|)``. The solver
works on standardized coordinates ``W = B / sigma``, ``b = c - mu W`` (``mu``
the column means when an unpenalized intercept is fitted, else 0): the
problem is the same, its conditioning is that of standardized data, and
nothing is done to X itself (the map is applied to the small parameters
inside the graph). ``f_j = 1`` penalizes the original coefficients
(scikit-learn); ``f_j = sigma_j`` penalizes the standardized ones (Spark's
and glmnet's ``standardization=True``).

Solvers, each one data pass per evaluation, compiled once per fit:

- ``newton``: value, gradient and Hessian ``X^T diag(s l'') X`` tree-summed in
  one pass; the step solves the Newton system on the client (coordinate
  descent on it for an L1 penalty: proximal Newton). A full step is checked
  by the next pass; only when it fails does a backtracking pass evaluate the
  loss at several step lengths at once.
- ``lbfgs``: ``cf.value_and_grad`` of the data term + :class:`LBFGS`.
- ``sgd``/``adam``: full-batch first-order steps (proximal for L1).

The parameters and everything the solvers do with them stay NumPy on the
client: compiled passes (``runtime.Compiled``) return NumPy also when X's
chunks are on a GPU.
"""
from __future__ import annotations

import math

import numpy as np

import chunkflow as cf

from ..core.autodiff import placeholder_param, value_and_grad
from ..runtime import Compiled
from .cd import enet_quadratic
from .lbfgs import LBFGS

__all__ = ["Family", "FAMILIES", "family", "GLMProblem", "solve", "log_mean"]


class Family:
    """A loss of the linear predictor ``eta`` (n, K): per-element value and its first two derivatives."""

    multinomial = False

    def __init__(self, name, loss, d1, d2, half_deviance=None):
        self.name, self.loss, self.d1, self.d2, self.half_deviance = name, loss, d1, d2, half_deviance


def _tweedie(p):
    a, b = 1.0 - p, 2.0 - p

    def loss(eta, y):
        return -y * cf.exp(a * eta) / a + cf.exp(b * eta) / b

    def dev(eta, y):
        ypos = cf.maximum(y, 0.0)
        return ypos ** b / (a * b) + loss(eta, y)

    return Family(f"tweedie({p})", loss, lambda eta, y: -y * cf.exp(a * eta) + cf.exp(b * eta),
                  lambda eta, y: -a * y * cf.exp(a * eta) + b * cf.exp(b * eta), dev)


def _safe_log(y):
    return cf.log(cf.where(y > 0, y, 1.0))


def family(name, power=None) -> Family:
    """The :class:`Family` called ``name`` ('tweedie' takes ``power``)."""
    if name == "tweedie":
        if power in (0, 0.0):
            return FAMILIES["squared"]
        if power == 1:
            return FAMILIES["poisson"]
        if power == 2:
            return FAMILIES["gamma"]
        return _tweedie(float(power))
    return FAMILIES[name]


class _Multinomial(Family):
    multinomial = True


FAMILIES = {
    "squared": Family("squared", lambda e, y: 0.5 * cf.square(e - y), lambda e, y: e - y,
                      lambda e, y: cf.ones_like(e), lambda e, y: 0.5 * cf.square(e - y)),
    "logistic": Family("logistic", lambda e, y: cf.logaddexp(0.0, e) - y * e,
                       lambda e, y: cf.sigmoid(e) - y, lambda e, y: cf.sigmoid(e) * (1.0 - cf.sigmoid(e))),
    "multinomial": _Multinomial("multinomial", None, None, None),
    "squared_hinge": Family("squared_hinge", lambda e, y: cf.square(cf.maximum(1.0 - y * e, 0.0)),
                            lambda e, y: -2.0 * y * cf.maximum(1.0 - y * e, 0.0),
                            lambda e, y: cf.where(1.0 - y * e > 0, 2.0, 0.0)),
    "poisson": Family("poisson", lambda e, y: cf.exp(e) - y * e, lambda e, y: cf.exp(e) - y,
                      lambda e, y: cf.exp(e),
                      lambda e, y: cf.where(y > 0, y * (_safe_log(y) - e), 0.0) - y + cf.exp(e)),
    "gamma": Family("gamma", lambda e, y: e + y * cf.exp(-e), lambda e, y: 1.0 - y * cf.exp(-e),
                    lambda e, y: y * cf.exp(-e), lambda e, y: e - _safe_log(y) + y * cf.exp(-e) - 1.0),
}


class GLMProblem:
    """The objective of the module docstring for data ``X`` (n, d), targets ``Y`` (n, K), weights ``sw``.

    ``sw`` is (n,), or (n, K) for separable families with a weight per output.

    ``mean``/``scale`` define the standardized coordinates, ``l2``/``l1`` the
    penalty strengths (already divided by N), ``factor`` the per-feature
    penalty factor ``f``, ``l2_b`` the intercept's own L2 strength.
    """

    def __init__(self, fam, X, Y, sw, N, K, mean, scale, fit_intercept=True, l2=0.0, l1=0.0, factor=None,
                 l2_b=0.0):
        self.fam, self.X, self.Y, self.sw, self.N, self.K = fam, X, Y, sw, float(N), K
        self.d = X.shape[1]
        self.fit_intercept = fit_intercept
        self.mean = np.asarray(mean, dtype=np.float64) if fit_intercept and l2_b == 0 else np.zeros(self.d)
        self.scale = np.asarray(scale, dtype=np.float64)
        factor = np.ones(self.d) if factor is None else np.asarray(factor, dtype=np.float64)
        self.pf = factor / self.scale  # the penalty factor in standardized coordinates
        self.l2, self.l1, self.l2_b = float(l2), float(l1), float(l2_b) if fit_intercept else 0.0
        self.p = self.d + int(fit_intercept)  # parameters per output

    # ------------------------------------------------------------- coordinates
    def original(self, B, c):
        """``(W, b)`` on the data's scale from standardized ``(B, c)``."""
        W = B / self.scale[:, None]
        return W, (c - self.mean @ W) if self.fit_intercept else np.zeros(self.K)

    def standardized(self, W, b):
        B = W * self.scale[:, None]
        return B, (b + self.mean @ W) if self.fit_intercept else np.zeros(self.K)

    def eta(self, B, c, X=None):
        """The lazy linear predictor (n, K) for standardized parameter Tensors ``B``, ``c``."""
        X = self.X if X is None else X
        W = B / cf.asarray(self.scale[:, None])
        eta = X @ W
        if self.fit_intercept:
            eta = eta + (c - cf.asarray(self.mean) @ W)
        return eta

    def data_loss(self, eta):
        """The lazy data term ``1/N sum_i s_i loss_i`` for predictor ``eta``."""
        if self.sw is not None and self.sw.ndim == 2:  # a weight per row and output (one-vs-rest)
            return (self.fam.loss(eta, self.Y) * self.sw).sum() / self.N
        if self.fam.multinomial:
            rows = cf.logsumexp(eta, axis=1) - (eta * self.Y).sum(axis=1)
        else:
            rows = self.fam.loss(eta, self.Y).sum(axis=1)
        if self.sw is not None:
            rows = rows * self.sw
        return rows.sum() / self.N

    # ------------------------------------------------------------- penalty (client side)
    def flat(self, B, c):
        """Parameters as one vector: per output k, ``B[:, k]`` then ``c[k]``."""
        parts = [B.T] + ([c[:, None]] if self.fit_intercept else [])
        return np.concatenate(parts, axis=1).ravel()

    def unflat(self, theta):
        m = theta.reshape(self.K, self.p)
        return np.ascontiguousarray(m[:, :self.d].T), (m[:, self.d].copy() if self.fit_intercept else np.zeros(self.K))

    def penalty_vectors(self):
        """``(l2 vector, l1 vector)`` over the flat parameters."""
        l2 = np.concatenate([self.l2 * self.pf ** 2] + ([[self.l2_b]] if self.fit_intercept else []))
        l1 = np.concatenate([self.l1 * self.pf] + ([[0.0]] if self.fit_intercept else []))
        return np.tile(l2, self.K), np.tile(l1, self.K)

    # ------------------------------------------------------------- compiled passes
    def value_grad_program(self):
        """``f(params) -> (value, grads)`` of the data term: ``cf.value_and_grad`` compiled once."""
        vg = value_and_grad(lambda p, X: self.data_loss(self.eta(p["B"], p["c"], X)))
        return lambda B, c: vg({"B": B, "c": c}, self.X)

    def newton_program(self, B0, c0):
        """A compiled pass giving value, gradient and the Hessian pieces in original coordinates."""

        def f(p, X):
            eta = self.eta(p["B"], p["c"], X)
            return self.data_loss(eta), self._hessian_terms(eta, X)

        vg = value_and_grad(f, has_aux=True)
        return lambda B, c: vg({"B": B, "c": c}, self.X)

    def _hessian_terms(self, eta, X):
        s = self.sw
        terms = {}
        if self.fam.multinomial:
            P = cf.exp(eta - cf.logsumexp(eta, axis=1, keepdims=True))
            cols = [P[:, k] for k in range(self.K)]
            pairs = [(a, b) for a in range(self.K) for b in range(a, self.K)]
            weights = {(a, b): (cols[a] * (1.0 - cols[a]) if a == b else -(cols[a] * cols[b])) for a, b in pairs}
        else:
            D2 = self.fam.d2(eta, self.Y)
            weights = {(k, k): D2[:, k] for k in range(self.K)}
        for (a, b), v in weights.items():
            if s is not None:
                v = v * (s[:, a] if s.ndim == 2 else s)
            v = v / self.N
            Xv = X * v[:, None]
            terms[f"{a},{b}"] = (Xv.T @ X, Xv.sum(axis=0), v.sum())
        return terms

    def line_program(self, B0, c0, steps):
        """A compiled pass giving the data term at ``theta + t * delta`` for each ``t`` in ``steps``."""
        ps = [placeholder_param(v) for v in (B0, c0, B0, c0)]
        eta0 = self.eta(ps[0], ps[1])
        W_d = ps[2] / cf.asarray(self.scale[:, None])
        eta_d = self.X @ W_d
        if self.fit_intercept:
            eta_d = eta_d + (ps[3] - cf.asarray(self.mean) @ W_d)
        prog = Compiled([self.data_loss(eta0 + t * eta_d) for t in steps], ps)
        return lambda B, c, dB, dc: np.array([float(v) for v in prog(B, c, dB, dc)])

    def hessian(self, aux):
        """The data term's Hessian over the flat standardized parameters, from the pass's pieces."""
        K, d, p = self.K, self.d, self.p
        J = np.zeros((p, p))  # d(original)/d(standardized) for one output
        J[np.arange(d), np.arange(d)] = 1.0 / self.scale
        if self.fit_intercept:
            J[d, :d] = -self.mean / self.scale
            J[d, d] = 1.0
        H = np.zeros((K * p, K * p))
        for key, (xx, xb, bb) in aux.items():
            a, b = map(int, key.split(","))
            block = np.empty((p, p))
            block[:d, :d] = xx
            if self.fit_intercept:
                block[:d, d] = block[d, :d] = xb
                block[d, d] = bb
            block = J.T @ block @ J
            H[a * p:(a + 1) * p, b * p:(b + 1) * p] = block
            H[b * p:(b + 1) * p, a * p:(a + 1) * p] = block.T
        return H


def _objective_parts(problem, theta, value):
    l2v, l1v = problem.penalty_vectors()
    return value + 0.5 * float(np.sum(l2v * theta * theta)) + float(np.sum(l1v * np.abs(theta))), l2v, l1v


def _optimality(g, theta, l1v) -> float:
    """The largest entry of the minimum-norm subgradient (the gradient when there is no L1 term)."""
    sub = np.where(theta != 0, g + l1v * np.sign(theta), np.maximum(np.abs(g) - l1v, 0.0))
    return float(np.max(np.abs(sub), initial=0.0))


def solve(problem: GLMProblem, solver="newton", B0=None, c0=None, max_iter=100, tol=1e-4, learning_rate=0.1,
          verbose=0):
    """``(W, b, n_iter, converged)`` minimizing ``problem`` with ``solver``; ``W`` (d, K), ``b`` (K,)."""
    K, d = problem.K, problem.d
    B = np.zeros((d, K)) if B0 is None else np.array(B0, dtype=np.float64)
    c = np.zeros(K) if c0 is None else np.array(c0, dtype=np.float64)
    if solver == "newton":
        B, c, n_iter, ok = _newton(problem, B, c, max_iter, tol, verbose)
    elif solver == "lbfgs":
        B, c, n_iter, ok = _lbfgs(problem, B, c, max_iter, tol)
    elif solver in ("sgd", "adam"):
        B, c, n_iter, ok = _first_order(problem, B, c, solver, max_iter, tol, learning_rate)
    else:
        raise ValueError(f"solver must be one of 'newton', 'lbfgs', 'sgd', 'adam', got {solver!r}")
    W, b = problem.original(B, c)
    return W, b, n_iter, ok


def _newton(problem, B, c, max_iter, tol, verbose):
    step_fn = problem.newton_program(B, c)
    line = None
    steps = [0.5 ** i for i in range(1, 11)]
    theta = problem.flat(B, c)
    (value, aux), g = step_fn(B, c)
    F, l2v, l1v = _objective_parts(problem, theta, value)
    gflat = problem.flat(g["B"], g["c"]) + l2v * theta
    n_iter, converged = 0, False
    while True:
        if _optimality(gflat, theta, l1v) <= tol:
            converged = True
            break
        if n_iter >= max_iter:
            break
        A = problem.hessian(aux) + np.diag(l2v)
        if np.any(l1v > 0):
            q = A @ theta - gflat
            z, _, _ = enet_quadratic(A, q, l1=l1v, w=theta, max_iter=1000, tol=1e-10)
            delta = z - theta
        else:
            delta = _newton_step(A, gflat)
        decrease = float(gflat @ delta + np.sum(l1v * (np.abs(theta + delta) - np.abs(theta))))
        if decrease >= 0:  # no descent left at machine precision
            converged = _optimality(gflat, theta, l1v) <= max(tol, 1e-8)
            break
        t = 1.0
        new = theta + delta
        (value_new, aux_new), g_new = step_fn(*problem.unflat(new))
        F_new, _, _ = _objective_parts(problem, new, value_new)
        if not (F_new <= F + 1e-4 * decrease) and not abs(F_new - F) <= 1e-13 * abs(F):
            if line is None:
                line = problem.line_program(B, c, steps)
            dB, dc = problem.unflat(delta)
            values = line(*problem.unflat(theta), dB, dc)
            accepted = None
            for t, v in zip(steps, values):
                Ft = _objective_parts(problem, theta + t * delta, v)[0]
                if Ft <= F + 1e-4 * t * decrease:
                    accepted = t
                    break
            if accepted is None:
                break  # no progress possible along the Newton direction
            t = accepted
            new = theta + t * delta
            (value_new, aux_new), g_new = step_fn(*problem.unflat(new))
            F_new, _, _ = _objective_parts(problem, new, value_new)
        n_iter += 1
        if verbose:
            print(f"newton iteration {n_iter}: objective {F_new:.10g} step {t:g}")
        small = abs(F - F_new) <= 1e-15 * max(abs(F), 1e-300)
        theta, value, aux, F = new, value_new, aux_new, F_new
        gflat = problem.flat(g_new["B"], g_new["c"]) + l2v * theta
        if small and np.max(np.abs(t * delta)) <= 1e-12 * max(1.0, np.max(np.abs(theta))):
            converged = True
            break
    B, c = problem.unflat(theta)
    return B, c, n_iter, converged


def _newton_step(A, g):
    """``-A^{-1} g`` by Cholesky; a least-squares (minimum-norm) solve when ``A`` is singular."""
    import scipy.linalg

    try:
        factor = scipy.linalg.cho_factor(A, check_finite=False)
        step = -scipy.linalg.cho_solve(factor, g, check_finite=False)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    return -scipy.linalg.lstsq(A, g, cond=1e-12, check_finite=False)[0]


def _lbfgs(problem, B, c, max_iter, tol):
    if problem.l1 > 0:
        raise ValueError("solver='lbfgs' supports penalty None or 'l2'; use solver='newton' for "
                         "'l1'/'elasticnet'")
    fun = problem.value_grad_program()
    shape = (problem.K, problem.p)

    def fg(theta):
        Bt, ct = problem.unflat(theta)
        value, g = fun(Bt, ct)
        F, l2v, _ = _objective_parts(problem, theta, float(value))
        return F, problem.flat(g["B"], g["c"]) + l2v * theta

    res = LBFGS(max_iter=max_iter, tol=tol, ftol=64 * np.finfo(float).eps, max_ls=50).minimize(
        fg, problem.flat(B, c))
    theta = np.asarray(res.params).reshape(shape).ravel()
    B, c = problem.unflat(theta)
    return B, c, res.n_steps, res.converged


def _first_order(problem, B, c, solver, max_iter, tol, learning_rate):
    from .optim import SGD, Adam

    opt = SGD(lr=learning_rate, momentum=0.9) if solver == "sgd" else Adam(lr=learning_rate)
    fun = problem.value_grad_program()
    theta = problem.flat(B, c)
    _, l2v, l1v = _objective_parts(problem, theta, 0.0)
    state = opt.init(theta)
    converged, n_iter = False, 0
    for n_iter in range(1, max_iter + 1):
        value, g = fun(*problem.unflat(theta))
        gflat = problem.flat(g["B"], g["c"]) + l2v * theta
        if _optimality(gflat, theta, l1v) <= tol:
            converged = True
            break
        theta, state = opt.update(gflat, state, theta)
        if np.any(l1v > 0):  # proximal step: soft-thresholding by lr * l1
            lr = float(opt.lr(n_iter - 1))
            theta = np.sign(theta) * np.maximum(np.abs(theta) - lr * l1v, 0.0)
        if not np.all(np.isfinite(theta)):
            raise FloatingPointError(f"solver={solver!r} diverged at iteration {n_iter}; lower learning_rate "
                                     f"(it is {learning_rate})")
    B, c = problem.unflat(theta)
    return B, c, n_iter, converged


def log_mean(sy, S) -> float:
    """``log`` of the weighted mean target (the starting intercept of log-link models), 0 if undefined."""
    m = sy / S
    return math.log(m) if m > 0 and math.isfinite(m) else 0.0
