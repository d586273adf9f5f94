"""Keras layers only the captioning app uses: where a region is, colour-blind views, grounded words, a word loss.

Registered under the same names as when they lived in models.attention (package `rnn_gallery`), so `.keras` files
saved then load once `gallery.captioning` is imported.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnn_gallery")
class GridCoordinates(keras.layers.Layer):
    """Appends each cell's row and column, scaled to [-1, 1], to a feature map (batch, H, W, C) -> (..., C + 2).

    Convolutions are translation-equivariant, so a region's features say what is there but not where; attention
    over the regions, and anything that must state "left of" or "above", needs the where (Liu et al. 2018,
    CoordConv).
    """

    def call(self, grid):
        batch, rows, columns = ops.shape(grid)[0], ops.shape(grid)[1], ops.shape(grid)[2]
        row = ops.linspace(-1.0, 1.0, rows)
        column = ops.linspace(-1.0, 1.0, columns)
        row_grid = ops.repeat(ops.expand_dims(row, 1), columns, axis=1)
        column_grid = ops.repeat(ops.expand_dims(column, 0), rows, axis=0)
        coordinates = ops.cast(ops.stack([row_grid, column_grid], axis=-1), grid.dtype)
        coordinates = ops.repeat(ops.expand_dims(coordinates, 0), batch, axis=0)
        return ops.concatenate([grid, coordinates], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = None if input_shape[-1] is None else input_shape[-1] + 2
        return (*input_shape[:-1], channels)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class ChannelsAsImages(keras.layers.Layer):
    """Each colour channel of an image becomes its own grey image: (batch, H, W, C) -> (batch * C, H, W, 1).

    Convolutions that follow see every channel with the same weights, as one batch of 4-D images (whose batch
    normalisation is fused, twice as fast on a CPU as `TimeDistributed` over a 5-D tensor). `StrongestChannel`
    folds the channels back.
    """

    def call(self, images):
        shape = ops.shape(images)
        return ops.reshape(ops.transpose(images, (0, 3, 1, 2)), (-1, shape[1], shape[2], 1))

    def compute_output_shape(self, input_shape):
        return (None, input_shape[1], input_shape[2], 1)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class StrongestChannel(keras.layers.Layer):
    """Undoes `ChannelsAsImages` on a feature grid: (batch * channels, H, W, F) -> (batch, H * W, F), keeping per
    region and feature the largest value over the channels, so that permuting the channels changes nothing."""

    def __init__(self, channels: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def call(self, grid):
        shape = ops.shape(grid)
        return ops.max(ops.reshape(grid, (-1, self.channels, shape[1] * shape[2], shape[3])), axis=1)

    def compute_output_shape(self, input_shape):
        regions = None if None in input_shape[1:3] else input_shape[1] * input_shape[2]
        return (None, regions, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package="rnn_gallery")
class WeightedRegions(keras.layers.Layer):
    """Attention weights (batch, T, regions) applied to other region features (batch, regions, C) -> (batch, T, C).

    Reads a second description of the image where an attention layer already chose to look, so a head can see
    the attended place through features the attention scores were not computed from.
    """

    def call(self, inputs):
        weights, values = inputs
        return ops.matmul(weights, ops.cast(values, weights.dtype))

    def compute_output_shape(self, input_shape):
        weights_shape, values_shape = input_shape
        return (*weights_shape[:-1], values_shape[-1])


@keras.saving.register_keras_serializable(package="rnn_gallery")
class GroundedWords(keras.layers.Layer):
    """Next-word log-probabilities where some word groups are chosen from the attended image region alone.

    Inputs: the language model's logits over the vocabulary (batch, T, V) and, for each group of word ids (say
    the colour words, the shape words), logits over that group computed from the attended region only (batch, T,
    |group|). The language model keeps the probability of saying *some* word of a group now (the sum of its
    probabilities over the group); which word of the group is the region head's choice, the factorisation of
    Neural Baby Talk (Lu et al. 2018) with the attended region as the slot's detector. So the word before cannot
    veto a word of the group ("triangle" after "blue"); whether the head can name an unseen pair depends on what
    its region features keep apart, which is why the captioning heads read a colour-blind and a shape-blind view
    of the attended place (`WeightedRegions`). The output is a normalised log-probability, usable as logits.
    """

    def __init__(self, groups, **kwargs):
        super().__init__(**kwargs)
        self.groups = [[int(i) for i in group] for group in groups]
        flat = [i for group in self.groups for i in group]
        if not self.groups or any(len(group) < 2 for group in self.groups) or len(flat) != len(set(flat)):
            raise ValueError("word groups must be disjoint lists of at least two word ids each")

    def build(self, input_shape):
        vocab_size = input_shape[0][-1]
        if max(i for group in self.groups for i in group) >= vocab_size:
            raise ValueError(f"a grouped word id is outside the vocabulary of {vocab_size} words")
        keep = [1.0] * vocab_size
        self.indices = [ops.convert_to_tensor(group, dtype="int32") for group in self.groups]
        self.placements = []
        for group in self.groups:
            placement = [[0.0] * vocab_size for _ in group]
            for row, word in enumerate(group):
                placement[row][word] = 1.0
                keep[word] = 0.0
            self.placements.append(ops.convert_to_tensor(placement))
        self.keep = ops.convert_to_tensor(keep)

    def call(self, inputs):
        language_logits, *group_logits = inputs
        log_probs = ops.log_softmax(language_logits, axis=-1)
        output = log_probs * ops.cast(self.keep, log_probs.dtype)
        for indices, logits, placement in zip(self.indices, group_logits, self.placements):
            group_mass = ops.logsumexp(ops.take(log_probs, indices, axis=-1), axis=-1, keepdims=True)
            within = ops.log_softmax(logits, axis=-1)
            output = output + ops.matmul(group_mass + within, ops.cast(placement, log_probs.dtype))
        return output

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


@keras.saving.register_keras_serializable(package="rnn_gallery")
class NextWordLoss(keras.layers.Layer):
    """Passes a language model's logits through and, while training, adds their cross-entropy against the next token.

    Inputs: logits (batch, T, V) and the teacher-forced input tokens (batch, T) they were computed from; the logits
    at step t are scored against token t + 1 (padding, id 0, is skipped; the last step has no next input and is
    left to the model's own loss). With `GroundedWords`, the language model's choice within a word group is never
    used, so nothing makes its attention and the image encoder tell the group's words apart but the heads' loss
    through the attention weights; this loss, `weight` times the mean over real tokens, asks it to name every word.
    """

    def __init__(self, weight: float, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)

    def call(self, inputs, training=None):
        logits, tokens = inputs
        if training:
            following = tokens[:, 1:]
            real = ops.cast(ops.not_equal(following, 0), logits.dtype)
            losses = ops.sparse_categorical_crossentropy(following, logits[:, :-1], from_logits=True)
            self.add_loss(self.weight * ops.sum(losses * real) / ops.maximum(ops.sum(real), 1.0))
        return logits

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}
