"""The language model's configuration: an LSTM character model on windows drawn at random, and its presets."""

from __future__ import annotations

from dataclasses import dataclass

from datasets import text as text_data
from gallery.config import RunConfig, option, override, schedule_option


@dataclass
class LanguageModelConfig(RunConfig):
    """An LSTM character model trained on windows drawn at random from the text.

    One layer, because on a 2-core CPU a 2x256 stack learnt no more per batch than 1x256 and ran three times slower
    (README.md, "Tried"). The demo's 30 epochs of 40 batches end in about eight minutes on a quiet 2-core CPU.
    """

    APP = "language_model"
    UNIDIRECTIONAL_REASON = "would let the model read the character it must predict; leave it off"
    PRESETS = {
        "smoke": {
            "units": 16,
            "embedding_dim": 8,
            "seq_len": 24,
            "epochs": 2,
            "steps_per_epoch": 3,
            "batch_size": 8,
            "sample_length": 40,
            "validation_steps": 2,
        },
        "demo": {},
        "full": {
            "units": 512,
            "layers": 2,
            "dropout": 0.2,
            "learning_rate": 2e-3,
            "epochs": 50,
            "steps_per_epoch": 100,
            "patience": 8,
        },
    }

    units: int = override("units", 256)
    layers: int = override("layers", 1)
    epochs: int = override("epochs", 30)
    batch_size: int = override("batch_size", 64)
    learning_rate: float = override("learning_rate", 8e-3)
    patience: int = override("patience", 5)
    level: str = option("char", "model characters, or words/punctuation/whitespace", choices=text_data.LEVELS)
    seq_len: int = option(100, "window length in tokens for truncated backpropagation through time", minimum=2)
    embedding_dim: int = option(64, "size of the token embedding", minimum=1)
    steps_per_epoch: int = option(40, "training batches per epoch (0 = one pass over the training text)", minimum=0)
    validation_steps: int = option(0, "validation batches per epoch (0 = the whole validation split)", minimum=0)
    schedule: str = schedule_option("cosine")
    max_vocab: int = option(10000, "word level: keep this many most frequent tokens, the rest are <unk>", minimum=2)
    sample_length: int = option(200, "characters of the sample printed each epoch", minimum=1)
