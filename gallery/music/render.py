"""Sound and pictures of a piano roll: a small additive synthesiser written with NumPy, and a piano-roll PNG.

The synthesiser gives every note a fundamental and a few harmonics of falling amplitude, shaped by an envelope
(a short linear attack, an exponential decay towards a sustain level, and a release after the note ends), so
chords are audible as chords and repeated notes as repeated notes. WAVs are 16-bit mono, written with `wave`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from datasets.pcm import wav_bytes  # noqa: E402
from datasets.piano_roll import KEYS, LOWEST_PITCH, roll_notes  # noqa: E402
from gallery.runs import save_figure, write_bytes  # noqa: E402

SAMPLE_RATE = 22050
HARMONICS = (1.0, 0.5, 0.25, 0.12)  # amplitude of partials 1, 2, 3, 4: a soft, organ-like tone
ATTACK_SECONDS = 0.01
DECAY_SECONDS = 0.25
SUSTAIN_LEVEL = 0.5
RELEASE_SECONDS = 0.08


def pitch_frequency(pitch: int) -> float:
    """Equal temperament, A4 (MIDI 69) = 440 Hz."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def envelope(held_seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Attack, exponential decay to the sustain level while held, then a linear release to silence."""
    held = max(1, int(round(held_seconds * sample_rate)))
    release = int(round(RELEASE_SECONDS * sample_rate))
    t = np.arange(held) / sample_rate
    level = SUSTAIN_LEVEL + (1.0 - SUSTAIN_LEVEL) * np.exp(-t / DECAY_SECONDS)
    level = np.minimum(level, t / ATTACK_SECONDS)
    tail = level[-1] * np.linspace(1.0, 0.0, release, endpoint=False)
    return np.concatenate([level, tail])


def synthesize(roll: np.ndarray, step_seconds: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The roll as audio in [-1, 1]: one additive tone per held key (a run of consecutive frames)."""
    roll = np.asarray(roll)
    length = int(round(len(roll) * step_seconds * sample_rate)) + int(RELEASE_SECONDS * sample_rate) + 1
    audio = np.zeros(length, np.float64)
    nyquist = sample_rate / 2
    for pitch, first, frames in roll_notes(roll):
        shape = envelope(frames * step_seconds, sample_rate)
        start = int(round(first * step_seconds * sample_rate))
        shape = shape[: length - start]
        t = np.arange(len(shape)) / sample_rate
        frequency = pitch_frequency(pitch)
        tone = sum(
            amplitude * np.sin(2 * np.pi * frequency * (number + 1) * t)
            for number, amplitude in enumerate(HARMONICS)
            if frequency * (number + 1) < nyquist
        )
        audio[start : start + len(shape)] += shape * tone
    peak = np.abs(audio).max()
    return audio / peak * 0.8 if peak > 0 else audio


def write_wav(path: Path | str, roll: np.ndarray, step_seconds: float, sample_rate: int = SAMPLE_RATE) -> Path:
    return write_bytes(path, wav_bytes(synthesize(roll, step_seconds, sample_rate), sample_rate))


def piano_roll_png(
    roll: np.ndarray,
    path: Path | str,
    *,
    title: str = "",
    primer_frames: int = 0,
    probabilities: np.ndarray | None = None,
) -> Path:
    """Keys (rows, low at the bottom) against time steps; the primer is shaded, generated notes follow it.

    With `probabilities`, a second panel shows the model's predicted probability of every key at every step.
    """
    roll = np.asarray(roll)
    panels = 2 if probabilities is not None else 1
    used = np.flatnonzero(roll.any(axis=0))
    low, high = (int(used.min()) - 3, int(used.max()) + 4) if used.size else (27, 61)
    low, high = max(0, low), min(KEYS, high)
    figure, axes = plt.subplots(panels, 1, figsize=(max(7.5, len(roll) * 0.09 + 2), 2.8 * panels), squeeze=False)
    pictures = [(roll, "Greys", "notes")] + ([(probabilities, "magma", "predicted probability")] if panels == 2 else [])
    for axis, (matrix, cmap, label) in zip(axes[:, 0], pictures):
        axis.imshow(
            np.asarray(matrix)[:, low:high].T,
            origin="lower",
            aspect="auto",
            cmap=cmap,
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=(-0.5, len(roll) - 0.5, low + LOWEST_PITCH - 0.5, high + LOWEST_PITCH - 0.5),
        )
        if primer_frames:
            axis.axvspan(-0.5, primer_frames - 0.5, color="tab:blue", alpha=0.12, label="primer")
            axis.axvline(primer_frames - 0.5, color="tab:blue", linewidth=1)
        octaves = [pitch for pitch in range(24, 109, 12) if low + LOWEST_PITCH <= pitch < high + LOWEST_PITCH]
        axis.set_yticks(octaves, labels=[f"C{pitch // 12 - 1}" for pitch in octaves])
        axis.set_ylabel(label)
        axis.grid(axis="y", alpha=0.2)
    axes[-1, 0].set_xlabel("time step")
    axes[0, 0].set_title(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)
