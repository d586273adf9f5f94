"""The language model: embedding, the shared recurrent stack, and next-token logits at every step."""

from __future__ import annotations

import keras

from gallery.language_model.config import LanguageModelConfig
from models.templates import many_to_many


def build_model(config: LanguageModelConfig, vocab_size: int) -> keras.Model:
    """Embedding -> recurrent stack (rnn_0, rnn_1, ...) -> dense logits over the vocabulary, at every step."""
    return many_to_many(
        config.rnn_spec(),
        vocab_size,
        vocab_size=vocab_size,
        embedding_dim=config.embedding_dim,
        name="language_model",
    )
