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


def test_plot_only_draws_the_given_contours(pyplot):
    """plot draws what from_optimizers computed: it never evaluates the
    function (no torch in plot)."""
    from sklopt.neural import function_surface

    def never(x, y):
        raise AssertionError("plot evaluated the function")

    path = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    surface = function_surface(
        lambda x, y: x**2 + y**2, bounds=((-1.0, 2.0), (-1.0, 2.0)), n_points=20
    )
    display = OptimizerPathDisplay(
        paths={"p": path},
        function=never,
        contours=(surface.xx, surface.yy, surface.zz),
        name="bowl",
    ).plot()
    assert display.contour_ is not None
    np.testing.assert_array_equal(display.lines_["p"].get_xdata(), path[:, 0])
    # the box around the path, with a 15 % margin
    np.testing.assert_allclose(display.ax_.get_xlim(), (-0.15, 1.15))
    without = OptimizerPathDisplay(paths={"p": path}, function=never).plot()
    assert without.contour_ is None


def test_function_surface_values_and_bounds():
    from sklopt.neural import function_surface

    surface = function_surface("beale", n_points=7)
    assert surface.bounds == ((-0.5, 4.0), (-1.0, 2.0))
    assert surface.minimum == (3.0, 0.5)
    x, y = surface.xx, surface.yy
    expected = (
        (1.5 - x + x * y) ** 2
        + (2.25 - x + x * y**2) ** 2
        + (2.625 - x + x * y**3) ** 2
    )
    np.testing.assert_allclose(surface.zz, expected, rtol=1e-12)
    np.testing.assert_allclose(x[0], np.linspace(-0.5, 4.0, 7))
    with pytest.raises(ValueError, match="bounds is required"):
        function_surface(lambda x, y: x + y)
    with pytest.raises(ValueError, match="two \\(low, high\\) pairs"):
        function_surface("beale", bounds=(1, 2, 3))
