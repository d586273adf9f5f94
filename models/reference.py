"""NumPy forward passes of every cell, written from their formulas: the ground truth for tests and the hello demo.

Weight layouts follow Keras: LSTM gates are stored in the order (input, forget, candidate, output), GRU gates
in the order (update, reset, candidate) with separate input and recurrent biases (`reset_after=True`).
"""

from __future__ import annotations

import numpy as np

from models.cells import LEAKY_RELU_SLOPE, MAXOUT_PIECES


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATION_FORMULAS = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, LEAKY_RELU_SLOPE * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1.0),
}


def vanilla_rnn(x, W_xh, W_hh, b_h, activation="tanh", h0=None):
    """h_t = f(W_hh h_{t-1} + W_xh x_t + b_h) for a batch x of shape (batch, T, input_dim); returns all h_t."""
    batch, steps, _ = x.shape
    h = np.zeros((batch, W_hh.shape[0])) if h0 is None else h0
    outputs = []
    for t in range(steps):
        pre = h @ W_hh + x[:, t] @ W_xh + b_h
        if activation == "maxout":
            units = W_hh.shape[0]
            h = pre.reshape(batch, MAXOUT_PIECES, units).max(axis=1)
        else:
            h = ACTIVATION_FORMULAS[activation](pre)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def lstm(x, kernel, recurrent_kernel, bias):
    """Hochreiter and Schmidhuber's LSTM with a forget gate; returns all h_t."""
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    h, c = np.zeros((batch, units)), np.zeros((batch, units))
    outputs = []
    for t in range(steps):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        i, f, g, o = (z[:, k * units : (k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def gru(x, kernel, recurrent_kernel, bias):
    """Cho et al.'s GRU as Keras computes it (reset gate applied after the recurrent matmul); returns all h_t."""
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    input_bias, recurrent_bias = bias[0], bias[1]
    h = np.zeros((batch, units))
    outputs = []
    for t in range(steps):
        xz = x[:, t] @ kernel + input_bias
        hz = h @ recurrent_kernel + recurrent_bias
        z = sigmoid(xz[:, :units] + hz[:, :units])
        r = sigmoid(xz[:, units : 2 * units] + hz[:, units : 2 * units])
        candidate = np.tanh(xz[:, 2 * units :] + r * hz[:, 2 * units :])
        h = z * h + (1.0 - z) * candidate
        outputs.append(h)
    return np.stack(outputs, axis=1)


def softmax(scores):
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def layer_forward(layer, x, activation="tanh"):
    """The NumPy forward pass of a built Keras recurrent layer of any registered cell, from its weights."""
    weights = [np.asarray(w, np.float64) for w in layer.get_weights()]
    kind = type(layer).__name__
    if kind == "LSTM":
        return lstm(x, *weights)
    if kind == "GRU":
        return gru(x, *weights)
    return vanilla_rnn(x, *weights, activation=activation)
