"""The qa app's own Keras layers: sentences folded into sequences and back, the memory mask, temporal encoding."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnn_gallery")
class FoldSentences(keras.layers.Layer):
    """(batch, sentences, words) -> (batch * sentences, words): every sentence becomes a sequence of its own."""

    def call(self, memory):
        return ops.reshape(memory, (-1, ops.shape(memory)[-1]))

    # Written out: JAX cannot infer a reshape of a symbolic batch dimension by tracing `call`.
    def compute_output_shape(self, input_shape):
        batch, sentences, words = input_shape
        return (None if batch is None or sentences is None else batch * sentences, words)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class UnfoldSentences(keras.layers.Layer):
    """(batch * sentences, width) -> (batch, sentences, width), the inverse of FoldSentences."""

    def __init__(self, sentences: int, **kwargs):
        super().__init__(**kwargs)
        self.sentences = int(sentences)

    def call(self, vectors):
        return ops.reshape(vectors, (-1, self.sentences, ops.shape(vectors)[-1]))

    def compute_output_shape(self, input_shape):
        folded, width = input_shape
        return (None if folded is None else folded // self.sentences, self.sentences, width)

    def get_config(self):
        return {**super().get_config(), "sentences": self.sentences}


@keras.saving.register_keras_serializable(package="rnn_gallery")
class MemorySlotMask(keras.layers.Layer):
    """True for memory slots that hold a sentence; an empty slot starts with the <empty> token."""

    def __init__(self, empty_id: int, **kwargs):
        super().__init__(**kwargs)
        self.empty_id = int(empty_id)

    def call(self, memory):
        return ops.not_equal(memory[:, :, 0], self.empty_id)

    def get_config(self):
        return {**super().get_config(), "empty_id": self.empty_id}


@keras.saving.register_keras_serializable(package="rnn_gallery")
class TemporalEncoding(keras.layers.Layer):
    """Adds a learned vector per memory slot: the slot index says how far from the end of the story a sentence is.

    MemN2N's temporal encoding: without it, attention cannot tell the latest move of an actor from an earlier one.
    """

    def build(self, input_shape):
        self.encoding = self.add_weight(
            shape=(input_shape[1], input_shape[2]), initializer=keras.initializers.RandomNormal(stddev=0.1), name="T"
        )

    def call(self, sequence):
        return sequence + self.encoding


@keras.saving.register_keras_serializable(package="rnn_gallery")
class SqueezeSteps(keras.layers.Layer):
    """(batch, 1, width) -> (batch, width): the single query step of the attention."""

    def call(self, sequence):
        return ops.squeeze(sequence, axis=1)
