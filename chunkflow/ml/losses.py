"""Losses and penalties written with chunkflow ops, so they are lazy and differentiable.

Every loss is ``loss(pred_or_logits, y)`` and returns a scalar Tensor: the
mean over rows (axis 0) of the per-row loss, where a row with several
outputs sums over them. Written this way, value and gradient of each row
chunk run in one task and partial sums are tree-reduced. ``y`` may be a
Tensor or a NumPy array with ``pred``'s shape (``softmax_cross_entropy``
also takes integer labels of shape ``(n,)``).

Penalties take the parameters (a Tensor or a dict/list/tuple of them, as
``cf.value_and_grad`` passes them) and follow scikit-learn's conventions:
``l2 = alpha * 0.5 * ||w||^2`` and
``elastic_net = alpha * (l1_ratio * ||w||_1 + 0.5 * (1 - l1_ratio) * ||w||^2)``.
"""
from __future__ import annotations

import chunkflow as cf

from ..core.autodiff import tree_flatten
from ..core.tensor import Tensor
from . import _validate as check

__all__ = [
    "squared_error", "logistic", "softmax_cross_entropy", "hinge", "squared_hinge", "huber", "poisson",
    "l1", "l2", "elastic_net",
]


def _pair(pred, y, name):
    """``pred`` and ``y`` as Tensors of one shape (a silent (n,) vs (n, 1) broadcast is an error)."""
    pred, y = _tensor(pred), _tensor(y)
    if pred.shape != y.shape:
        raise ValueError(f"{name}: predictions of shape {pred.shape} and targets of shape {y.shape} "
                         f"must have the same shape; reshape one of them")
    if pred.ndim == 0:
        raise ValueError(f"{name}: predictions must have a row axis, got a scalar")
    return pred, y


def _tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else cf.asarray(x)


def _row_mean(per_element: Tensor) -> Tensor:
    """The mean over rows of the per-row sum of ``per_element``."""
    if per_element.ndim > 1:
        per_element = per_element.sum(axis=tuple(range(1, per_element.ndim)))
    return per_element.mean()


def _signs(y: Tensor) -> Tensor:
    """Labels as -1/+1 floats: 0 and -1 map to -1, 1 stays 1."""
    return cf.where(y <= 0, -1.0, 1.0)


def squared_error(pred, y) -> Tensor:
    """Mean over rows of ``(pred - y) ** 2``."""
    pred, y = _pair(pred, y, "squared_error")
    return _row_mean(cf.square(pred - y))


def logistic(logits, y) -> Tensor:
    """Mean binary cross-entropy of labels ``y`` in {0, 1} given logits: ``log(1 + e^z) - y*z``."""
    z, y = _pair(logits, y, "logistic")
    return _row_mean(cf.logaddexp(0.0, z) - y * z)


def softmax_cross_entropy(logits, y) -> Tensor:
    """Mean cross-entropy of softmax(logits) against integer labels (n,) or one-hot/probabilities (n, k)."""
    z, y = _tensor(logits), _tensor(y)
    if z.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: logits must have shape (n, k), got {z.shape}")
    n, k = z.shape
    if y.shape == (n,):
        y = cf.astype(cf.equal(y.reshape((n, 1)), cf.arange(k)), z.dtype)
    elif y.shape != (n, k):
        raise ValueError(f"softmax_cross_entropy: labels must have shape ({n},) (class indices) or "
                         f"({n}, {k}) (one-hot or probabilities), got {y.shape}")
    # -sum_j y_j log softmax(z)_j = logsumexp(z) * sum_j y_j - sum_j y_j z_j
    return (cf.logsumexp(z, axis=1) * y.sum(axis=1) - (z * y).sum(axis=1)).mean()


def hinge(scores, y) -> Tensor:
    """Mean of ``max(0, 1 - s * score)`` with ``s`` the label as -1/+1 (labels in {-1, 1} or {0, 1})."""
    z, y = _pair(scores, y, "hinge")
    return _row_mean(cf.maximum(1.0 - _signs(y) * z, 0.0))


def squared_hinge(scores, y) -> Tensor:
    """Mean of ``max(0, 1 - s * score) ** 2`` (labels in {-1, 1} or {0, 1})."""
    z, y = _pair(scores, y, "squared_hinge")
    return _row_mean(cf.square(cf.maximum(1.0 - _signs(y) * z, 0.0)))


def huber(pred, y, delta=1.0) -> Tensor:
    """Mean Huber loss: ``r**2 / 2`` for ``|r| <= delta``, else ``delta * (|r| - delta/2)``, ``r = pred - y``."""
    delta = check.number("delta", delta, low=0, low_open=True)
    pred, y = _pair(pred, y, "huber")
    r = cf.abs(pred - y)
    return _row_mean(cf.where(r <= delta, 0.5 * cf.square(r), delta * (r - 0.5 * delta)))


def poisson(log_rate, y) -> Tensor:
    """Mean Poisson negative log-likelihood up to a constant, with log link: ``exp(z) - y * z``."""
    z, y = _pair(log_rate, y, "poisson")
    return _row_mean(cf.exp(z) - y * z)


def _sum_over_leaves(fn, params) -> Tensor:
    """``sum(fn(w).sum())`` over the leaves ``w`` of a parameter tree."""
    leaves = [_tensor(w) for w in tree_flatten(params)[0]]
    if not leaves:
        raise ValueError("the penalty got no parameters")
    total = fn(leaves[0]).sum()
    for w in leaves[1:]:
        total = total + fn(w).sum()
    return total


def l1(params, alpha=1.0) -> Tensor:
    """``alpha * sum(|w|)`` over all leaves of ``params``."""
    alpha = check.number("alpha", alpha, low=0)
    return alpha * _sum_over_leaves(cf.abs, params)


def l2(params, alpha=1.0) -> Tensor:
    """``alpha * 0.5 * sum(w**2)`` over all leaves of ``params``."""
    alpha = check.number("alpha", alpha, low=0)
    return 0.5 * alpha * _sum_over_leaves(cf.square, params)


def elastic_net(params, alpha=1.0, l1_ratio=0.5) -> Tensor:
    """``alpha * (l1_ratio * ||w||_1 + 0.5 * (1 - l1_ratio) * ||w||^2)`` (scikit-learn's convention)."""
    alpha = check.number("alpha", alpha, low=0)
    l1_ratio = check.number("l1_ratio", l1_ratio, low=0, high=1)
    return l1(params, alpha * l1_ratio) + l2(params, alpha * (1 - l1_ratio))
