"""The music model: the many-to-many template over piano-roll frames, with independent or NADE outputs per frame."""

from __future__ import annotations

import keras
import numpy as np

from datasets import piano_roll
from gallery.music.config import MusicConfig
from gallery.music.nade import NadeOutput
from models.stacks import RecurrentStack
from models.templates import TemplateArguments, many_to_many

TARGETS_INPUT = "targets"


def build_model(config: MusicConfig) -> keras.Model:
    """Frames in, next-frame logits out.

    `independent`: the shared many-to-many template, 88 sigmoid logits per frame. `nade`: the same graph (a stack
    named `rnn`, an output layer named `output`, the template's stored arguments, so `many_to_many_inference` builds
    its step model), whose output layer is a `NadeOutput`; the model also reads the target frames, as
    {"inputs": frames 0..T-2, "targets": frames 1..T-1}, and returns each key's logit given the keys below it.
    """
    spec = config.rnn_spec()
    if config.output != "nade":
        return many_to_many(spec, piano_roll.KEYS, feature_dim=piano_roll.KEYS, name="piano_roll_rnn")
    inputs = keras.Input(shape=(None, piano_roll.KEYS), name="inputs")
    targets = keras.Input(shape=(None, piano_roll.KEYS), name=TARGETS_INPUT)
    sequence, _ = RecurrentStack(spec, "rnn")(inputs)
    logits = NadeOutput(piano_roll.KEYS, config.nade_units, name="output")([sequence, targets])
    arguments = {"vocab_size": None, "feature_dim": piano_roll.KEYS}
    logits = TemplateArguments(arguments, name="many_to_many_arguments")(logits)
    return keras.Model({"inputs": inputs, TARGETS_INPUT: targets}, logits, name="piano_roll_rnn_nade")


def is_nade(model: keras.Model) -> bool:
    """Whether the model's frames are NADEs (it then reads the target frames beside the input frames)."""
    return isinstance(model.get_layer("output"), NadeOutput)


def model_inputs(model: keras.Model, inputs: np.ndarray, targets: np.ndarray):
    """What the model is called on: the input frames, with the target frames beside them for a NADE."""
    return {"inputs": inputs, TARGETS_INPUT: targets} if is_nade(model) else inputs


def initialise_output_bias(model: keras.Model, rolls: list[np.ndarray]) -> np.ndarray:
    """Start each key's output bias at the log-odds of how often that key sounds in the training frames.

    An untrained network then predicts every key at its base rate (the NLL of the best frame-independent model)
    instead of one half, so the first epochs learn music rather than the fact that most keys are silent. For a NADE
    it is the visible bias; its hidden biases stay at zero.
    """
    frames = np.concatenate(rolls)
    # Add-one smoothing keeps keys that never sound at a finite, very negative bias.
    rate = (frames.sum(axis=0) + 1.0) / (len(frames) + 2.0)
    bias = np.log(rate / (1.0 - rate)).astype(np.float32)
    output = model.get_layer("output")
    if isinstance(output, NadeOutput):
        offset = np.zeros(piano_roll.KEYS + output.hidden_units, np.float32)
        offset[: piano_roll.KEYS] = bias
        output.bias_offset.assign(offset)
        return bias
    kernel, _ = output.get_weights()
    output.set_weights([kernel, bias])
    return bias
