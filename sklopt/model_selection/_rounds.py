"""Bootstrap rounds shared by the bias-variance tools.

The rounds are fitted by the engine that fits copies of an estimator on
resampled rows (:func:`sklopt.utils._resampled_fits.fit_members`: one by one
in parallel, or all at once as one batched model for neural networks), through
:func:`_fit_predict_rounds`; this module holds the bootstrap draw, the
predictions each round keeps, and the decomposition formulas
(:func:`_squared_terms`, :func:`_zero_one_terms`, :func:`_log_terms`).
:func:`~sklopt.model_selection.bias_variance_decomposition`,
:class:`~sklopt.model_selection.BootstrapReplicas` and the scorers of
:func:`~sklopt.model_selection.bias_variance_scorers` all go through them.
"""

from functools import partial

import numpy as np
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.utils import check_random_state

from sklopt.utils._resampled_fits import Member, fit_members

# Probabilities are clipped to [_EPS, 1] before taking logarithms.
_EPS = np.finfo(np.float64).eps

# The formulas work on blocks of test samples whose temporaries hold at most
# about this many elements, so that peak memory grows with n_rounds by the
# stored predictions only.
_BLOCK_ELEMENTS = 2**13


# --- the bootstrap draw and the fitting of the rounds -------------------------


def _bootstrap_indices(random_state, n_samples, n_rounds):
    """Yield the training rows of each bootstrap round, lazily and in order.

    Round r gets the r-th ``rng.randint(0, n_samples, n_samples)`` of a single
    ``RandomState`` (``check_random_state(random_state)``). This is the scheme
    of mlxtend's ``bias_variance_decomp`` (``rng.choice`` with replacement on
    a legacy ``RandomState`` draws exactly these integers), so that results are
    comparable across tools. Drawing lazily keeps memory independent of
    ``n_rounds``.
    """
    rng = check_random_state(random_state)
    for _ in range(n_rounds):
        yield rng.randint(0, n_samples, n_samples)


def _encode_labels(labels, classes):
    """Codes of ``labels`` in the sorted ``classes``; -1 for unknown labels."""
    labels = np.asarray(labels)
    codes = np.searchsorted(classes, labels)
    codes = np.clip(codes, 0, len(classes) - 1)
    return np.where(classes[codes] == labels, codes, -1)


def _code_dtype(n_classes):
    """Smallest signed integer type for class codes (and -1)."""
    return np.int8 if n_classes < 2**7 else np.int16 if n_classes < 2**15 else np.intp


def _align_proba(proba, estimator_classes, classes):
    """Columns of ``proba`` (over ``estimator_classes``) placed in ``classes``."""
    out = np.zeros((proba.shape[0], len(classes)))
    out[:, np.searchsorted(classes, estimator_classes)] = proba
    return out


def _respond(X_test, response, classes, fitted, member=None):
    """Predictions of one fitted replica in the form the formulas need."""
    if response == "proba":
        return _align_proba(fitted.predict_proba(X_test), fitted.classes_, classes)
    prediction = fitted.predict(X_test)
    if response == "codes":
        codes = _encode_labels(prediction, classes)
        if np.any(codes < 0):
            raise ValueError(
                f"{type(fitted).__name__} predicted labels that are not among the "
                f"training classes {classes.tolist()}."
            )
        return codes.astype(_code_dtype(len(classes)))
    return np.asarray(prediction, dtype=np.float64)


def _fit_predict_rounds(
    estimator,
    X_train,
    y_train,
    X_test,
    indices,
    *,
    n_rounds,
    response="values",
    classes=None,
    fit_params=None,
    n_jobs=None,
    verbose=0,
    batched="auto",
):
    """Fit one clone of ``estimator`` per round on its bootstrap sample
    (rows repeated: the textbook bootstrap, for networks too), one by one (in
    parallel) or all at once as one batched model.

    Parameters
    ----------
    estimator : estimator instance
        Never modified: it is cloned once, and every round fits a copy of
        that unfitted clone. Its own ``random_state`` is kept as given (not
        reseeded per round).
    X_train, y_train : array-like
        The data the rounds are drawn from (a DataFrame keeps its columns).
    X_test : array-like or None
        With ``None`` the fitted clones are yielded (``BootstrapReplicas``);
        otherwise only their predictions on ``X_test`` are kept and the
        clones are dropped as soon as they have predicted.
    indices : iterable of ndarray
        Training rows of each round, for example
        ``_bootstrap_indices(random_state, n, n_rounds)``; consumed lazily.
    n_rounds : int
        Number of rounds (the length of ``indices``).
    response : {'values', 'codes', 'proba'}
        ``'values'``: float ``predict``; ``'codes'``: ``predict`` encoded as
        positions in ``classes``; ``'proba'``: ``predict_proba`` with its
        columns placed in ``classes``.
    classes : ndarray or None
        Sorted class labels for ``'codes'`` and ``'proba'``.
    fit_params : dict or None
        Passed to every ``fit``; sample-aligned values are indexed by the rows.
    n_jobs, verbose : int or None
        Parallel jobs (joblib) and progress bar.
    batched : {'auto', True, False}
        Fit the rounds as one batched model through the estimator's
        ``_fit_batched`` hook (see :func:`sklopt.utils._batching.resolve_batched`),
        which gives each round the fit it would get on its own; ``n_jobs`` is
        then not used.

    Returns
    -------
    estimators : generator of fitted estimators
        When ``X_test`` is None, in round order.
    predictions : ndarray of shape (n_rounds, n_test, ...)
        Otherwise: float64 values (with an output axis for multi-output
        targets), class codes (the smallest integer type that holds them), or
        float64 probabilities of shape (n_rounds, n_test, n_classes). The
        array is allocated once and filled as rounds finish, so peak memory
        grows with ``n_rounds`` only by the stored predictions.
    """
    results = fit_members(
        clone(estimator),
        X_train,
        y_train,
        (Member(rows=rows) for rows in indices),
        n_members=n_rounds,
        fit_params=fit_params,
        respond=None
        if X_test is None
        else partial(_respond, X_test, response, classes),
        n_jobs=n_jobs,
        verbose=verbose,
        batched=batched,
        owner="bootstrap rounds",
        items="rounds",
        verb="fit",
    )
    if X_test is None:
        return results
    predictions = None
    for r, prediction in enumerate(results):
        if predictions is None:
            predictions = np.empty((n_rounds, *prediction.shape), prediction.dtype)
        predictions[r] = prediction
    return predictions


# --- the decomposition formulas ----------------------------------------------
# Each takes the predictions of all rounds and returns per-sample terms, so
# that callers can average them, with or without sample weights.


def _blockwise(block_terms, predictions, *per_sample):
    """Apply ``block_terms`` to blocks of test samples and join the results.

    ``predictions`` has the test samples on axis 1; each array of
    ``per_sample`` (or None) has them on axis 0. The per-sample terms do not
    depend on the blocking; the temporaries stay below ``_BLOCK_ELEMENTS``.
    """
    n_samples = predictions.shape[1]
    step = max(1, _BLOCK_ELEMENTS // max(1, predictions[:, :1].size))
    parts = [
        block_terms(
            predictions[:, start : start + step],
            *(None if a is None else a[start : start + step] for a in per_sample),
        )
        for start in range(0, n_samples, step)
    ]
    return {
        key: None if value is None else np.concatenate([p[key] for p in parts])
        for key, value in parts[0].items()
    }


def _per_sample(values):
    """Average a (n_samples, n_outputs) array over outputs; keep 1-D as is."""
    return values.reshape(values.shape[0], -1).mean(axis=1)


def _squared_terms(predictions, y, y_true=None):
    """Squared-loss terms per test sample (see ``_squared_block``)."""
    return _blockwise(_squared_block, predictions, y, y_true)


def _squared_block(predictions, y, y_true=None):
    """Squared-loss terms per test sample.

    ``predictions`` has shape (n_rounds, n_samples[, n_outputs]). Without
    ``y_true``, ``bias2`` is measured against ``y`` and so contains the noise;
    then ``loss == bias2 + variance`` exactly.
    """
    main = predictions.mean(axis=0)
    target = y if y_true is None else y_true
    return {
        "main_prediction": main,
        "loss": _per_sample(((predictions - y) ** 2).mean(axis=0)),
        "bias2": _per_sample((main - target) ** 2),
        "variance": _per_sample(((predictions - main) ** 2).mean(axis=0)),
        "noise": None if y_true is None else _per_sample((y - y_true) ** 2),
    }


def _mode_codes(codes, n_classes):
    """Most frequent code per column of ``codes`` (n_rounds, n_samples);
    ties go to the smallest code, that is the smallest label."""
    n_samples = codes.shape[1]
    flat = (codes + n_classes * np.arange(n_samples)).ravel()
    counts = np.bincount(flat, minlength=n_samples * n_classes)
    return counts.reshape(n_samples, n_classes).argmax(axis=1)


def _zero_one_terms(codes, y_codes, n_classes, y_true_codes=None):
    """Domingos' 0-1 loss terms per test sample (see ``_zero_one_block``)."""
    block = partial(_zero_one_block, n_classes=n_classes)
    return _blockwise(block, codes, y_codes, y_true_codes)


def _zero_one_block(codes, y_codes, y_true_codes=None, *, n_classes):
    """Domingos (2000) 0-1 loss terms per test sample.

    ``codes`` (n_rounds, n_samples) are predicted labels encoded as positions
    in the sorted classes; ``y_codes`` the observed labels (-1 for a label no
    replica can predict). The main prediction is the mode over rounds.
    ``bias = 1[main != t]`` with ``t`` the true label (``y_true_codes`` if
    given, else ``y_codes``); ``variance = P_r(pred != main)``;
    ``net_variance`` is ``variance`` where unbiased and ``-P_r(pred == t)``
    where biased (Domingos' c2 * variance for any number of classes; for two
    classes this is minus the variance), so that the loss against ``t``
    equals ``bias + net_variance`` exactly.
    """
    main = _mode_codes(codes, n_classes)
    target = y_codes if y_true_codes is None else y_true_codes
    bias = (main != target).astype(np.float64)
    variance = (codes != main).mean(axis=0)
    hit_rate = (codes == target).mean(axis=0)
    return {
        "main_prediction": main,
        "loss": (codes != y_codes).mean(axis=0),
        "bias": bias,
        "variance": variance,
        "net_variance": np.where(bias == 1, -hit_rate, variance),
        "noise": None
        if y_true_codes is None
        else (y_codes != y_true_codes).astype(np.float64),
    }


def _log_terms(proba, y_codes, y_true_proba=None):
    """Log-loss terms per test sample (see ``_log_block``)."""
    return _blockwise(_log_block, proba, y_codes, y_true_proba)


def _log_block(proba, y_codes, y_true_proba=None):
    """Bregman (Kullback-Leibler) terms of the log-loss per test sample.

    ``proba`` (n_rounds, n_samples, n_classes) are clipped to ``[eps, 1]``
    and renormalised. The central prediction is the normalised geometric
    mean ``c = exp(mean_r log p_r) / Z``; ``variance = mean_r KL(c || p_r)
    = -log Z``; ``bias = KL(q || c)`` with ``q`` the one-hot observed label,
    or ``y_true_proba`` when given (then ``noise`` is the entropy of ``q``).
    Without ``y_true_proba``, ``loss == bias + variance`` exactly.
    """
    proba = np.clip(proba, _EPS, 1.0)
    log_p = np.log(proba / proba.sum(axis=2, keepdims=True))
    mean_log_p = log_p.mean(axis=0)
    log_z = logsumexp(mean_log_p, axis=1)
    log_central = mean_log_p - log_z[:, None]
    rows = np.arange(len(y_codes))
    loss = -mean_log_p[rows, y_codes]
    if y_true_proba is None:
        bias, noise = -log_central[rows, y_codes], None
    else:
        q_log_q = np.where(y_true_proba > 0, y_true_proba, 1.0)
        q_log_q = y_true_proba * np.log(q_log_q)
        noise = -q_log_q.sum(axis=1)
        bias = (q_log_q - y_true_proba * log_central).sum(axis=1)
    return {
        "main_prediction": np.exp(log_central),
        "loss": loss,
        "bias": bias,
        "variance": -log_z,
        "noise": noise,
    }
