"""Whether copies of an estimator are trained as one batched model.

Bagging members (:mod:`sklopt.ensemble`) and bootstrap rounds
(:mod:`sklopt.model_selection`) of a :mod:`sklopt.neural` network can be
trained together as one stacked model. The base estimator decides through
duck-typed hooks, so that neither subpackage imports torch:

* ``_fit_batched(...)`` trains the copies, and
  ``_batched_unsupported_reason()`` says why its settings do not allow it
  (None when they do);
* the optional ``_batched_auto_reason()`` says why batching would not pay on
  its device (asked for ``batched='auto'`` only).
"""

from sklopt.exceptions import NotBatchableError

# (past participle, present participle) of the verbs in the messages
_VERB_FORMS = {"train": ("trained", "Training"), "fit": ("fitted", "Fitting")}


def offers_batching(estimator):
    """Whether ``estimator`` has the hooks of batched training."""
    return hasattr(estimator, "_fit_batched") and hasattr(
        estimator, "_batched_unsupported_reason"
    )


def batched_reason(estimator, extra=None, *, auto=False):
    """Why copies of ``estimator`` are not trained as one batched model, or
    None when they are.

    Parameters
    ----------
    estimator : estimator instance
    extra : str or None
        The caller's own reason (the members use different columns, say),
        weighed after the estimator's settings.
    auto : bool
        Also ask whether batching pays on the estimator's device
        (``batched='auto'``).
    """
    if not offers_batching(estimator):
        return f"{type(estimator).__name__} offers no batched training"
    reason = estimator._batched_unsupported_reason()
    if reason is None:
        reason = extra
    hook = getattr(estimator, "_batched_auto_reason", None)
    if reason is None and auto and hook is not None:
        reason = hook()
    return reason


def resolve_batched(batched, estimator, extra=None, *, items, verb, owner, verbose=0):
    """Decide whether the copies of ``estimator`` are trained batched.

    ``'auto'`` batches when :func:`batched_reason` finds nothing against it
    (with ``verbose``, it prints why it trains them one by one when the
    estimator offers batched training); ``False`` never batches; ``True``
    raises :class:`~sklopt.exceptions.NotBatchableError` with the reason when
    the estimator or its settings do not allow batching.

    Parameters
    ----------
    batched : {'auto', True, False}
    estimator : estimator instance
    extra : str or None
        See :func:`batched_reason`.
    items : str
        What the copies are, for the messages ('members', 'rounds').
    verb : {'train', 'fit'}
        How the messages speak of training them.
    owner : str
        Prefix of the ``verbose`` message.
    verbose : int
    """
    if batched is False:
        return False
    reason = batched_reason(estimator, extra, auto=batched == "auto")
    if reason is None:
        return True
    done, doing = _VERB_FORMS[verb]
    if batched is True:
        raise NotBatchableError(
            f"batched=True, but the {items} cannot be {done} as one batched model: "
            f"{reason}. Use batched='auto' or batched=False to {verb} them one by "
            "one."
        )
    if verbose and offers_batching(estimator):
        print(f"[{owner}] {doing} the {items} one by one: {reason}.")
    return False
