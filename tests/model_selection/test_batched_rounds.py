"""Bootstrap rounds of neural networks fitted as one batched model equal the
one-by-one rounds (bias_variance_decomposition, BootstrapReplicas)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.tree import DecisionTreeRegressor

pytest.importorskip("torch")

from sklopt.exceptions import NotBatchableError  # noqa: E402
from sklopt.model_selection import (  # noqa: E402
    BootstrapReplicas,
    bias_variance_decomposition,
)
from sklopt.neural import CNNClassifier, MLPClassifier, MLPRegressor  # noqa: E402

TOL = {"rtol": 1e-4, "atol": 2e-5}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def clf_split():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X[:150], y[:150], X[150:], y[150:]


@pytest.mark.parametrize("loss", ["0-1", "log"])
def test_bias_variance_of_a_network_batched_equals_one_by_one(loss, clf_split):
    est = MLPClassifier(
        (8,), max_epochs=4, batch_size=16, dropout=0.1, device="cpu", random_state=0
    )
    kwargs = dict(loss=loss, n_rounds=6, random_state=0)
    batched = bias_variance_decomposition(est, *clf_split, batched=True, **kwargs)
    apart = bias_variance_decomposition(est, *clf_split, batched=False, **kwargs)
    for name, value in apart.to_dict().items():
        if isinstance(value, float):
            assert_allclose(getattr(batched, name), value, **TOL, err_msg=name)


def test_bias_variance_of_a_cnn_batched_on_request_on_the_cpu(capsys):
    """CNN rounds: ``'auto'`` fits them one by one on the CPU (saying why),
    ``batched=True`` fits them as one model with the same result."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    split = X[:150], y[:150], X[150:230], y[150:230]
    est = CNNClassifier((3,), max_epochs=2, batch_size=32, device="cpu", random_state=0)
    kwargs = dict(loss="0-1", n_rounds=4, random_state=0)
    auto = bias_variance_decomposition(est, *split, verbose=1, **kwargs)
    assert "batched on a GPU only" in capsys.readouterr().out
    batched = bias_variance_decomposition(est, *split, batched=True, **kwargs)
    for name, value in auto.to_dict().items():
        if isinstance(value, float):
            assert_allclose(getattr(batched, name), value, **TOL, err_msg=name)


@pytest.mark.parametrize("random_state", [0, np.random.RandomState(3)])
def test_estimator_random_state_is_not_reseeded_per_round(random_state):
    """As one by one: an int (or a RandomState, copied per round) gives every
    replica the same initial weights."""
    X, y = make_friedman1(n_samples=100, noise=0.5, random_state=0)
    est = MLPRegressor((8,), max_epochs=3, random_state=random_state, device="cpu")
    batched = BootstrapReplicas(est, n_rounds=4, random_state=0).fit(X, y)
    apart = BootstrapReplicas(est, n_rounds=4, random_state=0, batched=False)
    apart.fit(X, y)
    assert_allclose(batched.predict_members(X), apart.predict_members(X), **TOL)
    firsts = [m.history_["train_loss"].iloc[0] for m in batched.estimators_]
    assert len(set(firsts)) == 4  # different rows, same initial weights
    assert_allclose(
        [m.history_["train_loss"].iloc[0] for m in apart.estimators_], firsts, rtol=1e-5
    )


def test_replicas_with_sample_weight_and_fresh_seeds():
    X, y = make_friedman1(n_samples=100, noise=0.5, random_state=0)
    est = MLPRegressor((8,), max_epochs=3, device="cpu")  # random_state=None
    weight = np.linspace(0.2, 1.0, len(y))
    replicas = BootstrapReplicas(est, n_rounds=3, random_state=0, batched=True)
    members = replicas.fit(X, y, sample_weight=weight).predict_members(X)
    assert members.shape == (3, len(X))
    assert not np.allclose(members[0], members[1])


def test_unbatchable_rounds(clf_split, capsys):
    X, y = make_friedman1(n_samples=60, random_state=0)
    with pytest.raises(NotBatchableError, match="DecisionTreeRegressor offers no"):
        BootstrapReplicas(DecisionTreeRegressor(), n_rounds=2, batched=True).fit(X, y)
    est = MLPRegressor((4,), max_epochs=1, device="cpu")
    with pytest.raises(NotBatchableError, match=r"fit parameters \['check_input'\]"):
        BootstrapReplicas(est, n_rounds=2, batched=True, random_state=0).fit(
            X, y, check_input=True
        )
    with pytest.raises(TypeError, match="check_input"):
        BootstrapReplicas(est, n_rounds=2, verbose=1, random_state=0).fit(
            X, y, check_input=True
        )
    assert "Fitting the rounds one by one" in capsys.readouterr().out


def test_dataframe_input(clf_split):
    pd = pytest.importorskip("pandas")
    X_train, y_train, X_test, y_test = clf_split
    columns = [f"f{i}" for i in range(X_train.shape[1])]
    frames = [pd.DataFrame(X, columns=columns) for X in (X_train, X_test)]
    est = MLPClassifier((8,), max_epochs=3, device="cpu", random_state=0)
    kwargs = dict(loss="log", n_rounds=3, random_state=0)
    batched = bias_variance_decomposition(
        est, frames[0], y_train, frames[1], y_test, **kwargs
    )
    apart = bias_variance_decomposition(
        est, frames[0], y_train, frames[1], y_test, batched=False, **kwargs
    )
    assert_allclose(batched.loss, apart.loss, **TOL)
    assert_allclose(batched.variance, apart.variance, **TOL)


@pytest.mark.gpu
def test_cuda_bias_variance_batched_equals_one_by_one(clf_split):
    est = MLPClassifier((16,), max_epochs=5, device="cuda", random_state=0)
    kwargs = dict(loss="log", n_rounds=5, random_state=0)
    batched = bias_variance_decomposition(est, *clf_split, batched=True, **kwargs)
    apart = bias_variance_decomposition(est, *clf_split, batched=False, **kwargs)
    assert_allclose(batched.loss, apart.loss, rtol=1e-3)
    assert_allclose(batched.variance, apart.variance, rtol=1e-2, atol=1e-4)
