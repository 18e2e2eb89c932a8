import numpy as np
import pytest

from sklopt.metrics import expected_calibration_error


def _reference_ece(y_true_index, y_prob, n_bins):
    """Loop over bins, straight from the definition (Guo et al., 2017)."""
    confidence = y_prob.max(axis=1)
    correct = y_prob.argmax(axis=1) == y_true_index
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        in_bin = (confidence > lo) & (confidence <= hi)
        if b == 0:
            in_bin |= confidence == 0
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - confidence[in_bin].mean())
            ece += in_bin.mean() * gap
    return ece


@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_matches_reference(global_random_seed, n_bins):
    rng = np.random.RandomState(global_random_seed)
    logits = rng.normal(size=(500, 4)) * 2
    y_prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_true = rng.randint(0, 4, size=500)
    got = expected_calibration_error(y_true, y_prob, n_bins=n_bins)
    assert got == pytest.approx(_reference_ece(y_true, y_prob, n_bins), abs=1e-12)


def test_calibrated_predictions_have_small_ece(global_random_seed):
    # Labels drawn from the predicted probabilities are calibrated by construction.
    rng = np.random.RandomState(global_random_seed)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    # Over-confident predictions: confidence 1 but 75% accuracy -> ECE 0.25.
    y_prob = np.tile([0.0, 1.0], (400, 1))
    y_true = np.r_[np.ones(300, int), np.zeros(100, int)]
    assert expected_calibration_error(y_true, y_prob) == pytest.approx(0.25)


def test_binary_1d_equals_2d_and_string_labels():
    rng = np.random.RandomState(0)
    p = rng.uniform(size=200)
    y = rng.randint(0, 2, size=200)
    ece_1d = expected_calibration_error(y, p)
    ece_2d = expected_calibration_error(y, np.column_stack([1 - p, p]))
    ece_str = expected_calibration_error(np.array(["a", "b"])[y], p)
    assert ece_1d == pytest.approx(ece_2d) == pytest.approx(ece_str)


def test_labels_for_missing_classes():
    y_prob = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    with pytest.raises(ValueError, match="pass labels="):
        expected_calibration_error([0, 1], y_prob)
    got = expected_calibration_error([0, 1], y_prob, labels=[0, 1, 2])
    assert got == pytest.approx(_reference_ece(np.array([0, 1]), y_prob, 15))


@pytest.mark.parametrize(
    "y_true, y_prob, kwargs, match",
    [
        ([0, 1], [[0.5, 0.5], [np.nan, 1.0]], {}, "finite"),
        ([0, 1], [[0.5, 0.5], [1.5, -0.5]], {}, r"\[0, 1\]"),
        ([0, 1, 2], [[0.5, 0.5]] * 3, {}, "3 classes"),
        ([0, 1], [[0.5, 0.5]] * 3, {}, "inconsistent numbers"),
        ([0, 1], [[0.5, 0.5]] * 2, {"n_bins": 0}, "n_bins"),
        ([0, 5], [[0.5, 0.5]] * 2, {"labels": [0, 1]}, "not in labels"),
    ],
)
def test_bad_input(y_true, y_prob, kwargs, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(y_true, y_prob, **kwargs)
