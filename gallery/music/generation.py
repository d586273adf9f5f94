"""Composition with a trained music model: the primer read step by step, then every key of every frame sampled."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets import piano_roll
from gallery import runs
from gallery.music import render
from gallery.music.nade import NadeOutput, sample_frame
from models.decoding import StepRunner


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64, written with tanh so that large logits do not overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))


def compose(
    runner: StepRunner, primer: np.ndarray, steps: int, *, temperature: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(roll, probabilities): the primer, then `steps` frames each sampled key by key with the state carried.

    With independent outputs every key of a new frame is drawn from Bernoulli(sigmoid(logit / temperature)). With a
    NADE output (found in the step model's `output` layer) the keys are drawn from the lowest up, each from
    sigmoid(conditional logit / temperature) given the keys already drawn below it. Without a primer the network
    reads one silent frame first, which is left out of the result. `probabilities[t]` is what the model predicted
    for frame t (zeros for the first frame, which nothing predicts): for a NADE, each key's probability given the
    keys below it in frame t as it was drawn or, inside the primer, as the primer has it.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = np.random.default_rng(seed)
    nade = _nade_weights(runner)
    primer = np.asarray(primer, np.float32).reshape(-1, piano_roll.KEYS)
    inputs = primer if len(primer) else np.zeros((1, piano_roll.KEYS), np.float32)
    context, states = runner.start(batch_size=1)
    probabilities = [np.zeros(piano_roll.KEYS)] if len(primer) else []
    outputs = None
    for t, frame in enumerate(inputs):
        outputs, states, _ = runner(frame[None], context, states)
        if t + 1 < len(inputs):
            probabilities.append(
                sigmoid(outputs[0]) if nade is None else nade_conditionals(outputs[0], inputs[t + 1], *nade)
            )
    generated = []
    for _ in range(steps):
        if nade is None:
            probability = sigmoid(outputs[0] / temperature)
            frame = (rng.random(piano_roll.KEYS) < probability).astype(np.float32)
        else:
            frame, probability = sample_frame(outputs[0], *nade, rng, temperature)
        probabilities.append(probability)
        generated.append(frame)
        outputs, states, _ = runner(frame[None], context, states)
    roll = np.concatenate([primer, np.stack(generated)]) if len(primer) else np.stack(generated)
    return roll, np.stack(probabilities)


def _nade_weights(runner: StepRunner) -> tuple[np.ndarray, np.ndarray] | None:
    """(W, V) of the step model's NADE output layer, or None when its keys are independent."""
    output = runner.inference.step.get_layer("output")
    return output.numpy_weights() if isinstance(output, NadeOutput) else None


def nade_conditionals(
    biases: np.ndarray, frame: np.ndarray, key_to_hidden: np.ndarray, hidden_to_key: np.ndarray
) -> np.ndarray:
    """p(v_i = 1 | v_<i) of every key of a known frame under the NADE with these biases (`[b_v, b_h]`)."""
    keys = key_to_hidden.shape[0]
    biases = np.asarray(biases, np.float64)
    below = np.cumsum(np.asarray(frame, np.float64)[:, None] * key_to_hidden, axis=0)
    activations = biases[keys:] + np.concatenate([np.zeros((1, below.shape[1])), below[:-1]])
    return sigmoid(biases[:keys] + (sigmoid(activations) * hidden_to_key).sum(axis=-1))


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
