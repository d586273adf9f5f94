"""The keyword clips as batches: the source the config names, augmented for training, a fixed noise draw to evaluate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from datasets import speech
from datasets.audio_files import DataSourceError
from datasets.speech_augment import REAL_AUGMENTATION, SYNTHETIC_AUGMENTATION, Augmentation, noise_bank, pipeline
from gallery.errors import UsageError
from gallery.keywords.config import KeywordsConfig


def load_bundle(source: str, per_class: dict[str, int] | None = None, seed: int = 0) -> speech.SpeechBundle:
    """A source named as on the command line; one it cannot read is a user error."""
    try:
        return speech.load(source, per_class=per_class, seed=seed)
    except DataSourceError as error:
        raise UsageError(str(error)) from None


def evaluation_augmentation(bundle: speech.SpeechBundle) -> Augmentation | None:
    """Synthetic validation and test clips get noise too, a fixed draw: noisy recognition is what they measure."""
    return SYNTHETIC_AUGMENTATION if bundle.synthetic else None


def test_seed(seed: int) -> int:
    """The seed of the test clips' noise draw (validation uses seed + 1, training seed itself)."""
    return seed + 2


def test_batches(bundle: speech.SpeechBundle, batch_size: int, seed: int) -> tf.data.Dataset:
    """The test split as `train_and_evaluate` scores it: for synthetic clips, the noise draw of `seed`."""
    return pipeline(bundle.test, batch_size, augmentation=evaluation_augmentation(bundle), seed=test_seed(seed))


@dataclass
class KeywordBatches:
    """A source's three splits as batches of (one-second waveforms, labels)."""

    bundle: speech.SpeechBundle
    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset

    def normalisation_clips(self, batch_size: int, count: int = 512) -> np.ndarray:
        """About `count` augmented training clips, on which the model's feature normalisation is adapted."""
        return np.concatenate([np.asarray(x) for x, _ in self.train.take(max(1, count // batch_size))])


def keyword_batches(config: KeywordsConfig) -> KeywordBatches:
    """The configured source, its training clips augmented afresh every epoch."""
    bundle = load_bundle(config.data, config.clips_per_class(), config.seed)
    augmentation = None
    if config.augment:
        augmentation = SYNTHETIC_AUGMENTATION if bundle.synthetic else REAL_AUGMENTATION
    train = pipeline(
        bundle.train,
        config.batch_size,
        augmentation=augmentation,
        seed=config.seed,
        training=True,
        noises=noise_bank(seed=config.seed),
    )
    validation = pipeline(
        bundle.validation, config.batch_size, augmentation=evaluation_augmentation(bundle), seed=config.seed + 1
    )
    return KeywordBatches(bundle, train, validation, test_batches(bundle, config.batch_size, config.seed))
