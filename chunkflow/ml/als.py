"""Alternating least squares matrix factorization for (user, item, rating) data, as Spark MLlib's ALS.

The ratings are a chunked table of rows ``[user, item, rating]`` (a Tensor,
dask array or NumPy array of shape (n, 3), or a Frame / pandas DataFrame with
``user_col``, ``item_col``, ``rating_col``). Ids are any non-negative
integers: ``fit`` learns the sorted distinct ids (``user_ids_``,
``item_ids_``) and every chunk maps its ids to rows of the factor matrices by
binary search, so no id-remapping pass over the data is needed.

Passes over the data (chunked input):

* 1 pass: the distinct user and item ids, and the checks (ids non-negative
  integers, ratings finite);
* 2 passes per iteration: first the items are solved with the user factors
  fixed, then the users with the item factors fixed (Spark's order). A
  half-iteration sends the fixed factors to every chunk once (one graph key,
  shared by the chunk tasks); each chunk returns, for every user ``u`` (or
  item), ``sum_i w_ui y_i y_i^T``, ``sum_i b_ui y_i`` and the count ``n_u``
  as grouped sums (a sparse user-by-row indicator matrix times the per-row
  outer products, in slices of ``_ROWS`` rows to bound the temporaries);
  these are tree-summed across chunks, and the normal equations
  ``(A_u + reg_param * n_u * I) x_u = b_u`` (ALS-WR: lambda scaled by the
  user's number of ratings) are solved on the client in one batched
  ``np.linalg.solve``. Factors are small and live on the client.

Explicit ratings: ``w = 1``, ``b = r``, ``n_u`` = ratings of ``u``.
Implicit feedback (``implicit_prefs=True``, Hu, Koren & Volinsky 2008, as
Spark): preference ``p = [r > 0]``, confidence ``c = 1 + alpha |r|``;
``A_u = Y^T Y + sum_i (c_ui - 1) y_i y_i^T``, ``b_u = sum_i c_ui p_ui y_i``,
``n_u`` = positive ratings of ``u``. ``nonnegative=True`` solves each user's
normal equations under ``x >= 0`` by NNLS on their Cholesky factor (a
Python loop over users: slower on the client than the batched solve).

The per-chunk partial sums are dense in the number of users (or items):
``n * (rank^2 + rank + 1) * 8`` bytes per chunk, e.g. 89 MB for 100,000
users at rank 10 — the limit of this design; Spark partitions the users.
The user factors start as rows of ``default_rng(seed).normal(size=(n_users,
rank))`` scaled to unit norm (absolute values for ``nonnegative``).
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator

from .base import as_tensor_input, check_fitted, input_kind
from .persist import ModelFileMixin, register

__all__ = ["ALS"]

_ROWS = 8192  # rows of a chunk turned into outer products at a time


# ---------------------------------------------------------------- per-chunk kernels (NumPy)
def _normal_block(block, fixed, ids_self, ids_other, col, implicit, alpha):
    """``(1, n_self, k*k + k + 1)``: one chunk's grouped ``[sum w y y^T, sum b y, n]`` per user (or item)."""
    from scipy.sparse import csr_matrix

    k = fixed.shape[1]
    out = np.zeros((len(ids_self), k * k + k + 1))
    for lo in range(0, block.shape[0], _ROWS):
        part = block[lo:lo + _ROWS]
        m = part.shape[0]
        s = np.searchsorted(ids_self, part[:, col])
        Y = fixed[np.searchsorted(ids_other, part[:, 1 - col])]
        r = part[:, 2]
        if implicit:
            c1 = alpha * np.abs(r)
            w, b, n = c1, np.where(r > 0, 1.0 + c1, 0.0), (r > 0).astype(np.float64)
        else:
            w, b, n = np.ones(m), r, np.ones(m)
        F = np.concatenate([(w[:, None, None] * Y[:, :, None] * Y[:, None, :]).reshape(m, k * k),
                            b[:, None] * Y, n[:, None]], axis=1)
        out += csr_matrix((np.ones(m), (s, np.arange(m))), shape=(len(ids_self), m)) @ F
    return out[None]


def _lookup(ids, values):
    """``(index, known)``: positions of ``values`` in the sorted ``ids`` and whether they are there."""
    idx = np.clip(np.searchsorted(ids, values), 0, max(len(ids) - 1, 0))
    return idx, (ids[idx] == values) if len(ids) else np.zeros(len(values), bool)


def _predict_block(block, U, V, uids, iids, drop):
    u, ku = _lookup(uids, block[:, 0])
    i, ki = _lookup(iids, block[:, 1])
    pred = np.where(ku & ki, np.einsum("ij,ij->i", U[u], V[i]), np.nan)
    return pred[ku & ki] if drop else pred


def _known_count(block, uids, iids):
    return np.array([np.count_nonzero(_lookup(uids, block[:, 0])[1] & _lookup(iids, block[:, 1])[1])])


def _shared(a):
    """``a`` as a one-block dask array: one graph key that every chunk task reads."""
    import dask.array as da

    return da.from_array(np.ascontiguousarray(a), chunks=a.shape)


def _per_chunk(fn, data, shared, new_axes, dtype=np.float64, drop_rows=False, adjust=None, **kwargs):
    """``fn(block, *shared_arrays, **kwargs)`` on every row chunk of the dask array ``data``."""
    import dask.array as da

    letters = iter("defghijklmnopqrstuvwxy")
    args = [data, "zc"]
    for a in shared:  # indices found nowhere else: each array is passed whole, as one block
        args += [_shared(a), "".join(next(letters) for _ in range(a.ndim))]
    out_ind = "z" + "".join(new_axes)
    return da.blockwise(fn, out_ind, *args, new_axes=new_axes, concatenate=True, dtype=dtype,
                        adjust_chunks=adjust, **kwargs)


@register
class ALS(ModelFileMixin, BaseEstimator):
    """Matrix factorization by alternating least squares, Spark MLlib's ALS (see the module docstring).

    Parameters as Spark's: ``rank``, ``max_iter``, ``reg_param``,
    ``implicit_prefs``, ``alpha``, ``nonnegative``, ``seed``,
    ``cold_start_strategy`` ("nan": unknown users/items predict NaN; "drop":
    their rows are left out of ``predict``'s output), and the column names of
    a Frame / DataFrame input. Attributes: ``user_factors_`` (n_users, rank),
    ``item_factors_``, ``user_ids_``, ``item_ids_``, ``n_users_``,
    ``n_items_``.

    >>> import numpy as np
    >>> R = np.array([[0, 0, 5.0], [0, 1, 1.0], [1, 0, 4.0], [1, 1, 1.0], [2, 1, 2.0]])
    >>> model = ALS(rank=2, max_iter=20, reg_param=0.01, seed=0).fit(R)
    >>> model.predict(np.array([[0, 0], [9, 0]])).round(1).tolist()
    [5.0, nan]
    """

    def __init__(self, *, rank=10, max_iter=10, reg_param=0.1, implicit_prefs=False, alpha=1.0,
                 nonnegative=False, seed=None, cold_start_strategy="nan", user_col="user", item_col="item",
                 rating_col="rating"):
        self.rank = rank
        self.max_iter = max_iter
        self.reg_param = reg_param
        self.implicit_prefs = implicit_prefs
        self.alpha = alpha
        self.nonnegative = nonnegative
        self.seed = seed
        self.cold_start_strategy = cold_start_strategy
        self.user_col = user_col
        self.item_col = item_col
        self.rating_col = rating_col

    # ------------------------------------------------------------ inputs
    def _check_params(self):
        from . import _validate as check

        check.integer("rank", self.rank, 1)
        check.integer("max_iter", self.max_iter, 0)
        check.number("reg_param", self.reg_param, 0)
        check.number("alpha", self.alpha, 0)
        for name in ("implicit_prefs", "nonnegative"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.cold_start_strategy not in ("nan", "drop"):
            raise ValueError(f"cold_start_strategy must be 'nan' or 'drop', got {self.cold_start_strategy!r}")

    def _columns(self, n):
        return [self.user_col, self.item_col, self.rating_col][:n]

    def _table(self, X, n_cols):
        """``(tensor (rows, n_cols) float64, kind, column names)`` of a ratings / pairs input."""
        names = self._columns(n_cols)
        kind = input_kind(X)
        if hasattr(X, "iloc") and hasattr(X, "columns"):  # a pandas DataFrame
            from ..core.creation import from_array
            from ..frame.frame import check_columns

            import pandas as pd

            check_columns(names, [str(c) for c in X.columns], where="the DataFrame")
            for c in names:
                t = X[c].dtype
                if isinstance(t, pd.CategoricalDtype) or not (pd.api.types.is_numeric_dtype(t)
                                                              or pd.api.types.is_bool_dtype(t)):
                    raise TypeError(f"column {c!r} has dtype {X[c].dtype}; ALS needs integer ids and numeric "
                                    f"ratings (map ids to integers first, e.g. pandas.factorize)")
            return from_array(X[names].to_numpy(dtype=np.float64)), "numpy", names
        if kind == "frame":
            from ..frame.frame import check_columns

            check_columns(names, X.columns, where="the Frame")
            t = X.to_tensor(names, dtype=np.float64)
        else:
            t, kind = as_tensor_input(X, dtype=np.float64, name="X")
            want = "(n, 3) rows of [user, item, rating]" if n_cols == 3 else "(n, 2) rows of [user, item]"
            if t.ndim != 2 or t.shape[1] < n_cols or (n_cols == 3 and t.shape[1] != 3):
                raise ValueError(f"ALS expects {want}, got shape {t.shape}")
            if t.shape[1] != n_cols:
                t = t[:, :n_cols]
            names = [f"{n} (column {j})" for j, n in enumerate(["user", "item", "rating"][:n_cols])]
        if len(t.chunks[1]) > 1:
            t = t.rechunk((t.chunks[0], -1))
        return t, kind, names

    # ------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Factor the ratings ``X`` (``y`` is ignored); returns self."""
        import chunkflow as cf

        from ..core.array_api import unique_values
        from ..core.creation import from_dask
        from ..runtime import compute
        from .batches import keep_in_memory

        self._check_params()
        t, _, names = self._table(X, 3)
        if t.shape[0] == 0:
            raise ValueError("ALS needs at least one rating, got 0 rows")
        (t,) = keep_in_memory((t,), "auto")  # 2 passes an iteration: hold the ratings in memory when they fit
        u, i, r = t[:, 0], t[:, 1], t[:, 2]

        def good(c):
            return (cf.isfinite(c) & (c >= 0) & (cf.floor(c) == c)).all()

        uids, iids, ok_u, ok_i, ok_r = compute(unique_values(u), unique_values(i), good(u), good(i),
                                               cf.isfinite(r).all())
        if not ok_r:
            raise ValueError(f"ratings column {names[2]!r} contains NaN or inf; drop or impute those rows first")
        for ok, name, ids in ((ok_u, names[0], uids), (ok_i, names[1], iids)):
            if not ok:
                bad = ids[~(np.isfinite(ids) & (ids >= 0) & (np.floor(ids) == ids))][:5]
                raise ValueError(f"ids in column {name!r} must be non-negative integers, found {bad.tolist()}; "
                                 f"map them to integers first (e.g. pandas.factorize)")
        self.user_ids_, self.item_ids_ = uids.astype(np.int64), iids.astype(np.int64)
        self.n_users_, self.n_items_ = len(uids), len(iids)
        k = int(self.rank)
        U = np.random.default_rng(self.seed).normal(size=(self.n_users_, k))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        if self.nonnegative:
            U = np.abs(U)
        V = np.zeros((self.n_items_, k))
        data = t.to_dask()
        for _ in range(int(self.max_iter)):
            for col in (1, 0):  # the items from the users, then the users from the items
                fixed, ids_self, ids_other = (U, iids, uids) if col == 1 else (V, uids, iids)
                part = _per_chunk(_normal_block, data, [fixed, ids_self, ids_other], {"a": len(ids_self),
                                  "b": k * k + k + 1}, col=col, implicit=bool(self.implicit_prefs),
                                  alpha=float(self.alpha))
                (stats,) = compute(from_dask(part).sum(axis=0))
                solved = self._solve(stats, fixed, k)
                if col == 1:
                    V = solved
                else:
                    U = solved
        self.user_factors_, self.item_factors_ = U, V
        self.n_iter_ = int(self.max_iter)
        return self

    def _solve(self, stats, fixed, k):
        """The factors solving every user's (or item's) regularized normal equations."""
        n = stats.shape[0]
        A = stats[:, :k * k].reshape(n, k, k)
        b = stats[:, k * k:k * k + k]
        A = A + float(self.reg_param) * stats[:, -1][:, None, None] * np.eye(k)
        if self.implicit_prefs:
            A = A + fixed.T @ fixed
        if not self.nonnegative:
            try:
                return np.linalg.solve(A, b[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular system (e.g. reg_param=0): the least-norm solution
                return (np.linalg.pinv(A, hermitian=True) @ b[..., None])[..., 0]
        from scipy.linalg import solve_triangular
        from scipy.optimize import nnls

        out = np.zeros((n, k))
        L = np.linalg.cholesky(A + 1e-12 * np.eye(k))
        for j in range(n):  # min x^T A x - 2 b^T x, x >= 0  ==  min ||L^T x - L^-1 b||, x >= 0
            out[j] = nnls(L[j].T, solve_triangular(L[j], b[j], lower=True))[0]
        return out

    # ------------------------------------------------------------ predictions
    def predict(self, X):
        """Predicted ratings of the ``[user, item]`` pairs ``X`` (a third column is ignored).

        Unknown users or items predict NaN (``cold_start_strategy="nan"``)
        or are left out (``"drop"``). NumPy input gives an ndarray, chunked
        input a lazy Tensor (dask array for dask input).
        """
        check_fitted(self, "user_factors_")
        t, kind, _ = self._table(X, 2)
        drop = self.cold_start_strategy == "drop"
        shared = [self.user_factors_, self.item_factors_, self.user_ids_.astype(np.float64),
                  self.item_ids_.astype(np.float64)]
        if kind == "numpy":
            return _predict_block(np.asarray(t.compute()), *shared, drop)
        from ..core.creation import from_dask
        from ..runtime import compute

        data = t.to_dask()
        adjust = None
        if drop:  # the rows each chunk keeps: one counting pass, so the result's chunks are known
            counts = _per_chunk(_known_count, data, shared[2:], {}, dtype=np.int64, adjust={"z": 1})
            adjust = {"z": tuple(int(c) for c in compute(from_dask(counts))[0])}
        out = from_dask(_per_chunk(_predict_block, data, shared, {}, adjust=adjust, drop=drop))
        return out.to_dask() if kind == "dask" else out

    def score(self, X, y=None):
        """Minus the root mean squared error of the predicted ratings of the known pairs in ``X`` (n, 3)."""
        check_fitted(self, "user_factors_")
        t, kind, _ = self._table(X, 3)
        if kind == "numpy":
            data = np.asarray(t.compute())
            pred = _predict_block(data, self.user_factors_, self.item_factors_, self.user_ids_.astype(float),
                                  self.item_ids_.astype(float), False)
            err = (pred - data[:, 2])[~np.isnan(pred)]
            return -float(np.sqrt(np.mean(err ** 2))) if err.size else float("nan")
        import chunkflow as cf

        from ..core.creation import from_dask
        from ..runtime import compute

        shared = [self.user_factors_, self.item_factors_, self.user_ids_.astype(float), self.item_ids_.astype(float)]
        pred = from_dask(_per_chunk(_predict_block, t.to_dask(), shared, {}, drop=False))
        known = cf.isfinite(pred)
        sq = cf.where(known, (pred - t[:, 2]) ** 2, 0.0)
        total, count = compute(sq.sum(), known.astype(np.float64).sum())
        return -float(np.sqrt(total / count)) if count else float("nan")

    # ------------------------------------------------------------ recommendations
    def recommend_for_all_users(self, k=10, batch=4096):
        """``(item_ids, scores)``, each (n_users, k): every user's ``k`` best items, best first.

        Rows follow ``user_ids_``. Scores are computed ``batch`` users at a time
        on the client (``U V^T`` is never held whole).
        """
        check_fitted(self, "user_factors_")
        return _top_k(self.user_factors_, self.item_factors_, self.item_ids_, k, batch)

    def recommend_for_all_items(self, k=10, batch=4096):
        """``(user_ids, scores)``, each (n_items, k): the ``k`` users with the highest score of every item."""
        check_fitted(self, "item_factors_")
        return _top_k(self.item_factors_, self.user_factors_, self.user_ids_, k, batch)

    def recommend_for_user(self, user, k=10):
        """``(item_ids, scores)``: the ``k`` best items of one user id, best first."""
        check_fitted(self, "user_factors_")
        idx, known = _lookup(self.user_ids_, np.asarray([user]))
        if not known[0]:
            raise ValueError(f"user {user!r} was not in the training data; it has no factors "
                             f"({self.n_users_} users are known, see user_ids_)")
        items, scores = _top_k(self.user_factors_[idx], self.item_factors_, self.item_ids_, k, 1)
        return items[0], scores[0]


def _top_k(A, B, ids, k, batch):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    k = min(int(k), B.shape[0])
    items = np.empty((A.shape[0], k), dtype=ids.dtype)
    scores = np.empty((A.shape[0], k))
    for lo in range(0, A.shape[0], batch):
        s = A[lo:lo + batch] @ B.T
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(s, top, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        items[lo:lo + batch] = ids[np.take_along_axis(top, order, axis=1)]
        scores[lo:lo + batch] = np.take_along_axis(part, order, axis=1)
    return items, scores
