"""Keyword clips as training batches: each clip placed in a one-second window, with random gain and background noise.

The draws are stateless (`tf.random.stateless_*` from one seed pair per clip), so a seed gives the same clips, and
an evaluation set's draws can be recomputed to break its accuracy down by signal-to-noise ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from datasets.audio_files import CLIP_SAMPLES, SAMPLE_RATE
from datasets.speech import Split


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


def _uniform(seed, low, high, dtype="float32"):
    return tf.random.stateless_uniform([], seed, minval=low, maxval=high, dtype=dtype)


def augment_clip(clip, seed, noises, augmentation: Augmentation):
    """A clip of at most one second placed in a 1 s window with gain and noise; stateless, so seed -> same clip."""
    seeds = _clip_seeds(seed)
    length = tf.shape(clip)[0]
    room = CLIP_SAMPLES - length
    offset = _uniform(seeds[0], 0, room + 1, "int32") if augmentation.shift else room // 2
    placed = tf.pad(clip, [[offset, room - offset]])
    placed = placed * 10.0 ** (_uniform(seeds[1], *augmentation.gain_db) / 20.0)
    speech_rms = tf.sqrt(tf.reduce_sum(placed**2) / tf.cast(tf.maximum(length, 1), "float32"))
    noise = tf.roll(
        tf.gather(noises, _uniform(seeds[2], 0, len(noises), "int32")), _uniform(seeds[3], 0, CLIP_SAMPLES, "int32"), 0
    )
    snr_db, noisy = _noise_draws(seeds, augmentation)
    snr_level = speech_rms * 10.0 ** (-snr_db / 20.0)
    silence_level = 10.0 ** (_uniform(seeds[5], *augmentation.silence_level_db) / 20.0)
    # A clip with no speech is the _silence_ class: it always gets noise, at an absolute level.
    is_silent = tf.logical_or(length == 0, speech_rms < 1e-6)
    level = tf.where(is_silent, silence_level, snr_level)
    use_noise = tf.logical_or(is_silent, noisy)
    mixed = placed + tf.where(use_noise, level, 0.0) * noise
    return tf.clip_by_value(tf.reshape(mixed, [CLIP_SAMPLES]), -1.0, 1.0)


def _clip_seeds(seed):
    """The seven stateless seeds of one clip's draws (shift, gain, noise, roll, SNR, silence level, noise or not)."""
    return tf.random.experimental.stateless_split(seed, 7)


def _noise_draws(seeds, augmentation: Augmentation):
    """The SNR in dB and whether a spoken clip gets noise at all: the draws `augment_clip` and `clip_snr_db` share."""
    return _uniform(seeds[4], *augmentation.snr_db), _uniform(seeds[6], 0.0, 1.0) < augmentation.noise_probability


def clip_snr_db(seed, augmentation: Augmentation):
    """The SNR `augment_clip` gives a spoken clip with this seed; +inf when it adds no noise."""
    snr_db, noisy = _noise_draws(_clip_seeds(seed), augmentation)
    return tf.where(noisy, snr_db, float("inf"))


def _augmentation_seeds(seed: int, training: bool) -> tf.data.Dataset:
    """One stateless seed pair per clip, in clip order; a fresh draw every epoch only when training."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=training).batch(2)


def _stateless_seed(pair):
    return tf.cast(pair % (2**31), "int32")


def evaluation_snr_db(split: Split, augmentation: Augmentation, seed: int) -> np.ndarray:
    """Per clip of an evaluation `pipeline(split, augmentation=..., seed=seed)`: the SNR its speech got, in clip order.

    +inf for a clip left clean. Silence clips get an absolute noise level, not an SNR: they read +inf too, so a
    breakdown by SNR should leave out the silence label.
    """
    if not split.size:
        return np.zeros(0)
    pairs = _augmentation_seeds(seed, training=False).take(split.size)
    draws = pairs.map(lambda pair: clip_snr_db(_stateless_seed(pair), augmentation)).batch(4096)
    return np.concatenate([np.asarray(batch, np.float64) for batch in draws])


def centre_clip(clip):
    """A clip of at most one second centred in a 1 s window (evaluation of real recordings)."""
    clip = clip[:CLIP_SAMPLES]
    room = CLIP_SAMPLES - tf.shape(clip)[0]
    return tf.reshape(tf.pad(clip, [[room // 2, room - room // 2]]), [CLIP_SAMPLES])


def pipeline(
    split: Split,
    batch_size: int,
    *,
    augmentation: Augmentation | None = None,
    seed: int = 0,
    training: bool = False,
    noises: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of (one-second waveforms, labels). Training reshuffles and draws new augmentations every epoch;
    otherwise the augmentation (if any) is the same on every pass, so validation numbers are comparable."""
    dataset = split.dataset
    if training and split.size:
        dataset = dataset.shuffle(min(split.size, 20000), seed=seed, reshuffle_each_iteration=True)
    if augmentation is not None:
        noises = tf.constant(noise_bank(seed=seed) if noises is None else noises)
        seeds = _augmentation_seeds(seed, training)

        @tf.autograph.experimental.do_not_convert
        def augmented(item, pair):
            return augment_clip(tf.cast(item[0], "float32"), _stateless_seed(pair), noises, augmentation), item[1]

        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            augmented, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    else:

        @tf.autograph.experimental.do_not_convert
        def centred(clip, label):
            return centre_clip(tf.cast(clip, "float32")), label

        dataset = dataset.map(centred)
    dataset = dataset.batch(batch_size)
    if not training and augmentation is not None and split.size and split.size <= 20000:
        dataset = dataset.cache()
    return dataset.prefetch(tf.data.AUTOTUNE)
