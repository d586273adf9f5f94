"""RNN-NADE output: each frame's 88 keys modelled jointly, key by key from the lowest, biases set by the recurrence.

A NADE (Larochelle & Murray 2011) writes the probability of a frame v as a product of one Bernoulli per key,
p(v) = prod_i p(v_i | v_<i), with p(v_i = 1 | v_<i) = sigmoid(b_v[i] + V[i] . sigmoid(b_h + W[:i]^T v_<i)), so the
likelihood is exact. In RNN-NADE (Boulanger-Lewandowski, Bengio & Vincent 2012) the visible biases b_v(t) and the
hidden biases b_h(t) are linear functions of the recurrent state that has read frames 0..t; W and V are shared by
every step. With the target frame known (teacher forcing), every key's pre-activation a_i = b_h + sum_{j<i} v_j W_j
is computed for all 88 keys at once, as the cumulative sum written as one matrix product ((L * v) W, L strictly
lower triangular), which runs about twice as fast on a CPU as a cumulative sum and its gradient; sampling goes key
by key (`sample_frame`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="rnn_gallery")
class NadeOutput(keras.layers.Layer):
    """The music model's `output` layer when `--output nade`.

    Called on `[hidden, targets]` (training and evaluation) it returns each key's conditional logit given the keys
    below it in the target frame, so the binary cross-entropy of those logits summed over the keys is the frame's
    exact negative log-likelihood. Called on `hidden` alone (the step model) it returns the NADE's biases for the
    next frame, `[b_v (keys), b_h (hidden_units)]`, which `sample_frame` turns into a frame.
    """

    def __init__(self, keys: int, hidden_units: int, **kwargs):
        super().__init__(**kwargs)
        if keys < 1 or hidden_units < 1:
            raise ValueError(f"a NADE needs at least one key and one hidden unit, got {keys} and {hidden_units}")
        self.keys, self.hidden_units = int(keys), int(hidden_units)
        # below[i, j] = 1 where key j is below key i.
        self.below = np.tril(np.ones((self.keys, self.keys), np.float32), -1)

    def build(self, input_shape):
        hidden_shape = input_shape[0] if isinstance(input_shape[0], (list, tuple)) else input_shape
        width = int(hidden_shape[-1])
        conditioned = self.keys + self.hidden_units
        self.bias_kernel = self.add_weight(shape=(width, conditioned), initializer="glorot_uniform", name="bias_kernel")
        self.bias_offset = self.add_weight(shape=(conditioned,), initializer="zeros", name="bias_offset")
        # W: what key j, once sounding, adds to the hidden layer of every key above it.
        self.key_to_hidden = self.add_weight(
            shape=(self.keys, self.hidden_units), initializer="glorot_uniform", name="key_to_hidden"
        )
        # V starts small so that an untrained model predicts each key near its visible bias (the base rate); a
        # Glorot-initialised V ended 12 demo epochs at 8.53 nats per test frame against 8.42.
        self.hidden_to_key = self.add_weight(
            shape=(self.keys, self.hidden_units),
            initializer=keras.initializers.RandomNormal(stddev=0.01),
            name="hidden_to_key",
        )

    def biases(self, hidden):
        """(b_v, b_h) of the frame that `hidden` predicts."""
        conditioned = ops.matmul(hidden, self.bias_kernel) + self.bias_offset
        return conditioned[..., : self.keys], conditioned[..., self.keys :]

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            visible, hidden_bias = self.biases(inputs)
            return ops.concatenate([visible, hidden_bias], axis=-1)
        hidden, targets = inputs
        visible, hidden_bias = self.biases(hidden)
        # (..., keys, keys): row i holds the target frame's keys below key i, which is all that key i may see.
        seen = ops.cast(targets, visible.dtype)[..., None, :] * ops.convert_to_tensor(self.below, visible.dtype)
        activations = ops.sigmoid(hidden_bias[..., None, :] + ops.matmul(seen, self.key_to_hidden))
        return visible + ops.sum(activations * self.hidden_to_key, axis=-1)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape[0], (list, tuple)):
            return (*input_shape[0][:-1], self.keys)
        return (*input_shape[:-1], self.keys + self.hidden_units)

    def get_config(self):
        return {**super().get_config(), "keys": self.keys, "hidden_units": self.hidden_units}

    def numpy_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, V) in float64, for sampling and references in NumPy."""
        return (
            np.asarray(ops.convert_to_numpy(self.key_to_hidden), np.float64),
            np.asarray(ops.convert_to_numpy(self.hidden_to_key), np.float64),
        )


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def sample_frame(
    biases: np.ndarray,
    key_to_hidden: np.ndarray,
    hidden_to_key: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(frame, probabilities): keys drawn from the lowest up, each from sigmoid(conditional logit / temperature).

    `biases` is what the step model returns for one frame, `[b_v, b_h]`; `probabilities[i]` is the probability key i
    was drawn with, given the keys already drawn below it.
    """
    keys = key_to_hidden.shape[0]
    biases = np.asarray(biases, np.float64)
    visible, activation = biases[:keys], biases[keys:].copy()
    frame = np.zeros(keys, np.float32)
    probabilities = np.zeros(keys)
    for key in range(keys):
        logit = visible[key] + hidden_to_key[key] @ _sigmoid(activation)
        probabilities[key] = _sigmoid(logit / temperature)
        if rng.random() < probabilities[key]:
            frame[key] = 1.0
            activation += key_to_hidden[key]
    return frame, probabilities
