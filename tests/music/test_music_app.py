"""The music app end to end: a smoke run, the exact evaluation, step-wise composition, the generate verb, and
every bad input as one line with exit status 2."""

import json
import subprocess
import sys
import wave

import numpy as np
import pytest

from datasets import music as music_data
from datasets import piano_roll
from gallery.cli import run_cli
from gallery.music import APP
from gallery.music.config import MusicConfig
from gallery.music.data import PianoRollBatches, padded_length, random_transposition
from gallery.music.generation import compose, sigmoid
from gallery.music.metrics import frame_nll_numpy
from gallery.music.model import build_model, initialise_output_bias
from gallery.runs import load_run
from models.decoding import StepRunner
from models.templates import many_to_many_inference


def toy_piece(rng, length):
    """A three-voice chorale-like piece: a moving bass, a held middle voice and a random walk on top."""
    bass = 48 + (np.arange(length) // 2) % 5
    top = 72 + np.cumsum(rng.integers(-2, 3, length)).clip(-8, 8)
    return [sorted({int(b), 60, int(t)}) for b, t in zip(bass, top)]


@pytest.fixture(scope="module")
def toy_json(tmp_path_factory):
    rng = np.random.default_rng(7)
    pieces = {
        "train": [toy_piece(rng, int(n)) for n in rng.integers(8, 20, 12)],
        "valid": [toy_piece(rng, 10), toy_piece(rng, 14)],
        "test": [toy_piece(rng, 12), toy_piece(rng, 9), toy_piece(rng, 16)],
    }
    path = tmp_path_factory.mktemp("data") / "toy.json"
    path.write_text(json.dumps(pieces))
    return path


@pytest.fixture(scope="module")
def smoke_run(toy_json, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "music"
    config = MusicConfig.from_preset("smoke", data=str(toy_json), out=str(out), transpose=2, output="independent")
    return APP.run(config)


def test_smoke_run_writes_a_complete_run_folder(smoke_run):
    metrics = json.loads((smoke_run.run_dir / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "test NLL per frame (nats)"
    assert metrics["primary"]["higher_is_better"] is False
    assert metrics["pieces"] == {"train": 12, "valid": 2, "test": 3}
    assert metrics["test_frames"] == (12 - 1) + (9 - 1) + (16 - 1)
    assert 0 <= metrics["test_frame_accuracy"] <= 1
    showcase = json.loads((smoke_run.run_dir / "showcase.json").read_text())
    assert [item["path"] for item in showcase["audio"]] == ["samples/sample_0.wav"]
    for name in ("model.keras", "config.json", "primers.json", "history.csv", "learning_curve.png"):
        assert (smoke_run.run_dir / name).is_file()
    assert not (smoke_run.run_dir / "checkpoints").exists()


def test_reported_nll_is_the_numpy_figure_of_the_saved_model(smoke_run, toy_json):
    loaded = load_run(smoke_run.run_dir, "music")
    data = music_data.load(str(toy_json))
    total, frames = 0.0, 0
    for roll in data.splits["test"]:
        logits = np.asarray(loaded.model(roll[None, :-1], training=False))[0]
        total += frame_nll_numpy(roll[1:], logits).sum()
        frames += len(roll) - 1
    assert abs(total / frames - loaded.metrics["test_nll_per_frame"]) < 1e-4


def test_step_model_reproduces_the_full_forward_pass(smoke_run, toy_json):
    model = load_run(smoke_run.run_dir, "music").model
    roll = music_data.load(str(toy_json)).splits["test"][2]
    runner = StepRunner(many_to_many_inference(model))
    # compose feeds the primer step by step: its probabilities for the primer must equal the full pass.
    _, probabilities = compose(runner, roll, 3, seed=0)
    full = sigmoid(np.asarray(model(roll[None, :-1], training=False))[0])
    assert probabilities.shape == (len(roll) + 3, piano_roll.KEYS)
    assert np.abs(probabilities[1 : len(roll)] - full).max() < 1e-5


def test_composition_follows_temperature_and_seed(smoke_run):
    runner = StepRunner(many_to_many_inference(load_run(smoke_run.run_dir, "music").model))
    silence = np.zeros((0, piano_roll.KEYS))
    first, _ = compose(runner, silence, 12, temperature=1.0, seed=3)
    again, _ = compose(runner, silence, 12, temperature=1.0, seed=3)
    assert first.shape == (12, piano_roll.KEYS) and np.array_equal(first, again)
    # The first frame from silence comes from the same state at every temperature: a lower temperature pushes
    # every key's probability away from one half, a higher one towards it, and T=1 is the plain sigmoid.
    first_step = {t: compose(runner, silence, 1, temperature=t, seed=0)[1][0] for t in (0.5, 1.0, 2.0)}
    distance = {t: np.abs(p - 0.5) for t, p in first_step.items()}
    assert (distance[0.5] >= distance[1.0]).all() and (distance[1.0] >= distance[2.0]).all()
    assert (distance[0.5] > distance[2.0]).any()
    logits, _, _ = runner(np.zeros((1, piano_roll.KEYS), np.float32), *runner.start(batch_size=1))
    assert np.allclose(first_step[1.0], sigmoid(logits[0]), atol=1e-6)


def test_output_bias_starts_at_each_keys_base_rate(rng):
    rolls = [
        (rng.random((n, piano_roll.KEYS)) < np.linspace(0.01, 0.5, piano_roll.KEYS)).astype(np.float32)
        for n in (30, 50)
    ]
    model = build_model(MusicConfig.from_preset("smoke", output="independent"))
    bias = initialise_output_bias(model, rolls)
    frames = np.concatenate(rolls)
    expected = (frames.sum(0) + 1) / (len(frames) + 2)
    assert np.allclose(sigmoid(bias), expected, atol=1e-6)
    # LSTM with zero input and zero state: c = i * tanh(0) = 0, so h = 0 and the logits are exactly the bias.
    logits = np.asarray(model(np.zeros((1, 1, piano_roll.KEYS), np.float32)))[0, 0]
    assert np.allclose(logits, bias, atol=1e-5)


def test_transposition_moves_every_note_together_and_stays_on_the_keyboard():
    roll, _ = piano_roll.pitches_to_roll([[22, 60, 64], [23, 67], [], [21, 105]])
    rng = np.random.default_rng(0)
    shifts = set()
    for _ in range(40):
        moved = random_transposition(roll, 5, rng)
        assert moved.sum() == roll.sum()
        shift = int(np.flatnonzero(moved[0])[0] - np.flatnonzero(roll[0])[0])
        assert 0 <= shift <= 3  # A0 (21) cannot go down, and 105 can go up three keys to C8
        assert np.array_equal(np.roll(roll, shift, axis=1), moved)
        shifts.add(shift)
    assert shifts == {0, 1, 2, 3}


def test_batches_shift_targets_by_one_frame_and_weigh_only_real_frames():
    rng = np.random.default_rng(1)
    rolls = [(rng.random((length, piano_roll.KEYS)) < 0.1).astype(np.float32) for length in (5, 9, 30)]
    batches = PianoRollBatches(rolls, 2, bucketed=False)
    assert len(batches) == 2
    inputs, targets, weights = batches[0]
    assert inputs.shape == targets.shape == (2, 8, piano_roll.KEYS)
    np.testing.assert_array_equal(inputs[1], rolls[1][:-1])
    np.testing.assert_array_equal(targets[1], rolls[1][1:])
    np.testing.assert_array_equal(weights.sum(axis=1), [4, 8])
    assert not inputs[0, 4:].any() and not targets[0, 4:].any()
    # Bucketed (JAX, PyTorch): 29 steps become 32, the three extra frames weigh nothing.
    inputs, _, weights = PianoRollBatches(rolls, 2, bucketed=True)[1]
    assert inputs.shape == (1, 32, piano_roll.KEYS)
    assert weights.sum() == 29


def test_bucketed_lengths_waste_at_most_a_quarter_and_are_few():
    lengths = {padded_length(frames, bucketed=True) for frames in range(1, 2001)}
    for frames in range(1, 2001):
        padded = padded_length(frames, bucketed=True)
        assert frames <= padded <= max(frames + 7, frames * 5 // 4)
    assert len(lengths) < 40
    assert padded_length(29, bucketed=False) == 29


def test_shuffled_batches_repeat_by_seed_and_change_order_between_epochs():
    rolls = [np.full((3 + i, piano_roll.KEYS), i, np.float32) for i in range(6)]

    def first_inputs(seed):
        batches = PianoRollBatches(rolls, 2, shuffle=True, seed=seed, bucketed=False)
        epochs = []
        for _ in range(3):
            epochs.append([batches[i][0][:, 0, 0].tolist() for i in range(len(batches))])
            batches.on_epoch_end()
        return epochs

    assert first_inputs(4) == first_inputs(4)
    assert len({str(epoch) for epoch in first_inputs(4)}) > 1


def test_generate_writes_midi_wav_and_png_that_parse_back(smoke_run, tmp_path, capsys):
    out = tmp_path / "song.mid"
    status = run_cli(
        APP,
        ["generate", "--run", str(smoke_run.run_dir), "--steps", "10", "--primer", "test:1", "--out", str(out)],
    )
    assert status == 0
    primers = json.loads((smoke_run.run_dir / "primers.json").read_text())
    primer_frames = min(16, len(primers["test"][1]["frames"]))
    roll = piano_roll.midi_to_roll(out, 1.0)
    assert roll.any()
    # The MIDI holds the primer exactly; trailing silent frames leave no trace in a MIDI file.
    expected_primer, _ = piano_roll.pitches_to_roll(primers["test"][1]["frames"][:primer_frames])
    assert np.array_equal(roll[:primer_frames], expected_primer)
    assert len(roll) <= primer_frames + 10
    with wave.open(str(out.with_suffix(".wav"))) as audio:
        assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
        seconds = audio.getnframes() / audio.getframerate()
    assert abs(seconds - (primer_frames + 10) * 0.6) < 0.2  # 100 quarter notes a minute, plus the release
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--primer", "test:99"], "the test split has pieces 0 to 2"),
        (["--primer", "train:0"], "give test:N, valid:N or silence"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--temperature", "0"], "--temperature must be above 0"),
        (["--out", "song.wav"], "must end in .mid or .midi"),
    ],
)
def test_generate_bad_input_is_one_line_and_status_2(smoke_run, tmp_path, capsys, arguments, message):
    argv = ["generate", "--run", str(smoke_run.run_dir), "--out", str(tmp_path / "x.mid"), *arguments]
    if arguments[0] == "--out":
        argv = ["generate", "--run", str(smoke_run.run_dir), *arguments]
    assert run_cli(APP, argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_training_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"train": [[]], "valid": [[[60], [62]]], "test": [[[60], [62]]]}))
    drums = tmp_path / "midi"
    drums.mkdir()
    (drums / "broken.mid").write_bytes(b"")
    cases = [
        (["--data", str(empty)], "the train split has no usable piece"),
        (["--data", str(drums)], "none of the 1 MIDI files"),
        (["--bidirectional"], "--bidirectional would let the network hear"),
        (["--temperature", "0"], "--temperature must be above 0"),
        (["--data", str(tmp_path / "nowhere")], "does not exist"),
    ]
    for arguments, message in cases:
        assert run_cli(APP, ["--preset", "smoke", "--out", str(tmp_path / "run"), *arguments]) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, (arguments, error)


def test_command_line_exits_with_status_2_on_a_missing_run(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.music", "generate", "--run", str(tmp_path / "none"), "--out", "x.mid"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m gallery.music: error:") and "does not exist" in last


# Slow (a fresh Python process, and exports): `.ci/run` runs every load_run test as a step of its own.
@pytest.mark.slow
def test_load_run_composes_as_the_generate_verb_in_a_fresh_process(smoke_run, tmp_path, capsys, fresh_python):
    song = tmp_path / "song.mid"
    arguments = ["--primer", "test:0", "--primer-steps", "4", "--steps", "8", "--seed", "3", "--out", str(song)]
    assert run_cli(APP, ["generate", "--run", str(smoke_run.run_dir), *arguments]) == 0
    notes = int(capsys.readouterr().out.split(" notes")[0].rsplit(" ", 1)[1])
    output = fresh_python(
        f"""
import json
from gallery import load_run
roll = load_run({str(smoke_run.run_dir)!r}).predict("test:0", steps=8, primer_steps=4, seed=3)
print(json.dumps(roll.tolist()))
"""
    )
    roll = np.array(json.loads(output.strip().splitlines()[-1]))
    assert roll.shape == (12, piano_roll.KEYS)
    assert len(piano_roll.roll_notes(roll[4:])) == notes
