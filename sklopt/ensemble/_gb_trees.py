"""The default tree of gradient boosting: scikit-learn's tree parameters,
the stage machinery specific to decision trees (float32 input, leaf
indices, subsample masks) and the tree-based attributes
(``feature_importances_``, ``apply``)."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse
from sklearn.tree import BaseDecisionTree, DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted

from sklopt.utils._validation import Interval, StrOptions

# scikit-learn's tree parameters of GradientBoosting*, with its defaults.
TREE_PARAMS = {
    "criterion": "deprecated",
    "min_samples_split": 2,
    "min_samples_leaf": 1,
    "min_weight_fraction_leaf": 0.0,
    "max_depth": 3,
    "min_impurity_decrease": 0.0,
    "max_features": None,
    "max_leaf_nodes": None,
    "ccp_alpha": 0.0,
}

TREE_CONSTRAINTS = {
    "criterion": [StrOptions({"deprecated", "friedman_mse", "squared_error"})],
    "min_samples_split": [
        Interval(Integral, 2, None, closed="left"),
        Interval(Real, 0.0, 1.0, closed="right"),
    ],
    "min_samples_leaf": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Real, 0.0, 1.0, closed="neither"),
    ],
    "min_weight_fraction_leaf": [Interval(Real, 0.0, 0.5, closed="both")],
    "max_depth": [Interval(Integral, 1, None, closed="left"), None],
    "min_impurity_decrease": [Interval(Real, 0.0, None, closed="left")],
    "max_features": [
        Interval(Integral, 1, None, closed="left"),
        Interval(Real, 0.0, 1.0, closed="right"),
        StrOptions({"sqrt", "log2"}),
        None,
    ],
    "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
    "ccp_alpha": [Interval(Real, 0.0, None, closed="left")],
}


def check_tree_params(ensemble):
    """Warn about ``criterion``; with an explicit ``estimator``, raise when
    a tree parameter is not at its default (it would have no effect)."""
    if ensemble.criterion != "deprecated":
        warnings.warn(
            "The parameter `criterion` is deprecated (as in scikit-learn 1.9) "
            "and has no effect: the trees use 'squared_error'. Leave it to its "
            "default value to avoid this warning.",
            FutureWarning,
            stacklevel=4,
        )
    if ensemble.estimator is None:
        return
    changed = sorted(
        name
        for name, default in TREE_PARAMS.items()
        if name != "criterion" and getattr(ensemble, name) != default
    )
    if changed:
        raise ValueError(
            f"The tree parameters {changed} apply to the default tree "
            "(estimator=None) only; with an explicit estimator, set them on "
            "that estimator instead and leave them at their defaults here."
        )


def default_tree(ensemble):
    """The unfitted regression tree that ``estimator=None`` stands for."""
    params = {n: getattr(ensemble, n) for n in TREE_PARAMS if n != "criterion"}
    return DecisionTreeRegressor(criterion="squared_error", **params)


def resolve_max_features(max_features, n_features):
    """``max_features_``: the number of features each split considers."""
    if max_features is None:
        return n_features
    if max_features == "sqrt":
        return max(1, int(np.sqrt(n_features)))
    if max_features == "log2":
        return max(1, int(np.log2(n_features)))
    if isinstance(max_features, Integral):
        return int(max_features)
    return max(1, int(max_features * n_features))


def random_sample_mask(n_samples, n_in_bag, rng):
    """``n_in_bag`` of ``n_samples`` rows, drawn without replacement as
    scikit-learn's gradient boosting draws them (selection sampling on
    ``rng.uniform(size=n_samples)``), so that the same ``random_state``
    subsamples the same rows."""
    u = rng.uniform(size=n_samples).tolist()  # Python floats: a faster loop
    mask = [False] * n_samples
    taken = 0
    for i, ui in enumerate(u):
        if ui * (n_samples - i) < n_in_bag - taken:
            mask[i] = True
            taken += 1
    return np.array(mask, dtype=bool)


def tree_input(estimator, X):
    """X as C-ordered float32 when ``estimator`` is a scikit-learn decision tree
    and X is dense and finite, else None.

    Trees convert X to float32 and validate it at every ``fit`` and
    ``apply``; with the converted X they can skip that (``check_input=False``),
    as scikit-learn's own gradient boosting does. The fitted trees are the same.
    """
    if not isinstance(estimator, BaseDecisionTree) or issparse(X):
        return None
    try:
        X32 = np.ascontiguousarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    return X32 if np.isfinite(X32).all() else None


def leaf_indices(member, X, **kwargs):
    """Leaf index of each row when ``member.apply`` gives one (decision
    trees), else None."""
    apply = getattr(member, "apply", None)
    if apply is None:
        return None
    leaves = np.asarray(apply(X, **kwargs))
    if leaves.ndim != 1 or not np.issubdtype(leaves.dtype, np.integer):
        return None
    return leaves


def lookup(table, leaves):
    """``table[leaves]``, 0 for leaves that no training row reached."""
    out = np.zeros(leaves.shape[0])
    known = leaves < table.shape[0]
    out[known] = table[leaves[known]]
    return out


def set_tree_leaves(member, table, visited):
    """Write the line-searched leaf values into a scikit-learn tree, so that
    ``member.predict`` gives the stage's contribution (before the learning
    rate), as in scikit-learn's gradient boosting."""
    if isinstance(member, BaseDecisionTree):
        member.tree_.value[visited, 0, 0] = table[visited]
        return True
    return False


class TreeAttributesMixin:
    """``feature_importances_`` and ``apply`` of boosted trees."""

    @property
    def feature_importances_(self):
        """Impurity-based feature importances, averaged over the trees.

        As scikit-learn's: the mean over every tree with more than one node
        of its unnormalized importances, normalized to sum to 1 (all zeros
        when every tree is a single leaf). Only for decision-tree members
        (the default); other members raise an AttributeError.

        Returns
        -------
        feature_importances_ : ndarray of shape (n_features,)
        """
        check_is_fitted(self)
        trees = [m for m in self.estimators_.ravel() if hasattr(m, "tree_")]
        if len(trees) != self.estimators_.size:
            raise AttributeError(
                "feature_importances_ is available for decision-tree members "
                f"only, not for {type(self.estimator_).__name__}."
            )
        relevant = [t for t in trees if t.tree_.node_count > 1]
        if not relevant:
            return np.zeros(self.n_features_in_, dtype=np.float64)
        importances = np.mean(
            [t.tree_.compute_feature_importances(normalize=False) for t in relevant],
            axis=0,
            dtype=np.float64,
        )
        return importances / importances.sum()

    def apply(self, X):
        """Leaf index of every row in every member (decision-tree members).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        X_leaves : ndarray of shape (n_samples, `n_estimators_`, n_outputs)
            For each row and member, the index of the leaf the row ends up in
            (``n_outputs`` is 1 for regression and two classes).
        """
        X = self._validate_predict_X(X)
        n_stages, n_outputs = self.estimators_.shape
        leaves = np.zeros((X.shape[0], n_stages, n_outputs))
        for i in range(n_stages):
            for k in range(n_outputs):
                member_leaves = leaf_indices(self.estimators_[i, k], X)
                if member_leaves is None:
                    raise AttributeError(
                        "apply is available for members with leaves (decision "
                        f"trees) only, not for {type(self.estimator_).__name__}."
                    )
                leaves[:, i, k] = member_leaves
        return leaves
