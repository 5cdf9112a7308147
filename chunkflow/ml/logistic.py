"""Linear classifiers: LogisticRegression (binary and multinomial) and LinearSVC (squared hinge).

Both minimize scikit-learn's objectives with the solvers of
:mod:`chunkflow.ml.glm_solver`: ``C * sum_i s_i loss_i + penalty(w)``,
written as ``1/N sum_i s_i loss_i + penalty(w) / (C N)`` so the numbers stay
O(1). Class weights multiply the sample weights. The first pass over the
data gives the class labels and counts and the column moments (for the
solver's standardized coordinates) together; NaN/inf in X shows up there.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning

import chunkflow as cf

from . import _validate as check
from .base import as_output, as_tensor_input
from .device import compute, fetch, place
from .fit_input import class_labels, class_weights, fit_input, moments
from .glm_solver import FAMILIES, GLMProblem, solve
from .linear import LinearModel
from .persist import register

__all__ = ["LogisticRegression", "LinearSVC"]

NEWTON_MAX_PARAMS = 1000  # solver='auto' uses Newton up to this many coefficients, L-BFGS beyond


def _class_data(est, X, y, sample_weight):
    """``(data, classes, counts, S, mean, scale, onehot)`` from one pass (two for NumPy labels: none)."""
    data = fit_input(est, X, y, sample_weight, classifier=True)
    extra = ()
    if data.kind != "numpy":
        u = cf.unique_counts(data.y)
        extra = (u.values, u.counts)
    S, sx, sxx, *unique = moments(data, extra)
    classes, counts, index = class_labels(data, tuple(unique) if unique else None)
    K = len(classes)
    if index is not None:
        labels = place(cf.from_array(index, chunks=(data.X.chunks[0],)), data.X.device)
        onehot = cf.astype(cf.equal(labels[:, None], cf.arange(K)), np.float64)
    else:  # string labels stay on the CPU: their one-hot matrix moves to X's device
        onehot = place(cf.astype(cf.equal(data.y[:, None], cf.asarray(classes)), np.float64), data.X.device)
    mean = sx / S
    scale = np.sqrt(np.maximum(sxx / S - mean * mean, 0.0))
    scale = np.where(scale > 1e-12 * np.maximum(np.abs(mean), 1.0), scale, 1.0)
    return data, classes, counts, S, mean, scale, onehot


def _class_weights(class_weight, classes, counts, sw, onehot):
    """Per-class weights; 'balanced' counts rows by their sample weights, as scikit-learn (a pass then)."""
    if isinstance(class_weight, str) and class_weight == "balanced" and sw is not None:
        counts = compute((onehot * sw[:, None]).sum(axis=0))[0]
    return class_weights(class_weight, classes, counts)


def _row_weights(sw, onehot, cw):
    """Sample weights times the weight of each row's class (None when both are trivial)."""
    if np.all(cw == 1.0):
        return sw
    row = onehot @ cw
    return row if sw is None else row * sw


def _auto_solver(solver, n_params, l1):
    if solver != "auto":
        return solver
    return "newton" if l1 or n_params <= NEWTON_MAX_PARAMS else "lbfgs"


class _LinearClassifier(ClassifierMixin, LinearModel):
    def decision_function(self, X):
        """Scores: (n,) for two classes (positive: ``classes_[1]``), (n, n_classes) otherwise."""
        out, kind = self._decision(X)
        return as_output(out, kind)

    def _decision(self, X):
        out, kind = self._linear(X)
        return (out[:, 0] if out.shape[1] == 1 else out), kind

    def predict(self, X):
        """Class labels from ``classes_``: ndarray for NumPy input, lazy for chunked input."""
        scores, kind = self._decision(X)
        index = cf.astype(scores > 0, np.int64) if scores.ndim == 1 else cf.argmax(scores, axis=1)
        if kind == "numpy":
            return self.classes_[np.asarray(fetch(index))]
        return as_output(cf.take(cf.asarray(self.classes_), index), kind)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (weighted by ``sample_weight``)."""
        pred = self.predict(X)
        if isinstance(pred, np.ndarray):
            from sklearn.metrics import accuracy_score

            return float(accuracy_score(y, pred, sample_weight=sample_weight))
        pred, _ = as_tensor_input(pred, dtype=None)
        y, _ = as_tensor_input(y, dtype=None, name="y")
        hit = cf.astype(cf.equal(pred, y), np.float64)
        if sample_weight is None:
            return float(compute(hit.mean())[0])
        sw, _ = as_tensor_input(sample_weight, name="sample_weight")
        num, den = compute((hit * sw).sum(), sw.sum())
        return float(num / den)

    def _zero_intercept(self, k):
        return np.zeros(k)  # LogisticRegression's; LinearSVC's is 0.0, as scikit-learn's

    def _finish(self, W, b, n_iter, converged):
        self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = b if self.fit_intercept else self._zero_intercept(W.shape[1])
        if not converged and self.max_iter > 0:
            warnings.warn(f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations; "
                          f"increase max_iter or scale the data", ConvergenceWarning, stacklevel=3)


@register
class LogisticRegression(_LinearClassifier):
    """Logistic regression, binary or multinomial, with scikit-learn's objective and C convention.

    penalty: None, 'l2', 'l1' or 'elasticnet' (mixing ``l1_ratio``), scaled
    by ``1/C``. solver: 'auto' (Newton up to 1000 coefficients or with an L1
    term, else 'lbfgs'), 'newton' (IRLS: Hessian ``X^T W X`` tree-summed in
    the same pass as the gradient; proximal Newton for L1), 'lbfgs', 'sgd',
    'adam' (full-batch, ``learning_rate``). ``tol``: the largest entry of the
    (sub)gradient in standardized coordinates. ``standardization=True``
    penalizes the coefficients of standardized features, as Spark MLlib and
    glmnet do (coefficients are still reported on the original scale); with
    False (the default) the penalty is scikit-learn's. The solver always
    works in standardized coordinates. With ``penalty=None`` on separable
    classes the loss has no minimum (the coefficients grow without bound),
    so the reported coefficients depend on where each library's solver
    stops and are not comparable; predictions still are. ``device``: None
    (where the data is), 'cpu' or 'gpu' (the data is moved there).
    """

    def __init__(self, penalty="l2", *, C=1.0, l1_ratio=None, fit_intercept=True, class_weight=None,
                 solver="auto", max_iter=100, tol=1e-4, standardization=False, learning_rate=0.1, verbose=0,
                 device=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.standardization = standardization
        self.learning_rate = learning_rate
        self.verbose = verbose
        self.device = device

    def _penalties(self):
        if self.penalty not in (None, "l2", "l1", "elasticnet"):
            raise ValueError(f"penalty must be None, 'l2', 'l1' or 'elasticnet', got {self.penalty!r}")
        C = check.number("C", self.C, low=0, low_open=True)
        if self.penalty is None:
            return 0.0, 0.0
        if self.penalty == "elasticnet":
            if self.l1_ratio is None:
                raise ValueError("l1_ratio must be given (in [0, 1]) when penalty='elasticnet'")
            r = check.number("l1_ratio", self.l1_ratio, low=0, high=1)
        else:
            r = 1.0 if self.penalty == "l1" else 0.0
        return (1.0 - r) / C, r / C

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n, d) and class labels ``y`` (n,); any input kind. Returns self."""
        l2, l1 = self._penalties()
        check.integer("max_iter", self.max_iter, low=0)
        check.number("tol", self.tol, low=0)
        check.number("learning_rate", self.learning_rate, low=0, low_open=True)
        for name in ("fit_intercept", "standardization"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.solver not in ("auto", "newton", "lbfgs", "sgd", "adam"):
            raise ValueError(f"solver must be one of 'auto', 'newton', 'lbfgs', 'sgd', 'adam', got {self.solver!r}")
        if self.solver == "lbfgs" and l1 > 0:
            raise ValueError(f"solver='lbfgs' supports penalty None or 'l2', got penalty={self.penalty!r}; use "
                             f"solver='newton' (or 'auto')")
        data, classes, counts, S, mean, scale, onehot = _class_data(self, X, y, sample_weight)
        self.classes_ = classes
        K = len(classes)
        cw = _class_weights(self.class_weight, classes, counts, data.sw, onehot)
        sw = _row_weights(data.sw, onehot, cw)
        multinomial = K > 2
        Y = onehot if multinomial else onehot[:, 1:2]
        Kp = K if multinomial else 1
        prob = GLMProblem(FAMILIES["multinomial" if multinomial else "logistic"], data.X, Y, sw, S, Kp, mean,
                          scale, self.fit_intercept, l2=l2 / S, l1=l1 / S,
                          factor=scale if self.standardization else None)
        solver = _auto_solver(self.solver, (data.d + 1) * Kp, l1 > 0)
        W, b, n_iter, converged = solve(prob, solver, max_iter=self.max_iter, tol=self.tol,
                                        learning_rate=self.learning_rate, verbose=self.verbose)
        if multinomial:  # the loss is blind to a shift shared by all classes: report the centered solution
            b = b - b.mean()
            if l1 == 0 and l2 == 0:
                W = W - W.mean(axis=1, keepdims=True)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self._finish(W, b, n_iter, converged)
        return self

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), columns in the order of ``classes_``."""
        scores, kind = self._decision(X)
        if scores.ndim == 1:
            p = cf.sigmoid(scores)
            out = cf.stack([1.0 - p, p], axis=1)
        else:
            out = cf.exp(scores - cf.logsumexp(scores, axis=1, keepdims=True))
        return as_output(out, kind)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed without underflow."""
        scores, kind = self._decision(X)
        if scores.ndim == 1:
            out = cf.stack([-cf.logaddexp(0.0, scores), -cf.logaddexp(0.0, -scores)], axis=1)
        else:
            out = scores - cf.logsumexp(scores, axis=1, keepdims=True)
        return as_output(out, kind)


@register
class LinearSVC(_LinearClassifier):
    """Linear support vector classifier: squared hinge + L2, scikit-learn's (liblinear's) primal objective.

    ``C * sum_i s_i max(0, 1 - t_i x_i w)^2 + 1/2 |w|^2`` where, as in
    liblinear, the intercept is the weight of a constant feature
    ``intercept_scaling`` and is penalized too. More than two classes:
    one-vs-rest, all classes fitted together in each pass. solver: 'newton'
    (generalized Hessian of the squared hinge) or 'lbfgs'.
    """

    def __init__(self, penalty="l2", loss="squared_hinge", *, C=1.0, fit_intercept=True, intercept_scaling=1.0,
                 class_weight=None, solver="newton", tol=1e-4, max_iter=1000, device=None):
        self.penalty = penalty
        self.loss = loss
        self.C = C
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.device = device

    def _zero_intercept(self, k):
        return 0.0

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (n, d) and class labels ``y`` (n,); any input kind. Returns self."""
        if self.penalty != "l2":
            raise ValueError(f"penalty must be 'l2' (the only one implemented), got {self.penalty!r}")
        if self.loss != "squared_hinge":
            raise ValueError(f"loss must be 'squared_hinge' (the only one implemented), got {self.loss!r}")
        C = check.number("C", self.C, low=0, low_open=True)
        scaling = check.number("intercept_scaling", self.intercept_scaling, low=0, low_open=True)
        check.integer("max_iter", self.max_iter, low=0)
        check.number("tol", self.tol, low=0)
        if self.solver not in ("newton", "lbfgs"):
            raise ValueError(f"solver must be 'newton' or 'lbfgs', got {self.solver!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")
        data, classes, counts, S, mean, scale, onehot = _class_data(self, X, y, sample_weight)
        self.classes_ = classes
        K = len(classes)
        cw = _class_weights(self.class_weight, classes, counts, data.sw, onehot)
        if K == 2:
            Y = 2.0 * onehot[:, 1:2] - 1.0
            sw = _row_weights(data.sw, onehot, cw)
        else:  # one-vs-rest; as liblinear, the positive class of each problem carries its class weight
            Y = 2.0 * onehot - 1.0
            sw = None
            if not np.all(cw == 1.0):
                sw = onehot * (cw - 1.0) + 1.0
                if data.sw is not None:
                    sw = sw * data.sw[:, None]
            elif data.sw is not None:
                sw = data.sw
        Kp = 1 if K == 2 else K
        prob = GLMProblem(FAMILIES["squared_hinge"], data.X, Y, sw, S, Kp, mean, scale, self.fit_intercept,
                          l2=1.0 / (C * S), l2_b=1.0 / (C * S * scaling ** 2))
        W, b, n_iter, converged = solve(prob, self.solver, max_iter=self.max_iter, tol=self.tol)
        self.n_iter_ = int(n_iter)
        self._finish(W, b, n_iter, converged)
        return self
