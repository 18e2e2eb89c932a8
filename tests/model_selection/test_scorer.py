"""bias_variance_scorers with any estimator exposing predict_members."""

import numpy as np
import pytest
from sklearn.metrics import check_scoring

from sklopt.model_selection import bias_variance_scorers


class _Members:
    """A fitted duck-typed ensemble that returns fixed member predictions."""

    def __init__(self, members, proba=None, classes=None):
        self.members = np.asarray(members)
        self.proba = proba
        self.classes_ = classes

    def predict_members(self, X):
        return self.members[:, : len(X)]

    def predict_proba_members(self, X):
        return self.proba[:, : len(X)]


def test_keys_names_and_sign():
    assert set(bias_variance_scorers()) == {"neg_loss", "neg_bias2", "neg_variance"}
    assert set(bias_variance_scorers("0-1")) == {"neg_loss", "neg_bias", "neg_variance"}
    assert set(bias_variance_scorers("log")) == {"neg_loss", "neg_bias", "neg_variance"}
    # sklearn accepts the dict as multi-metric scoring
    assert set(
        check_scoring(None, scoring=bias_variance_scorers()).__dict__["_scorers"]
    ) == {"neg_loss", "neg_bias2", "neg_variance"}
    assert "neg_variance" in repr(bias_variance_scorers()["neg_variance"])


def test_squared_scores_against_numpy():
    rng = np.random.RandomState(0)
    members, y = rng.randn(7, 30), rng.randn(30)
    est, X = _Members(members), np.zeros((30, 1))
    s = {k: f(est, X, y) for k, f in bias_variance_scorers().items()}
    main = members.mean(axis=0)
    assert s["neg_loss"] == pytest.approx(-np.mean((members - y) ** 2), rel=1e-12)
    assert s["neg_bias2"] == pytest.approx(-np.mean((main - y) ** 2), rel=1e-12)
    assert s["neg_variance"] == pytest.approx(-np.mean(members.var(axis=0)), rel=1e-12)
    # sample weights average the per-sample terms
    w = rng.rand(30)
    got = bias_variance_scorers()["neg_bias2"](est, X, y, sample_weight=w)
    assert got == pytest.approx(-np.average((main - y) ** 2, weights=w), rel=1e-12)


def test_zero_one_scores_with_string_labels():
    members = np.array([["a", "b", "c"], ["a", "c", "c"], ["b", "c", "a"]])
    y = np.array(["a", "b", "a"])
    est, X = _Members(members), np.zeros((3, 1))
    s = {k: f(est, X, y) for k, f in bias_variance_scorers("0-1").items()}
    # modes of the columns (a, a, b), (b, c, c), (c, c, a)
    main = np.array(["a", "c", "c"])
    assert s["neg_bias"] == pytest.approx(-np.mean(main != y))
    assert s["neg_variance"] == pytest.approx(-np.mean(members != main))
    assert s["neg_loss"] == pytest.approx(-np.mean(members != y))


def test_log_scores_and_unknown_labels():
    rng = np.random.RandomState(0)
    proba = rng.dirichlet([1, 1], size=(4, 10))
    y = rng.randint(0, 2, 10)
    est = _Members(np.zeros((4, 10)), proba=proba, classes=np.array([0, 1]))
    s = {
        k: f(est, np.zeros((10, 1)), y) for k, f in bias_variance_scorers("log").items()
    }
    assert s["neg_loss"] == pytest.approx(
        np.mean(np.log(proba[:, np.arange(10), y])), rel=1e-10
    )
    assert s["neg_loss"] == pytest.approx(s["neg_bias"] + s["neg_variance"], rel=1e-10)
    with pytest.raises(ValueError, match=r"labels \[5\] that are not among"):
        bias_variance_scorers("log")["neg_loss"](
            est, np.zeros((10, 1)), np.r_[y[:9], 5]
        )


def test_bad_use():
    with pytest.raises(ValueError, match="'loss' parameter of bias_variance_scorers"):
        bias_variance_scorers("mse")
    with pytest.raises(TypeError, match="need an estimator with predict_members"):
        bias_variance_scorers()["neg_loss"](object(), np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        bias_variance_scorers()["neg_loss"](
            _Members(np.zeros((2, 3))), np.zeros((3, 1)), np.zeros(2)
        )
