"""Figures of the command-line studies, drawn with sklopt's Displays."""

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(histories, path, title):
    """Overlay the training-loss curves of several fits; save a PNG."""
    from sklopt.inspection import TrainingHistoryDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    for name, history in histories.items():
        TrainingHistoryDisplay.from_history(
            history[["epoch", "train_loss"]],
            name=name,
            ax=ax,
            train_kw={"label": name},
        )
    ax.set_title(title)
    ax.legend(
        frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0)
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ablation_bars(table, path, noise_label):
    """Accuracy and calibration error per regularizer, clean vs noisy labels."""
    plt = _pyplot()
    names = table["regularizer"].tolist()
    y = np.arange(len(names))
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 0.38 * len(names) + 1.6), sharey=True, layout="constrained"
    )
    for ax, metric in zip(axes, ["accuracy", "ECE"]):
        clean = table[metric].to_numpy()
        noisy = table[f"{metric} ({noise_label})"].to_numpy()
        ax.barh(y - 0.2, clean, height=0.4, color="#4c72b0", label="clean labels")
        ax.barh(
            y + 0.2,
            noisy,
            height=0.4,
            color="#dd8452",
            label=f"{noise_label} on training labels",
        )
        ax.axvline(clean[0], color="#4c72b0", lw=0.8, ls=":")
        ax.axvline(noisy[0], color="#dd8452", lw=0.8, ls=":")
        ax.set_xlabel(
            "test accuracy"
            if metric == "accuracy"
            else "expected calibration error (lower is better)"
        )
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_xlim(
        max(
            0.0,
            table[["accuracy", f"accuracy ({noise_label})"]].to_numpy().min() - 0.05,
        ),
        1.0,
    )
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    axes[1].legend(frameon=False, fontsize="small", loc="lower right")
    fig.suptitle("Regularizers one at a time (digits, dotted: no regularizer)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bias_variance_panels(curves, path, title):
    """One BiasVarianceDisplay per model family, side by side."""
    from sklopt.inspection import BiasVarianceDisplay

    plt = _pyplot()
    fig, axes = plt.subplots(
        1,
        len(curves),
        figsize=(5.2 * len(curves), 4.4),
        sharey=True,
        layout="constrained",
    )
    for ax, (name, curve) in zip(np.atleast_1d(axes), curves.items()):
        BiasVarianceDisplay.from_results(curve, name=name, ax=ax)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
