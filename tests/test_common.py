"""scikit-learn's estimator checks over every public sklopt estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklopt.utils import all_estimators
from sklopt.utils._testing import construct_instances, expected_failed_checks

ESTIMATORS = [
    instance
    for _, estimator_class in all_estimators()
    for instance in construct_instances(estimator_class)
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
