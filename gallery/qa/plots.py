"""The qa app's pictures: each hop's attention over the sentences of a story, the supporting facts outlined."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets import babi
from gallery import runs
from gallery.plots import plt  # pyplot on the headless backend gallery.plots chose


def attention_picture(
    example: babi.Example, weights: np.ndarray, memory_size: int, predicted: str, path: Path, title: str
) -> Path:
    """The attention of each hop on each sentence of the story; supporting facts are marked and outlined."""
    window = example.story[-memory_size:]
    first_kept = len(example.story) - len(window)
    shown = min(len(window), 20)  # the latest sentences, so the picture stays readable
    grid = weights[:, len(weights[0]) - shown :].T
    labels, marked = [], []
    for row, position in enumerate(range(len(window) - shown, len(window))):
        supporting = first_kept + position in example.supporting
        marked += [row] if supporting else []
        labels.append(f"{'* ' if supporting else ''}{first_kept + position + 1}. {window[position]}")
    hops = grid.shape[1]
    figure, axis = plt.subplots(figsize=(5.5 + 0.7 * hops, 1.4 + 0.32 * shown))
    image = axis.imshow(grid, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    axis.set_xticks(range(hops), labels=[f"hop {hop + 1}" for hop in range(hops)], fontsize=8)
    axis.set_yticks(range(shown), labels=labels, fontsize=8)
    for (row, column), value in np.ndenumerate(grid):
        axis.text(
            column, row, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value > 0.5 else "black"
        )
    for row in marked:
        axis.add_patch(plt.Rectangle((-0.5, row - 0.5), hops, 1, fill=False, edgecolor="crimson", linewidth=1.5))
    verdict = "right" if predicted == example.answer else f"wrong, true answer: {example.answer}"
    axis.set_title(
        f"{title}\nQ: {example.question}   A: {predicted} ({verdict})\n* and red box: supporting fact", fontsize=9
    )
    figure.colorbar(image, ax=axis, fraction=0.04, pad=0.03)
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=110)
