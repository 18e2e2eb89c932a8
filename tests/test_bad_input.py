"""Every public estimator, function, splitter and display against one
catalogue of bad inputs.

The estimators and functions are discovered (``sklopt.utils.all_estimators``,
``all_functions``), with fast constructor arguments from
``sklopt.utils._testing.INIT_PARAMS``; a new public function fails
``test_every_public_function_is_in_the_catalogue`` until it gets an entry in
``_function_specs``.

Each bad input must raise a ValueError or TypeError (or a subclass:
``InvalidParameterError``, ``NotFittedError``) whose message names the
culprit, raised by sklopt's or scikit-learn's own checks, never an error from
deep inside numpy, scipy, torch or skorch, and never a silent result. Where a
base estimator accepts NaN (scikit-learn's trees), the sklopt meta-estimators
pass NaN through on purpose: then the catalogue checks that the predictions
are finite instead.

Parameter ranges of estimators are checked by scikit-learn's
``check_param_validation`` in ``tests/test_common.py``; the ones of the
functions are checked here from their ``validate_params`` constraints.
"""

import inspect
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils import get_tags
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)

from sklopt.utils import all_estimators, all_functions
from sklopt.utils._testing import construct_instances

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore::sklopt.exceptions.EarlyTerminationWarning",
)

N_SAMPLES, N_FEATURES = 30, 4
ERRORS = (ValueError, TypeError)


def _instance(estimator_class):
    """The first registered fast instance, seeded."""
    estimator = next(construct_instances(estimator_class))
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=0)
    return estimator


def _data(estimator):
    rng = np.random.RandomState(0)
    X = rng.randn(N_SAMPLES, N_FEATURES)
    if is_classifier(estimator):
        return X, np.arange(N_SAMPLES) % 3
    return X, X[:, 0] + 0.1 * rng.randn(N_SAMPLES)


def _assert_raised_by_validation(excinfo):
    """The error comes from sklopt's or scikit-learn's code, not from deep
    inside numpy, scipy, torch or skorch."""
    origin = str(excinfo.traceback[-1].path)
    assert re.search(r"[/\\](sklopt|sklearn)[/\\]", origin), (
        f"{excinfo.typename}: {excinfo.value} was raised from {origin}"
    )


def _check_raises(func, match, errors=ERRORS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(errors, match=match) as excinfo:
            result = func()
            if inspect.isgenerator(result):
                list(result)
    _assert_raised_by_validation(excinfo)
    return excinfo


def _with(X, value, row=3, column=1):
    X = np.array(X, dtype=np.float64)
    X[row, column] = value
    return X


def _strings(X):
    return np.asarray(X).astype(str).astype(object) + "_level"


# --- estimators: fit -----------------------------------------------------------


def _allows_nan(estimator):
    return get_tags(estimator).input_tags.allow_nan


def _takes_sample_weight(estimator):
    parameters = inspect.signature(estimator.fit).parameters
    return "sample_weight" in parameters or any(
        p.kind == p.VAR_KEYWORD for p in parameters.values()
    )


@dataclass
class _FitCase:
    """A bad training input: ``make(X, y) -> (X, y, fit_kwargs)``."""

    make: object
    match: str
    applies: object = field(default=lambda estimator: True)


_NAN = r"X.*(NaN|nan)|(NaN|nan).*X"
_INF = r"X.*infinity|infinity.*X"
_STRING_X = r"X must hold numbers|could not convert string"
FIT_CASES = {
    "nan_X": _FitCase(lambda X, y: (_with(X, np.nan), y, {}), _NAN),
    "inf_X": _FitCase(lambda X, y: (_with(X, np.inf), y, {}), _INF),
    "huge_X": _FitCase(
        lambda X, y: (_with(X, 1e300), y, {}),
        r"too large",
        applies=lambda est: (
            "hidden_layer_sizes" in est.get_params() or "channels" in est.get_params()
        ),
    ),
    "empty_X": _FitCase(lambda X, y: (X[:0], y[:0], {}), r"0 sample"),
    "1d_X": _FitCase(lambda X, y: (X[:, 0], y, {}), r"Expected 2D array"),
    "3d_X": _FitCase(lambda X, y: (X.reshape(len(X), 2, 2), y, {}), r"dim 3|3-D|image"),
    "string_X": _FitCase(lambda X, y: (_strings(X), y, {}), _STRING_X),
    "list_of_strings_X": _FitCase(
        lambda X, y: (_strings(X).tolist(), y, {}), _STRING_X
    ),
    "y_too_short": _FitCase(
        lambda X, y: (X, y[:-1], {}), r"inconsistent numbers of samples"
    ),
    "2d_y_classifier": _FitCase(
        lambda X, y: (X, np.c_[y, y], {}), r"1d array|y should", applies=is_classifier
    ),
    "nan_y": _FitCase(
        lambda X, y: (X, _with(y[:, None], np.nan, 2, 0).ravel(), {}),
        r"y contains NaN|y.*NaN",
    ),
    "inf_y": _FitCase(
        lambda X, y: (X, _with(y[:, None], np.inf, 2, 0).ravel(), {}),
        r"y.*(infinity|too large)",
        applies=lambda est: not is_classifier(est),
    ),
    "string_y_regressor": _FitCase(
        lambda X, y: (X, np.array(["a", "b", "c"] * 10, dtype=object), {}),
        r"y must hold numbers|bytes/strings|could not convert",
        applies=lambda est: not is_classifier(est),
    ),
    "continuous_y_classifier": _FitCase(
        lambda X, y: (X, X[:, 0], {}), r"Unknown label type", applies=is_classifier
    ),
    "single_class": _FitCase(
        lambda X, y: (X, np.zeros(len(y), dtype=int), {}),
        r"one class",
        applies=is_classifier,
    ),
    "negative_sample_weight": _FitCase(
        lambda X, y: (X, y, {"sample_weight": -np.ones(len(y))}),
        r"sample_weight.*negative",
        applies=_takes_sample_weight,
    ),
    "zero_sample_weight": _FitCase(
        lambda X, y: (X, y, {"sample_weight": np.zeros(len(y))}),
        r"sample_weight.*(sum|zero)",
        applies=_takes_sample_weight,
    ),
    "nan_sample_weight": _FitCase(
        lambda X, y: (X, y, {"sample_weight": np.full(len(y), np.nan)}),
        r"sample_weight.*(NaN|finite)",
        applies=_takes_sample_weight,
    ),
    "sample_weight_too_short": _FitCase(
        lambda X, y: (X, y, {"sample_weight": np.ones(len(y) - 1)}),
        r"sample_weight has \d+ entries",
        applies=_takes_sample_weight,
    ),
}

ESTIMATOR_CLASSES = dict(all_estimators())


def _fit_cases():
    return [
        pytest.param(name, method, case_name, id=f"{name}-{method}-{case_name}")
        for name in sorted(ESTIMATOR_CLASSES)
        for method in ("fit", "partial_fit")
        if hasattr(ESTIMATOR_CLASSES[name], method)
        for case_name, case in sorted(FIT_CASES.items())
        if case.applies(_instance(ESTIMATOR_CLASSES[name]))
    ]


@pytest.mark.parametrize("name, method, case_name", _fit_cases())
def test_fit_rejects_bad_data(name, method, case_name):
    estimator = _instance(ESTIMATOR_CLASSES[name])
    case = FIT_CASES[case_name]
    X, y, kwargs = case.make(*_data(estimator))
    if case_name == "nan_X" and _allows_nan(estimator):
        # The base estimator handles NaN itself: predictions must be finite.
        fitted = getattr(clone(estimator), method)(X, y, **kwargs)
        assert np.isfinite(np.asarray(fitted.predict(X), dtype=float)).all()
        return
    _check_raises(lambda: getattr(clone(estimator), method)(X, y, **kwargs), case.match)


def test_string_features_name_X_for_numeric_estimators():
    """Estimators that convert X themselves say which input holds strings."""
    from sklopt.neural import MLPRegressor

    X, y = _data(MLPRegressor())
    excinfo = _check_raises(
        lambda: MLPRegressor(max_epochs=1).fit(_strings(X), y), "X must hold numbers"
    )
    assert "OneHotEncoder" in str(excinfo.value)
    excinfo = _check_raises(
        lambda: MLPRegressor(max_epochs=1).fit(X, np.array(["a"] * len(y))),
        "y must hold numbers",
    )


# --- estimators: predict ---------------------------------------------------------

_PREDICT_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "predict_members",
    "predict_proba_members",
    "staged_predict",
    "staged_predict_proba",
    "staged_decision_function",
)

PREDICT_CASES = {
    "wrong_n_features": (lambda X: X[:, :-1], r"features"),
    "nan_X": (lambda X: _with(X, np.nan), _NAN),
    "inf_X": (lambda X: _with(X, np.inf), _INF),
    "empty_X": (lambda X: X[:0], r"0 sample"),
    "1d_X": (lambda X: X[0], r"Expected 2D array|1-D"),
    "string_X": (_strings, _STRING_X),
}


@pytest.fixture(scope="module")
def fitted_estimators():
    fitted = {}
    for name, estimator_class in ESTIMATOR_CLASSES.items():
        estimator = _instance(estimator_class)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted[name] = estimator.fit(*_data(estimator))
    return fitted


@pytest.mark.parametrize("case_name", sorted(PREDICT_CASES))
@pytest.mark.parametrize("name", sorted(ESTIMATOR_CLASSES))
def test_prediction_methods_reject_bad_data(fitted_estimators, name, case_name):
    estimator = fitted_estimators[name]
    X, _ = _data(estimator)
    make, match = PREDICT_CASES[case_name]
    methods = [m for m in _PREDICT_METHODS if hasattr(estimator, m)]
    assert "predict" in methods
    for method in methods:
        call = getattr(estimator, method)
        if case_name == "nan_X" and _allows_nan(estimator):
            output = call(make(X))
            output = list(output)[-1] if inspect.isgenerator(output) else output
            assert not np.isnan(np.asarray(output, dtype=float)).any(), method
            continue
        _check_raises(lambda call=call: call(make(X)), match)


@pytest.mark.parametrize("name", sorted(ESTIMATOR_CLASSES))
def test_unfitted_estimators_say_so(name):
    estimator = _instance(ESTIMATOR_CLASSES[name])
    X, y = _data(estimator)
    for method in [m for m in _PREDICT_METHODS if hasattr(estimator, m)]:
        _check_raises(
            lambda m=method: getattr(estimator, m)(X), r"not fitted", NotFittedError
        )


@pytest.mark.parametrize("name", sorted(ESTIMATOR_CLASSES))
def test_unknown_parameter_names(name):
    estimator_class = ESTIMATOR_CLASSES[name]
    estimator = _instance(estimator_class)
    excinfo = _check_raises(
        lambda: estimator.set_params(n_estimatorz=3),
        r"Invalid parameter 'n_estimatorz'",
    )
    assert "Valid parameters are" in str(excinfo.value)
    with pytest.raises(TypeError, match="n_estimatorz"):
        estimator_class(n_estimatorz=3)


def _neural_member(estimator, **params):
    from sklopt.neural import MLPClassifier, MLPRegressor

    member = MLPClassifier if is_classifier(estimator) else MLPRegressor
    if name_of(estimator).startswith("GradientBoosting"):
        member = MLPRegressor  # gradient boosting fits regressors
    return member((4,), max_epochs=2, device="cpu", **params)


def name_of(estimator):
    return type(estimator).__name__


# The searches set their grid's values on the estimator, and a bad value in
# the grid gets error_score per fit, as in scikit-learn
# (tests/model_selection/test_search.py).
META_ESTIMATORS = sorted(
    name
    for name, estimator_class in ESTIMATOR_CLASSES.items()
    if "estimator" in inspect.signature(estimator_class).parameters
    and not name.endswith("SearchCV")
)


@pytest.mark.parametrize("name", META_ESTIMATORS)
def test_bad_member_parameter_is_named_with_its_member(name):
    estimator = _instance(ESTIMATOR_CLASSES[name])
    member = _neural_member(estimator, lr=-1.0)
    estimator.set_params(estimator=member)
    excinfo = _check_raises(
        lambda: estimator.fit(*_data(estimator)),
        rf"'lr' parameter of {name_of(member)}",
        InvalidParameterError,
    )
    assert "Got -1.0" in str(excinfo.value)


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("BaggingClassifier", {"max_samples": 100, "bootstrap": False}, "max_samples"),
        ("BaggingRegressor", {"max_features": 10}, "max_features"),
        ("BaggingClassifier", {"oob_score": True, "bootstrap": False}, "oob_score"),
        ("GradientBoostingRegressor", {"estimator": LogisticRegression()}, "regressor"),
        ("AdaBoostClassifier", {"estimator": Ridge()}, "classifier"),
        ("BootstrapReplicas", {"estimator": Ridge}, "estimator"),
        ("MLPClassifier", {"cutmix_alpha": 1.0}, "cutmix_alpha"),
        ("MLPClassifier", {"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
        ("MLPRegressor", {"betas": (0.9, 1.5)}, "betas"),
        ("MLPRegressor", {"device": "tpu"}, "device"),
        (
            "MLPClassifier",
            {"early_stopping": True, "validation_fraction": 0.01},
            "validation_fraction",
        ),
        ("CNNClassifier", {"image_shape": (1, 3, 3)}, "image_shape"),
    ],
)
def test_data_dependent_parameter_values(name, params, match):
    """Values that pass the type and range checks but not the data."""
    estimator = _instance(ESTIMATOR_CLASSES[name]).set_params(**params)
    _check_raises(lambda: estimator.fit(*_data(estimator)), match)


# --- functions -----------------------------------------------------------------


def _function_specs():
    """For each public function: ``valid`` (keyword arguments of a valid, fast
    call) and ``bad`` (name -> (argument overrides, message pattern)).

    Functions delegating data checks to an estimator get one that rejects NaN
    (Ridge, LogisticRegression) so that the catalogue tests the whole path.
    """
    rng = np.random.RandomState(0)
    X = rng.randn(N_SAMPLES, N_FEATURES)
    y_reg = X[:, 0] + 0.1 * rng.randn(N_SAMPLES)
    y_clf = np.arange(N_SAMPLES) % 2
    proba = np.column_stack([1 - rng.rand(N_SAMPLES), np.zeros(N_SAMPLES)])
    proba[:, 1] = 1 - proba[:, 0]
    nan_X, inf_X = _with(X, np.nan), _with(X, np.inf)
    nan_y = _with(y_reg[:, None], np.nan, 2, 0).ravel()
    specs = {}
    bv = dict(
        estimator=Ridge(),
        X_train=X,
        y_train=y_reg,
        X_test=X,
        y_test=y_reg,
        n_rounds=3,
        random_state=0,
    )
    specs["bias_variance_decomposition"] = dict(
        valid=bv,
        bad={
            "nan_X_train": ({"X_train": nan_X}, _NAN),
            "inf_X_test": ({"X_test": inf_X}, _INF),
            "empty_X_train": (
                {"X_train": X[:0], "y_train": y_reg[:0]},
                r"at least one",
            ),
            "1d_X": ({"X_train": X[:, 0], "X_test": X[:, 0]}, r"Expected 2D"),
            "test_n_features": ({"X_test": X[:, :-1]}, r"features"),
            "string_X": ({"X_train": _strings(X)}, _STRING_X),
            "y_train_too_short": ({"y_train": y_reg[:-1]}, r"inconsistent"),
            "y_test_too_short": ({"y_test": y_reg[:-1]}, r"inconsistent"),
            "nan_y_train": ({"y_train": nan_y}, r"y_train.*NaN"),
            "nan_y_test": ({"y_test": nan_y}, r"y_test.*NaN"),
            "string_y_squared": ({"y_test": np.array(["a"] * N_SAMPLES)}, r"numeric"),
            "y_test_true_too_short": ({"y_test_true": y_reg[:-1]}, r"y_test_true"),
            "single_class": (
                {
                    "estimator": LogisticRegression(),
                    "loss": "0-1",
                    "y_train": np.zeros(N_SAMPLES, int),
                    "y_test": y_clf,
                },
                r"one class",
            ),
            "labels_for_log_without_proba": (
                {
                    "estimator": Ridge(),
                    "loss": "log",
                    "y_train": y_clf,
                    "y_test": y_clf,
                },
                r"predict_proba",
            ),
            "negative_sample_weight": (
                {"fit_params": {"sample_weight": -np.ones(N_SAMPLES)}},
                r"sample_weight.*negative",
            ),
            "zero_sample_weight": (
                {"fit_params": {"sample_weight": np.zeros(N_SAMPLES)}},
                r"sample_weight.*(sum|zero)",
            ),
        },
    )
    specs["bias_variance_curve"] = dict(
        valid=dict(
            estimator=Ridge(),
            X=X,
            y=y_reg,
            param_name="alpha",
            param_range=[0.1, 1.0],
            n_rounds=2,
            random_state=0,
        ),
        bad={
            "nan_X": ({"X": nan_X}, _NAN),
            "y_too_short": ({"y": y_reg[:-1]}, r"inconsistent"),
            "empty_range": ({"param_range": []}, r"param_range"),
            "unknown_param_name": (
                {"param_name": "alphaa"},
                r"Invalid parameter 'alphaa'",
            ),
            "bad_param_value": ({"param_range": [-1.0]}, r"'alpha' parameter of Ridge"),
            "single_class": (
                {
                    "estimator": LogisticRegression(),
                    "param_name": "C",
                    "loss": "0-1",
                    "y": np.zeros(N_SAMPLES, int),
                    "param_range": [1.0],
                },
                r"class",
            ),
        },
    )
    specs["bootstrap_632_score"] = dict(
        valid=dict(
            estimator=LogisticRegression(), X=X, y=y_clf, n_splits=3, random_state=0
        ),
        bad={
            "nan_X": ({"X": nan_X}, _NAN),
            "inf_X": ({"X": inf_X}, _INF),
            "one_sample": (
                {"estimator": Ridge(), "X": X[:1], "y": y_reg[:1]},
                r"at least 2 samples",
            ),
            "1d_X": ({"X": X[:, 0]}, r"Expected 2D"),
            "string_X": ({"X": _strings(X)}, _STRING_X),
            "y_too_short": ({"y": y_clf[:-1]}, r"inconsistent"),
            "nan_y": ({"y": _with(y_clf[:, None], np.nan, 2, 0).ravel()}, r"y.*NaN"),
            "single_class": ({"y": np.zeros(N_SAMPLES, int)}, r"one class"),
        },
    )
    specs["bias_variance_scorers"] = dict(valid=dict(loss="squared"), bad={})
    specs["score_confidence_interval"] = dict(
        valid=dict(
            y_true=y_reg,
            y_pred=y_reg + 0.1,
            metric="r2",
            n_resamples=50,
            random_state=0,
        ),
        bad={
            "nan_y_pred": ({"y_pred": nan_y}, r"y_pred.*(NaN|finite)"),
            "inf_y_true": (
                {"y_true": _with(y_reg[:, None], np.inf, 2, 0).ravel()},
                r"y_true.*finite",
            ),
            "empty": (
                {"y_true": y_reg[:0], "y_pred": y_reg[:0]},
                r"at least 2 samples",
            ),
            "too_short": ({"y_pred": y_reg[:-1]}, r"inconsistent"),
            "undefined_metric": (
                {
                    "y_true": np.zeros(N_SAMPLES),
                    "y_pred": rng.rand(N_SAMPLES),
                    "metric": "roc_auc",
                },
                r"undefined",
            ),
        },
    )
    specs["expected_calibration_error"] = dict(
        valid=dict(y_true=y_clf, y_prob=proba),
        bad={
            "nan_prob": ({"y_prob": _with(proba, np.nan)}, r"y_prob.*finite"),
            "empty": (
                {"y_true": y_clf[:0], "y_prob": proba[:0]},
                r"non-empty|0 sample",
            ),
            "too_short": ({"y_true": y_clf[:-1]}, r"inconsistent"),
            "2d_y_true": ({"y_true": np.c_[y_clf, y_clf]}, r"1d array|y should"),
            "prob_above_one": ({"y_prob": proba * 2}, r"\[0, 1\]"),
            "rows_not_summing_to_one": ({"y_prob": proba * 0.5}, r"sum to 1"),
            "3d_prob": ({"y_prob": proba[:, :, None]}, r"shape"),
            "nan_y_true": (
                {"y_true": _with(y_clf[:, None], np.nan, 2, 0).ravel()},
                r"NaN",
            ),
            "continuous_y_true": ({"y_true": y_reg}, r"Unknown label type"),
            "missing_class": ({"y_true": np.zeros(N_SAMPLES, int)}, r"labels="),
        },
    )
    specs["make_friedman1"] = dict(valid=dict(n_samples=10, random_state=0), bad={})
    specs["make_noisy_labels"] = dict(
        valid=dict(y=y_clf, random_state=0),
        bad={
            "empty": ({"y": []}, r"2 classes"),
            "single_class": ({"y": np.zeros(10)}, r"2 classes"),
            "nan": ({"y": np.array([0.0, 1.0, np.nan])}, r"NaN"),
            "2d": ({"y": np.c_[y_clf, y_clf]}, r"1d array|y should"),
            "continuous": ({"y": y_reg}, r"Unknown label type"),
        },
    )
    specs["optimizer_path"] = dict(
        valid=dict(optimizer="sgd", n_steps=3),
        bad={
            "nan_start": ({"start": [np.nan, 0.0]}, r"start"),
            "three_coordinates": ({"start": [0.0, 0.0, 0.0]}, r"start"),
            "string_start": ({"start": ["a", "b"]}, r"start"),
            "negative_lr": ({"lr": -1.0}, r"'lr' parameter"),
            "infinite_lr": ({"lr": np.inf}, r"'lr' parameter"),
            "bad_betas": ({"optimizer": "adam", "betas": (0.9, 1.5)}, r"betas"),
            "unknown_hyperparameter": ({"lrr": 0.1}, r"lrr"),
            "callable_without_start": (
                {"function": lambda x, y: x**2 + y**2},
                r"start",
            ),
        },
    )
    specs["function_surface"] = dict(
        valid=dict(function="beale", n_points=5),
        bad={
            "callable_without_bounds": ({"function": lambda x, y: x + y}, r"bounds"),
            "three_bounds": ({"bounds": (1, 2, 3)}, r"bounds"),
        },
    )
    specs["flat_loss_function"] = dict(
        valid=dict(estimator=_fitted_mlp(X, y_clf), X=X, y=y_clf),
        bad={
            "nan_X": ({"X": nan_X}, _NAN),
            "wrong_n_features": ({"X": X[:, :-1]}, r"features"),
            "y_too_short": ({"y": y_clf[:-1]}, r"inconsistent|samples"),
            "not_a_network": ({"estimator": Ridge()}, r"sklopt neural estimator"),
        },
    )
    specs["sharpness"] = dict(  # sklopt.metrics.sharpness (API.md), when present
        valid=dict(
            estimator=_fitted_mlp(X, y_clf), X=X, y=y_clf, max_iter=2, random_state=0
        ),
        bad={
            "nan_X": ({"X": nan_X}, _NAN),
            "wrong_n_features": ({"X": X[:, :-1]}, r"features"),
            "y_too_short": ({"y": y_clf[:-1]}, r"inconsistent|samples"),
        },
    )
    return specs


def _fitted_mlp(X, y):
    from sklopt.neural import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier((4,), max_epochs=2, device="cpu", random_state=0).fit(X, y)


FUNCTIONS = dict(all_functions())
SPECS = _function_specs()


def test_every_public_function_is_in_the_catalogue():
    missing = sorted(set(FUNCTIONS) - set(SPECS))
    assert not missing, f"add catalogue entries to _function_specs for {missing}"


class _BadType:
    pass


def _invalid_values(constraints):
    """A value of no valid type, then one per constraint that has the right
    type but a wrong value (scikit-learn's test_public_functions scheme)."""
    yield _BadType()
    for constraint in constraints:
        try:
            yield generate_invalid_param_val(make_constraint(constraint))
        except NotImplementedError:
            continue


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_parameters_are_validated(name):
    func = FUNCTIONS[name]
    constraints = func._skl_parameter_constraints
    valid = SPECS[name]["valid"]
    for param, param_constraints in constraints.items():
        if param_constraints == "no_validation":
            continue
        for value in _invalid_values(param_constraints):
            _check_raises(
                lambda param=param, value=value: func(**{**valid, param: value}),
                rf"'{param}' parameter of {name} must be",
                InvalidParameterError,
            )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_unknown_or_missing_arguments(name):
    func = FUNCTIONS[name]
    valid = SPECS[name]["valid"]
    accepts_any = any(
        p.kind == p.VAR_KEYWORD for p in inspect.signature(func).parameters.values()
    )
    if not accepts_any:
        excinfo = _check_raises(
            lambda: func(**valid, n_roundz=3), r"unexpected keyword.*'n_roundz'"
        )
        assert name in str(excinfo.value) and "parameters are" in str(excinfo.value)
    required = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    for param in required:
        kwargs = {k: v for k, v in valid.items() if k != param}
        _check_raises(lambda kwargs=kwargs: func(**kwargs), rf"missing.*'{param}'")


def _bad_function_cases():
    return [
        pytest.param(name, case, id=f"{name}-{case}")
        for name in sorted(FUNCTIONS)
        for case in sorted(SPECS.get(name, {}).get("bad", {}))
    ]


@pytest.mark.parametrize("name, case", _bad_function_cases())
def test_functions_reject_bad_data(name, case):
    spec = SPECS[name]
    overrides, match = spec["bad"][case]
    _check_raises(lambda: FUNCTIONS[name](**{**spec["valid"], **overrides}), match)


def test_valid_catalogue_calls_succeed():
    """The catalogue's valid calls work, so the bad ones fail for the bad value."""
    for name, func in FUNCTIONS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            func(**SPECS[name]["valid"])


def test_bias_variance_scorers_reject_bad_data():
    from sklopt.model_selection import BootstrapReplicas, bias_variance_scorers

    rng = np.random.RandomState(0)
    X = rng.randn(N_SAMPLES, N_FEATURES)
    y = X[:, 0]
    replicas = BootstrapReplicas(Ridge(), n_rounds=3, random_state=0).fit(X, y)
    scorer = bias_variance_scorers()["neg_loss"]
    _check_raises(lambda: scorer(Ridge().fit(X, y), X, y), r"predict_members")
    _check_raises(
        lambda: scorer(replicas, X, _with(y[:, None], np.nan, 2, 0).ravel()), r"y.*NaN"
    )
    _check_raises(lambda: scorer(replicas, X[:, :-1], y), r"features")
    _check_raises(lambda: scorer(replicas, X, y[:-1]), r"inconsistent")
    _check_raises(lambda: scorer(replicas, X, np.array(["a"] * N_SAMPLES)), r"numeric")


# --- splitter and displays ---------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_splits": 0}, r"'n_splits' parameter"),
        ({"n_splits": 2.5}, r"'n_splits' parameter"),
        ({"train_size": 0.0}, r"'train_size' parameter"),
        ({"train_size": 1.5}, r"'train_size' parameter"),
        ({"train_size": "all"}, r"'train_size' parameter"),
    ],
)
def test_bootstrap_split_parameters(kwargs, match):
    from sklopt.model_selection import BootstrapSplit

    _check_raises(lambda: BootstrapSplit(**kwargs), match, InvalidParameterError)


@pytest.mark.parametrize(
    "kwargs, X, y, match",
    [
        ({}, np.zeros((1, 2)), None, r"at least 2 samples"),
        ({}, np.zeros((0, 2)), None, r"at least 2 samples"),
        ({"stratify": True}, np.zeros((10, 2)), None, r"pass y"),
        ({"stratify": True}, np.zeros((10, 2)), np.arange(9) % 2, r"inconsistent"),
        ({"train_size": 20}, np.zeros((10, 2)), None, r"train_size"),
        ({"random_state": "seed"}, np.zeros((10, 2)), None, r"seed"),
    ],
)
def test_bootstrap_split_data(kwargs, X, y, match):
    from sklopt.model_selection import BootstrapSplit

    cv = BootstrapSplit(3, **kwargs)
    _check_raises(lambda: list(cv.split(X, y)), match)


def test_displays_reject_bad_input(pyplot):
    from sklearn.tree import DecisionTreeRegressor

    from sklopt.inspection import (
        BiasVarianceDisplay,
        OptimizerPathDisplay,
        TrainingHistoryDisplay,
    )
    from sklopt.neural import MLPRegressor

    X = np.random.RandomState(0).randn(N_SAMPLES, N_FEATURES)
    y = X[:, 0]
    _check_raises(
        lambda: BiasVarianceDisplay.from_estimator(
            Ridge(),
            _with(X, np.inf),
            y,
            param_name="alpha",
            param_range=[1.0],
            n_rounds=2,
        ),
        _INF,
    )
    _check_raises(
        lambda: BiasVarianceDisplay.from_estimator(
            Ridge(), X, y, param_name="alphaa", param_range=[1.0], n_rounds=2
        ),
        r"Invalid parameter 'alphaa'",
    )
    _check_raises(
        lambda: TrainingHistoryDisplay.from_estimator(MLPRegressor()),
        r"not fitted",
        NotFittedError,
    )
    _check_raises(
        lambda: TrainingHistoryDisplay.from_estimator(
            DecisionTreeRegressor().fit(X, y)
        ),
        r"history_",
    )
    _check_raises(
        lambda: TrainingHistoryDisplay.from_history({"epoch": [1]}), r"train_loss"
    )
    _check_raises(
        lambda: OptimizerPathDisplay.from_optimizers(["adamm"]),
        r"'optimizer' parameter of optimizer_path",
    )
    _check_raises(lambda: OptimizerPathDisplay.from_optimizers([]), r"at least one")


def _undrawn_row(draw):
    rows = np.setdiff1d(np.arange(N_SAMPLES), draw)
    assert len(rows), "every row was drawn"
    return rows[0]


def test_resampling_studies_check_rows_that_no_resample_draws():
    """Infinity in a row that no bootstrap sample draws is still an error."""
    from sklopt.ensemble import BaggingRegressor
    from sklopt.model_selection import BootstrapReplicas, bias_variance_decomposition

    rng = np.random.RandomState(0)
    X = rng.randn(N_SAMPLES, N_FEATURES)
    y = X[:, 0]
    # one round: rows of np.random.RandomState(0).randint(0, n, n)
    row = _undrawn_row(np.random.RandomState(0).randint(0, N_SAMPLES, N_SAMPLES))
    X_bad = _with(X, np.inf, row=row)
    _check_raises(
        lambda: bias_variance_decomposition(
            Ridge(), X_bad, y, X, y, n_rounds=1, random_state=0
        ),
        r"X_train.*infinity",
    )
    _check_raises(
        lambda: BootstrapReplicas(Ridge(), n_rounds=1, random_state=0).fit(X_bad, y),
        _INF,
    )
    # bagging of trees (which accept NaN, not infinity)
    bagging = BaggingRegressor(n_estimators=1, random_state=0).fit(X, y)
    X_bad = _with(X, np.inf, row=_undrawn_row(bagging.estimators_samples_[0]))
    _check_raises(lambda: clone(bagging).fit(X_bad, y), _INF)
