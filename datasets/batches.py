"""Batches of in-memory NumPy arrays as a `keras.utils.PyDataset`, reshuffled every epoch, on any Keras backend."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def take(structure: Any, rows: np.ndarray) -> Any:
    """The given rows of every array in a dict, tuple or list of arrays (or of one array)."""
    if isinstance(structure, dict):
        return {key: take(value, rows) for key, value in structure.items()}
    if isinstance(structure, (tuple, list)):
        return type(structure)(take(value, rows) for value in structure)
    return structure[rows]


def row_count(structure: Any) -> int:
    if isinstance(structure, dict):
        return row_count(next(iter(structure.values())))
    if isinstance(structure, (tuple, list)):
        return row_count(structure[0])
    return len(structure)


class ArrayBatches(keras.utils.PyDataset):
    """(inputs, targets[, sample weights]) in batches of `batch_size` rows; with `shuffle`, a new order every epoch.

    The arrays are padded once to one width, so every full batch has the same shape: compiled backends (JAX, XLA)
    trace the step once, not once per batch.
    """

    def __init__(self, *arrays: Any, batch_size: int, shuffle: bool = False, seed: int = 0):
        super().__init__()
        if not 2 <= len(arrays) <= 3:
            raise ValueError("ArrayBatches takes inputs, targets and optional sample weights")
        self.arrays, self.batch_size, self.shuffle = arrays, batch_size, shuffle
        self.count = row_count(arrays[0])
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(self.count)
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self) -> int:
        return -(-self.count // self.batch_size)

    def rows(self, index: int) -> np.ndarray:
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def __getitem__(self, index: int):
        return take(self.arrays, self.rows(index))

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.rng.shuffle(self.order)
