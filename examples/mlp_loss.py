"""A one-hidden-layer MLP for binary labels, written with chunkflow ops (used by mlp_adam.yaml).

The loss is differentiated by chunkflow (``cf.grad``), so it runs chunk by
chunk like any other graph: each row chunk's forward and backward pass in
one task, partial gradients tree-summed.
"""
import numpy as np

import chunkflow as cf
from chunkflow.ml import losses

HIDDEN = 16


def init(n_features, seed=0):
    """Initial parameters: small random weights (Glorot-like scale), zero biases."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0.0, 1.0 / np.sqrt(n_features), (n_features, HIDDEN)), "b1": np.zeros(HIDDEN),
            "w2": rng.normal(0.0, 1.0 / np.sqrt(HIDDEN), HIDDEN), "b2": np.array(0.0)}


def logits(p, X):
    return cf.tanh(X @ p["W1"] + p["b1"]) @ p["w2"] + p["b2"]


def loss(p, X, y):
    """Mean logistic loss plus a small L2 penalty on the weights."""
    return losses.logistic(logits(p, X), y) + losses.l2({"W1": p["W1"], "w2": p["w2"]}, alpha=1e-4)


def predict(p, X):
    """P(y = 1) for each row."""
    return cf.sigmoid(logits(p, X))
