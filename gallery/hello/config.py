"""The hello network's configuration: three hidden units and a vanilla tanh cell, as on the lecture's slide."""

from __future__ import annotations

from dataclasses import dataclass

from gallery.config import RunConfig, override
from gallery.errors import UsageError


@dataclass
class HelloConfig(RunConfig):
    """The hello network: the word to learn is `--data`, and training stops once every next character is right."""

    APP = "hello"
    UNIDIRECTIONAL_REASON = "would let the network read the character it must predict; leave it off"
    PRESETS = {"smoke": {"epochs": 300}, "demo": {}, "full": {"epochs": 1000}}

    cell: str = override("cell", "rnn")
    units: int = override("units", 3)
    epochs: int = override("epochs", 500)
    batch_size: int = override("batch_size", 1)
    learning_rate: float = override("learning_rate", 0.05)
    patience: int = override("patience", 500)
    data: str = override("data", "hello")

    def validate(self) -> None:
        super().validate()
        if len(self.data) < 2:
            raise UsageError(f"--data must be a word of at least two characters to predict, got {self.data!r}")
        if self.recurrent_dropout:
            raise UsageError("--recurrent-dropout does not apply to hello: its cell writes the formula out; leave it 0")
