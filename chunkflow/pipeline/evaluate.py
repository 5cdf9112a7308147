"""Held-out metrics, and the data behind the report's plots, from one pass over the test rows.

Classification metrics come from lazy statistics computed together: the
confusion matrix ``Y.T @ P`` (one-hot truth times one-hot prediction),
the summed log-probability of the true class, and for binary problems a
histogram of the positive-class probability per true class (1024 bins on
[0, 1]), from which the ROC curve and its area follow (a binned AUC: pairs
of rows that fall in one bin count half, as ties do). Regression metrics
come from the sums of residuals, squared residuals and the label's moments.
Everything for one model runs as one graph, so the test rows are read once.
"""
from __future__ import annotations

import numpy as np

__all__ = ["classification", "regression", "N_BINS"]

N_BINS = 1024
_SAMPLE = 5000


def _hist_block(p, pos):
    b = np.clip((p * N_BINS).astype(np.int64), 0, N_BINS - 1)
    return np.stack([np.bincount(b, weights=pos, minlength=N_BINS),
                     np.bincount(b, weights=1.0 - pos, minlength=N_BINS)])[None]


def _histogram(p, pos):
    """Lazy (2, N_BINS): positives and negatives per probability bin."""
    import dask.array as da

    from ..core.creation import from_dask

    pd_, yd = p.to_dask(), pos.to_dask()
    yd = yd.rechunk(pd_.chunks)
    blocks = da.map_blocks(_hist_block, pd_, yd, new_axis=[1, 2], dtype=np.float64,
                           chunks=((1,) * pd_.numblocks[0], (2,), (N_BINS,)))
    return from_dask(blocks).sum(axis=0)


def classification(proba, y, classes, names):
    """``(metrics, plots)`` for class probabilities ``proba`` (n, K) against labels ``y`` (n,).

    ``names`` are the metrics to report; ``plots`` holds the confusion matrix
    and, for two classes, the ROC curve.
    """
    import chunkflow as cf
    from ..runtime import compute

    classes = np.asarray(classes)
    K = len(classes)
    n = proba.shape[0]
    Y = cf.stack([cf.astype(y == c, np.float64) for c in classes], axis=1)
    pred = cf.argmax(proba, axis=1)
    P = cf.astype(pred[:, None] == np.arange(K), np.float64)
    confusion = Y.T @ P
    eps = np.finfo(np.float64).eps
    logp = (Y * cf.log(cf.clip(proba, eps, 1.0))).sum()
    outs = [confusion, logp]
    if K == 2:
        outs.append(_histogram(proba[:, 1], Y[:, 1]))
    values = compute(*outs)
    C = np.asarray(values[0])
    metrics, plots = {}, {"confusion": C.astype(np.int64).tolist(), "classes": classes.tolist()}
    total = C.sum()
    known = {"accuracy": float(np.trace(C) / total) if total else float("nan"),
             "log_loss": float(-values[1] / n)}
    if K == 2:
        tp, fp, fn = C[1, 1], C[0, 1], C[1, 0]
        known["precision"] = float(tp / (tp + fp)) if tp + fp else 0.0
        known["recall"] = float(tp / (tp + fn)) if tp + fn else 0.0
        pr, rc = known["precision"], known["recall"]
        known["f1"] = float(2 * pr * rc / (pr + rc)) if pr + rc else 0.0
        pos, neg = np.asarray(values[2])
        fpr, tpr, auc = _roc(pos, neg)
        known["roc_auc"] = auc
        plots["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": auc}
    for name in names:
        if name not in known:
            raise ValueError(f"metric {name!r} needs a binary problem; this one has {K} classes {classes.tolist()}")
        metrics[name] = known[name]
    return metrics, plots


def _roc(pos, neg):
    """``(fpr, tpr, auc)`` from per-bin counts of positives and negatives (bins in increasing score)."""
    P, N = pos.sum(), neg.sum()
    if P == 0 or N == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan")
    # thresholds from the top bin down: rows at or above each bin count as positive predictions
    tp = np.concatenate([[0.0], np.cumsum(pos[::-1])])
    fp = np.concatenate([[0.0], np.cumsum(neg[::-1])])
    tpr, fpr = tp / P, fp / N
    auc = float(np.sum((fpr[1:] - fpr[:-1]) * (tpr[1:] + tpr[:-1]) / 2))
    keep = np.concatenate([[True], (np.diff(fpr) > 0) | (np.diff(tpr) > 0)])
    return fpr[keep], tpr[keep], auc


def regression(pred, y, names, skip_nan=False):
    """``(metrics, plots)`` for predictions ``pred`` (n,) against ``y`` (n,); plots hold a sample of rows.

    ``skip_nan``: leave out rows whose prediction is NaN (ALS: users or items
    not seen in training); ``plots["residuals"]["skipped"]`` counts them.
    """
    import chunkflow as cf
    from ..runtime import compute

    n = pred.shape[0]
    k = min(_SAMPLE, n)
    if skip_nan:
        ok = cf.isfinite(pred)
        r = cf.where(ok, y - pred, 0.0)
        w = cf.astype(ok, np.float64)
        y_ok = cf.where(ok, y, 0.0)
        sse, sae, count, sy, syy, ys, ps = compute((r * r).sum(), abs(r).sum(), w.sum(), y_ok.sum(),
                                                   (y_ok * y_ok).sum(), y[:k], pred[:k])
        m = max(float(count), 1.0)
        var_y = syy / m - (sy / m) ** 2
    else:
        r = y - pred
        sse, sae, var_y, ys, ps = compute((r * r).sum(), abs(r).sum(), y.var(), y[:k], pred[:k])
        count = m = n
    mse = float(sse / m)
    known = {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(sae / m),
             "r2": float(1.0 - mse / var_y) if var_y > 0 else float("nan")}
    metrics = {name: known[name] for name in names}
    ys, ps = np.asarray(ys), np.asarray(ps)
    keep = np.isfinite(ps)
    plots = {"residuals": {"y": ys[keep].tolist(), "pred": ps[keep].tolist(), "n": int(n),
                           "skipped": int(n - count)}}
    return metrics, plots
