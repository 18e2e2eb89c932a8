import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.datasets import make_friedman1
from sklopt.inspection import BiasVarianceDisplay
from sklopt.model_selection import bias_variance_curve


def test_from_estimator_matches_curve(pyplot):
    X, y, y_true = make_friedman1(150, noise=1.0, return_true=True, random_state=0)
    kwargs = dict(
        param_name="max_depth",
        param_range=[1, 2, 4, None],
        n_rounds=8,
        y_true=y_true,
        random_state=0,
    )
    tree = DecisionTreeRegressor(random_state=0)
    display = BiasVarianceDisplay.from_estimator(tree, X, y, **kwargs)
    curve = bias_variance_curve(tree, X, y, **kwargs)
    np.testing.assert_allclose(display.lines_["loss"].get_ydata(), curve.loss)
    np.testing.assert_allclose(display.lines_["bias"].get_ydata(), curve.bias2)
    np.testing.assert_allclose(display.lines_["variance"].get_ydata(), curve.variance)
    np.testing.assert_allclose(display.lines_["noise"].get_ydata(), curve.noise)
    assert display.best_index_ == int(np.argmin(curve.loss))
    # None is not numeric: evenly spaced positions with the values as labels.
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == [
        "1",
        "2",
        "4",
        "None",
    ]
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert labels[:4] == ["expected squared loss", "bias$^2$", "variance", "noise"]
    assert display.ax_.get_xlabel() == "max_depth"
    assert not hasattr(tree, "tree_")  # the estimator passed in is never fitted


def test_zero_one_loss_and_log_axis(pyplot):
    from sklearn.datasets import make_classification

    X, y = make_classification(200, random_state=0)
    fig, ax = pyplot.subplots()
    display = BiasVarianceDisplay.from_estimator(
        LogisticRegression(),
        X,
        y,
        param_name="C",
        param_range=[1e-3, 1e-1, 10.0],
        loss="0-1",
        n_rounds=5,
        random_state=0,
        ax=ax,
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert set(display.lines_) == {"loss", "bias", "variance", "net_variance"}
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "0-1 loss"


def test_from_results_log_loss(pyplot):
    from sklearn.datasets import make_classification

    X, y = make_classification(200, random_state=1)
    curve = bias_variance_curve(
        DecisionTreeClassifier(random_state=0),
        X,
        y,
        param_name="max_depth",
        param_range=[1, 3],
        loss="log",
        n_rounds=5,
        random_state=0,
    )
    display = BiasVarianceDisplay.from_results(curve, name="tree")
    assert display.ax_.get_title() == "tree"
    assert display.ax_.get_ylabel() == "log loss"
    np.testing.assert_allclose(display.lines_["bias"].get_ydata(), curve.bias)


def test_bad_param_name():
    X, y = make_friedman1(50, random_state=0)
    with pytest.raises(ValueError, match="nope"):
        BiasVarianceDisplay.from_estimator(
            DecisionTreeRegressor(),
            X,
            y,
            param_name="nope",
            param_range=[1, 2],
            n_rounds=2,
        )


@pytest.mark.parametrize("in_pipeline", [True, False])
def test_from_estimator_over_hidden_layer_sizes_tuples(pyplot, in_pipeline):
    # A list of tuples, as scikit-learn's validation_curve takes it. A bare
    # network trains its rounds as one stacked model (batched forwarded).
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklopt.neural import MLPClassifier

    X, y = load_iris(return_X_y=True)
    net = MLPClassifier(max_epochs=5, lr=0.01, device="cpu", random_state=0)
    if in_pipeline:
        est, prefix, batched = (
            make_pipeline(StandardScaler(), net),
            "mlpclassifier__",
            "auto",
        )
    else:
        est, prefix, batched = net, "", True
        X = StandardScaler().fit_transform(X)
    kwargs = dict(
        param_name=f"{prefix}hidden_layer_sizes",
        param_range=[(2,), (8,), (4, 4)],
        loss="0-1",
        n_rounds=3,
        random_state=0,
        batched=batched,
    )
    display = BiasVarianceDisplay.from_estimator(est, X, y, **kwargs)
    curve = bias_variance_curve(est, X, y, **kwargs)
    np.testing.assert_allclose(display.lines_["loss"].get_ydata(), curve.loss)
    np.testing.assert_allclose(display.lines_["bias"].get_ydata(), curve.bias)
    assert list(curve.param_range) == [(2,), (8,), (4, 4)]
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == [
        "(2,)",
        "(8,)",
        "(4, 4)",
    ]


def test_plot_only_draws(pyplot):
    # The display holds the numbers; plot draws them again on new axes
    # without computing anything.
    X, y = make_friedman1(80, random_state=0)
    display = BiasVarianceDisplay.from_estimator(
        DecisionTreeRegressor(random_state=0),
        X,
        y,
        param_name="max_depth",
        param_range=[1, 2],
        n_rounds=3,
        random_state=0,
    )
    first_ax = display.ax_
    fig, ax = pyplot.subplots()
    assert display.plot(ax=ax, name="again").ax_ is ax
    assert display.ax_ is not first_ax and ax.get_title() == "again"
    np.testing.assert_allclose(display.lines_["loss"].get_ydata(), display.loss)


def test_unknown_parameter_names_the_accepted_ones():
    X, y = make_friedman1(50, random_state=0)
    with pytest.raises(TypeError, match=r"\['n_round'\].*'batched'.*'n_rounds'"):
        BiasVarianceDisplay.from_estimator(
            DecisionTreeRegressor(),
            X,
            y,
            param_name="max_depth",
            param_range=[1, 2],
            n_round=2,
        )
