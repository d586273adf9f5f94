"""The hello network: one-hot characters, the vanilla cell written out, y_t = W_hy h_t; and its NumPy twin."""

from __future__ import annotations

import keras
import numpy as np

from gallery.hello.config import HelloConfig
from models import reference
from models.stacks import RecurrentStack


def build_model(config: HelloConfig, vocab_size: int) -> keras.Model:
    """One-hot characters -> the recurrent stack (the vanilla cell written out) -> y_t = W_hy h_t."""
    inputs = keras.Input(shape=(None, vocab_size), name="one_hot")
    stack = RecurrentStack(config.rnn_spec(explicit=True), "rnn")
    hidden, _ = stack(inputs)
    scores = keras.layers.Dense(vocab_size, use_bias=False, name="W_hy")(hidden)
    return keras.Model(inputs, scores, name="hello")


def with_hidden_states(model: keras.Model) -> keras.Model:
    """The same network, also returning the top layer's h_t (the input of W_hy), for the printout."""
    output_layer = model.get_layer("W_hy")
    return keras.Model(model.inputs[0], [output_layer.output, output_layer.input])


def numpy_forward(model: keras.Model, inputs: np.ndarray, config: HelloConfig) -> tuple[np.ndarray, np.ndarray]:
    """The same forward pass in NumPy from the model's weights: (scores, top-layer hidden states)."""
    stack = RecurrentStack.from_model(model, "rnn")
    x = inputs.astype(np.float64)
    for layer in stack.layers:
        x = reference.layer_forward(layer, x, config.activation)
    W_hy = np.asarray(model.get_layer("W_hy").get_weights()[0], np.float64)
    return x @ W_hy, x
