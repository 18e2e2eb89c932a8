"""The claims of the examples and reports, asserted over three seeds.

Each test states its protocol and its margin; they were fixed before the
seeds 1 and 2 were run. Every test fits networks or ensembles for about a
minute on two cores, hence ``slow``.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sklopt.cli._conclusions import (
    bagging_sentence,
    boosting_sentence,
    tradeoff_sentence,
    width_sentence,
)
from sklopt.cli._studies import batch_size_study, bias_variance_study
from sklopt.datasets import make_friedman1, make_noisy_labels

SEEDS = (0, 1, 2)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _one_thread():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _rows(table, model):
    return table[table["model"] == model].reset_index(drop=True)


def test_keskar_full_batch_minima_are_sharper():
    # The protocol of `sklopt demo` part 3 and of
    # examples/optimization/plot_batch_size_sharpness.py: MLP(256, 256) on
    # digits, Adam, batch 16 vs full batch, both trained to a training loss
    # of 0.002; sharpness at eps=1e-3 from 3 converged starts. Claim: the
    # full-batch minimum's smallest start exceeds 2 x the batch-16 minimum's
    # largest, in 3 of 3 seeds.
    #
    # A first protocol, trained only to a loss of 0.02 with a 1.5 x margin,
    # held in 2 of 3 seeds (ratios 1.61, 1.68, 1.23; the ranges of starts
    # did not overlap in any seed), and test accuracy was not higher for
    # batch 16 (0.973 vs 0.976, 0.969 vs 0.967, 0.958 vs 0.973): at that loss
    # the minima are not reached yet. Accuracy is not asserted.
    X, y = load_digits(return_X_y=True)
    report = []
    for seed in SEEDS:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        table, _ = batch_size_study(
            X_train,
            y_train,
            X_test,
            y_test,
            epsilons=(1e-3,),
            target_loss=2e-3,
            random_state=seed,
            progress=False,
        )
        small, full = table.iloc[0], table.iloc[-1]
        report.append(
            (
                seed,
                small["sharpness (eps=0.001)"],
                full["sharpness min (eps=0.001)"],
                small["test accuracy"],
                full["test accuracy"],
            )
        )
    print(report)
    for _seed, small_max, full_min, _, _ in report:
        assert full_min > 2 * small_max, report


def test_bagging_variance_boosting_bias_and_the_tree_tradeoff():
    # make_friedman1 (400 rows, noise 1.0, noise-free target known), 10
    # bootstrap rounds. Claims, each in 3 of 3 seeds with a 10 % margin:
    # bagging 10 trees lowers the variance of the unpruned tree; boosting
    # stumps lowers the bias from 1 to 300 stages; one tree's bias^2 falls and
    # its variance rises with depth, and its loss is lowest at an inner depth.
    for seed in SEEDS:
        X, y, y_true = make_friedman1(
            400, noise=1.0, return_true=True, random_state=seed
        )
        table, _ = bias_variance_study(
            X, y, y_true=y_true, n_rounds=10, random_state=seed, progress=False
        )
        tree = _rows(table, "decision tree")
        bagging = _rows(table, "bagging (10 trees)")
        boosting = _rows(table, "boosting (stumps)")
        text = bagging_sentence(tree, bagging, n_estimators=10)
        assert text.startswith("Bagging lowers the variance"), (seed, text)
        text = boosting_sentence(boosting, bias_key="bias2")
        assert text.startswith("Boosting lowers the bias"), (seed, text)
        text = tradeoff_sentence(tree, bias_key="bias2", what="One tree")
        assert "(expected:" not in text and "a U shape" in text, (seed, text)


def test_yang_bias_falls_variance_is_unimodal_with_width():
    # The protocol of examples/generalization/plot_neural_bias_variance.py
    # (and of `sklopt bias-variance --models neural`): one hidden layer of
    # width 1, 4, 16, 64, 256, 10 stacked bootstrap rounds. Claims in 3 of 3
    # seeds: bias^2 at width 256 below 0.9 x width 1; variance peaks at an
    # inner width 10 % above both ends.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in SEEDS:
            X, y, y_true = make_friedman1(
                400, noise=1.0, return_true=True, random_state=seed
            )
            table, _ = bias_variance_study(
                X,
                y,
                y_true=y_true,
                n_rounds=10,
                families=("neural",),
                widths=(1, 4, 16, 64, 256),
                random_state=seed,
                progress=False,
            )
            text = width_sentence(table, bias_key="bias2")
            assert "bias^2 falls" in text and "unimodal" in text, (seed, text)


def test_nakkiran_test_error_peaks_where_noisy_labels_are_interpolated():
    # The protocol of examples/generalization/plot_neural_bias_variance.py:
    # digits, half held out, 20 % label noise, one hidden layer of width 8,
    # 32, 128, 512, Adam lr 0.003, batch 64, 300 epochs. Claim in 3 of 3
    # seeds: the first width with training error < 1 % has a test error
    # above both the narrowest and the widest network's.
    from sklopt.neural import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    widths = (8, 32, 128, 512)
    outcomes = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in SEEDS:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.5, stratify=y, random_state=seed
            )
            y_noisy = make_noisy_labels(y_train, noise_rate=0.2, random_state=seed)
            train_error, test_error = [], []
            for width in widths:
                net = MLPClassifier(
                    (width,),
                    lr=3e-3,
                    batch_size=64,
                    max_epochs=300,
                    tol=0.0,
                    patience=10**6,
                    random_state=seed,
                ).fit(X_train, y_noisy)
                train_error.append(1 - net.score(X_train, y_noisy))
                test_error.append(1 - net.score(X_test, y_test))
            outcomes.append((seed, np.round(train_error, 3), np.round(test_error, 3)))
    print(outcomes)
    for _seed, train_error, test_error in outcomes:
        fits = np.flatnonzero(train_error < 0.01)
        assert len(fits), outcomes
        at = test_error[fits[0]]
        assert at > max(test_error[0], test_error[-1]), outcomes
