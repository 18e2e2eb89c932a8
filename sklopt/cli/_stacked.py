"""Train the networks of a study together: one stacked model per structure.

A study fits many models (a Pipeline, or a ``TransformedTargetRegressor``
around one, that ends in a neural estimator) that differ only in the data
they see and in per-member hyperparameters (learning rate, weight decay,
dropout, seed...: the estimator's ``_stacking_params()``). :func:`fit_models`
fits each model's earlier steps as its own fit would, then trains the
networks that build the same architecture as one stacked model (the
estimator's ``_fit_batched`` hook, as :class:`sklopt.model_selection.GridSearchCV`
does for the candidates x folds of a search) and puts each fitted network
back at the end of its model. Networks that cannot be stacked are fitted one
by one.
"""

import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed

from sklopt.utils._batching import concat_rows, same_value, stack_structure


class _Recorder(BaseEstimator):
    """Stands in for the network at the end of a model: its fit keeps the
    data the network would be trained on."""

    def fit(self, X, y, sample_weight=None):
        self.X_, self.y_, self.sample_weight_ = X, y, sample_weight
        return self

    def predict(self, X):
        """Never called: the fitted network replaces the recorder first
        (a model's parameter checks ask for the method)."""
        raise NotImplementedError("the network replaces the recorder before use")


def _pipeline(model):
    """The fitted Pipeline of ``model`` (inside a TransformedTargetRegressor)."""
    return model.regressor_ if hasattr(model, "regressor_") else model


def _network(model):
    """The unfitted neural estimator at the end of ``model``."""
    pipe = model.regressor if hasattr(model, "regressor") else model
    return pipe.steps[-1][1]


def _with_recorder(model):
    """Swap the network at the end of ``model`` for a :class:`_Recorder`;
    return the network."""
    pipe = model.regressor if hasattr(model, "regressor") else model
    name, net = pipe.steps[-1]
    pipe.steps[-1] = (name, _Recorder())
    return net


def _structure(net):
    """What must be equal for networks to share one stack
    (:func:`~sklopt.utils._batching.stack_structure`), or None for an
    estimator that cannot be stacked."""
    if not (hasattr(net, "_stacking_params") and hasattr(net, "_fit_batched")):
        return None
    return stack_structure(net)


def _fit_group(nets, data):
    """Fit ``nets`` (one structure) on their recorded data as one stack;
    return the fitted networks and the stack's time per network. A stack the
    engine refuses is fitted one by one."""
    from sklopt.exceptions import NotBatchableError

    start = time.perf_counter()
    if len(nets) > 1:
        X, rows = concat_rows([d.X_ for d in data])
        y = np.concatenate([np.asarray(d.y_) for d in data])
        weights = None
        if any(d.sample_weight_ is not None for d in data):
            weights = [d.sample_weight_ for d in data]
        try:
            fitted = nets[0]._fit_batched(X, y, nets, rows, weights)
            return fitted, (time.perf_counter() - start) / len(nets)
        except NotBatchableError:
            pass
    fitted = []
    for net, d in zip(nets, data):
        kwargs = {} if d.sample_weight_ is None else {"sample_weight": d.sample_weight_}
        fitted.append(net.fit(d.X_, d.y_, **kwargs))
    return fitted, (time.perf_counter() - start) / len(nets)


def fit_models(models, datasets, *, n_jobs=None):
    """Fit each model on its ``(X, y)``, its network trained stacked with the
    networks of the same structure.

    Parameters
    ----------
    models : list of unfitted models
        Pipelines (or TransformedTargetRegressors around one) whose last step
        is a neural estimator; they are fitted in place.
    datasets : list of (X, y)
    n_jobs : int or None
        joblib workers over the stacks.

    Returns
    -------
    models : list
        The fitted models: each as if ``model.fit(X, y)`` had been called.
    fit_times : ndarray
        Seconds per model: its earlier steps plus its share of its stack.

    Raises
    ------
    DivergenceError
        When a network's training diverges, as its own fit would.
    """
    times = np.zeros(len(models))
    nets = []
    for i, (model, (X, y)) in enumerate(zip(models, datasets)):
        nets.append(_with_recorder(model))
        start = time.perf_counter()
        model.fit(X, y)
        times[i] = time.perf_counter() - start
    groups, keys = [], []
    for i, net in enumerate(nets):
        key = _structure(net)
        match = None
        if key is not None:
            match = next((g for g, k in enumerate(keys) if same_value(k, key)), None)
        if match is None:
            groups.append([i])
            keys.append(key)
        else:
            groups[match].append(i)
    jobs = (
        delayed(_fit_group)(
            [nets[i] for i in group],
            [_pipeline(models[i]).steps[-1][1] for i in group],
        )
        for group in groups
    )
    stacks = Parallel(n_jobs=n_jobs)(jobs)
    for group, (fitted, share) in zip(groups, stacks):
        for i, net in zip(group, fitted):
            pipe = _pipeline(models[i])
            pipe.steps[-1] = (pipe.steps[-1][0], net)
            times[i] += share
    for model, net in zip(models, nets):
        # The unfitted model gets its network back, as after a plain fit.
        unfitted = model.regressor if hasattr(model, "regressor") else model
        if isinstance(unfitted.steps[-1][1], _Recorder):
            unfitted.steps[-1] = (unfitted.steps[-1][0], net)
    return models, times


def fold_data(X, y, splits):
    """The training ``(X, y)`` of each fold of ``splits``."""
    return [(_safe_indexing(X, train), _safe_indexing(y, train)) for train, _ in splits]
