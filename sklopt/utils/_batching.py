"""Whether copies of an estimator are trained as one batched model.

Bagging members (:mod:`sklopt.ensemble`) and bootstrap rounds
(:mod:`sklopt.model_selection`) of a :mod:`sklopt.neural` network can be
trained together as one stacked model. The base estimator decides through
duck-typed hooks, so that neither subpackage imports torch:

* ``_fit_batched(...)`` trains the copies, and
  ``_batched_unsupported_reason()`` says why its settings do not allow it
  (None when they do);
* the optional ``_batched_auto_reason()`` says why batching would not pay on
  its device (asked for ``batched='auto'`` only);
* the optional ``_stacking_params()`` names the parameters that may differ
  between the members of one stack (per-member hyperparameters).

The rules every caller of ``_fit_batched`` shares live here: which copies
may share a stack (:func:`stack_structure`, compared with
:func:`same_value`) and how the datasets of a stack's members become one X
(:func:`concat_rows`).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _num_samples

from sklopt.exceptions import NotBatchableError

# The per-member parameters of estimators whose ``_stacking_params`` hook is
# missing: copies that differ in their seed only.
_DEFAULT_STACKING_PARAMS = frozenset({"random_state"})

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


def stacking_params(estimator):
    """Names of the parameters that may differ between members of one stack
    (the ``_stacking_params()`` hook; ``random_state`` without it)."""
    hook = getattr(estimator, "_stacking_params", None)
    if hook is None:
        return _DEFAULT_STACKING_PARAMS
    return frozenset(hook())


def stack_structure(estimator):
    """What must be equal (:func:`same_value`) for copies of estimators to
    share one stack: the type and every parameter that is not per-member."""
    params = estimator.get_params(deep=False)
    per_member = stacking_params(estimator)
    return {
        "type": type(estimator),
        "params": {k: v for k, v in params.items() if k not in per_member},
    }


def same_value(a, b):
    """Equal parameter values.

    Estimators are equal when they are of one type with equal parameters
    (``clone`` makes copies that are not ``==``); dicts, lists and tuples
    item by item; arrays element by element; other values by ``==``
    (``1 == 1.0``); objects without a useful ``==`` (a stateful callable,
    which ``clone`` deep-copies) when they are of one type with equal
    attributes.
    """
    if a is b:
        return True
    same_type = type(a) is type(b)
    if same_type and hasattr(a, "get_params") and not isinstance(a, type):
        return same_value(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            same_type
            and a.keys() == b.keys()
            and all(same_value(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return same_type and len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return same_type and a.shape == b.shape and bool(np.array_equal(a, b))
    try:
        if bool(a == b):
            return True
    except (TypeError, ValueError):
        return False
    return same_type and hasattr(a, "__dict__") and same_value(vars(a), vars(b))


def concat_rows(parts):
    """One X of the rows of ``parts`` (arrays, sparse matrices or
    DataFrames, one per member or fold) and each part's row indices in it."""
    if all(sp.issparse(p) for p in parts):
        X = sp.vstack(parts, format="csr")
    elif all(hasattr(p, "iloc") for p in parts):
        import pandas as pd

        X = pd.concat(parts, ignore_index=True)
    else:
        X = np.concatenate([np.asarray(p) for p in parts])
    rows, offset = [], 0
    for part in parts:
        n_rows = _num_samples(part)
        rows.append(np.arange(offset, offset + n_rows))
        offset += n_rows
    return X, rows
