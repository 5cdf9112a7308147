"""Hyper-parameter search: ``GridSearchCV``, ``RandomizedSearchCV`` and successive halving.

The interface is scikit-learn's (``best_params_``, ``best_score_``,
``best_estimator_``, ``cv_results_``, delegation of ``predict`` & co.), and
for NumPy input with the same folds the scores are scikit-learn's. What
differs is where the fits run:

* **NumPy input, a ``distributed`` Client active**: X and y are scattered to
  the workers once and every (candidate, fold) fit is one task
  (``client.submit``). The task secedes from the worker's thread pool before
  fitting, so a fit that itself computes on the cluster (when the worker has
  a client of its own) cannot deadlock the worker; otherwise it runs on the
  worker's local threads, which for in-memory data is the cheapest.
* **Chunked input (Tensor, dask array), a Client active**: X and y are
  persisted on the workers once (when they fit in half the cluster's
  memory), and the fits run from a client-side thread pool: each fit is a
  client-side loop (parameters live on the client, DESIGN.md §5) whose passes
  are cluster tasks over the persisted chunks, so concurrent fits interleave
  on the cluster and no data moves to the client. A fit inside a task would
  drive the same passes from a worker with one more hop.
* **No Client**: a thread pool of ``n_jobs`` threads (default 1: a fit on
  chunked data already runs its passes on all cores).

Folds of chunked input are whole row chunks (:class:`chunkflow.ml.KFold`),
so a training fold is a concatenation of chunks and reads nothing twice.
Successive halving (:class:`HalvingGridSearchCV`) spends a *resource* on
each candidate, multiplied by ``factor`` every round while the best
``1/factor`` of the candidates go on: the resource is the number of training
rows of each fit for NumPy input and the number of training row chunks for
chunked input (``cv_results_["n_resources"]``, and ``"n_train_rows"`` in rows).
"""
from __future__ import annotations

import math
import numbers
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils.metaestimators import available_if

from ..core.tensor import Tensor
from .base import as_tensor_input, check_fitted, input_kind
from .scoring import SCORERS, get_scorer

__all__ = ["GridSearchCV", "RandomizedSearchCV", "get_scorer", "SCORERS", "grid_candidates", "sampled_candidates"]


# ---------------------------------------------------------------- candidates
def _check_names(estimator, names):
    valid = estimator.get_params(deep=True)
    for name in names:
        if name not in valid:
            raise ValueError(f"Invalid parameter {name!r} for estimator {type(estimator).__name__}. "
                             f"Valid parameters are: {sorted(valid)}")


def _as_list_of_dicts(spec, what):
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, (list, tuple)) or not all(isinstance(g, dict) for g in spec):
        raise TypeError(f"{what} must be a dict of parameter name -> values, or a list of such dicts; "
                        f"got {spec!r}")
    if not spec or all(not g for g in spec):
        raise ValueError(f"{what} is empty: give at least one parameter and its values, e.g. "
                         f"{{'alpha': [0.1, 1.0, 10.0]}}")
    return list(spec)


def grid_candidates(estimator, param_grid) -> list:
    """The parameter dicts of ``param_grid`` in scikit-learn's ``ParameterGrid`` order, checked."""
    from sklearn.model_selection import ParameterGrid

    grids = _as_list_of_dicts(param_grid, "param_grid")
    for g in grids:
        _check_names(estimator, g)
        for name, values in g.items():
            if isinstance(values, str) or not hasattr(values, "__len__") or len(values) == 0:
                raise ValueError(f"param_grid[{name!r}] must be a non-empty list of values, got {values!r}")
    return list(ParameterGrid(grids))


def sampled_candidates(estimator, param_distributions, n_iter, random_state) -> list:
    """``n_iter`` parameter dicts drawn as scikit-learn's ``ParameterSampler`` draws them (reproducible)."""
    from sklearn.model_selection import ParameterSampler

    dists = _as_list_of_dicts(param_distributions, "param_distributions")
    for d in dists:
        _check_names(estimator, d)
        for name, values in d.items():
            if not hasattr(values, "rvs") and (isinstance(values, str) or not hasattr(values, "__len__")
                                               or len(values) == 0):
                raise ValueError(f"param_distributions[{name!r}] must be a non-empty list or an object with "
                                 f".rvs(random_state=...) (a scipy.stats distribution), got {values!r}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 1:
        raise ValueError(f"n_iter must be an integer >= 1, got {n_iter!r}")
    return list(ParameterSampler(dists, n_iter, random_state=random_state))


# ---------------------------------------------------------------- data and folds
class _Data:
    """The search's inputs: NumPy arrays, or Tensors (persisted on the cluster when a Client is active)."""

    def __init__(self, X, y, client):
        self.X, self.y = X, y
        self.kind = input_kind(X)
        if self.kind == "frame":
            raise TypeError("a search splits X into folds of rows; assemble a Frame's feature columns into a "
                            "Tensor first (chunkflow.ml.VectorAssembler(cols).transform(frame) or "
                            "frame.to_tensor(cols))")
        if self.kind == "numpy":
            self.X = X if hasattr(X, "iloc") else np.asarray(X)
            self.y = None if y is None else (y if hasattr(y, "iloc") else np.asarray(y))
            self.n = len(self.X)
            if self.y is not None and len(self.y) != self.n:
                raise ValueError(f"Found input variables with inconsistent numbers of samples: X has {self.n} "
                                 f"rows, y has {len(self.y)}")
            return
        from .batches import keep_in_memory

        Xt, _ = as_tensor_input(X, dtype=None)
        self.grid = Xt.chunks[0]
        yt = None
        if y is not None:
            yt, _ = as_tensor_input(y, dtype=None, name="y")
            if yt.shape[0] != Xt.shape[0]:
                raise ValueError(f"Found input variables with inconsistent numbers of samples: X has "
                                 f"{Xt.shape[0]} rows, y has {yt.shape[0]}")
            if yt.chunks[0] != self.grid:
                yt = yt.rechunk((self.grid,) + tuple(yt.chunks[1:]))
        if client is not None:  # held on the workers once, read by every fit
            Xt, yt = keep_in_memory((Xt, yt), "auto", scheduler=client)
        self.X, self.y, self.n = Xt, yt, Xt.shape[0]

    def splits(self, cv, estimator):
        """``[(train, test)]``: row index arrays (NumPy) or lists of row-chunk indices (chunked)."""
        if self.kind == "numpy":
            from sklearn.model_selection import check_cv

            folds = check_cv(cv, self.y, classifier=is_classifier(estimator))
            return [(np.asarray(tr), np.asarray(te)) for tr, te in folds.split(self.X, self.y)]
        from .model_selection import KFold

        n_chunks = len(self.grid)
        n_splits = cv if isinstance(cv, numbers.Integral) and not isinstance(cv, bool) else \
            getattr(cv, "n_splits", None)
        if cv is None:
            n_splits = 5
        if isinstance(n_splits, numbers.Integral) and n_splits > n_chunks:
            raise ValueError(f"cv={n_splits} folds need at least {n_splits} row chunks, but X has {n_chunks} "
                             f"row chunk(s) (folds of chunked input are whole chunks); rechunk X into smaller "
                             f"row chunks, e.g. X.rechunk(({max(1, self.n // (2 * n_splits))}, -1)), or lower cv")
        splitter = KFold(5 if cv is None else cv) if cv is None or isinstance(cv, numbers.Integral) else cv
        if not hasattr(splitter, "split"):
            raise ValueError(f"cv must be an int, None or a splitter with split(X, y), got {cv!r}")
        bounds = np.concatenate([[0], np.cumsum(self.grid)])
        out = []
        for tr, te in splitter.split(self.X, self.y):
            out.append((self._as_chunks(np.asarray(tr), bounds), self._as_chunks(np.asarray(te), bounds)))
        return out

    @staticmethod
    def _as_chunks(idx, bounds):
        """Chunk indices when ``idx`` is a union of whole chunks (in order), else the row indices."""
        chunks = np.unique(np.searchsorted(bounds, idx, side="right") - 1)
        whole = np.concatenate([np.arange(bounds[c], bounds[c + 1]) for c in chunks]) if len(chunks) else idx
        return ("chunks", chunks.tolist()) if np.array_equal(np.sort(idx), whole) else ("rows", np.sort(idx))

    def rows(self, part) -> int:
        if self.kind == "numpy":
            return len(part)
        how, sel = part
        return int(sum(self.grid[c] for c in sel)) if how == "chunks" else len(sel)

    def take(self, part):
        """``(X, y)`` of a fold part."""
        if self.kind == "numpy":
            pick = (lambda a: a.iloc[part]) if hasattr(self.X, "iloc") else (lambda a: a[part])
            return pick(self.X), None if self.y is None else (self.y.iloc[part] if hasattr(self.y, "iloc")
                                                                else self.y[part])
        from .batches import take_row_chunks

        how, sel = part
        if how == "chunks":
            return (take_row_chunks(self.X, sel, self.grid),
                    None if self.y is None else take_row_chunks(self.y, sel, self.grid))
        return self.X[sel], None if self.y is None else self.y[sel]

    def subsample(self, part, n_resources, seed):
        """The first ``n_resources`` rows (NumPy) or row chunks (chunked) of ``part`` in a seeded order."""
        rng = np.random.default_rng(seed)
        if self.kind == "numpy":
            return np.sort(rng.permutation(part)[:n_resources])
        how, sel = part
        return (how, sorted(rng.permutation(sel)[:n_resources].tolist()) if how == "chunks"
                else np.sort(rng.permutation(sel)[:n_resources]))

    def size(self, part) -> int:
        """A part's size in resource units: rows (NumPy) or row chunks (chunked)."""
        return len(part) if self.kind == "numpy" else len(part[1])


# ---------------------------------------------------------------- one fit
def fit_and_score(estimator, X_train, y_train, X_test, y_test, scorer, error_score):
    """``(score, fit_time, score_time, error)`` of ``estimator`` fitted on the train part, scored on the test part."""
    t0 = time.perf_counter()
    try:
        if y_train is None:
            estimator.fit(X_train)
        else:
            estimator.fit(X_train, y_train)
        t1 = time.perf_counter()
        score = float(scorer(estimator, X_test, y_test))
    except Exception as e:  # noqa: BLE001 - error_score decides
        if isinstance(error_score, str) and error_score == "raise":
            raise
        return float(error_score), time.perf_counter() - t0, 0.0, f"{type(e).__name__}: {e}"
    return score, t1 - t0, time.perf_counter() - t1, None


def _task(estimator, X, y, train, test, scorer, error_score):
    """A (candidate, fold) fit as a ``distributed`` task on NumPy data (see the module docstring)."""
    import distributed

    distributed.secede()
    try:
        pick = (lambda a, i: a.iloc[i]) if hasattr(X, "iloc") else (lambda a, i: a[i])
        yt = None if y is None else (y.iloc[train] if hasattr(y, "iloc") else y[train])
        ye = None if y is None else (y.iloc[test] if hasattr(y, "iloc") else y[test])
        return fit_and_score(estimator, pick(X, train), yt, pick(X, test), ye, scorer, error_score)
    finally:
        distributed.rejoin()


def _active_client():
    import sys

    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


# ---------------------------------------------------------------- the searches
class _BaseSearch(MetaEstimatorMixin, BaseEstimator):
    """Runs candidates x folds, records ``cv_results_``, refits the best (see the module docstring)."""

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags, tags.regressor_tags = sub.classifier_tags, sub.regressor_tags
        tags.transformer_tags = sub.transformer_tags
        return tags

    # -- running
    def _check_common(self):
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "get_params"):
            raise TypeError(f"estimator must be a scikit-learn style estimator (fit, get_params), "
                            f"got {self.estimator!r}")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(f"refit must be True or False (one metric per search), got {self.refit!r}")
        es = self.error_score
        if not (isinstance(es, str) and es == "raise") and (isinstance(es, bool)
                                                             or not isinstance(es, numbers.Real)):
            raise ValueError(f"error_score must be 'raise' or a number (np.nan by default), got {es!r}")
        n = self.n_jobs
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n == 0 or n < -1):
            raise ValueError(f"n_jobs must be None, -1 or an integer >= 1, got {n!r}")
        return get_scorer(self.scoring)

    def _threads(self, client, n_tasks):
        if client is not None:
            total = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()) or 1
            n = total if self.n_jobs in (None, -1) else self.n_jobs
        else:
            n = 1 if self.n_jobs is None else (os.cpu_count() or 1) if self.n_jobs == -1 else self.n_jobs
        return max(1, min(n, n_tasks))

    def _run(self, data, jobs, scorer, client):
        """Scores of ``jobs`` = [(params, train, test)]: ``[(score, fit_time, score_time, error)]``."""
        est = self.estimator
        if client is not None and data.kind == "numpy":
            Xf = client.scatter(data.X)  # once: every task reads the workers' copy
            yf = None if data.y is None else client.scatter(data.y)
            futures = [client.submit(_task, clone(est).set_params(**p), Xf, yf, tr, te, scorer,
                                     self.error_score, pure=False) for p, tr, te in jobs]
            return client.gather(futures)

        def one(job):
            p, tr, te = job
            Xa, ya = data.take(tr)
            Xe, ye = data.take(te)
            return fit_and_score(clone(est).set_params(**p), Xa, ya, Xe, ye, scorer, self.error_score)

        n = self._threads(client, len(jobs))
        if n == 1:
            return [one(j) for j in jobs]
        from ..runtime import _blas_limit

        # one BLAS limit around all threads: nested limits from concurrent threads would restore out of order
        with _blas_limit("threads" if client is None else client), ThreadPoolExecutor(n) as pool:
            return list(pool.map(one, jobs))

    def _record(self, results, candidates, scores, n_splits, extra=None):
        """Append the rows of ``candidates`` (their per-split results in ``scores``) to ``results``."""
        for i, p in enumerate(candidates):
            rows = scores[i * n_splits:(i + 1) * n_splits]
            s = np.array([r[0] for r in rows], dtype=np.float64)
            results["params"].append(p)
            for k in range(n_splits):
                results.setdefault(f"split{k}_test_score", []).append(s[k])
            results["mean_test_score"].append(float(np.mean(s)))
            results["std_test_score"].append(float(np.std(s)))
            results["mean_fit_time"].append(float(np.mean([r[1] for r in rows])))
            results["std_fit_time"].append(float(np.std([r[1] for r in rows])))
            results["mean_score_time"].append(float(np.mean([r[2] for r in rows])))
            results["std_score_time"].append(float(np.std([r[2] for r in rows])))
            for key, value in (extra or {}).items():
                results.setdefault(key, []).append(value)

    def _finish(self, results, data, scorer, client, order_key=None):
        errors = [e for e in self._errors if e is not None]
        if errors and len(errors) == len(self._errors):
            raise ValueError(f"all {len(errors)} fits failed; the first error: {errors[0]}")
        if errors:
            from sklearn.exceptions import FitFailedWarning

            warnings.warn(f"{len(errors)} of {len(self._errors)} fits failed and got score "
                          f"{self.error_score}; the first error: {errors[0]}", FitFailedWarning, stacklevel=3)
        out = {k: (np.asarray(v) if k != "params" else v) for k, v in results.items()}
        names = sorted({k for p in results["params"] for k in p})
        for name in names:
            col = np.ma.MaskedArray(np.empty(len(results["params"]), dtype=object),
                                    mask=[name not in p for p in results["params"]])
            for i, p in enumerate(results["params"]):
                if name in p:
                    col[i] = p[name]
            out[f"param_{name}"] = col
        mean = np.asarray(results["mean_test_score"])
        key = np.where(np.isnan(mean), -np.inf, mean)
        primary = np.zeros(len(mean)) if order_key is None else np.asarray(order_key)
        # rank 1 = best; ties share the lower rank (scipy's 'min'), NaN scores rank last
        order = np.lexsort((-key, -primary))
        ranks = np.empty(len(mean), dtype=np.int32)
        prev, rank = None, 0
        for pos, i in enumerate(order):
            if (primary[i], key[i]) != prev:
                rank, prev = pos + 1, (primary[i], key[i])
            ranks[i] = rank
        out["rank_test_score"] = ranks
        self.cv_results_ = out
        self.best_index_ = int(np.argmin(ranks))
        self.best_params_ = results["params"][self.best_index_]
        self.best_score_ = float(mean[self.best_index_])
        self.scorer_ = scorer
        self.multimetric_ = False
        if self.refit:
            t0 = time.perf_counter()
            best = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
            best.fit(data.X) if data.y is None else best.fit(data.X, data.y)
            self.refit_time_ = time.perf_counter() - t0
            self.best_estimator_ = best
            if hasattr(best, "n_features_in_"):
                self.n_features_in_ = best.n_features_in_
            if hasattr(best, "feature_names_in_"):
                self.feature_names_in_ = best.feature_names_in_
        del self._errors
        return self

    def _prepare(self, X, y):
        scorer = self._check_common()
        client = _active_client()
        data = _Data(X, y, client)
        splits = data.splits(self.cv, self.estimator)
        self.n_splits_ = len(splits)
        self._errors = []
        return scorer, client, data, splits

    def _evaluate(self, data, candidates, splits, scorer, client):
        jobs = [(p, tr, te) for p in candidates for tr, te in splits]
        scores = self._run(data, jobs, scorer, client)
        self._errors.extend(r[3] for r in scores)
        return scores

    # -- delegation to best_estimator_
    def _has(name):  # noqa: N805 - a decorator factory used in the class body
        def check(self):
            if self.refit is False:
                raise AttributeError(f"{name} is available only after refitting on the best parameters "
                                     f"(refit=True)")
            target = getattr(self, "best_estimator_", self.estimator)
            getattr(target, name)
            return True
        return check

    def _best(self):
        check_fitted(self, "best_estimator_")
        return self.best_estimator_

    @available_if(_has("predict"))
    def predict(self, X):
        """``best_estimator_.predict(X)``."""
        return self._best().predict(X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        """``best_estimator_.predict_proba(X)``."""
        return self._best().predict_proba(X)

    @available_if(_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """``best_estimator_.predict_log_proba(X)``."""
        return self._best().predict_log_proba(X)

    @available_if(_has("decision_function"))
    def decision_function(self, X):
        """``best_estimator_.decision_function(X)``."""
        return self._best().decision_function(X)

    @available_if(_has("transform"))
    def transform(self, X):
        """``best_estimator_.transform(X)``."""
        return self._best().transform(X)

    @available_if(_has("inverse_transform"))
    def inverse_transform(self, X):
        """``best_estimator_.inverse_transform(X)``."""
        return self._best().inverse_transform(X)

    def score(self, X, y=None):
        """The search's scorer on ``best_estimator_`` (a float)."""
        return float(self.scorer_(self._best(), X, y))

    @property
    def classes_(self):
        return self._best().classes_


class GridSearchCV(_BaseSearch):
    """Exhaustive search over ``param_grid`` with cross-validation (scikit-learn's interface).

    ``scoring``: None (the estimator's ``score``), a name in :data:`SCORERS`
    or ``scorer(estimator, X, y) -> float``. ``cv``: an int (KFold; for NumPy
    classifiers StratifiedKFold, as scikit-learn), or a splitter. ``n_jobs``:
    concurrent fits (module docstring). ``error_score``: the score of a
    failed fit, or ``"raise"``.
    """

    def __init__(self, estimator, param_grid, *, scoring=None, n_jobs=None, refit=True, cv=None,
                 error_score=np.nan):
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.error_score = error_score

    def _candidates(self, n=None):
        return grid_candidates(self.estimator, self.param_grid)

    def fit(self, X, y=None):
        """Fit every candidate on every fold, then refit the best on all of X; returns self."""
        candidates = self._candidates()
        scorer, client, data, splits = self._prepare(X, y)
        scores = self._evaluate(data, candidates, splits, scorer, client)
        results = {k: [] for k in ("params", "mean_test_score", "std_test_score", "mean_fit_time",
                                   "std_fit_time", "mean_score_time", "std_score_time")}
        self._record(results, candidates, scores, len(splits))
        return self._finish(results, data, scorer, client)


class RandomizedSearchCV(GridSearchCV):
    """``n_iter`` candidates sampled from ``param_distributions`` (lists or ``.rvs`` objects), seeded."""

    def __init__(self, estimator, param_distributions, *, n_iter=10, scoring=None, n_jobs=None, refit=True,
                 cv=None, random_state=None, error_score=np.nan):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.random_state = random_state
        self.error_score = error_score

    def _candidates(self, n=None):
        return sampled_candidates(self.estimator, self.param_distributions, self.n_iter if n is None else n,
                                  self.random_state)
