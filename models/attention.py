"""Attention blocks: sequence attention (Bahdanau additive, Luong dot) and attention pooling, plus small glue layers.

Sequence attention uses Keras' own `AdditiveAttention` and `Attention` layers; the memory is projected to the
query width first, so dot-product scoring is Luong's "general" score and both modes accept any encoder width.
The glue layers are registered so models that use them save to `.keras` and load with `safe_mode=True`.
"""

from __future__ import annotations

import keras
from keras import ops

ATTENTION_MODES = ("none", "additive", "dot")


def check_attention(mode: str) -> None:
    if mode not in ATTENTION_MODES:
        raise ValueError(f"unknown attention {mode!r}; choose one of: {', '.join(ATTENTION_MODES)}")


def attention_layer(mode: str, name: str) -> keras.layers.Layer:
    """Keras' Bahdanau (`additive`) or Luong (`dot`) attention layer."""
    check_attention(mode)
    if mode == "additive":
        return keras.layers.AdditiveAttention(name=name)
    if mode == "dot":
        return keras.layers.Attention(score_mode="dot", name=name)
    raise ValueError("attention 'none' has no layer")


@keras.saving.register_keras_serializable(package="rnn_gallery")
class PaddingMask(keras.layers.Layer):
    """True where a token id is not the padding id 0."""

    def call(self, token_ids):
        return ops.not_equal(token_ids, 0)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class BroadcastOverTime(keras.layers.Layer):
    """Repeats a vector (batch, d) along the time axis of a sequence (batch, T, ...) -> (batch, T, d)."""

    def call(self, inputs):
        vector, sequence = inputs
        steps = ops.shape(sequence)[1]
        return ops.repeat(ops.expand_dims(vector, 1), steps, axis=1)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class DropFirstStep(keras.layers.Layer):
    """Drops the first time step (the image step of the `pre` injection) from a sequence."""

    def call(self, sequence):
        return sequence[:, 1:]


@keras.saving.register_keras_serializable(package="rnn_gallery")
class AttentionPooling(keras.layers.Layer):
    """Attention pooling of a sequence to one vector (after de Andrade et al. 2018).

    The query is a projection of the last valid step; the scores are its dot products with every step, softmaxed
    over the valid steps. Returns the weighted sum, and the weights when `return_weights=True`.
    """

    def build(self, input_shape):
        width = input_shape[-1]
        self.query = keras.layers.Dense(width, name="query")
        self.query.build((input_shape[0], width))

    def call(self, sequence, mask=None, return_weights=False):
        if mask is None:
            mask = ops.ones(ops.shape(sequence)[:2], dtype="bool")
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        last_index = ops.maximum(lengths - 1, 0)
        last = ops.take_along_axis(sequence, ops.reshape(last_index, (-1, 1, 1)), axis=1)[:, 0]
        query = self.query(last)
        scores = ops.sum(sequence * ops.expand_dims(query, 1), axis=-1)
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        pooled = ops.sum(sequence * ops.expand_dims(weights, -1), axis=1)
        return (pooled, weights) if return_weights else pooled

    def compute_mask(self, inputs, mask=None):
        return None
