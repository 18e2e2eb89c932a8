"""The boosting loop shared by the gradient-boosting classifier and
regressor: initial estimator, stages, subsampling, early stopping and warm
start."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.tree import BaseDecisionTree
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sklopt.ensemble._base import (
    _BaseEstimatorMixin,
    _check_sample_weight,
    _progress,
    _random_state_keys,
    _set_random_states,
    _StagedScoreMixin,
    _supports_sample_weight,
    _validated_once,
    _warn_interrupted,
)
from sklopt.ensemble._gb_losses import _HuberLoss, _make_loss
from sklopt.ensemble._gb_trees import (
    TREE_CONSTRAINTS,
    TreeAttributesMixin,
    check_tree_params,
    default_tree,
    leaf_indices,
    lookup,
    random_sample_mask,
    resolve_max_features,
    set_tree_leaves,
    tree_input,
)
from sklopt.utils._fit_guard import restore_on_failure
from sklopt.utils._validation import HasMethods, Interval, _fit_context


class _BaseGradientBoosting(
    TreeAttributesMixin,
    _StagedScoreMixin,
    _BaseEstimatorMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """The boosting loop shared by the gradient-boosting classifier and
    regressor."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        **TREE_CONSTRAINTS,
        "warm_start": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Classifiers too boost regressors (fitted to the pseudo-residuals).
    _kind = "regressor"
    # predict_members gives boosting stages, not replicas of one model: the
    # bias-variance scorers refuse them.
    _members_are_replicas = False

    def _default_estimator(self):
        return default_tree(self)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, monitor=None):
        """Fit the boosted ensemble on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (sparse input when the base regressor accepts it).
        y : array-like of shape (n_samples,)
            Target values (class labels for classifiers).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; the base regressor must accept ``sample_weight``
            when they are given.
        monitor : callable, default=None
            Called as ``monitor(i, self, locals())`` after each stage ``i``;
            when it returns True, boosting stops (as in scikit-learn).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with restore_on_failure(self, warm_start=self.warm_start):
            self._fit_checked(X, y, sample_weight, monitor)
        return self

    def _is_fitted(self):
        return len(getattr(self, "estimators_", [])) > 0

    def _fit_checked(self, X, y, sample_weight, monitor):
        """Validate, fit the initial estimator (unless warm-started), then
        the stages."""
        check_tree_params(self)
        warm = self.warm_start and self._is_fitted()
        if warm and self.n_estimators < self.estimators_.shape[0]:
            raise ValueError(
                f"n_estimators={self.n_estimators} must be larger or equal to "
                f"estimators_.shape[0]={self.estimators_.shape[0]} when "
                "warm_start==True"
            )
        self._validate_estimator()
        X, y = self._validate_fit_X_y(
            X, y, y_numeric=not isinstance(self, ClassifierMixin)
        )
        weighted = sample_weight is not None
        if weighted and not _supports_sample_weight(self.estimator_):
            raise ValueError(
                f"sample_weight was given, but {type(self.estimator_).__name__}.fit "
                "does not accept sample_weight."
            )
        sample_weight = _check_sample_weight(sample_weight, X.shape[0])
        y = self._encode_y(y, sample_weight if weighted else None)
        if self.estimator is None:
            self.max_features_ = resolve_max_features(self.max_features, X.shape[1])
        self._loss = _make_loss(
            self.loss, alpha=getattr(self, "alpha", 0.9), n_classes=self._n_classes()
        )
        train, val = self._split(y)
        X_train, y_train, w_train = X[train], y[train], sample_weight[train]
        if warm:
            raw = self._raw_predict(X_train)
        else:
            # Trees see X as float32; so does init, as in scikit-learn.
            X_init = self._tree_X(X_train)[0]
            self._fit_init(X_init, y_train, w_train, weighted)
            raw = self._init_raw(X_init)
            # One stream for the subsamples and the members, kept for warm starts.
            self._rng = check_random_state(self.random_state)
            self._reset_stages()
        stopper = _EarlyStopping(self, X, y, sample_weight, val, warm)
        self._fit_stages(X_train, y_train, w_train, raw, weighted, stopper, monitor)

    def _split(self, y):
        """Training and validation rows (all rows train without early
        stopping), split as scikit-learn splits them."""
        rows = np.arange(y.shape[0])
        if self.n_iter_no_change is None:
            return rows, None
        classifier = isinstance(self, ClassifierMixin)
        try:
            train, val = train_test_split(
                rows,
                test_size=self.validation_fraction,
                random_state=self.random_state,
                # Float labels, as scikit-learn's (its error messages show them).
                stratify=y.astype(np.float64) if classifier else None,
            )
        except ValueError as exc:
            raise ValueError(
                "Early stopping (n_iter_no_change) cannot hold out "
                f"validation_fraction={self.validation_fraction} of {len(rows)} "
                f"rows: {exc}"
            ) from exc
        if classifier and np.unique(y[train]).shape[0] != self.n_classes_:
            raise ValueError(
                "The training data after the early stopping split is missing "
                "some classes (n_iter_no_change holds out validation_fraction="
                f"{self.validation_fraction} of the rows). Lower "
                "validation_fraction, use another random_state or more data."
            )
        return train, val

    def _fit_init(self, X, y, sample_weight, weighted):
        """Fit ``init_``: a clone of ``init``, the default constant, or 'zero'."""
        if isinstance(self.init, str):  # 'zero'
            self.init_ = self.init
            return
        init = self._make_init() if self.init is None else clone(self.init)
        if weighted:
            if not _supports_sample_weight(init):
                raise ValueError(
                    f"The initial estimator {type(init).__name__} does not "
                    "support sample weights."
                )
            init.fit(X, y, sample_weight=sample_weight)
        else:
            init.fit(X, y)
        self.init_ = init

    def _init_raw(self, X):
        """Raw predictions of ``init_`` on X (zeros for init='zero')."""
        n_outputs = self._loss.n_outputs
        if isinstance(self.init_, str):
            return np.zeros((X.shape[0], n_outputs))
        return self._init_raw_from(self.init_, X).reshape(X.shape[0], n_outputs)

    def _reset_stages(self):
        self.estimators_ = np.empty((0, self._loss.n_outputs), dtype=object)
        self._stage_values = []
        self.train_score_ = np.zeros(0)
        for name in ("oob_scores_", "oob_improvement_", "oob_score_"):
            if hasattr(self, name):
                delattr(self, name)

    def _fit_stages(self, X, y, w, raw, weighted, stopper, monitor):
        loss, lr, rng = self._loss, self.learning_rate, self._rng
        n = X.shape[0]
        do_oob = self.subsample < 1.0
        n_in_bag = max(1, int(self.subsample * n))
        in_bag = np.ones(n, dtype=bool)
        members_list = [list(stage) for stage in self.estimators_]
        train_score = list(self.train_score_)
        oob = [
            list(getattr(self, a, [0.0] * len(members_list)))
            for a in ("oob_scores_", "oob_improvement_")
        ]
        self._random_state_keys = _random_state_keys(self.estimator_)
        X32 = tree_input(self.estimator_, X)  # None unless trees take float32
        begin = len(members_list)
        # scikit-learn's OOB scale: the first improvement is measured from the
        # initial model, later ones from the previous stage's OOB loss.
        initial_oob = None
        stages = _progress(range(begin, self.n_estimators), self.verbose, "boosting")
        self.estimators_ = members_list
        for i in stages:
            if do_oob:
                in_bag = random_sample_mask(n, n_in_bag, rng)
                if i == 0:
                    initial_oob = loss(y[~in_bag], raw[~in_bag], w[~in_bag])
            if isinstance(loss, _HuberLoss):
                loss.update_delta(y, raw, w)
            try:
                with _validated_once(i):
                    members, values, contributions = self._fit_stage(
                        X, y, w, raw, in_bag, weighted, X32
                    )
            except KeyboardInterrupt:
                # Keep the complete stages; none yet: nothing to keep.
                if not members_list:
                    raise
                _warn_interrupted(self, len(members_list), "boosting rounds", 6)
                break
            raw += lr * contributions
            members_list.append(members)
            self._stage_values.append(values)
            train_score.append(loss(y[in_bag], raw[in_bag], w[in_bag]))
            if do_oob:
                oob[0].append(loss(y[~in_bag], raw[~in_bag], w[~in_bag]))
                previous = initial_oob if i == 0 else oob[0][-2]
                oob[1].append(previous - oob[0][-1])
            if monitor is not None and monitor(i, self, locals()):
                break
            if stopper.stop(i, members, values):
                break
        self._store_stages(members_list, train_score, oob if len(oob[0]) else None)

    def _store_stages(self, members_list, train_score, oob):
        """Turn the per-stage lists into the fitted attributes."""
        n_stages = len(members_list)
        # Filled cell by cell: np.array would unpack sequence-like members
        # (a Pipeline has __len__ and __getitem__).
        members = np.empty((n_stages, self._loss.n_outputs), dtype=object)
        for stage, stage_members in enumerate(members_list):
            for k, member in enumerate(stage_members):
                members[stage, k] = member
        self.estimators_ = members
        self._stage_values = self._stage_values[:n_stages]
        self.n_estimators_ = n_stages
        self.estimator_weights_ = np.full(n_stages, self.learning_rate)
        self.train_score_ = np.asarray(train_score[:n_stages], dtype=np.float64)
        if oob is not None:
            # Stages fitted without subsampling (a warm start that changed
            # subsample) count 0.
            self.oob_scores_, self.oob_improvement_ = (
                np.pad(
                    np.asarray(v[:n_stages], dtype=np.float64),
                    (0, n_stages - len(v[:n_stages])),
                )
                for v in oob
            )
            self.oob_score_ = float(self.oob_scores_[-1])

    def _fit_stage(self, X, y, w, raw, in_bag, weighted, X32=None):
        """Fit one regressor per raw column to the negative gradient.

        Returns the members, their stage values (None for scikit-learn
        trees, whose leaves receive the line-searched values; a table of
        leaf values for other leaf-based learners; else the scalar step of
        the line search) and their contributions on X (before the learning
        rate).
        """
        loss = self._loss
        neg_gradient = loss.neg_gradient(y, raw)
        bag = np.flatnonzero(in_bag) if not in_bag.all() else slice(None)
        tree = isinstance(self.estimator_, BaseDecisionTree)
        check = {}
        if X32 is not None:  # a scikit-learn tree: validate once, not per member
            X, check = X32, {"check_input": False}
        if tree:
            # As scikit-learn: all rows, the out-of-bag ones with weight 0.
            X_fit, fit_params = X, {"sample_weight": w * in_bag}
        else:
            X_fit = X[bag]
            fit_params = {"sample_weight": w[bag]} if weighted else {}
        members, values = [], []
        contributions = np.empty_like(raw)
        for k in range(loss.n_outputs):
            member = self._new_member()
            target = neg_gradient[:, k] if tree else neg_gradient[bag, k]
            member.fit(X_fit, target, **fit_params, **check)
            leaves = leaf_indices(member, X, **check)
            if leaves is not None:
                # Friedman's terminal-region update, from the in-bag rows.
                value = loss.leaf_values(
                    leaves[bag],
                    leaves.max() + 1,
                    self._target_column(y, k)[bag],
                    raw[bag, k],
                    neg_gradient[bag, k],
                    w[bag],
                )
                if set_tree_leaves(member, value, np.unique(leaves[bag])):
                    value = None
                    contributions[:, k] = member.predict(X, **check)
                else:
                    contributions[:, k] = lookup(value, leaves)
            else:
                h = np.asarray(member.predict(X), dtype=np.float64).reshape(-1)
                value = loss.step(y[bag], raw[bag], h[bag], w[bag], k)
                contributions[:, k] = value * h
            members.append(member)
            values.append(value)
        return members, values, contributions

    def _new_member(self):
        """An unfitted copy of the base, seeded from the boosting stream.

        The default tree takes the stream itself as its ``random_state``, as
        scikit-learn's trees do; other bases get integers drawn from it.
        """
        # A deep copy of the unfitted base is a clone, made faster.
        member = copy.deepcopy(self.estimator_)
        if self.estimator is None:
            member.random_state = self._rng
            return member
        return _set_random_states(member, self._rng, self._random_state_keys)

    def _target_column(self, y, k):
        return y

    def _contribution(self, member, value, X, **check):
        if value is None:
            return np.asarray(member.predict(X, **check), dtype=np.float64)
        if isinstance(value, np.ndarray):
            return lookup(value, leaf_indices(member, X, **check))
        return value * np.asarray(member.predict(X), dtype=np.float64).reshape(-1)

    def _stage_raw(self, stage, X, **check):
        """The raw output of one stage (learning rate applied)."""
        return self.learning_rate * self._stage_contribution(stage, X, **check)

    def _stage_contribution(self, stage, X, **check):
        """The raw output of one stage before the learning rate."""
        members, values = self.estimators_[stage], self._stage_values[stage]
        return np.column_stack(
            [self._contribution(m, v, X, **check) for m, v in zip(members, values)]
        )

    def _tree_X(self, X):
        """X as the members take it, and the keywords that skip their input
        checks: C-ordered float32 for scikit-learn trees (dense, finite)."""
        X32 = tree_input(self.estimator_, X)
        if X32 is None:
            return X, {}
        return X32, {"check_input": False}

    def _staged_raw_predict(self, X, validate=True):
        if validate:
            X = self._validate_predict_X(X)
        X, check = self._tree_X(X)
        raw = self._init_raw(X)
        for stage in range(len(self.estimators_)):
            raw = raw + self._stage_raw(stage, X, **check)
            yield raw

    def predict_members(self, X):
        """Every stage's contribution, before the learning rate.

        For boosting, a member is one stage's learner fitted to the
        pseudo-residuals, not a model of y: its output is the stage's
        additive contribution (with the line-searched leaf values or step),
        so that ``init raw + learning_rate * predict_members(X).sum(axis=0)``
        is the ensemble's raw prediction (``predict`` for regression,
        ``decision_function`` for classification). Their spread is not a
        bagging-style variance.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        contributions : ndarray of shape (`n_estimators_`, n_samples) or \
(`n_estimators_`, n_samples, n_classes)
            One row block per stage: one column per class for more than two
            classes, else a single raw output.
        """
        X = self._validate_predict_X(X)
        X, check = self._tree_X(X)
        stages = np.stack(
            [
                self._stage_contribution(stage, X, **check)
                for stage in range(len(self.estimators_))
            ]
        )
        return stages[:, :, 0] if stages.shape[2] == 1 else stages

    def _raw_predict(self, X, validate=True):
        check_is_fitted(self)
        raw = None
        for raw in self._staged_raw_predict(X, validate):  # noqa: B007
            pass
        return raw


class _EarlyStopping:
    """Validation-based early stopping (active when ``n_iter_no_change`` is
    set): stop when the validation loss has not improved by more than ``tol``
    on any of the last ``n_iter_no_change`` stages."""

    def __init__(self, ensemble, X, y, w, val, warm):
        self.ensemble = ensemble
        self.active = val is not None
        if self.active:
            self.y, self.w = y[val], w[val]
            if warm:
                self.raw = ensemble._raw_predict(X[val], validate=False)
            self.X, self.check = ensemble._tree_X(X[val])
            if not warm:
                self.raw = ensemble._init_raw(self.X)
            self.history = np.full(ensemble.n_iter_no_change, np.inf)

    def stop(self, i, members, values):
        if not self.active:
            return False
        ensemble = self.ensemble
        self.raw = self.raw + ensemble.learning_rate * np.column_stack(
            [
                ensemble._contribution(m, v, self.X, **self.check)
                for m, v in zip(members, values)
            ]
        )
        loss = ensemble._loss(self.y, self.raw, self.w)
        if np.any(loss + ensemble.tol < self.history):
            self.history[i % len(self.history)] = loss
            return False
        return True
