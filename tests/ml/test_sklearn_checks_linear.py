"""scikit-learn's estimator checks (``check_estimator``) on NumPy input for every linear model."""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from chunkflow.ml import (
    ElasticNet, GammaRegressor, Lasso, LinearRegression, LinearSVC, LogisticRegression, PoissonRegressor, Ridge,
    TweedieRegressor,
)

ESTIMATORS = [
    LinearRegression(), Ridge(), Lasso(alpha=0.01), ElasticNet(alpha=0.01), LogisticRegression(), LinearSVC(),
    PoissonRegressor(), GammaRegressor(), TweedieRegressor(power=1.5),
]

# Checks each estimator is known to fail, with the reason (scikit-learn's own mechanism).
EXPECTED_FAILED_CHECKS = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
