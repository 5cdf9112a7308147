"""chunkflow.ml: optimizers, losses and the training loop on top of ``chunkflow.core``.

``optim`` holds pure optimizers over pytrees of NumPy parameters
(``init``/``update``; L-BFGS as ``minimize``), ``schedules`` learning-rate
schedules, ``losses`` losses and penalties written with chunkflow ops, and
``train.minimize`` the full-batch loop that compiles the value-and-gradient
graph once and re-runs it with new parameters each step.
"""
from . import losses, optim, schedules
from .lbfgs import LBFGS
from .optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_by_global_norm
from .result import MinimizeResult
from .train import minimize
from .tree import global_norm, ravel, tree_leaves, tree_map
from . import metrics, model_selection
from .cluster import KMeans, MiniBatchKMeans
from .decomposition import PCA, TruncatedSVD
from .model_selection import KFold, train_test_split
from .naive_bayes import GaussianNB
from .pipeline import Pipeline, make_pipeline
from .glm import GammaRegressor, PoissonRegressor, TweedieRegressor
from .linear import ElasticNet, Lasso, LinearRegression, Ridge
from .logistic import LinearSVC, LogisticRegression
from .persist import load
from .preprocessing import (
    MaxAbsScaler, MinMaxScaler, OneHotEncoder, PolynomialFeatures, SimpleImputer, StandardScaler,
)

__all__ = [
    "losses", "optim", "schedules", "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS",
    "clip_by_global_norm", "MinimizeResult", "minimize", "global_norm", "ravel", "tree_leaves", "tree_map",
]
__all__ += [
    "metrics", "model_selection", "KMeans", "MiniBatchKMeans", "PCA", "TruncatedSVD", "GaussianNB", "Pipeline",
    "make_pipeline", "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "SimpleImputer", "OneHotEncoder",
    "PolynomialFeatures", "train_test_split", "KFold",
]
__all__ += [
    "LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression", "LinearSVC", "PoissonRegressor",
    "GammaRegressor", "TweedieRegressor", "load",
]
