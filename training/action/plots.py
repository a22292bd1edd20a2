"""Training figures: loss/accuracy curves and the confusion matrix (matplotlib, Agg)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from pipan.fileio import atomic_write_bytes


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def plot_curves(history: Dict[str, Sequence[float]], path: Path) -> None:
    """Loss and per-frame accuracy against epoch, training and evaluation (paper fig. 6)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for key, label in (("loss", "training"), ("val_loss", "evaluation")):
        if key in history:
            ax_loss.plot(epochs, history[key], label=label)
    for key, label in (("probs_acc", "training"), ("val_probs_acc", "evaluation")):
        if key in history:
            ax_acc.plot(epochs, history[key], label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss (eq. 16)", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (every prefix, weighted)", title="accuracy",
               ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, path)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, classes: Sequence[str], path: Path,
                   title: str = "") -> None:
    """Row-normalised confusion matrix (rows: true class, columns: predicted)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(0.5 * n + 3, 0.5 * n + 2.5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=60, ha="right")
    ax.set_yticks(range(n), classes)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    _save(fig, path)
    plt.close(fig)
