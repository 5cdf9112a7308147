"""Classification, regression and clustering metrics as chunked reductions.

For NumPy input every metric returns a Python float (or ndarray), equal to
scikit-learn's. For chunked input (Tensor, dask array) it returns a lazy
0-d Tensor (dask array for dask input), so several metrics of the same
predictions run in one pass::

    acc, f1, mse = cf.compute(accuracy_score(y, p), f1_score(y, p), mean_squared_error(y, p))

Classification metrics count with one-hot contractions over the class
labels. Multiclass metrics need the labels up front: pass ``labels=`` to
keep them lazy; otherwise the distinct values of ``y_true`` and ``y_pred``
are computed first (one pass over the two label vectors). ``average='binary'``
needs no labels (``pos_label``).

``roc_auc_score`` is exact (rank statistic, ties counted half) for NumPy
input and for ``method='exact'``; chunked input uses ``method='histogram'``
by default: scores are binned into ``n_bins`` equal bins between their
minimum and maximum (one pass for the range, one for the per-bin counts of
positives and negatives). Only positive/negative pairs falling into the same
bin are miscounted, each by at most 1/2, so the error is at most
``sum_b pos_b * neg_b / (2 * P * N)`` — :func:`roc_auc_histogram` returns
this bound with the estimate; for continuous scores it shrinks like
``1 / n_bins``.
"""
from __future__ import annotations

import numpy as np

from ..core.elementwise import UFUNCS, clip, maximum, where
from ..core.tensor import Tensor
from .base import as_tensor_input, input_kind
from .device import compute, fetch

__all__ = ["accuracy_score", "precision_score", "recall_score", "f1_score", "fbeta_score",
           "precision_recall_fscore_support", "confusion_matrix", "log_loss", "roc_auc_score",
           "roc_auc_histogram", "mean_squared_error", "root_mean_squared_error", "mean_absolute_error",
           "r2_score", "silhouette_score"]


# ---------------------------------------------------------------- inputs and outputs
def _pair(y_true, y_pred, name="y_pred", ravel=True):
    """``(t_true, t_pred, kind)``: both as Tensors of matching length; kind is the chunked one if any."""
    kinds = [input_kind(y_true), input_kind(y_pred)]
    kind = next((k for k in kinds if k != "numpy"), "numpy")
    a, _ = as_tensor_input(np.asarray(y_true) if kinds[0] == "numpy" else y_true, dtype=None, name="y_true")
    b, _ = as_tensor_input(np.asarray(y_pred) if kinds[1] == "numpy" else y_pred, dtype=None, name=name)
    if ravel:
        a = a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a
        b = b.reshape(-1) if b.ndim == 2 and b.shape[1] == 1 else b
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{a.shape[0]}, "
                         f"{b.shape[0]}]")
    if a.shape[0] == 0:
        raise ValueError("Found empty input: y_true has 0 samples")
    if a.chunks[0] != b.chunks[0]:
        b = b.rechunk((a.chunks[0],) + tuple(b.chunks[1:]))
    return a, b, kind


def _weights(sample_weight, a, kind):
    """``(w, kind)``: ``sample_weight`` as a float Tensor with ``a``'s row chunks (None when not given)."""
    if sample_weight is None:
        return None, kind
    wk = input_kind(sample_weight)
    w, _ = as_tensor_input(np.asarray(sample_weight) if wk == "numpy" else sample_weight, name="sample_weight")
    if w.ndim != 1 or w.shape[0] != a.shape[0]:
        raise ValueError(f"sample_weight must have shape ({a.shape[0]},), got {w.shape}")
    if w.chunks[0] != a.chunks[0]:
        w = w.rechunk((a.chunks[0],))
    return w, (kind if kind != "numpy" else wk)


def _wmean(values, w, axis=0):
    """The (weighted) mean of ``values`` over rows."""
    if w is None:
        return values.mean(axis=axis)
    ww = w if values.ndim == 1 else w[:, None]
    return (values * ww).sum(axis=axis) / w.sum()


def _out(value: Tensor, kind):
    """A float / ndarray for NumPy input, lazy otherwise."""
    if kind == "numpy":
        v = np.asarray(fetch(value))
        return float(v) if v.ndim == 0 else v
    return value.to_dask() if kind == "dask" else value


def _labels(a, b, labels, kind):
    if labels is not None:
        return np.asarray(labels)
    from ..core.array_api import unique_values

    ua, ub = compute(unique_values(a), unique_values(b))
    return np.union1d(ua, ub)


def _onehot(y, labels):
    return (y[:, None] == labels[None, :]).astype(np.float64)


# ---------------------------------------------------------------- classification
def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    """Fraction (or count, ``normalize=False``) of exact label matches, weighted by ``sample_weight``."""
    a, b, kind = _pair(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    hits = (a == b).astype(np.float64)
    if w is not None:
        hits = hits * w
        return _out(hits.sum() / w.sum() if normalize else hits.sum(), kind)
    return _out(hits.mean() if normalize else hits.sum(), kind)


def _counts(a, b, labels, w=None):
    """Lazy per-label (weighted) true positives, predicted counts and true counts: one fused pass."""
    ta, pb = _onehot(a, labels), _onehot(b, labels)
    if w is not None:
        ta, pb = ta * w[:, None], pb * w[:, None]
        return (ta * (b[:, None] == labels[None, :])).sum(axis=0), pb.sum(axis=0), ta.sum(axis=0)
    return (ta * pb).sum(axis=0), pb.sum(axis=0), ta.sum(axis=0)


def _divide(num, den, zero_division):
    z = 0.0 if zero_division == "warn" else float(zero_division)
    return where(den > 0, num / maximum(den, 1e-300), z)


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    sample_weight=None, zero_division="warn"):
    """``(precision, recall, fbeta, support)`` as scikit-learn's (support is None when averaged)."""
    if average not in (None, "binary", "micro", "macro", "weighted"):
        raise ValueError(f"average must be one of None, 'binary', 'micro', 'macro', 'weighted', got {average!r}")
    a, b, kind = _pair(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    if average == "binary":
        if kind == "numpy":
            present = np.union1d(np.asarray(y_true).ravel(), np.asarray(y_pred).ravel())
            if len(present) > 2:
                raise ValueError(f"Target is multiclass but average='binary'. Please choose another average "
                                 f"setting, one of [None, 'micro', 'macro', 'weighted']; labels: {present}")
            if len(present) == 2 and pos_label not in present:
                raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should be one of {present}")
        labs = np.asarray([pos_label])
    else:
        labs = _labels(a, b, labels, kind)
    tp, pred, true = _counts(a, b, labs, w)
    if average == "micro":
        tp, pred, true = tp.sum(), pred.sum(), true.sum()
    p = _divide(tp, pred, zero_division)
    r = _divide(tp, true, zero_division)
    b2 = beta * beta
    f = _divide((1 + b2) * tp, b2 * true + pred, zero_division)
    if average in (None,):
        return tuple(_out(v, kind) for v in (p, r, f, true))
    if average == "binary":
        p, r, f = p[0], r[0], f[0]
    elif average == "macro":
        p, r, f = p.mean(), r.mean(), f.mean()
    elif average == "weighted":
        w = true / maximum(true.sum(), 1e-300)
        p, r, f = (p * w).sum(), (r * w).sum(), (f * w).sum()
    return _out(p, kind), _out(r, kind), _out(f, kind), None


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                    zero_division="warn"):
    """tp / (tp + fp): binary (``pos_label``) or averaged over labels (micro/macro/weighted)."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           sample_weight=sample_weight, zero_division=zero_division)[0]


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                 zero_division="warn"):
    """tp / (tp + fn): binary (``pos_label``) or averaged over labels (micro/macro/weighted)."""
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           sample_weight=sample_weight, zero_division=zero_division)[1]


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn"):
    """(1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp), binary or averaged."""
    return precision_recall_fscore_support(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label,
                                           average=average, sample_weight=sample_weight,
                                           zero_division=zero_division)[2]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn"):
    """2 tp / (2 tp + fp + fn), binary or averaged."""
    return fbeta_score(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division)


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    """Counts ``C[i, j]`` of samples of label i predicted as j (``onehot_true^T @ onehot_pred``).

    Integer counts without ``sample_weight`` (and ``normalize=None``); sums of weights with it.
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be one of None, 'true', 'pred', 'all', got {normalize!r}")
    a, b, kind = _pair(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    labs = _labels(a, b, labels, kind)
    ta = _onehot(a, labs) if w is None else _onehot(a, labs) * w[:, None]
    C = ta.T @ _onehot(b, labs)
    if normalize == "true":
        C = C / maximum(C.sum(axis=1, keepdims=True), 1e-300)
    elif normalize == "pred":
        C = C / maximum(C.sum(axis=0, keepdims=True), 1e-300)
    elif normalize == "all":
        C = C / C.sum()
    if normalize is None and w is None:
        C = C.astype(np.int64)
    return _out(C, kind)


def log_loss(y_true, y_pred, *, normalize=True, sample_weight=None, labels=None):
    """Cross-entropy of predicted probabilities (n,) for binary or (n, k) in ``labels`` order."""
    a, p, kind = _pair(y_true, y_pred, ravel=False)
    a = a.reshape(-1) if a.ndim == 2 and a.shape[1] == 1 else a
    w, kind = _weights(sample_weight, a, kind)
    labs = _labels(a, a, labels, kind)
    p = p.astype(np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[1] == 1:
        from ..core.manipulation import concatenate

        p = concatenate([1.0 - p, p], axis=1)
    if len(labs) == 1:
        raise ValueError(f"y_true contains only one label ({labs[0]!r}); pass all labels with labels=")
    if p.shape[1] != len(labs):
        raise ValueError(f"y_true has {len(labs)} labels {labs.tolist()} but y_pred has {p.shape[1]} columns")
    eps = np.finfo(np.float64).eps
    p = clip(p, eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    per_row = -(_onehot(a, labs) * UFUNCS["log"](p)).sum(axis=1)
    if w is not None:
        ll = (per_row * w).sum()
        return _out(ll / w.sum() if normalize else ll, kind)
    ll = per_row.sum()
    return _out(ll / a.shape[0] if normalize else ll, kind)


def roc_auc_score(y_true, y_score, *, pos_label=None, sample_weight=None, method="auto", n_bins=4096):
    """Area under the ROC curve for binary ``y_true`` (exact, or a binned estimate for chunked input).

    ``method``: 'exact' (rank statistic; gathers the scores on the client),
    'histogram' (two passes, see the module docstring for the error bound)
    or 'auto' (exact for NumPy input, histogram otherwise). ``pos_label``
    defaults to the greater of the two labels, as scikit-learn.
    """
    a, s, kind = _pair(y_true, y_score, name="y_score")
    w, kind = _weights(sample_weight, a, kind)
    if method == "auto":
        method = "exact" if kind == "numpy" else "histogram"
    if method not in ("exact", "histogram"):
        raise ValueError(f"method must be 'auto', 'exact' or 'histogram', got {method!r}")
    if method == "histogram":
        auc, _ = roc_auc_histogram(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight,
                                   n_bins=n_bins)
        return float(np.asarray(fetch(auc))) if kind == "numpy" else auc
    pos = _binary_truth(a, pos_label)
    y, sc, *ww = compute(pos, s.astype(np.float64), *([w] if w is not None else []))
    ww = ww[0] if ww else np.ones(len(y))
    # per distinct score: weighted positives and negatives; a tie between classes counts half
    values, inverse = np.unique(sc, return_inverse=True)
    p = np.bincount(inverse, weights=ww * y, minlength=len(values))
    n = np.bincount(inverse, weights=ww * (1 - y), minlength=len(values))
    P, N = p.sum(), n.sum()
    if P == 0 or N == 0:
        raise ValueError("Only one class present in y_true. ROC AUC score is not defined in that case.")
    below = np.cumsum(n) - n
    return float((p * (below + 0.5 * n)).sum() / (P * N))


def _binary_truth(a, pos_label, labels=None):
    """1.0 where ``a`` is the positive label: ``pos_label``, or the greater of the two ``labels`` of y_true.

    ``labels`` (the distinct values of ``a``) are computed here when needed and not given.
    """
    if pos_label is None:
        from ..core.array_api import unique_values

        labs = np.asarray(compute(unique_values(a))[0] if labels is None else labels)
        if len(labs) != 2:
            raise ValueError(f"Only one class present in y_true ({labs.tolist()}). ROC AUC score is not "
                             f"defined in that case." if len(labs) < 2 else
                             f"roc_auc_score here supports binary y_true only, got labels {labs.tolist()}")
        pos_label = labs[1]
    return (a == pos_label).astype(np.float64)


def _hist_block(y, s, w, lo, hi, n_bins):
    b = np.clip(((s - lo) / (hi - lo) * n_bins).astype(np.int64), 0, n_bins - 1) if hi > lo else \
        np.zeros(len(s), np.int64)
    w = np.ones(len(s)) if w is None else w
    pos = np.bincount(b, weights=w * y, minlength=n_bins)
    neg = np.bincount(b, weights=w * (1 - y), minlength=n_bins)
    return np.stack([pos, neg])[None]


def roc_auc_histogram(y_true, y_score, *, pos_label=None, sample_weight=None, n_bins=4096):
    """``(auc, bound)`` lazy: binned ROC AUC and the bound on its distance to the exact AUC."""
    import dask.array as da

    from ..core.creation import from_dask
    from ..core.reductions import cumsum

    a, s, kind = _pair(y_true, y_score, name="y_score")
    w, _ = _weights(sample_weight, a, kind)
    s = s.astype(np.float64)
    from ..core.array_api import unique_values

    lo, hi, *labels = compute(s.min(), s.max(), *([unique_values(a)] if pos_label is None else []))
    lo, hi = float(lo), float(hi)
    pos = _binary_truth(a, pos_label, labels[0] if labels else None)  # the labels came with the range
    yd = pos.to_dask()
    sd = s.to_dask().rechunk(yd.chunks)
    wd = None if w is None else w.to_dask().rechunk(yd.chunks)
    args = (yd, sd) + ((wd,) if wd is not None else ())

    def block(y, s, *rest):
        return _hist_block(y, s, rest[0] if wd is not None else None, lo, hi, n_bins)

    blocks = da.map_blocks(block, *args, new_axis=[1, 2], chunks=((1,) * yd.numblocks[0], (2,), (n_bins,)),
                           dtype=np.float64)
    h = from_dask(blocks).sum(axis=0)  # (2, n_bins): (weighted) positives, negatives per bin
    p, n = h[0], h[1]
    P, N = p.sum(), n.sum()
    below = cumsum(n) - n  # negatives in lower bins
    denom = maximum(P * N, 1e-300)
    auc = (p * (below + 0.5 * n)).sum() / denom
    bound = 0.5 * (p * n).sum() / denom
    return auc, bound


# ---------------------------------------------------------------- regression
def _reg(y_true, y_pred):
    a, b, kind = _pair(y_true, y_pred)
    if a.ndim != b.ndim:
        raise ValueError(f"y_true and y_pred have different numbers of outputs: shapes {a.shape}, {b.shape}")
    return a.astype(np.float64), b.astype(np.float64), kind


def _average(per_output, multioutput):
    if per_output.ndim == 0 or multioutput == "uniform_average":
        return per_output.mean() if per_output.ndim else per_output
    if multioutput == "raw_values":
        return per_output
    raise ValueError(f"multioutput must be 'uniform_average' or 'raw_values', got {multioutput!r}")


def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """(Weighted) mean of squared differences."""
    a, b, kind = _reg(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    return _out(_average(_wmean((a - b) ** 2, w), multioutput), kind)


def root_mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Square root of the mean squared error (per output, then averaged, as scikit-learn)."""
    a, b, kind = _reg(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    return _out(_average(UFUNCS["sqrt"](_wmean((a - b) ** 2, w)), multioutput), kind)


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """(Weighted) mean of absolute differences."""
    a, b, kind = _reg(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    return _out(_average(_wmean(abs(a - b), w), multioutput), kind)


def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average", force_finite=True):
    """Coefficient of determination ``1 - SS_res / SS_tot`` (one pass: residual sum and variance)."""
    a, b, kind = _reg(y_true, y_pred)
    w, kind = _weights(sample_weight, a, kind)
    if a.shape[0] < 2:
        raise ValueError("R^2 score is not well-defined with less than two samples.")
    if w is None:
        ss_res = ((a - b) ** 2).sum(axis=0)
        ss_tot = a.var(axis=0) * a.shape[0]
    else:
        ww = w if a.ndim == 1 else w[:, None]
        ss_res = ((a - b) ** 2 * ww).sum(axis=0)
        ss_tot = (ww * (a - _wmean(a, w)) ** 2).sum(axis=0)
    r2 = 1.0 - ss_res / where(ss_tot > 0, ss_tot, 1.0)
    if force_finite:
        r2 = where(ss_tot > 0, r2, where(ss_res > 0, 0.0, 1.0))
    return _out(_average(r2, multioutput), kind)


# ---------------------------------------------------------------- clustering
def silhouette_score(X, labels, *, metric="euclidean", sample_size=None, random_state=None):
    """Mean silhouette coefficient, scikit-learn's, on a random sample of rows for chunked input.

    NumPy input is handed to scikit-learn as is. For chunked input
    ``sample_size`` (default 10,000) rows are gathered (one pass) and scored
    on the client: an estimate whose standard error shrinks like
    ``1/sqrt(sample_size)``.
    """
    from sklearn.metrics import silhouette_score as sk_silhouette
    from sklearn.utils import check_random_state

    if input_kind(X) == "numpy" and input_kind(labels) == "numpy":
        return float(sk_silhouette(X, labels, metric=metric, sample_size=sample_size, random_state=random_state))
    t, _ = as_tensor_input(X)
    lab, _ = as_tensor_input(labels, dtype=None, name="labels")
    n = t.shape[0]
    m = min(n, 10_000 if sample_size is None else int(sample_size))
    idx = np.sort(check_random_state(random_state).choice(n, m, replace=False))
    xs, ls = compute(t[idx], lab[idx])
    return float(sk_silhouette(xs, ls, metric=metric))
