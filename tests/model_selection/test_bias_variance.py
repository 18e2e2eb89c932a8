"""bias_variance_decomposition, BiasVarianceResult and bias_variance_curve."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification, make_friedman1
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklopt.model_selection import (
    BiasVarianceResult,
    bias_variance_curve,
    bias_variance_decomposition,
)

mlxtend_evaluate = pytest.importorskip("mlxtend.evaluate")


@pytest.fixture(scope="module")
def regression():
    X, y = make_friedman1(n_samples=260, noise=1.0, random_state=0)
    return X[:160], y[:160], X[160:], y[160:]


@pytest.fixture(scope="module")
def classification():
    X, y = make_classification(
        n_samples=260, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X[:160], y[:160], X[160:], y[160:]


def _independent_predictions(
    estimator, X_train, y_train, X_test, n_rounds, seed, method="predict"
):
    """Rounds written out plainly: one RandomState, one randint per round."""
    rng = np.random.RandomState(seed)
    n = len(y_train)
    out = []
    for _ in range(n_rounds):
        rows = rng.randint(0, n, n)
        fitted = clone(estimator).fit(X_train[rows], y_train[rows])
        out.append(getattr(fitted, method)(X_test))
    return np.array(out)


# --- agreement with mlxtend where the definitions coincide ---------------------


def test_bootstrap_draw_is_mlxtends_draw():
    # mlxtend draws rng.choice(arange(n), n, replace=True) on a legacy
    # RandomState; that is rng.randint(0, n, n), round after round.
    a, b = np.random.RandomState(7), np.random.RandomState(7)
    for n in (5, 160, 1000):
        for _ in range(3):
            np.testing.assert_array_equal(
                a.choice(np.arange(n), n, replace=True), b.randint(0, n, n)
            )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_squared_loss_equals_mlxtend(regression, n_jobs):
    tree = DecisionTreeRegressor(max_depth=4, random_state=0)
    ours = bias_variance_decomposition(
        tree, *regression, n_rounds=30, random_state=11, n_jobs=n_jobs
    )
    loss, bias, var = mlxtend_evaluate.bias_variance_decomp(
        clone(tree), *regression, loss="mse", num_rounds=30, random_seed=11
    )
    # mlxtend's "avg_bias" for 'mse' is the squared bias, noise included
    np.testing.assert_allclose(
        [ours.loss, ours.bias2, ours.variance], [loss, bias, var], rtol=1e-12
    )


def test_zero_one_loss_equals_mlxtend(classification):
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    ours = bias_variance_decomposition(
        tree, *classification, loss="0-1", n_rounds=30, random_state=5
    )
    loss, bias, var = mlxtend_evaluate.bias_variance_decomp(
        clone(tree), *classification, loss="0-1_loss", num_rounds=30, random_seed=5
    )
    np.testing.assert_allclose(
        [ours.loss, ours.bias, ours.variance], [loss, bias, var], rtol=1e-12
    )


def test_where_we_differ_from_mlxtend(regression, classification):
    # 1. mlxtend fits the estimator passed in; we fit clones only.
    tree = DecisionTreeRegressor(max_depth=2, random_state=0)
    bias_variance_decomposition(tree, *regression, n_rounds=3, random_state=0)
    assert not hasattr(tree, "tree_")
    mlxtend_evaluate.bias_variance_decomp(
        tree, *regression, loss="mse", num_rounds=3, random_seed=0
    )
    assert hasattr(tree, "tree_")
    # 2. 0-1 loss: mlxtend's loss != bias + variance; our net variance closes it.
    X_train, y_train, X_test, y_test = classification
    clf = DecisionTreeClassifier(max_depth=3, random_state=0)
    r = bias_variance_decomposition(
        clf, *classification, loss="0-1", n_rounds=20, random_state=0
    )
    assert abs(r.loss - (r.bias + r.variance)) > 0.01
    assert r.loss == pytest.approx(r.bias + r.net_variance, abs=1e-12)
    # 3. string labels: mlxtend needs non-negative integer labels (bincount).
    names = np.array(["ant", "bee", "cat"])
    r_str = bias_variance_decomposition(
        clf,
        X_train,
        names[y_train],
        X_test,
        names[y_test],
        loss="0-1",
        n_rounds=20,
        random_state=0,
    )
    assert r_str.to_dict() == r.to_dict()
    np.testing.assert_array_equal(r_str.main_prediction, names[r.main_prediction])
    with pytest.raises((TypeError, ValueError)):
        mlxtend_evaluate.bias_variance_decomp(
            clone(clf),
            X_train,
            names[y_train],
            X_test,
            names[y_test],
            loss="0-1_loss",
            num_rounds=2,
        )


# --- the definitions, against independent computations ---------------------------


def test_squared_terms_and_noise(regression):
    X_train, y_train, X_test, y_test = regression
    rng = np.random.RandomState(0)
    f_test = y_test - rng.randn(len(y_test)) * 0.1  # a stand-in true function
    tree = DecisionTreeRegressor(max_depth=3, random_state=0)
    r = bias_variance_decomposition(
        tree, *regression, n_rounds=15, y_test_true=f_test, random_state=2
    )
    P = _independent_predictions(tree, X_train, y_train, X_test, 15, 2)
    main = P.mean(axis=0)
    assert r.loss == pytest.approx(np.mean((P - y_test) ** 2), rel=1e-12)
    assert r.bias2 == pytest.approx(np.mean((main - f_test) ** 2), rel=1e-12)
    assert r.variance == pytest.approx(np.mean(P.var(axis=0)), rel=1e-12)
    assert r.noise == pytest.approx(np.mean((y_test - f_test) ** 2), rel=1e-12)
    np.testing.assert_allclose(r.main_prediction, main, rtol=1e-12)
    np.testing.assert_allclose(r.per_sample.variance, P.var(axis=0), rtol=1e-12)
    assert r.bias is None and r.net_variance is None


def test_zero_one_terms_domingos(classification):
    X_train, y_train, X_test, y_test = classification
    clf = DecisionTreeClassifier(max_depth=2, random_state=0)
    r = bias_variance_decomposition(
        clf, *classification, loss="0-1", n_rounds=16, random_state=4
    )
    P = _independent_predictions(clf, X_train, y_train, X_test, 16, 4)
    counts = np.stack([(P == k).sum(axis=0) for k in range(3)])
    main = counts.argmax(axis=0)  # first maximum: ties go to the smallest label
    biased = main != y_test
    variance = (P != main).mean(axis=0)
    net = np.where(biased, -(P == y_test).mean(axis=0), variance)
    assert r.bias == pytest.approx(biased.mean(), abs=1e-12)
    assert r.variance == pytest.approx(variance.mean(), abs=1e-12)
    assert r.net_variance == pytest.approx(net.mean(), abs=1e-12)
    assert r.loss == pytest.approx((P != y_test).mean(), abs=1e-12)
    np.testing.assert_array_equal(r.main_prediction, main)
    assert r.bias2 is None and r.noise is None


class _FirstRowLabel(ClassifierMixin, BaseEstimator):
    """Predicts, everywhere, the label of the first row of its training set."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.label_ = y[0]
        return self

    def predict(self, X):
        return np.full(len(X), self.label_)


@pytest.mark.parametrize("labels", [np.array([1, 2]), np.array(["a", "b"])])
def test_zero_one_ties_go_to_the_smallest_label(labels):
    n = 10
    y_train = labels[np.arange(n) % 2]
    # a seed whose two rounds first draw the larger label, then the smaller
    seed = next(
        s
        for s in range(100)
        if [
            y_train[r[0]]
            for r in (lambda g: (g.randint(0, n, n), g.randint(0, n, n)))(
                np.random.RandomState(s)
            )
        ]
        == [labels[1], labels[0]]
    )
    r = bias_variance_decomposition(
        _FirstRowLabel(),
        np.zeros((n, 1)),
        y_train,
        np.zeros((3, 1)),
        labels[[1, 1, 1]],
        loss="0-1",
        n_rounds=2,
        random_state=seed,
    )
    np.testing.assert_array_equal(r.main_prediction, labels[[0, 0, 0]])
    assert r.bias == 1.0 and r.variance == 0.5 and r.loss == 0.5
    assert r.net_variance == -0.5


def test_zero_one_with_bayes_labels(classification):
    X_train, y_train, X_test, y_test = classification
    rng = np.random.RandomState(0)
    y_bayes = np.where(rng.rand(len(y_test)) < 0.9, y_test, (y_test + 1) % 3)
    clf = DecisionTreeClassifier(max_depth=3, random_state=0)
    r = bias_variance_decomposition(
        clf,
        *classification,
        loss="0-1",
        y_test_true=y_bayes,
        n_rounds=10,
        random_state=0,
    )
    P = _independent_predictions(clf, X_train, y_train, X_test, 10, 0)
    assert r.noise == pytest.approx(np.mean(y_test != y_bayes), abs=1e-12)
    # against the Bayes labels the decomposition is exact
    assert np.mean(P != y_bayes) == pytest.approx(r.bias + r.net_variance, abs=1e-12)


def test_log_loss_bregman_terms(classification):
    X_train, y_train, X_test, y_test = classification
    clf = LogisticRegression(max_iter=1000)
    r = bias_variance_decomposition(
        clf, *classification, loss="log", n_rounds=8, random_state=0
    )
    P = _independent_predictions(clf, X_train, y_train, X_test, 8, 0, "predict_proba")
    geo = np.exp(np.log(P).mean(axis=0))
    central = geo / geo.sum(axis=1, keepdims=True)
    onehot = np.eye(3)[y_test]
    kl = lambda p, q: rel_entr(p, q).sum(axis=-1)  # noqa: E731
    assert r.loss == pytest.approx(
        -np.mean(np.log(P[:, np.arange(len(y_test)), y_test])), rel=1e-10
    )
    assert r.bias == pytest.approx(np.mean(kl(onehot, central)), rel=1e-10)
    assert r.variance == pytest.approx(np.mean(kl(central, P)), rel=1e-10)
    assert r.loss == pytest.approx(r.bias + r.variance, rel=1e-10)
    np.testing.assert_allclose(r.main_prediction, central, rtol=1e-10)
    # with the true class probabilities: noise = entropy, bias = KL(q || c)
    q = 0.8 * onehot + 0.2 / 3
    r_q = bias_variance_decomposition(
        clf, *classification, loss="log", y_test_true=q, n_rounds=8, random_state=0
    )
    assert r_q.noise == pytest.approx(np.mean(-(q * np.log(q)).sum(axis=1)), rel=1e-10)
    assert r_q.bias == pytest.approx(np.mean(kl(q, central)), rel=1e-10)
    # expected cross-entropy under q = noise + bias + variance, exactly
    cross = -np.mean((q * np.log(P)).sum(axis=2))
    assert cross == pytest.approx(r_q.noise + r_q.bias + r_q.variance, rel=1e-10)


def test_log_loss_when_a_replica_misses_a_class():
    X = np.arange(40.0).reshape(-1, 1)
    y = np.array([0] * 37 + [1] * 2 + [2])  # class 2 is often out of the bag
    r = bias_variance_decomposition(
        DecisionTreeClassifier(max_depth=2, random_state=0),
        X,
        y,
        X,
        y,
        loss="log",
        n_rounds=10,
        random_state=0,
    )
    assert np.isfinite(r.loss) and r.loss == pytest.approx(
        r.bias + r.variance, rel=1e-10
    )


def test_lecture_picture_on_friedman1(global_random_seed):
    """Bias^2 falls and variance rises with depth; bias^2 + variance + noise
    equals the measured expected loss within 1%."""
    seed = global_random_seed
    X, y = make_friedman1(n_samples=20300, noise=1.0, random_state=seed)
    _, f = make_friedman1(n_samples=20300, noise=0.0, random_state=seed)  # same X
    X_train, y_train, X_test, y_test, f_test = (
        X[:300],
        y[:300],
        X[300:],
        y[300:],
        f[300:],
    )
    results = [
        bias_variance_decomposition(
            DecisionTreeRegressor(max_depth=depth, random_state=0),
            X_train,
            y_train,
            X_test,
            y_test,
            y_test_true=f_test,
            n_rounds=40,
            random_state=seed,
        )
        for depth in (1, 2, 4, 8)
    ]
    bias2 = [r.bias2 for r in results]
    variance = [r.variance for r in results]
    assert np.all(np.diff(bias2) < 0), bias2
    assert np.all(np.diff(variance) > 0), variance
    for r in results:
        assert r.noise == pytest.approx(1.0, rel=0.05)
        assert r.bias2 + r.variance + r.noise == pytest.approx(r.loss, rel=0.01)


# --- properties ------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_classes=st.integers(2, 4),
    n_rounds=st.integers(1, 9),
)
def test_property_zero_one_loss_is_bias_plus_net_variance(seed, n_classes, n_rounds):
    rng = np.random.RandomState(seed)
    X = rng.rand(40, 2)
    y = rng.randint(0, n_classes, 40)
    r = bias_variance_decomposition(
        KNeighborsClassifier(n_neighbors=1),
        X[:25],
        y[:25],
        X[25:],
        y[25:],
        loss="0-1",
        n_rounds=n_rounds,
        random_state=seed,
    )
    assert r.loss == pytest.approx(r.bias + r.net_variance, abs=1e-12)
    assert 0 <= r.variance <= 1 and 0 <= r.bias <= 1
    np.testing.assert_allclose(
        r.per_sample.loss, r.per_sample.bias + r.per_sample.net_variance, atol=1e-12
    )


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000), n_rounds=st.integers(1, 9), with_truth=st.booleans()
)
def test_property_squared_loss_is_bias2_plus_variance(seed, n_rounds, with_truth):
    rng = np.random.RandomState(seed)
    X = rng.rand(40, 2)
    f = X @ [2.0, -1.0]
    y = f + rng.randn(40)
    r = bias_variance_decomposition(
        KNeighborsRegressor(n_neighbors=2),
        X[:25],
        y[:25],
        X[25:],
        y[25:],
        n_rounds=n_rounds,
        random_state=seed,
        y_test_true=f[25:] if with_truth else None,
    )
    if not with_truth:
        assert r.loss == pytest.approx(r.bias2 + r.variance, rel=1e-12)
    else:
        # loss = bias2 + variance + noise + 2 mean((main - f)(f - y)), exactly
        cross = 2 * np.mean((r.main_prediction - f[25:]) * (f[25:] - y[25:]))
        assert r.loss == pytest.approx(
            r.bias2 + r.variance + r.noise + cross, rel=1e-10
        )


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), loss=st.sampled_from(["squared", "0-1"]))
def test_property_test_row_order_does_not_matter(seed, loss):
    rng = np.random.RandomState(seed)
    X = rng.rand(50, 2)
    y = rng.randint(0, 3, 50) if loss == "0-1" else rng.randn(50)
    est = KNeighborsClassifier(1) if loss == "0-1" else KNeighborsRegressor(2)
    order = rng.permutation(20)
    a = bias_variance_decomposition(
        est, X[:30], y[:30], X[30:], y[30:], loss=loss, n_rounds=5, random_state=seed
    )
    b = bias_variance_decomposition(
        est,
        X[:30],
        y[:30],
        X[30:][order],
        y[30:][order],
        loss=loss,
        n_rounds=5,
        random_state=seed,
    )
    for name, value in a.to_dict().items():
        if value is not None:
            assert getattr(b, name) == pytest.approx(value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(b.per_sample.loss, a.per_sample.loss[order], rtol=1e-12)


# --- behaviour -------------------------------------------------------------------


def test_results_do_not_depend_on_n_jobs_and_estimator_is_untouched(regression):
    tree = DecisionTreeRegressor(max_depth=3)  # its own random_state stays None
    params = tree.get_params()
    a = bias_variance_decomposition(
        DecisionTreeRegressor(max_depth=3, random_state=0),
        *regression,
        n_rounds=70,
        random_state=1,
        n_jobs=1,
    )
    b = bias_variance_decomposition(
        DecisionTreeRegressor(max_depth=3, random_state=0),
        *regression,
        n_rounds=70,
        random_state=1,
        n_jobs=2,
    )
    assert a.to_dict() == b.to_dict()
    bias_variance_decomposition(tree, *regression, n_rounds=2, random_state=0)
    assert tree.get_params() == params and not hasattr(tree, "tree_")


def test_estimator_random_state_is_not_reseeded(regression):
    # With a fixed estimator seed every round on the same rows fits the same
    # model; the randomness across rounds is the bootstrap's only.
    X_train, y_train, X_test, _ = regression
    tree = DecisionTreeRegressor(max_features=2, random_state=3)
    r = bias_variance_decomposition(tree, *regression, n_rounds=4, random_state=0)
    P = _independent_predictions(tree, X_train, y_train, X_test, 4, 0)
    np.testing.assert_allclose(r.main_prediction, P.mean(axis=0), rtol=1e-12)


def test_verbose_shows_a_progress_bar(regression, capsys):
    bias_variance_decomposition(
        LinearRegression(), *regression, n_rounds=5, random_state=0, verbose=1
    )
    assert "5/5" in capsys.readouterr().err
    bias_variance_decomposition(
        LinearRegression(), *regression, n_rounds=5, random_state=0
    )
    assert capsys.readouterr().err == ""


def test_fit_params_are_indexed_by_the_bootstrap_rows(regression):
    X_train, y_train, X_test, y_test = regression
    weights = np.linspace(0.1, 2.0, len(y_train))
    r = bias_variance_decomposition(
        LinearRegression(),
        *regression,
        n_rounds=3,
        random_state=0,
        fit_params={"sample_weight": weights},
    )
    rng = np.random.RandomState(0)
    P = []
    for _ in range(3):
        rows = rng.randint(0, len(y_train), len(y_train))
        P.append(
            LinearRegression()
            .fit(X_train[rows], y_train[rows], sample_weight=weights[rows])
            .predict(X_test)
        )
    np.testing.assert_allclose(r.main_prediction, np.mean(P, axis=0), rtol=1e-10)


def test_multi_output_and_pandas_inputs(regression):
    pd = pytest.importorskip("pandas")
    X_train, y_train, X_test, y_test = regression
    Y_train, Y_test = np.c_[y_train, -y_train], np.c_[y_test, -y_test]
    r = bias_variance_decomposition(
        LinearRegression(), X_train, Y_train, X_test, Y_test, n_rounds=4, random_state=0
    )
    single = bias_variance_decomposition(
        LinearRegression(), *regression, n_rounds=4, random_state=0
    )
    assert r.loss == pytest.approx(single.loss, rel=1e-10)  # both outputs alike
    assert r.main_prediction.shape == (len(y_test), 2)
    frames = [
        pd.DataFrame(X_train),
        pd.Series(y_train),
        pd.DataFrame(X_test),
        pd.Series(y_test),
    ]
    r_pd = bias_variance_decomposition(
        LinearRegression(), *frames, n_rounds=4, random_state=0
    )
    for name in ("loss", "bias2", "variance"):
        assert getattr(r_pd, name) == pytest.approx(getattr(single, name), rel=1e-12)


def test_result_is_immutable_with_readable_repr(regression):
    r = bias_variance_decomposition(
        LinearRegression(), *regression, n_rounds=3, random_state=0
    )
    assert isinstance(r, BiasVarianceResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.loss = 0.0
    with pytest.raises(ValueError, match="read-only"):
        r.per_sample.loss[0] = 0.0
    text = repr(r)
    assert text.startswith("BiasVarianceResult(loss_name='squared', loss=")
    assert "bias2 includes the noise" in text and "net_variance" not in text
    assert set(r.per_sample) == {"loss", "bias2", "variance"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"loss": "mse"},
            "'loss' parameter of bias_variance_decomposition must be a str among",
        ),
        ({"n_rounds": 0}, "'n_rounds' parameter"),
        (
            {"y_test_true": np.zeros(3)},
            "y_test_true must have one entry per test sample",
        ),
    ],
)
def test_bad_parameters(regression, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bias_variance_decomposition(LinearRegression(), *regression, **kwargs)


def test_bad_inputs(regression, classification):
    with pytest.raises(ValueError, match="loss='0-1' needs class labels.*continuous"):
        bias_variance_decomposition(DecisionTreeRegressor(), *regression, loss="0-1")
    with pytest.raises(ValueError, match="LinearSVC has no predict_proba"):
        bias_variance_decomposition(LinearSVC(), *classification, loss="log")
    with pytest.raises(ValueError, match="loss='squared' needs numeric targets"):
        X_train, y_train, X_test, y_test = classification
        bias_variance_decomposition(
            DecisionTreeClassifier(),
            X_train,
            y_train.astype(str),
            X_test,
            y_test.astype(str),
        )
    with pytest.raises(ValueError, match="finite|NaN"):
        X_train, y_train, X_test, y_test = regression
        bias_variance_decomposition(
            LinearRegression(), X_train, y_train, X_test, np.full_like(y_test, np.nan)
        )
    with pytest.raises(ValueError, match="true class probabilities"):
        bias_variance_decomposition(
            LogisticRegression(),
            *classification,
            loss="log",
            y_test_true=np.ones((100, 3)),
        )
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        X_train, y_train, X_test, y_test = regression
        bias_variance_decomposition(
            LinearRegression(), X_train, y_train[:-1], X_test, y_test
        )
    with pytest.raises(ValueError, match="at least one sample"):
        bias_variance_decomposition(
            LinearRegression(), np.zeros((0, 2)), [], np.zeros((3, 2)), [1, 2, 3]
        )
    with pytest.raises(ValueError, match="'estimator' parameter"):
        bias_variance_decomposition("tree", *regression)


# --- bias_variance_curve -------------------------------------------------------


def test_curve_runs_the_decomposition_per_value():
    X, y = make_friedman1(n_samples=200, noise=1.0, random_state=0)
    _, f = make_friedman1(n_samples=200, noise=0.0, random_state=0)
    tree = DecisionTreeRegressor(random_state=0)
    curve = bias_variance_curve(
        tree,
        X,
        y,
        param_name="max_depth",
        param_range=[1, 3, 6],
        n_rounds=10,
        y_true=f,
        random_state=0,
    )
    assert curve.param_name == "max_depth"
    np.testing.assert_array_equal(curve.param_range, [1, 3, 6])
    for key in ("loss", "bias2", "variance", "noise"):
        assert curve[key].shape == (3,)
    assert "bias" not in curve and "net_variance" not in curve
    # each value equals the function on the same split and bootstrap seed
    for depth, result in zip([1, 3, 6], curve.results):
        assert result.bias2 == pytest.approx(curve.bias2[[1, 3, 6].index(depth)])
    assert tree.get_params()["max_depth"] is None
    assert np.all(np.diff(curve.variance) > 0)


def test_curve_classification_and_errors():
    X, y = make_classification(n_samples=120, n_classes=2, random_state=0)
    curve = bias_variance_curve(
        DecisionTreeClassifier(random_state=0),
        X,
        y,
        param_name="max_depth",
        param_range=[1, 4],
        loss="0-1",
        n_rounds=5,
        random_state=0,
    )
    np.testing.assert_allclose(curve.loss, curve.bias + curve.net_variance, atol=1e-12)
    assert curve.noise is None
    with pytest.raises(ValueError, match="Invalid parameter 'depth'"):
        bias_variance_curve(
            DecisionTreeClassifier(), X, y, param_name="depth", param_range=[1]
        )
    with pytest.raises(ValueError, match="non-empty 1-D"):
        bias_variance_curve(
            DecisionTreeClassifier(), X, y, param_name="max_depth", param_range=[]
        )


@pytest.mark.parametrize("sparse_format", ["csr", "csc", "coo"])
def test_sparse_inputs_give_the_dense_results(regression, sparse_format):
    sp = pytest.importorskip("scipy.sparse")
    X_train, y_train, X_test, y_test = regression
    tree = DecisionTreeRegressor(max_depth=3, random_state=0)
    dense = bias_variance_decomposition(tree, *regression, n_rounds=4, random_state=0)
    sparse = bias_variance_decomposition(
        tree,
        sp.csr_matrix(X_train).asformat(sparse_format),
        y_train,
        sp.csr_matrix(X_test),
        y_test,
        n_rounds=4,
        random_state=0,
    )
    # the sparse tree splitter may round split thresholds differently
    for name in ("loss", "bias2", "variance"):
        assert getattr(sparse, name) == pytest.approx(getattr(dense, name), rel=1e-12)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_study_shows_each_warning_once_at_the_users_call(n_jobs, classification):
    # 10 rounds of a pipeline that does not converge: one ConvergenceWarning
    # that says how many rounds raised it, pointed at this line.
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bias_variance_decomposition(
            pipe,
            *classification,
            loss="0-1",
            n_rounds=10,
            random_state=0,
            n_jobs=n_jobs,
        )
    convergence = [w for w in caught if w.category is ConvergenceWarning]
    assert len(convergence) == 1
    message = str(convergence[0].message)
    assert message.startswith("10 of 10 rounds warned")
    assert "lbfgs failed to converge" in message or "max_iter" in message
    assert convergence[0].filename == __file__
