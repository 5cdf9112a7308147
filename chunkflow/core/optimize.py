"""Graph rewrites applied before lowering; the measure is passes over the data.

Common subexpressions need no pass here: nodes are interned, so equal
expressions are already one node. What this module adds is algebra the
optimizer can prove:

**Linear reductions through affine maps.** For ``sum`` and ``mean`` over axes
``R`` of a floating-point expression, an operand ``c`` that is constant along
``R`` (a scalar, or broadcast along every axis of ``R``) moves outside::

    sum(a + c) = sum(a) + n*c        mean(a + c) = mean(a) + c
    sum(a * c) = sum(a) * c          sum(a / c)  = sum(a) / c
    sum(-a)    = -sum(a)

where ``n`` is the number of elements reduced. Applied repeatedly, the
standardize-and-sum ``((X - X.mean(0)) / X.std(0)).sum(0)`` becomes
``(X.sum(0) - n*X.mean(0)) / X.std(0)``, whose three reductions fuse into one
pass over ``X`` instead of two. The rewrite changes rounding only: both forms
are exact in real arithmetic, and the absolute error of the rewritten form is
that of ``sum(a)``.
"""
from __future__ import annotations

import math

from . import reductions
from .elementwise import elementwise
from .graph import toposort
from .tensor import Tensor, make_node

__all__ = ["optimize"]

_LINEAR_KINDS = ("sum", "mean")


def optimize(outputs) -> list[Tensor]:
    """``outputs`` rewritten (same values, fewer passes); see the module docstring."""
    new: dict[str, Tensor] = {}
    for orig in toposort(outputs):
        node = orig
        inputs = tuple(new[i.key] for i in node.inputs)
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            node = make_node(node.op, inputs, node.params, node.shape, node.dtype, node.chunks, device=node.device)
        if node.op == "reduce":
            pushed = _push_linear(node)
            node = node if pushed is None else pushed
        new[orig.key] = node
    return [new[t.key] for t in outputs]


def _push_linear(red: Tensor) -> Tensor | None:
    kind, axes, keepdims, _ddof = red.params
    u = red.inputs[0]
    if (
        kind not in _LINEAR_KINDS or u.op != "elementwise" or u.dtype.kind != "f"
        or red.dtype != u.dtype or any(math.isnan(u.shape[a]) for a in axes) or not axes
    ):
        return None
    fname, slots = u.params
    args = [u.inputs[s] if isinstance(s, int) else s[1] for s in slots]
    n = math.prod(u.shape[a] for a in axes)

    def reduce(t):
        if not isinstance(t, Tensor) or t.shape != u.shape:
            return None
        r = reductions._reduce(kind, t, axes, keepdims)
        pushed = _push_linear(r)
        return r if pushed is None else pushed

    def const(c):
        """``c``'s value after the reduction, or None if ``c`` varies along the axes."""
        if not isinstance(c, Tensor):
            return c if c is not None else None
        off = u.ndim - c.ndim
        if any(a - off >= 0 and c.shape[a - off] != 1 for a in axes):
            return None
        full = (1,) * off + c.shape
        kept = tuple(s for i, s in enumerate(full) if keepdims or i not in axes)
        return c if c.shape == kept else c.reshape(kept)

    out = None
    if fname in ("add", "subtract") and len(args) == 2:
        a, b = args
        cb, ca = const(b), const(a)
        if cb is not None and (ra := reduce(a)) is not None:
            out = elementwise(fname, ra, _scaled(cb, n, kind))
        elif ca is not None and (rb := reduce(b)) is not None:
            out = elementwise(fname, _scaled(ca, n, kind), rb)
    elif fname in ("multiply", "divide") and len(args) == 2:
        a, b = args
        cb, ca = const(b), const(a)
        if cb is not None and (ra := reduce(a)) is not None:
            out = elementwise(fname, ra, cb)
        elif fname == "multiply" and ca is not None and (rb := reduce(b)) is not None:
            out = elementwise(fname, ca, rb)
    elif fname in ("negative", "positive") and len(args) == 1:
        ra = reduce(args[0])
        out = elementwise(fname, ra) if ra is not None else None
    if out is None or out.shape != red.shape or out.dtype != red.dtype:
        return None
    return out


def _scaled(c, n, kind):
    """``c`` summed ``n`` times (sum) or as it is (mean)."""
    return c if kind == "mean" else elementwise("multiply", c, n) if isinstance(c, Tensor) else c * n
