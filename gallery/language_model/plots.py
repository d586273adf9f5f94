"""Pictures of the language model's hidden units: one coloured cell per character of a passage, per unit."""

from __future__ import annotations

import math
import re
from pathlib import Path

import keras
import numpy as np

from datasets import text as text_data
from gallery import runs
from gallery.errors import UsageError

MAX_NEURON_CHARACTERS = 4000


def hidden_states(model: keras.Model, vocabulary: text_data.Vocabulary, passage: str, layer: int | None):
    """h_t of one recurrent layer at every character of the passage, from zero state: (characters, units)."""
    if not passage:
        raise UsageError("--text is empty; give a passage to read")
    if len(passage) > MAX_NEURON_CHARACTERS:
        raise UsageError(f"--text has {len(passage)} characters; give at most {MAX_NEURON_CHARACTERS}")
    tokens = text_data.tokenize(passage, "char")
    missing = vocabulary.unknown(tokens)
    if missing:
        shown = ", ".join(repr(token) for token in missing[:20])
        raise UsageError(f"the text has {len(missing)} character(s) the model never saw: {shown}")
    layer_names = [item.name for item in model.layers if re.fullmatch(r"rnn_\d+", item.name)]
    index = len(layer_names) - 1 if layer is None else layer
    if not 0 <= index < len(layer_names):
        raise UsageError(f"--layer {layer} does not exist; this model has layers 0 to {len(layer_names) - 1}")
    recurrent = model.get_layer(f"rnn_{index}")
    output = recurrent.output
    # Recurrent layers return (sequence, *states); the no-recurrence baseline returns the sequence alone.
    sequence = output[0] if isinstance(output, (list, tuple)) else output
    probe = keras.Model(model.input, sequence)
    ids = vocabulary.encode(tokens)[None]
    return np.asarray(probe(ids, training=False))[0]


def draw_neurons(
    model: keras.Model,
    vocabulary: text_data.Vocabulary,
    passage: str,
    path: Path,
    units: list[int] | None,
    count: int,
    layer: int | None,
    width: int = 60,
) -> list[int]:
    """One panel per unit: the passage in rows of `width` characters, each cell coloured by the unit's activation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    activations = hidden_states(model, vocabulary, passage, layer)
    total_units = activations.shape[1]
    if units is None:
        units = [int(unit) for unit in np.argsort(-activations.var(axis=0), kind="stable")[: min(count, total_units)]]
    bad = [unit for unit in units if not 0 <= unit < total_units]
    if bad:
        raise UsageError(f"--units-to-show {bad[0]} does not exist; units are 0 to {total_units - 1}")
    rows = math.ceil(len(passage) / width)
    panel_height = 0.28 * rows + 0.45
    figure, axes = plt.subplots(len(units), 1, figsize=(0.16 * width + 1.2, panel_height * len(units)), squeeze=False)
    colormap = plt.get_cmap("coolwarm")
    for axis, unit in zip(axes[:, 0], units):
        values = activations[:, unit]
        # tanh-bounded units keep the fixed range [-1, 1]; only unbounded ones (relu, elu) are scaled down.
        scale = max(float(np.abs(values).max()), 1.0)
        grid = np.full((rows, width), np.nan)
        grid[np.unravel_index(np.arange(len(passage)), (rows, width))] = values / scale
        axis.imshow(grid, cmap=colormap, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        for position, char in enumerate(passage):
            row, column = divmod(position, width)
            shown = {"\n": "\u21b5", "\t": "\u2192", " ": "\u00b7"}.get(char, char)
            axis.text(column, row, shown, ha="center", va="center", fontsize=7, family="monospace")
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_title(f"unit {unit} (range {values.min():+.2f} to {values.max():+.2f})", fontsize=8, loc="left")
    figure.tight_layout()
    runs.save_figure(figure, path, dpi=110)
    return units
