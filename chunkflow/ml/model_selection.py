"""Chunk-wise ``train_test_split`` and ``KFold`` for chunked arrays (NumPy input as scikit-learn).

``train_test_split`` on Tensors picks test rows inside every row chunk with
a seeded generator (chunk ``i`` gets ``SeedSequence(random_state).spawn``'s
i-th stream, so the split does not depend on how the work is scheduled):
the test and train sizes are scikit-learn's (``ceil(test_size * n)`` and
``floor(train_size * n)``, or the rest), spread over the chunks in
proportion to their rows, and every array is split with the same row
indices, so X and y stay aligned. The
outputs are lazy Tensors with known chunk sizes; nothing is read.

``KFold`` on Tensors splits the row chunks (not rows) into folds: fold
boundaries fall on chunk boundaries, so a training set is a concatenation
of whole chunks (``split`` yields index arrays, as scikit-learn's).

The searches (``GridSearchCV``, ``RandomizedSearchCV``, scoring) live in
``search.py`` and are exported here; successive halving
(``HalvingGridSearchCV``, ``HalvingRandomSearchCV``) is at the end of this
module: round ``i`` fits the surviving candidates on ``min_resources *
factor**i`` resources — training rows (NumPy input) or training row chunks
(chunked input), drawn with ``random_state``; test folds stay whole — and
keeps the best ``ceil(n / factor)``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from sklearn.base import is_classifier

from .base import as_output, as_tensor_input, input_kind
from .search import SCORERS, GridSearchCV, RandomizedSearchCV, get_scorer

__all__ = ["train_test_split", "KFold", "chunk_row_indices", "GridSearchCV", "RandomizedSearchCV",
           "HalvingGridSearchCV", "HalvingRandomSearchCV", "get_scorer", "SCORERS"]


def _count(name, value, n):
    """Rows for ``value`` (a fraction in (0, 1) or a count in [1, n)), as scikit-learn counts them."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a float in (0, 1) or an int in [1, n_samples), got {value!r}")
    if isinstance(value, numbers.Integral):
        if not 0 < value < n:
            raise ValueError(f"{name}={value} must be in [1, n_samples={n}) as an int")
        return int(value)
    if not 0 < value < 1:
        raise ValueError(f"{name}={value} must be in (0, 1) as a float")
    return math.ceil(value * n) if name == "test_size" else math.floor(value * n)


def spread(total, capacity) -> np.ndarray:
    """``total`` rows dealt over chunks in proportion to ``capacity`` (largest remainders first), each <= its capacity.

    >>> spread(5, [4, 4, 2]).tolist()
    [2, 2, 1]
    """
    capacity = np.asarray(capacity, dtype=np.int64)
    share = total * capacity / max(int(capacity.sum()), 1)
    out = np.minimum(np.floor(share).astype(np.int64), capacity)
    for i in np.argsort(-(share - out), kind="stable"):  # the rest, one row each, largest remainder first
        if out.sum() >= total:
            break
        if out[i] < capacity[i]:
            out[i] += 1
    return out


def chunk_row_indices(chunks, n_test, random_state, n_train=None):
    """``(train_idx, test_idx)``: global row indices; ``n_test`` (and ``n_train``) rows spread over the chunks,
    chosen inside each chunk by a seeded RNG (all the other rows train when ``n_train`` is None)."""
    seed = random_state if isinstance(random_state, numbers.Integral) else np.random.SeedSequence().entropy
    streams = np.random.SeedSequence(int(seed)).spawn(len(chunks))
    tests = spread(n_test, chunks)
    trains = None if n_train is None else spread(n_train, np.asarray(chunks) - tests)
    train, test, start = [], [], 0
    for i, (rows, ss) in enumerate(zip(chunks, streams)):
        perm = np.random.default_rng(ss).permutation(rows)
        k = tests[i]
        test.append(np.sort(perm[:k]) + start)
        train.append(np.sort(perm[k:] if trains is None else perm[k:k + trains[i]]) + start)
        start += rows
    return np.concatenate(train), np.concatenate(test)


def train_test_split(*arrays, test_size=None, train_size=None, random_state=None, shuffle=True,
                     stratify=None):
    """Split arrays into train and test parts: ``[X_train, X_test, y_train, y_test, ...]``.

    NumPy input goes to scikit-learn's ``train_test_split`` (same results).
    Chunked input is split chunk-wise (module docstring); ``stratify`` and
    ``shuffle=False`` are only for NumPy input.
    """
    if not arrays:
        raise ValueError("At least one array required as input")
    kinds = [input_kind(a) for a in arrays]
    if all(k == "numpy" for k in kinds):
        from sklearn.model_selection import train_test_split as sk_split

        return sk_split(*arrays, test_size=test_size, train_size=train_size, random_state=random_state,
                        shuffle=shuffle, stratify=stratify)
    if stratify is not None or not shuffle:
        raise ValueError("stratify and shuffle=False are supported for NumPy input only; chunked input is "
                         "split by a seeded sample of rows inside every chunk")
    tensors = [as_tensor_input(a, dtype=None, name=f"arrays[{i}]")[0] for i, a in enumerate(arrays)]
    n = tensors[0].shape[0]
    for i, t in enumerate(tensors[1:], 1):
        if t.shape[0] != n:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: arrays[0] has {n} "
                             f"rows, arrays[{i}] has {t.shape[0]}")
    n_test = _count("test_size", test_size, n)
    n_train = _count("train_size", train_size, n)
    if n_test is None:
        n_test = math.ceil(0.25 * n) if n_train is None else n - n_train
    elif n_train is not None and n_train + n_test > n:
        raise ValueError(f"train_size + test_size = {n_train} + {n_test} rows is more than the {n} there are; "
                         f"reduce test_size or train_size")
    if n_test == 0 or n - n_test == 0 or n_train == 0:
        raise ValueError(f"with n_samples={n}, test_size={test_size} and train_size={train_size} one part would "
                         f"be empty; adjust the sizes")
    chunks = tensors[0].chunks[0]
    train_idx, test_idx = chunk_row_indices(chunks, n_test, random_state, n_train)
    out = []
    for a, t, kind in zip(arrays, tensors, kinds):
        t = t.rechunk((chunks,) + tuple(t.chunks[1:])) if t.chunks[0] != chunks else t
        out.extend([as_output(t[train_idx], kind), as_output(t[test_idx], kind)])
    return out


class KFold:
    """K folds of row chunks for Tensors (fold edges on chunk edges); of rows for NumPy input.

    ``split(X)`` yields ``(train_idx, test_idx)`` integer arrays. For NumPy
    input it is scikit-learn's ``KFold`` with the same parameters. For a
    Tensor the chunks (shuffled with ``random_state`` when ``shuffle``) are
    dealt into ``n_splits`` contiguous groups of nearly equal chunk counts.
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def split(self, X, y=None, groups=None):
        if input_kind(X) == "numpy":
            from sklearn.model_selection import KFold as SKKFold

            yield from SKKFold(self.n_splits, shuffle=self.shuffle,
                               random_state=self.random_state).split(X, y, groups)
            return
        t, _ = as_tensor_input(X, dtype=None)
        chunks = t.chunks[0]
        if len(chunks) < self.n_splits:
            raise ValueError(f"Cannot have n_splits={self.n_splits} greater than the number of row chunks="
                             f"{len(chunks)}; rechunk X into smaller row chunks")
        bounds = np.concatenate([[0], np.cumsum(chunks)])
        order = np.arange(len(chunks))
        if self.shuffle:
            np.random.default_rng(self.random_state).shuffle(order)
        for fold in np.array_split(order, self.n_splits):
            mask = np.zeros(bounds[-1], dtype=bool)
            for c in fold:
                mask[bounds[c]:bounds[c + 1]] = True
            yield np.flatnonzero(~mask), np.flatnonzero(mask)


# ---------------------------------------------------------------- successive halving
def _ilog(n, factor) -> int:
    """The largest ``k`` with ``factor ** k <= n`` (exact, no float logarithm)."""
    k = 0
    while factor ** (k + 1) <= n:
        k += 1
    return k


def _resource(name, value, words):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be {words} or an integer >= 1, got {value!r}")
    return int(value)


class _Halving:
    """Successive halving (see the module docstring), mixed into the two searches below."""

    def fit(self, X, y=None):
        """Rounds of fits on growing resources, keeping the best ``1/factor`` each round; returns self."""
        f = self.factor
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not f > 1:
            raise ValueError(f"factor must be a number > 1, got {f!r}")
        sampled = getattr(self, "n_candidates", None) == "exhaust"
        candidates = self._candidates(1 if sampled else getattr(self, "n_candidates", None))  # checks names
        scorer, client, data, splits = self._prepare(X, y)
        unit = "rows" if data.kind == "numpy" else "row chunks"
        full = min(data.size(tr) for tr, _ in splits)
        max_r = full if self.max_resources == "auto" else _resource("max_resources", self.max_resources, "'auto'")
        if max_r > full:
            raise ValueError(f"max_resources={max_r} is more than the smallest training fold holds ({full} {unit})")
        if sampled:
            if self.min_resources == "exhaust":
                raise ValueError("n_candidates='exhaust' needs min_resources='smallest' or an int, not 'exhaust'")
            min_r = self._min_resources(data, candidates, max_r)
            candidates = self._candidates(max(1, max_r // min_r))
        else:
            min_r = self._min_resources(data, candidates, max_r)
        n_required = 1 + _ilog(len(candidates), f)
        n_possible = 1 + _ilog(max_r // min_r, f)
        n_iterations = min(n_possible, n_required)
        rs = self.random_state
        base = int(rs) if isinstance(rs, numbers.Integral) else int(np.random.SeedSequence().entropy % 2 ** 63)
        results = {k: [] for k in ("params", "mean_test_score", "std_test_score", "mean_fit_time",
                                   "std_fit_time", "mean_score_time", "std_score_time")}
        alive, self.n_resources_, self.n_candidates_ = candidates, [], []
        for it in range(n_iterations):
            r = int(min(min_r * f ** it, max_r))
            sub = [(tr if data.size(tr) <= r else data.subsample(tr, r, np.random.SeedSequence([base, it, k])), te)
                   for k, (tr, te) in enumerate(splits)]
            scores = self._evaluate(data, alive, sub, scorer, client)
            start = len(results["params"])
            rows = float(np.mean([data.rows(tr) for tr, _ in sub]))
            self._record(results, alive, scores, len(sub), {"iter": it, "n_resources": r, "n_train_rows": rows})
            self.n_resources_.append(r)
            self.n_candidates_.append(len(alive))
            mean = np.asarray(results["mean_test_score"][start:])
            order = np.argsort(-np.where(np.isnan(mean), -np.inf, mean), kind="stable")
            alive = [alive[i] for i in order[:math.ceil(len(alive) / f)]]
        self.n_iterations_, self.n_possible_iterations_ = n_iterations, n_possible
        self.n_required_iterations_, self.min_resources_, self.max_resources_ = n_required, min_r, max_r
        return self._finish(results, data, scorer, client, order_key=results["iter"])

    def _min_resources(self, data, candidates, max_r):
        # the least a fit can use: 1 row chunk, or (as scikit-learn) 2 rows per split and class
        smallest = 1
        if data.kind == "numpy":
            classes = len(np.unique(np.asarray(data.y))) if is_classifier(self.estimator) and data.y is not None \
                else 1
            smallest = 2 * self.n_splits_ * classes
        if self.min_resources == "exhaust":  # the last round gets close to max_resources
            min_r = max(smallest, int(max_r // self.factor ** _ilog(len(candidates), self.factor)))
        elif self.min_resources == "smallest":
            min_r = smallest
        else:
            min_r = _resource("min_resources", self.min_resources, "'exhaust', 'smallest'")
        if min_r > max_r:
            raise ValueError(f"min_resources={min_r} is more than max_resources={max_r} per training fold; lower "
                             f"min_resources, use fewer folds or more data")
        return min_r


class HalvingGridSearchCV(_Halving, GridSearchCV):
    """Successive halving over ``param_grid``: every candidate on few resources, the best on ever more.

    ``min_resources``: ``"exhaust"`` (the last round uses close to
    ``max_resources``), ``"smallest"`` or an int; ``max_resources``:
    ``"auto"`` (the smallest training fold) or an int (units: module
    docstring). Attributes as scikit-learn's (``n_resources_``,
    ``n_candidates_``, ``n_iterations_``, ``min_resources_``,
    ``max_resources_``); ``cv_results_`` adds ``iter``, ``n_resources`` and
    ``n_train_rows`` and ranks the last round first.
    """

    def __init__(self, estimator, param_grid, *, factor=3, min_resources="exhaust", max_resources="auto",
                 cv=5, scoring=None, refit=True, error_score=np.nan, random_state=None, n_jobs=None):
        super().__init__(estimator, param_grid, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         error_score=error_score)
        self.factor = factor
        self.min_resources = min_resources
        self.max_resources = max_resources
        self.random_state = random_state


class HalvingRandomSearchCV(_Halving, RandomizedSearchCV):
    """Successive halving over ``n_candidates`` sampled candidates (``"exhaust"``: ``max_resources //
    min_resources`` of them, so the rounds can end on one); otherwise as :class:`HalvingGridSearchCV`."""

    def __init__(self, estimator, param_distributions, *, n_candidates="exhaust", factor=3,
                 min_resources="smallest", max_resources="auto", cv=5, scoring=None, refit=True,
                 error_score=np.nan, random_state=None, n_jobs=None):
        super().__init__(estimator, param_distributions, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         random_state=random_state, error_score=error_score)
        self.n_candidates = n_candidates
        self.factor = factor
        self.min_resources = min_resources
        self.max_resources = max_resources
