"""Multi-layer perceptrons: MLPClassifier and MLPRegressor."""

from numbers import Integral

import numpy as np

from sklopt.neural._modules import MLPModule
from sklopt.neural._supervised import _BaseNeuralClassifier, _BaseNeuralRegressor
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._validation import Interval

_HIDDEN_CONSTRAINT = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")]
}


def _check_sizes(sizes, name):
    """Validate a tuple of layer sizes; return it as a tuple of ints."""
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if not all(isinstance(s, Integral | np.integer) and s >= 1 for s in sizes):
        raise ValueError(f"{name} must hold positive integers; got {sizes!r}.")
    return tuple(int(s) for s in sizes)


class _MLPMixin:
    """The MLP architecture shared by MLPClassifier and MLPRegressor."""

    def _module_spec(self):
        return MLPModule, {
            "n_inputs": self.n_features_in_,
            "n_outputs": self._n_outputs(),
            "hidden_layer_sizes": _check_sizes(
                self.hidden_layer_sizes, "hidden_layer_sizes"
            ),
            "activation": self.activation,
            "dropout": float(self.dropout),
            "normalization": self.normalization,
        }

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        _check_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        if getattr(self, "cutmix_alpha", 0) > 0:
            raise ValueError(
                f"cutmix_alpha={self.cutmix_alpha} needs image input, but "
                f"{type(self).__name__} takes tabular features. Use CNNClassifier "
                "for images, or mixup_alpha for tabular data."
            )


@fill_doc
class MLPClassifier(_MLPMixin, _BaseNeuralClassifier):
    """Multi-layer perceptron classifier trained with skorch/torch.

    Trains the logits with cross-entropy (soft targets with label smoothing,
    mixup); every optimizer and regularizer of the deep-learning toolbox is
    a hyperparameter, so that ``GridSearchCV`` can compare them.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the hidden layers; ``()`` gives multinomial logistic
        regression.
    %(activation)s
    %(optimizer)s
    %(lr)s
    %(constants)s
    %(batch_size)s
    %(max_epochs)s
    %(lr_schedule)s
    %(stopping)s
    %(regularization)s
    normalization : {None, 'batch', 'layer', 'group'}, default=None
        Normalization layer after each hidden linear layer (before the
        activation). Instance normalization is for ``CNNClassifier``.
    %(noise)s
    %(label_smoothing)s
    %(mixup_alpha)s
    cutmix_alpha : float, default=0.0
        CutMix needs image input: use ``CNNClassifier``; a positive value
        raises a ValueError here.
    augmentation : None, 'noise', callable or list of those, default=None
        Applied to each training batch, never at prediction. ``'noise'``
        adds Gaussian noise with 0.1 times each feature's standard
        deviation; a callable ``f(X_batch, generator) -> X_batch`` gets the
        batch as a float32 torch tensor on the training device and a
        ``torch.Generator`` on that device to draw from.
    %(clip_grad_norm)s
    %(common_tail)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    %(attributes)s

    See Also
    --------
    MLPRegressor : The regression counterpart.
    CNNClassifier : A small convolutional network for images.
    sklearn.neural_network.MLPClassifier : Scikit-learn's NumPy MLP.

    Notes
    -----
    Sample weights multiply the per-sample losses after being scaled to mean
    1 over the training rows, so uniform weights give the unweighted loss and
    integer weights equal repeated rows for full-batch training.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklopt.neural import MLPClassifier
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), max_epochs=30,
    ...                     lr=0.01, device="cpu", random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> float(clf.score(X, y)) > 0.9
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        optimizer="adam",
        lr=None,
        momentum=None,
        betas=None,
        rho=None,
        eps=None,
        batch_size="auto",
        max_epochs=200,
        lr_schedule=None,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        weight_decay=0.0,
        l1=0.0,
        dropout=0.0,
        normalization=None,
        input_noise=0.0,
        weight_noise=0.0,
        label_smoothing=0.0,
        mixup_alpha=0.0,
        cutmix_alpha=0.0,
        augmentation=None,
        clip_grad_norm=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.betas = betas
        self.rho = rho
        self.eps = eps
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.weight_decay = weight_decay
        self.l1 = l1
        self.dropout = dropout
        self.normalization = normalization
        self.input_noise = input_noise
        self.weight_noise = weight_noise
        self.label_smoothing = label_smoothing
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.augmentation = augmentation
        self.clip_grad_norm = clip_grad_norm
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    _parameter_constraints: dict = {
        **_BaseNeuralClassifier._parameter_constraints,
        **_HIDDEN_CONSTRAINT,
    }


@fill_doc
class MLPRegressor(_MLPMixin, _BaseNeuralRegressor):
    """Multi-layer perceptron regressor trained with skorch/torch.

    Minimises the mean squared error (averaged over outputs for
    multi-output y); every optimizer and regularizer of the deep-learning
    toolbox is a hyperparameter.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the hidden layers; ``()`` gives linear regression.
    %(activation)s
    %(optimizer)s
    %(lr)s
    %(constants)s
    %(batch_size)s
    %(max_epochs)s
    %(lr_schedule)s
    %(stopping)s
    %(regularization)s
    normalization : {None, 'batch', 'layer', 'group'}, default=None
        Normalization layer after each hidden linear layer (before the
        activation).
    %(noise)s
    %(mixup_alpha)s
    augmentation : None, 'noise', callable or list of those, default=None
        Applied to each training batch, never at prediction. ``'noise'``
        adds Gaussian noise with 0.1 times each feature's standard
        deviation; a callable ``f(X_batch, generator) -> X_batch`` gets the
        batch as a float32 torch tensor on the training device and a
        ``torch.Generator`` on that device to draw from.
    %(clip_grad_norm)s
    %(common_tail)s

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.
    %(attributes)s

    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : Scikit-learn's NumPy MLP.

    Notes
    -----
    The targets are not rescaled: standardise y (for example with
    ``sklearn.compose.TransformedTargetRegressor``) when it is far from unit
    scale.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklopt.neural import MLPRegressor
    >>> X, y = make_regression(n_samples=100, n_features=4, noise=0.1,
    ...                        random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(), optimizer="sgd", lr=0.1,
    ...                    batch_size="full", max_epochs=300, device="cpu",
    ...                    random_state=0).fit(X, y / y.std())
    >>> float(reg.score(X, y / y.std())) > 0.99
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        optimizer="adam",
        lr=None,
        momentum=None,
        betas=None,
        rho=None,
        eps=None,
        batch_size="auto",
        max_epochs=200,
        lr_schedule=None,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        weight_decay=0.0,
        l1=0.0,
        dropout=0.0,
        normalization=None,
        input_noise=0.0,
        weight_noise=0.0,
        mixup_alpha=0.0,
        augmentation=None,
        clip_grad_norm=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.betas = betas
        self.rho = rho
        self.eps = eps
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.weight_decay = weight_decay
        self.l1 = l1
        self.dropout = dropout
        self.normalization = normalization
        self.input_noise = input_noise
        self.weight_noise = weight_noise
        self.mixup_alpha = mixup_alpha
        self.augmentation = augmentation
        self.clip_grad_norm = clip_grad_norm
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    _parameter_constraints: dict = {
        **_BaseNeuralRegressor._parameter_constraints,
        **_HIDDEN_CONSTRAINT,
    }
