"""The music app's data as batches: piano rolls padded per batch, transposed at random, and the kept primers."""

from __future__ import annotations

import numpy as np

from datasets import music as music_data
from datasets import piano_roll
from datasets.batches import ORDER_STREAM, EpochBatches
from gallery import training
from gallery.errors import UsageError
from gallery.music.config import PRIMER_FRAMES_KEPT, MusicConfig

SILENCE = "silence"


def load(config: MusicConfig) -> music_data.MusicData:
    """The piano rolls of `--data`, split; a source that cannot be used is a UsageError naming the fix."""
    try:
        data = music_data.load(config.data, config.resolution, config.pieces)
    except music_data.MusicDataError as error:
        raise UsageError(str(error)) from None
    print(data.describe())
    for warning in data.warnings:
        print(f"warning: {warning}")
    return data


def random_transposition(roll: np.ndarray, most: int, rng: np.random.Generator) -> np.ndarray:
    """Shift all keys by a random number of semitones in [-most, most] that keeps every note on the keyboard."""
    active = np.flatnonzero(roll.max(axis=0) > 0.5)
    if not len(active):
        return roll
    down = min(most, int(active[0]))
    up = min(most, piano_roll.KEYS - 1 - int(active[-1]))
    return np.roll(roll, int(rng.integers(-down, up + 1)), axis=1)


def padded_length(frames: int, bucketed: bool) -> int:
    """The time axis of a batch whose longest piece has `frames` steps.

    JAX and PyTorch compile the training step once per input shape, so off TensorFlow the length is rounded up to
    one of four sizes per octave (at most a quarter more frames, whose weight is 0); TensorFlow takes any length.
    """
    if not bucketed:
        return frames
    granule = max(8, 2 ** (frames.bit_length() - 3))
    return -(-frames // granule) * granule


class PianoRollBatches(EpochBatches):
    """Batches of (frames 0..T-2, frames 1..T-1, weight 1 per real frame), zero-padded to the longest piece.

    Padding frames come after a piece's end, so they cannot reach its outputs, and their weight 0 drops their loss.
    With `shuffle` the pieces are drawn in a new order every epoch; with `transpose`, each piece is shifted by a new
    random transposition every time it is drawn. Order and transpositions are functions of (seed, epoch, batch), so a
    resumed run hears what an uninterrupted one would have. With `teacher_forced` (a NADE output, which conditions
    each key on the keys below it in the target frame) the model's inputs are {"inputs": ..., "targets": ...}.
    """

    def __init__(
        self,
        rolls: list[np.ndarray],
        batch_size: int,
        *,
        shuffle: bool = False,
        transpose: int = 0,
        seed: int = 0,
        bucketed: bool | None = None,
        teacher_forced: bool = False,
    ):
        super().__init__(seed=seed, shuffle=shuffle)
        self.rolls = [np.asarray(roll, np.float32) for roll in rolls]
        self.batch_size, self.transpose, self.teacher_forced = batch_size, transpose, teacher_forced
        self.bucketed = not training.on_tensorflow() if bucketed is None else bucketed
        self.order = np.arange(len(self.rolls))
        self.set_epoch(0)

    def __len__(self) -> int:
        return -(-len(self.rolls) // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, ORDER_STREAM, self.epoch]).permutation(len(self.rolls))

    def tf_shape(self, leaf: np.ndarray) -> tuple:
        return (None, None, *leaf.shape[2:])  # each batch is as long as its longest piece

    def __getitem__(self, index: int):
        chosen = [self.rolls[i] for i in self.order[index * self.batch_size : (index + 1) * self.batch_size]]
        if self.transpose:
            rng = self.draws(index)
            chosen = [random_transposition(roll, self.transpose, rng) for roll in chosen]
        steps = padded_length(max(len(roll) for roll in chosen) - 1, self.bucketed)
        inputs = np.zeros((len(chosen), steps, piano_roll.KEYS), np.float32)
        targets = np.zeros_like(inputs)
        weights = np.zeros((len(chosen), steps), np.float32)
        for row, roll in enumerate(chosen):
            inputs[row, : len(roll) - 1] = roll[:-1]
            targets[row, : len(roll) - 1] = roll[1:]
            weights[row, : len(roll) - 1] = 1.0
        if self.teacher_forced:
            return {"inputs": inputs, "targets": targets}, targets, weights
        return inputs, targets, weights


def primer_record(data: music_data.MusicData) -> dict:
    """The first frames of every valid and test piece, so `generate --primer test:3` needs no data in a new process."""
    return {
        "step_quarters": data.step_quarters or 1.0,
        "source": data.source,
        **{
            split: [
                {"name": name, "frames": piano_roll.roll_to_pitches(roll[:PRIMER_FRAMES_KEPT])}
                for name, roll in zip(data.names[split], data.splits[split])
            ]
            for split in ("valid", "test")
        },
    }


def choose_primer(primers: dict, primer: str, primer_steps: int) -> tuple[np.ndarray, str]:
    """(primer roll, description) from `silence` or `SPLIT:INDEX`; UsageError for anything else."""
    if primer == SILENCE or primer_steps == 0:
        return np.zeros((0, piano_roll.KEYS), np.float32), "silence"
    split, _, index_text = primer.partition(":")
    if split not in ("valid", "test") or not index_text.lstrip("-").isdigit():
        raise UsageError(f"--primer {primer!r} is not valid; give test:N, valid:N or {SILENCE}")
    pieces = primers[split]
    index = int(index_text)
    if not 0 <= index < len(pieces):
        raise UsageError(f"--primer {primer}: the {split} split has pieces 0 to {len(pieces) - 1}; choose one of them")
    roll, _ = piano_roll.pitches_to_roll(pieces[index]["frames"][:primer_steps])
    return roll, f"{split}:{index} ({pieces[index]['name']}), first {len(roll)} steps"
