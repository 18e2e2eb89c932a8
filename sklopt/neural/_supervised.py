"""Classification and regression bases of the neural estimators: target
encoding, ``fit``/``partial_fit`` signatures and prediction."""

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from sklopt.neural._base import _BaseNeural
from sklopt.utils._validation import Interval, Real, StrOptions, _fit_context


class _BaseNeuralClassifier(ClassifierMixin, _BaseNeural):
    """Classification: labels of any type encoded to ``classes_`` indices,
    logits trained with (soft-target) cross-entropy; with 2-D 0/1 ``y``
    (where ``_accept_2d_y``), one sigmoid output per label trained with
    binary cross-entropy."""

    _classification = True
    _accept_2d_y = False

    _parameter_constraints: dict = {
        **_BaseNeural._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "cutmix_alpha": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def _multilabel(self):
        return getattr(self, "_y_ndim", 1) == 2

    def _encode_targets(self, y, reset, classes=None):
        if sp.issparse(y):
            y = y.toarray()
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim == 2:
            return self._encode_indicators(y, reset, classes)
        if not reset and self._multilabel():
            raise ValueError(
                f"y is 1-D, but {type(self).__name__} was fitted on multilabel y "
                f"(a 0/1 matrix of {len(self.classes_)} columns)."
            )
        check_classification_targets(y)
        if reset:
            self._y_ndim = 1
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    f"the data, but the data contains only one class: {labels[0]!r}."
                )
            self.classes_ = labels
        encoded = np.searchsorted(self.classes_, y)
        known = (encoded < len(self.classes_)) & (
            self.classes_[np.minimum(encoded, len(self.classes_) - 1)] == y
        )
        if not np.all(known):
            raise ValueError(
                f"y contains labels {np.unique(y[~known]).tolist()} that are not "
                f"among the classes {self.classes_.tolist()} of the first fit; "
                "pass all classes with partial_fit(..., classes=...)."
            )
        return torch.from_numpy(encoded.astype(np.int64))

    def _encode_indicators(self, y, reset, classes):
        """Multilabel ``y``: a 0/1 indicator matrix, one column per label;
        ``classes_`` is ``arange(n_labels)`` (as scikit-learn's MLP sets
        it)."""
        name = type(self).__name__
        kind = type_of_target(y)
        if kind != "multilabel-indicator" or not np.isin(y, (0, 1)).all():
            raise ValueError(
                f"y should be 1-D class labels or, for multilabel "
                f"classification with {name}, a 2-D indicator matrix of 0/1 "
                f"values (one column per label); got 2-D y of type {kind!r}."
            )
        n_labels = y.shape[1]
        if reset:
            if classes is not None and len(classes) != n_labels:
                raise ValueError(
                    f"classes has {len(classes)} entries, but the multilabel y has "
                    f"{n_labels} columns (labels)."
                )
            self.classes_ = np.arange(n_labels)
            self._y_ndim = 2
        elif not self._multilabel() or n_labels != len(self.classes_):
            fitted = (
                f"multilabel y of {len(self.classes_)} labels"
                if self._multilabel()
                else "1-D y"
            )
            raise ValueError(
                f"y is a multilabel matrix of {n_labels} labels, but {name} was "
                f"fitted on {fitted}."
            )
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))

    def _training_weight(self, target, sample_weight):
        """``sample_weight`` times the weights ``class_weight`` gives the rows
        of ``target`` (:func:`sklearn.utils.class_weight.compute_sample_weight`
        of the rows trained on; both engines)."""
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return sample_weight
        labels = target.numpy()
        if labels.ndim == 2:
            labels = labels.astype(np.int64)
        else:
            labels = self.classes_[labels]
            if isinstance(class_weight, list):
                raise ValueError(
                    "class_weight as a list of dicts (one per label) is for "
                    "multilabel y; for 1-D y pass a dict {class: weight} or "
                    f"'balanced'; got {class_weight!r}."
                )
        weight = compute_sample_weight(class_weight, labels)
        return weight if sample_weight is None else weight * sample_weight

    def _n_outputs(self):
        return len(self.classes_)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (float32 or float64; pandas DataFrames keep their
            feature names). Sparse CSR/CSC matrices are densified batch by
            batch (not for CNNClassifier, whose images are dense).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type (ints, strings, ...); for
            MLPClassifier also a 0/1 indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the per-sample losses (multiplied by the
            weights of ``class_weight``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        The weights, optimizer state and random streams carry over between
        calls. No data is held out for early stopping; the first call builds
        the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (sparse: not for CNNClassifier).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (multilabel: a 0/1 indicator matrix).
        classes : array-like of shape (n_classes,), default=None
            All the classes of the problem; only used at the first call
            (default: the labels of that call's ``y``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the per-sample losses.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: each "
                "call would weigh the classes of its own rows. Pass the weights "
                "of the whole problem as a dict, for example class_weight=dict("
                "zip(classes, sklearn.utils.class_weight.compute_class_weight("
                "'balanced', classes=classes, y=y)))."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Predict class probabilities (softmax or per-label sigmoid).

        The softmax of the logits; for multilabel y, the sigmoid of each
        label's logit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples (for CNNClassifier also 4-D images, not sparse).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; for multilabel y, the
            probability of each label (columns need not sum to 1).
        """
        logits = self._predict_output(X).astype(np.float64)
        if self._multilabel():
            return expit(logits)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Predict class labels (or, for multilabel y, label indicators).

        The class of the largest logit; for multilabel y, each label whose
        probability exceeds 0.5.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples (for CNNClassifier also 4-D images, not sparse).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels, of the type of ``classes_``; for multilabel y
            a 0/1 int matrix.
        """
        output = self._predict_output(X)
        if self._multilabel():
            return (output > 0).astype(np.int64)
        return self.classes_[np.argmax(output, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = self._accept_2d_y
        tags.input_tags.sparse = self._accept_sparse
        return tags


class _BaseNeuralRegressor(RegressorMixin, _BaseNeural):
    """Regression with the mean squared error; 1-D or multi-output y."""

    def _encode_targets(self, y, reset, classes=None):
        y = np.asarray(y)
        y2d = y.reshape(len(y), -1).astype(np.float32)
        if y2d.size and not np.isfinite(y2d).all():
            raise ValueError("y holds values too large for float32; rescale y.")
        if reset:
            self.n_outputs_ = y2d.shape[1]
            self._y_ndim = y.ndim
        elif y2d.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2d.shape[1]} outputs, but {type(self).__name__} was fitted "
                f"with {self.n_outputs_}."
            )
        return torch.from_numpy(np.ascontiguousarray(y2d))

    def _n_outputs(self):
        return self.n_outputs_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (float32 or float64; pandas DataFrames keep their
            feature names). Sparse CSR/CSC matrices are densified batch by
            batch (not for CNNClassifier, whose images are dense).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the per-sample losses.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current state.

        The weights, optimizer state and random streams carry over between
        calls. No data is held out for early stopping; the first call builds
        the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs (sparse: not for CNNClassifier).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the per-sample losses.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when the model was fitted on 1-D y.
        """
        output = self._predict_output(X).astype(np.float64)
        return output.ravel() if self._y_ndim == 1 else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
