"""Device resolution and the random streams of one training run.

Every random draw of a fit comes from one integer seed, derived from
``random_state`` by :func:`_derive_seed`. :class:`_RandomStreams` splits that
seed with :class:`numpy.random.SeedSequence` into independent streams (see
its docstring for the list); neither numpy's nor torch's global generator is
ever drawn from or reseeded.
"""

import threading

import numpy as np
import torch
from sklearn.utils import check_random_state

from sklopt.utils._random import MAX_SEED

_STREAM_NAMES = ("init", "split", "shuffle", "noise", "dropout", "augment", "mixing")

# Weight initialisation seeds torch's process-wide CPU generator: fits running
# in threads (joblib's threading backend) take turns, or one fit's weights
# would be drawn from another's seed.
_INIT_LOCK = threading.Lock()


def _resolve_device(device):
    """Turn the ``device`` parameter into a torch device string.

    Parameters
    ----------
    device : str
        ``'auto'`` (CUDA when available, else CPU), ``'cpu'``, ``'cuda'`` or
        any torch device string such as ``'cuda:1'``.

    Returns
    -------
    device : str
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            "device must be 'auto', 'cpu', 'cuda' or a torch device string such "
            f"as 'cuda:1'; got {device!r}."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' or device='cpu'."
        )
    return str(resolved)


def _derive_seed(random_state):
    """Draw the integer seed of one fit from ``random_state``.

    An int gives the same seed at every call, a ``RandomState`` instance a
    new one at each call (it is advanced by one draw), ``None`` a fresh seed
    from the operating system's entropy (numpy's global generator is not
    used).

    Parameters
    ----------
    random_state : int, RandomState instance or None

    Returns
    -------
    seed : int in [0, 2**31 - 1)
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % MAX_SEED)
    return int(check_random_state(random_state).randint(MAX_SEED))


class _RandomStreams:
    """The independent random streams of one training run.

    ``np.random.SeedSequence(seed).generate_state(7)`` gives seven 32-bit
    seeds, in this order:

    ``init``
        Weight initialisation: the module is built on the CPU inside
        ``torch.random.fork_rng`` after seeding the CPU default generator with
        it (the global state is restored afterwards).
    ``split``
        The early-stopping hold-out split (``train_test_split(random_state=
        seed)``); the same split at every warm-started ``fit``.
    ``shuffle``
        A CPU ``torch.Generator``: one ``torch.randperm(n)`` per epoch.
    ``noise``
        A ``torch.Generator`` on the training device: input noise, then weight
        noise, for each batch.
    ``dropout``
        A ``torch.Generator`` on the training device: the dropout masks, in
        forward order of the dropout layers.
    ``augment``
        A ``torch.Generator`` on the training device, passed to the
        augmentation functions.
    ``mixing``
        A :class:`numpy.random.Generator` (PCG64) for mixup and CutMix: per
        batch, the mixup/CutMix switch (only when both are on), lambda ~
        Beta(alpha, alpha), the pairing permutation, and CutMix's box centre.

    The generators continue across ``partial_fit`` calls and warm-started
    fits. They pickle with the estimator; when a pickle made with CUDA
    generators is loaded where CUDA is missing, the device streams restart
    from their seeds on the CPU.

    Parameters
    ----------
    seed : int
        The seed of the run (see :func:`_derive_seed`).
    device : str
        The training device (for the noise, dropout and augmentation streams).
    """

    def __init__(self, seed, device="cpu"):
        self.seed = int(seed)
        self.device = str(device)
        states = np.random.SeedSequence(self.seed).generate_state(len(_STREAM_NAMES))
        self.seeds = {name: int(s) for name, s in zip(_STREAM_NAMES, states)}
        self._build()

    def _build(self):
        self.shuffle = torch.Generator("cpu").manual_seed(self.seeds["shuffle"])
        self.noise = torch.Generator(self.device).manual_seed(self.seeds["noise"])
        self.dropout = torch.Generator(self.device).manual_seed(self.seeds["dropout"])
        self.augment = torch.Generator(self.device).manual_seed(self.seeds["augment"])
        self.mixing = np.random.default_rng(self.seeds["mixing"])

    def __getstate__(self):
        return {
            "seed": self.seed,
            "device": self.device,
            "seeds": self.seeds,
            "torch_states": {
                name: getattr(self, name).get_state()
                for name in ("shuffle", "noise", "dropout", "augment")
            },
            "mixing_state": self.mixing.bit_generator.state,
        }

    def __setstate__(self, state):
        self.seed, self.seeds = state["seed"], state["seeds"]
        self.device = state["device"]
        on_missing_cuda = (
            torch.device(self.device).type == "cuda" and not torch.cuda.is_available()
        )
        if on_missing_cuda:
            self.device = "cpu"
        self._build()
        for name, value in state["torch_states"].items():
            if on_missing_cuda and name != "shuffle":
                continue
            getattr(self, name).set_state(value)
        self.mixing.bit_generator.state = state["mixing_state"]

    def init_module(self, factory):
        """Call ``factory()`` with the CPU generator seeded by the ``init``
        stream, restoring torch's global CPU random state afterwards (one
        thread at a time).

        Parameters
        ----------
        factory : callable
            Builds and returns the module (or the initialised skorch net).

        Returns
        -------
        result : object
            What ``factory`` returned.
        """
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(self.seeds["init"])
            return factory()
