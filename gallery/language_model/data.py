"""The language model's data as batches: random training windows, the validation windows scored, and their size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datasets import text as text_data
from datasets.batches import EpochBatches
from gallery.errors import UsageError
from gallery.language_model.config import LanguageModelConfig


class RandomWindows(EpochBatches):
    """`steps` batches an epoch of (inputs, targets) windows of the training text starting at random positions.

    The starts of batch i in epoch e are drawn from (seed, e, i) alone, so a resumed run trains on the windows an
    uninterrupted one would have (a stream drawn from one generator would start over in a new process).
    """

    def __init__(self, ids: np.ndarray, seq_len: int, batch_size: int, steps: int, seed: int):
        super().__init__(seed=seed, shuffle=True)
        self.ids, self.seq_len, self.batch_size, self.steps = ids, seq_len, batch_size, steps
        self.offsets = np.arange(seq_len + 1)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        starts = len(self.ids) - self.seq_len  # a start s needs ids[s : s + seq_len + 1]
        chunks = self.ids[self.draws(index).integers(0, starts, size=(self.batch_size, 1)) + self.offsets]
        return chunks[:, :-1], chunks[:, 1:]


@dataclass
class TextBatches:
    """The encoded text, the training stream, the validation windows scored each epoch, and what they cover.

    `validation_tokens` and `validation_characters` count the scored targets, so a mean loss per token can be
    turned into nats per character (at the word level a token covers several characters).
    """

    data: text_data.LanguageModelData
    train: RandomWindows
    validation: tuple[np.ndarray, np.ndarray]
    steps_per_epoch: int
    validation_tokens: int
    validation_characters: int

    @property
    def vocabulary(self) -> text_data.Vocabulary:
        return self.data.vocabulary

    def describe(self, config: LanguageModelConfig) -> str:
        unit = "characters" if config.level == "char" else "tokens"
        return (
            f"data: {self.data.corpus.description}: {len(self.data.train_ids):,} training and "
            f"{len(self.data.validation_ids):,} validation {unit}, vocabulary {len(self.vocabulary)}; "
            f"{config.architecture()}, embedding {config.embedding_dim}, windows of {config.seq_len}, "
            f"{self.steps_per_epoch} batches of {config.batch_size} per epoch"
        )

    def epoch_prime(self) -> str:
        """The first token of the validation text: a fixed, in-vocabulary prime for the epoch samples."""
        return self.vocabulary.decode(self.data.validation_ids[:1])

    def validation_passage(self, characters: int) -> str:
        return self.vocabulary.decode(self.data.validation_ids[:characters])


def load(config: LanguageModelConfig) -> TextBatches:
    """The text of `--data`, encoded and split; a source that cannot be used is a UsageError naming the fix."""
    try:
        corpus = text_data.load_corpus(config.data)
        data = text_data.prepare(corpus, config.level, config.seq_len, max_vocab=config.max_vocab)
    except text_data.TextDataError as error:
        raise UsageError(str(error)) from None
    windows = data.validation_window_count(config.seq_len)
    batches = math.ceil(windows / config.batch_size)
    if config.validation_steps:
        batches = min(batches, config.validation_steps)
    tokens = min(windows, batches * config.batch_size) * config.seq_len
    characters = tokens if config.level == "char" else int(data.validation_token_lengths[1 : tokens + 1].sum())
    inputs, targets = data.validation_windows(config.seq_len)
    scored = tokens // config.seq_len
    training_windows = max(1, (len(data.train_ids) - 1) // config.seq_len)
    steps = config.steps_per_epoch or max(1, training_windows // config.batch_size)
    return TextBatches(
        data=data,
        train=RandomWindows(data.train_ids, config.seq_len, config.batch_size, steps, config.seed),
        validation=(inputs[:scored], targets[:scored]),
        steps_per_epoch=steps,
        validation_tokens=tokens,
        validation_characters=characters,
    )
