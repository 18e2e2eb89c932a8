"""scikit-learn's ensemble tests that fail with sklopt's classes on purpose.

Read by ``run_sklearn_ensemble_tests.py``; mirrored, entry by entry and in
the same order, in ``docs/user_guide/differences.rst``
(``test_sklearn_peer.py`` checks that both agree). ``test`` is a pytest node
id relative to the copied files; ``fnmatch`` patterns (``*``, ``?``,
``[[]``) are allowed.
"""

EXPECTED_FAILURES = []
