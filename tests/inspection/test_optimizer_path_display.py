import numpy as np
import pytest

pytest.importorskip("torch")

from sklopt.inspection import OptimizerPathDisplay  # noqa: E402
from sklopt.neural import optimizer_path  # noqa: E402


def test_from_optimizers_draws_paths(pyplot):
    display = OptimizerPathDisplay.from_optimizers(["sgd", "adam"], function="beale")
    for name in ["sgd", "adam"]:
        path, _ = optimizer_path(name, function="beale")
        np.testing.assert_allclose(display.lines_[name].get_xdata(), path[:, 0])
        np.testing.assert_allclose(display.lines_[name].get_ydata(), path[:, 1])
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels == ["sgd", "adam", "start", "minimum"]
    assert display.ax_.get_title() == "beale"
    assert display.ax_.get_xlim() == (-0.5, 4.0)
    assert len(display.contour_.levels) > 5


def test_dict_spec_and_callable(pyplot):
    fig, ax = pyplot.subplots()

    def bowl(x, y):
        return x**2 + 3 * y**2

    display = OptimizerPathDisplay.from_optimizers(
        {"small lr": {"optimizer": "sgd", "lr": 0.01}, "sgd": {"lr": 0.1}},
        function=bowl,
        start=(1.0, 1.0),
        n_steps=30,
        ax=ax,
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert set(display.lines_) == {"small lr", "sgd"}
    assert display.ax_.get_title() == "bowl"
    # The larger step gets closer to the minimum at the origin.
    end_small = np.hypot(*display.paths["small lr"][-1])
    end_large = np.hypot(*display.paths["sgd"][-1])
    assert end_large < end_small


def test_errors(pyplot):
    with pytest.raises(ValueError, match="at least one"):
        OptimizerPathDisplay.from_optimizers([])
