"""Pictures every application shares: learning curves, heatmaps (attention maps, confusion matrices).

Matplotlib runs headless (Agg); files are written atomically through `gallery.runs.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gallery.runs import save_figure  # noqa: E402


def learning_curve(history: dict[str, list[float]], path: Path, title: str = "learning curve") -> Path:
    """Training and validation loss per epoch, plus any other pairs of `x` / `val_x` series."""
    names = [key for key in history if key not in ("epoch", "seconds", "learning_rate") and not key.startswith("val_")]
    figure, axes = plt.subplots(1, len(names) or 1, figsize=(4.5 * max(1, len(names)), 3.4), squeeze=False)
    epochs = np.arange(1, len(history.get("epoch", [])) + 1)
    for axis, name in zip(axes[0], names):
        axis.plot(epochs, history[name], marker="o", markersize=3, label="train")
        validation = history.get(f"val_{name}")
        if validation is not None and not np.all(np.isnan(validation)):
            axis.plot(epochs, validation, marker="o", markersize=3, label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)


def heatmap(
    matrix: np.ndarray,
    path: Path,
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    annotate: bool = False,
    cmap: str = "viridis",
) -> Path:
    """A matrix as a coloured grid with labelled rows and columns: attention maps, confusion matrices."""
    matrix = np.asarray(matrix, dtype=float)
    height = max(2.5, 0.35 * len(row_labels) + 1.2)
    width = max(3.0, 0.35 * len(column_labels) + 1.8)
    figure, axis = plt.subplots(figsize=(width, height))
    image = axis.imshow(matrix, cmap=cmap, aspect="auto")
    axis.set_xticks(range(len(column_labels)), labels=list(column_labels), rotation=60, ha="right", fontsize=8)
    axis.set_yticks(range(len(row_labels)), labels=list(row_labels), fontsize=8)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    if annotate:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), value in np.ndenumerate(matrix):
            text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
            axis.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if value < threshold else "black")
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
    axis.set_title(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=110)


def confusion_matrix_plot(counts: np.ndarray, labels: Sequence[str], path: Path, title: str = "confusion matrix"):
    """Counts of (true label, predicted label), rows true."""
    return heatmap(
        counts,
        path,
        row_labels=labels,
        column_labels=labels,
        title=title,
        xlabel="predicted",
        ylabel="true",
        annotate=True,
        cmap="Blues",
    )
