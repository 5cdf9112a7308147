"""Scorers for model selection: ``scorer(estimator, X, y) -> float``, as scikit-learn's.

Each named scorer calls a ``chunkflow.ml.metrics`` function on the
estimator's ``predict``/``predict_proba``/``decision_function`` output, so a
score of chunked data is a chunked reduction; a lazy result is computed.
Losses are negated (``neg_*``) so that greater is always better.
"""
from __future__ import annotations

import difflib

import numpy as np

from .device import fetch

__all__ = ["get_scorer", "SCORERS", "value"]


def value(v) -> float:
    """A metric's value as a float (a lazy chunked value is computed)."""
    return float(np.asarray(fetch(v)))  # a Tensor or dask array is computed; GPU values come back as NumPy


class _Scorer:
    """``scorer(estimator, X, y)`` -> float: a ``chunkflow.ml.metrics`` function of the estimator's output."""

    def __init__(self, name, metric, response="predict", sign=1.0, **kwargs):
        self.name, self.metric, self.response, self.sign, self.kwargs = name, metric, response, sign, kwargs

    def __call__(self, estimator, X, y):
        from . import metrics

        kwargs = dict(self.kwargs)
        if self.response == "predict":
            out = estimator.predict(X)
        elif self.response == "proba":
            out = estimator.predict_proba(X)
            kwargs["labels"] = estimator.classes_
        else:  # a score for the positive class: the second column of predict_proba, or decision_function
            if hasattr(estimator, "predict_proba"):
                out = estimator.predict_proba(X)[:, 1]
            else:
                out = estimator.decision_function(X)
            kwargs["pos_label"] = estimator.classes_[1]
        return self.sign * value(getattr(metrics, self.metric)(y, out, **kwargs))

    def __repr__(self):
        return f"make_scorer({self.metric}{', greater_is_better=False' if self.sign < 0 else ''})"


SCORERS = {
    "accuracy": _Scorer("accuracy", "accuracy_score"),
    "r2": _Scorer("r2", "r2_score"),
    "neg_mean_squared_error": _Scorer("neg_mean_squared_error", "mean_squared_error", sign=-1.0),
    "neg_root_mean_squared_error": _Scorer("neg_root_mean_squared_error", "root_mean_squared_error", sign=-1.0),
    "neg_mean_absolute_error": _Scorer("neg_mean_absolute_error", "mean_absolute_error", sign=-1.0),
    "neg_log_loss": _Scorer("neg_log_loss", "log_loss", response="proba", sign=-1.0),
    "roc_auc": _Scorer("roc_auc", "roc_auc_score", response="positive"),
    "f1": _Scorer("f1", "f1_score"),
    "f1_macro": _Scorer("f1_macro", "f1_score", average="macro"),
    "f1_micro": _Scorer("f1_micro", "f1_score", average="micro"),
    "f1_weighted": _Scorer("f1_weighted", "f1_score", average="weighted"),
    "precision": _Scorer("precision", "precision_score"),
    "recall": _Scorer("recall", "recall_score"),
}


def _default_score(estimator, X, y):
    return value(estimator.score(X, y))


def get_scorer(scoring):
    """``scorer(estimator, X, y) -> float`` for a scoring name, a callable, or None (``estimator.score``)."""
    if scoring is None:
        return _default_score
    if isinstance(scoring, str):
        if scoring not in SCORERS:
            close = difflib.get_close_matches(scoring, SCORERS, n=1)
            raise ValueError(f"unknown scoring {scoring!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                             + f"; accepted: {sorted(SCORERS)} or a callable scorer(estimator, X, y)")
        return SCORERS[scoring]
    if callable(scoring):
        return scoring
    raise ValueError(f"scoring must be a string, a callable scorer(estimator, X, y) or None, got {scoring!r} "
                     f"(one metric per search)")
