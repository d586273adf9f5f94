"""The captioning pictures: test images under the captions written for them, and where the decoder looked."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from gallery import runs


def caption_grid(images, texts, verdicts, path: Path, title: str, columns: int = 4) -> Path:
    """Images with their generated captions; green when the caption is right, red when not (None: black)."""
    import matplotlib.pyplot as plt

    count = len(images)
    rows = max(1, math.ceil(count / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 3.3 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, image, text, verdict in zip(axes.ravel(), images, texts, verdicts):
        axis.imshow(np.asarray(image, np.uint8))
        colour = {True: "darkgreen", False: "firebrick", None: "black"}[verdict]
        axis.set_title("\n".join(textwrap.wrap(text or "(empty)", 30)), fontsize=8, color=colour)
    figure.suptitle(title)
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=90)


def attention_figure(image: np.ndarray, words: list[str], maps: np.ndarray, path: Path) -> Path:
    """One panel per generated word: the image with the attention weights upsampled over it."""
    import matplotlib.pyplot as plt

    regions = maps.shape[-1]
    side = int(round(math.sqrt(regions)))
    grid_shape = (side, regions // side) if side * (regions // side) == regions else (1, regions)
    columns = min(6, len(words))
    rows = math.ceil(len(words) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 2.2 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    height, width = image.shape[:2]
    for axis, word, weights in zip(axes.ravel(), words, maps):
        axis.imshow(np.asarray(image, np.uint8))
        axis.imshow(
            weights.reshape(grid_shape),
            cmap="inferno",
            alpha=0.55,
            extent=(0, width, height, 0),
            interpolation="bilinear",
        )
        axis.set_title(word, fontsize=9)
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=90)
