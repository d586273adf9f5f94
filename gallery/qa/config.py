"""The qa app's configuration: which model, which task, the size of the memory, the data, and its presets."""

from __future__ import annotations

from dataclasses import dataclass

from datasets import babi, babi_world
from gallery.config import RunConfig, option, override
from gallery.errors import UsageError

MODELS = ("baseline", "attention")


@dataclass
class QAConfig(RunConfig):
    """Question answering: which model, which task, and the size of the memory."""

    APP = "qa"
    PRESETS = {
        "smoke": {
            "questions": 60,
            "test_questions": 30,
            "units": 8,
            "embedding_dim": 8,
            "hops": 2,
            "memory_size": 12,
            "epochs": 2,
            "batch_size": 16,
            "run_eagerly": True,
        },
        "demo": {},
        "full": {"epochs": 150, "patience": 25, "units": 64, "questions": 10000},
    }

    model: str = option("attention", "baseline: story RNN + question RNN; attention: memory reader", choices=MODELS)
    task: str = option("1", "bAbI task number (1-20; the generator writes 1,2,3,6,7,8,9,11), or 'all'")
    hops: int = option(3, "attention hops over the sentences (--model attention)", minimum=1)
    memory_size: int = option(50, "sentences of the story the model reads (the most recent ones)", minimum=1)
    embedding_dim: int = option(32, "word embedding width", minimum=1)
    questions: int = option(3000, "generated data: training questions per task (validation included)", minimum=10)
    test_questions: int = option(1000, "generated data: test questions per task", minimum=1)
    validation_fraction: float = option(0.1, "share of the training questions held out for validation", minimum=0.0)
    run_eagerly: bool = option(
        False, "on TensorFlow, train step by step without graph tracing: quicker for tiny runs only"
    )
    cell: str = override("cell", "lstm")
    units: int = override("units", 32)
    epochs: int = override("epochs", 30)
    batch_size: int = override("batch_size", 32)
    learning_rate: float = override("learning_rate", 5e-3)
    patience: int = override("patience", 12)

    def validate(self) -> None:
        super().validate()
        self.task_numbers()
        if not 0 < self.validation_fraction < 1:
            raise UsageError(f"--validation-fraction must be between 0 and 1, got {self.validation_fraction}")
        if self.data.startswith("tfds:"):
            raise UsageError("bAbI is not read through tfds here; pass --data DIR with the qaN_*_train/test.txt files")

    @property
    def generated(self) -> bool:
        return self.data == "default"

    def task_numbers(self) -> list[int]:
        """The tasks this config names, checked against the data source."""
        offered = list(babi_world.TASKS) if self.generated else list(range(1, 21))
        if self.task == "all":
            if self.generated:
                return offered
            found = babi.available_tasks(self.data)
            if not found:
                raise UsageError(f"--data {self.data} holds no bAbI task files (qaN_*_train.txt with qaN_*_test.txt)")
            return found
        if not self.task.isdigit() or int(self.task) not in offered:
            source = "the world simulation writes tasks" if self.generated else "bAbI has tasks"
            raise UsageError(f"--task {self.task!r} is not valid; {source} {', '.join(map(str, offered))}, or 'all'")
        return [int(self.task)]

    def recurrent_architecture(self) -> str:
        """The recurrent encoders alone, e.g. `lstm-1x32`."""
        return super().architecture()

    def architecture(self) -> str:
        return f"{self.model}-task{self.task}-{super().architecture()}"
