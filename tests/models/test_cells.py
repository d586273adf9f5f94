"""Cells against NumPy implementations of their formulas, and the registry's errors."""

import keras
import numpy as np
import pytest

from models import reference
from models.cells import ACTIVATIONS, CELLS, VanillaRNNCell, recurrent_layer
from models.stacks import RNNSpec


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_vanilla_activations_match_numpy(activation, rng):
    x = rng.normal(size=(3, 7, 5)).astype("float32")
    layer = recurrent_layer("rnn", 6, activation, return_state=False)
    keras_out = np.asarray(layer(x))
    numpy_out = reference.layer_forward(layer, x.astype(np.float64), activation)
    assert np.abs(keras_out - numpy_out).max() < 1e-5


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu", "elu"])
def test_explicit_vanilla_cell_equals_simple_rnn(activation, rng):
    x = rng.normal(size=(2, 9, 4)).astype("float32")
    explicit = keras.layers.RNN(VanillaRNNCell(5, activation), return_sequences=True)
    builtin = recurrent_layer("rnn", 5, activation, return_state=False)
    explicit.build(x.shape)
    builtin.build(x.shape)
    builtin.set_weights(explicit.get_weights())
    assert [w.name for w in explicit.weights] == ["W_xh", "W_hh", "b_h"]
    assert np.abs(np.asarray(explicit(x)) - np.asarray(builtin(x))).max() < 1e-6


def test_leaky_relu_uses_the_lectures_slope():
    x = np.array([[[-1.0]]], np.float32)
    cell = VanillaRNNCell(1, "leaky_relu")
    layer = keras.layers.RNN(cell)
    layer.build(x.shape)
    layer.set_weights([np.ones((1, 1)), np.zeros((1, 1)), np.zeros(1)])
    assert np.asarray(layer(x))[0, 0] == pytest.approx(-0.1)


def test_maxout_takes_the_larger_of_two_pieces():
    x = np.array([[[1.0]]], np.float32)
    layer = recurrent_layer("rnn", 1, "maxout", return_state=False)
    layer.build(x.shape)
    # Piece 0 gives 2x, piece 1 gives -3x: the max is 2 for x = 1.
    layer.set_weights([np.array([[2.0, -3.0]]), np.zeros((1, 2)), np.zeros(2)])
    assert np.asarray(layer(x))[0, 0, 0] == pytest.approx(2.0)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_match_numpy(cell, rng):
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    layer = recurrent_layer(cell, 5, return_state=False)
    layer.build(x.shape)
    # Non-zero biases make the check cover every term of the formulas.
    layer.set_weights([w + rng.normal(scale=0.3, size=w.shape) for w in layer.get_weights()])
    assert np.abs(np.asarray(layer(x)) - reference.layer_forward(layer, x.astype(np.float64))).max() < 1e-5


def test_unknown_cell_and_activation_name_the_choices():
    with pytest.raises(ValueError, match="rnn, lstm, gru"):
        recurrent_layer("transformer", 4)
    with pytest.raises(ValueError, match="maxout"):
        recurrent_layer("rnn", 4, "swish")
    with pytest.raises(ValueError, match="vanilla cell only"):
        RNNSpec("lstm", 4, activation="relu")


def test_registry_lists_the_lecture():
    assert CELLS == ("rnn", "lstm", "gru")
    assert set(ACTIVATIONS) == {"tanh", "sigmoid", "relu", "leaky_relu", "elu", "maxout"}


def test_recurrent_dropout_reaches_the_keras_layers_and_only_acts_in_training(rng):
    from models.stacks import RecurrentStack

    stack = RecurrentStack(RNNSpec("lstm", 8, 2, recurrent_dropout=0.5), "rnn")
    assert [layer.cell.recurrent_dropout for layer in stack.layers] == [0.5, 0.5]
    inputs = keras.Input((None, 3))
    sequence, _ = stack(inputs)
    model = keras.Model(inputs, sequence)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False))
    assert recurrent_layer("gru", 4, recurrent_dropout=0.2).cell.recurrent_dropout == 0.2
    for refused in ({"cell": "rnn", "activation": "maxout"}, {"cell": "rnn", "explicit": True}, {"cell": "none"}):
        with pytest.raises(ValueError, match="recurrent dropout needs"):
            recurrent_layer(units=4, recurrent_dropout=0.2, **refused)
    with pytest.raises(ValueError, match="recurrent dropout must be in"):
        RNNSpec("lstm", 4, recurrent_dropout=1.0)
