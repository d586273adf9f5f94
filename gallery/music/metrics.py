"""The literature's piano-roll metrics, in Keras (for training) and NumPy (the reference and the final figures).

Negative log-likelihood per frame (Boulanger-Lewandowski et al. 2012, Chung et al. 2014, Bai et al. 2018): each
of the 88 keys is an independent Bernoulli variable with probability sigmoid(logit); a frame's NLL is the binary
cross-entropy summed over the keys, in nats, and the figure is its mean over every frame of every piece.

With `--output nade` the model's logits are each key's conditional logit given the keys below it in the true frame
(teacher forcing); the same sum of binary cross-entropies is then the frame's exact NLL under the NADE, and the
frame accuracy counts those conditional predictions.

Frame-level accuracy (Bay et al. 2009): TP / (TP + FP + FN), counted over all frames, a key predicted on when its
probability exceeds one half.

Padded frames carry weight 0 and count in neither figure.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from datasets import piano_roll
from gallery import training
from gallery.music.data import padded_length
from gallery.music.model import model_inputs
from models.decoding import compiled_call


def frame_nll_numpy(targets: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """NLL in nats of each frame: the binary cross-entropy from logits, summed over the last axis."""
    x = np.asarray(logits, np.float64)
    y = np.asarray(targets, np.float64)
    # max(x, 0) - x y + log(1 + exp(-|x|)) is -[y log s(x) + (1 - y) log(1 - s(x))] without overflow.
    return (np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))).sum(axis=-1)


def frame_counts_numpy(targets: np.ndarray, logits: np.ndarray) -> tuple[float, float, float]:
    """(true positives, false positives, false negatives) over all keys of all frames given."""
    predicted = np.asarray(logits) > 0
    actual = np.asarray(targets) > 0.5
    return (
        float((predicted & actual).sum()),
        float((predicted & ~actual).sum()),
        float((~predicted & actual).sum()),
    )


def _frame_nll(targets, logits):
    targets = ops.cast(targets, logits.dtype)
    per_key = ops.maximum(logits, 0) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(per_key, axis=-1)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class FrameNLL(keras.losses.Loss):
    """Training loss: NLL per frame, averaged over the frames whose sample weight is 1 (not the padding)."""

    def __init__(self, name: str = "frame_nll", reduction: str = "mean_with_sample_weight", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return _frame_nll(y_true, y_pred)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class FrameNLLMetric(keras.metrics.Metric):
    """NLL per frame accumulated over an epoch: sum of weighted frame NLLs / sum of weights."""

    def __init__(self, name: str = "nll", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = _frame_nll(y_true, ops.cast(y_pred, "float32"))
        weight = ops.ones_like(values) if sample_weight is None else ops.cast(sample_weight, values.dtype)
        self.total.assign_add(ops.sum(values * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class FrameAccuracy(keras.metrics.Metric):
    """Bay et al.'s frame-level accuracy TP / (TP + FP + FN), keys on where sigmoid(logit) > 0.5."""

    def __init__(self, name: str = "frame_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")
        self.errors = self.add_variable(shape=(), initializer="zeros", name="errors")

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = ops.cast(ops.greater(y_pred, 0), "float32")
        actual = ops.cast(ops.greater(y_true, 0.5), "float32")
        if sample_weight is not None:
            weight = ops.expand_dims(ops.cast(sample_weight, "float32"), -1)
            predicted, actual = predicted * weight, actual * weight
        both = ops.sum(predicted * actual)
        self.true_positives.assign_add(both)
        self.errors.assign_add(ops.sum(predicted) + ops.sum(actual) - 2 * both)

    def result(self):
        return ops.divide_no_nan(self.true_positives, self.true_positives + self.errors)


def evaluate(model: keras.Model, rolls: list[np.ndarray], batch_size: int = 32) -> dict[str, float]:
    """Exact figures over every frame of every piece: NLL per frame (nats) and Bay et al.'s frame accuracy."""
    forward = compiled_call(model)
    bucketed = not training.on_tensorflow()
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    total_nll, frames = 0.0, 0
    true_positives = false_positives = false_negatives = 0.0
    for start in range(0, len(order), batch_size):
        batch = [rolls[i] for i in order[start : start + batch_size]]
        steps = padded_length(max(len(roll) for roll in batch) - 1, bucketed)
        inputs = np.zeros((len(batch), steps, piano_roll.KEYS), np.float32)
        targets = np.zeros_like(inputs)
        for row, roll in enumerate(batch):
            inputs[row, : len(roll) - 1] = roll[:-1]
            targets[row, : len(roll) - 1] = roll[1:]
        logits = np.asarray(forward(model_inputs(model, inputs, targets)))
        for row, roll in enumerate(batch):
            steps = len(roll) - 1
            total_nll += float(frame_nll_numpy(roll[1:], logits[row, :steps]).sum())
            frames += steps
            tp, fp, fn = frame_counts_numpy(roll[1:], logits[row, :steps])
            true_positives, false_positives, false_negatives = (
                true_positives + tp,
                false_positives + fp,
                false_negatives + fn,
            )
    denominator = true_positives + false_positives + false_negatives
    return {
        "nll_per_frame": total_nll / frames,
        "frame_accuracy": true_positives / denominator if denominator else 0.0,
        "frames": frames,
        "pieces": len(rolls),
    }
