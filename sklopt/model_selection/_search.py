"""Hyperparameter searches that train a network's fits as stacked models.

:class:`GridSearchCV` and :class:`RandomizedSearchCV` are scikit-learn's,
with one change in how the fits are run. scikit-learn fits every candidate
on every fold on its own; here, the candidates of a sklopt neural estimator
(alone or as the last step of a Pipeline) that differ only in per-member
hyperparameters are trained together, all their folds in one stacked model
(:mod:`sklopt.model_selection._search_groups` decides which), and every
other fit goes through scikit-learn's own ``_fit_and_score``. The results
are the same dicts, assembled by scikit-learn's ``_format_results``, so
``cv_results_``, the ranks and the ``best_*`` attributes are scikit-learn's.
"""

import time
from collections import defaultdict

import numpy as np
from joblib import cpu_count, effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV as _SKGridSearchCV
from sklearn.model_selection import RandomizedSearchCV as _SKRandomizedSearchCV
from sklearn.model_selection._split import check_cv
from sklearn.model_selection._validation import (
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import get_tags
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, _num_samples, indexable

from sklopt.model_selection._search_fits import (
    _parallel_fit,
    _parallel_stack,
    end_message,
    replay_warnings,
)
from sklopt.model_selection._search_groups import (
    Group,
    offers_batching,
    plan_groups,
)
from sklopt.utils._validation import StrOptions, _fit_context, check_sample_weight
from sklopt.utils._warnings import warning_state_kept


class _StackedSearchMixin:
    """``fit`` of the stacked searches (see the module docstring)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scikit-learn's search leaves multi_output False: a 2-D target that
        # the estimator takes (a network regressor's) is not converted.
        tags.target_tags.multi_output = get_tags(
            self.estimator
        ).target_tags.multi_output
        return tags

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Targets.
        **params : dict of str -> object
            Parameters passed to the ``fit`` method of the estimator, the
            scorer and the CV splitter, as in scikit-learn's search. Stacked
            fits take ``sample_weight`` only (``<last step>__sample_weight``
            for a Pipeline); other fit parameters send the fits through
            scikit-learn's path.

        Returns
        -------
        self : object
            The fitted search.
        """
        _check_fit_input(X, params, type(self).__name__)
        if self.batched is False:
            super().fit(X, y, **params)
            n_candidates = len(self.cv_results_["params"])
            self.batched_groups_ = [
                {
                    "candidates": list(range(n_candidates)),
                    "n_fits": n_candidates * self.n_splits_,
                    "batched": False,
                    "reason": "batched=False",
                }
            ]
            return self
        return self._fit_stacked(X, y, **params)

    @_fit_context(prefer_skip_nested_validation=False)
    def _fit_stacked(self, X, y=None, **params):
        """scikit-learn's ``BaseSearchCV.fit`` with the fits run by
        :meth:`_evaluate`."""
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        sample_weight = params.get("sample_weight")
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        root_ctx = self._init_callback_context(
            max_subtasks=1 + (self.refit is not False)
        ).call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
        self._checked_cv_orig = check_cv(
            self.cv, y, classifier=is_classifier(self.estimator)
        )
        self._check_input_parameters(X=X, y=y, split_params=routed.splitter.split)
        self.n_splits_ = self._checked_cv_orig.get_n_splits(
            X, y, **routed.splitter.split
        )
        base = clone(self.estimator)
        self.batched_groups_ = []
        state = _SearchState()
        kwargs = dict(
            scorer=scorers,
            fit_params=routed.estimator.fit,
            score_params=routed.scorer.score,
            return_train_score=self.return_train_score,
            return_n_test_samples=True,
            return_times=True,
            return_parameters=False,
            error_score=self.error_score,
            verbose=self.verbose,
        )

        def evaluate_candidates(
            candidate_params, cv=None, more_results=None, callback_ctx=None
        ):
            cv = cv or self._checked_cv_orig
            candidate_params = list(candidate_params)
            splits = list(cv.split(X, y, **routed.splitter.split))
            if len(splits) != self.n_splits_:
                raise ValueError(
                    "cv.split and cv.get_n_splits return inconsistent results. "
                    f"Expected {self.n_splits_} splits, got {len(splits)}"
                )
            out = self._evaluate(base, X, y, candidate_params, splits, kwargs, state)
            _warn_or_raise_about_fit_failures(out, self.error_score)
            if callable(self.scoring):
                _insert_error_scores(out, self.error_score)
            state.params.extend(candidate_params)
            state.out.extend(out)
            for key, value in (more_results or {}).items():
                state.more[key].extend(value)
            state.results = self._format_results(
                state.params, self.n_splits_, state.out, state.more
            )
            return state.results

        self._run_search(evaluate_candidates, callback_ctx=root_ctx)
        first = state.out[0]["test_scores"]
        self.multimetric_ = isinstance(first, dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(first)
            refit_metric = self.refit
        self._set_best(refit_metric, state.results, base, X, y, routed, root_ctx)
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = state.results
        root_ctx.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)
        return self

    def _set_best(self, refit_metric, results, base, X, y, routed, root_ctx):
        """``best_*`` and the refit, as scikit-learn's ``fit`` sets them."""
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(
                self.refit, refit_metric, results
            )
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][
                    self.best_index_
                ]
            self.best_params_ = results["params"][self.best_index_]
        if not self.refit:
            return
        self.best_estimator_ = clone(base).set_params(
            **clone(self.best_params_, safe=False)
        )
        ctx = root_ctx.subcontext(task_name="refit-with-best-params")
        with ctx.propagate_callback_context(self.best_estimator_):
            ctx.call_on_fit_task_begin(estimator=self, X=X, y=y)
            start = time.time()
            if y is not None:
                self.best_estimator_.fit(X, y, **routed.estimator.fit)
            else:
                self.best_estimator_.fit(X, **routed.estimator.fit)
            self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
        ctx.call_on_fit_task_end(estimator=self, X=X, y=y)

    def _evaluate(self, base, X, y, candidate_params, splits, kwargs, state):
        """Fit and score every candidate on every split; return the result
        dicts in scikit-learn's order (candidate-major)."""
        n_candidates, n_splits = len(candidate_params), len(splits)
        owner = type(self).__name__
        if n_candidates == 0:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? "
                "Were there no candidates?"
            )
        groups = plan_groups(
            base,
            candidate_params,
            batched=self.batched,
            fit_params=kwargs["fit_params"],
            owner=owner,
        )
        if self.verbose > 0:
            print(
                f"Fitting {n_splits} folds for each of {n_candidates} candidates,"
                f" totalling {n_candidates * n_splits} fits"
            )
        stacks = _stack_tasks(groups, n_splits, self.n_jobs)
        self._report_plan(groups, n_splits, stacks)
        tasks = stacks + [
            (g, c, s)
            for g in groups
            if not g.batched
            for c in g.candidates
            for s in range(n_splits)
        ]
        threads = _threads_per_task(self.n_jobs, len(tasks))
        fit_kwargs = dict(kwargs, caller=self)
        with warning_state_kept():
            results = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)(
                _delayed_task(
                    task,
                    base,
                    X,
                    y,
                    splits,
                    fit_kwargs,
                    threads,
                    self.batched,
                    n_candidates,
                )
                for task in tasks
            )
        out = [[None] * n_splits for _ in range(n_candidates)]
        packed, fallbacks = [], []
        for task, result in zip(tasks, results):
            if isinstance(task, tuple):
                _, candidate, s = task
                out[candidate.index][s], records = result
            else:
                rows, fallback, records = result
                group = task.parent or task
                if fallback and group.batched:
                    group.batched, group.reason = False, fallback
                    fallbacks.append(group)
                for candidate, row in zip(task.candidates, rows):
                    out[candidate.index] = row
            packed.extend(records)
        offset = len(state.params)
        self.batched_groups_.extend(g.summary(offset, n_splits) for g in groups)
        self._report_stacks(groups, fallbacks, candidate_params, out, n_splits)
        replay_warnings(packed, n_fits=n_candidates * n_splits, owner=owner)
        return [result for row in out for result in row]

    def _report_plan(self, groups, n_splits, stacks):
        """``verbose``: how each group is trained."""
        if not self.verbose:
            return
        owner = type(self).__name__
        for number, group in enumerate(groups):
            n_parts = sum(task.parent is group for task in stacks)
            if n_parts:
                how = f"trained as {n_parts} stacked models, one per worker"
            elif group.batched:
                how = "trained as one stacked model"
            else:
                how = f"fitted one by one: {group.reason}"
            print(
                f"[{owner}] group {number + 1} of {len(groups)} "
                f"({len(group.candidates)} candidates, "
                f"{len(group.candidates) * n_splits} fits) {how}"
            )

    def _report_stacks(self, groups, fallbacks, candidate_params, out, n_splits):
        """``verbose``: groups that fell back to scikit-learn's path, and
        scikit-learn's END line of each stacked fit (``verbose > 1``)."""
        if not self.verbose:
            return
        owner = type(self).__name__
        for number, group in enumerate(groups):
            if group in fallbacks:
                print(
                    f"[{owner}] group {number + 1} of {len(groups)} was fitted one "
                    f"by one: {group.reason}"
                )
            if not group.batched or self.verbose < 2:
                continue
            for candidate in group.candidates:
                for s in range(n_splits):
                    print(
                        end_message(
                            candidate_params[candidate.index],
                            (s, n_splits),
                            (candidate.index, len(candidate_params)),
                            out[candidate.index][s],
                            self.verbose,
                        )
                    )


def _check_fit_input(X, params, owner):
    """Errors that every fit of the search would raise, raised once and
    clearly: no samples, or sample weights that are not one finite
    non-negative weight per sample with a positive sum."""
    n_samples = _num_samples(X)
    if n_samples == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={getattr(X, 'shape', (0,))}) "
            f"while a minimum of 1 is required by {owner}."
        )
    if params.get("sample_weight") is not None:
        check_sample_weight(params["sample_weight"], n_samples)


class _SearchState:
    """Results of the ``evaluate_candidates`` calls so far."""

    def __init__(self):
        self.params, self.out, self.results = [], [], {}
        self.more = defaultdict(list)


#: The fewest fits a stack of a split group trains: a smaller stack gains
#: less from stacking than a second worker gives.
MIN_PART_FITS = 8


def _stack_tasks(groups, n_splits, n_jobs):
    """The stacked groups as joblib tasks: each group whole, or, when there
    are fewer groups than workers, split into parts of its candidates (each
    part one stack on one worker, candidates dealt round robin so that the
    parts cost alike), at least :data:`MIN_PART_FITS` fits a part."""
    stacked = [g for g in groups if g.batched]
    n_workers = effective_n_jobs(n_jobs)
    if not stacked or n_workers <= len(stacked):
        return stacked
    tasks = []
    for group in stacked:
        n_fits = len(group.candidates) * n_splits
        n_parts = min(
            -(-n_workers // len(stacked)),
            len(group.candidates),
            max(1, n_fits // MIN_PART_FITS),
        )
        if n_parts == 1:
            tasks.append(group)
            continue
        tasks.extend(
            Group(group.candidates[i::n_parts], batched=True, parent=group)
            for i in range(n_parts)
        )
    return tasks


def _threads_per_task(n_jobs, n_tasks):
    """Torch threads per joblib worker so that workers x threads stay within
    the cores (0 with one worker: the process's own setting stays)."""
    n_workers = min(effective_n_jobs(n_jobs), max(1, n_tasks))
    if n_workers <= 1:
        return 0
    return max(1, cpu_count() // n_workers)


def _delayed_task(task, base, X, y, splits, kwargs, threads, batched, n_candidates):
    """The joblib call of one task: a stacked group or one fit."""
    if isinstance(task, tuple):
        group, candidate, s = task
        train, test = splits[s]
        neural = offers_batching(candidate.final)
        fit_kwargs = dict(
            kwargs,
            split_progress=(s, len(splits)),
            candidate_progress=(candidate.index, n_candidates),
        )
        return delayed(_parallel_fit)(
            base,
            X,
            y,
            train,
            test,
            candidate.params,
            fit_kwargs,
            threads if neural else None,
        )
    return delayed(_parallel_stack)(task, X, y, splits, kwargs, threads, batched)


_BATCHED_DOC = """\
batched : {'auto', True, False}, default='auto'
    How the fits of a sklopt neural estimator are trained. ``'auto'``:
    candidates that differ only in per-member hyperparameters (learning
    rate, momentum and the other optimizer settings, weight decay, L1,
    dropout, noise, label smoothing, mixup, CutMix, gradient clipping,
    schedule, early stopping, ``random_state``) are trained with all their
    folds as one stacked model, and every other fit goes through
    scikit-learn's path; ``batched_groups_`` says which and why. ``True``
    raises :class:`~sklopt.exceptions.NotBatchableError` when some fit
    cannot be stacked. ``False`` is scikit-learn's search exactly."""

_SHARED_ATTRIBUTES = """\
cv_results_ : dict of numpy (masked) ndarrays
    scikit-learn's ``cv_results_``: the same keys, scores and ranks. The
    ``fit_time`` of a stacked fit is its share of its stack's training
    time (the stack's time divided by its number of members, plus its share
    of its fold's Pipeline steps); ``score_time`` is its own.
best_estimator_ : estimator
    The estimator refitted on the whole data with the best parameters
    (not available with ``refit=False``).
best_score_ : float
    Mean cross-validated score of the best candidate (not with a callable
    ``refit``).
best_params_ : dict
    Parameter setting of the best candidate.
best_index_ : int
    Index of the best candidate in ``cv_results_``.
scorer_ : function or dict
    The scorer(s) used on the held-out data.
n_splits_ : int
    Number of cross-validation splits.
refit_time_ : float
    Seconds used to refit the best estimator.
multimetric_ : bool
    Whether several metrics are computed.
batched_groups_ : list of dict
    One dict per group of candidates: ``'candidates'`` (their indices in
    ``cv_results_``), ``'n_fits'`` (candidates x folds), ``'batched'``
    (trained as one stacked model) and ``'reason'`` (why not; empty when
    stacked).
classes_ : ndarray of shape (n_classes,)
    Class labels (refitted classifiers only).
n_features_in_ : int
    Number of features seen during fit (with ``refit``).
feature_names_in_ : ndarray of shape (n_features,)
    Names of features seen during fit (when they are strings)."""

_SHARED_PARAMETERS = """\
scoring : str, callable, list, tuple, dict or None, default=None
    Strategy to evaluate the candidates on the test folds, as in
    scikit-learn (one or several metrics). Every stacked member is scored
    through scikit-learn's scorers, so a score equals what scikit-learn
    computes for that fitted candidate.
n_jobs : int, default=None
    Number of joblib jobs: the stacked groups and the remaining single fits
    are the tasks (a dask backend spreads them over a cluster). Each
    worker's PyTorch threads are capped so that workers x threads does not
    exceed the cores.
refit : bool, str or callable, default=True
    Refit the best candidate on the whole data (a scorer name for several
    metrics, or a callable returning ``best_index_`` from ``cv_results_``).
cv : int, cross-validation generator or iterable, default=None
    Splitting strategy, as in scikit-learn (5-fold, stratified for
    classifiers, by default).
verbose : int, default=0
    Verbosity: ``> 0`` says how each group is trained (and why not
    stacked), ``> 1`` prints scikit-learn's line per fit.
pre_dispatch : int or str, default='2*n_jobs'
    Number of joblib tasks dispatched ahead."""

_ERROR_PARAMETERS = """\
error_score : 'raise' or numeric, default=np.nan
    Score of a fit that fails (a member whose training diverges, say), with
    scikit-learn's ``FitFailedWarning``; ``'raise'`` raises the error.
return_train_score : bool, default=False
    Also score the training folds."""


def _fill(doc):
    return (
        doc.replace("%(shared_parameters)s", _indent(_SHARED_PARAMETERS))
        .replace("%(error_parameters)s", _indent(_ERROR_PARAMETERS))
        .replace("%(batched)s", _indent(_BATCHED_DOC))
        .replace("%(attributes)s", _indent(_SHARED_ATTRIBUTES))
    )


def _indent(text):
    return text.replace("\n", "\n    ")


_PARAMETER_CONSTRAINTS = {"batched": [StrOptions({"auto"}), "boolean"]}


class GridSearchCV(_StackedSearchMixin, _SKGridSearchCV):
    """Exhaustive search over a grid, training a network's fits stacked.

    A drop-in subclass of :class:`sklearn.model_selection.GridSearchCV`:
    the same candidates, folds, ``cv_results_``, ranks and ``best_*``. The
    fits of a sklopt neural estimator (alone, or as the last step of a
    :class:`~sklearn.pipeline.Pipeline`) whose candidates differ only in
    per-member hyperparameters are trained as one stacked model, all
    candidates x folds at once; see :ref:`stacked_search`.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or Pipeline) whose parameters are searched.
    param_grid : dict or list of dict
        Parameter names mapped to lists of values to try.
    %(shared_parameters)s
    %(error_parameters)s
    %(batched)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    RandomizedSearchCV : The same over sampled candidates.
    sklearn.model_selection.GridSearchCV : The search of scikit-learn.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.model_selection import GridSearchCV
    >>> from sklopt.neural import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = MLPClassifier((8,), optimizer="sgd", momentum=0.9, max_epochs=5,
    ...                     device="cpu", random_state=0)
    >>> search = GridSearchCV(net, {"lr": [0.01, 0.1], "weight_decay": [0, 1e-3]},
    ...                       cv=3).fit(X, y)
    >>> sorted(search.best_params_)
    ['lr', 'weight_decay']
    >>> search.batched_groups_  # 4 candidates x 3 folds, one stacked model
    [{'candidates': [0, 1, 2, 3], 'n_fits': 12, 'batched': True, 'reason': ''}]
    """

    _parameter_constraints = {
        **_SKGridSearchCV._parameter_constraints,
        **_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        batched="auto",
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.batched = batched


class RandomizedSearchCV(_StackedSearchMixin, _SKRandomizedSearchCV):
    """Randomized search over parameters, training a network's fits stacked.

    A drop-in subclass of :class:`sklearn.model_selection.RandomizedSearchCV`:
    the same candidates (the same :class:`~sklearn.model_selection.ParameterSampler`
    draws for a ``random_state``), folds, ``cv_results_``, ranks and
    ``best_*``. Candidates of a sklopt neural estimator that differ only in
    per-member hyperparameters (a sampled learning rate and weight decay,
    say) are trained as one stacked model with all their folds; see
    :ref:`stacked_search`.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or Pipeline) whose parameters are searched.
    param_distributions : dict or list of dict
        Parameter names mapped to distributions (with an ``rvs`` method) or
        lists of values to sample.
    n_iter : int, default=10
        Number of candidates sampled.
    %(shared_parameters)s
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of the candidates, as in scikit-learn.
    %(error_parameters)s
    %(batched)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    GridSearchCV : The same over a grid.
    sklearn.model_selection.RandomizedSearchCV : The search of scikit-learn.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import load_iris
    >>> from sklopt.model_selection import RandomizedSearchCV
    >>> from sklopt.neural import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = MLPClassifier((8,), optimizer="sgd", momentum=0.9, max_epochs=5,
    ...                     device="cpu", random_state=0)
    >>> search = RandomizedSearchCV(net, {"lr": loguniform(1e-3, 1e-1)}, n_iter=4,
    ...                             cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"])
    4
    """

    _parameter_constraints = {
        **_SKRandomizedSearchCV._parameter_constraints,
        **_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        batched="auto",
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.batched = batched


for _cls in (GridSearchCV, RandomizedSearchCV):
    _cls.__doc__ = _fill(_cls.__doc__)
