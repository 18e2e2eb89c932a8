"""Conclusion sentences of the reports, computed from their tables.

Each function takes the table a study returned and returns one paragraph
that quotes the figures it rests on. When the figures do not show the effect
the lecture expects, the paragraph says so, with the same figures. The rules
are deliberately simple and stated in each function: a change counts when it
exceeds ``MARGIN`` (relative), an ordering of two noisy estimates counts when
their spreads do not overlap.
"""

import numpy as np

#: Smallest relative change reported as a rise or a fall.
MARGIN = 0.10


def _fmt(value):
    return f"{value:.3g}"


def _falls(before, after, margin=MARGIN):
    """``after`` is lower than ``before`` by more than ``margin`` (relative)."""
    return after < before - margin * abs(before)


def _bias_key(table):
    return "bias2" if "bias2" in table.columns else "bias"


def _bias_label(key):
    return "bias^2" if key == "bias2" else "bias"


def _rows(table, model):
    return table[table["model"] == model].reset_index(drop=True)


# ---- bias-variance study ------------------------------------------------------
def tradeoff_sentence(rows, *, bias_key, what):
    """Bias falls, variance rises, the loss is U-shaped: checked on one curve.

    ``rows`` are one model's rows from simple to complex (columns ``parameter``,
    ``value``, ``loss``, ``bias_key``, ``variance``).
    """
    param = rows["parameter"].iloc[0]
    first, last = rows.iloc[0], rows.iloc[-1]
    label = _bias_label(bias_key)
    span = f"as {param} goes from {first['value']} to {last['value']}"
    parts = []
    for name, key, expected in (
        (label, bias_key, "falls"),
        ("variance", "variance", "rises"),
    ):
        a, b = first[key], last[key]
        if _falls(a, b):
            verb = "falls"
        elif _falls(b, a):
            verb = "rises"
        else:
            verb = "stays about the same"
        note = "" if verb == expected else f" (expected: {expected})"
        parts.append(f"{name} {verb} from {_fmt(a)} to {_fmt(b)}{note}")
    best = int(np.nanargmin(rows["loss"].to_numpy(dtype=float)))
    best_text = (
        f"the expected loss is lowest at {param}={rows['value'].iloc[best]} "
        f"({_fmt(rows['loss'].iloc[best])}, against {_fmt(first['loss'])} and "
        f"{_fmt(last['loss'])} at the ends)"
    )
    ends = rows["loss"].iloc[[0, -1]].to_numpy(dtype=float)
    interior = 0 < best < len(rows) - 1 and rows["loss"].iloc[best] < ends.min() * (
        1 - MARGIN / 2
    )
    shape = (
        "a U shape"
        if interior
        else "no U shape over this range: the loss is lowest at an end"
        if best in (0, len(rows) - 1)
        else "only a shallow dip"
    )
    return f"{what}: {parts[0]} and {parts[1]} {span}; {best_text}, {shape}."


def bagging_sentence(tree_rows, bagged_rows, *, n_estimators):
    """Bagging lowers the variance of deep trees: compared at the deepest tree."""
    tree, bagged = tree_rows.iloc[-1], bagged_rows.iloc[-1]
    where = f"at {tree['parameter']}={tree['value']}"
    a, b = tree["variance"], bagged["variance"]
    if _falls(a, b):
        return (
            f"Bagging lowers the variance of deep trees: {where} the variance "
            f"falls from {_fmt(a)} to {_fmt(b)} when {n_estimators} trees are "
            f"bagged (expected loss {_fmt(tree['loss'])} -> {_fmt(bagged['loss'])})."
        )
    return (
        f"Bagging does not lower the variance here: {where} it is {_fmt(a)} for "
        f"one tree and {_fmt(b)} for {n_estimators} bagged trees (a change under "
        f"{MARGIN:.0%})."
    )


def boosting_sentence(rows, *, bias_key):
    """Boosting lowers the bias of stumps: first against last stage count."""
    label = _bias_label(bias_key)
    first, last = rows.iloc[0], rows.iloc[-1]
    param = first["parameter"]
    a, b = first[bias_key], last[bias_key]
    if _falls(a, b):
        return (
            f"Boosting lowers the bias of stumps: {label} falls from {_fmt(a)} "
            f"with {param}={first['value']} to {_fmt(b)} with "
            f"{param}={last['value']}."
        )
    return (
        f"Boosting does not lower the bias of stumps here: {label} is {_fmt(a)} "
        f"with {param}={first['value']} and {_fmt(b)} with "
        f"{param}={last['value']} (a fall under {MARGIN:.0%} or a rise)."
    )


def bias_variance_conclusion(table):
    """The conclusion of the tree / bagging / boosting study.

    ``table`` has the columns ``model``, ``parameter``, ``value``, ``loss``,
    ``bias2`` or ``bias``, ``variance``; the models ``'decision tree'``,
    ``'bagging (N trees)'`` and ``'boosting (stumps)'`` (any present), and a
    neural family whose name starts with ``'MLP'``.
    """
    key = _bias_key(table)
    models = list(dict.fromkeys(table["model"]))
    sentences = []
    if "decision tree" in models:
        sentences.append(
            tradeoff_sentence(
                _rows(table, "decision tree"), bias_key=key, what="One tree"
            )
        )
    bagged = [m for m in models if m.startswith("bagging")]
    if bagged and "decision tree" in models:
        n = "".join(c for c in bagged[0] if c.isdigit()) or "several"
        sentences.append(
            bagging_sentence(
                _rows(table, "decision tree"), _rows(table, bagged[0]), n_estimators=n
            )
        )
    if "boosting (stumps)" in models:
        sentences.append(
            boosting_sentence(_rows(table, "boosting (stumps)"), bias_key=key)
        )
    for model in models:
        if model.startswith("MLP"):
            sentences.append(width_sentence(_rows(table, model), bias_key=key))
    return " ".join(sentences)


# ---- neural networks against width --------------------------------------------
def _peak(values):
    """Index of an interior peak that stands ``MARGIN`` above both ends, or None."""
    values = np.asarray(values, dtype=float)
    i = int(np.nanargmax(values))
    if 0 < i < len(values) - 1 and values[i] > (1 + MARGIN) * max(
        values[0], values[-1]
    ):
        return i
    return None


def width_sentence(rows, *, bias_key):
    """Yang et al. (2020): bias falls with width, variance rises then falls."""
    label = _bias_label(bias_key)
    first, last = rows.iloc[0], rows.iloc[-1]
    bias = rows[bias_key].to_numpy(dtype=float)
    variance = rows["variance"].to_numpy(dtype=float)
    span = f"width {first['value']} to {last['value']}"
    if _falls(bias[0], bias[-1]):
        bias_text = f"{label} falls from {_fmt(bias[0])} to {_fmt(bias[-1])}"
    else:
        bias_text = (
            f"{label} does not fall ({_fmt(bias[0])} to {_fmt(bias[-1])}; "
            "expected: it falls)"
        )
    peak = _peak(variance)
    if peak is not None:
        var_text = (
            f"variance rises from {_fmt(variance[0])} to {_fmt(variance[peak])} at "
            f"width {rows['value'].iloc[peak]} and falls to {_fmt(variance[-1])}, "
            "the unimodal shape of Yang et al. (2020)"
        )
    else:
        var_text = (
            f"variance shows no interior peak ({_fmt(variance[0])} at the narrowest, "
            f"largest {_fmt(variance.max())}, {_fmt(variance[-1])} at the widest; "
            "Yang et al. report a rise then a fall)"
        )
    return f"{rows['model'].iloc[0]}, {span}: {bias_text}; {var_text}."


def double_descent_sentence(widths, test_error, train_error, *, noise_rate):
    """Nakkiran et al. (2019): test error peaks near the interpolation threshold.

    The threshold is the first width whose training error (on the noisy
    labels) is below 1 %.
    """
    widths = list(widths)
    test_error = np.asarray(test_error, dtype=float)
    train_error = np.asarray(train_error, dtype=float)
    fits = np.flatnonzero(train_error < 0.01)
    threshold = (
        f"the training labels are fitted (training error < 1 %) from width "
        f"{widths[fits[0]]}"
        if len(fits)
        else "no width fits the noisy training labels (training error "
        f"{_fmt(train_error.min())} at best)"
    )
    peak = _peak(test_error)
    pct = f"{noise_rate:.0%} label noise"
    if peak is None:
        return (
            f"With {pct}, {threshold}; test error shows no peak against width "
            f"({_fmt(test_error[0])} at width {widths[0]}, largest "
            f"{_fmt(test_error.max())}, {_fmt(test_error[-1])} at width "
            f"{widths[-1]}): no double descent here."
        )
    return (
        f"With {pct}, {threshold}; test error rises to {_fmt(test_error[peak])} at "
        f"width {widths[peak]} and falls to {_fmt(test_error[-1])} at width "
        f"{widths[-1]} (model-wise double descent, Nakkiran et al. 2019)."
    )


# ---- batch size and sharpness -------------------------------------------------
def batch_size_conclusion(table, *, accuracy_margin=0.005):
    """Keskar et al. (2017): small batches generalize better and find flatter
    minima. Compares the first row (small batch) with the last (large).

    ``table`` has ``batch size``, ``test accuracy`` and, per box size,
    ``sharpness (eps=E)`` (largest over the starts) and
    ``sharpness min (eps=E)`` (smallest). A minimum counts as flatter when the
    two ranges of starts do not overlap; accuracy counts as higher when it
    differs by more than ``accuracy_margin``.
    """
    small, large = table.iloc[0], table.iloc[-1]
    a, b = small["test accuracy"], large["test accuracy"]
    names = f"batch {small['batch size']}", f"batch {large['batch size']}"
    if a > b + accuracy_margin:
        acc = f"{names[0]} generalizes better: test accuracy {a:.3f} vs {b:.3f}"
    elif b > a + accuracy_margin:
        acc = (
            f"{names[0]} does not generalize better here: test accuracy {a:.3f} "
            f"vs {b:.3f} for {names[1]}"
        )
    else:
        acc = (
            f"test accuracy does not separate the two ({a:.3f} vs {b:.3f}, a "
            f"difference under {accuracy_margin:.1%})"
        )
    parts = []
    for column in [c for c in table.columns if c.startswith("sharpness (eps=")]:
        eps = column[len("sharpness (eps=") : -1]
        low = f"sharpness min (eps={eps})"
        s_range = (small[low], small[column])
        l_range = (large[low], large[column])
        ranges = (
            f"{_fmt(s_range[1])} (starts {_fmt(s_range[0])}-{_fmt(s_range[1])}) vs "
            f"{_fmt(l_range[1])} ({_fmt(l_range[0])}-{_fmt(l_range[1])})"
        )
        if s_range[1] < l_range[0]:
            parts.append(f"at eps={eps} the small-batch minimum is flatter: {ranges}")
        elif l_range[1] < s_range[0]:
            parts.append(f"at eps={eps} the small-batch minimum is sharper: {ranges}")
        else:
            parts.append(f"at eps={eps} the ranges of starts overlap: {ranges}")
    return f"{acc[0].upper()}{acc[1:]}; " + "; ".join(parts) + "."


# ---- regularizers under label noise -------------------------------------------
def calibration_conclusion(table, *, noise_column, pairs):
    """Mixup, CutMix and label smoothing against the ECE under label noise.

    ``pairs`` maps a regularizer row to the row it is compared with (its plain
    network); a fall of more than ``MARGIN`` (relative) counts.
    """
    ece = dict(zip(table["regularizer"], table[noise_column]))
    better, not_better = [], []
    for name, baseline in pairs.items():
        if name not in ece or baseline not in ece:
            continue
        text = f"{name} {_fmt(ece[baseline])} -> {_fmt(ece[name])}"
        (better if _falls(ece[baseline], ece[name]) else not_better).append(text)
    sentences = []
    if better:
        sentences.append(
            f"Under label noise these regularizers lower the calibration error "
            f"({noise_column}, against the plain network): {', '.join(better)}."
        )
    if not_better:
        sentences.append(
            f"These do not lower it by more than {MARGIN:.0%} here: "
            f"{', '.join(not_better)}."
        )
    return " ".join(sentences)


# ---- optimizers ---------------------------------------------------------------
def optimizer_conclusion(table):
    """Which optimizer scores best, and whether cross-validation separates it
    from the next: a gap smaller than the larger of their standard deviations
    is within the fold-to-fold noise. Rows whose score is missing (a diverged
    optimizer) are named apart. ``table`` has ``optimizer``, one ``test ...``
    score column and its standard deviation over the folds, ``std``."""
    score = next(c for c in table.columns if c.startswith("test "))
    std = next((c for c in table.columns if c.startswith("std")), None)
    if std is None:
        raise ValueError("optimizer_conclusion needs the folds' 'std' column.")
    table = table.rename(columns={std: "std"})
    metric = score[len("test ") :]
    valid = table[np.isfinite(table[score].to_numpy(dtype=float))]
    valid = valid.sort_values(score, ascending=False).reset_index(drop=True)
    failed = [str(n) for n in table["optimizer"] if n not in set(valid["optimizer"])]
    tail = f" No score for: {', '.join(failed)}." if failed else ""
    if valid.empty:
        return f"No optimizer produced a {metric} score.{tail}"
    best = valid.iloc[0]
    text = (
        f"{best['optimizer']} scores best ({metric} {_fmt(best[score])} "
        f"± {_fmt(best['std'])})"
    )
    if len(valid) == 1:
        return f"{text}.{tail}"
    second = valid.iloc[1]
    gap = best[score] - second[score]
    noise = max(best["std"], second["std"])
    worst = valid.iloc[-1]
    if gap < noise:
        verdict = (
            f"; the next, {second['optimizer']} ({_fmt(second[score])}), is "
            f"{_fmt(gap)} behind, within one standard deviation of the folds "
            f"({_fmt(noise)}), so this cross-validation does not separate them"
        )
    else:
        verdict = (
            f"; it leads the next, {second['optimizer']} ({_fmt(second[score])}), "
            f"by {_fmt(gap)}, more than one standard deviation of the folds "
            f"({_fmt(noise)})"
        )
    spread = f". The lowest is {worst['optimizer']} ({_fmt(worst[score])})"
    return f"{text}{verdict}{spread}.{tail}"


# ---- over-fitting and early stopping ------------------------------------------
def overfitting_conclusion(history, *, best_epoch):
    """Training loss keeps falling while validation loss turns up.

    ``history`` has ``train_loss`` and ``valid_loss`` per epoch (rows in epoch
    order, epochs numbered from 1); ``best_epoch`` is the epoch whose weights
    early stopping kept. Over-fitting is stated when, from the best epoch to
    the last, the training loss falls and the validation loss rises by more
    than ``MARGIN`` (relative); early stopping "picks the turn" when the kept
    epoch is the one of the lowest validation loss.
    """
    train = np.asarray(history["train_loss"], dtype=float)
    valid = np.asarray(history["valid_loss"], dtype=float)
    last = len(train)
    turn = int(np.nanargmin(valid)) + 1
    b = best_epoch - 1
    figures = (
        f"from epoch {best_epoch} to {last} the training loss goes from "
        f"{_fmt(train[b])} to {_fmt(train[-1])} and the validation loss from "
        f"{_fmt(valid[b])} to {_fmt(valid[-1])}"
    )
    if _falls(train[b], train[-1]) and _falls(valid[-1], valid[b]):
        text = f"Over-fitting: {figures}."
    else:
        text = f"No over-fitting turn by more than {MARGIN:.0%} here: {figures}."
    if best_epoch == turn:
        text += f" Early stopping keeps epoch {best_epoch}, the lowest validation loss."
    else:
        text += (
            f" Early stopping keeps epoch {best_epoch}, but the validation loss "
            f"is lowest at epoch {turn}."
        )
    return text


# ---- adaptive step sizes ------------------------------------------------------
def step_size_conclusion(steps, *, epochs, shrinking="adagrad"):
    """Whose effective step shrinks over long training.

    ``steps`` maps an optimizer name to its effective step at each epoch of
    ``epochs``. A step "shrinks" when its last value is below its first by
    more than ``MARGIN`` (relative); the claim is that ``shrinking``'s does
    and shrinks more than every other optimizer's.
    """
    ratio = {n: s[0] / s[-1] for n, s in steps.items()}
    span = f"from epoch {epochs[0]} to {epochs[-1]}"
    figures = ", ".join(f"{n} {_fmt(r)}-fold" for n, r in ratio.items())
    others = [r for n, r in ratio.items() if n != shrinking]
    s = steps[shrinking]
    if _falls(s[0], s[-1]) and all(ratio[shrinking] > r for r in others):
        return (
            f"{shrinking.capitalize()}'s effective step shrinks the most {span} "
            f"(shrink factors: {figures})."
        )
    return (
        f"{shrinking.capitalize()}'s effective step does not shrink more than "
        f"the others' {span} (shrink factors: {figures})."
    )


def default_rate_conclusion(scores, *, method="adadelta", margin=0.05):
    """A learning-rate-free optimizer against SGD's range of learning rates.

    ``scores`` maps a problem to ``{column: score}`` with one ``"sgd <lr>"``
    column per rate and a ``method`` column (NaN for a diverged run). The
    claim holds on a problem when ``method``'s score is at most ``margin``
    below SGD's best rate.
    """
    held, missed = [], []
    for problem, row in scores.items():
        sgd = {k: v for k, v in row.items() if k.startswith("sgd")}
        finite = {k: v for k, v in sgd.items() if np.isfinite(v)}
        if not finite:
            best_text, best = "no SGD rate trained", -np.inf
        else:
            key = max(finite, key=finite.get)
            best = finite[key]
            worst = min(finite.values())
            best_text = f"SGD {_fmt(worst)}..{_fmt(best)} (best lr={key.split()[-1]})"
        text = f"{problem}: {method} {_fmt(row[method])}, {best_text}"
        (held if row[method] >= best - margin else missed).append(text)
    sentences = []
    if held:
        sentences.append(
            f"With its default, {method} scores within {_fmt(margin)} of SGD's "
            f"best learning rate on: {'; '.join(held)}."
        )
    if missed:
        sentences.append(
            f"It falls more than {_fmt(margin)} behind SGD's best rate on: "
            f"{'; '.join(missed)}."
        )
    return " ".join(sentences)
