"""Bias-variance decomposition of a learning algorithm's expected loss."""

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_array, check_consistent_length
from sklearn.utils.multiclass import type_of_target

from sklopt.model_selection._rounds import (
    _bootstrap_indices,
    _encode_labels,
    _fit_predict_rounds,
    _log_terms,
    _squared_terms,
    _zero_one_terms,
)
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._random import draw_seeds
from sklopt.utils._resampled_fits import row_indexable
from sklopt.utils._validation import (
    HasMethods,
    Integral,
    Interval,
    RealNotInt,
    StrOptions,
    check_finite_input,
    check_sample_weight,
    check_two_classes,
    validate_params,
)

_LOSSES = ("squared", "0-1", "log")
_CLASSIFICATION_TARGETS = ("binary", "multiclass")


def _mean(values, sample_weight=None):
    return None if values is None else float(np.average(values, weights=sample_weight))


def _read_only(array):
    array = np.asarray(array)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False, repr=False, kw_only=True)
class BiasVarianceResult:
    """Result of :func:`bias_variance_decomposition` (immutable).

    Scalars are averages over the test samples; ``per_sample`` holds the
    same terms for every test sample. Fields that do not apply to the loss
    are ``None``.

    Parameters
    ----------
    loss_name : {'squared', '0-1', 'log'}
        The loss that was decomposed.
    loss : float
        Expected loss over rounds and test samples, measured against
        ``y_test``.
    bias2 : float or None
        Squared bias (squared loss only), measured against ``y_test_true``
        when it was given, else against ``y_test``: then it contains the
        noise.
    bias : float or None
        Bias for the '0-1' loss (fraction of test samples whose main
        prediction is wrong) and the 'log' loss (mean KL divergence of the
        central prediction from the target).
    variance : float
        Variance: mean squared deviation from the mean prediction
        ('squared'), Domingos' mean disagreement with the main prediction
        ('0-1'), mean KL divergence of the replicas from the central
        prediction ('log').
    noise : float or None
        Mean noise, only when the true targets were given.
    net_variance : float or None
        Domingos' net variance ('0-1' only): variance on unbiased samples
        counts positively, on biased samples negatively, so that
        ``loss == bias + net_variance`` without noise.
    n_rounds : int
        Number of bootstrap rounds.
    main_prediction : ndarray
        Mean prediction ('squared'), main (most frequent) label ('0-1') or
        central class probabilities of shape (n_test, n_classes) ('log').
    classes : ndarray or None
        Class labels of the classification losses.
    per_sample : Bunch
        Read-only arrays of shape (n_test,) with the terms of every test
        sample: ``loss``, ``bias2`` or ``bias``, ``variance``, and where they
        apply ``noise`` and ``net_variance``.

    See Also
    --------
    bias_variance_decomposition : Computes this result.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklopt.model_selection import bias_variance_decomposition
    >>> X, y = make_regression(n_samples=60, n_features=3, noise=5, random_state=0)
    >>> result = bias_variance_decomposition(
    ...     LinearRegression(), X[:40], y[:40], X[40:], y[40:], n_rounds=20,
    ...     random_state=0)
    >>> result.noise is None
    True
    >>> bool(np.isclose(result.loss, result.bias2 + result.variance))
    True
    """

    loss_name: str
    loss: float
    bias2: float | None = None
    bias: float | None = None
    variance: float
    noise: float | None = None
    net_variance: float | None = None
    n_rounds: int
    main_prediction: np.ndarray
    classes: np.ndarray | None = None
    per_sample: Bunch = field(default_factory=Bunch)

    def to_dict(self):
        """Return the scalar fields as a dict (``None`` where not applicable).

        Returns
        -------
        scalars : dict
            ``loss``, ``bias2``, ``bias``, ``variance``, ``noise``,
            ``net_variance``.

        Examples
        --------
        >>> from sklearn.datasets import make_regression
        >>> from sklearn.linear_model import LinearRegression
        >>> from sklopt.model_selection import bias_variance_decomposition
        >>> X, y = make_regression(n_samples=40, n_features=2, random_state=0)
        >>> result = bias_variance_decomposition(
        ...     LinearRegression(), X[:30], y[:30], X[30:], y[30:], n_rounds=5,
        ...     random_state=0)
        >>> sorted(result.to_dict())
        ['bias', 'bias2', 'loss', 'net_variance', 'noise', 'variance']
        """
        names = ("loss", "bias2", "bias", "variance", "noise", "net_variance")
        return {name: getattr(self, name) for name in names}

    def __repr__(self):
        parts = [f"loss_name={self.loss_name!r}"]
        for name, value in self.to_dict().items():
            if value is not None:
                parts.append(f"{name}={value:.6g}")
        if self.loss_name == "squared" and self.noise is None:
            parts.append("(bias2 includes the noise)")
        parts.append(f"n_rounds={self.n_rounds}")
        return f"BiasVarianceResult({', '.join(parts)})"


def _result_from_terms(loss_name, terms, n_rounds, classes=None):
    """Build the immutable result from the per-sample terms of a formula."""
    bias_name = "bias2" if loss_name == "squared" else "bias"
    per_sample = Bunch(
        **{
            name: _read_only(terms[name])
            for name in ("loss", bias_name, "variance", "noise", "net_variance")
            if terms.get(name) is not None
        }
    )
    main = terms["main_prediction"]
    if classes is not None and loss_name == "0-1":
        main = classes[main]
    return BiasVarianceResult(
        loss_name=loss_name,
        loss=_mean(terms["loss"]),
        variance=_mean(terms["variance"]),
        n_rounds=n_rounds,
        main_prediction=_read_only(main),
        per_sample=per_sample,
        bias2=_mean(terms.get("bias2")),
        bias=_mean(terms.get("bias")),
        noise=_mean(terms.get("noise")),
        net_variance=_mean(terms.get("net_variance")),
        classes=None if classes is None else _read_only(classes),
    )


# --- input checks --------------------------------------------------------------


def _numeric_targets(y, name):
    try:
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name=name)
    except ValueError as exc:
        raise ValueError(
            f"loss='squared' needs numeric targets; {name} could not be used: {exc}"
        ) from exc
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    return y.astype(np.float64)


def _class_labels(y, name, loss):
    y = np.asarray(y)
    target_type = type_of_target(y, input_name=name)
    if target_type not in _CLASSIFICATION_TARGETS:
        raise ValueError(
            f"loss={loss!r} needs class labels, but {name} looks like "
            f"{target_type!r} targets (type_of_target). Use loss='squared' for "
            "regression targets."
        )
    return y.ravel() if y.ndim == 2 else y


def _check_lengths(X_train, y_train, X_test, y_test, y_test_true):
    check_consistent_length(X_train, y_train)
    check_consistent_length(X_test, y_test)
    if len(y_train) == 0 or len(y_test) == 0:
        raise ValueError(
            "X_train and X_test need at least one sample each; got "
            f"{len(y_train)} training and {len(y_test)} test samples."
        )
    if y_test_true is not None and len(y_test_true) != len(y_test):
        raise ValueError(
            f"y_test_true must have one entry per test sample: got "
            f"{len(y_test_true)} entries for {len(y_test)} test samples."
        )


def _prepare_targets(estimator, loss, y_train, y_test, y_test_true):
    """Validate the targets for ``loss``; return what the formulas need."""
    if loss == "squared":
        y_train = _numeric_targets(y_train, "y_train")
        y_test = _numeric_targets(y_test, "y_test")
        if y_test_true is not None:
            y_test_true = _numeric_targets(y_test_true, "y_test_true")
            if y_test_true.shape != y_test.shape:
                raise ValueError(
                    f"y_test_true has shape {y_test_true.shape} but y_test has "
                    f"shape {y_test.shape}."
                )
        return y_train, y_test, y_test_true, None
    y_train = _class_labels(y_train, "y_train", loss)
    y_test = _class_labels(y_test, "y_test", loss)
    check_two_classes(
        y_train, "y_train", f"bias_variance_decomposition with loss={loss!r}"
    )
    if loss == "log":
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                "loss='log' needs class probabilities, but "
                f"{type(estimator).__name__} has no predict_proba method."
            )
        classes = np.unique(np.concatenate([y_train, y_test]))
        if y_test_true is not None:
            y_test_true = _true_probabilities(y_test_true, len(classes))
        return y_train, y_test, y_test_true, classes
    classes = np.unique(y_train)
    if y_test_true is not None:
        y_test_true = _encode_labels(
            _class_labels(y_test_true, "y_test_true", loss), classes
        )
    return y_train, y_test, y_test_true, classes


def _true_probabilities(y_test_true, n_classes):
    q = check_array(y_test_true, input_name="y_test_true")
    if (
        q.shape[1] != n_classes
        or np.any(q < 0)
        or not np.allclose(q.sum(axis=1), 1.0, atol=1e-6)
    ):
        raise ValueError(
            "For loss='log', y_test_true must hold the true class probabilities: "
            f"an array of shape (n_test, {n_classes}) (one column per class of "
            "y_train and y_test, in sorted order) with non-negative rows summing "
            f"to 1; got shape {q.shape}."
        )
    return q


def _decompose(loss, predictions, y_test, y_test_true, classes):
    """Apply the loss's formula to the rounds' predictions."""
    if loss == "squared":
        return _squared_terms(predictions, y_test, y_test_true)
    y_codes = _encode_labels(y_test, classes)
    if loss == "0-1":
        return _zero_one_terms(predictions, y_codes, len(classes), y_test_true)
    return _log_terms(predictions, y_codes, y_test_true)


_RESPONSES = {"squared": "values", "0-1": "codes", "log": "proba"}


@fill_doc
@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X_train": ["array-like", "sparse matrix"],
        "y_train": ["array-like"],
        "X_test": ["array-like", "sparse matrix"],
        "y_test": ["array-like"],
        "loss": [StrOptions(set(_LOSSES))],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "y_test_true": ["array-like", None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "fit_params": [dict, None],
        "batched": [StrOptions({"auto"}), "boolean"],
    },
    prefer_skip_nested_validation=False,
)
def bias_variance_decomposition(
    estimator,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    loss="squared",
    n_rounds=200,
    y_test_true=None,
    random_state=None,
    n_jobs=None,
    verbose=0,
    fit_params=None,
    batched="auto",
):
    """Decompose an estimator's expected test loss into bias, variance and noise.

    The training sets of the expectation are bootstrap replicates of
    ``(X_train, y_train)``: round ``r`` fits a clone of ``estimator`` on the
    rows drawn by the ``r``-th ``rng.randint(0, n, n)`` of one
    ``rng = np.random.RandomState(random_state)``, the scheme of mlxtend's
    ``bias_variance_decomp``, so that the numbers agree with it where the
    definitions coincide. Only the predictions on ``X_test`` are kept, never
    the fitted models.

    Read more in the :ref:`User Guide <bias_variance>`.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted estimator; it is cloned for every round and never fitted
        itself. Its own ``random_state`` is not reseeded per round.
    X_train : {array-like, sparse matrix} of shape (n_train, n_features)
        Data the bootstrap replicates are drawn from.
    y_train : array-like of shape (n_train,) or (n_train, n_outputs)
        Training targets (several outputs for the squared loss only).
    X_test : {array-like, sparse matrix} of shape (n_test, n_features)
        Test inputs.
    y_test : array-like of shape (n_test,) or (n_test, n_outputs)
        Observed test targets.
    loss : {'squared', '0-1', 'log'}, default='squared'
        ``'squared'``: ``E[(y - f_hat)^2] = bias2 + variance (+ noise)``.
        ``'0-1'``: Domingos (2000) decomposition of the misclassification
        rate for class labels. ``'log'``: Bregman decomposition of the
        log-loss of ``predict_proba``.
    n_rounds : int, default=200
        Number of bootstrap rounds.
    y_test_true : array-like or None, default=None
        Noise-free targets of the test samples, when known (synthetic
        data). ``'squared'``: the true function values, shaped as
        ``y_test``; ``bias2`` is then measured against them and
        ``noise = mean((y_test - y_test_true)**2)``. ``'0-1'``: the
        Bayes-optimal labels. ``'log'``: the true class probabilities, of
        shape (n_test, n_classes). Without it, noise cannot be told apart
        from bias: ``bias2`` (``bias``) contains it and ``noise`` is None.
    %(random_state)s
    %(n_jobs)s
    %(verbose)s
    fit_params : dict or None, default=None
        Passed to every ``fit``; array values with one entry per training
        sample (such as ``sample_weight``) are indexed by the round's rows.
    batched : {'auto', True, False}, default='auto'
        Fit all rounds at once as one batched model when ``estimator`` is a
        :mod:`sklopt.neural` network whose settings allow it (see
        ``docs/user_guide/batched.rst``): each round gets the fit it would
        get on its own (to float32 rounding), for a fraction of the time;
        ``n_jobs`` is then not used. ``'auto'`` falls back to one-by-one
        fitting otherwise (saying why when ``verbose``), ``True`` raises
        :class:`~sklopt.exceptions.NotBatchableError` instead, ``False``
        always fits one by one.

    Returns
    -------
    result : BiasVarianceResult
        ``loss``, ``bias2`` (squared) or ``bias`` ('0-1', 'log'),
        ``variance``, ``noise`` (None unless ``y_test_true`` is given) and,
        for '0-1', ``net_variance``, plus per-sample terms.

    See Also
    --------
    bias_variance_curve : The decomposition over a range of a parameter.
    BootstrapReplicas : The same rounds as an estimator, for scorers.
    bias_variance_scorers : Bias and variance as scorers for model selection.

    Notes
    -----
    Squared loss, with ``f_bar`` the mean prediction over rounds and ``t``
    the target (``y_test_true`` if given, else ``y_test``)::

        loss     = mean_{r,i} (y_i - f_r(x_i))^2
        bias2    = mean_i (f_bar(x_i) - t_i)^2
        variance = mean_{r,i} (f_r(x_i) - f_bar(x_i))^2

    Without ``y_test_true``, ``loss == bias2 + variance`` exactly. With it,
    ``loss == bias2 + variance + noise`` up to the sample correlation of
    noise and bias, which vanishes as the test set grows.

    0-1 loss (Domingos): main prediction ``m`` = most frequent label over
    rounds (ties go to the smallest label), ``bias = 1[m != t]``,
    ``variance = P_r(f_r != m)``, ``net_variance`` = ``variance`` where
    unbiased and ``-P_r(f_r == t)`` where biased (Domingos' ``c2 * V``,
    which is ``-V`` for two classes), so that the loss against ``t`` equals
    ``bias + net_variance``.

    Log-loss: central prediction ``c = exp(mean_r log p_r) / Z``, ``bias =
    KL(t || c)`` and ``variance = mean_r KL(c || p_r) = -log Z``, so that
    ``loss == bias + variance`` without ``y_test_true``. Probabilities are
    clipped to machine epsilon before taking logarithms.

    References
    ----------
    .. [1] P. Domingos, "A Unified Bias-Variance Decomposition and its
       Applications", ICML 2000.
    .. [2] D. Pfau, "A Generalized Bias-Variance Decomposition for Bregman
       Divergences", 2013.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from sklopt.model_selection import bias_variance_decomposition
    >>> X, y = make_friedman1(n_samples=200, noise=1.0, random_state=0)
    >>> result = bias_variance_decomposition(
    ...     DecisionTreeRegressor(max_depth=3, random_state=0),
    ...     X[:150], y[:150], X[150:], y[150:], n_rounds=20, random_state=0)
    >>> result
    BiasVarianceResult(loss_name='squared', loss=..., bias2=..., variance=...,
    (bias2 includes the noise), n_rounds=20)
    >>> bool(np.isclose(result.loss, result.bias2 + result.variance))
    True
    """
    _check_lengths(X_train, y_train, X_test, y_test, y_test_true)
    check_finite_input(X_train, "X_train", estimator)
    check_finite_input(X_test, "X_test", estimator)
    y_train, y_test, y_test_true, classes = _prepare_targets(
        estimator, loss, y_train, y_test, y_test_true
    )
    fit_params = dict(fit_params or {})
    if fit_params.get("sample_weight") is not None:
        fit_params["sample_weight"] = check_sample_weight(
            fit_params["sample_weight"], len(y_train)
        )
    predictions = _fit_predict_rounds(
        estimator,
        row_indexable(X_train),
        y_train,
        X_test,
        _bootstrap_indices(random_state, len(y_train), n_rounds),
        n_rounds=n_rounds,
        response=_RESPONSES[loss],
        classes=classes,
        fit_params=fit_params,
        n_jobs=n_jobs,
        verbose=verbose,
        batched=batched,
    )
    terms = _decompose(loss, predictions, y_test, y_test_true, classes)
    return _result_from_terms(loss, terms, n_rounds, classes)


def _parameter_values(param_range):
    """The values of a parameter range as a 1-D array; tuples such as
    ``hidden_layer_sizes=(16,)`` stay whole values (an object array), as in
    scikit-learn's ``validation_curve``."""
    if isinstance(param_range, np.ndarray) and param_range.ndim != 1:
        raise ValueError(
            "param_range must be a non-empty 1-D sequence of values; got shape "
            f"{param_range.shape}."
        )
    values = list(param_range)
    if len(values) == 0:
        raise ValueError("param_range must be a non-empty 1-D sequence of values.")
    if not any(isinstance(v, (tuple, list)) for v in values):
        return np.asarray(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


@fill_doc
@validate_params(
    {
        "estimator": [HasMethods(["fit", "predict"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "param_name": [str],
        "param_range": ["array-like"],
        "loss": [StrOptions(set(_LOSSES))],
        "test_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "y_true": ["array-like", None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "batched": [StrOptions({"auto"}), "boolean"],
    },
    prefer_skip_nested_validation=False,
)
def bias_variance_curve(
    estimator,
    X,
    y,
    *,
    param_name,
    param_range,
    loss="squared",
    test_size=0.25,
    n_rounds=100,
    y_true=None,
    random_state=None,
    n_jobs=None,
    verbose=0,
    batched="auto",
):
    """Bias, variance and expected loss over a range of one parameter.

    ``X, y`` are split once into a training and a test set (stratified for
    the classification losses); then :func:`bias_variance_decomposition` runs
    for each value of ``param_name`` (set on a clone of ``estimator``), with
    the same bootstrap replicates for every value, so that the curves differ
    only through the parameter.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted estimator; never modified.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Input data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    param_name : str
        Name of the parameter to vary, as for ``set_params`` (for example
        ``'max_depth'`` or ``'estimator__max_depth'``).
    param_range : array-like of shape (n_values,)
        Values of the parameter; tuples (such as ``hidden_layer_sizes``
        values) are single values.
    loss : {'squared', '0-1', 'log'}, default='squared'
        Loss to decompose (see :func:`bias_variance_decomposition`).
    test_size : float or int, default=0.25
        Fraction (or number) of samples held out as the test set.
    n_rounds : int, default=100
        Bootstrap rounds per parameter value.
    y_true : array-like or None, default=None
        Noise-free targets of all of ``X`` (see ``y_test_true`` in
        :func:`bias_variance_decomposition`), split along with ``y``.
    %(random_state)s
    %(n_jobs)s
    %(verbose)s
    batched : {'auto', True, False}, default='auto'
        Fit the rounds of each value as one batched model (see
        :func:`bias_variance_decomposition`).

    Returns
    -------
    curve : Bunch
        ``param_name``, ``param_range`` and, as arrays of shape (n_values,),
        ``loss``, ``bias2`` (squared) or ``bias``, ``variance``, ``noise``
        (None without ``y_true``) and for '0-1' ``net_variance``;
        ``results`` is the list of :class:`BiasVarianceResult`.

    See Also
    --------
    bias_variance_decomposition : One decomposition.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from sklopt.model_selection import bias_variance_curve
    >>> X, y = make_friedman1(n_samples=200, noise=1.0, random_state=0)
    >>> curve = bias_variance_curve(
    ...     DecisionTreeRegressor(random_state=0), X, y, param_name="max_depth",
    ...     param_range=[1, 8], n_rounds=10, random_state=0)
    >>> curve.bias2.shape
    (2,)
    >>> bool(curve.variance[1] > curve.variance[0])
    True
    """
    param_range = _parameter_values(param_range)
    templates = [clone(estimator).set_params(**{param_name: v}) for v in param_range]
    split_seed, round_seed = draw_seeds(random_state, 2)
    arrays = [X, y] if y_true is None else [X, y, y_true]
    if y_true is not None:
        check_consistent_length(X, y, y_true)
    stratify = np.asarray(y) if loss != "squared" else None
    parts = train_test_split(
        *arrays, test_size=test_size, random_state=split_seed, stratify=stratify
    )
    X_train, X_test, y_train, y_test = parts[:4]
    y_test_true = parts[5] if y_true is not None else None
    results = [
        bias_variance_decomposition(
            template,
            X_train,
            y_train,
            X_test,
            y_test,
            loss=loss,
            n_rounds=n_rounds,
            y_test_true=y_test_true,
            random_state=round_seed,
            n_jobs=n_jobs,
            verbose=verbose,
            batched=batched,
        )
        for template in templates
    ]
    curve = Bunch(param_name=param_name, param_range=param_range, results=results)
    for name, value in results[0].to_dict().items():
        if value is not None:
            curve[name] = np.array([getattr(result, name) for result in results])
    curve.setdefault("noise", None)
    return curve
