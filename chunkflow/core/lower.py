"""Lowering: an expression graph of Tensors becomes dask arrays.

Three rules, applied to every node reachable from the outputs of one run:

1. **Elementwise regions fuse.** An elementwise node and all its elementwise
   ancestors become one task per output chunk running a small program
   (``kernels.region_block``) on the region's *leaves* (the nearest
   non-elementwise ancestors). Intermediates never exist as chunks.
2. **Reductions fuse across outputs.** Reductions whose inputs share a chunk
   grid and that reduce the same axes form a *group*: one task per input
   chunk evaluates every member's input region once and emits all partials
   (``kernels.group_partial``); partials are tree-merged ``split_every`` at a
   time, and each member's final value is extracted at the root. A reduction
   joins a group only if it does not depend on a member of it (no cycles).
3. **Everything else** (``"dask"`` nodes) applies its dask.array function
   to the lowered inputs; ``"source"`` nodes lower to their own chunks.

Dask array names are node keys, so equal nodes lower to shared tasks.
"""
from __future__ import annotations

import itertools
import math

import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from .. import config
from ..backend import GPU_ANNOTATIONS, gpu_meta, to_gpu
from . import kernels
from .graph import toposort
from .tensor import Tensor

__all__ = ["lower"]


def lower(outputs) -> list[da.Array]:
    """The dask arrays computing ``outputs`` (one graph, optimized, fused and shared)."""
    from .optimize import optimize

    return _Lowering(optimize(list(outputs))).run()


class _Lowering:
    def __init__(self, outputs):
        self.outputs = list(outputs)
        self.order = toposort(self.outputs)
        self.memo: dict[str, da.Array] = {}
        self.group_of: dict[str, tuple] = {}
        self._plan_groups()

    def run(self):
        for node in self.order:
            self.lower(node)
        return [self.memo[t.key] for t in self.outputs]

    # ------------------------------------------------------------ grouping
    def _plan_groups(self):
        """Assign every reduce node to a fusion group (see module docstring)."""
        reduce_ancestors: dict[str, frozenset] = {}
        groups: dict[tuple, list[list[Tensor]]] = {}
        for node in self.order:
            anc = frozenset().union(*(reduce_ancestors[i.key] for i in node.inputs)) if node.inputs else frozenset()
            reduce_ancestors[node.key] = anc | (
                frozenset([node.key]) if node.op == "reduce" else frozenset()
            )
            if node.op != "reduce":
                continue
            x = node.inputs[0]
            gkey = (("rows", x.chunks[0]) if _rows_only(node) else (x.chunks, node.params[1])) + (node.device,)
            for members in groups.setdefault(gkey, []):
                if not any(m.key in anc for m in members):
                    members.append(node)
                    break
            else:
                groups[gkey].append([node])
        for candidates in groups.values():
            for members in candidates:
                name = "reduce-" + tokenize([m.key for m in members])
                for j, m in enumerate(members):
                    self.group_of[m.key] = (name, members, j)

    # ------------------------------------------------------------ lowering
    def lower(self, node: Tensor) -> da.Array:
        if node.key in self.memo:
            return self.memo[node.key]
        inputs = [self.lower(i) for i in node.inputs]  # before the annotation below: inputs keep their own
        on_gpu = node.device == "gpu" or any(i.device == "gpu" for i in node.inputs)
        if not on_gpu or node.op == "source":
            out = self._lower(node, inputs)
        else:
            # Every layer made for a node that touches GPU chunks runs on GPU workers
            # (chunkflow.backend); inputs still on the CPU are copied over in tasks of this node's.
            with dask.annotate(**GPU_ANNOTATIONS):
                if node.op == "dask" and node.device == "gpu":  # fused kernels convert their own leaves
                    inputs = [a if i.device == "gpu" else _to_gpu(a) for i, a in zip(node.inputs, inputs)]
                out = self._lower(node, inputs)
        self.memo[node.key] = out
        return out

    def _lower(self, node, inputs):
        if node.op == "source":
            return self._source(node)
        if node.op == "elementwise":
            return self._region(node)
        if node.op == "reduce":
            self._group(*self.group_of[node.key][:2])
            return self.memo[node.key]
        if node.op == "dask":
            fn, args, kwargs = node.params
            return fn(*inputs, *args, **dict(kwargs))
        raise ValueError(f"cannot lower op {node.op!r}")

    def _source(self, node):
        kind = node.params[0]
        if kind == "dask":
            return node.params[1]
        if kind == "random":
            from .random import lower_random

            return lower_random(node)
        if kind == "param":  # a value bound at run time (runtime.Compiled); zeros until then
            blocks = {(node.key,) + idx: np.zeros(tuple(c[i] for c, i in zip(node.chunks, idx)), node.dtype)
                      for idx in np.ndindex(*(len(c) for c in node.chunks))}
            graph = HighLevelGraph.from_collections(node.key, blocks, dependencies=())
            return da.Array(graph, node.key, node.chunks, meta=_meta(node))
        raise ValueError(f"unknown source kind {kind!r}")

    def _program(self, roots, root_maps):
        """(leaves, program, root slots, leaf axis maps) of the region above ``roots``.

        A leaf's axis map says, for each of its axes, which grid axis it runs
        along (None: broadcast or contracted, always block 0); it gives the
        leaf's block index for a grid block and whether to slice it in row
        blocks (its axis 0 runs along grid axis 0).
        """
        leaves, internal = _region(roots)
        maps = _axis_maps(roots, root_maps, internal)
        slot = {n.key: i for i, n in enumerate(leaves)}
        program = []
        for node in internal:
            fname, slots = node.params
            args = tuple(s if isinstance(s, tuple) else slot[node.inputs[s].key] for s in slots)
            program.append((fname, args))
            slot[node.key] = len(leaves) + len(program) - 1
        return leaves, tuple(program), [slot[r.key] for r in roots], [maps[n.key] for n in leaves]

    def _leaf_keys(self, leaves, maps):
        """Lowered leaf arrays, per-leaf row flags, and grid block index -> task arguments.

        Leaves that regenerate cheaply from their params (random sources) are
        *inlined*: each task makes the block it needs instead of naming a
        shared key, so an input read by two passes is recomputed rather than
        held whole in memory between them (dask's lazy-standardize trap).
        """
        arrays, inline = [], []
        for leaf in leaves:
            inline.append(_inlinable(leaf))
            arrays.append(None if inline[-1] else self.lower(leaf))
        rows = tuple(bool(m) and m[0] == 0 for m in maps)

        def keys(idx):
            out = []
            for leaf, arr, inl, m in zip(leaves, arrays, inline, maps):
                bidx = tuple(
                    0 if nb == 1 or m[j] is None else idx[m[j]] for j, nb in enumerate(leaf.numblocks)
                )
                out.append(_block_task(leaf, bidx) if inl else (arr.name, *bidx))
            return out

        return [a for a in arrays if a is not None], rows, keys

    def _region(self, node):
        leaves, program, (out_slot,), maps = self._program([node], [tuple(range(node.ndim))])
        arrays, rows, keys = self._leaf_keys(leaves, maps)
        layer = {
            (node.key, *idx): (
                kernels.region_block, program, out_slot, node.dtype, _block_shape(node, idx), rows, *keys(idx)
            )
            for idx in itertools.product(*map(range, node.numblocks))
        }
        graph = HighLevelGraph.from_collections(node.key, layer, dependencies=arrays)
        return da.Array(graph, node.key, node.chunks, meta=_meta(node))

    def _group(self, name, members):
        if members[0].key in self.memo:
            return
        x = members[0].inputs[0]
        axes = members[0].params[1]
        # Row reductions of any ndim share a grid of row blocks (their other
        # axes are one chunk), so a loss over residuals and a gradient over X
        # read X in the same task.
        rows_grid = _rows_only(members[0])
        grid = (x.chunks[0],) if rows_grid else x.chunks
        numblocks = tuple(len(c) for c in grid)
        roots, root_maps, arity = [], [], []
        for m in members:
            roots.extend(m.inputs)
            root_maps.extend(_member_maps(m, rows_grid))
            arity.append(len(m.inputs))
        leaves, program, slots, maps = self._program(roots, root_maps)
        it = iter(slots)
        member_slots = [next(it) if k == 1 else tuple(next(it) for _ in range(k)) for k in arity]
        specs = tuple(
            (m.params[0], s, _acc_dtype(m), m.params[3]) for m, s in zip(members, member_slots)
        )
        arrays, rows, keys = self._leaf_keys(leaves, maps)
        # Small row blocks: one task reads several consecutive ones (fewer tasks,
        # same single read of each block); see _blocks_per_task.
        per = _blocks_per_task(leaves, maps, grid) if 0 in axes else 1
        task_nb = (math.ceil(numblocks[0] / per),) + numblocks[1:] if numblocks else ()
        layer = {}
        for idx in itertools.product(*map(range, task_nb)):
            blocks = [(i,) + idx[1:] for i in range(idx[0] * per, min((idx[0] + 1) * per, numblocks[0]))] if idx else [()]
            layer[(name, *idx)] = (
                kernels.group_partials, program, specs, axes, rows, len(leaves),
                tuple(_grid_shape(grid, b) for b in blocks), *[k for b in blocks for k in keys(b)],
            )
        top, nb = name, list(task_nb)
        wide = [a for a in axes if nb[a] > 1]
        factor = max(2, round(config.get("split_every") ** (1 / max(len(wide), 1))))
        level = 0
        while any(nb[a] > 1 for a in axes):
            level += 1
            new_nb = [math.ceil(n / factor) if a in axes else n for a, n in enumerate(nb)]
            new_name = f"{name}-merge{level}"
            for idx in itertools.product(*map(range, new_nb)):
                ranges = [
                    range(i * factor, min((i + 1) * factor, nb[a])) if a in axes else (i,)
                    for a, i in enumerate(idx)
                ]
                layer[(new_name, *idx)] = (
                    kernels.group_combine, specs, *[(top, *c) for c in itertools.product(*ranges)]
                )
            top, nb = new_name, new_nb
        group_graph = HighLevelGraph.from_collections(name, layer, dependencies=arrays)
        for j, m in enumerate(members):
            keepdims = m.params[2]
            mlayer = {}
            for idx in itertools.product(*map(range, m.numblocks)):
                it = iter(idx)
                top_idx = tuple(
                    0 if a in axes or rows_grid or m.params[0] == "contract" else (idx[a] if keepdims else next(it))
                    for a in range(len(grid))
                )
                mlayer[(m.key, *idx)] = (
                    kernels.group_finalize, specs[j], j, axes, keepdims, m.dtype, (top, *top_idx)
                )
            graph = HighLevelGraph(
                {**group_graph.layers, m.key: mlayer},
                {**group_graph.dependencies, m.key: {name}},
            )
            self.memo[m.key] = da.Array(graph, m.key, m.chunks, meta=_meta(m))


def _region(roots):
    """(leaves, elementwise nodes in dependency order) of the region above ``roots``.

    The region is every elementwise node reached from ``roots`` through
    elementwise nodes; its leaves are the first non-elementwise nodes met.
    """
    order = toposort(roots, expand=lambda n: n.op == "elementwise")
    return [n for n in order if n.op != "elementwise"], [n for n in order if n.op == "elementwise"]


def _axis_maps(roots, root_maps, internal) -> dict:
    """Each region node's axis map (see ``_program``), from the roots down."""
    maps = {}
    for r, m in zip(roots, root_maps):
        maps.setdefault(r.key, m)
    for node in reversed(internal):
        m = maps[node.key]
        fname, slots = node.params
        args = [node.inputs[s] for s in slots if not isinstance(s, tuple)]
        if fname == "matmul":  # (n, d) @ (d, k) or (d,): rows follow, d is contracted
            a, b = args
            in_maps = [(m[0], None), (None, m[1]) if b.ndim == 2 else (None,)]
        else:  # NumPy broadcasting: right-aligned, length-1 axes do not follow the grid
            in_maps = [
                tuple(
                    None if t.shape[j] == 1 and node.shape[node.ndim - t.ndim + j] != 1
                    else m[node.ndim - t.ndim + j]
                    for j in range(t.ndim)
                )
                for t in args
            ]
        for t, tm in zip(args, in_maps):
            maps.setdefault(t.key, tm)
    return maps


def _rows_only(node) -> bool:
    """Whether reduction ``node`` reduces rows only, its inputs' other axes in one chunk."""
    return node.params[1] == (0,) and all(all(nb == 1 for nb in t.numblocks[1:]) for t in node.inputs)


def _member_maps(m, rows_grid: bool) -> list[tuple]:
    """Axis maps of a reduction's inputs on its group's grid.

    On a grid of row blocks only axis 0 follows the grid; otherwise the grid
    is the first input's chunks. ``x.T @ b``'s ``b`` follows the rows only.
    """
    maps = []
    for i, t in enumerate(m.inputs):
        if rows_grid or i > 0:
            maps.append((0,) + (None,) * (t.ndim - 1))
        else:
            maps.append(tuple(range(t.ndim)))
    return maps


_TASK_BYTES = 4 * 2**20
_MAX_BLOCKS_PER_TASK = 64


def _blocks_per_task(leaves, maps, grid) -> int:
    """Consecutive row blocks one partial task should read: about 4 MiB of input, at most 64 blocks.

    Tiny blocks cost the scheduler far more than their arithmetic: on a
    2-worker cluster, 1,000 blocks of 100 x 8 took 0.83-1.0 s a step read 8
    to a task and 0.45-0.52 s read 32 or 128 to a task (benchmarks/cluster.py).
    The 4 MiB bound keeps a task's input small whatever the block count.
    """
    rows = [c for c in grid[0] if not math.isnan(c)]
    if len(grid[0]) < 2 or not rows:
        return 1
    row_bytes = sum(
        math.prod(s for j, s in enumerate(leaf.shape) if j > 0) * leaf.dtype.itemsize
        for leaf, m in zip(leaves, maps) if m and m[0] == 0 and not any(map(math.isnan, leaf.shape[1:]))
    )
    block_bytes = max(row_bytes * max(rows), 1)
    return int(max(1, min(_MAX_BLOCKS_PER_TASK, _TASK_BYTES // block_bytes)))


def _grid_shape(grid, idx):
    """Shape of block ``idx`` of a chunk grid; None when a length is unknown (NaN)."""
    shape = tuple(grid[a][i] for a, i in enumerate(idx))
    return None if any(math.isnan(s) for s in shape) else shape


def _block_shape(node, idx):
    return _grid_shape(node.chunks, idx)


def _inlinable(node) -> bool:
    return node.op == "source" and node.params[0] == "random"


def _block_task(node, index):
    from .random import block_task

    return block_task(node, index)


def _acc_dtype(m):
    kind = m.params[0]
    if kind in ("sum", "prod", "logsumexp", "contract"):
        return m.dtype
    return m.inputs[0].dtype


def _meta(node):
    if node.device == "gpu":
        return gpu_meta(node.dtype, node.ndim)
    return np.empty((0,) * node.ndim, dtype=node.dtype)


def _to_gpu(darr):
    """``darr``'s blocks copied to the GPU (a CPU input of a GPU node of type "dask")."""
    return darr.map_blocks(to_gpu, dtype=darr.dtype, meta=gpu_meta(darr.dtype, darr.ndim))
