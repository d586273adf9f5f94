"""The translation model: the shared encoder-decoder template, its output bias started at the word frequencies."""

from __future__ import annotations

import keras
import numpy as np

from gallery.translation.config import TranslationConfig
from models.templates import seq2seq


def build_model(config: TranslationConfig, source_vocab: int, target_vocab: int) -> keras.Model:
    """Embedding -> encoder RNN -> decoder RNN started from its final states, with attention -> target logits."""
    return seq2seq(
        config.rnn_spec(), source_vocab, target_vocab, embedding_dim=config.embedding_dim,
        attention=config.attention, name="translation",
    )  # fmt: skip


def initialise_output_bias(model: keras.Model, target_out: np.ndarray) -> np.ndarray:
    """Start the output bias at the log-frequency of each target token in the training targets.

    An untrained decoder then predicts the unigram distribution instead of a uniform one over the vocabulary: from
    the uniform start, with the 11,794 English words of spa-eng, the model with attention sat at predicting `[end]`
    everywhere for a whole epoch (README.md, "Tried").
    """
    output = model.get_layer("output")
    kernel, _ = output.get_weights()
    # Add-one smoothing keeps tokens absent from the targets ([start], padding) at a finite, very low bias.
    counts = np.bincount(target_out[target_out != 0].ravel(), minlength=kernel.shape[1]).astype(np.float64) + 1.0
    bias = np.log(counts / counts.sum()).astype(np.float32)
    output.set_weights([kernel, bias])
    return bias
