"""The report's conclusion sentences follow the numbers of their tables."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from sklopt.cli._conclusions import (
    bagging_sentence,
    batch_size_conclusion,
    bias_variance_conclusion,
    boosting_sentence,
    calibration_conclusion,
    default_rate_conclusion,
    double_descent_sentence,
    optimizer_conclusion,
    overfitting_conclusion,
    step_size_conclusion,
    tradeoff_sentence,
    width_sentence,
)
from sklopt.cli._studies import bias_variance_study
from sklopt.ensemble import BaggingRegressor
from sklopt.model_selection import bias_variance_decomposition


def _curve(model, param, values, loss, bias, variance, key="bias2"):
    return pd.DataFrame(
        {
            "model": model,
            "parameter": param,
            "value": [str(v) for v in values],
            "loss": loss,
            key: bias,
            "variance": variance,
        }
    )


DEPTHS = [1, 4, None]


def _study_table(tree_var, bag_var, boost_bias):
    return pd.concat(
        [
            _curve(
                "decision tree",
                "max_depth",
                DEPTHS,
                [20.0, 12.0, 14.0],
                [19.0, 8.0, 4.8],
                tree_var,
            ),
            _curve(
                "bagging (10 trees)",
                "estimator__max_depth",
                DEPTHS,
                [19.5, 10.0, 7.0],
                [19.0, 8.0, 5.0],
                bag_var,
            ),
            _curve(
                "boosting (stumps)",
                "n_estimators",
                [1, 30, 300],
                [25.0, 10.0, 6.0],
                boost_bias,
                [0.5, 1.0, 1.5],
            ),
        ],
        ignore_index=True,
    )


def test_bias_variance_conclusion_quotes_the_figures_when_the_effects_show():
    table = _study_table([1.0, 4.0, 9.2], [0.5, 2.0, 1.9], [24.5, 9.0, 4.5])
    text = bias_variance_conclusion(table)
    assert "variance falls from 9.2 to 1.9 when 10 trees are bagged" in text
    assert "Boosting lowers the bias of stumps: bias^2 falls from 24.5" in text
    assert "to 4.5 with n_estimators=300" in text
    assert "bias^2 falls from 19 to 4.8 and variance rises from 1 to 9.2" in text
    assert "lowest at max_depth=4 (12," in text and "a U shape" in text
    assert "not" not in text


def test_bias_variance_conclusion_says_when_the_effects_are_absent():
    # A stable base: bagging leaves the variance as it is; boosting that
    # does not reduce the bias (a target without structure).
    table = _study_table([1.0, 1.0, 1.0], [1.0, 1.0, 0.95], [24.5, 24.0, 25.0])
    text = bias_variance_conclusion(table)
    assert "Bagging does not lower the variance here" in text
    assert "it is 1 for one tree and 0.95 for 10 bagged trees" in text
    assert "Boosting does not lower the bias of stumps here" in text
    assert "variance stays about the same from 1 to 1 (expected: rises)" in text
    assert "lowers" not in text


def test_tradeoff_without_a_u_shape():
    rows = _curve("t", "max_depth", [1, 2, 3], [3.0, 2.0, 1.0], [3, 2, 1], [0, 0, 0])
    text = tradeoff_sentence(rows, bias_key="bias2", what="One tree")
    assert "no U shape over this range: the loss is lowest at an end" in text
    assert "lowest at max_depth=3 (1," in text


def test_zero_one_loss_speaks_of_bias():
    rows = _curve("b", "n_estimators", [1, 10], [0.3, 0.1], [0.3, 0.1], [0, 0], "bias")
    assert boosting_sentence(rows, bias_key="bias").startswith(
        "Boosting lowers the bias of stumps: bias falls from 0.3"
    )


def test_width_sentence_unimodal_and_monotone_variance():
    widths = [2, 8, 32, 128]
    rows = _curve("MLP", "width", widths, [1, 1, 1, 1], [4, 2, 1, 0.5], [1, 3, 2, 1])
    text = width_sentence(rows, bias_key="bias2")
    assert "bias^2 falls from 4 to 0.5" in text
    assert "variance rises from 1 to 3 at width 8 and falls to 1" in text
    rows["variance"] = [1.0, 2.0, 3.0, 4.0]
    rows["bias2"] = [1.0, 1.0, 1.0, 1.05]
    text = width_sentence(rows, bias_key="bias2")
    assert "variance shows no interior peak" in text
    assert "bias^2 does not fall (1 to 1.05; expected: it falls)" in text


def test_double_descent_sentence():
    widths = [2, 8, 32, 128]
    text = double_descent_sentence(
        widths, [0.3, 0.4, 0.25, 0.2], [0.3, 0.05, 0.0, 0.0], noise_rate=0.2
    )
    assert "With 20% label noise" in text
    assert "from width 32" in text
    assert "test error rises to 0.4 at width 8 and falls to 0.2 at width 128" in text
    text = double_descent_sentence(
        widths, [0.4, 0.3, 0.25, 0.2], [0.3, 0.2, 0.1, 0.05], noise_rate=0.2
    )
    assert "no width fits the noisy training labels" in text
    assert "no double descent here" in text


def _batch_table(acc, small_range, full_range):
    return pd.DataFrame(
        {
            "batch size": ["16", "full"],
            "test accuracy": acc,
            "sharpness (eps=0.001)": [small_range[1], full_range[1]],
            "sharpness min (eps=0.001)": [small_range[0], full_range[0]],
        }
    )


def test_batch_size_conclusion():
    text = batch_size_conclusion(_batch_table([0.976, 0.962], (0.08, 0.1), (4.1, 5.0)))
    assert text.startswith("Batch 16 generalizes better: test accuracy 0.976 vs 0.962")
    assert "at eps=0.001 the small-batch minimum is flatter: 0.1 (starts" in text
    assert "0.08-0.1) vs 5 (4.1-5)" in text
    # The effect absent: same accuracy, overlapping ranges of starts.
    text = batch_size_conclusion(_batch_table([0.97, 0.968], (0.1, 0.44), (0.4, 0.43)))
    assert "Test accuracy does not separate the two (0.970 vs 0.968" in text
    assert "the ranges of starts overlap" in text
    assert "flatter" not in text and "better" not in text
    text = batch_size_conclusion(_batch_table([0.95, 0.97], (3.0, 4.0), (0.1, 0.2)))
    assert "does not generalize better here" in text and "is sharper" in text


def test_calibration_conclusion():
    table = pd.DataFrame(
        {
            "regularizer": ["none (MLP)", "mixup", "label smoothing"],
            "ECE (20% noise)": [0.15, 0.05, 0.149],
        }
    )
    pairs = {"mixup": "none (MLP)", "label smoothing": "none (MLP)", "x": "y"}
    text = calibration_conclusion(table, noise_column="ECE (20% noise)", pairs=pairs)
    assert "lower the calibration error" in text and "mixup 0.15 -> 0.05" in text
    assert "These do not lower it by more than 10% here: label smoothing" in text


def test_optimizer_conclusion():
    table = pd.DataFrame(
        {
            "optimizer": ["adam", "rmsprop", "sgd", "nesterov"],
            "test accuracy": [0.975, 0.970, 0.90, np.nan],
            "std": [0.01, 0.012, 0.02, np.nan],
        }
    )
    text = optimizer_conclusion(table)
    assert text.startswith("adam scores best (accuracy 0.975 ± 0.01)")
    assert "does not separate them" in text and "0.005 behind" in text
    assert "The lowest is sgd (0.9)" in text and "No score for: nesterov." in text
    table["test accuracy"] = [0.975, 0.90, 0.85, 0.8]
    text = optimizer_conclusion(table)
    assert "leads the next, rmsprop (0.9), by 0.075" in text


# ---- on data where the effect is absent ----------------------------------------
@pytest.mark.slow
def test_pure_noise_target_gets_no_bias_claims():
    # y is pure noise around a known zero function: nothing to learn, so
    # neither depth nor boosting can lower the bias.
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(200, 5))
    y = rng.normal(size=200)
    table, _ = bias_variance_study(
        X, y, y_true=np.zeros(200), n_rounds=8, random_state=0, progress=False
    )
    text = bias_variance_conclusion(table)
    assert "Boosting does not lower the bias of stumps here" in text
    assert "One tree: bias^2 falls" not in text


def test_stable_base_model_bagging_does_not_lower_variance():
    # Bagging a linear regression averages near-identical fits: its variance
    # is not 10 % below one fit's.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=300)
    args = X[:200], y[:200], X[200:], y[200:]
    rows = []
    for name, est in [
        ("decision tree", LinearRegression()),
        ("bagging (10 trees)", BaggingRegressor(LinearRegression(), random_state=0)),
    ]:
        result = bias_variance_decomposition(est, *args, n_rounds=20, random_state=0)
        rows.append(
            _curve(name, "-", ["-"], [result.loss], [result.bias2], [result.variance])
        )
    text = bagging_sentence(rows[0], rows[1], n_estimators=10)
    assert text.startswith("Bagging does not lower the variance here")


@pytest.mark.parametrize("value", [0.0, 1e-300])
def test_zero_variance_base(value):
    rows = _curve("t", "d", [1], [1.0], [1.0], [value])
    assert "does not lower" in bagging_sentence(rows, rows, n_estimators=5)


# ---- the reports use them -------------------------------------------------------
def test_bias_variance_report_quotes_its_own_table(tmp_path):
    import pandas as pd

    from sklopt.cli._main import main

    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.uniform(size=(120, 3)), columns=["a", "b", "c"])
    frame["y"] = 3 * frame["a"] + rng.normal(scale=0.3, size=120)
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "bv"
    argv = ["bias-variance", "--data", str(tmp_path / "data.csv"), "--target", "y"]
    argv += ["--n-rounds", "3", "--quick", "--no-progress", "--output", str(out)]
    argv += ["--models", "tree", "bagging"]
    assert main(argv) == 0
    table = pd.read_csv(
        out / "bias_variance.csv", dtype={"value": str}, keep_default_na=False
    )
    assert set(table["model"]) == {"decision tree", "bagging (10 trees)"}
    # No y_true: the noise column (all NaN) is left out.
    assert "noise" not in table.columns
    report = (out / "report.md").read_text()
    assert bias_variance_conclusion(table) in report
    assert "## Bias-variance trade-off: a tree and bagging" in report


def test_neural_family_is_in_the_units_of_the_others():
    # The network trains on a standardized target and its terms are scaled
    # back: the noise term, which does not depend on the model, equals the
    # tree's exactly.
    from sklopt.cli._main import FAMILIES as CLI_FAMILIES
    from sklopt.cli._studies import FAMILIES

    assert CLI_FAMILIES == FAMILIES
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(80, 3))
    y_true = 50 + 20 * X[:, 0]
    y = y_true + rng.normal(scale=5.0, size=80)
    table, curves = bias_variance_study(
        X,
        y,
        y_true=y_true,
        n_rounds=2,
        families=("tree", "neural"),
        widths=(1, 4),
        max_epochs=3,
        random_state=0,
        progress=False,
    )
    tree = _rows(table, "decision tree")
    net = _rows(table, "MLP (1 hidden layer, 3 epochs)")
    assert list(net["value"]) == ["1", "4"] and set(net["parameter"]) == {"width"}
    np.testing.assert_allclose(net["noise"], tree["noise"].iloc[0], rtol=1e-10)
    np.testing.assert_allclose(
        curves["MLP (1 hidden layer, 3 epochs)"].noise, net["noise"]
    )


def _rows(table, model):
    return table[table["model"] == model].reset_index(drop=True)


def test_overfitting_conclusion():
    history = pd.DataFrame(
        {"train_loss": [2.0, 1.0, 0.5, 0.1], "valid_loss": [2.0, 1.2, 1.5, 2.4]}
    )
    text = overfitting_conclusion(history, best_epoch=2)
    assert text.startswith("Over-fitting: from epoch 2 to 4")
    assert "1 to 0.1" in text and "1.2 to 2.4" in text
    assert "keeps epoch 2, the lowest validation loss" in text
    # Validation loss still falling: no turn, and the kept epoch is named.
    history["valid_loss"] = [2.0, 1.2, 1.1, 1.0]
    text = overfitting_conclusion(history, best_epoch=2)
    assert text.startswith("No over-fitting turn by more than 10% here")
    assert "lowest at epoch 4" in text


def test_step_size_conclusion():
    steps = {"adagrad": [1.0, 0.1], "adam": [1.0, 2.0]}
    text = step_size_conclusion(steps, epochs=[1, 100])
    assert text.startswith("Adagrad's effective step shrinks the most")
    assert "adagrad 10-fold, adam 0.5-fold" in text
    steps = {"adagrad": [1.0, 0.95], "adam": [1.0, 2.0]}
    text = step_size_conclusion(steps, epochs=[1, 100])
    assert "does not shrink" in text


def test_default_rate_conclusion():
    scores = {
        "a": {"sgd 0.01": 0.5, "sgd 0.1": 0.9, "sgd 1": np.nan, "adadelta": 0.88},
        "b": {"sgd 0.01": 0.5, "sgd 0.1": 0.9, "sgd 1": 0.2, "adadelta": 0.7},
    }
    text = default_rate_conclusion(scores)
    assert "within 0.05 of SGD's best learning rate on: a: adadelta 0.88, " in text
    assert "SGD 0.5..0.9 (best lr=0.1)" in text
    assert "more than 0.05 behind SGD's best rate on: b: adadelta 0.7" in text
