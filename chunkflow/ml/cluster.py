"""K-means clustering: k-means|| initialization and one data pass per Lloyd iteration.

Passes over X for ``KMeans.fit`` (chunked input):

* 1 pass: row count, column variances (for ``tol``, as scikit-learn scales it),
  the NaN/inf check and the cost of the first, random center;
* ``init_max_iter`` (default 5) k-means|| rounds (Bahmani et al. 2012, as Spark
  MLlib and dask-ml), one pass each: the distance of every row to the current
  candidates as a matrix product ``||x||^2 - 2 x c^T + ||c||^2`` and a seeded
  Bernoulli sample of rows with probability ``l * d(x) / cost``
  (``l = oversampling_factor * n_clusters``; ``cost`` is the previous pass's,
  which keeps the round to one pass and samples slightly fewer rows);
* 1 pass: how many rows each candidate is nearest to; the candidates,
  weighted by these counts, are clustered on the client by k-means++ and
  Lloyd (scikit-learn on a few hundred points);
* 1 pass per Lloyd iteration: one task per chunk (``_lloyd_block``, NumPy on
  row blocks of 16k rows: labels by argmin of the distance matrix product,
  per-cluster sums as ``onehot^T @ x``, counts and the inertia), tree-summed
  (0.3 s an iteration on 2M x 32 instead of 0.6 s as fused core ops). The step graph is compiled once with the centers
  as a parameter and re-run each iteration (no per-iteration graph rebuild);
* 1 last pass for the inertia (and, for NumPy input, labels) of the final
  centers, skipped when the last iteration moved no center.

``sample_weight`` (scikit-learn's semantics) weights every sum above: the
k-means|| sampling probability and cost, the candidates' weights, the
per-cluster sums and counts, and the inertia; the k-means++/random sample
carries its rows' weights to the client.

Empty clusters keep their previous center (scikit-learn moves them to far
points, which needs another pass). ``device='gpu'`` moves the data to the GPU
(``_lloyd_block`` runs on CuPy chunks as on NumPy ones); the centers stay
NumPy on the client.
"""
from __future__ import annotations

import numbers

import dask.array as da
import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state

from ..backend import array_module
from ..core.autodiff import placeholder_param
from ..core.elementwise import UFUNCS, maximum
from ..core.manipulation import concatenate
from ..core.reductions import argmin
from ..core.reductions import min as cmin
from ..core.tensor import Tensor
from ..runtime import Compiled
from .base import as_output, check_finite, check_fitted, validate_X
from .device import compute, fetch
from .persist import ModelFileMixin, register

__all__ = ["KMeans", "MiniBatchKMeans"]


def _cross(X, C):
    """``-2 X C^T + ||C||^2`` per row: the squared distances less the row norms (argmin is the same)."""
    C = np.asarray(C) if not hasattr(C, "op") else C
    cc = (C * C).sum(axis=1)
    return cc - 2.0 * (X @ C.T)


def _assign(X, C):
    """Lazy labels of the rows of ``X`` (nearest center in ``C``)."""
    return argmin(_cross(X, C), axis=1)


def _min_sqdist(X, C):
    """Lazy squared distance of every row of ``X`` to its nearest center (clipped at 0)."""
    return maximum((X * X).sum(axis=1) + cmin(_cross(X, C), axis=1), 0.0)


_LLOYD_ROWS = 16384  # rows per BLAS call inside a chunk: the (rows, k) distances stay in cache


def _lloyd_block(x, C, w=None):
    """One chunk's Lloyd statistics, flat: per-cluster sums (k*d), counts (k) and the inertia (1).

    With row weights ``w`` the sums, counts and inertia are weighted.

    Distances are a matrix product ``x @ C.T`` per row block; the sums are
    ``onehot.T @ x``: two BLAS calls a block, as scikit-learn's Lloyd does.
    A CuPy chunk runs the same code with CuPy (the centers are moved to its GPU).
    """
    xp = array_module(x, C)
    x = xp.asarray(x, dtype=np.float64)
    C = xp.asarray(C, dtype=np.float64)
    w = None if w is None else xp.asarray(w, dtype=np.float64)
    k, d = C.shape
    cc = (C * C).sum(axis=1)
    sums, counts, inertia = xp.zeros((k, d)), xp.zeros(k), xp.zeros(1)
    for s in range(0, x.shape[0], _LLOYD_ROWS):
        b = x[s:s + _LLOYD_ROWS]
        D = b @ C.T
        D *= -2.0
        D += cc
        labels = D.argmin(axis=1)
        rows = xp.arange(len(b))
        dist = xp.maximum(xp.einsum("ij,ij->i", b, b) + D[rows, labels], 0.0)
        wb = None if w is None else w[s:s + _LLOYD_ROWS]
        inertia += (dist if wb is None else dist * wb).sum()
        onehot = xp.zeros((len(b), k))
        onehot[rows, labels] = 1.0 if wb is None else wb
        sums += onehot.T @ b
        counts += onehot.sum(axis=0)
    return xp.concatenate([sums.ravel(), counts, inertia])[None, :]


def _dlloyd(x, C, w=None):
    k, d = C.shape
    meta = x._meta if x._meta.dtype == np.float64 else x._meta.astype(np.float64)  # NumPy or CuPy, as x's
    weights = () if w is None else (w[:, None],)  # 2-D, so its row blocks pair with x's in map_blocks
    return da.map_blocks(_weighted_block, x, C, *weights, chunks=((1,) * x.numblocks[0], (k * d + k + 1,)),
                         dtype=np.float64, meta=meta[:0, :0])


def _weighted_block(x, C, w=None):
    return _lloyd_block(x, C, None if w is None else w[:, 0])


def _lloyd_outputs(X, C, k, w=None):
    """Per-cluster sums (k, d), counts (k,) and the inertia: one pass over ``X``, one task a row chunk.

    ``w`` (row weights, a Tensor with ``X``'s row chunks) weights all three.
    """
    from ..core.graph import as_tensor, dask_op
    from ..core.reductions import sum as csum

    d = X.shape[1]
    C = as_tensor(np.asarray(C, dtype=np.float64) if not isinstance(C, Tensor) else C)
    X = X if X.numblocks[1] == 1 else X.rechunk((X.chunks[0], (d,)))
    inputs = (X, C) if w is None else (X, C, w.rechunk((X.chunks[0],)))
    flat = csum(dask_op(_dlloyd, inputs), axis=0)
    return flat[:k * d].reshape(k, d), flat[k * d:k * d + k], flat[-1]


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


class _BaseKMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):

    def _check_params(self, n_samples):
        _check_int("n_clusters", self.n_clusters, 1)
        if self.n_clusters > n_samples:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        _check_int("max_iter", self.max_iter, 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or self.tol < 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")
        init = self.init
        if isinstance(init, str):
            if init not in self._INITS:
                raise ValueError(f"init must be one of {self._INITS} or an array of shape "
                                 f"(n_clusters, n_features), got {init!r}")
        elif callable(init):
            raise ValueError("init as a callable is not supported; pass an array of initial centers")

    def _array_init(self, d):
        C = np.asarray(self.init, dtype=np.float64)
        if C.shape != (self.n_clusters, d):
            raise ValueError(f"The shape of the initial centers {C.shape} does not match the number of "
                             f"clusters {self.n_clusters} and features {d}")
        return C.copy()

    def _lazy_sample(self, t, m, rs, w=None):
        """``m`` rows of ``t`` chosen uniformly at random (without replacement), lazy; with their weights."""
        n = t.shape[0]
        rows = np.sort(rs.choice(n, size=min(m, n), replace=False))
        return t[rows] if w is None else (t[rows], w[rows])

    def _sample_rows(self, t, m, rs):
        """``m`` random rows of ``t`` as NumPy."""
        return np.asarray(fetch(self._lazy_sample(t, m, rs)))

    def _sample_centers(self, sample, weights, rs):
        """Initial centers from a row sample: k-means++ or 'random', both weighted as scikit-learn's."""
        if self.init == "k-means++":
            return self._kmeanspp(sample, rs, weights)
        p = None
        if weights is not None and np.count_nonzero(weights) >= self.n_clusters:
            p = weights / weights.sum()
        return sample[rs.choice(len(sample), self.n_clusters, replace=False, p=p)]

    def _kmeanspp(self, points, rs, weights=None):
        from sklearn.cluster import kmeans_plusplus

        centers, _ = kmeans_plusplus(points, self.n_clusters, sample_weight=weights,
                                     random_state=rs.randint(np.iinfo(np.int32).max))
        return centers

    # ---------------------------------------------------------------- predicting
    def _input(self, X):
        check_fitted(self, "cluster_centers_")
        t, kind, _ = validate_X(self, X, reset=False)
        return t, kind

    def predict(self, X):
        """Index of the nearest center for every row: ndarray for ndarray input, lazy otherwise."""
        t, kind = self._input(X)
        return as_output(_assign(t, self.cluster_centers_), kind)

    def transform(self, X):
        """Euclidean distance of every row to every center, shape (n_samples, n_clusters)."""
        t, kind = self._input(X)
        C = self.cluster_centers_
        d2 = maximum((t * t).sum(axis=1)[:, None] + _cross(t, C), 0.0)
        return as_output(UFUNCS["sqrt"](d2), kind)

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Minus the (weighted) inertia of ``X`` under the fitted centers (higher is better)."""
        t, kind = self._input(X)
        dist = _min_sqdist(t, self.cluster_centers_)
        w = _weights(sample_weight, t, kind)
        return -float(fetch((dist if w is None else dist * w).sum()))

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]


@register
class KMeans(ModelFileMixin, _BaseKMeans):
    """K-means with k-means|| (default), k-means++ (on a sample), random or array initialization.

    Parameters follow scikit-learn's ``KMeans``; ``n_init='auto'`` is 1.
    ``oversampling_factor`` and ``init_max_iter`` tune k-means|| (rows
    sampled per round per cluster, and rounds); ``init_sample_size`` is the
    number of rows k-means++/'random' draw their centers from. ``device``:
    None (where the data is), 'cpu' or 'gpu' (the data is moved there).
    Attributes: ``cluster_centers_``, ``labels_`` (lazy for chunked input),
    ``inertia_``, ``n_iter_``, ``n_features_in_``.
    """

    _INITS = ("k-means||", "k-means++", "random")

    def __init__(self, n_clusters=8, *, init="k-means||", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, oversampling_factor=2.0, init_max_iter=5, init_sample_size=10_000, device=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.oversampling_factor = oversampling_factor
        self.init_max_iter = init_max_iter
        self.init_sample_size = init_sample_size
        self.device = device

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (rows weighted by ``sample_weight``, default 1 each); returns self."""
        t, kind, finite = validate_X(self, X, reset=True)
        n, d = t.shape
        self._check_params(n)
        w = _weights(sample_weight, t, kind)
        n_init = 1 if self.n_init == "auto" else self.n_init
        _check_int("n_init", n_init, 1)
        _check_int("init_max_iter", self.init_max_iter, 0)
        _check_int("init_sample_size", self.init_sample_size, 1)
        if (isinstance(self.oversampling_factor, bool) or not isinstance(self.oversampling_factor, numbers.Real)
                or self.oversampling_factor <= 0):
            raise ValueError(f"oversampling_factor must be a number > 0, got {self.oversampling_factor!r}")
        rs = check_random_state(self.random_state)
        # first pass: variances (tol), the finite check, and what the first initialization needs
        # (the first random center's cost for k-means||, the row sample for k-means++/random)
        init = self.init if isinstance(self.init, str) else "array"
        checks = () if w is None else _weight_checks(w)
        sample_w = None
        if init == "k-means||":
            first = self._sample_rows(t, 1, rs)  # one row: reads one chunk
            var, ok, cost0, *checks = compute(t.var(axis=0), finite, _weighted_sum(_min_sqdist(t, first), w),
                                              *checks)
        elif init == "array":
            self._array_init(d)  # shape errors before any pass
            var, ok, *checks = compute(t.var(axis=0), finite, *checks)
        else:
            lazy = self._lazy_sample(t, max(self.init_sample_size, self.n_clusters), rs, w)
            var, ok, sample, *checks = compute(t.var(axis=0), finite, lazy if w is None else lazy[0], *checks,
                                               *(() if w is None else (lazy[1],)))
            if w is not None:
                checks, sample_w = checks[:3], np.asarray(checks[3], dtype=np.float64)
        check_finite(ok)
        if checks:
            _check_weights(checks)
        tol = float(np.mean(var)) * self.tol
        centers = placeholder_param(np.zeros((self.n_clusters, d)))
        sums, counts, inertia = _lloyd_outputs(t, centers, self.n_clusters, w)
        step = Compiled([sums, counts, inertia], [centers])  # built once, re-run per iteration
        best = None
        for run in range(n_init):
            if init == "k-means||":
                C = self._kmeans_parallel(t, rs, first if run == 0 else self._sample_rows(t, 1, rs),
                                          float(cost0) if run == 0 else None, w)
            elif init != "array":
                if run > 0:
                    lazy = self._lazy_sample(t, max(self.init_sample_size, self.n_clusters), rs, w)
                    sample, sample_w = (fetch(lazy), None) if w is None else compute(*lazy)
                C = self._sample_centers(np.asarray(sample), sample_w, rs)
            else:
                C = self._array_init(d)
            C, inertia_value, n_iter = _lloyd(step, C, tol, self.max_iter)
            if best is None or inertia_value < best[1]:
                best = (C, inertia_value, n_iter)
        self.cluster_centers_, self.inertia_, self.n_iter_ = best[0], float(best[1]), int(best[2])
        self.labels_ = as_output(_assign(t, self.cluster_centers_), kind)
        return self

    def _kmeans_parallel(self, t, rs, first, cost, w=None):
        """Initial centers by k-means|| (one pass per round), then weighted k-means++ on the client.

        With row weights ``w`` a row's cost, and so its chance to be sampled, is its weight
        times its distance, and a candidate's weight is the weight of the rows nearest it.
        """
        from ..core import random as crandom

        n = t.shape[0]
        ell = self.oversampling_factor * self.n_clusters
        C = np.asarray(first, dtype=np.float64)
        if cost is None:
            cost = float(fetch(_weighted_sum(_min_sqdist(t, C), w)))
        for _ in range(self.init_max_iter):
            if cost <= 0:
                break
            u = crandom.default_rng(rs.randint(np.iinfo(np.int32).max)).uniform(size=(n,), chunks=(t.chunks[0],))
            dist = _min_sqdist(t, C)
            dist = dist if w is None else dist * w
            chosen, cost_now = compute(t[u < dist * (ell / cost)], dist.sum())
            C = np.concatenate([C, np.asarray(chosen)], axis=0)
            cost = float(cost_now)
        C = np.unique(C, axis=0)
        if len(C) < self.n_clusters:  # too few distinct candidates: add random rows
            C = np.unique(np.concatenate([C, self._sample_rows(t, 4 * self.n_clusters, rs)]), axis=0)
        if len(C) <= self.n_clusters:
            return C[:self.n_clusters] if len(C) == self.n_clusters else _pad(C, self.n_clusters, rs)
        from ..core.numpy_compat import bincount

        # rows (their weight) nearest each candidate
        weights = fetch(bincount(_assign(t, C), weights=w, minlength=len(C))).astype(np.float64)
        from sklearn.cluster import KMeans as SKKMeans

        local = SKKMeans(self.n_clusters, init="k-means++", n_init=1,
                         random_state=rs.randint(np.iinfo(np.int32).max)).fit(C, sample_weight=weights + 1e-12)
        return local.cluster_centers_


def _weights(sample_weight, t, kind):
    """``sample_weight`` as a float64 Tensor with ``t``'s row chunks and device (None stays None).

    NumPy weights are checked as scikit-learn checks them (shape, numbers);
    chunked weights for their shape here and their values in the first pass
    (:func:`_weight_checks`).
    """
    if sample_weight is None:
        return None
    from ..core.creation import from_array
    from .base import as_tensor_input

    n = t.shape[0]
    if kind == "numpy" or not hasattr(sample_weight, "chunks"):
        from sklearn.utils.validation import _check_sample_weight

        sw = from_array(_check_sample_weight(sample_weight, np.empty((n, 0)), dtype=np.float64),
                        chunks=(t.chunks[0],))
    else:
        sw, _ = as_tensor_input(sample_weight, dtype=np.float64, name="sample_weight")
        if sw.shape != (n,):
            raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({n},)")
        sw = sw.rechunk((t.chunks[0],))
    return sw.to_device(t.device)


def _weight_checks(w):
    """Lazy ``(all finite, any negative, sum)`` of the weights, for :func:`_check_weights`."""
    from ..core.elementwise import UFUNCS

    return UFUNCS["isfinite"](w).all(), (w < 0).any(), w.sum()


def _check_weights(checks):
    finite, negative, total = (bool(checks[0]), bool(checks[1]), float(checks[2]))
    if not finite:
        raise ValueError("sample_weight contains NaN or infinity; give every row a finite weight")
    if negative:
        raise ValueError("sample_weight has negative values; k-means needs weights >= 0")
    if total <= 0:
        raise ValueError(f"sample_weight sums to {total}; at least one row needs a positive weight")


def _weighted_sum(values, w):
    return (values if w is None else values * w).sum()


def _pad(C, k, rs):
    """``k`` centers from fewer distinct ones (duplicates; only for data with < k distinct rows)."""
    return C[rs.choice(len(C), k, replace=True)] if len(C) else C


def _lloyd(step, C, tol, max_iter):
    """Lloyd iterations from centers ``C``: ``(centers, inertia, n_iter)``; one run of ``step`` each."""
    C = np.asarray(C, dtype=np.float64)
    for it in range(1, max_iter + 1):
        sums, counts, inertia = step(C)
        new = C.copy()
        full = counts > 0
        new[full] = sums[full] / counts[full][:, None]
        shift = float(((new - C) ** 2).sum())
        C = new
        if shift <= tol:
            break
    if shift > 0:
        inertia = step(C)[2]  # the inertia of the centers returned
    return C, float(inertia), it


@register
class MiniBatchKMeans(ModelFileMixin, _BaseKMeans):
    """K-means on random subsets of row chunks: each step reads ``batch_chunks`` chunks.

    A step assigns the rows of the chosen chunks and moves every center to
    the running mean of all rows ever assigned to it (scikit-learn's
    per-center learning rate ``1 / count``). ``max_iter`` counts epochs
    (about ``n_chunks / batch_chunks`` steps each); stops early when the
    centers move less than ``tol`` (scaled like KMeans's) in a step, or when the smoothed batch inertia makes no
    new minimum (by a relative 1e-6) for ``max_no_improvement`` steps, as
    scikit-learn. Initialization is k-means++ on a sample.
    ``inertia_`` and ``labels_`` come from one full pass at the end.
    ``device``: None (where the data is), 'cpu' or 'gpu'.
    """

    _INITS = ("k-means++", "random")

    def __init__(self, n_clusters=8, *, init="k-means++", max_iter=100, batch_chunks=1, tol=0.0,
                 max_no_improvement=10, random_state=None, init_sample_size=10_000, device=None):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_chunks = batch_chunks
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.random_state = random_state
        self.init_sample_size = init_sample_size
        self.device = device

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (rows weighted by ``sample_weight``) by mini-batch steps over random chunk subsets."""
        t, kind, finite = validate_X(self, X, reset=True)
        n, d = t.shape
        self._check_params(n)
        _check_int("batch_chunks", self.batch_chunks, 1)
        _check_int("max_no_improvement", self.max_no_improvement, 1)
        w = _weights(sample_weight, t, kind)
        rs = check_random_state(self.random_state)
        lazy = self._lazy_sample(t, max(self.init_sample_size, self.n_clusters), rs, w)
        if w is None:
            var, ok, sample = compute(t.var(axis=0), finite, lazy)  # one pass
            sample_w = None
        else:
            var, ok, sample, sample_w, *checks = compute(t.var(axis=0), finite, *lazy, *_weight_checks(w))
        check_finite(ok)
        if w is not None:
            _check_weights(checks)
        tol = float(np.mean(var)) * self.tol
        if isinstance(self.init, str):
            C = self._sample_centers(np.asarray(sample), sample_w, rs)
        else:
            C = self._array_init(d)
        bounds = np.concatenate([[0], np.cumsum(t.chunks[0])])
        nblocks = len(t.chunks[0])
        per = min(self.batch_chunks, nblocks)
        steps = self.max_iter * max(1, nblocks // per)
        totals = np.zeros(self.n_clusters)
        ewa, ewa_min, no_improvement, it = None, np.inf, 0, 0
        for it in range(1, steps + 1):
            blocks = np.sort(rs.choice(nblocks, per, replace=False))
            Xb = concatenate([t[bounds[b]:bounds[b + 1]] for b in blocks], axis=0)
            wb = None if w is None else concatenate([w[bounds[b]:bounds[b + 1]] for b in blocks], axis=0)
            sums, counts, inertia = _lloyd_outputs(Xb, C, self.n_clusters, wb)
            sums, counts, inertia = compute(sums, counts, inertia)  # reads only the chosen chunks
            new = C.copy()
            totals += counts
            hit = counts > 0
            # running (weighted) mean of every row ever assigned: c <- c + (sum - count * c) / total
            new[hit] = C[hit] + (sums[hit] - counts[hit][:, None] * C[hit]) / totals[hit][:, None]
            shift = float(((new - C) ** 2).sum())
            C = new
            if tol > 0 and shift <= tol:
                break
            # scikit-learn's early stop: no new minimum of the smoothed batch inertia for a while
            alpha = min(1.0, 2.0 * Xb.shape[0] / (n + 1))
            batch = float(inertia) / Xb.shape[0]
            ewa = batch if ewa is None else ewa * (1 - alpha) + batch * alpha
            if ewa < ewa_min * (1 - 1e-6):  # a new minimum, by more than rounding-level drift
                ewa_min, no_improvement = ewa, 0
            else:
                no_improvement += 1
            if no_improvement >= self.max_no_improvement:
                break
        self.cluster_centers_, self.n_iter_, self.n_steps_ = C, int(np.ceil(it * per / nblocks)), it
        self.inertia_ = float(fetch(_weighted_sum(_min_sqdist(t, C), w)))
        self.labels_ = as_output(_assign(t, C), kind)
        return self
