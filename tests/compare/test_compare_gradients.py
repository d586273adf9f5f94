"""The gradient-flow probe against a linear RNN, whose d loss / d h_t is known in closed form."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gallery.compare.grid import Architecture
from gallery.compare.probes import adding_gradient_norms, build_adding_model, hidden_state_gradient_norms


@pytest.mark.parametrize("scale", [0.8, 1.0, 1.15])
def test_linear_rnn_gradient_norm_is_a_power_of_the_recurrent_scale(scale, rng):
    # h_t = a h_{t-1} + W x_t with loss w . h_T gives d loss / d h_t = a^(T-t) w: the norm is a^(T-t) ||w||.
    units, length = 5, 12
    cell = keras.layers.SimpleRNNCell(units, activation=None)
    cell.build((None, 3))
    kernel = rng.normal(size=(3, units))
    cell.set_weights([kernel, scale * np.eye(units), np.zeros(units)])
    w = tf.constant(rng.normal(size=(units, 1)), dtype=tf.float32)
    inputs = rng.normal(size=(4, length, 3)).astype("float32")
    norms = hidden_state_gradient_norms(cell, inputs, lambda h: tf.matmul(h, w))
    distance = np.arange(length)[::-1]
    expected = scale**distance * np.linalg.norm(w.numpy())
    np.testing.assert_allclose(norms, expected, rtol=1e-5)


def test_tanh_rnn_gradient_vanishes_when_its_recurrent_weights_are_small(rng):
    cell = keras.layers.SimpleRNNCell(6)
    cell.build((None, 2))
    cell.set_weights([rng.normal(size=(2, 6)), 0.3 * np.eye(6), np.zeros(6)])
    norms = hidden_state_gradient_norms(cell, rng.normal(size=(3, 20, 2)).astype("float32"), tf.reduce_sum)
    # |tanh'| <= 1, so each step back multiplies the norm by at most 0.3.
    assert np.all(norms[:-1] <= 0.3 * norms[1:] + 1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_probe_reads_the_trained_layers_of_an_adding_model(cell, rng):
    model = build_adding_model(Architecture(cell), units=4)
    inputs = rng.normal(size=(2, 7, 2)).astype("float32")
    targets = rng.normal(size=(2, 1)).astype("float32")
    norms = adding_gradient_norms(model, inputs, targets)
    assert norms.shape == (7,) and np.all(np.isfinite(norms)) and np.all(norms > 0)
    # At distance 0 the gradient is the readout's: 2 (y - target) w, averaged over the batch of norms.
    readout_weights = model.get_layer("readout").get_weights()[0][:, 0]
    errors = np.asarray(model(inputs))[:, 0] - targets[:, 0]
    expected_last = np.mean(np.abs(2 * errors)) * np.linalg.norm(readout_weights)
    assert norms[-1] == pytest.approx(expected_last, rel=1e-4)
