"""The music model: the shared many-to-many template with 88 key inputs and 88 sigmoid logits per frame."""

from __future__ import annotations

import keras
import numpy as np

from datasets import piano_roll
from gallery.music.config import MusicConfig
from models.templates import many_to_many


def build_model(config: MusicConfig) -> keras.Model:
    """Frames in, next-frame logits out: the shared many-to-many template with 88 feature inputs and outputs."""
    spec = config.rnn_spec()
    return many_to_many(spec, piano_roll.KEYS, feature_dim=piano_roll.KEYS, name="piano_roll_rnn")


def initialise_output_bias(model: keras.Model, rolls: list[np.ndarray]) -> np.ndarray:
    """Start each key's output bias at the log-odds of how often that key sounds in the training frames.

    An untrained network then predicts every key at its base rate (the NLL of the best frame-independent model)
    instead of one half, so the first epochs learn music rather than the fact that most keys are silent.
    """
    frames = np.concatenate(rolls)
    # Add-one smoothing keeps keys that never sound at a finite, very negative bias.
    rate = (frames.sum(axis=0) + 1.0) / (len(frames) + 2.0)
    bias = np.log(rate / (1.0 - rate)).astype(np.float32)
    output = model.get_layer("output")
    kernel, _ = output.get_weights()
    output.set_weights([kernel, bias])
    return bias
