"""Batches of in-memory NumPy arrays as a `keras.utils.PyDataset`, reshuffled every epoch, on any Keras backend."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def map_arrays(function, structure: Any) -> Any:
    """`function` applied to every array in a dict, tuple or list of arrays (or to one array), structure kept."""
    if isinstance(structure, dict):
        return {key: map_arrays(function, value) for key, value in structure.items()}
    if isinstance(structure, (tuple, list)):
        return type(structure)(map_arrays(function, value) for value in structure)
    return function(structure)


def take(structure: Any, rows: np.ndarray) -> Any:
    """The given rows of every array in a dict, tuple or list of arrays (or of one array)."""
    return map_arrays(lambda array: array[rows], structure)


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

    With `lengths` (one per row), batches are bucketed by length instead: each gathers rows of similar length, and
    every 2-D array in it (token ids, masks, weights, zero-padded after each row's end) is cut after its last
    non-zero column, rounded up to a multiple of `width_multiple` so compiled backends see only a few shapes.
    Short sentences padded to the longest of all are mostly padding, and a recurrence pays a step for each column.
    """

    # Rows are sorted by length within pools of this many batches: near-equal lengths in a batch, yet every epoch
    # still mixes long and short batches in a new order.
    POOL_BATCHES = 50

    def __init__(
        self,
        *arrays: Any,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        lengths: np.ndarray | None = None,
        width_multiple: int = 4,
    ):
        super().__init__()
        if not 2 <= len(arrays) <= 3:
            raise ValueError("ArrayBatches takes inputs, targets and optional sample weights")
        self.arrays, self.batch_size, self.shuffle = arrays, batch_size, shuffle
        self.count = row_count(arrays[0])
        self.lengths = None if lengths is None else np.asarray(lengths)
        if self.lengths is not None and len(self.lengths) != self.count:
            raise ValueError(f"lengths has {len(self.lengths)} entries for {self.count} rows")
        self.width_multiple = max(1, width_multiple)
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(self.count)
        self._new_order()

    @property
    def bucketed(self) -> bool:
        return self.lengths is not None

    def __len__(self) -> int:
        return -(-self.count // self.batch_size)

    def rows(self, index: int) -> np.ndarray:
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def __getitem__(self, index: int):
        batch = take(self.arrays, self.rows(index))
        return map_arrays(self._trim, batch) if self.bucketed else batch

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._new_order()

    def _new_order(self) -> None:
        if not self.bucketed:
            if self.shuffle:
                self.rng.shuffle(self.order)
            return
        if not self.shuffle:
            self.order = np.argsort(self.lengths, kind="stable")
            return
        drawn = self.rng.permutation(self.count)
        pool = self.batch_size * self.POOL_BATCHES
        sorted_pools = [
            chunk[np.argsort(self.lengths[chunk], kind="stable")]
            for chunk in np.array_split(drawn, range(pool, self.count, pool))
        ]
        ordered = np.concatenate(sorted_pools)
        full = self.count // self.batch_size * self.batch_size
        # Whole batches change places; the short remainder stays last, where `rows` expects it.
        batch_order = self.rng.permutation(full // self.batch_size)
        whole = ordered[:full].reshape(-1, self.batch_size)[batch_order].reshape(-1)
        self.order = np.concatenate([whole, ordered[full:]])

    def _trim(self, array: np.ndarray) -> np.ndarray:
        """A 2-D array cut after its last non-zero column (rounded up); other arrays as they are."""
        if array.ndim != 2:
            return array
        used = np.flatnonzero(array.any(axis=0))
        width = int(used[-1]) + 1 if len(used) else 1
        width = min(array.shape[1], -(-width // self.width_multiple) * self.width_multiple)
        return array[:, :width]


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
    # Every leaf keeps its width (ArrayBatches pads once), but for the 2-D ones of bucketed batches; only the last
    # batch may be shorter.
    shapes = [(None, None) if batches.bucketed and leaf.ndim == 2 else (None, *leaf.shape[1:]) for leaf in leaves]
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
