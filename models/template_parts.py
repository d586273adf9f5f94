"""What the layout templates share: layers made and found by name, inference models, and stored build arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

from models.stacks import RecurrentStack, RNNSpec


def input_named(model: keras.Model, name: str):
    """The model input called `name`; inputs are found by name, never by position."""
    for tensor in model.inputs:
        if tensor.name == name:
            return tensor
    raise ValueError(f"model {model.name!r} has no input named {name!r}")


class NamedLayers:
    """Creates layers by name while building, and finds them by name in a built model for inference graphs.

    A graph function written once against this object builds the training model (`NamedLayers()`) and, given the
    trained model (`NamedLayers(model)`), the step model that reuses its layers: `layers(name, factory)` calls
    the factory only while building.
    """

    def __init__(self, model: keras.Model | None = None):
        self.model = model

    def __call__(self, name: str, factory: Callable[[], keras.layers.Layer]) -> keras.layers.Layer:
        return factory() if self.model is None else self.model.get_layer(name)

    def stack(self, spec: RNNSpec | None, prefix: str) -> RecurrentStack:
        return RecurrentStack(spec, prefix) if self.model is None else RecurrentStack.from_model(self.model, prefix)


@dataclass
class InferenceModels:
    """What a generative layout needs to decode: `start` gives context and initial states, `step` one token."""

    start: keras.Model | None
    step: keras.Model
    context_count: int
    state_count: int
    has_attention: bool = False

    @property
    def state_widths(self) -> list[int]:
        return [int(tensor.shape[-1]) for tensor in self.step.inputs[1 + self.context_count :]]


@keras.saving.register_keras_serializable(package="rnn_gallery")
class TemplateArguments(keras.layers.Layer):
    """Passes its input through and keeps the arguments a template was built with, saved with the model.

    The inference builders read them back (`stored_arguments`), so a step model is rebuilt from what the model
    is, not guessed from which layer names exist.
    """

    def __init__(self, arguments: dict[str, Any], **kwargs):
        super().__init__(**kwargs)
        self.arguments = dict(arguments)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "arguments": self.arguments}


def stored_arguments(model: keras.Model, template: str) -> dict[str, Any]:
    """The arguments `template` stored in `model` (a `TemplateArguments` layer named `<template>_arguments`)."""
    name = f"{template}_arguments"
    if not any(layer.name == name for layer in model.layers):
        raise ValueError(
            f"model {model.name!r} was not built by this version of models.templates.{template} "
            f"(it has no {name!r} layer); build and train it again"
        )
    return dict(model.get_layer(name).arguments)
