"""Batches of in-memory NumPy arrays as a `keras.utils.PyDataset`, a new order every epoch, on any Keras backend.

Every batch is a pure function of (seed, epoch, batch index): `set_epoch` selects the epoch, so a run resumed at
epoch k sees exactly the batches an uninterrupted run saw at epoch k, however its process got there.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

# Tags that keep the random streams of one seed apart: the epoch's order, and the draws of one batch.
ORDER_STREAM = 1
DRAWS_STREAM = 2


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


class EpochBatches(keras.utils.PyDataset):
    """Training batches whose content in epoch e is a pure function of (seed, e, batch index).

    `set_epoch(e)` selects the epoch (`gallery.training.fit` calls it at every epoch's start, so a resumed run starts
    where it stopped); `on_epoch_end()` moves to the next one. Without `shuffle` (evaluation batches) every epoch is
    epoch 0, so their figures compare across epochs. Subclasses build batch `index` of `self.epoch` and take their
    random numbers from `draws(index)`, never from a generator that carries state from one batch to the next.
    """

    def __init__(self, *, seed: int = 0, shuffle: bool = False):
        super().__init__()
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch if self.shuffle else 0

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)

    def draws(self, index: int) -> np.random.Generator:
        """The random numbers of batch `index` in the current epoch (augmentation, sampled windows, ...)."""
        return np.random.default_rng([self.seed, DRAWS_STREAM, self.epoch, index])

    def tf_shape(self, leaf: np.ndarray) -> tuple:
        """The static shape `as_tf_dataset` declares for this leaf of batch 0: None where batches may differ."""
        return (None, *leaf.shape[1:])


class ArrayBatches(EpochBatches):
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
        super().__init__(seed=seed, shuffle=shuffle)
        if not 2 <= len(arrays) <= 3:
            raise ValueError("ArrayBatches takes inputs, targets and optional sample weights")
        self.arrays, self.batch_size = arrays, batch_size
        self.count = row_count(arrays[0])
        self.lengths = None if lengths is None else np.asarray(lengths)
        if self.lengths is not None and len(self.lengths) != self.count:
            raise ValueError(f"lengths has {len(self.lengths)} entries for {self.count} rows")
        self.width_multiple = max(1, width_multiple)
        self.order = self.epoch_order(0)
        self.order_epoch = 0

    @property
    def bucketed(self) -> bool:
        return self.lengths is not None

    def __len__(self) -> int:
        return -(-self.count // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        if self.epoch != self.order_epoch:
            self.order, self.order_epoch = self.epoch_order(self.epoch), self.epoch

    def rows(self, index: int) -> np.ndarray:
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def __getitem__(self, index: int):
        batch = take(self.arrays, self.rows(index))
        return map_arrays(self._trim, batch) if self.bucketed else batch

    def tf_shape(self, leaf: np.ndarray) -> tuple:
        # Every leaf keeps its width (the arrays are padded once), but for the 2-D ones of bucketed batches.
        return (None, None) if self.bucketed and leaf.ndim == 2 else super().tf_shape(leaf)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The rows in the order epoch `epoch` reads them: drawn from (seed, epoch) alone when shuffling."""
        if not self.shuffle:
            return np.arange(self.count) if not self.bucketed else np.argsort(self.lengths, kind="stable")
        rng = np.random.default_rng([self.seed, ORDER_STREAM, epoch])
        if not self.bucketed:
            return rng.permutation(self.count)
        drawn = rng.permutation(self.count)
        pool = self.batch_size * self.POOL_BATCHES
        sorted_pools = [
            chunk[np.argsort(self.lengths[chunk], kind="stable")]
            for chunk in np.array_split(drawn, range(pool, self.count, pool))
        ]
        ordered = np.concatenate(sorted_pools)
        full = self.count // self.batch_size * self.batch_size
        # Whole batches change places; the short remainder stays last, where `rows` expects it.
        batch_order = rng.permutation(full // self.batch_size)
        whole = ordered[:full].reshape(-1, self.batch_size)[batch_order].reshape(-1)
        return np.concatenate([whole, ordered[full:]])

    def _trim(self, array: np.ndarray) -> np.ndarray:
        """A 2-D array cut after its last non-zero column (rounded up); other arrays as they are."""
        if array.ndim != 2:
            return array
        used = np.flatnonzero(array.any(axis=0))
        width = int(used[-1]) + 1 if len(used) else 1
        width = min(array.shape[1], -(-width // self.width_multiple) * self.width_multiple)
        return array[:, :width]


def as_tf_dataset(batches: EpochBatches):
    """The same batches as a `tf.data.Dataset` that calls `batches[i]` through `tf.numpy_function`.

    Keras would feed a PyDataset to TensorFlow through `tf.data.Dataset.from_generator`, whose kernel sets glibc's
    M_TRIM_THRESHOLD for the whole process: from then on every large tensor is mapped and unmapped afresh (the
    captioning demo went from 24 s to 44 s an epoch, 6 s to 50 s of system time). A mapped index dataset does not.
    Each batch is read when the pipeline reaches it, from the epoch `batches` is on, so keep that epoch in step with
    training (`Reshuffle` does).
    """
    import tensorflow as tf

    first = batches[0]
    leaves = [np.asarray(leaf) for leaf in tf.nest.flatten(first)]
    # Only the batch axis (the last batch may be shorter) and the axes the batches say may vary are left open.
    shapes = [batches.tf_shape(leaf) for leaf in leaves]
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
    """Keeps batches on the epoch that training is on: the epoch's own order and draws, resumed runs included.

    Keras builds each epoch's iterator after `on_epoch_begin`, so every batch of epoch e is read with `set_epoch(e)`
    in force; its prefetching may read a batch or two of a finished epoch again, which changes nothing, since a
    batch is a pure function of (seed, epoch, index).
    """

    def __init__(self, batches: EpochBatches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.batches.set_epoch(epoch + 1)
