"""Fitting copies of an estimator on resampled rows.

The one engine behind the bagging ensembles, :class:`BootstrapReplicas`, the
bias-variance rounds and :func:`bootstrap_632_score`: each copy ("member")
is described by a :class:`Member` (its training rows, repeats allowed, and
optionally its columns, seed and parameters, so that a search candidate on a
fold is a member too). :func:`fit_members` fits the members one by one (in
parallel through joblib) or all at once through the estimator's
``_fit_batched`` hook, shows one progress bar, and yields, in member order,
either each fitted copy or what ``respond`` makes of it (predictions, a
score). A KeyboardInterrupt stops it; what was yielded before is the
caller's to keep (one job: every member completed before the interrupt).

The callers, and what a member is for each:

* bagging: ``Member(rows=drawn, columns=features, seed=seed)``, fitted on
  the distinct rows with count weights where that is the same fit
  (``by_counts``, :func:`count_weights_exact`), else on the rows as drawn;
* bootstrap rounds (``BootstrapReplicas``, bias-variance):
  ``Member(rows=bootstrap_rows)``, ``respond`` predicting on the test set;
* ``bootstrap_632_score``: ``Member(rows=bootstrap_rows,
  test_rows=out_of_bag)``, ``respond`` scoring on ``test_rows``;
* a hyperparameter search: ``Member(rows=train, params=candidate,
  test_rows=test)`` per candidate and fold, ``respond`` scoring on
  ``test_rows`` (members with different ``params`` are fitted one by one
  until the batched hook learns per-member hyperparameters).

Warnings raised by the members' fits are collected and shown once per
distinct message at the end, at the caller's line, with the number of
members that raised them (:func:`_warn_once`): a study of 200 rounds prints
one ConvergenceWarning, not 200.
"""

import copy
import itertools
import math
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import has_fit_parameter

from sklopt.utils._batching import offers_batching, resolve_batched
from sklopt.utils._random import MAX_SEED
from sklopt.utils._warnings import warning_state_kept

# Members per joblib task when working in parallel. Fewer, larger tasks cost
# less dispatch time; a bound on the task size keeps the parent's transient
# memory (one task's results in flight) independent of the number of members.
_MAX_MEMBERS_PER_TASK = 32


class Member(NamedTuple):
    """One copy of the estimator to fit.

    rows : int array, callable or None
        Training rows (repeats allowed); None: all rows. A callable
        (``rows()`` gives the array) draws them when the member is fitted, so
        that the rows of all members are never held together.
    columns : int array or None
        Columns of X the member sees; None: all of them, as given.
    seed : int or None
        Every ``random_state`` parameter of the copy (nested ones included)
        is set from it (:func:`set_random_states`); None keeps the
        estimator's own ``random_state``.
    params : dict or None
        Parameters set on the copy before fitting (a search candidate).
    test_rows : int array or None
        Rows ``respond`` evaluates the fitted copy on (out-of-bag rows, a
        fold's test rows); the engine itself does not read them.
    """

    rows: object = None
    columns: object = None
    seed: object = None
    params: object = None
    test_rows: object = None


# --- the members' estimators --------------------------------------------------


def random_state_keys(estimator):
    """Sorted names of the ``random_state`` parameters of ``estimator``,
    nested ones included."""
    return [
        key
        for key in sorted(estimator.get_params(deep=True))
        if key == "random_state" or key.endswith("__random_state")
    ]


def set_random_states(estimator, random_state, keys=None):
    """Set every ``random_state`` parameter of ``estimator`` (nested ones
    included) to an integer drawn from ``random_state``.

    Keys are visited in sorted order, so that the same ``random_state`` gives
    the same integers as scikit-learn's ensembles, which use this scheme.
    ``keys`` (from :func:`random_state_keys`) saves looking them up again.
    """
    rng = check_random_state(random_state)
    keys = random_state_keys(estimator) if keys is None else keys
    if keys:
        estimator.set_params(**{key: int(rng.randint(MAX_SEED)) for key in keys})
    return estimator


def _make_estimator(template, member, keys=None):
    """The unfitted copy of ``template`` that ``member`` describes."""
    if member.seed is None and not member.params:
        # A deep copy of an unfitted clone is a clone, at a fifth of the cost.
        return copy.deepcopy(template)
    estimator = clone(template)
    if member.params:
        estimator.set_params(**member.params)
    if member.seed is not None:
        set_random_states(estimator, member.seed, keys)
    return estimator


# --- the rows, columns and weights a member is fitted on ----------------------


def count_weights_exact(estimator):
    """Whether fitting ``estimator`` on the distinct rows of a bootstrap
    sample, weighted by their number of draws, is the fit on the sample
    itself (rows repeated).

    True for an estimator whose ``fit`` takes ``sample_weight`` (trees, linear
    models, ...), unless it says otherwise with the class attribute
    ``_count_weights_exact = False``: networks trained by minibatch gradient
    descent take fewer steps per epoch on the distinct rows (about 37 % fewer
    for a bootstrap sample), so they are fitted on the repeated rows.
    """
    return has_fit_parameter(estimator, "sample_weight") and getattr(
        estimator, "_count_weights_exact", True
    )


def take_rows(data, rows):
    """``data[rows]`` for arrays, sparse matrices, DataFrames and lists; the
    fast path for arrays matters with cheap estimators."""
    if isinstance(data, np.ndarray):
        return data[rows]
    return _safe_indexing(data, rows)


def take_columns(X, columns):
    """The columns ``columns`` of ``X`` (X itself when None or all of them,
    in order); a DataFrame keeps its column names."""
    if columns is None:
        return X
    n_features = X.shape[1]
    if len(columns) == n_features and np.array_equal(columns, np.arange(n_features)):
        return X
    if isinstance(X, np.ndarray) or sp.issparse(X):
        return X[:, columns]
    return _safe_indexing(X, columns, axis=1)


def as_given(X, X_checked):
    """The X handed to the members: the user's DataFrame as it is (its column
    names select columns in a ColumnTransformer), else ``X_checked``, the
    validated array."""
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        return X
    return X_checked


def row_indexable(X):
    """``X``, with sparse formats without row indexing (COO, ...) as CSR."""
    if sp.issparse(X) and X.format not in ("csr", "csc"):
        return X.tocsr()
    return X


def _is_sample_aligned(value, n_samples):
    return (
        hasattr(value, "__len__")
        and not isinstance(value, str)
        and len(value) == n_samples
    )


def member_rows(member):
    """The training rows of ``member`` (drawn now when lazy), or None."""
    rows = member.rows
    return rows() if callable(rows) else rows


def _rows_and_weights(rows, n_samples, by_counts, y_codes, fit_params):
    """The rows a member is fitted on and its ``fit_params`` (sample-aligned
    values taken at those rows).

    ``by_counts``: the distinct rows, ``sample_weight`` multiplied by the
    number of draws of each row; every row, the undrawn ones with weight 0
    (scikit-learn's scheme), when the draw misses a class of ``y``
    (``y_codes``: class codes of a classifier's targets) or when the
    estimator is neither a classifier nor a regressor (``y_codes`` is
    ``'all'``: it may need classes too), so that no member loses a class.
    Otherwise: the rows as drawn, repeats included.
    """
    params = dict(fit_params)
    if rows is None:
        return None, params
    rows = np.asarray(rows, dtype=np.intp)
    weight = None
    if by_counts:
        counts = np.bincount(rows, minlength=n_samples)
        drawn = np.flatnonzero(counts)
        if isinstance(y_codes, str) or (
            y_codes is not None and len(np.unique(y_codes[drawn])) < y_codes.max() + 1
        ):
            drawn = np.arange(n_samples)
        rows, weight = drawn, counts[drawn].astype(np.float64)
        user_weight = params.pop("sample_weight", None)
        if user_weight is not None:
            weight = weight * np.asarray(user_weight)[rows]
        elif np.all(weight == 1.0):
            weight = None
    params = {
        key: take_rows(value, rows) if _is_sample_aligned(value, n_samples) else value
        for key, value in params.items()
    }
    if weight is not None:
        params["sample_weight"] = weight
    return rows, params


class _Setup(NamedTuple):
    """What every member of one call shares (shipped once per task)."""

    template: object
    X: object
    y: object
    fit_params: dict
    by_counts: bool
    y_codes: object
    respond: object
    keys: list


def _fit_one(setup, member):
    """Fit one member; return ``(result, warnings)``: the fitted copy (or
    ``respond(fitted, member)``) and the warnings its fit raised (see
    :func:`_distinct`)."""
    estimator = _make_estimator(setup.template, member, setup.keys)
    n_samples = len(setup.y)
    rows, params = _rows_and_weights(
        member_rows(member), n_samples, setup.by_counts, setup.y_codes, setup.fit_params
    )
    X, y = setup.X, setup.y
    if rows is not None:
        X, y = take_rows(X, rows), take_rows(y, rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(take_columns(X, member.columns), y, **params)
        result = (
            estimator if setup.respond is None else setup.respond(estimator, member)
        )
    return result, _distinct(caught)


def _distinct(caught):
    """``{(category, message): 1}`` for each distinct recorded warning."""
    return dict.fromkeys(((w.category, str(w.message)) for w in caught), 1)


def _parallel_fit(setup, members):
    """joblib worker: fit a task's members one by one."""
    return [_fit_one(setup, member) for member in members]


# --- scheduling ---------------------------------------------------------------


def task_sizes(n_items, n_jobs):
    """Split ``n_items`` into balanced task sizes for ``n_jobs`` workers.

    One job: one item per task (it costs nothing and gives a fine progress
    bar, and a KeyboardInterrupt loses no complete item). Several: a
    multiple of ``n_jobs`` tasks of at most ``_MAX_MEMBERS_PER_TASK`` items.
    """
    if n_jobs <= 1:
        return [1] * n_items
    n_tasks = max(n_jobs, math.ceil(n_items / _MAX_MEMBERS_PER_TASK))
    n_tasks = min(n_items, n_jobs * math.ceil(n_tasks / n_jobs))
    base, extra = divmod(n_items, n_tasks)
    return [base + 1] * extra + [base] * (n_tasks - extra)


def progress(iterable, verbose, desc, total=None):
    """Wrap ``iterable`` in a tqdm progress bar when ``verbose > 0``."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total)


def _batching_obstacle(members, fit_params, n_features):
    """Why the members cannot be trained as one batched model although the
    estimator could (None when they can); ``n_features()`` gives the number
    of columns of X."""
    if any(
        m.columns is not None and not np.array_equal(m.columns, np.arange(n_features()))
        for m in members
    ):
        return (
            "the members use different feature subsets (max_features < 1.0 or "
            "bootstrap_features=True)"
        )
    if any(m.params for m in members):
        return "the members have different parameters"
    other = sorted(set(fit_params) - {"sample_weight"})
    if other:
        return f"the fit parameters {other} are not supported by batched training"
    return None


class _LazyRowsAndWeights(Sequence):
    """The rows (``part=0``) or weights (``part=1``) of each member for the
    batched hook, computed when asked for: a lazy member's rows are drawn
    then, not held for all members at once."""

    def __init__(self, setup, members, part):
        self.setup, self.members, self.part = setup, members, part

    def __len__(self):
        return len(self.members)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        setup = self.setup
        n_samples = len(setup.y)
        rows, params = _rows_and_weights(
            member_rows(self.members[index]),
            n_samples,
            setup.by_counts,
            setup.y_codes,
            setup.fit_params,
        )
        if self.part == 0:
            return np.arange(n_samples) if rows is None else rows
        return params.get("sample_weight")


def _fit_batched(setup, members, verbose):
    """All members at once through ``template._fit_batched``; yields
    ``(result, warnings)`` pairs as :func:`_fit_one` does (the warnings of
    the whole batched fit go with the first member)."""
    estimators = [_make_estimator(setup.template, m, setup.keys) for m in members]
    rows = _LazyRowsAndWeights(setup, members, 0)
    # Weights exist when the user gave sample_weight or the members are
    # fitted on count weights of drawn rows.
    weights = None
    if "sample_weight" in setup.fit_params or (
        setup.by_counts and any(m.rows is not None for m in members)
    ):
        weights = _LazyRowsAndWeights(setup, members, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = setup.template._fit_batched(
            setup.X, setup.y, estimators, rows, weights, verbose=verbose
        )
    # Which member warned is not known: the count is None.
    found = dict.fromkeys(((w.category, str(w.message)) for w in caught), None)
    for i, (estimator, member) in enumerate(zip(fitted, members)):
        result = (
            estimator if setup.respond is None else setup.respond(estimator, member)
        )
        fitted[i] = None  # only the result is kept
        yield result, found if i == 0 else {}


def fit_members(
    template,
    X,
    y,
    members,
    *,
    n_members,
    fit_params=None,
    by_counts=False,
    respond=None,
    n_jobs=None,
    verbose=0,
    batched=False,
    owner="ensemble",
    items="members",
    verb="train",
):
    """Fit copies of ``template`` on resampled rows; yield them in order.

    Parameters
    ----------
    template : estimator instance
        Unfitted; never modified. Member ``i`` is a copy of it (see
        :class:`Member`).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        Passed to the members as given (a DataFrame keeps its columns), at
        each member's rows and columns.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    members : iterable of Member
        Consumed lazily when fitting one by one.
    n_members : int
        The length of ``members``.
    fit_params : dict or None
        Passed to every ``fit``; sample-aligned values are taken at the
        member's rows.
    by_counts : bool, default=False
        Fit each member on its distinct rows weighted by their number of
        draws (times ``fit_params['sample_weight']``) instead of its rows as
        drawn; only where that is the same fit (:func:`count_weights_exact`).
        A classifier's member whose draw misses a class is fitted on all
        rows, the undrawn ones with weight 0.
    respond : callable or None
        ``respond(fitted, member)``, run where the member was fitted (a joblib
        worker); its result is yielded instead of the fitted copy, which is
        then dropped. Must be picklable for process-based workers.
    n_jobs : int or None
        Parallel jobs (joblib) for one-by-one fitting.
    verbose : int
        A progress bar over the members (over the epochs when batched).
    batched : {'auto', True, False}
        Train the members as one batched model through the template's
        ``_fit_batched`` hook (see :mod:`sklopt.utils._batching`); possible
        when the members use all columns, have the same parameters and
        ``fit_params`` holds at most ``sample_weight``. ``n_jobs`` is then not
        used.
    owner, items, verb : str
        How messages name the caller, the members and their training.

    Yields
    ------
    result : fitted estimator or ``respond``'s result, in member order
    """
    fit_params = dict(fit_params or {})
    y_codes = None
    if by_counts and is_classifier(template) and np.ndim(y) == 1:
        y_codes = np.unique(np.asarray(y), return_inverse=True)[1]
    elif by_counts and not is_regressor(template):
        y_codes = "all"  # whether a class can be lost is not known
    setup = _Setup(
        template,
        X,
        y,
        fit_params,
        by_counts,
        y_codes,
        respond,
        random_state_keys(template),
    )
    counts = {}
    results = _fit_results(
        setup, members, n_members, n_jobs, verbose, batched, owner, items, verb
    )
    try:
        for result, found in results:
            for key, count in found.items():
                counts[key] = None if count is None else counts.get(key, 0) + count
            yield result
    finally:
        _warn_once(counts, n_members, items)


def _fit_results(
    setup, members, n_members, n_jobs, verbose, batched, owner, items, verb
):
    """``(result, warnings)`` pairs of the members, in order."""
    if batched is not False and offers_batching(setup.template):
        # The batching decision needs every member (their columns and
        # parameters); lazy members hold no rows in this list.
        members = list(members)
        obstacle = _batching_obstacle(
            members, setup.fit_params, lambda: setup.X.shape[1]
        )
        batched = resolve_batched(
            batched,
            setup.template,
            obstacle,
            items=items,
            verb=verb,
            owner=owner,
            verbose=verbose,
        )
    else:
        # False; with batched=True this raises NotBatchableError (the
        # estimator offers no batched training)
        batched = resolve_batched(
            batched, setup.template, items=items, verb=verb, owner=owner
        )
    if batched:
        return _fit_batched(setup, members, verbose)
    return progress(
        _fit_one_by_one(setup, members, n_members, n_jobs),
        verbose,
        f"Fitting {n_members} {items}",
        total=n_members,
    )


def _fit_one_by_one(setup, members, n_members, n_jobs):
    sizes = task_sizes(n_members, effective_n_jobs(n_jobs))
    members = iter(members)
    batches = (list(itertools.islice(members, size)) for size in sizes)
    tasks = (delayed(_parallel_fit)(setup, batch) for batch in batches)
    # The tasks are batched already; larger joblib batches would only hold
    # more results in flight.
    parallel = Parallel(n_jobs=n_jobs, batch_size=1, return_as="generator")
    with warning_state_kept():
        for task in parallel(tasks):
            yield from task


# --- warnings of the members ----------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stacklevel():
    """The ``stacklevel`` that points a warning raised in this module at the
    first frame outside sklopt, scikit-learn, joblib and contextlib (the
    user's call)."""
    internal = (_PACKAGE_DIR, os.path.dirname(np.__file__))
    import sklearn

    internal += (os.path.dirname(sklearn.__file__),)
    frame, level = sys._getframe(2), 2
    while frame is not None:
        name = frame.f_code.co_filename
        if not (
            name.startswith(internal)
            or "contextlib" in name
            or "joblib" in name
            or name.startswith("<frozen")
        ):
            return level
        frame, level = frame.f_back, level + 1
    return 1


def _warn_once(counts, n_members, items):
    """Warn once per distinct ``(category, message)`` of ``counts`` (the
    number of members whose fit raised it), at the user's call."""
    if not counts:
        return
    stacklevel = _user_stacklevel()
    for (category, message), count in counts.items():
        if count is None:
            what = f"The {n_members} {items}, fitted as one batched model,"
        else:
            what = f"{count} of {n_members} {items}"
        warnings.warn(
            f"{what} warned (the results include these fits): {message}",
            category,
            stacklevel=stacklevel,
        )
