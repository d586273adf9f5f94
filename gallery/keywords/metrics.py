"""Scoring a keyword model: probabilities over batches, the confusion matrix, and accuracy by class and by noise."""

from __future__ import annotations

import keras
import numpy as np

from datasets.speech import KEYWORDS
from datasets.speech_augment import Augmentation
from gallery.statistics import wilson_interval


def predict_batches(model: keras.Model, batches) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, labels) over batches of (waveforms, labels), in order."""
    probabilities, labels = [], []
    for index in range(len(batches)):
        waveforms, batch_labels = batches[index]
        probabilities.append(np.asarray(keras.ops.softmax(model(waveforms, training=False))))
        labels.append(np.asarray(batch_labels))
    if not probabilities:
        return np.zeros((0, model.output_shape[-1])), np.zeros(0, int)
    return np.concatenate(probabilities), np.concatenate(labels)


def confusion(labels: np.ndarray, predicted: np.ndarray, count: int) -> np.ndarray:
    """counts[true, predicted] over `count` labels."""
    matrix = np.zeros((count, count), np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray, labels: list[str]) -> dict[str, float | None]:
    """Each label's share of its clips named right; None for a label with no test clips."""
    return {
        label: (float(matrix[i, i] / matrix[i].sum()) if matrix[i].sum() else None) for i, label in enumerate(labels)
    }


def keyword_accuracy(true: np.ndarray, predicted: np.ndarray, labels: list[str]) -> float | None:
    """Accuracy on the clips of the ten keywords alone (without `_silence_` and `_unknown_`)."""
    keyword_mask = np.isin(true, [i for i, label in enumerate(labels) if label in KEYWORDS])
    return float(np.mean(predicted[keyword_mask] == true[keyword_mask])) if keyword_mask.any() else None


def accuracy_with_interval(true: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Accuracy, the clips right and counted, and the 95% Wilson interval: a few hundred clips leave a wide one."""
    count = int(np.size(true))
    if count == 0:
        raise ValueError("an accuracy needs at least one clip")
    correct = int(np.sum(np.asarray(predicted) == np.asarray(true)))
    return {
        "accuracy": correct / count,
        "correct": correct,
        "count": count,
        "interval95": wilson_interval(correct, count),
    }


def accuracy_by_snr(
    snr_db: np.ndarray, true: np.ndarray, predicted: np.ndarray, silence: int, augmentation: Augmentation
) -> dict[str, tuple[float, int]]:
    """Accuracy and clip count of the spoken (non-silence) clips: clean ones, then 10 dB bands of the SNR range."""
    spoken = true != silence
    low, high = augmentation.snr_db
    edges = [*np.arange(low, high, 10.0), high]
    bands = {"clean": spoken & np.isinf(snr_db)}
    for lower, upper in reversed(list(zip(edges[:-1], edges[1:]))):
        bands[f"{lower:g}-{upper:g} dB"] = spoken & (snr_db >= lower) & (snr_db < upper)
    return {
        name: (float(np.mean(predicted[chosen] == true[chosen])), int(chosen.sum()))
        for name, chosen in bands.items()
        if chosen.any()
    }
