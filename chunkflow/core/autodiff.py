"""Reverse-mode autodiff on the Tensor graph: ``vjp``, ``grad``, ``value_and_grad``.

Every differentiable primitive has a VJP rule written with chunkflow ops, so
a gradient is itself a lazy chunked graph: it is optimized, fused and run
like any other. The rules of the fused primitives are fused primitives
again: the VJP of the row-local product ``X @ w`` is the row contraction
``X.T @ g`` and vice versa, and the VJP of a reduction broadcasts its
cotangent inside the same elementwise region. So for a loss that is a sum
over row chunks, value and gradient of a chunk run in one task that reads it
once, and partial gradients are tree-summed (data-parallel gradient descent).

Rules live in one table per op kind below: ``_ELEMENTWISE`` (by function
name), ``_REDUCE`` (by reduction kind) and ``_DASK`` (by the dask function of
movement ops). ``sum_to_shape`` undoes broadcasting for every rule.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from . import reductions as red
from .elementwise import elementwise as ew
from .graph import as_tensor, toposort
from .tensor import Tensor

__all__ = ["vjp", "grad", "value_and_grad", "sum_to_shape", "tree_flatten"]


# ---------------------------------------------------------------- helpers
def sum_to_shape(g: Tensor, shape: tuple) -> Tensor:
    """``g`` summed over the axes along which an input of ``shape`` was broadcast."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = red.sum(g, axis=axes, keepdims=True)
    return g.reshape(shape) if not _same_shape(g.shape, shape) else g


def _same_shape(a, b) -> bool:
    """Shapes equal, an unknown (NaN) length equal to an unknown one."""
    return len(a) == len(b) and all(x == y or (x != x and y != y) for x, y in zip(a, b))


def _expand(g: Tensor, x: Tensor, axes, keepdims) -> Tensor:
    """A reduction's cotangent ``g`` broadcast back to its input ``x`` (lazily, in-region)."""
    if not keepdims and axes:
        shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
        g = g.reshape(shape)
    return ew("broadcast_like", g, x)


# ---------------------------------------------------------------- elementwise rules
# Each rule maps (g, out, *args) to one cotangent per argument (None: no gradient).
def _where_rule(g, out, c, x, y):
    zero = 0.0
    return None, ew("where", c, g, zero), ew("where", c, zero, g)


def _clip_rule(g, out, x, lo, hi):
    inside = ew("equal", out, x)
    return (ew("where", inside, g, 0.0), None, None)


_ELEMENTWISE = {
    "add": lambda g, out, x, y: (g, g),
    "subtract": lambda g, out, x, y: (g, ew("negative", g)),
    "multiply": lambda g, out, x, y: (ew("multiply", g, y), ew("multiply", g, x)),
    "divide": lambda g, out, x, y: (ew("divide", g, y), ew("negative", ew("divide", ew("multiply", g, out), y))),
    "true_divide": lambda g, out, x, y: _ELEMENTWISE["divide"](g, out, x, y),
    "negative": lambda g, out, x: (ew("negative", g),),
    "positive": lambda g, out, x: (g,),
    "power": lambda g, out, x, y: (
        ew("multiply", g, ew("multiply", y, ew("power", x, ew("subtract", y, 1)))),
        ew("multiply", g, ew("multiply", out, ew("log", ew("where", ew("greater", x, 0), x, 1.0))))
        if isinstance(y, Tensor) else None,
    ),
    "square": lambda g, out, x: (ew("multiply", g, ew("multiply", x, 2.0)),),
    "sqrt": lambda g, out, x: (ew("divide", g, ew("multiply", out, 2.0)),),
    "exp": lambda g, out, x: (ew("multiply", g, out),),
    "expm1": lambda g, out, x: (ew("multiply", g, ew("add", out, 1.0)),),
    "log": lambda g, out, x: (ew("divide", g, x),),
    "log1p": lambda g, out, x: (ew("divide", g, ew("add", x, 1.0)),),
    "log2": lambda g, out, x: (ew("divide", g, ew("multiply", x, math.log(2.0))),),
    "log10": lambda g, out, x: (ew("divide", g, ew("multiply", x, math.log(10.0))),),
    "sin": lambda g, out, x: (ew("multiply", g, ew("cos", x)),),
    "cos": lambda g, out, x: (ew("negative", ew("multiply", g, ew("sin", x))),),
    "tan": lambda g, out, x: (ew("multiply", g, ew("add", ew("square", out), 1.0)),),
    "tanh": lambda g, out, x: (ew("multiply", g, ew("subtract", 1.0, ew("square", out))),),
    "sigmoid": lambda g, out, x: (ew("multiply", g, ew("multiply", out, ew("subtract", 1.0, out))),),
    "abs": lambda g, out, x: (ew("multiply", g, ew("sign", x)),),
    "absolute": lambda g, out, x: (ew("multiply", g, ew("sign", x)),),
    "maximum": lambda g, out, x, y: (
        ew("where", ew("greater_equal", x, y), g, 0.0), ew("where", ew("less", x, y), g, 0.0),
    ),
    "minimum": lambda g, out, x, y: (
        ew("where", ew("less_equal", x, y), g, 0.0), ew("where", ew("greater", x, y), g, 0.0),
    ),
    "logaddexp": lambda g, out, x, y: (
        ew("multiply", g, ew("exp", ew("subtract", x, out))), ew("multiply", g, ew("exp", ew("subtract", y, out))),
    ),
    "where": _where_rule,
    "clip": _clip_rule,
    "astype": lambda g, out, x, dtype: (ew("astype", g, x.dtype) if x.dtype.kind in "fc" else None, None),
    "matmul": lambda g, out, a, b: (
        _matmul(g, _t(b)) if b.ndim == 2 else ew("multiply", g.reshape(g.shape + (1,)), b),
        _contract(a, g),
    ),
    "broadcast_like": lambda g, out, x, like: (g, None),
}
# Piecewise-constant functions pass no gradient.
_CONSTANT = {
    "sign", "floor", "ceil", "trunc", "rint", "round", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "isnan", "isfinite", "isinf", "logical_and", "logical_or",
    "logical_xor", "logical_not", "signbit", "floor_divide", "remainder", "mod",
}


def _t(b):
    from .manipulation import transpose

    return transpose(b)


def _matmul(a, b):
    from .linalg import matmul

    return matmul(a, b)


def _contract(a, g):
    from .linalg import matmul

    return matmul(_t(a), g)


# ---------------------------------------------------------------- reduction rules
def _sum_rule(g, out, x, axes, keepdims, ddof):
    return _expand(g, x, axes, keepdims)


def _mean_rule(g, out, x, axes, keepdims, ddof):
    n = math.prod(x.shape[a] for a in axes)
    return ew("divide", _expand(g, x, axes, keepdims), n)


def _var_rule(g, out, x, axes, keepdims, ddof):
    n = math.prod(x.shape[a] for a in axes)
    centered = ew("subtract", x, red.mean(x, axis=axes, keepdims=True))
    scale = ew("divide", ew("multiply", _expand(g, x, axes, keepdims), 2.0), max(n - ddof, 0))
    return ew("multiply", scale, centered)


def _extreme_rule(g, out, x, axes, keepdims, ddof):
    # Subgradient split equally among ties (as JAX does).
    kept = out if keepdims else out.reshape(tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    hit = ew("astype", ew("equal", x, kept), x.dtype)
    count = red.sum(hit, axis=axes, keepdims=True)
    return ew("multiply", _expand(g, x, axes, keepdims), ew("divide", hit, count))


def _logsumexp_rule(g, out, x, axes, keepdims, ddof):
    kept = out if keepdims else out.reshape(tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    return ew("multiply", _expand(g, x, axes, keepdims), ew("exp", ew("subtract", x, kept)))


def _prod_rule(g, out, x, axes, keepdims, ddof):
    kept = out if keepdims else out.reshape(tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    return ew("multiply", _expand(g, x, axes, keepdims), ew("divide", kept, x))


_REDUCE = {
    "sum": _sum_rule, "mean": _mean_rule, "var": _var_rule, "min": _extreme_rule,
    "max": _extreme_rule, "logsumexp": _logsumexp_rule, "prod": _prod_rule,
}


def _contract_rule(g, out, x, b):
    """``out = x.T @ b`` over rows: ``dx = b @ g.T``, ``db = x @ g``."""
    if b.ndim == 1:
        gx = ew("multiply", b.reshape(b.shape + (1,)), g.reshape((1,) + g.shape))
    else:
        gx = _matmul(b, _t(g))
    return gx, _matmul(x, g)


# ---------------------------------------------------------------- movement rules
def _dask_rules():
    from . import linalg as la
    from . import manipulation as mv

    def transpose(g, out, x, axes):
        return (mv.transpose(g, tuple(np.argsort(axes))),)

    def reshape(g, out, x, shape):
        return (mv.reshape(g, x.shape),)

    def rechunk(g, out, x, grid):
        return (mv.rechunk(g, x.chunks),)

    def broadcast(g, out, x, shape, chunks):
        return (sum_to_shape(g, x.shape),)

    def concatenate(g, out, *xs, axis):
        pieces, start = [], 0
        for x in xs:
            index = (slice(None),) * axis + (slice(start, start + x.shape[axis]),)
            pieces.append(mv.getitem(g, index))
            start += x.shape[axis]
        return tuple(pieces)

    def getitem(g, out, x, *tensors, index):
        if tensors or any(isinstance(i, np.ndarray) for i in index):
            return (mv.scatter_add(g, x.shape, x.chunks, index, tensors),) + (None,) * len(tensors)
        new_axes, out_axis = [], 0
        for i, item in enumerate(index):
            if item is None:
                new_axes.append(out_axis)
            elif item is Ellipsis:
                out_axis += x.ndim - sum(1 for j in index if j is not None and j is not Ellipsis)
                continue
            elif isinstance(item, int):
                continue
            out_axis += 1
        if new_axes:  # drop the length-1 axes that None added
            g = mv.reshape(g, tuple(s for a, s in enumerate(g.shape) if a not in new_axes))
            index = tuple(i for i in index if i is not None)
        return (mv.scatter_slice(g, x.shape, x.chunks, index),) + (None,) * len(tensors)

    def diagonal(g, out, x, offset, axis1, axis2):
        from .creation import eye, zeros

        if x.ndim != 2:
            raise NotImplementedError("gradients of diagonal() are implemented for 2-D Tensors; "
                                      "take the diagonal of a 2-D slice")
        if (axis1, axis2) == (1, 0):
            return (mv.transpose(diagonal(g, out, mv.transpose(x), offset, 0, 1)[0]),)
        rows, cols = x.shape
        along_rows = offset >= 0
        length = rows if along_rows else cols
        pad = length - g.shape[0]
        full = mv.concatenate([g, zeros((pad,), dtype=g.dtype)]) if pad else g
        full = full[:, None] if along_rows else full[None, :]
        mask = eye(rows, cols, k=offset, dtype=g.dtype)
        return (mv.rechunk(ew("multiply", mask, full), x.chunks),)

    def scan(g, out, x, kind, axis, dtype):
        if kind != "cumsum":
            raise NotImplementedError(f"no gradient rule for {kind}; write it as exp(cumsum(log(x))) for positive x")
        flip = (slice(None),) * axis + (slice(None, None, -1),)  # d/dx_i of sum_j g_j out_j is sum_{j>=i} g_j
        return (mv.getitem(red.cumsum(mv.getitem(g, flip), axis=axis), flip),)

    def matmul(g, out, a, b):
        ga = la.matmul(g, mv.matrix_transpose(b)) if b.ndim > 1 else ew("multiply", g[..., None], b)
        gb = la.matmul(mv.matrix_transpose(a), g) if a.ndim > 1 else ew("multiply", a[:, None], g)
        return sum_to_shape(ga, a.shape), sum_to_shape(gb, b.shape)

    return {
        mv._dtranspose: transpose, mv._dreshape: reshape, mv._drechunk: rechunk,
        mv._dbroadcast: broadcast, mv._dconcatenate: concatenate, mv._dgetitem: getitem,
        la._dmatmul: matmul, la._ddiagonal: diagonal, red._dscan: scan,
    }


_DASK: dict = {}


def _rule_outputs(node: Tensor, g: Tensor):
    """Cotangents of ``node``'s inputs given the cotangent ``g`` of its output."""
    if node.op == "elementwise":
        fname, slots = node.params
        if fname in _CONSTANT:
            return [None] * len(node.inputs)
        rule = _ELEMENTWISE.get(fname)
        if rule is None:
            raise NotImplementedError(f"no gradient rule for elementwise {fname!r}")
        args = [node.inputs[s] if isinstance(s, int) else s[1] for s in slots]
        per_arg = rule(g, node, *args)
        out = [None] * len(node.inputs)
        for s, ct in zip(slots, per_arg):
            if isinstance(s, int) and ct is not None:
                ct = sum_to_shape(ct, node.inputs[s].shape)
                out[s] = ct if out[s] is None else ew("add", out[s], ct)
        return out
    if node.op == "reduce":
        kind, axes, keepdims, ddof = node.params
        if kind == "contract":
            return list(_contract_rule(g, node, *node.inputs))
        rule = _REDUCE.get(kind)
        if rule is None:
            return [None]
        return [rule(g, node, node.inputs[0], axes, keepdims, ddof)]
    if node.op == "dask":
        if not _DASK:
            _DASK.update(_dask_rules())
        fn, args, kwargs = node.params
        rule = _DASK.get(fn)
        if rule is None:
            raise NotImplementedError(f"no gradient rule for {getattr(fn, '__name__', fn)}")
        return list(rule(g, node, *node.inputs, *args, **dict(kwargs)))
    return []


# ---------------------------------------------------------------- public API
def vjp(f, *primals):
    """``(out, vjp_fn)``: the lazy output of ``f(*primals)`` and its pullback.

    ``vjp_fn(cotangent)`` returns lazy gradient Tensors, one per primal, with
    each primal's structure (NumPy arrays and nested dict/list/tuple of them).
    """
    flat, rebuild = [], []
    tensors = []
    for p in primals:
        leaves, unflatten = tree_flatten(p)
        ts = [_parameter(v) for v in leaves]
        flat.append(ts)
        rebuild.append(unflatten)
        tensors.append(unflatten(ts))
    out = f(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"the function must return a chunkflow Tensor, got {type(out).__name__}")

    def vjp_fn(cotangent):
        grads = backprop(out, cotangent, [t for ts in flat for t in ts])
        it = iter(grads)
        return tuple(unflatten([next(it) for _ in ts]) for ts, unflatten in zip(flat, rebuild))

    return out, vjp_fn


def backprop(out: Tensor, cotangent, wrt: list) -> list:
    """Lazy gradients of ``out`` (weighted by ``cotangent``) with respect to ``wrt``."""
    g0 = as_tensor(cotangent).astype(out.dtype) if not isinstance(cotangent, Tensor) else cotangent
    if g0.shape != out.shape:
        raise ValueError(f"cotangent of shape {g0.shape} does not match the output's shape {out.shape}")
    wanted = {t.key for t in wrt}
    order = toposort([out])
    needed = _on_path(order, wanted)
    cts: dict[str, Tensor] = {out.key: g0}
    for node in reversed(order):
        if node.key in wanted or node.key not in needed or node.key not in cts:
            continue
        g = cts.pop(node.key)
        for inp, ct in zip(node.inputs, _rule_outputs(node, g)):
            if ct is None or inp.key not in needed:
                continue
            cts[inp.key] = ct if inp.key not in cts else ew("add", cts[inp.key], ct)
    return [cts[t.key] if t.key in cts else _zeros_like(t) for t in wrt]


def _on_path(order, wanted) -> set:
    """Keys of nodes that depend on one of ``wanted`` (gradients flow only there)."""
    needed = set(wanted)
    for node in order:
        if any(i.key in needed for i in node.inputs) and node.dtype.kind in "fc":
            needed.add(node.key)
    return needed


def _zeros_like(t):
    from .creation import zeros

    return zeros(t.shape, dtype=t.dtype, chunks=t.chunks, device=t.device)


def _float_array(value):
    """``value`` as an array (CuPy arrays stay CuPy), refused unless floating point (only those have gradients)."""
    arr = value if array_module(value) is not np else np.asarray(value)
    if arr.dtype.kind not in "fc":
        raise TypeError(
            f"parameters must be floating point to be differentiated, got dtype {arr.dtype}; "
            f"cast them with .astype(float)"
        )
    return arr


def _parameter(value) -> Tensor:
    from .creation import from_array

    return from_array(_float_array(value), chunks=-1)


def tree_flatten(tree):
    """(leaves, unflatten) of a pytree of arrays: dicts, lists and tuples nest."""
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, unflatten_values = tree_flatten(list(tree.values()))
        return leaves, lambda new: dict(zip(keys, unflatten_values(new)))
    if isinstance(tree, (list, tuple)):
        parts = [tree_flatten(v) for v in tree]
        kind = type(tree)

        def unflatten(leaves):
            out, i = [], 0
            for part_leaves, un in parts:
                out.append(un(leaves[i:i + len(part_leaves)]))
                i += len(part_leaves)
            return kind(out)

        return [leaf for p in parts for leaf in p[0]], unflatten
    return [tree], lambda leaves: leaves[0]


def placeholder_param(value) -> Tensor:
    """A parameter node shaped like ``value`` whose value is bound per run (``runtime.Compiled``)."""
    import uuid

    from .tensor import make_node

    arr = _float_array(value)
    return make_node(
        "source", (), ("param",), arr.shape, arr.dtype, tuple((s,) for s in arr.shape),
        key=f"param-{uuid.uuid4().hex}",
    )


def data_slot(like: Tensor) -> Tensor:
    """A data node shaped and chunked like ``like`` whose blocks are bound per run.

    Mini-batch training compiles one step for a batch's shape and binds the
    chunks of each batch to it, instead of tracing every new batch.
    """
    import uuid

    from .tensor import make_node

    return make_node("source", (), ("param",), like.shape, like.dtype, like.chunks,
                     key=f"slot-{uuid.uuid4().hex}")


def _signature(tree):
    """Structure, shapes and dtypes of a pytree: what a compiled step depends on."""
    if isinstance(tree, dict):
        return ("dict", tuple((k, _signature(v)) for k, v in tree.items()))
    if isinstance(tree, (list, tuple)):
        return (type(tree).__name__, tuple(_signature(v) for v in tree))
    if hasattr(tree, "shape") and hasattr(tree, "dtype"):  # NumPy and CuPy arrays: no copy, no device sync
        return (tuple(tree.shape), np.dtype(tree.dtype).str)
    arr = np.asarray(tree)
    return (arr.shape, arr.dtype.str)


class _Step:
    """One traced value-and-gradient step: the compiled graph and how to unpack it."""

    def __init__(self, f, args, nums, has_aux, slots=()):
        from ..runtime import Compiled

        self.flat = [tree_flatten(args[n]) for n in nums]
        params = [[placeholder_param(v) for v in leaves] for leaves, _ in self.flat]
        full = list(args)
        for n, ps, (_, unflatten) in zip(nums, params, self.flat):
            full[n] = unflatten(ps)
        slot_nodes = [data_slot(args[i]) for i in slots]
        for i, node in zip(slots, slot_nodes):
            full[i] = node
        out = f(*full)
        self.aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError("with has_aux=True the function must return (loss, aux)")
            out, self.aux = out
        if not isinstance(out, Tensor):
            raise TypeError(f"the function must return a chunkflow Tensor, got {type(out).__name__}")
        if out.shape != ():
            raise ValueError(
                f"the function must return a scalar to be differentiated, got shape {out.shape}; "
                f"reduce it (e.g. with .sum() or .mean())"
            )
        if out.dtype.kind not in "fc":
            raise TypeError(f"the function must return a floating-point scalar, got dtype {out.dtype}")
        flat_params = [p for ps in params for p in ps]
        self.n_grads = len(flat_params)
        grads = backprop(out, np.ones((), dtype=out.dtype), flat_params)
        aux_leaves, self.aux_unflatten = tree_flatten(self.aux)
        self.aux_leaves = aux_leaves
        aux_tensors = [a for a in aux_leaves if isinstance(a, Tensor)]
        self.program = Compiled([out, *grads, *aux_tensors], flat_params + slot_nodes)

    def __call__(self, args, nums, scheduler, slot_values=()):
        values = [v for n in nums for v in tree_flatten(args[n])[0]]
        results = self.program(*values, *slot_values, scheduler=scheduler)
        value, grads, aux = results[0], results[1:1 + self.n_grads], iter(results[1 + self.n_grads:])
        _check_finite(value, grads)
        it = iter(grads)
        tree_grads = tuple(unflatten([next(it) for _ in leaves]) for leaves, unflatten in self.flat)
        aux_value = self.aux_unflatten([next(aux) if isinstance(a, Tensor) else a for a in self.aux_leaves])
        return value[()] if isinstance(value, np.ndarray) else value, tree_grads, aux_value


def value_and_grad(f, argnums=0, has_aux=False, cache_size=8):
    """A function returning ``(f(*args), gradient)`` computed in one run, as NumPy.

    ``f(params, *data)`` must return a scalar Tensor (or ``(scalar, aux)``
    with ``has_aux``); the gradient has the structure of the differentiated
    argument(s) (``argnums`` may be an int or a tuple of ints). The step is
    traced and compiled once per parameter structure and data arguments, then
    re-run with new parameter values (compile once, run many).
    """
    cache: dict = {}

    def wrapped(*args, scheduler=None):
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        for n in nums:
            if not -len(args) <= n < len(args):
                raise ValueError(f"argnums {argnums!r} is out of range for {len(args)} arguments")
        nums = tuple(n % len(args) for n in nums)
        key = (
            nums,
            tuple(_signature(args[n]) for n in nums),
            tuple(a.key if isinstance(a, Tensor) else id(a) for i, a in enumerate(args) if i not in nums),
        )
        entry = cache.get(key)
        if entry is None:
            entry = (_Step(f, args, nums, has_aux), [a for i, a in enumerate(args) if i not in nums])
            if len(cache) >= cache_size:
                cache.pop(next(iter(cache)))
            cache[key] = entry  # keeps the data arguments alive, so their ids stay theirs
        value, grads, aux = entry[0](args, nums, scheduler)
        result = grads[0] if isinstance(argnums, int) else grads
        return ((value, aux), result) if has_aux else (value, result)

    return wrapped


def grad(f, argnums=0, has_aux=False):
    """A function returning the gradient of scalar ``f`` (see :func:`value_and_grad`)."""
    vg = value_and_grad(f, argnums=argnums, has_aux=has_aux)

    def wrapped(*args, scheduler=None):
        value, g = vg(*args, scheduler=scheduler)
        return (g, value[1]) if has_aux else g

    return wrapped


def _check_finite(value, grads):
    if not np.all(np.isfinite(value)):
        raise FloatingPointError(f"the function's value is not finite ({value}); check the inputs for NaN/inf")
    for i, g in enumerate(grads):
        if not np.all(np.isfinite(g)):
            raise FloatingPointError(f"gradient {i} has non-finite entries; check the inputs for NaN/inf")
