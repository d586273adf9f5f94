"""Keyword clips as training batches: each clip placed in a one-second window, with random gain and background noise.

Every draw of a clip is a pure function of (seed, epoch, clip index) (`clip_draws`), made with NumPy: a seed gives
the same batches on any Keras backend, a resumed run sees the batches an uninterrupted one would have seen, and an
evaluation set's draws can be recomputed to break its accuracy down by signal-to-noise ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.audio_files import CLIP_SAMPLES, SAMPLE_RATE, centre
from datasets.batches import ArrayBatches
from datasets.speech import Clips

# The tag of the clips' random stream, apart from datasets.batches' order and batch-draw streams of the same seed.
CLIP_STREAM = 3


@dataclass(frozen=True)
class Augmentation:
    """Random gain, time shift and background noise; an SNR is drawn in dB relative to the word's RMS."""

    noise_probability: float = 0.85
    snr_db: tuple[float, float] = (0.0, 30.0)
    gain_db: tuple[float, float] = (-10.0, 6.0)
    silence_level_db: tuple[float, float] = (-80.0, -20.0)
    shift: bool = True


SYNTHETIC_AUGMENTATION = Augmentation()
REAL_AUGMENTATION = Augmentation(noise_probability=0.5, snr_db=(10.0, 40.0), gain_db=(-6.0, 6.0))


def noise_bank(count: int = 48, seed: int = 0) -> np.ndarray:
    """One-second background noises with unit RMS: white, pink, brown, mains hum with harmonics, and rumble."""
    rng = np.random.default_rng(seed)
    frequencies = np.fft.rfftfreq(CLIP_SAMPLES, 1.0 / SAMPLE_RATE)
    frequencies[0] = frequencies[1]
    time = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    noises = []
    for index in range(count):
        kind = index % 5
        if kind == 3:
            mains = rng.choice([50.0, 60.0])
            noise = sum(
                rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * mains * h * time + rng.uniform(0, 6.3)) for h in (1, 2, 3, 5)
            )
            noise = noise + 0.1 * rng.standard_normal(CLIP_SAMPLES)
        else:
            # Coloured noise: white noise shaped by 1/f^exponent in power.
            exponent = {0: 0.0, 1: 1.0, 2: 2.0, 4: 3.0}[kind]
            spectrum = np.fft.rfft(rng.standard_normal(CLIP_SAMPLES)) / frequencies ** (exponent / 2)
            noise = np.fft.irfft(spectrum, n=CLIP_SAMPLES)
        noises.append(noise / (np.sqrt(np.mean(noise**2)) + 1e-12))
    return np.stack(noises).astype(np.float32)


@dataclass(frozen=True)
class ClipDraws:
    """The random choices for one clip, as uniform numbers in [0, 1): shift, gain, noise, roll, SNR, silence level,
    and whether a spoken clip gets noise at all."""

    shift: float
    gain: float
    noise: float
    roll: float
    snr: float
    silence_level: float
    noisy: float


def clip_draws(seed: int, epoch: int, index: int) -> ClipDraws:
    """The draws of clip `index` in `epoch` of a pipeline seeded with `seed`: the same numbers every time."""
    return ClipDraws(*np.random.default_rng([seed, CLIP_STREAM, epoch, index]).random(7))


def _between(share: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return low + share * (high - low)


def clip_snr_db(draws: ClipDraws, augmentation: Augmentation) -> float:
    """The SNR `augment_clip` gives a spoken clip with these draws; +inf when it adds no noise."""
    if draws.noisy >= augmentation.noise_probability:
        return float("inf")
    return _between(draws.snr, augmentation.snr_db)


def augment_clip(clip: np.ndarray, draws: ClipDraws, noises: np.ndarray, augmentation: Augmentation) -> np.ndarray:
    """A clip of at most one second placed in a 1 s window with gain and noise, as `draws` decide."""
    clip = np.asarray(clip, np.float32)[:CLIP_SAMPLES]
    length = clip.size
    room = CLIP_SAMPLES - length
    offset = int(draws.shift * (room + 1)) if augmentation.shift else room // 2
    mixed = np.zeros(CLIP_SAMPLES, np.float32)
    word = mixed[offset : offset + length]
    np.multiply(clip, np.float32(10.0 ** (_between(draws.gain, augmentation.gain_db) / 20.0)), out=word)
    speech_rms = float(np.sqrt(np.dot(word, word) / max(length, 1)))
    # A clip with no speech is the _silence_ class: it always gets noise, at an absolute level.
    if length == 0 or speech_rms < 1e-6:
        level = 10.0 ** (_between(draws.silence_level, augmentation.silence_level_db) / 20.0)
    else:
        snr_db = clip_snr_db(draws, augmentation)
        level = 0.0 if np.isinf(snr_db) else speech_rms * 10.0 ** (-snr_db / 20.0)
    if level:
        # The noise rolled by `roll` samples, added in two slices rather than through a rolled copy.
        noise = noises[int(draws.noise * len(noises))]
        roll = int(draws.roll * CLIP_SAMPLES)
        mixed[roll:] += np.float32(level) * noise[: CLIP_SAMPLES - roll]
        mixed[:roll] += np.float32(level) * noise[CLIP_SAMPLES - roll :]
    return np.clip(mixed, -1.0, 1.0, out=mixed)


def evaluation_snr_db(clips: Clips, augmentation: Augmentation, seed: int) -> np.ndarray:
    """Per clip of evaluation batches `ClipBatches(clips, ..., augmentation=..., seed=seed)`: the SNR its speech got.

    +inf for a clip left clean. Silence clips get an absolute noise level, not an SNR: they read +inf too, so a
    breakdown by SNR should leave out the silence label.
    """
    return np.array([clip_snr_db(clip_draws(seed, 0, index), augmentation) for index in range(len(clips))])


class ClipBatches(ArrayBatches):
    """Batches of (one-second waveforms, labels) of in-memory clips, on any Keras backend.

    With an augmentation every clip gets its `clip_draws(seed, epoch, clip index)`, and the order is ArrayBatches':
    training batches (`shuffle`) hear new draws in a new order every epoch, the same ones in a resumed run
    (`set_epoch`); evaluation batches (no shuffle) keep epoch 0's on every pass, so their figures compare. With no
    augmentation each clip is centred in its window.
    """

    def __init__(
        self,
        clips: Clips,
        batch_size: int,
        *,
        augmentation: Augmentation | None = None,
        seed: int = 0,
        shuffle: bool = False,
        noises: np.ndarray | None = None,
    ):
        super().__init__(
            np.arange(len(clips)), np.asarray(clips.labels), batch_size=batch_size, shuffle=shuffle, seed=seed
        )
        self.clips, self.augmentation = clips, augmentation
        self.noises = None if augmentation is None else (noise_bank(seed=seed) if noises is None else noises)

    def waveform(self, index: int) -> np.ndarray:
        """Clip `index` as the current epoch's batches hold it."""
        clip = self.clips.clip(index)
        if self.augmentation is None:
            return centre(clip)
        draws = clip_draws(self.seed, self.epoch, index)
        return augment_clip(clip, draws, self.noises, self.augmentation)

    def __getitem__(self, index: int):
        rows, labels = super().__getitem__(index)
        return np.stack([self.waveform(int(row)) for row in rows]), labels
