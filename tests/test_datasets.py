import numpy as np
import pytest
from sklearn import datasets

from sklopt.datasets import make_friedman1, make_noisy_labels


def test_make_friedman1_true_function():
    X, y, y_true = make_friedman1(300, noise=0.5, return_true=True, random_state=3)
    # f(X) written out from Friedman (1991), independently of sklearn.
    f = (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
    )
    np.testing.assert_allclose(y_true, f, rtol=1e-12)
    assert np.std(y - y_true) == pytest.approx(0.5, rel=0.15)
    X2, y2 = make_friedman1(300, noise=0.5, random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_make_friedman1_matches_sklearn_data():
    seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    X, y = make_friedman1(50, noise=1.0, random_state=np.random.RandomState(0))
    X_ref, y_ref = datasets.make_friedman1(50, noise=1.0, random_state=seed)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("rate", [0.0, 0.2, 1.0])
def test_make_noisy_labels(rate, global_random_seed):
    y = np.repeat(np.array(["a", "b", "c", "d"]), 50)
    y_noisy = make_noisy_labels(y, noise_rate=rate, random_state=global_random_seed)
    assert (y_noisy != y).sum() == round(rate * len(y))
    assert set(y_noisy) <= set(y)


def test_make_noisy_labels_uniform_over_other_classes():
    y = np.zeros(30000, dtype=int)
    y[:10000] = 1
    y[:5000] = 2
    y_noisy = make_noisy_labels(np.r_[y, [3]], noise_rate=1.0, random_state=0)[:-1]
    # Every label changes, and a 0 becomes 1, 2 or 3 with probability 1/3 each.
    changed = y_noisy[y == 0]
    np.testing.assert_allclose(
        np.bincount(changed, minlength=4)[1:] / changed.size, 1 / 3, atol=0.02
    )


def test_bad_input():
    with pytest.raises(ValueError, match="noise_rate"):
        make_noisy_labels([0, 1], noise_rate=1.5)
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_noisy_labels([1, 1, 1])
    with pytest.raises(ValueError, match="n_features"):
        make_friedman1(10, n_features=3)
