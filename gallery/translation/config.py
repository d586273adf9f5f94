"""The translation app's configuration: data source, tokens, attention, sizes, and its presets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datasets import pairs
from gallery.config import RunConfig, option, override
from gallery.errors import UsageError
from models.attention import ATTENTION_MODES


@dataclass
class TranslationConfig(RunConfig):
    """Encoder-decoder translation; the defaults are the demo preset on number words, English to Spanish."""

    APP = "translation"
    PRESETS = {
        "smoke": {
            "numbers": 400,
            "units": 16,
            "embedding_dim": 16,
            "epochs": 2,
            "batch_size": 32,
            "beam": 2,
            "max_pairs": 300,
        },
        "demo": {},
        "full": {
            "numbers": 100000,
            "units": 256,
            "embedding_dim": 256,
            "bidirectional": True,
            "epochs": 40,
            "patience": 4,
        },
    }

    data: str = option("numbers", "numbers (num2words words, offline), a tab-separated pairs file, or tfds:NAME")
    attention: str = option("additive", "additive (Bahdanau), dot (Luong) or none", choices=ATTENTION_MODES)
    pair: str = option("en-es", "number words: source-target languages of num2words (en-es, en-fr, fr-de, ...)")
    numbers: int = option(16000, "number words: how many distinct integers 0..1,000,000 to draw", minimum=30)
    level: str = option("word", "tokens: words (punctuation split off) or characters", choices=pairs.LEVELS)
    reverse: bool = option(False, "swap source and target (e.g. spa.txt is English<TAB>Spanish)")
    max_words: int = option(10, "sentence pairs: keep pairs with at most this many words a side", minimum=1)
    max_pairs: int = option(0, "use at most this many training pairs (0 = all)", minimum=0)
    max_vocabulary: int = option(20000, "most frequent tokens kept per language; the rest become [UNK]", minimum=8)
    embedding_dim: int = option(64, "token embedding width", minimum=1)
    beam: int = option(4, "beam width of the beam-search figures (1 = greedy only)", minimum=1)
    epochs: int = override("epochs", 8)
    batch_size: int = override("batch_size", 128)
    learning_rate: float = override("learning_rate", 2e-3)
    patience: int = override("patience", 3)

    def validate(self) -> None:
        super().validate()
        if self.data == "numbers":
            try:
                pairs.parse_pair(self.pair)
            except ValueError as error:
                raise UsageError(f"--pair: {error}") from None
        elif not self.data.startswith("tfds:") and not Path(self.data).is_file():
            raise UsageError(
                f"--data {self.data!r} is not a file; give a tab-separated pairs file, tfds:NAME, or numbers"
            )
