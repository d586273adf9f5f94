"""What a keyword run shows: one test clip per label, and the log-mel frames the model read from them."""

from __future__ import annotations

from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gallery import runs  # noqa: E402


def examples(test, true: np.ndarray, predicted: np.ndarray, labels: list[str], per_label: int = 1) -> list[tuple]:
    """(waveform as the model heard it, true label, predicted label) of `per_label` test clips of each label."""
    chosen, seen = [], {}
    position = 0
    for index in range(len(test)):
        for waveform in test[index][0]:
            label = int(true[position])
            if seen.get(label, 0) < per_label:
                seen[label] = seen.get(label, 0) + 1
                chosen.append((waveform, label, int(predicted[position])))
            position += 1
        if len(seen) == len(labels) and all(count >= per_label for count in seen.values()):
            break
    return sorted(chosen, key=lambda item: item[1])


def spectrogram_figure(model: keras.Model, waveforms: np.ndarray, titles: list[str], path: Path) -> Path:
    """The model's own log-mel frames of some clips, as a grid of images."""
    features = np.asarray(model.get_layer("frontend").layers[0](waveforms))
    columns = min(4, len(titles))
    rows = (len(titles) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for axis in axes.flat[len(titles) :]:
        axis.axis("off")
    for axis, feature, title in zip(axes.flat, features, titles):
        axis.imshow(feature.T, origin="lower", aspect="auto", cmap="magma")
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("frame", fontsize=8)
        axis.set_ylabel("mel bin", fontsize=8)
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=90)
