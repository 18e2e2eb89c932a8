"""scikit-learn's ensemble tests that fail with sklopt's classes on purpose.

Read by ``run_sklearn_ensemble_tests.py``; mirrored, entry by entry and in
the same order, in ``docs/user_guide/differences.rst``
(``test_sklearn_peer.py`` checks that both agree). ``test`` is a pytest node
id relative to the copied files; ``fnmatch`` patterns (``*``, ``?``,
``[[]``) are allowed. Measured with scikit-learn 1.9.1.
"""

EXPECTED_FAILURES = [
    {
        "test": "test_weight_boosting.py::test_oneclass_adaboost_proba",
        "reason": (
            "sklopt's ``AdaBoostClassifier`` refuses ``y`` with a single class "
            "(a ValueError naming it: nothing can be boosted); scikit-learn "
            "fits and predicts probability 1."
        ),
    },
    {
        "test": "test_weight_boosting.py::test_adaboost_classifier_sample_weight_error",
        "reason": (
            "Message wording only: both raise a ValueError for a "
            "``sample_weight`` of the wrong length; sklopt's says 'sample_weight "
            "has 1 entries; X has 6 rows.'"
        ),
    },
    {
        "test": "test_weight_boosting.py::test_adaboost_negative_weight_error[[]*]",
        "reason": (
            "Message wording only: both raise a ValueError for negative "
            "``sample_weight``; sklopt's says 'sample_weight must not hold "
            "negative values.'"
        ),
    },
    {
        "test": "test_weight_boosting.py::test_multidimensional_X",
        "reason": (
            "sklopt's ensembles validate X as 2-D (or sparse) before the "
            "members see it; scikit-learn's AdaBoost passes 3-D X through to "
            "a base estimator that accepts it."
        ),
    },
    {
        "test": "test_weight_boosting.py::test_adaboostclassifier_without_sample_weight",
        "reason": (
            "A base estimator without ``sample_weight`` is boosted by weighted "
            "resampling (``resample='auto'``, a sklopt feature); scikit-learn "
            "raises. ``resample=False`` raises as scikit-learn does."
        ),
    },
    {
        "test": "test_gradient_boosting.py::test_verbose_output",
        "reason": (
            "``verbose > 0`` shows a progress bar (as every sklopt estimator), "
            "not scikit-learn's printed table of losses; ``train_score_`` and "
            "``oob_improvement_`` hold the same numbers."
        ),
    },
    {
        "test": "test_gradient_boosting.py::test_more_verbose_output",
        "reason": "As ``test_verbose_output``: a progress bar, not a printed table.",
    },
    {
        "test": "test_gradient_boosting.py::test_huber_overfit",
        "reason": (
            "Reads ``_loss.closs.delta``, an internal of scikit-learn's loss "
            "objects; sklopt's Huber loss keeps its threshold as "
            "``_loss.delta``. The fitted model passes the test's other checks."
        ),
    },
]
