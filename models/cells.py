"""Recurrent cells and their registry: the lecture's vanilla RNN with its activations, LSTM and GRU.

`recurrent_layer` is the one place that turns a cell name into a Keras layer. Elementwise activations run on
`keras.layers.SimpleRNN`, LSTM and GRU on the built-in layers (so the fused cuDNN kernels are kept on a GPU),
and maxout, which is not elementwise, on its own `MaxoutRNNCell`. `VanillaRNNCell` writes the lecture's formula
out with the lecture's weight names; it computes the same numbers as `SimpleRNN` given the same weights.
"""

from __future__ import annotations

import keras
from keras import ops

CELLS = ("rnn", "lstm", "gru")
# `none` is the one-to-one baseline: the same layer shape with no recurrence, to show what recurrence buys.
NO_RECURRENCE = "none"
CELL_CHOICES = (*CELLS, NO_RECURRENCE)
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "elu", "maxout")
LEAKY_RELU_SLOPE = 0.1
MAXOUT_PIECES = 2


@keras.saving.register_keras_serializable(package="rnn_gallery")
def leaky_relu(x):
    """Leaky ReLU with the lecture's slope of 0.1 for negative inputs (Keras' own default is 0.2)."""
    return ops.leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE)


_ELEMENTWISE = {
    "tanh": keras.activations.tanh,
    "sigmoid": keras.activations.sigmoid,
    "relu": keras.activations.relu,
    "leaky_relu": leaky_relu,
    "elu": keras.activations.elu,
}


def check_cell(cell: str, activation: str = "tanh") -> None:
    """Raise ValueError naming the valid choices when `cell` or `activation` is not one we know."""
    if cell not in CELL_CHOICES:
        raise ValueError(f"unknown cell {cell!r}; choose one of: {', '.join(CELL_CHOICES)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    if cell != "rnn" and activation != "tanh":
        raise ValueError(
            f"activation {activation!r} applies to the vanilla cell only; use --cell rnn, or leave --activation tanh"
        )


def activation_function(name: str):
    """The elementwise activation function registered under `name`."""
    if name == "maxout":
        raise ValueError("maxout is not elementwise: it is a cell of its own (MaxoutRNNCell)")
    if name not in _ELEMENTWISE:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
    return _ELEMENTWISE[name]


@keras.saving.register_keras_serializable(package="rnn_gallery")
class VanillaRNNCell(keras.layers.Layer):
    """h_t = f(W_hh h_{t-1} + W_xh x_t + b_h), the lecture's formula, as a Keras RNN cell.

    The weights keep the lecture's names (W_xh, W_hh, b_h) and the initialisers of `SimpleRNNCell`.
    """

    def __init__(self, units: int, activation: str = "tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation_name = activation
        self.activation = activation_function(activation)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.W_xh = self.add_weight(shape=(input_dim, self.units), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(self.units, self.units), initializer="orthogonal", name="W_hh")
        self.b_h = self.add_weight(shape=(self.units,), initializer="zeros", name="b_h")

    def call(self, inputs, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        h = self.activation(ops.matmul(previous, self.W_hh) + ops.matmul(inputs, self.W_xh) + self.b_h)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation_name}


@keras.saving.register_keras_serializable(package="rnn_gallery")
class MaxoutRNNCell(keras.layers.Layer):
    """Maxout recurrence: h_t = max_k (W_hh^k h_{t-1} + W_xh^k x_t + b_h^k) over k = 2 linear pieces.

    Maxout (Goodfellow et al. 2013) is a max over several affine maps, not a function of one pre-activation,
    so it cannot be passed to SimpleRNN as an activation. The pieces are stored side by side in one matrix.
    """

    def __init__(self, units: int, pieces: int = MAXOUT_PIECES, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.pieces = int(pieces)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        width = self.units * self.pieces
        self.W_xh = self.add_weight(shape=(input_dim, width), initializer="glorot_uniform", name="W_xh")
        self.W_hh = self.add_weight(shape=(self.units, width), initializer="orthogonal", name="W_hh")
        self.b_h = self.add_weight(shape=(width,), initializer="zeros", name="b_h")

    def call(self, inputs, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        z = ops.matmul(previous, self.W_hh) + ops.matmul(inputs, self.W_xh) + self.b_h
        # Piece k of unit j sits at column k * units + j.
        z = ops.reshape(z, (-1, self.pieces, self.units))
        h = ops.max(z, axis=1)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces}


@keras.saving.register_keras_serializable(package="rnn_gallery")
class NoRecurrence(keras.layers.Layer):
    """The no-recurrence baseline: h_t = tanh(W_xh x_t + b_h), each step on its own, no state carried.

    It keeps the interface of a recurrent layer (a sequence in, a sequence out, masks passed through) so any
    template can swap it in; it returns no states.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.supports_masking = True
        self.dense = keras.layers.Dense(self.units, activation="tanh", name="W_xh")

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs, mask=None):
        return self.dense(inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def recurrent_layer(
    cell: str,
    units: int,
    activation: str = "tanh",
    *,
    explicit: bool = False,
    recurrent_dropout: float = 0.0,
    return_sequences: bool = True,
    return_state: bool = True,
    name: str | None = None,
) -> keras.layers.Layer:
    """A Keras recurrent layer for a registered cell name.

    `explicit=True` runs the vanilla cell on `VanillaRNNCell` (the formula written out) instead of SimpleRNN;
    it exists for teaching, SimpleRNN is the faster default. `recurrent_dropout` drops units of the state fed
    back at each step, one mask per sequence (Gal & Ghahramani 2016); Keras's LSTM, GRU and SimpleRNN have it.
    """
    check_cell(cell, activation)
    if recurrent_dropout and (cell == NO_RECURRENCE or activation == "maxout" or explicit):
        raise ValueError("recurrent dropout needs an LSTM, GRU or SimpleRNN layer (not maxout, explicit or none)")
    if cell == NO_RECURRENCE:
        if not return_sequences:
            raise ValueError("the no-recurrence baseline returns a sequence; pool it to get one vector")
        return NoRecurrence(units, name=name)
    common = {"return_sequences": return_sequences, "return_state": return_state, "name": name}
    if recurrent_dropout:
        common["recurrent_dropout"] = recurrent_dropout
    if cell == "lstm":
        return keras.layers.LSTM(units, **common)
    if cell == "gru":
        return keras.layers.GRU(units, **common)
    if activation == "maxout":
        return keras.layers.RNN(MaxoutRNNCell(units), **common)
    if explicit:
        return keras.layers.RNN(VanillaRNNCell(units, activation), **common)
    return keras.layers.SimpleRNN(units, activation=activation_function(activation), **common)


def cell_state_count(cell: str) -> int:
    """States per layer of a registered cell: LSTM carries (h, c), the others h alone."""
    check_cell(cell)
    return {"lstm": 2, NO_RECURRENCE: 0}.get(cell, 1)


def state_count(layer: keras.layers.Layer) -> int:
    """How many state tensors a recurrent layer (or a Bidirectional wrapper of one) carries."""
    if isinstance(layer, NoRecurrence):
        return 0
    if isinstance(layer, keras.layers.Bidirectional):
        return 2 * state_count(layer.forward_layer)
    if isinstance(layer, keras.layers.LSTM):
        return 2
    if isinstance(layer, keras.layers.RNN):
        state_size = layer.cell.state_size
        return len(state_size) if isinstance(state_size, (list, tuple)) else 1
    raise ValueError(f"layer {layer.name!r} is not a recurrent layer")
