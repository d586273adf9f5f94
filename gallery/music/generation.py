"""Composition with a trained music model: the primer read step by step, then every key of every frame sampled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets import piano_roll
from gallery import runs
from gallery.music import render
from models.decoding import StepRunner


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64, written with tanh so that large logits do not overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))


def compose(
    runner: StepRunner, primer: np.ndarray, steps: int, *, temperature: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(roll, probabilities): the primer, then `steps` frames each sampled key by key with the state carried.

    Every key of a new frame is drawn from Bernoulli(sigmoid(logit / temperature)). Without a primer the network
    reads one silent frame first, which is left out of the result. `probabilities[t]` is what the model predicted
    for frame t (zeros for the first frame, which nothing predicts).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = np.random.default_rng(seed)
    primer = np.asarray(primer, np.float32).reshape(-1, piano_roll.KEYS)
    inputs = primer if len(primer) else np.zeros((1, piano_roll.KEYS), np.float32)
    context, states = runner.start(batch_size=1)
    probabilities = [np.zeros(piano_roll.KEYS)] if len(primer) else []
    logits = None
    for t, frame in enumerate(inputs):
        logits, states, _ = runner(frame[None], context, states)
        if t + 1 < len(inputs):
            probabilities.append(sigmoid(logits[0]))
    generated = []
    for _ in range(steps):
        probability = sigmoid(logits[0] / temperature)
        probabilities.append(probability)
        frame = (rng.random(piano_roll.KEYS) < probability).astype(np.float32)
        generated.append(frame)
        logits, states, _ = runner(frame[None], context, states)
    roll = np.concatenate([primer, np.stack(generated)]) if len(primer) else np.stack(generated)
    return roll, np.stack(probabilities)


def write_piece(
    roll: np.ndarray,
    midi_path: Path,
    *,
    step_quarters: float,
    bpm: float,
    primer_frames: int,
    title: str,
    probabilities: np.ndarray | None = None,
) -> tuple[Path, Path, Path]:
    """The roll as MIDI (music21), WAV (the NumPy synthesiser) and a piano-roll PNG beside it."""
    runs.write_bytes(midi_path, piano_roll.roll_to_midi_bytes(roll, step_quarters, bpm))
    wav_path = midi_path.with_suffix(".wav")
    render.write_wav(wav_path, roll, step_seconds=step_quarters * 60.0 / bpm)
    png_path = midi_path.with_suffix(".png")
    render.piano_roll_png(roll, png_path, title=title, primer_frames=primer_frames, probabilities=probabilities)
    return midi_path, wav_path, png_path
