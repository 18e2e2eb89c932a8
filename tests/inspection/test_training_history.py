import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from sklopt.inspection import TrainingHistoryDisplay

HISTORY = pd.DataFrame(
    {
        "epoch": [1, 2, 3, 4],
        "train_loss": [1.0, 0.6, 0.4, 0.3],
        "valid_loss": [1.1, 0.8, 0.7, 0.9],
    }
)


class _FakeNet(LinearRegression):
    """A fitted estimator exposing history_ and best_epoch_ like the nets."""

    def fit(self, X, y):
        super().fit(X, y)
        self.history_ = HISTORY
        self.best_epoch_ = 3
        return self


def test_from_history_draws_lines(pyplot):
    display = TrainingHistoryDisplay.from_history(HISTORY, best_epoch=3, name="adam")
    np.testing.assert_array_equal(display.line_train_.get_xdata(), HISTORY["epoch"])
    np.testing.assert_allclose(display.line_train_.get_ydata(), HISTORY["train_loss"])
    np.testing.assert_allclose(display.line_valid_.get_ydata(), HISTORY["valid_loss"])
    assert display.best_epoch_line_.get_xdata()[0] == 3
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == [
        "adam: training loss",
        "adam: validation loss",
        "adam: best epoch (3)",
    ]
    assert display.ax_.get_xlabel() == "epoch" and display.ax_.get_yscale() == "log"
    assert display.figure_ is display.ax_.figure


def test_without_validation_and_on_given_axes(pyplot):
    fig, ax = pyplot.subplots()
    history = HISTORY.assign(valid_loss=np.nan)
    display = TrainingHistoryDisplay.from_history(history, ax=ax, logy=False)
    assert display.ax_ is ax and display.figure_ is fig
    assert display.line_valid_ is None and display.best_epoch_line_ is None
    assert len(ax.get_lines()) == 1 and ax.get_yscale() == "linear"


def test_overlay_several_on_one_axes(pyplot):
    fig, ax = pyplot.subplots()
    for name in ["sgd", "adam"]:
        TrainingHistoryDisplay.from_history(
            HISTORY[["epoch", "train_loss"]], name=name, ax=ax
        )
    assert [line.get_label() for line in ax.get_lines()] == [
        "sgd: training loss",
        "adam: training loss",
    ]


def test_from_estimator_and_pipeline(pyplot):
    X, y = np.arange(10.0).reshape(-1, 1), np.arange(10.0)
    for estimator in [_FakeNet().fit(X, y), make_pipeline(_FakeNet()).fit(X, y)]:
        display = TrainingHistoryDisplay.from_estimator(estimator)
        assert display.best_epoch == 3
        np.testing.assert_allclose(
            display.line_train_.get_ydata(), HISTORY["train_loss"]
        )


def test_errors(pyplot):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        TrainingHistoryDisplay.from_estimator(_FakeNet())
    X, y = np.arange(10.0).reshape(-1, 1), np.arange(10.0)
    with pytest.raises(TypeError, match="has no history_"):
        TrainingHistoryDisplay.from_estimator(LinearRegression().fit(X, y))
    with pytest.raises(ValueError, match="train_loss"):
        TrainingHistoryDisplay.from_history(pd.DataFrame({"epoch": [1]}))
