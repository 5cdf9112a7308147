"""Batch training pipelines: one YAML file in, a model directory with its report out.

``chunkflow run PIPELINE.yaml`` goes through four modules, each a stage:

* ``spec.py`` reads the YAML, applies ``--set key.path=value`` overrides and
  validates everything before any work starts: unknown keys (with the closest
  valid one), types, estimator names and parameters, optimizer names, custom
  ``module:function`` references (imported relative to the YAML file's
  folder) and whether the data URL exists. Every problem is a
  :class:`~chunkflow.pipeline.spec.SpecError` naming the key path and the fix
  (exit code 2).
* ``features.py`` turns the data into the model's input: categorical string
  columns one-hot encoded on the dask DataFrame (categories learned in one
  pass), numeric stages (scalers, imputer) as ``chunkflow.ml`` transformers
  placed in the model's ``Pipeline`` so the saved model includes them.
* ``runner.py`` reads, splits, fits (an estimator, or a custom loss trained
  with ``chunkflow.ml.minimize`` with checkpoints and resume), evaluates and
  writes the model directory with the commit protocol of ``chunkflow.io.fs``:
  ``_INCOMPLETE`` first, ``_SUCCESS`` last, so a failed run never leaves a
  model that looks complete. ``predict`` and ``inspect`` live here too.
* ``report.py`` writes ``metrics.json`` and a self-contained ``report.html``
  (PNG plots embedded; matplotlib is optional) and formats the summary.

A model directory::

    model/
      estimator/        the fitted chunkflow.ml Pipeline (persist format: JSON + .npy)
      params/           custom-loss models: the trained params (checkpoint format)
      pipeline.json     input columns, label, encoding, task, metrics, the spec used
      metrics.json
      report.html
      _SUCCESS
"""
from .spec import SpecError, load_spec

__all__ = ["SpecError", "load_spec"]
