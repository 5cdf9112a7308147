"""Coordinate descent for the elastic net on a small quadratic: the client-side half of Lasso and proximal Newton.

Lasso and ElasticNet reduce the data to its Gram matrix in one pass (``d x d``
is small), and proximal Newton reduces it to a Hessian each iteration; both
then minimize, on the client,

    1/2 w^T Q w - q^T w + sum_j l1_j |w_j| + 1/2 sum_j l2_j w_j^2

by cyclic coordinate descent (the method of glmnet and scikit-learn's
``enet_coordinate_descent_gram``), which is exact for this problem.

>>> import numpy as np
>>> w, n_iter, gap = enet_quadratic(np.eye(2), np.array([3.0, 0.5]), l1=1.0)
>>> w
array([2., 0.])
"""
from __future__ import annotations

import numpy as np

__all__ = ["enet_quadratic", "enet_gap"]


def enet_quadratic(Q, q, l1=0.0, l2=0.0, w=None, max_iter=1000, tol=1e-4, positive=False, yy=None):
    """``(w, n_iter, gap)`` minimizing the elastic-net quadratic of the module docstring.

    ``l1``/``l2`` are scalars or per-coordinate arrays. An epoch whose largest
    coordinate change is <= ``tol`` times the largest coefficient ends the
    loop; when ``yy`` (the ``y^T y`` matching ``Q = X^T X``, ``q = X^T y``) is
    given the duality gap must also be <= ``tol * yy``, as in scikit-learn.
    ``gap`` is None without ``yy``.
    """
    Q = np.asarray(Q, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    d = q.shape[0]
    l1v = np.broadcast_to(np.asarray(l1, dtype=np.float64), (d,))
    l2v = np.broadcast_to(np.asarray(l2, dtype=np.float64), (d,))
    w = np.zeros(d) if w is None else np.array(w, dtype=np.float64)
    H = Q @ w
    diag = np.diag(Q) + l2v
    rows = [Q[j] for j in range(d)]  # Q is symmetric: rows are columns, contiguous
    qd, l1d, dd, Qjj = q.tolist(), l1v.tolist(), diag.tolist(), np.diag(Q).tolist()
    gap, n_iter = None, 0
    for n_iter in range(1, max_iter + 1):
        w_max = d_max = 0.0
        for j in range(d):
            if dd[j] <= 0.0:
                continue
            old = w[j]
            z = qd[j] - H[j] + Qjj[j] * old
            new = (z - l1d[j] if z > l1d[j] else z + l1d[j] if z < -l1d[j] else 0.0) / dd[j]
            if positive and new < 0.0:
                new = 0.0
            if new != old:
                H += rows[j] * (new - old)
                w[j] = new
            d_max = max(d_max, abs(new - old))
            w_max = max(w_max, abs(new))
        if w_max == 0.0 or d_max <= tol * w_max or n_iter == max_iter:
            if yy is None:
                if d_max <= tol * max(w_max, 1e-300):
                    break
                continue
            gap = enet_gap(Q, q, float(yy), w, float(l1v[0]), l2v, H=H, positive=positive)
            if gap <= tol * yy:
                break
    if yy is not None and gap is None:
        gap = enet_gap(Q, q, float(yy), w, float(l1v[0]), l2v, H=H, positive=positive)
    return w, n_iter, gap


def enet_gap(Q, q, yy, w, l1, l2, H=None, positive=False) -> float:
    """The duality gap of the elastic net at ``w`` (scalar ``l1``), as scikit-learn computes it from the Gram."""
    H = Q @ w if H is None else H
    l2v = np.broadcast_to(np.asarray(l2, dtype=np.float64), w.shape)
    XtA = q - H - l2v * w
    dual_norm = float(np.max(XtA)) if positive else float(np.max(np.abs(XtA)))
    R2 = yy - 2.0 * (q @ w) + w @ H
    const = l1 / dual_norm if dual_norm > l1 else 1.0
    gap = 0.5 * R2 * (1.0 + const * const) if dual_norm > l1 else R2
    gap += l1 * np.abs(w).sum() - const * (yy - q @ w) + 0.5 * float(np.sum(l2v * w * w)) * (1 + const * const)
    return float(gap)
