"""The fits of a hyperparameter search: stacked groups and single fits.

Each joblib task of :class:`~sklopt.model_selection.GridSearchCV` is either a
stacked group (:func:`_parallel_stack`: every candidate of the group on every
fold, trained as one stacked model, then each member scored through
scikit-learn's scorers) or one fit of scikit-learn's path
(:func:`_parallel_fit`, scikit-learn's ``_fit_and_score``). Both return the
result dicts of ``_fit_and_score`` (``test_scores``, ``train_scores``,
``n_test_samples``, ``fit_time``, ``score_time``, ``fit_error``), which the
search assembles with scikit-learn's ``_format_results``.

Times of stacked members: a member's ``fit_time`` is its share of its stack,
the stack's training time divided by its number of members, plus its share
of its fold's Pipeline steps (their fitting time divided by the members of
that fold); its ``score_time`` is its own scoring time on the test fold.

Warnings raised in a task are recorded and handed to the parent, which shows
each distinct warning once for the whole search (:func:`replay_warnings`).
"""

import contextlib
import inspect
import os
import threading
import time
import traceback
import warnings

import numpy as np
from joblib import logger
from sklearn.base import clone
from sklearn.model_selection._validation import _fit_and_score, _score
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params, _num_samples

from sklopt.exceptions import DivergenceError, NotBatchableError
from sklopt.utils._batching import concat_rows

# --- torch threads and warnings of a task ----------------------------------


# Thread-based joblib backends run several tasks in one process, where torch's
# thread count, the warning filters and ``showwarning`` are process-wide: the
# first task to start sets them and the last one to finish restores them.
_LOCK = threading.Lock()
_TORCH = {"depth": 0, "saved": None}
_WARNINGS = {"depth": 0, "saved": None}
_LOCAL = threading.local()


# Network fits seed their initial weights through torch's process-wide
# generator (inside torch.random.fork_rng), so two of them must not run at
# once in one process: thread-based backends train the networks of a search
# one at a time (process-based ones, loky and dask workers, in parallel).
_TRAINING = threading.RLock()


@contextlib.contextmanager
def torch_threads(n_threads):
    """Train networks with ``n_threads`` torch threads (0: the process's
    own count), restoring the count afterwards, one task at a time per
    process (``None``: not a network, nothing to do). Workers x threads stay
    within the cores."""
    if n_threads is None:
        yield
        return
    with _TRAINING, _capped_threads(n_threads):
        yield


@contextlib.contextmanager
def _capped_threads(n_threads):
    """``n_threads`` torch threads (0: the process's own count)."""
    if not n_threads:
        yield
        return
    import torch  # a neural search only: the estimators have loaded it

    with _LOCK:
        if _TORCH["depth"] == 0:
            _TORCH["saved"] = torch.get_num_threads()
            torch.set_num_threads(n_threads)
        _TORCH["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _TORCH["depth"] -= 1
            if _TORCH["depth"] == 0:
                torch.set_num_threads(_TORCH["saved"])


def _show(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` while tasks record: a task's thread appends
    to its own list, other threads show as before."""
    records = getattr(_LOCAL, "records", None)
    if records is None:
        _WARNINGS["saved"][0](message, category, filename, lineno, file, line)
    else:
        records.append((category, str(message)))


@contextlib.contextmanager
def recorded_warnings():
    """Record every warning of the block, as (category, message) pairs (for
    :func:`replay_warnings`)."""
    with _LOCK:
        if _WARNINGS["depth"] == 0:
            shown = warnings.showwarning
            if shown is _show:
                # left installed by a thread's ``warnings.catch_warnings``
                # that restored it after the last task had ended (the
                # warnings module is not thread-safe): keep the original
                shown = _WARNINGS["saved"][0]
            _WARNINGS["saved"] = (shown, warnings.filters[:])
            warnings.showwarning = _show
            warnings.simplefilter("always")
        _WARNINGS["depth"] += 1
    outer = getattr(_LOCAL, "records", None)
    _LOCAL.records = records = []
    try:
        yield records
    finally:
        _LOCAL.records = outer
        with _LOCK:
            _WARNINGS["depth"] -= 1
            if _WARNINGS["depth"] == 0:
                warnings.showwarning, warnings.filters[:] = _WARNINGS["saved"]
                warnings._filters_mutated()


def replay_warnings(packed, *, n_fits, owner):
    """Show each distinct warning of the search's tasks once, pointed at the
    user's call, with how many times the fits raised it."""
    counts = {}
    for key in packed:
        counts[key] = counts.get(key, 0) + 1
    level = _user_stacklevel()
    for (category, message), count in counts.items():
        if count > 1:
            message = (
                f"{message}\n[{owner}] This warning was raised {count} times "
                f"by the {n_fits} fits of the search; it is shown once."
            )
        warnings.warn(message, category, stacklevel=level)


def _user_stacklevel():
    """``stacklevel`` of the first frame outside sklopt, scikit-learn, joblib
    and the standard library's wrappers: the user's call."""
    import sklearn

    import sklopt

    inner = tuple(
        os.path.dirname(m.__file__) for m in (sklopt, sklearn, contextlib, logger)
    )
    frame, level = inspect.currentframe(), 1
    while frame is not None and frame.f_code.co_filename.startswith(inner):
        frame, level = frame.f_back, level + 1
    # The warnings module counts from the caller of warnings.warn.
    return max(1, level - 1)


# --- one fit of scikit-learn's path ------------------------------------------


def _parallel_fit(base, X, y, train, test, params, kwargs, n_threads):
    """joblib worker: scikit-learn's ``_fit_and_score`` of one candidate on
    one fold. Returns ``(result, warnings)``."""
    with torch_threads(n_threads), recorded_warnings() as records:
        result = _fit_and_score(
            clone(base), X, y, train=train, test=test, parameters=params, **kwargs
        )
    return result, records


# --- a stacked group -----------------------------------------------------------


def _parallel_stack(group, X, y, splits, kwargs, n_threads, batched):
    """joblib worker: train every candidate of ``group`` on every fold of
    ``splits`` as one stacked model and score each member.

    Returns ``(results, fallback, warnings)``: ``results[c][s]`` the result
    dict of candidate ``c`` of the group on fold ``s``, and ``fallback`` the
    reason why the group's fits went through scikit-learn's path instead
    (empty when they were stacked): the stacked engine refused them
    (:class:`~sklopt.exceptions.NotBatchableError`; raised with
    ``batched=True``) or their training failed in a way that is not one
    member's divergence (bad data, say), so that each fit gets its own
    ``error_score`` as in scikit-learn.
    """
    with torch_threads(n_threads), recorded_warnings() as records:
        fallback = ""
        try:
            results = _fit_score_stack(group, X, y, splits, kwargs)
        except NotBatchableError as exc:
            if batched is True:
                raise
            fallback = f"the stacked engine refused them: {exc}"
        except DivergenceError:
            if kwargs["error_score"] == "raise":
                raise
            fallback = "a member diverged (the engine cannot train on without it)"
        except Exception as exc:  # noqa: BLE001 - scikit-learn's path reports it
            fallback = f"stacked training failed ({type(exc).__name__}: {exc})"
        if fallback:
            results = [
                [
                    _fit_and_score(
                        clone(candidate.estimator),
                        X,
                        y,
                        train=train,
                        test=test,
                        parameters=None,
                        **kwargs,
                    )
                    for train, test in splits
                ]
                for candidate in group.candidates
            ]
    return results, fallback, records


def _engine_takes_errors(final):
    """Whether the estimator's ``_fit_batched`` can collect one member's
    failure (``errors='collect'``) instead of raising it."""
    return "errors" in inspect.signature(final._fit_batched).parameters


def _fit_score_stack(group, X, y, splits, kwargs):
    """Train the group's members as one stacked model, then score them."""
    data = _StackData(group, X, y, splits, kwargs["fit_params"])
    template = group.template.final
    members = [clone(candidate.final) for candidate in group.candidates for _ in splits]
    options = {"verbose": max(0, kwargs["verbose"] - 1)}
    if _engine_takes_errors(template):
        options["errors"] = "raise" if kwargs["error_score"] == "raise" else "collect"
    start = time.time()
    fitted = template._fit_batched(
        data.X, data.y, members, data.member_rows, data.member_weights, **options
    )
    stack_time = (time.time() - start) / len(members)
    results, k = [], 0
    for candidate in group.candidates:
        row = []
        for s, (train, test) in enumerate(splits):
            fit_time = stack_time + data.prefix_time[s] / len(group.candidates)
            estimator = data.assemble(candidate, s, fitted[k])
            row.append(_score_member(estimator, X, y, train, test, fit_time, kwargs))
            k += 1
        results.append(row)
    return results


class _StackData:
    """The training data of a stack: one X holding every fold's training
    rows (through the Pipeline's earlier steps, fitted once per fold), and
    each member's rows and sample weights in it."""

    def __init__(self, group, X, y, splits, fit_params):
        template = group.template
        n_candidates = len(group.candidates)
        weights = [
            _check_method_params(X, params=fit_params, indices=train)
            for train, _ in splits
        ]
        key = "sample_weight"
        if template.last_step is not None:
            key = f"{template.last_step}__sample_weight"
        fold_weights = [w.get(key) for w in weights]
        self.prefix_time = [0.0] * len(splits)
        self.prefixes = [None] * len(splits)
        if template.last_step is None:
            self.X, self.y = X, y
            fold_rows = [np.asarray(train) for train, _ in splits]
        else:
            parts, targets = [], []
            for s, (train, _) in enumerate(splits):
                X_train, y_train = _safe_split(template.estimator, X, y, train)
                start = time.time()
                prefix = clone(template.prefix)
                parts.append(prefix.fit_transform(X_train, y_train))
                self.prefix_time[s] = time.time() - start
                self.prefixes[s] = prefix
                targets.append(np.asarray(y_train))
            self.X, fold_rows = concat_rows(parts)
            self.y = np.concatenate(targets)
        self.member_rows = fold_rows * n_candidates
        self.member_weights = None
        if any(w is not None for w in fold_weights):
            self.member_weights = fold_weights * n_candidates

    def assemble(self, candidate, fold, member):
        """The fitted estimator of ``member`` (candidate on ``fold``): the
        member itself, or a Pipeline of the fold's fitted earlier steps and
        the member, so that any scorer sees what scikit-learn's fit gives."""
        if isinstance(member, BaseException) or candidate.last_step is None:
            return member
        pipeline = clone(candidate.estimator)
        pipeline.steps = list(self.prefixes[fold].steps) + [
            (candidate.last_step, member)
        ]
        return pipeline


def _score_member(estimator, X, y, train, test, fit_time, kwargs):
    """The result dict of ``_fit_and_score`` for a fitted member (or for the
    failure it came back as)."""
    scorer, error_score = kwargs["scorer"], kwargs["error_score"]
    score_params = kwargs["score_params"] or {}
    X_test, y_test = _safe_split(estimator, X, y, test, train)
    result = {"fit_error": None, "n_test_samples": _num_samples(X_test)}
    if isinstance(estimator, BaseException):
        result["fit_error"] = "".join(traceback.format_exception(estimator))
        scores = _error_scores(scorer, error_score)
        result.update(test_scores=scores, fit_time=fit_time, score_time=0.0)
        if kwargs["return_train_score"]:
            result["train_scores"] = (
                dict(scores) if isinstance(scores, dict) else scores
            )
        return result
    start = time.time()
    result["test_scores"] = _score(
        estimator,
        X_test,
        y_test,
        scorer,
        _check_method_params(X, params=score_params, indices=test),
        error_score,
    )
    result.update(fit_time=fit_time, score_time=time.time() - start)
    if kwargs["return_train_score"]:
        X_train, y_train = _safe_split(estimator, X, y, train)
        result["train_scores"] = _score(
            estimator,
            X_train,
            y_train,
            scorer,
            _check_method_params(X, params=score_params, indices=train),
            error_score,
        )
    return result


def _error_scores(scorer, error_score):
    """``error_score`` in the shape of the scorer's output, as scikit-learn's
    ``_fit_and_score`` gives it to a failed fit."""
    names = getattr(scorer, "_scorers", None)
    if names is not None:
        return {name: error_score for name in names}
    return error_score


def end_message(params, split_progress, candidate_progress, result, verbose):
    """scikit-learn's ``[CV] END`` line of a fit (``verbose > 1``)."""
    progress = ""
    if verbose > 2:
        progress = f" {split_progress[0] + 1}/{split_progress[1]}"
        if verbose > 9:
            progress += f"; {candidate_progress[0] + 1}/{candidate_progress[1]}"
    text = ", ".join(f"{k}={params[k]}" for k in sorted(params))
    text += ";" if text else ""
    test, train = result["test_scores"], result.get("train_scores")
    if verbose > 2:
        if isinstance(test, dict):
            for name in sorted(test):
                text += f" {name}: ("
                if train is not None:
                    text += f"train={train[name]:.3f}, "
                text += f"test={test[name]:.3f})"
        elif train is not None:
            text += f", score=(train={train:.3f}, test={test:.3f})"
        else:
            text += f", score={test:.3f}"
    total = result["fit_time"] + result["score_time"]
    text += f" total time={logger.short_format_time(total)}"
    head = f"[CV{progress}] END "
    return head + "." * (80 - len(head) - len(text)) + text
