"""Translating with a trained model: text in, text out, greedy or beam search on the step model, attention maps."""

from __future__ import annotations

import keras
import numpy as np

from datasets import pairs
from datasets.pairs import END, START, Tokenizer, detokenize
from models.decoding import StepRunner, beam_search, greedy
from models.templates import seq2seq_inference

CHUNK = 256
SOURCE_PADDING = 8


class Translator:
    """A trained model with its tokenizers: text in, text out, greedy or beam search, with the attention maps."""

    def __init__(self, model: keras.Model, source: Tokenizer, target: Tokenizer, max_source: int, max_target: int):
        self.model, self.source, self.target = model, source, target
        self.max_source, self.max_target = max_source, max_target
        # The step model shares the training model's layers, so it always decodes with the current weights; greedy
        # and beam search each run as one compiled loop per chunk of sources.
        self.runner = StepRunner(seq2seq_inference(model))

    def decode_ids(self, source_rows: list[list[int]], beam: int = 1) -> tuple[list[list[int]], list | None]:
        """Target ids per source row; greedy (beam 1) also returns each row's attention map (steps x source)."""
        if not source_rows:
            return [], None
        # Padded (masked, so it changes nothing) to a multiple of 8: a few shapes for compiled backends to trace.
        longest = max(len(row) for row in source_rows)
        padded = pairs.pad(source_rows, -(-max(longest, 1) // SOURCE_PADDING) * SOURCE_PADDING)
        context, states = self.runner.start(padded)
        starts = np.full(len(source_rows), START, np.int32)
        limit = self.max_target + 5
        if beam > 1:
            decoded = beam_search(self.runner, context, states, starts, END, limit, beam_width=beam)
            return decoded.tokens, None
        decoded = greedy(self.runner, context, states, starts, END, limit)
        maps = None
        if decoded.attention is not None:
            maps = [matrix[:, : len(row)] for matrix, row in zip(decoded.attention, source_rows)]
        return decoded.tokens, maps

    def translate_ids(self, source_rows: list[list[int]], beam: int = 1) -> list[list[int]]:
        """Many rows, in chunks of similar length (less padding), results in the order given."""
        order = sorted(range(len(source_rows)), key=lambda i: len(source_rows[i]))
        results: list[list[int]] = [[] for _ in source_rows]
        for begin in range(0, len(order), CHUNK):
            chunk = order[begin : begin + CHUNK]
            rows = [source_rows[i] for i in chunk]
            # An empty source has nothing to attend to; its translation is empty too.
            present = [k for k, row in enumerate(rows) if row]
            decoded, _ = self.decode_ids([rows[k] for k in present], beam)
            for k, tokens in zip(present, decoded):
                results[chunk[k]] = tokens
        return results

    def prepare(self, text: str) -> tuple[list[int], list[str], list[str], bool]:
        """(ids, tokens, unknown tokens, truncated) of one input text, cut to the longest source seen in training."""
        tokens = self.source.pieces([text])[0]
        ids = self.source.encode([text])[0]
        truncated = len(ids) > self.max_source
        if truncated:
            ids, tokens = ids[: self.max_source], tokens[: self.max_source]
        return ids, tokens, self.source.unknown(text), truncated

    def readable(self, ids: list[int]) -> str:
        text = self.target.join(ids)
        return detokenize(text) if self.target.level == "word" else text
