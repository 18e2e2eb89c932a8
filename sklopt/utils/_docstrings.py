"""Parameter descriptions shared by many docstrings, written once.

A docstring line holding only ``%(name)s`` (for a key of ``SHARED``) is
replaced by that text, re-indented to the placeholder's indentation.
Apply :func:`fill_doc` to the class or function.
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
    if obj.__doc__:
        obj.__doc__ = _substitute(obj.__doc__)
    return obj
