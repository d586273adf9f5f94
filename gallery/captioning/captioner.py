"""Writing captions with a trained captioner: one start-model call per batch of images, then one decoding loop."""

from __future__ import annotations

import keras
import numpy as np

from datasets import captions as caption_data
from models.decoding import StepRunner, beam_search, greedy
from models.templates import one_to_many_inference


class Captioner:
    """Writes captions with a trained model: start model once per image batch, then the whole caption (greedy or
    beam search) in one compiled loop of steps, the state carried from word to word."""

    def __init__(self, model: keras.Model, vocabulary: caption_data.Vocabulary, max_length: int):
        self.model, self.vocabulary, self.max_length = model, vocabulary, max_length
        self.runner = StepRunner(one_to_many_inference(model))

    @property
    def has_attention(self) -> bool:
        return self.runner.inference.has_attention

    def caption(self, images: np.ndarray, beam: int = 1, batch_size: int = 256) -> list[list[int]]:
        """Token ids of a caption per image (greedy for beam 1, else beam search)."""
        results: list[list[int]] = []
        for first in range(0, len(images), batch_size):
            batch = np.asarray(images[first : first + batch_size], np.float32)
            context, states = self.runner.start(batch)
            starts = np.full((len(batch),), self.vocabulary.start_id, np.int32)
            if beam > 1:
                decoded = beam_search(
                    self.runner, context, states, starts, self.vocabulary.end_id, self.max_length + 1, beam_width=beam
                )
            else:
                decoded = greedy(self.runner, context, states, starts, self.vocabulary.end_id, self.max_length + 1)
            # A caption that never wrote [end] is cut at max_length words, as training captions are.
            results += [ids[: self.max_length] for ids in decoded.tokens]
        return results

    def texts(self, images: np.ndarray, beam: int = 1) -> list[str]:
        return [self.vocabulary.decode(ids) for ids in self.caption(images, beam)]

    def attention(self, image: np.ndarray, ids: list[int]) -> np.ndarray:
        """Attention weights (words + [end], regions) while the model reads its own caption back, word by word."""
        context, states = self.runner.start(np.asarray(image[None], np.float32))
        maps = []
        for token in [self.vocabulary.start_id, *ids]:
            _, states, weights = self.runner(np.array([token], np.int32), context, states)
            maps.append(weights[0])
        return np.stack(maps)
