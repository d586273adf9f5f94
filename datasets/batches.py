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


def as_tf_dataset(batches: ArrayBatches):
    """The same batches as a `tf.data.Dataset` that calls `batches[i]` through `tf.numpy_function`.

    Keras would feed a PyDataset to TensorFlow through `tf.data.Dataset.from_generator`, whose kernel sets glibc's
    M_TRIM_THRESHOLD for the whole process: from then on every large tensor is mapped and unmapped afresh (the
    captioning demo went from 24 s to 44 s an epoch, 6 s to 50 s of system time). A mapped index dataset does not.
    The order follows `batches.order`, so call `batches.on_epoch_end()` between epochs (`Reshuffle` does).
    """
    import tensorflow as tf

    first = batches[0]
    leaves = [np.asarray(leaf) for leaf in tf.nest.flatten(first)]
    # Every leaf keeps its width (ArrayBatches pads once); only the last batch may be shorter.
    shapes = [(None, *leaf.shape[1:]) for leaf in leaves]
    dtypes = [tf.as_dtype(leaf.dtype) for leaf in leaves]

    def load(index):
        return [np.asarray(leaf) for leaf in tf.nest.flatten(batches[int(index)])]

    def batch(index):
        tensors = tf.numpy_function(load, [index], dtypes, stateful=True)
        for tensor, shape in zip(tensors, shapes):
            tensor.set_shape(shape)
        return tf.nest.pack_sequence_as(first, tensors)

    # A sequential map: batches come in order, and TensorFlow 2.21's parallel map logs a spurious NodeDef error.
    return tf.data.Dataset.range(len(batches)).map(batch).prefetch(2)


class Reshuffle(keras.callbacks.Callback):
    """Calls `on_epoch_end()` of batches that Keras does not see as a PyDataset (see `as_tf_dataset`)."""

    def __init__(self, batches: ArrayBatches):
        super().__init__()
        self.batches = batches

    def on_epoch_end(self, epoch, logs=None):
        self.batches.on_epoch_end()
