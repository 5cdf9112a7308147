"""chunkflow.ml: optimizers, losses and the training loop on top of ``chunkflow.core``.

``optim`` holds pure optimizers over pytrees of NumPy parameters
(``init``/``update``; L-BFGS as ``minimize``), ``schedules`` learning-rate
schedules, ``losses`` losses and penalties written with chunkflow ops, and
``train.minimize`` the full-batch loop that compiles the value-and-gradient
graph once and re-runs it with new parameters each step. Data may be chunked
on GPUs; parameters and fitted attributes stay NumPy on the client, and the
estimators take ``device=None|'cpu'|'gpu'`` (``device.py``).
"""
from . import losses, optim, schedules
from .lbfgs import LBFGS
from .optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_by_global_norm
from .result import MinimizeResult
from .train import minimize
from .tree import global_norm, ravel, tree_leaves, tree_map
# Estimators load on first use: they follow scikit-learn's interface and import it (with scipy,
# about 60 MiB resident), which a training loop over a user-written loss does not need.
_LAZY = {
    "metrics": None, "model_selection": None,
    "KMeans": "cluster", "MiniBatchKMeans": "cluster", "PCA": "decomposition", "TruncatedSVD": "decomposition",
    "KFold": "model_selection", "train_test_split": "model_selection", "GaussianNB": "naive_bayes",
    "Pipeline": "pipeline", "make_pipeline": "pipeline",
    "GammaRegressor": "glm", "PoissonRegressor": "glm", "TweedieRegressor": "glm",
    "ElasticNet": "linear", "Lasso": "linear", "LinearRegression": "linear", "Ridge": "linear",
    "LinearSVC": "logistic", "LogisticRegression": "logistic", "load": "persist",
    "MaxAbsScaler": "preprocessing", "MinMaxScaler": "preprocessing", "OneHotEncoder": "encoders",
    "PolynomialFeatures": "preprocessing", "SimpleImputer": "preprocessing", "StandardScaler": "preprocessing",
    "GridSearchCV": "model_selection", "RandomizedSearchCV": "model_selection",
    "HalvingGridSearchCV": "model_selection", "HalvingRandomSearchCV": "model_selection",
    "ALS": "als", "VectorAssembler": "assembler",
}


def __getattr__(name):
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'chunkflow.ml' has no attribute {name!r}")
    module = importlib.import_module(f"chunkflow.ml.{_LAZY[name] or name}")
    value = module if _LAZY[name] is None else getattr(module, name)
    globals()[name] = value
    return value


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
__all__ += ["GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV", "ALS",
            "VectorAssembler"]
