"""Bagging of neural networks trained as one batched model equals one-by-one
bagging (``batched='auto'``/``True`` against ``batched=False``)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("torch")

from sklopt.ensemble import BaggingClassifier, BaggingRegressor  # noqa: E402
from sklopt.exceptions import NotBatchableError  # noqa: E402
from sklopt.neural import CNNClassifier, MLPClassifier, MLPRegressor  # noqa: E402

TOL = {"rtol": 1e-4, "atol": 2e-5}


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(
        n_samples=160, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, np.array(["ant", "bee", "cat"])[y]


@pytest.fixture
def batched_calls(monkeypatch):
    """Count the calls of the neural estimators' batched-training hook."""
    calls = []
    for cls in (MLPClassifier, MLPRegressor, CNNClassifier):
        original = cls._fit_batched

        def spy(self, *args, _original=original, **kwargs):
            calls.append(len(args[2]))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "_fit_batched", spy)
    return calls


def _fit(ensemble, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ensemble.fit(X, y, **fit_params)


def _assert_same_members(one, other, X):
    for a, b in zip(one.estimators_, other.estimators_, strict=True):
        assert a.random_state == b.random_state
        assert a.n_iter_ == b.n_iter_
        assert_allclose(a.history_["train_loss"], b.history_["train_loss"], rtol=1e-4)
    if hasattr(one, "predict_proba_members"):
        assert_allclose(
            one.predict_proba_members(X), other.predict_proba_members(X), **TOL
        )
    else:
        assert_allclose(one.predict_members(X), other.predict_members(X), **TOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_bagging_classifier_batched_equals_one_by_one(
    weighted, clf_data, batched_calls
):
    X, y = clf_data
    base = MLPClassifier((8,), max_epochs=5, batch_size=16, dropout=0.1, device="cpu")
    sample_weight = np.linspace(0.5, 2.0, len(y)) if weighted else None
    params = dict(n_estimators=4, oob_score=True, random_state=0)
    batched = _fit(
        BaggingClassifier(base, batched=True, **params),
        X,
        y,
        sample_weight=sample_weight,
    )
    assert batched_calls == [4]
    apart = _fit(
        BaggingClassifier(base, batched=False, **params),
        X,
        y,
        sample_weight=sample_weight,
    )
    assert batched_calls == [4]
    _assert_same_members(batched, apart, X)
    assert_array_equal(batched.predict(X), apart.predict(X))
    assert_allclose(batched.oob_decision_function_, apart.oob_decision_function_, **TOL)
    assert set(batched.predict(X)) <= set(y)


def test_bagging_regressor_of_subsamples(batched_calls):
    X, y = make_friedman1(n_samples=120, noise=0.5, random_state=0)
    base = MLPRegressor((8,), max_epochs=4, batch_size=16, device="cpu")
    params = dict(n_estimators=3, max_samples=0.6, bootstrap=False, random_state=1)
    batched = _fit(BaggingRegressor(base, **params), X, y / y.std())
    apart = _fit(BaggingRegressor(base, batched=False, **params), X, y / y.std())
    assert batched_calls == [3]
    _assert_same_members(batched, apart, X)


def test_warm_start_adds_batched_members(clf_data):
    X, y = clf_data
    base = MLPClassifier((8,), max_epochs=3, device="cpu")
    grown = BaggingClassifier(base, n_estimators=2, warm_start=True, random_state=0)
    _fit(grown, X, y)
    _fit(grown.set_params(n_estimators=4), X, y)
    direct = _fit(BaggingClassifier(base, n_estimators=4, random_state=0), X, y)
    _assert_same_members(grown, direct, X)


def test_feature_subsets_are_not_batched(clf_data, batched_calls, capsys):
    X, y = clf_data
    base = MLPClassifier((8,), max_epochs=2, device="cpu")
    with pytest.raises(NotBatchableError, match="different feature subsets"):
        BaggingClassifier(
            base, n_estimators=2, max_features=0.5, batched=True, random_state=0
        ).fit(X, y)
    _fit(
        BaggingClassifier(
            base, n_estimators=2, max_features=0.5, verbose=1, random_state=0
        ),
        X,
        y,
    )
    assert batched_calls == []
    assert "one by one: the members use different feature subsets" in (
        capsys.readouterr().out
    )


def test_cnn_members_batched_on_request_only_on_the_cpu(batched_calls, capsys):
    """On the CPU ``'auto'`` trains CNN members one by one and says why;
    ``batched=True`` trains them as one model, equal to one-by-one bagging."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:150] / 16.0, y[:150]
    cnn = CNNClassifier(
        channels=(3,), dropout=0.1, max_epochs=2, batch_size=32, device="cpu"
    )
    auto = _fit(BaggingClassifier(cnn, n_estimators=3, verbose=1, random_state=0), X, y)
    assert batched_calls == []
    assert "members are batched on a GPU only" in capsys.readouterr().out
    forced = BaggingClassifier(cnn, n_estimators=3, batched=True, random_state=0)
    _fit(forced, X, y)
    assert batched_calls == [3]
    _assert_same_members(forced, auto, X)


def test_unbatchable_bases(clf_data, capsys):
    X, y = clf_data
    torch = pytest.importorskip("torch")
    cnn = CNNClassifier(
        channels=(2,), image_shape=(1, 2, 3), optimizer=torch.optim.SGD, max_epochs=1
    )
    with pytest.raises(NotBatchableError, match="is a torch optimizer class"):
        BaggingClassifier(cnn, n_estimators=2, batched=True, random_state=0).fit(X, y)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((4,), max_epochs=1))
    with pytest.raises(NotBatchableError, match="Pipeline offers no batched"):
        BaggingClassifier(pipe, n_estimators=2, batched=True, random_state=0).fit(X, y)
    # 'auto' trains a pipeline one by one, without a message (nothing to batch)
    _fit(BaggingClassifier(pipe, n_estimators=2, verbose=1, random_state=0), X, y)
    assert "one by one" not in capsys.readouterr().out


@pytest.mark.gpu
@pytest.mark.parametrize(
    "params",
    [{}, {"normalization": "batch", "early_stopping": True, "dropout": 0.2}],
    ids=["plain", "batchnorm-early_stopping-dropout"],
)
def test_cuda_bagging_batched_equals_one_by_one(params, clf_data, batched_calls):
    X, y = clf_data
    base = MLPClassifier(
        (16,), max_epochs=6, batch_size=32, device="cuda", random_state=0, **params
    )
    kwargs = dict(n_estimators=4, random_state=0)
    batched = _fit(BaggingClassifier(base, batched=True, **kwargs), X, y)
    apart = _fit(BaggingClassifier(base, batched=False, **kwargs), X, y)
    assert batched_calls == [4]
    assert batched.estimators_[0].device_.startswith("cuda")
    for a, b in zip(batched.estimators_, apart.estimators_):
        assert a.n_iter_ == b.n_iter_
    assert_allclose(
        batched.predict_proba_members(X),
        apart.predict_proba_members(X),
        rtol=1e-3,
        atol=1e-3,
    )
