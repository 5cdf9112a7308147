"""Pytrees of NumPy arrays: the parameter and gradient containers of ``chunkflow.ml``.

A pytree is an array (or scalar) or a dict/list/tuple nesting them, as
``cf.value_and_grad`` takes and returns. Optimizers work leaf by leaf, and
L-BFGS on one flat vector (:func:`ravel`).
"""
from __future__ import annotations

import numpy as np

from ..core.autodiff import tree_flatten

__all__ = ["tree_leaves", "tree_map", "global_norm", "ravel"]


def tree_leaves(tree) -> list:
    """The leaves of ``tree`` in a fixed order (dict insertion order)."""
    return tree_flatten(tree)[0]


def tree_map(fn, tree, *rest):
    """``tree`` with each leaf ``x`` replaced by ``fn(x, *matching leaves of rest)``."""
    leaves, unflatten = tree_flatten(tree)
    others = [_matching(r, leaves, f"tree {i + 1}") for i, r in enumerate(rest)]
    return unflatten([fn(*xs) for xs in zip(leaves, *others)])


def _matching(tree, like: list, name: str) -> list:
    """Leaves of ``tree``, checked to match ``like`` leaf for leaf in number and shape."""
    leaves = tree_flatten(tree)[0]
    if len(leaves) != len(like):
        raise ValueError(f"{name} has {len(leaves)} leaves but the parameters have {len(like)}; "
                         f"pass a tree with the parameters' structure")
    for i, (a, b) in enumerate(zip(leaves, like)):
        if np.shape(a) != np.shape(b):
            raise ValueError(f"{name} leaf {i} has shape {np.shape(a)} but the parameter has shape "
                             f"{np.shape(b)}")
    return leaves


def global_norm(tree) -> float:
    """The Euclidean norm of all leaves of ``tree`` taken together."""
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(x, dtype=float))) for x in tree_leaves(tree))))


def ravel(tree):
    """``(vector, unravel)``: the leaves as one float64 vector, and the map back to a tree.

    >>> v, unravel = ravel({"w": np.ones(2), "b": np.zeros(())})
    >>> v, unravel(v + 1)["b"]
    (array([1., 1., 0.]), array(1.))
    """
    leaves, unflatten = tree_flatten(tree)
    arrays = [np.asarray(x) for x in leaves]
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "fiu":
            raise TypeError(f"parameter leaf {i} has dtype {a.dtype}; parameters must be real numbers")
    shapes = [a.shape for a in arrays]
    dtypes = [a.dtype if a.dtype.kind == "f" else np.dtype(float) for a in arrays]
    sizes = [a.size for a in arrays]
    vector = np.concatenate([a.ravel() for a in arrays]).astype(float) if arrays else np.zeros(0)

    def unravel(v):
        out, start = [], 0
        for shape, dtype, size in zip(shapes, dtypes, sizes):
            out.append(np.asarray(v[start:start + size], dtype=dtype).reshape(shape))
            start += size
        return unflatten(out)

    return vector, unravel
