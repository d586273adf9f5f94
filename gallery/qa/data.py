"""The qa app's data: one task's stories (generated or bAbI files), split, encoded, and batched with NumPy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets import babi, babi_world
from datasets.batches import ArrayBatches
from gallery.errors import UsageError
from gallery.qa.config import QAConfig

GENERATED_TEST_SEED_OFFSET = 1_000_003  # test stories come from a seed no training run uses


@dataclass
class TaskData:
    train: list[babi.Example]
    validation: list[babi.Example]
    test: list[babi.Example]
    source: str


def load_task(config: QAConfig, task: int) -> TaskData:
    """The examples of one task: generated, or read from the bAbI files of --data; the last share of train validates."""
    if config.generated:
        train = babi_world.generate_examples(task, config.questions, config.seed)
        test = babi_world.generate_examples(task, config.test_questions, config.seed + GENERATED_TEST_SEED_OFFSET)
        source = f"world simulation, task {task}, seed {config.seed}"
    else:
        directory = Path(config.data)
        if not directory.is_dir():
            raise UsageError(f"--data {config.data}: no such folder; pass the folder with the bAbI qaN_*.txt files")
        try:
            train_path, test_path = babi.task_files(directory, task)
            train, test = babi.read_babi_file(train_path, task), babi.read_babi_file(test_path, task)
        except (babi.BabiFilesMissingError, babi.BabiFormatError) as error:
            raise UsageError(f"{error}") from None
        source = f"{train_path.name} / {test_path.name}"
    if not train or not test:
        raise UsageError(f"task {task} has no questions in its training or test data")
    held_out = max(1, int(round(len(train) * config.validation_fraction)))
    return TaskData(train[:-held_out], train[-held_out:], test, source)


def model_inputs(model_kind: str, encoded: babi.EncodedExamples) -> dict[str, np.ndarray]:
    """The arrays the model of `--model` reads: the story as one word sequence, or as memory slots of sentences."""
    if model_kind == "baseline":
        return {"story": encoded.story, "question": encoded.question}
    return {"memory": encoded.memory, "question": encoded.question}


def batches(
    inputs: dict[str, np.ndarray], labels: np.ndarray, batch_size: int, shuffle_seed: int | None = None
) -> ArrayBatches:
    """(inputs, answer index) batches on any Keras backend, in a new order every epoch when a seed is given."""
    return ArrayBatches(inputs, labels, batch_size=batch_size, shuffle=shuffle_seed is not None, seed=shuffle_seed or 0)
