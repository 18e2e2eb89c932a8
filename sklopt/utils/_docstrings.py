"""Parameter descriptions shared by many docstrings, written once.

A docstring line holding only ``%(name)s`` (for a key of ``SHARED``) is
replaced by that text, re-indented to the placeholder's indentation (texts
may hold placeholders themselves). Apply :func:`fill_doc` to the class or
function. The neural estimators' texts are the second table.
"""

import re
import textwrap

SHARED = {
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Controls the randomness. Pass an int for reproducible output across
    multiple calls. See :term:`Glossary <random_state>`.""",
    "n_jobs": """\
n_jobs : int, default=None
    Number of jobs to run in parallel through joblib. ``None`` means 1
    unless in a :func:`joblib.parallel_backend` context (for example
    ``"dask"``); ``-1`` means all processors. Seeds are drawn before the
    work is dispatched, so the same models are fitted on the same rows with
    the same seeds whatever ``n_jobs``. Results are bit-identical too,
    except that networks may differ in the last bits when the workers use
    another number of PyTorch threads than the main process (see
    :ref:`parallel_reproducibility`).""",
    "device": """\
device : {'auto', 'cpu', 'cuda'} or str, default='auto'
    Where the network is trained. ``'auto'`` picks CUDA when it is
    available, else the CPU. The device used is stored in ``device_``.
    Bit-identical results are promised on the CPU only.""",
    "verbose": """\
verbose : int, default=0
    Verbosity; ``verbose > 0`` shows a progress bar.""",
}

# ---- the neural estimators ---------------------------------------------------
NEURAL = {
    "activation": """\
activation : {'relu', 'tanh', 'logistic', 'gelu', 'elu', 'selu', 'silu', \
'leaky_relu', 'softplus', 'identity'}, default='relu'
    Activation function of the hidden layers.""",
    "optimizer": """\
optimizer : {'sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta', \
'rmsprop', 'adam', 'adamw'} or torch.optim.Optimizer subclass, default='adam'
    The gradient-descent method (formulas and torch equivalents in the
    :ref:`User Guide <optimizers>`): ``'sgd'`` plain SGD,
    ``'momentum'`` heavy-ball momentum, ``'nesterov'`` Nesterov accelerated
    gradient, ``'adagrad'``, ``'adadelta'``, ``'rmsprop'``, ``'adam'``,
    ``'adamw'`` (Adam with decoupled weight decay). A torch optimizer class
    gets ``lr``, ``weight_decay`` and those of ``momentum``, ``betas``,
    ``rho``, ``eps`` that are not None.""",
    "lr": """\
lr : float or None, default=None
    Learning rate. None uses the optimizer's usual value: 0.01 for
    'sgd', 'momentum', 'nesterov' and 'adagrad', 0.001 for 'rmsprop',
    'adam' and 'adamw', 1.0 for 'adadelta' (which then has no learning
    rate), the class default for a torch class.""",
    "constants": """\
momentum : float in [0, 1] or None, default=None
    Momentum coefficient beta of 'momentum' and 'nesterov' (None: 0.9) and
    of 'rmsprop' (None: 0); ignored by the other optimizers.
betas : tuple of two floats in [0, 1) or None, default=None
    Adam/AdamW decay rates (beta1, beta2) of the moment estimates (None:
    (0.9, 0.999)); ignored by the other optimizers.
rho : float in [0, 1] or None, default=None
    Decay rate gamma of the squared-gradient average of 'rmsprop' (None:
    0.99) and 'adadelta' (None: 0.9); ignored by the other optimizers.
eps : float or None, default=None
    Numerical-stability constant (None: 1e-8 for 'adam', 'adamw' and
    'rmsprop', 1e-10 for 'adagrad', 1e-6 for 'adadelta').""",
    "batch_size": """\
batch_size : int, 'auto' or 'full', default='auto'
    Samples per gradient step: 1 is stochastic gradient descent, an int
    mini-batch gradient descent (clipped to the number of training
    samples), 'full' batch gradient descent, 'auto' ``min(200,
    n_samples)``. The training rows are shuffled at each epoch.""",
    "max_epochs": """\
max_epochs : int, default=200
    Maximum number of passes over the training data.""",
    "lr_schedule": """\
lr_schedule : {None, 'step', 'cosine', 'plateau'}, default=None
    Learning-rate schedule over epochs: 'step' multiplies lr by 0.1 every
    ``max_epochs // 3`` epochs, 'cosine' anneals it to 0 over
    ``max_epochs``, 'plateau' multiplies it by 0.1 when the monitored
    loss (validation loss with early stopping, else training loss) has
    not improved by ``tol`` for ``patience // 2`` epochs.""",
    "stopping": """\
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (stratified for
    classifiers), stop when the validation loss has not improved by more
    than ``tol`` for ``patience`` epochs, and restore the weights of the
    best epoch (``best_epoch_``). When False no data is held out and
    training stops when the training loss has not improved by more than
    ``tol`` for ``patience`` epochs (or at ``max_epochs``).
validation_fraction : float in (0, 1), default=0.1
    Share of the training data held out with ``early_stopping=True``.
patience : int, default=10
    Epochs without improvement before stopping (either rule).
tol : float, default=1e-4
    Minimum decrease of the monitored loss that counts as improvement.""",
    "regularization": """\
weight_decay : float, default=0.0
    L2 coefficient alpha: the penalty ``alpha / 2 * ||W||^2`` on the
    weights of the linear and convolutional layers (not on biases or
    normalization parameters), i.e. the gradient term ``alpha * W``. For
    'adamw' it is the decoupled decay ``W <- W - lr * alpha * W``.
l1 : float, default=0.0
    L1 coefficient: the penalty ``l1 * sum |W|`` on the same weights.
dropout : float in [0, 1), default=0.0
    Probability of zeroing each hidden unit in training (the others are
    scaled by ``1 / (1 - dropout)``); off at prediction.""",
    "noise": """\
input_noise : float, default=0.0
    Standard deviation of Gaussian noise added to the inputs of each
    training batch (not at prediction).
weight_noise : float, default=0.0
    Standard deviation of Gaussian noise added to the weights for the
    forward and backward pass of each training step; the update is
    applied to the clean weights (not at prediction).""",
    "label_smoothing": """\
label_smoothing : float in [0, 1), default=0.0
    Train on the targets ``(1 - eps) * onehot + eps / n_classes``. Applied
    before mixup/CutMix.""",
    "mixup_alpha": """\
mixup_alpha : float, default=0.0
    Mixup (Zhang et al., 2018): each training batch is mixed with a
    permutation of itself, ``x = lam x_i + (1 - lam) x_j`` with ``lam ~
    Beta(alpha, alpha)`` per batch, targets and sample weights likewise.
    0 turns it off.""",
    "cutmix_alpha": """\
cutmix_alpha : float, default=0.0
    CutMix (Yun et al., 2019), image input only: a box of side ratio
    ``sqrt(1 - lam)``, ``lam ~ Beta(alpha, alpha)``, is pasted from a
    permuted image; targets are mixed by the box's area after clipping.
    With ``mixup_alpha > 0`` too, each batch uses one of the two with
    probability 1/2. 0 turns it off.""",
    "clip_grad_norm": """\
clip_grad_norm : float or None, default=None
    Rescale the gradients so that their global L2 norm is at most this.""",
    "common_tail": """\
%(device)s
%(random_state)s
%(verbose)s
warm_start : bool, default=False
    When True, ``fit`` continues training the fitted network (weights,
    optimizer state, history and random streams) for ``max_epochs``
    more epochs instead of starting anew.""",
    "attributes": """\
n_features_in_ : int
    Number of features seen during fit.
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of the features, when X was a DataFrame with string column names.
n_iter_ : int
    Number of epochs trained (over all fits that continued training).
best_epoch_ : int
    Epoch whose weights the estimator holds: the best validation epoch with
    early stopping, else the last one.
history_ : pandas.DataFrame
    One row per epoch: epoch, train_loss (mean training loss of the epoch's
    batches, with the mixed/smoothed targets), valid_loss, valid_score
    (NaN without early stopping), lr, dur (seconds).
net_ : skorch.NeuralNet
    The fitted skorch net (``net_.module_`` is the torch module).
device_ : str
    The device the network was trained on.""",
}
SHARED.update(NEURAL)

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<key>\w+)\)s[ \t]*$", re.MULTILINE)


def _substitute(doc):
    def repl(match):
        key = match.group("key")
        if key not in SHARED:
            return match.group(0)
        return textwrap.indent(SHARED[key], match.group("indent"))

    return _PLACEHOLDER.sub(repl, doc)


def fill_doc(obj):
    """Substitute the shared parameter descriptions into ``obj.__doc__``.

    Parameters
    ----------
    obj : class or function
        Object whose docstring holds ``%(key)s`` placeholder lines.

    Returns
    -------
    obj : class or function
        The same object, with its docstring filled in.
    """
    doc = obj.__doc__
    while doc and _substitute(doc) != doc:
        doc = _substitute(doc)
    if doc:
        obj.__doc__ = doc
    return obj
