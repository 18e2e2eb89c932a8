"""Which fits of a hyperparameter search are trained as one stacked model.

The candidates of :class:`~sklopt.model_selection.GridSearchCV` and
:class:`~sklopt.model_selection.RandomizedSearchCV` are split into groups.
The candidates of a group build the same network and differ only in
per-member hyperparameters (those the estimator lists in its duck-typed
``_stacking_params()`` hook: learning rate, weight decay, dropout, seed...),
so that all their fits (each candidate on each fold's training rows) can be
trained as one stacked model. When the estimator is the last step of a
:class:`~sklearn.pipeline.Pipeline`, the earlier steps must have equal
parameters within a group: they are fitted once per fold and their output
feeds every member of that fold.

A group is trained stacked unless :func:`~sklopt.utils._batching.batched_reason`
gives a reason against it (the estimator offers no batched training, its
settings or device do not allow it, fit parameters other than
``sample_weight`` are passed); the reason is kept for ``batched_groups_``.
"""

import dataclasses

from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import _routing_enabled

from sklopt.utils._batching import (
    batched_reason,
    offers_batching,
    resolve_batched,
    same_value,
    stack_structure,
)


@dataclasses.dataclass(eq=False)
class Candidate:
    """One candidate: its estimator (parameters set) and, for a Pipeline, the
    name of its last step."""

    index: int
    params: dict
    estimator: object
    final: object
    last_step: str | None

    @property
    def prefix(self):
        """The Pipeline's steps before the last one (None for an estimator)."""
        return None if self.last_step is None else self.estimator[:-1]

    def structure(self):
        """What must be equal between candidates of one stack: the type of
        the final estimator and its parameters other than the per-member
        ones, and the Pipeline around it (its own parameters and the steps
        before the last)."""
        key = {"final": stack_structure(self.final)}
        if self.last_step is not None:
            pipeline = self.estimator.get_params(deep=False)
            pipeline.pop("steps")
            key["pipeline"] = pipeline
            key["steps"] = self.estimator.steps[:-1]
            key["last_step"] = self.last_step
        return key


@dataclasses.dataclass(eq=False)
class Group:
    """Candidates whose fits are trained together (or one by one)."""

    candidates: list
    batched: bool = False
    reason: str = ""
    invalid: bool = False
    #: the group a part of it was cut from, to train on another worker
    #: (None: a whole group)
    parent: object = None

    @property
    def template(self):
        return self.candidates[0]

    def summary(self, offset, n_splits):
        """The ``batched_groups_`` entry (candidate indices offset by the
        candidates of earlier ``evaluate_candidates`` calls)."""
        return {
            "candidates": [offset + c.index for c in self.candidates],
            "n_fits": len(self.candidates) * n_splits,
            "batched": self.batched,
            "reason": self.reason,
        }


def describe(base, index, params):
    """The candidate ``params`` applied to a clone of ``base``.

    ``set_params`` raises scikit-learn's ValueError for a parameter the
    estimator does not have, as scikit-learn's search does.
    """
    estimator = clone(base).set_params(**clone(params, safe=False))
    last_step, final = None, estimator
    if isinstance(estimator, Pipeline):
        last_step, final = estimator.steps[-1]
    return Candidate(index, params, estimator, final, last_step)


def _fit_params_reason(candidate, fit_params):
    """Why fit parameters keep a group from being stacked (None if they do
    not): the stacked engine takes per-row sample weights only."""
    if not fit_params:
        return None
    if _routing_enabled():
        return "metadata routing is enabled and fit parameters are passed"
    allowed = "sample_weight"
    if candidate.last_step is not None:
        allowed = f"{candidate.last_step}__sample_weight"
    other = sorted(set(fit_params) - {allowed})
    if other:
        return f"fit parameters {other} are passed (stacked fits take {allowed!r} only)"
    return None


def plan_groups(base, candidate_params, *, batched, fit_params, owner, verbose=0):
    """Split the candidates into :class:`Group` objects, in the order of
    their first candidate, and decide how each is trained.

    ``batched=True`` raises :class:`~sklopt.exceptions.NotBatchableError`
    when a group cannot be stacked.
    """
    candidates = [describe(base, i, p) for i, p in enumerate(candidate_params)]
    groups, keys = [], []
    for candidate in candidates:
        # Fits of an estimator without batched training are all one by one:
        # one group for them, whatever their parameters.
        key = (
            candidate.structure()
            if offers_batching(candidate.final)
            else ("one by one", type(candidate.final))
        )
        invalid = _invalid_reason(candidate)
        if invalid is not None:
            # Its fits fail one by one, as in scikit-learn (error_score);
            # the valid candidates still share their stacks.
            groups.append(Group([candidate], reason=invalid, invalid=True))
            keys.append(("invalid", candidate.index))
            continue
        for group, other in zip(groups, keys):
            if same_value(key, other):
                group.candidates.append(candidate)
                break
        else:
            groups.append(Group([candidate]))
            keys.append(key)
    for group in groups:
        _decide(group, batched, fit_params, owner, verbose)
    return groups


def _invalid_reason(candidate):
    """Why the candidate's network rejects its parameters (None if it takes
    them): the check its own fit starts with."""
    if not offers_batching(candidate.final):
        return None
    try:
        candidate.final._validate_params()
    except (TypeError, ValueError) as exc:
        return f"its parameters are invalid ({exc})"
    return None


def _decide(group, batched, fit_params, owner, verbose):
    """Set ``group.batched`` and ``group.reason`` (the resolver's messages of
    :mod:`sklopt.utils._batching`)."""
    if group.invalid:
        return
    template = group.template
    extra = _fit_params_reason(template, fit_params)
    if batched is False:
        group.reason = "batched=False"
        return
    indices = [c.index for c in group.candidates]
    shown = indices if len(indices) <= 6 else indices[:5] + ["..."]
    items = f"fits of candidates {shown}".replace("'...'", "...")
    group.batched = resolve_batched(
        batched,
        template.final,
        extra,
        items=items,
        verb="fit",
        owner=owner,
        verbose=verbose,
    )
    if not group.batched:
        group.reason = batched_reason(template.final, extra, auto=batched == "auto")
