"""Classification and regression bases of the neural estimators: target
encoding, ``fit``/``partial_fit`` signatures and prediction."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets

from sklopt.neural._base import _BaseNeural
from sklopt.utils._validation import Interval, Real, _fit_context


class _BaseNeuralClassifier(ClassifierMixin, _BaseNeural):
    """Classification: labels of any type encoded to ``classes_`` indices,
    logits trained with (soft-target) cross-entropy."""

    _classification = True

    _parameter_constraints: dict = {
        **_BaseNeural._parameter_constraints,
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "cutmix_alpha": [Interval(Real, 0, None, closed="left")],
    }

    def _encode_targets(self, y, reset, classes=None):
        check_classification_targets(y)
        if reset:
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

    def _n_outputs(self):
        return len(self.classes_)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (float32 or float64; pandas DataFrames keep their
            feature names).
        y : array-like of shape (n_samples,)
            Class labels of any type (ints, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the per-sample losses.

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
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
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
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Predict class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples (for CNNClassifier also 4-D images).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        logits = self._predict_output(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Predict class labels (the class of the largest logit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples (for CNNClassifier also 4-D images).

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels, of the type of ``classes_``.
        """
        indices = np.argmax(self._predict_output(X), axis=1)
        return self.classes_[indices]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
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
        X : array-like of shape (n_samples, n_features)
            Training inputs (float32 or float64; pandas DataFrames keep their
            feature names).
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
        X : array-like of shape (n_samples, n_features)
            Training inputs.
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
        X : array-like of shape (n_samples, n_features)
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
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
