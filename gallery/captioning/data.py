"""The captioning app's data as batches: synthetic scenes or real captioned images, one reference per draw."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets import captions as caption_data
from datasets import scenes as scene_data
from datasets.batches import ArrayBatches
from gallery.captioning.config import MIN_COUNT, CaptioningConfig
from gallery.errors import UsageError

VOCABULARY_FILE = "vocabulary.json"


@dataclass
class Split:
    """What the app needs of a split: uint8 images, every reference caption, and scenes where they exist."""

    images: np.ndarray
    references: list[list[str]]
    scenes: list | None = None


def load_data(config: CaptioningConfig) -> tuple[dict[str, Split], caption_data.Vocabulary, str]:
    """The splits (train, validation and one or two test groups), the vocabulary and a description of the data."""
    if config.synthetic:
        data = scene_data.load_scenes(
            config.train_images or 1,
            config.validation_images,
            config.test_images,
            image_size=config.image_size,
            seed=config.seed,
        )
        vocabulary = caption_data.Vocabulary.build([], words=scene_data.SceneData.vocabulary_words())
        splits = {
            name: Split(split.images, split.captions, split.scenes)
            for name, split in (
                ("train", data.train),
                ("validation", data.validation),
                ("test_seen", data.test_seen),
                ("test_unseen", data.test_unseen),
            )
        }
        held = ", ".join(f"{colour} {shape}" for colour, shape in data.held_out)
        return splits, vocabulary, f"synthetic scenes (held out of training: {held})"
    try:
        if config.data.startswith("tfds:"):
            data = caption_data.load_tfds_captions(
                config.data.removeprefix("tfds:"), config.image_size, max_images=config.train_images or None
            )
        else:
            folder = Path(config.data)
            if not folder.is_dir():
                raise UsageError(
                    f"--data {config.data}: no such folder; give scenes, a Flickr8k-style folder or tfds:coco_captions"
                )
            data = caption_data.load_flickr8k(
                folder, config.image_size, seed=config.seed, max_images=config.train_images or None
            )
    except ValueError as error:
        if isinstance(error, UsageError):
            raise
        raise UsageError(f"--data {config.data}: {error}") from None
    training_captions = [caption for group in data.train.captions for caption in group]
    vocabulary = caption_data.Vocabulary.build(training_captions, min_count=MIN_COUNT)
    splits = {
        "train": Split(data.train.images, data.train.captions),
        "validation": Split(data.validation.images, data.validation.captions),
        "test": Split(data.test.images, data.test.captions),
    }
    return splits, vocabulary, data.source


class CaptionBatches(ArrayBatches):
    """Batches of ((image, caption inputs), caption targets): one reference per image, drawn afresh every time the
    image is drawn when shuffling (from the batch's own draws, so a resumed run draws the same), the first
    reference otherwise."""

    def __init__(self, split: Split, vocabulary, config: CaptioningConfig, shuffle: bool):
        most = max(len(group) for group in split.references)
        # Padded to the longest caption, not to max_length: every padded step still costs a step of the recurrence.
        longest = min(
            config.max_length, max(len(vocabulary.encode(text)) for group in split.references for text in group)
        )
        inputs = np.zeros((len(split.references), most, longest + 1), np.int32)
        targets = np.zeros_like(inputs)
        for row, group in enumerate(split.references):
            inputs[row, : len(group)], targets[row, : len(group)] = vocabulary.teacher_forcing(group, longest)
        self.counts = np.array([len(group) for group in split.references], np.int32)
        super().__init__(split.images, inputs, targets, batch_size=config.batch_size, shuffle=shuffle, seed=config.seed)

    def __getitem__(self, index: int):
        rows = self.rows(index)
        images, inputs, targets = (array[rows] for array in self.arrays)
        choice = self.draws(index).integers(0, self.counts[rows]) if self.shuffle else np.zeros(len(rows), np.int64)
        picked = np.arange(len(rows))
        return (images.astype(np.float32), inputs[picked, choice]), targets[picked, choice]


def grounded_word_groups(vocabulary: caption_data.Vocabulary) -> list[list[int]]:
    """The ids of the scenes' colour words and of their shape words: the groups the grounding heads choose."""
    return [vocabulary.encode(" ".join(words)) for words in (scene_data.COLOURS, scene_data.SHAPES)]
