"""The shared part of the bagging ensembles: drawing each member's rows and
columns, fitting the members through the engine of
:mod:`sklopt.utils._resampled_fits`, out-of-bag estimates and the members'
predictions, aggregated in member order."""

import math
import warnings
from functools import partial
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from sklopt.ensemble._base import (
    _BaseEstimatorMixin,
    _draw_member_indices,
    _member_proba,
    _resolve_max_features,
    _resolve_max_samples,
    _warn_interrupted,
)
from sklopt.utils._fit_guard import restore_on_failure
from sklopt.utils._random import draw_seeds
from sklopt.utils._resampled_fits import (
    Member,
    count_weights_exact,
    fit_members,
    take_columns,
    take_rows,
)
from sklopt.utils._validation import (
    HasMethods,
    Interval,
    MetadataRouter,
    MethodMapping,
    RealNotInt,
    StrOptions,
    _fit_context,
    _raise_for_params,
    _routing_enabled,
    check_sample_weight,
    process_routing,
)


def _drawn_rows(seed, settings):
    """The rows of the member of ``seed`` (see ``_draw_member_indices``)."""
    return _draw_member_indices(seed, settings)[0]


def _base_has(attr):
    """For ``available_if``: whether the fitted base (else the given one) has
    ``attr``."""

    def check(self):
        base = getattr(self, "estimator_", None) or self._base_or_default()
        return hasattr(base, attr)

    return check


# Members per prediction task when predicting in parallel: bounds the member
# outputs in flight (each task returns one output per member).
_MAX_MEMBERS_PER_TASK = 16


def _member_output(member, X, method, classes, params=None):
    """One member's output on its columns ``X``: ``'predict_proba'``
    (probabilities over ``classes``, one-hot votes without predict_proba),
    ``'predict'`` (labels or values), ``'values'`` (float64 predictions) or
    ``'decision_function'``; ``params`` as for :func:`_member_proba`."""
    params = params or {}
    if method == "predict_proba":
        return _member_proba(member, X, classes, params)
    if method == "decision_function":
        scores = member.decision_function(X, **params.get(method, {}))
        return np.asarray(scores, dtype=np.float64)
    prediction = member.predict(X, **params.get("predict", {}))
    if method == "values":
        return np.asarray(prediction, dtype=np.float64)
    return np.asarray(prediction)


def _parallel_member_outputs(members, features, X, method, classes, params):
    """joblib worker: every member's output, stacked."""
    return np.stack(
        [
            _member_output(member, take_columns(X, feats), method, classes, params)
            for member, feats in zip(members, features)
        ]
    )


def _prediction_tasks(n_members, n_jobs):
    """Contiguous (start, stop) blocks of members for parallel prediction:
    a multiple of ``n_jobs`` blocks of at most ``_MAX_MEMBERS_PER_TASK``."""
    n_tasks = max(n_jobs, math.ceil(n_members / _MAX_MEMBERS_PER_TASK))
    n_tasks = min(n_members, n_jobs * math.ceil(n_tasks / n_jobs))
    bounds = np.linspace(0, n_members, n_tasks + 1).round().astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


class _BaseBagging(_BaseEstimatorMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared fitting, drawing and out-of-bag logic of the bagging ensembles."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "bootstrap": ["boolean"],
        "bootstrap_features": ["boolean"],
        "oob_score": ["boolean"],
        "warm_start": ["boolean"],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "batched": [StrOptions({"auto"}), "boolean"],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=10,
        *,
        max_samples=1.0,
        max_features=1.0,
        bootstrap=True,
        bootstrap_features=False,
        oob_score=False,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        batched="auto",
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.bootstrap_features = bootstrap_features
        self.oob_score = oob_score
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.batched = batched

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the ensemble on bootstrap samples of (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, handed to the members as given (a DataFrame keeps
            its columns; NaN and infinity are the base estimator's to judge).
            Sparse input is accepted when the base estimator accepts it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used as scikit-learn 1.9 uses them: rows are
            drawn with probabilities proportional to ``sample_weight`` (a
            float ``max_samples`` is then a fraction of
            ``sample_weight.sum()``), and each member sees its draw counts
            only.
        **fit_params : dict
            Parameters for the members' ``fit``, with metadata routing
            enabled (``sklearn.set_config(enable_metadata_routing=True)``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        _raise_for_params(fit_params, self, "fit")
        with restore_on_failure(self, warm_start=self.warm_start):
            interrupted = self._fit(X, y, sample_weight, fit_params)
        if interrupted is not None:
            # The complete members stay in the ensemble.
            raise interrupted
        return self

    def _fit(self, X, y, sample_weight, fit_params):
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight)
        member_params = self._member_fit_params(fit_params)
        settings = self._draw_settings_for(X, sample_weight)
        n_old = self._check_warm_start(settings)
        if not n_old:
            self.estimators_, self.estimators_features_, self._seeds = [], [], []
        self._draw_settings = settings
        self._max_samples = settings["max_samples"]
        self._max_features = settings["max_features"]
        for name in ("oob_score_", "oob_decision_function_", "oob_prediction_"):
            if hasattr(self, name):
                delattr(self, name)
        if n_old == self.n_estimators:
            return None
        rng = check_random_state(self.random_state)
        draw_seeds(rng, n_old)  # warm start: skip the seeds already used
        seeds = draw_seeds(rng, self.n_estimators - n_old).tolist()
        # Columns are kept; rows are drawn again when needed (from the seed).
        features = [_draw_member_indices(seed, settings)[1] for seed in seeds]
        members, interrupted = self._fit_new_members(
            X, y, seeds, features, member_params
        )
        self.estimators_ += members
        self.estimators_features_ += features[: len(members)]
        self._seeds += seeds[: len(members)]
        if self.oob_score and interrupted is None:
            self._set_oob_score(X, y)
        return interrupted

    def _members(self, seeds, features):
        """The members of ``seeds`` (``features``: their columns), each one's
        rows drawn from its seed when the engine fits it."""
        for seed, columns in zip(seeds, features):
            rows = partial(_drawn_rows, seed, self._draw_settings)
            yield Member(rows=rows, columns=columns, seed=seed)

    def _fit_new_members(self, X, y, seeds, features, fit_params):
        """Fit the members of ``seeds``; return ``(members, interrupted)``,
        the fitted members in order and the KeyboardInterrupt that stopped
        the fit, if any.

        A KeyboardInterrupt keeps the members completed before it (a
        warning says so) and is returned, to be re-raised once the ensemble
        holds them; before any member is complete it propagates.
        """
        fitted = []
        try:
            for estimator in fit_members(
                self.estimator_,
                X,
                y,
                self._members(seeds, features),
                n_members=len(seeds),
                fit_params=fit_params,
                by_counts=count_weights_exact(self.estimator_),
                n_jobs=self.n_jobs,
                verbose=self.verbose,
                batched=self.batched,
                owner=type(self).__name__,
            ):
                fitted.append(estimator)
        except KeyboardInterrupt as exc:
            n_kept = len(self.estimators_) + len(fitted)
            if not n_kept:
                raise
            _warn_interrupted(self, n_kept, "members", stacklevel=6)
            return fitted, exc
        return fitted, None

    def _member_fit_params(self, fit_params):
        """The parameters routed to the members' ``fit`` (metadata routing)."""
        if not _routing_enabled():
            return {}
        return process_routing(self, "fit", **fit_params).estimator.fit

    def _validate_fit_data(self, X, y, sample_weight):
        """Validate the base estimator, the data and the sampling settings;
        return the X handed to the members (the user's DataFrame, or the
        validated array)."""
        self._validate_estimator()
        X, y = self._validate_members_X_y(
            X,
            y,
            multi_output=self._kind == "regressor",
            y_numeric=self._kind == "regressor",
        )
        y = self._validate_y(y)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X.shape[0])
            if not self.bootstrap:
                warnings.warn(
                    f"When fitting {type(self).__name__} with sample_weight it is "
                    "recommended to use bootstrap=True: the rows are drawn "
                    "without replacement with probabilities proportional to "
                    "sample_weight, which does not give the weights their "
                    "frequency meaning.",
                    UserWarning,
                    stacklevel=4,
                )
        if self.oob_score and not self.bootstrap:
            raise ValueError(
                "oob_score=True needs bootstrap=True: without replacement there "
                "are no out-of-bag rows to score."
            )
        if self.oob_score and self.warm_start:
            raise ValueError(
                "oob_score=True cannot be used with warm_start=True: the out-of-bag "
                "estimate is only available when all members are fitted at once "
                "(warm_start=False), as in scikit-learn."
            )
        return X, y, sample_weight

    def _draw_settings_for(self, X, sample_weight):
        """How members draw rows and columns (see ``_draw_member_indices``):
        with ``sample_weight``, rows are drawn with probabilities proportional
        to it, as scikit-learn 1.9 draws them."""
        n_samples, n_features = X.shape
        return {
            "n_samples": n_samples,
            "n_features": n_features,
            "max_samples": _resolve_max_samples(
                self.max_samples, n_samples, self.bootstrap, sample_weight
            ),
            "max_features": _resolve_max_features(self.max_features, n_features),
            "bootstrap": self.bootstrap,
            "bootstrap_features": self.bootstrap_features,
            "row_probabilities": (
                None if sample_weight is None else sample_weight / sample_weight.sum()
            ),
        }

    def _check_warm_start(self, settings):
        """Number of members kept from the previous fit (0 without warm start)."""
        if not (self.warm_start and hasattr(self, "estimators_")):
            return 0
        n_old = len(self.estimators_)
        if n_old > self.n_estimators:
            raise ValueError(
                f"n_estimators={self.n_estimators} must be larger or equal to "
                f"len(estimators_)={n_old} when warm_start=True."
            )
        old = self._draw_settings
        changed = [
            key
            for key in settings
            if key != "row_probabilities" and settings[key] != old[key]
        ]
        if changed or not np.array_equal(
            settings["row_probabilities"], old["row_probabilities"]
        ):
            what = ", ".join(changed) or "sample_weight"
            raise ValueError(
                "warm_start=True adds members drawn like the previous ones; the "
                f"drawing settings changed ({what})."
            )
        if n_old == self.n_estimators:
            warnings.warn(
                "Warm-start fitting without increasing n_estimators does not fit "
                "new members.",
                UserWarning,
                stacklevel=5,
            )
        return n_old

    def _validate_y(self, y):
        return y

    def __len__(self):
        """Number of fitted members."""
        return len(self.estimators_)

    def __getitem__(self, index):
        """The fitted member(s) at ``index``."""
        return self.estimators_[index]

    def __iter__(self):
        """Iterate over the fitted members."""
        return iter(self.estimators_)

    def get_metadata_routing(self):
        """Get the metadata routing of this ensemble.

        ``fit`` parameters go to the members' ``fit``, prediction parameters
        to the method the members answer with (see scikit-learn's metadata
        routing user guide).

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        base = self._base_or_default()
        proba = "predict_proba" if hasattr(base, "predict_proba") else "predict"
        # predict_log_proba is the log of the members' mean probability
        mapping = (
            MethodMapping()
            .add(caller="fit", callee="fit")
            .add(caller="decision_function", callee="decision_function")
            .add(caller="predict", callee=proba)
            .add(caller="predict_proba", callee=proba)
            .add(caller="predict_log_proba", callee=proba)
        )
        return MetadataRouter(owner=self).add(estimator=base, method_mapping=mapping)

    @property
    def estimators_samples_(self):
        """Row indices drawn for each member (repeats included).

        Re-created from the members' seeds at each access.
        """
        check_is_fitted(self)
        return [
            _draw_member_indices(seed, self._draw_settings)[0] for seed in self._seeds
        ]

    def _oob_sums(self, X, width, predict_one):
        """Sum and count of out-of-bag predictions per row.

        ``predict_one(member, X_rows)`` returns an array of shape
        (n_rows, width).
        """
        n_samples = X.shape[0]
        sums = np.zeros((n_samples, width))
        counts = np.zeros(n_samples, dtype=np.int64)
        for member, feats, rows in zip(
            self.estimators_, self.estimators_features_, self.estimators_samples_
        ):
            oob = np.ones(n_samples, dtype=bool)
            oob[rows] = False
            if not oob.any():
                continue
            X_oob = take_columns(take_rows(X, oob), feats)
            sums[oob] += predict_one(member, X_oob).reshape(-1, width)
            counts[oob] += 1
        never = counts == 0
        if never.any():
            warnings.warn(
                "Some inputs do not have OOB scores. This probably means too few "
                "estimators were used to compute any reliable oob estimates: "
                f"{never.sum()} of {n_samples} rows were never out of bag; their "
                "out-of-bag predictions are NaN and oob_score_ is computed on the "
                "other rows.",
                UserWarning,
                stacklevel=6,
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts[:, np.newaxis]
        means[never] = np.nan
        return means, ~never

    def _routed(self, caller, params):
        """The parameters of ``caller`` routed to each member method
        (metadata routing; empty without it)."""
        _raise_for_params(params, self, caller)
        if not _routing_enabled():
            return {}
        return process_routing(self, caller, **params).estimator

    def _member_outputs(self, X, method, classes=None, params=None):
        """Yield every member's output on ``X`` (see ``_member_output``), in
        member order.

        With several jobs, blocks of members predict in parallel; the outputs
        still arrive in member order, so sums over them (and so every
        prediction) are bit-identical whatever ``n_jobs`` or the joblib
        backend.
        """
        members, features = self.estimators_, self.estimators_features_
        n_jobs = min(effective_n_jobs(self.n_jobs), len(members))
        if n_jobs <= 1:
            for member, feats in zip(members, features):
                yield _member_output(
                    member, take_columns(X, feats), method, classes, params
                )
            return
        tasks = _prediction_tasks(len(members), n_jobs)
        blocks = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_parallel_member_outputs)(
                members[start:stop], features[start:stop], X, method, classes, params
            )
            for start, stop in tasks
        )
        for block in blocks:
            yield from block

    def _mean_output(self, X, method, classes=None, params=None):
        """The members' mean output, summed in member order."""
        total = None
        for output in self._member_outputs(X, method, classes, params):
            total = np.zeros_like(output, dtype=np.float64) if total is None else total
            total += output
        return total / len(self.estimators_)
