"""Training rules shared by the single-fit engine (the skorch net) and the
stacked engine: batch counting, the stop rule, schedule set-up, optimizer
arguments and the outcome messages."""

import math
import os
import sys
import warnings

import joblib
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning

import sklopt
from sklopt.neural._optim import _lr_scheduler, _resolve_optimizer


def _n_batches(n_rows, batch_size, drop_single):
    """Batches per epoch of ``n_rows`` rows cut into batches of
    ``batch_size`` (capped at ``n_rows``); ``drop_single`` skips a last
    batch of one row (batch normalization cannot train on it)."""
    size = max(1, min(int(batch_size), n_rows))
    count = -(-n_rows // size)
    if drop_single and count > 1 and n_rows % size == 1:
        count -= 1
    return count


def _monitor(early_stopping):
    """The loss the stop rule and the plateau schedule watch."""
    return "valid_loss" if early_stopping else "train_loss"


class _PlateauRule:
    """scikit-learn's MLP stopping rule on a monitored loss.

    An epoch counts as a miss when the loss is not below the best loss so
    far minus ``tol``; the best loss (and its epoch) is updated on any
    decrease. Training stops after ``patience`` consecutive misses. Compared
    with skorch's rule, a slow steady decrease smaller than ``tol`` per epoch
    ends training, as in scikit-learn.
    """

    def __init__(self, patience, tol):
        self.patience, self.tol = patience, tol
        self.best_loss = math.inf
        self.best_epoch = 0
        self.misses = 0

    def update(self, loss, epoch):
        """Record the epoch's loss; return whether it improved on the best."""
        if loss > self.best_loss - self.tol:
            self.misses += 1
        else:
            self.misses = 0
        improved = loss < self.best_loss
        if improved:
            self.best_loss = loss
            self.best_epoch = epoch
        return improved

    @property
    def stopped(self):
        return self.misses >= self.patience


def _schedule_callback(spec):
    """The skorch ``LRScheduler`` callback of ``spec.lr_schedule`` (None
    without a schedule)."""
    if spec.lr_schedule is None:
        return None
    return _lr_scheduler(
        spec.lr_schedule,
        max_epochs=spec.max_epochs,
        patience=spec.patience,
        tol=spec.tol,
        monitor=_monitor(spec.early_stopping),
    )


def _member_scheduler(spec, lr):
    """``(optimizer, scheduler)``: the torch scheduler of
    :func:`_schedule_callback` on a one-parameter optimizer at ``lr``, as the
    callback builds it on the net's optimizer (None without a schedule)."""
    callback = _schedule_callback(spec)
    if callback is None:
        return None, None
    policy = callback._get_policy_cls()
    kwargs = callback.kwargs
    if policy is not torch.optim.lr_scheduler.ReduceLROnPlateau:
        kwargs = {**kwargs, "last_epoch": -1}
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    optimizer.param_groups[0].setdefault("initial_lr", lr)
    return optimizer, policy(optimizer, **kwargs)


def _step_scheduler(scheduler, record, spec):
    """One epoch's step of a scheduler built by :func:`_member_scheduler`
    (``record``: the epoch's history row)."""
    with warnings.catch_warnings():
        # The scheduler's own optimizer only carries the learning rate.
        warnings.filterwarnings(
            "ignore", message=r"Detected call of `lr_scheduler.step\(\)`"
        )
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(record[_monitor(spec.early_stopping)])
        else:
            scheduler.step()


def _optimizer_kwargs(kwargs):
    """Split torch optimizer keyword arguments into those of the optimizer
    and the weight decay, which applies to the decayed parameter group only.

    ``lr=None`` is dropped (the class's default). Without decay, an explicit
    ``weight_decay=0`` stays in the arguments: some optimizers decay by
    default (AdamW: 0.01).

    Returns
    -------
    kwargs : dict
    weight_decay : float
    """
    kwargs = dict(kwargs)
    weight_decay = kwargs.pop("weight_decay", None)
    if kwargs.get("lr") is None:
        kwargs.pop("lr", None)
    if weight_decay == 0.0:
        kwargs["weight_decay"] = 0.0
    return kwargs, weight_decay or 0.0


def _optimizer_arguments(optimizer, constants):
    """``(optimizer_class, kwargs, weight_decay)`` of an optimizer name (or
    class) and sklopt's optimizer constants (see :func:`_optimizer_kwargs`)."""
    optimizer_class, kwargs = _resolve_optimizer(optimizer, **constants)
    return (optimizer_class, *_optimizer_kwargs(kwargs))


# ---- outcome messages --------------------------------------------------------
#: Warnings point at the first frame outside these packages: the user's call.
_LIBRARY_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep for module in (sklopt, sklearn, joblib)
)


def _warn(message, category):
    """``warnings.warn`` pointing at the user's call (the first frame
    outside sklopt, scikit-learn and joblib: past fit wrappers, ensembles
    and sequential joblib runs)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level - 1 if frame is None else level)


def _divergence_message(spec, epoch, loss, *, member=None):
    """The message of the DivergenceError of a fit whose training loss (or
    weights) stopped being finite at ``epoch``."""
    loss = loss if not math.isfinite(loss) else float("nan")
    lr = spec.lr
    what = (
        spec.name
        if member is None
        else (f"{spec.name} (member {member} of a batched ensemble)")
    )
    suggestion = f" (for example lr={lr / 10:g})" if lr is not None else ""
    return (
        f"Training of {what} diverged at epoch {epoch}: the training loss became "
        f"{loss}. The learning rate is too large for this problem: lr={lr} with "
        f"optimizer={spec.optimizer_name}. Use a smaller lr{suggestion}, set "
        "clip_grad_norm, or set early_stopping=True to keep the best finite "
        "weights."
    )


def _warn_restored(
    spec, epochs, *, best_epoch=None, n_members=None, n_total=None, loss=None
):
    """ConvergenceWarning: training diverged and early stopping restored the
    weights of the best epoch."""
    if n_members is None:
        what = (
            f"training diverged at epoch {epochs[0]} (training loss {loss}); the "
            f"weights of the best epoch ({best_epoch}) were restored"
        )
    else:
        what = (
            f"training of {n_members} of {n_total} batched members diverged (at "
            f"epochs {sorted(epochs)}); the weights of their best epochs were "
            "restored"
        )
    _warn(
        f"{spec.name}: {what}. A smaller lr (now {spec.lr}) avoids this.",
        ConvergenceWarning,
    )


def _warn_not_converged(spec, *, n_members=None, n_total=None):
    """ConvergenceWarning: ``max_epochs`` ended training before the stop
    rule did."""
    detail = (
        "" if n_members is None else (f" ({n_members} of {n_total} batched members)")
    )
    _warn(
        f"{spec.name}: maximum number of epochs (max_epochs={spec.max_epochs}) "
        f"reached and the optimization hasn't converged yet{detail}.",
        ConvergenceWarning,
    )
