"""Loss functions of gradient boosting, written for any base regressor.

Raw predictions ``raw`` have shape (n_samples, n_outputs): one column for
regression and binary classification, one per class for multinomial
classification. Each loss gives

- ``neg_gradient``: the pseudo-residuals the base regressors are fitted to;
- ``leaf_values``: the loss-optimal constant to add in each region (tree
  leaf), Friedman's terminal-region update, from the rows of each leaf;
- ``step``: the multiplier of a stage's output that lowers the loss (a line
  search on the whole stage, for base regressors without leaves);
- ``__call__``: the weighted mean loss on scikit-learn's scale
  (``train_score_``, ``oob_scores_``, early stopping): the squared error,
  the absolute error, Huber's loss, the pinball loss, the exponential loss,
  the multinomial log-loss and, for two classes, the binomial deviance
  (twice the mean log-loss), as scikit-learn's gradient boosting reports
  them;
- ``raw_from_proba`` (classification): the raw score of class
  probabilities (the link function), for the initial estimator.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit, logsumexp
from scipy.special import softmax as _softmax

# Below this curvature, a Newton step is 0: the loss cannot be lowered.
_TINY = 1e-150
# Probabilities of an initial estimator are clipped to [_EPS, 1 - _EPS].
_EPS = np.finfo(np.float64).eps


def _weighted_quantile(values, weights, q):
    """The smallest value whose weighted CDF reaches ``q`` (numpy's
    'inverted_cdf' method, as scikit-learn's gradient boosting uses)."""
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(weights[order])
    index = np.searchsorted(cdf, q * cdf[-1], side="left")
    return values[order[min(index, len(values) - 1)]]


def _as_2d(raw, y):
    """Raw predictions as a column per output (a 1-D decision function too)."""
    raw = np.asarray(raw, dtype=np.float64)
    return raw.reshape(len(y), -1)


def _safe_ratio(numerator, denominator):
    return 0.0 if abs(denominator) < _TINY else float(numerator / denominator)


def _grouped_ratio(leaves, n_leaves, numerator, denominator):
    """Per leaf: sum(numerator) / sum(denominator), 0 where the sum of
    ``denominator`` is (nearly) zero."""
    top = np.bincount(leaves, weights=numerator, minlength=n_leaves)
    bottom = np.bincount(leaves, weights=denominator, minlength=n_leaves)
    safe = np.abs(bottom) >= _TINY
    out = np.zeros(n_leaves)
    out[safe] = top[safe] / bottom[safe]
    return out


def _newton_per_leaf(leaves, n_leaves, neg_g, hessian, w, factor=1.0):
    """Per leaf: ``factor * average(neg_g) / average(hessian)`` (weights
    ``w``), one Newton step, computed leaf by leaf in the order of
    scikit-learn's gradient boosting so that ties between splits of later
    trees are broken alike; 0 where the curvature is (nearly) zero."""

    def newton(rows):
        numerator = factor * np.average(neg_g[rows], weights=w[rows])
        return _safe_ratio(numerator, np.average(hessian[rows], weights=w[rows]))

    return _per_leaf(leaves, n_leaves, newton)


def _per_leaf(leaves, n_leaves, value_of_rows):
    """Apply ``value_of_rows(row_indices)`` to the rows of every occupied leaf."""
    out = np.zeros(n_leaves)
    order = np.argsort(leaves, kind="stable")
    sorted_leaves = leaves[order]
    starts = np.flatnonzero(np.r_[True, sorted_leaves[1:] != sorted_leaves[:-1]])
    for start, stop in zip(starts, np.r_[starts[1:], len(order)]):
        out[sorted_leaves[start]] = value_of_rows(order[start:stop])
    return out


class _SquaredError:
    n_outputs = 1

    def neg_gradient(self, y, raw):
        return (y - raw[:, 0])[:, np.newaxis]

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        return float(np.average((y - raw[:, 0]) ** 2, weights=w))

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        return _grouped_ratio(leaves, n_leaves, w * neg_g, w)

    def step(self, y, raw, h, w, k):
        residual = y - raw[:, 0]
        return _safe_ratio(np.sum(w * residual * h), np.sum(w * h * h))


class _AbsoluteError:
    n_outputs = 1

    def neg_gradient(self, y, raw):
        return np.sign(y - raw[:, 0])[:, np.newaxis]

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        return float(np.average(np.abs(y - raw[:, 0]), weights=w))

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        residual = y - raw
        return _per_leaf(
            leaves, n_leaves, lambda r: _weighted_quantile(residual[r], w[r], 0.5)
        )

    def step(self, y, raw, h, w, k):
        # argmin_g sum w |r - g h| is a weighted median of r / h, weights w |h|.
        keep = (h != 0) & (w > 0)
        if not keep.any():
            return 0.0
        residual = y[keep] - raw[keep, 0]
        return float(
            _weighted_quantile(residual / h[keep], w[keep] * np.abs(h[keep]), 0.5)
        )


class _HuberLoss:
    """Huber loss; ``delta`` is the ``alpha`` quantile of the absolute
    residuals, re-estimated at every stage (Friedman 2001)."""

    n_outputs = 1

    def __init__(self, alpha):
        self.alpha = alpha
        self.delta = None

    def update_delta(self, y, raw, w):
        self.delta = float(_weighted_quantile(np.abs(y - raw[:, 0]), w, self.alpha))

    def neg_gradient(self, y, raw):
        residual = y - raw[:, 0]
        clipped = np.clip(residual, -self.delta, self.delta)
        return clipped[:, np.newaxis]

    def _pointwise(self, residual, delta):
        absolute = np.abs(residual)
        return np.where(
            absolute <= delta, 0.5 * residual**2, delta * (absolute - 0.5 * delta)
        )

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        delta = self.delta
        if delta is None:  # loss of a model not fitted by this loss object
            delta = _weighted_quantile(np.abs(y - raw[:, 0]), w, self.alpha)
        return float(np.average(self._pointwise(y - raw[:, 0], delta), weights=w))

    def _region_value(self, residual, w):
        median = _weighted_quantile(residual, w, 0.5)
        diff = residual - median
        clipped = np.sign(diff) * np.minimum(np.abs(diff), self.delta)
        return median + np.average(clipped, weights=w)

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        residual = y - raw
        return _per_leaf(
            leaves, n_leaves, lambda r: self._region_value(residual[r], w[r])
        )

    def step(self, y, raw, h, w, k):
        residual = y - raw[:, 0]
        delta = self.delta

        def objective(gamma):
            return np.sum(w * self._pointwise(residual - gamma * h, delta))

        return float(minimize_scalar(objective).x)


class _BinomialLogLoss:
    """Binary log-loss on the log-odds of ``classes_[1]``; reported as the
    deviance (twice the mean log-loss), as scikit-learn does."""

    n_outputs = 1

    def proba(self, raw):
        p = expit(raw[:, 0])
        return np.column_stack([1 - p, p])

    def raw_from_proba(self, proba):
        p = np.clip(proba[:, 1], _EPS, 1 - _EPS)
        return logit(p)[:, np.newaxis]

    def neg_gradient(self, y, raw):
        # expit(raw) - y in scikit-learn's (Cython) formulation.
        r = raw[:, 0]
        # Each branch of np.where is computed everywhere: its overflows (in
        # the branch not taken) are expected.
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(-r)
            gradient = np.where(r > -37, ((1 - y) - y * e) / (1 + e), np.exp(r) - y)
        return -gradient[:, np.newaxis]

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        per_row = np.logaddexp(0, raw[:, 0]) - y * raw[:, 0]
        return 2.0 * float(np.average(per_row, weights=w))

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        # One Newton step per leaf: sum w (y - p) / sum w p (1 - p).
        p = y - neg_g
        return _newton_per_leaf(leaves, n_leaves, neg_g, p * (1 - p), w)

    def step(self, y, raw, h, w, k):
        p = expit(raw[:, 0])
        return _safe_ratio(np.sum(w * (y - p) * h), np.sum(w * p * (1 - p) * h * h))


class _MultinomialLogLoss:
    """Multinomial log-loss; one raw column (and one regressor) per class.

    Newton steps use the diagonal of the Hessian times (K - 1) / K
    (Friedman 2001; scikit-learn does the same)."""

    def __init__(self, n_classes):
        self.n_outputs = n_classes

    def _onehot(self, y):
        return np.eye(self.n_outputs)[y]

    def proba(self, raw):
        return _softmax(raw, axis=1)

    def raw_from_proba(self, proba):
        log_p = np.log(np.clip(proba, _EPS, 1 - _EPS))
        return log_p - log_p.mean(axis=1, keepdims=True)

    def neg_gradient(self, y, raw):
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        total = e[:, 0].copy()
        for k in range(1, e.shape[1]):  # summed in class order, as scikit-learn
            total += e[:, k]
        return self._onehot(y) - e / total[:, np.newaxis]

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        per_row = logsumexp(raw, axis=1) - raw[np.arange(len(y)), y]
        return float(np.average(per_row, weights=w))

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        # y is the 0/1 indicator of class k here, neg_g its column.
        p = y - neg_g
        factor = (self.n_outputs - 1) / self.n_outputs
        return _newton_per_leaf(leaves, n_leaves, neg_g, p * (1 - p), w, factor)

    def step(self, y, raw, h, w, k):
        p = _softmax(raw, axis=1)[:, k]
        residual = (y == k) - p
        factor = (self.n_outputs - 1) / self.n_outputs
        return factor * _safe_ratio(
            np.sum(w * residual * h), np.sum(w * p * (1 - p) * h * h)
        )


class _ExponentialLoss:
    """AdaBoost's exponential loss for two classes, on half the log-odds of
    ``classes_[1]``: ``y exp(-raw) + (1 - y) exp(raw)`` with y in {0, 1}."""

    n_outputs = 1

    def proba(self, raw):
        p = expit(2.0 * raw[:, 0])
        return np.column_stack([1 - p, p])

    def raw_from_proba(self, proba):
        p = np.clip(proba[:, 1], _EPS, 1 - _EPS)
        return 0.5 * logit(p)[:, np.newaxis]

    def neg_gradient(self, y, raw):
        # As scikit-learn's (Cython) formulation.
        e = np.exp(raw[:, 0])
        return -(-y / e + (1 - y) * e)[:, np.newaxis]

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        r = raw[:, 0]
        return float(np.average(y * np.exp(-r) + (1 - y) * np.exp(r), weights=w))

    def _hessian(self, y, neg_g):
        # y = 1: exp(-raw) = neg_g; y = 0: exp(raw) = -neg_g.
        return np.where(y == 0, -neg_g, neg_g)

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        # One Newton step per leaf.
        return _newton_per_leaf(leaves, n_leaves, neg_g, self._hessian(y, neg_g), w)

    def step(self, y, raw, h, w, k):
        neg_g = self.neg_gradient(y, raw)[:, 0]
        hessian = self._hessian(y, neg_g)
        return _safe_ratio(np.sum(w * neg_g * h), np.sum(w * hessian * h * h))


class _PinballLoss:
    """Quantile (pinball) loss at level ``alpha``: the ``alpha`` quantile of
    y given X is estimated."""

    n_outputs = 1

    def __init__(self, alpha):
        self.alpha = alpha

    def _pointwise(self, residual):
        return np.where(
            residual >= 0, self.alpha * residual, (self.alpha - 1) * residual
        )

    def neg_gradient(self, y, raw):
        return (self.alpha - (y < raw[:, 0]))[:, np.newaxis].astype(np.float64)

    def __call__(self, y, raw, w=None):
        raw = _as_2d(raw, y)
        return float(np.average(self._pointwise(y - raw[:, 0]), weights=w))

    def leaf_values(self, leaves, n_leaves, y, raw, neg_g, w):
        residual = y - raw
        return _per_leaf(
            leaves,
            n_leaves,
            lambda r: _weighted_quantile(residual[r], w[r], self.alpha),
        )

    def step(self, y, raw, h, w, k):
        residual = y - raw[:, 0]

        def objective(gamma):
            return np.sum(w * self._pointwise(residual - gamma * h))

        return float(minimize_scalar(objective).x)


def _make_loss(name, *, alpha=0.9, n_classes=2):
    """The loss object named ``name``."""
    if name == "squared_error":
        return _SquaredError()
    if name == "absolute_error":
        return _AbsoluteError()
    if name == "huber":
        return _HuberLoss(alpha)
    if name == "quantile":
        return _PinballLoss(alpha)
    if name == "exponential":
        if n_classes > 2:
            raise ValueError(
                f"loss='exponential' is only suitable for a binary classification "
                f"problem, you have n_classes={n_classes}. Please use "
                "loss='log_loss' instead."
            )
        return _ExponentialLoss()
    if n_classes == 2:
        return _BinomialLogLoss()
    return _MultinomialLogLoss(n_classes)
