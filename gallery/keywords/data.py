"""The keyword clips as batches: the source the config names, augmented for training, a fixed noise draw to evaluate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets import speech
from datasets.audio_files import DataSourceError
from datasets.speech_augment import REAL_AUGMENTATION, SYNTHETIC_AUGMENTATION, Augmentation, ClipBatches
from gallery.backends import installed
from gallery.errors import UsageError
from gallery.keywords.config import KeywordsConfig


def load_bundle(
    source: str, per_class: dict[str, int] | None = None, seed: int = 0, test_speaker: str = ""
) -> speech.SpeechBundle:
    """A source named as on the command line (an FSDD one with a held-out `test_speaker` when given); one it cannot
    read is a user error."""
    if source.startswith("tfds:") and not (installed("tensorflow") and installed("tensorflow_datasets")):
        raise UsageError(
            f"--data {source} is read through tensorflow-datasets, which is not installed here; "
            "install it with TensorFlow (pip install -e .) or use a folder of WAVs or fsdd:DIR"
        )
    try:
        return speech.load(source, per_class=per_class, seed=seed, test_speaker=test_speaker or None)
    except DataSourceError as error:
        raise UsageError(str(error)) from None


def evaluation_augmentation(bundle: speech.SpeechBundle) -> Augmentation | None:
    """Synthetic validation and test clips get noise too, a fixed draw: noisy recognition is what they measure."""
    return SYNTHETIC_AUGMENTATION if bundle.synthetic else None


def test_seed(seed: int) -> int:
    """The seed of the test clips' noise draw (validation uses seed + 1, training seed itself)."""
    return seed + 2


def test_batches(bundle: speech.SpeechBundle, batch_size: int, seed: int) -> ClipBatches:
    """The test split as `train_and_evaluate` scores it: for synthetic clips, the noise draw of `seed`."""
    return ClipBatches(
        bundle.test.in_memory(), batch_size, augmentation=evaluation_augmentation(bundle), seed=test_seed(seed)
    )


@dataclass
class KeywordBatches:
    """A source's three splits as batches of (one-second waveforms, labels)."""

    bundle: speech.SpeechBundle
    train: ClipBatches
    validation: ClipBatches
    test: ClipBatches

    def normalisation_clips(self, count: int = 512) -> np.ndarray:
        """About `count` augmented training clips (the first batches of the first epoch), on which the model's
        feature normalisation is adapted."""
        batches = range(min(len(self.train), max(1, count // self.train.batch_size)))
        return np.concatenate([self.train[index][0] for index in batches])


def keyword_batches(config: KeywordsConfig) -> KeywordBatches:
    """The configured source, its training clips augmented afresh every epoch."""
    bundle = load_bundle(config.data, config.clips_per_class(), config.seed, config.test_speaker)
    augmentation = None
    if config.augment:
        augmentation = SYNTHETIC_AUGMENTATION if bundle.synthetic else REAL_AUGMENTATION
    train = ClipBatches(
        bundle.train.in_memory(), config.batch_size, augmentation=augmentation, seed=config.seed, shuffle=True
    )
    validation = ClipBatches(
        bundle.validation.in_memory(),
        config.batch_size,
        augmentation=evaluation_augmentation(bundle),
        seed=config.seed + 1,
    )
    return KeywordBatches(bundle, train, validation, test_batches(bundle, config.batch_size, config.seed))
