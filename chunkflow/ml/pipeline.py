"""``Pipeline`` and ``make_pipeline``: scikit-learn's, with fused fitting of leading scalers.

``Pipeline`` is ``sklearn.pipeline.Pipeline`` (steps, named_steps,
``step__param`` parameters, fit/predict/transform/score, caching) with one
change to ``fit`` for chunked input: a leading run of per-column affine
scalers (``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, in any
order and number) is fitted from ONE pass over the input. That pass
computes the mean, variance, minimum and maximum of every raw column (and
the NaN/inf check); the statistics each scaler would see are those of an
affine map ``a * x + b`` (``a > 0``) of the raw columns, so they follow in
closed form. Every later stage is fitted on the lazy, fused transform of
the earlier ones: one pass per stage (plus what the stage itself needs, e.g.
KMeans's iterations). NumPy input runs scikit-learn's ``fit`` unchanged.
"""
from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline as _SKPipeline
from sklearn.pipeline import _name_estimators

from .base import check_finite, input_kind, validate_X
from .device import compute
from .persist import ModelFileMixin, register
from .preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

__all__ = ["Pipeline", "make_pipeline"]

_AFFINE = (StandardScaler, MinMaxScaler, MaxAbsScaler)


@register
class Pipeline(ModelFileMixin, _SKPipeline):
    """A chain of transformers and a final estimator (scikit-learn semantics; see module docstring)."""

    def fit(self, X, y=None, **params):
        """Fit all steps; for chunked input the leading scalers share one pass. Returns self."""
        lead = self._leading_scalers()
        if input_kind(X) == "numpy" or params or not lead or getattr(self, "memory", None) is not None:
            return super().fit(X, y, **params)
        self._validate_steps()
        Xt = self._fit_scalers(X, lead)
        for i in range(len(lead), len(self.steps) - 1):
            name, est = self.steps[i]
            if est is None or est == "passthrough":
                continue
            Xt = est.fit_transform(Xt, y)
        last = self._final_estimator
        if last != "passthrough":
            last.fit(Xt, y)
        return self

    def fit_transform(self, X, y=None, **params):
        if input_kind(X) == "numpy" or params:
            return super().fit_transform(X, y, **params)
        return self.fit(X, y).transform(X)

    def fit_predict(self, X, y=None, **params):
        if input_kind(X) == "numpy" or params:
            return super().fit_predict(X, y, **params)
        return self.fit(X, y).predict(X)

    def _leading_scalers(self):
        """The steps (name, estimator) of the leading run of affine scalers (not the final step)."""
        run = []
        for name, est in self.steps[:-1]:
            if type(est) not in _AFFINE:
                break
            run.append((name, est))
        return run

    def _fit_scalers(self, X, lead):
        """Fit the leading scalers from one pass; the lazy transformed X."""
        first = lead[0][1]
        t, kind, finite = validate_X(first, X, reset=True)
        for _, est in lead:
            est._check_params()
        outs = [t.mean(axis=0), t.var(axis=0), t.min(axis=0), t.max(axis=0)]
        mean, var, lo, hi, *ok = compute(*outs, *([finite] if finite is not None else []))
        check_finite(ok[0] if ok else None)
        n, d = t.shape
        Xt = t
        for _, est in lead:
            est.n_features_in_ = d
            if hasattr(est, "feature_names_in_") and est is not first:
                del est.feature_names_in_
            est._from_moments(n, mean, var, lo, hi)
            a, b = est._affine()
            mean, var = a * mean + b, a * a * var
            lo, hi = a * lo + b, a * hi + b  # a > 0 keeps the order
            if isinstance(est, MinMaxScaler) and est.clip:
                lo = np.clip(lo, *est.feature_range)
                hi = np.clip(hi, *est.feature_range)
            Xt = est._transform(Xt)
        return Xt


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """A :class:`Pipeline` with steps named after their classes, as scikit-learn's ``make_pipeline``."""
    return Pipeline(_name_estimators(steps), memory=memory, transform_input=transform_input, verbose=verbose)
