"""scikit-learn's ``check_estimator`` suite on NumPy input, for the non-linear estimators.

No check is expected to fail (``EXPECTED_FAILED`` is empty). Not run by
scikit-learn itself, by design: the sample-weight checks (no estimator here
takes ``sample_weight``), sparse-input checks (dense only) and the array-API
checks (need ``SCIPY_ARRAY_API=1``). MiniBatchKMeans runs with max_iter=10
to keep the suite fast.
"""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from chunkflow.ml import (
    PCA, GaussianNB, KMeans, MaxAbsScaler, MiniBatchKMeans, MinMaxScaler, OneHotEncoder, PolynomialFeatures,
    SimpleImputer, StandardScaler, TruncatedSVD,
)

ESTIMATORS = [
    StandardScaler(), MinMaxScaler(), MaxAbsScaler(), SimpleImputer(), OneHotEncoder(handle_unknown="ignore"),
    PolynomialFeatures(), KMeans(n_clusters=2, random_state=0), MiniBatchKMeans(n_clusters=2, random_state=0, max_iter=10),
    PCA(), TruncatedSVD(n_components=1, random_state=0), GaussianNB(),
]

EXPECTED_FAILED = {}


def _expected(est):
    return EXPECTED_FAILED.get(type(est).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)
