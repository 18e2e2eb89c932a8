"""A small convolutional network classifier for images."""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from sklopt.neural._mlp import _check_sizes
from sklopt.neural._modules import CNN_NORMALIZATIONS, CNNModule, _image_side
from sklopt.neural._supervised import _BaseNeuralClassifier
from sklopt.utils._docstrings import fill_doc
from sklopt.utils._validation import Interval, StrOptions


def _as_images(X):
    """Return ``(X_2d, image_shape)`` for 4-D array input, else ``(X, None)``."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, list | tuple):
        X = np.asarray(X)
        ndim = X.ndim
    if ndim == 4:
        X = np.asarray(X)
        return X.reshape(len(X), -1), tuple(int(s) for s in X.shape[1:])
    return X, None


def _resolve_image_shape(image_shape, n_features, input_shape):
    """The ``(C, H, W)`` of the training images (see CNNClassifier)."""
    if image_shape is None:
        if input_shape is not None:
            return input_shape
        side = _image_side(n_features)
        if side is None:
            raise ValueError(
                f"CNNClassifier needs image input: 4-D X of shape (n, C, H, W), 2-D X "
                f"with image_shape=(C, H, W), or 2-D X of square single-channel "
                f"images; got 2-D X with {n_features} features, which is not a "
                "square number. Pass image_shape."
            )
        return (1, side, side)
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(
        isinstance(s, Integral | np.integer) and (s >= 1 or s == -1) for s in shape
    ):
        raise ValueError(
            "image_shape must be None or (C, H, W): three positive ints, one of "
            f"which may be -1 (inferred from n_features); got {image_shape!r}."
        )
    if shape.count(-1) > 1:
        raise ValueError(f"image_shape may hold at most one -1; got {image_shape!r}.")
    known = int(np.prod([s for s in shape if s != -1]))
    if -1 in shape:
        if n_features % known:
            raise ValueError(
                f"image_shape={image_shape!r} does not divide the {n_features} "
                "features of X."
            )
        shape = tuple(n_features // known if s == -1 else int(s) for s in shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {int(np.prod(shape))} pixel values, "
            f"but X has {n_features} features per sample."
        )
    if input_shape is not None and input_shape != shape:
        raise ValueError(
            f"image_shape={image_shape!r} does not match the shape {input_shape} "
            "of the 4-D input X."
        )
    return shape


@fill_doc
class CNNClassifier(_BaseNeuralClassifier):
    """Small convolutional network classifier for images, trained with skorch.

    Each entry of ``channels`` adds a block ``Conv2d(3x3) -> normalization
    -> activation -> MaxPool(2) -> dropout``; a linear head follows. All
    optimizers and regularizers of the MLPs apply, plus instance
    normalization, CutMix and image augmentations.

    Parameters
    ----------
    channels : tuple of int, default=(32, 64)
        Output channels of the convolutional blocks.
    %(activation)s
    image_shape : tuple (C, H, W) or None, default=None
        Shape of one image when X is 2-D (rows of C*H*W pixel values in C,
        H, W order). One entry may be -1, inferred from the number of
        features (``(1, 1, -1)`` treats each row as a 1-D signal). None
        takes the shape of 4-D X, or square single-channel images
        (n_features = H * H) for 2-D X.
    %(optimizer)s
    %(lr)s
    %(constants)s
    %(batch_size)s
    %(max_epochs)s
    %(lr_schedule)s
    %(stopping)s
    %(regularization)s
    normalization : {None, 'batch', 'layer', 'group', 'instance'}, default=None
        Normalization layer after each convolution (before the activation);
        'layer' normalises over (C, H, W), 'instance' over (H, W) per
        channel, 'group' over groups of channels.
    %(noise)s
    %(label_smoothing)s
    %(mixup_alpha)s
    %(cutmix_alpha)s
    augmentation : None, str, callable or list of those, default=None
        Applied to each training batch, never at prediction: 'flip'
        (horizontal, probability 1/2), 'shift' (random translation by up to
        1 pixel, 2 for images larger than 16 x 16), 'crop' (random crop of
        80-100%% of each side, resized back), 'noise' (Gaussian, 0.1 times
        each pixel's standard deviation). A callable ``f(X_batch, generator)
        -> X_batch`` gets a float32 torch tensor of shape (n, C, H, W) on the
        training device and a ``torch.Generator`` on that device.
    %(clip_grad_norm)s
    %(common_tail)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    image_shape_ : tuple (C, H, W)
        Shape of the training images.
    %(attributes)s

    See Also
    --------
    MLPClassifier : Fully connected network for tabular data.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklopt.neural import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNClassifier(channels=(4,), max_epochs=2, device="cpu",
    ...                     random_state=0).fit(X[:200] / 16, y[:200])
    >>> clf.image_shape_
    (1, 8, 8)
    >>> clf.predict_proba(X[:3] / 16).shape
    (3, 10)
    """

    _image_input = True

    _parameter_constraints: dict = {
        **_BaseNeuralClassifier._parameter_constraints,
        "channels": ["array-like", Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "normalization": [StrOptions(set(CNN_NORMALIZATIONS)), None],
    }

    def __init__(
        self,
        channels=(32, 64),
        activation="relu",
        *,
        image_shape=None,
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
        self.channels = channels
        self.activation = activation
        self.image_shape = image_shape
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

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        _check_sizes(self.channels, "channels")

    def _validate_training_data(
        self, X, y, sample_weight, reset=True, classes=None, input_shape=None
    ):
        X, input_shape = _as_images(X)
        if not reset and input_shape is not None and input_shape != self.image_shape_:
            raise ValueError(
                f"X has images of shape {input_shape}, but CNNClassifier was fitted "
                f"on images of shape {self.image_shape_}."
            )
        return super()._validate_training_data(
            X, y, sample_weight, reset=reset, classes=classes, input_shape=input_shape
        )

    def _inputs_from_2d(self, X, reset=False, input_shape=None):
        if reset:
            self.image_shape_ = _resolve_image_shape(
                self.image_shape, X.shape[1], input_shape
            )
        return X.reshape(len(X), *self.image_shape_)

    def _validate_predict_X(self, X):
        check_is_fitted(self)
        X, input_shape = _as_images(X)
        if input_shape is not None and input_shape != self.image_shape_:
            raise ValueError(
                f"X has images of shape {input_shape}, but CNNClassifier was "
                f"fitted on images of shape {self.image_shape_}."
            )
        return super()._validate_predict_X(X)

    def _check_data_dependent(self, X_train):
        _, height, width = self.image_shape_
        if self.normalization == "instance" and height * width < 2:
            raise ValueError(
                "normalization='instance' needs images of more than one pixel; "
                f"got image shape {self.image_shape_}."
            )

    def _module_spec(self):
        return CNNModule, {
            "image_shape": tuple(self.image_shape_),
            "n_outputs": self._n_outputs(),
            "channels": _check_sizes(self.channels, "channels"),
            "activation": self.activation,
            "dropout": float(self.dropout),
            "normalization": self.normalization,
        }
