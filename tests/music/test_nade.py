"""The music app's NADE output: exact likelihood against a key-by-key NumPy reference, a normalised distribution,
sampling from it, step-wise equal to full-sequence, the `.keras` round trip and the app end to end."""

import itertools
import json

import keras
import numpy as np
import pytest

from datasets import music as music_data
from datasets import piano_roll
from gallery.cli import run_cli
from gallery.music import APP
from gallery.music.config import MusicConfig
from gallery.music.data import PianoRollBatches
from gallery.music.generation import compose, nade_conditionals, sigmoid
from gallery.music.metrics import evaluate, frame_nll_numpy
from gallery.music.model import build_model, initialise_output_bias, is_nade
from gallery.music.nade import NadeOutput, sample_frame
from gallery.runs import load_run
from models.decoding import StepRunner
from models.templates import many_to_many_inference


def reference_frame_nll(biases, frame, key_to_hidden, hidden_to_key):
    """-log p(frame) in nats, one key at a time from the lowest, as Larochelle & Murray define the NADE."""
    keys = key_to_hidden.shape[0]
    visible, activation = biases[:keys].astype(np.float64), biases[keys:].astype(np.float64)
    total = 0.0
    for key in range(keys):
        probability = 1.0 / (1.0 + np.exp(-(visible[key] + hidden_to_key[key] @ (1.0 / (1.0 + np.exp(-activation))))))
        total -= np.log(probability if frame[key] > 0.5 else 1.0 - probability)
        activation = activation + frame[key] * key_to_hidden[key]
    return total


def tiny_nade_model(rng):
    """The smoke NADE model with every weight drawn large enough that the keys below matter."""
    model = build_model(MusicConfig.from_preset("smoke", output="nade"))
    model.set_weights([rng.normal(0.0, 0.5, weight.shape).astype(np.float32) for weight in model.get_weights()])
    return model


def random_rolls(rng, lengths, density=0.15):
    return [(rng.random((length, piano_roll.KEYS)) < density).astype(np.float32) for length in lengths]


def hidden_sequence(model, inputs):
    """The recurrent stack's output that the NADE reads, for a NumPy reference of everything after it."""
    output = model.get_layer("output")
    return np.asarray(keras.Model(model.get_layer("inputs").output, output.input[0])(inputs))


def test_keras_nll_matches_the_key_by_key_numpy_reference(rng):
    model = tiny_nade_model(rng)
    roll = random_rolls(rng, [9])[0]
    inputs, targets = roll[None, :-1], roll[None, 1:]
    logits = np.asarray(model({"inputs": inputs, "targets": targets}))[0]
    output = model.get_layer("output")
    key_to_hidden, hidden_to_key = output.numpy_weights()
    kernel = np.asarray(output.bias_kernel, np.float64)
    offset = np.asarray(output.bias_offset, np.float64)
    biases = hidden_sequence(model, inputs)[0].astype(np.float64) @ kernel + offset
    expected = [reference_frame_nll(b, frame, key_to_hidden, hidden_to_key) for b, frame in zip(biases, roll[1:])]
    assert np.allclose(frame_nll_numpy(roll[1:], logits), expected, rtol=1e-5, atol=1e-4)
    # The keys below matter: an independent model with the visible biases alone gives another figure.
    assert np.abs(frame_nll_numpy(roll[1:], biases[:, : piano_roll.KEYS]) - expected).max() > 1.0


def test_the_frame_distribution_sums_to_one_over_every_frame():
    keys, hidden_units = 5, 3
    rng = np.random.default_rng(2)
    layer = NadeOutput(keys, hidden_units)
    hidden = rng.normal(size=(1, 1, 4)).astype(np.float32)
    frames = np.array(list(itertools.product([0.0, 1.0], repeat=keys)), np.float32)
    layer([hidden, frames[None, :1]])
    layer.set_weights([rng.normal(0.0, 1.0, w.shape).astype(np.float32) for w in layer.get_weights()])
    logits = np.asarray(layer([np.repeat(hidden, len(frames), axis=1), frames[None]]))[0]
    probabilities = np.exp(-frame_nll_numpy(frames, logits))
    assert abs(probabilities.sum() - 1.0) < 1e-5
    # ... and they are not the product of independent keys: some pair of keys is correlated.
    marginals = probabilities @ frames
    independent = np.prod(np.where(frames > 0.5, marginals, 1.0 - marginals), axis=1)
    assert np.abs(independent - probabilities).max() > 1e-3


def test_sampling_draws_frames_with_their_nade_probability():
    keys, hidden_units = 3, 2
    rng = np.random.default_rng(5)
    key_to_hidden = rng.normal(0.0, 3.0, (keys, hidden_units))
    hidden_to_key = rng.normal(0.0, 3.0, (keys, hidden_units))
    biases = rng.normal(0.0, 1.0, keys + hidden_units)
    frames = np.array(list(itertools.product([0.0, 1.0], repeat=keys)))
    exact = np.array([np.exp(-reference_frame_nll(biases, f, key_to_hidden, hidden_to_key)) for f in frames])
    draws = 20000
    counts = np.zeros(len(frames))
    for _ in range(draws):
        frame, probabilities = sample_frame(biases, key_to_hidden, hidden_to_key, rng)
        counts[int(frame @ [4, 2, 1])] += 1
    # Each frame's count is within five binomial standard deviations of its probability.
    assert np.all(np.abs(counts / draws - exact) < 5 * np.sqrt(exact * (1 - exact) / draws) + 1e-3)
    # The probability reported for each key is its conditional given the keys drawn below it.
    assert np.allclose(probabilities, nade_conditionals(biases, frame, key_to_hidden, hidden_to_key))
    # A low temperature sharpens every conditional away from one half.
    _, cold = sample_frame(biases, key_to_hidden, hidden_to_key, np.random.default_rng(0), temperature=0.25)
    _, warm = sample_frame(biases, key_to_hidden, hidden_to_key, np.random.default_rng(0), temperature=1.0)
    assert np.abs(cold[0] - 0.5) > np.abs(warm[0] - 0.5)


def test_step_model_reproduces_the_full_sequence_likelihood(rng):
    model = tiny_nade_model(rng)
    roll = random_rolls(rng, [11])[0]
    runner = StepRunner(many_to_many_inference(model))
    _, probabilities = compose(runner, roll, 2, seed=0)
    logits = np.asarray(model({"inputs": roll[None, :-1], "targets": roll[None, 1:]}))[0]
    assert probabilities.shape == (len(roll) + 2, piano_roll.KEYS)
    assert np.abs(probabilities[1 : len(roll)] - sigmoid(logits)).max() < 1e-5
    # The NLL summed step by step from the step model's biases equals evaluate's full-sequence figure.
    key_to_hidden, hidden_to_key = model.get_layer("output").numpy_weights()
    context, states = runner.start(batch_size=1)
    stepwise = 0.0
    for frame, following in zip(roll[:-1], roll[1:]):
        biases, states, _ = runner(frame[None], context, states)
        stepwise += reference_frame_nll(biases[0], following, key_to_hidden, hidden_to_key)
    figures = evaluate(model, [roll])
    assert figures["frames"] == len(roll) - 1
    assert abs(stepwise / (len(roll) - 1) - figures["nll_per_frame"]) < 1e-4


def test_evaluate_pads_pieces_of_different_lengths_without_changing_their_figures(rng):
    model = tiny_nade_model(rng)
    rolls = random_rolls(rng, [5, 12, 8])
    together = evaluate(model, rolls)
    alone = [evaluate(model, [roll]) for roll in rolls]
    total = sum(figure["nll_per_frame"] * figure["frames"] for figure in alone)
    assert together["frames"] == sum(figure["frames"] for figure in alone) == 4 + 11 + 7
    assert abs(together["nll_per_frame"] - total / together["frames"]) < 1e-4


def test_visible_bias_starts_at_each_keys_base_rate(rng):
    rolls = random_rolls(rng, [40, 30], density=0.2)
    model = build_model(MusicConfig.from_preset("smoke", output="nade"))
    bias = initialise_output_bias(model, rolls)
    output = model.get_layer("output")
    offset = np.asarray(output.bias_offset)
    assert np.allclose(offset[: piano_roll.KEYS], bias) and not offset[piano_roll.KEYS :].any()


def test_batches_give_a_nade_the_target_frames_as_an_input(rng):
    rolls = random_rolls(rng, [6, 4])
    inputs, targets, weights = PianoRollBatches(rolls, 2, teacher_forced=True, bucketed=False)[0]
    assert set(inputs) == {"inputs", "targets"}
    assert np.array_equal(inputs["targets"], targets)
    assert np.array_equal(inputs["inputs"][0, :5], rolls[0][:-1]) and np.array_equal(targets[1, :3], rolls[1][1:])
    assert weights.sum() == 5 + 3


def test_keras_file_round_trip_gives_the_same_likelihood(rng, tmp_path):
    model = tiny_nade_model(rng)
    path = tmp_path / "nade.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert is_nade(loaded) and loaded.get_layer("output").hidden_units == 8
    roll = random_rolls(rng, [7])[0]
    batch = {"inputs": roll[None, :-1], "targets": roll[None, 1:]}
    assert np.allclose(np.asarray(model(batch)), np.asarray(loaded(batch)), atol=1e-6)


@pytest.fixture(scope="module")
def nade_run(tmp_path_factory):
    rng = np.random.default_rng(11)
    chord = [[48, 52, 55], [50, 53, 57], [52, 55, 59], [47, 50, 55]]
    pieces = {
        split: [[chord[(i + rng.integers(0, 2)) % 4] for i in range(int(n))] for n in rng.integers(8, 16, count)]
        for split, count in (("train", 12), ("valid", 2), ("test", 3))
    }
    path = tmp_path_factory.mktemp("data") / "chords.json"
    path.write_text(json.dumps(pieces, default=int))
    out = tmp_path_factory.mktemp("run") / "music"
    return APP.run(MusicConfig.from_preset("smoke", data=str(path), out=str(out), output="nade")), path


def test_smoke_run_with_nade_output_reports_the_saved_models_exact_figure(nade_run):
    run, data_path = nade_run
    assert json.loads((run.run_dir / "config.json").read_text())["output"] == "nade"
    loaded = load_run(run.run_dir, "music")
    assert is_nade(loaded.model)
    test_rolls = music_data.load(str(data_path)).splits["test"]
    total, frames = 0.0, 0
    for roll in test_rolls:
        logits = np.asarray(loaded.model({"inputs": roll[None, :-1], "targets": roll[None, 1:]}, training=False))
        total += frame_nll_numpy(roll[1:], logits[0]).sum()
        frames += len(roll) - 1
    assert abs(total / frames - loaded.metrics["test_nll_per_frame"]) < 1e-4
    assert 0 <= loaded.metrics["test_frame_accuracy"] <= 1
    for suffix in (".mid", ".wav", ".png"):
        assert (run.run_dir / "samples" / f"sample_0{suffix}").is_file()


def test_generate_verb_composes_with_a_nade_run(nade_run, tmp_path, capsys):
    run, _ = nade_run
    out = tmp_path / "song.mid"
    argv = ["generate", "--run", str(run.run_dir), "--steps", "6", "--primer", "silence", "--out", str(out)]
    assert run_cli(APP, [*argv, "--seed", "4"]) == 0
    first = piano_roll.midi_to_roll(out, 1.0)
    assert run_cli(APP, [*argv, "--seed", "4"]) == 0
    assert np.array_equal(piano_roll.midi_to_roll(out, 1.0), first)
    assert out.with_suffix(".wav").is_file() and out.with_suffix(".png").is_file()
    assert "composed 6 steps" in capsys.readouterr().out


def test_output_choice_is_checked_at_the_command_line(tmp_path, capsys):
    assert run_cli(APP, ["--preset", "smoke", "--out", str(tmp_path / "run"), "--output", "rbm"]) == 2
    assert "nade" in capsys.readouterr().err
