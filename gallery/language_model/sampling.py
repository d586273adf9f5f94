"""Text generation from a trained language model, the recurrent state carried from token to token."""

from __future__ import annotations

import keras
import numpy as np

from datasets import text as text_data
from gallery.errors import UsageError
from models.decoding import StepRunner, feed, sample
from models.templates import many_to_many_inference


class Sampler:
    """Generation with the step model, state carried from token to token: same seed, same text."""

    def __init__(self, model: keras.Model, vocabulary: text_data.Vocabulary):
        self.model, self.vocabulary = model, vocabulary
        self.runner = StepRunner(many_to_many_inference(model))

    def prime_ids(self, prime: str) -> np.ndarray:
        tokens = text_data.tokenize(prime, self.vocabulary.level)
        if not tokens:
            raise UsageError("--prime is empty; give at least one character to start from")
        missing = self.vocabulary.unknown(tokens)
        if missing and text_data.UNKNOWN not in self.vocabulary.index:
            shown = ", ".join(repr(token) for token in missing[:20])
            unit = "character" if self.vocabulary.level == "char" else "word"
            raise UsageError(
                f"the prime has {len(missing)} {unit}(s) the model never saw: {shown}; "
                f"use {unit}s from the training text"
            )
        return self.vocabulary.encode(tokens)

    def generate(self, prime: str, length: int, temperature: float, top_k: int | None, seed: int) -> str:
        ids = self.prime_ids(prime)
        _, states = self.runner.start(batch_size=1)
        # Every prime token but the last sets the state (one compiled loop); the last is the sampler's first input.
        _, states = feed(self.runner, ids[None, :-1], [], states) if len(ids) > 1 else (None, states)
        decoded = sample(self.runner, [], states, ids[-1:], length, temperature=temperature, top_k=top_k, seed=seed)
        return self.vocabulary.decode(decoded.tokens[0])
