"""The language model end to end: a smoke run, its run folder, the sample and neurons verbs, and bad input."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from gallery import runs
from gallery.cli import run_cli
from gallery.language_model import APP
from gallery.language_model.config import LanguageModelConfig
from gallery.language_model.metrics import nats_to_report
from gallery.language_model.sampling import Sampler
from gallery.language_model.verbs import load_language_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("language_model") / "run"
    config = LanguageModelConfig.from_preset("smoke", out=str(out))
    result = APP.run(config)
    return result


def test_smoke_run_writes_a_finished_run_folder(trained):
    run_dir = trained.run_dir
    for name in (
        "model.keras",
        "config.json",
        "vocabulary.json",
        "metrics.json",
        "history.csv",
        "samples.txt",
        "learning_curve.png",
        "neurons.png",
        "showcase.json",
    ):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "checkpoints").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "validation nats/char"
    assert metrics["primary"]["higher_is_better"] is False
    nats = metrics["primary"]["value"]
    # An untrained 103-way softmax sits near ln(103) = 4.63; a few steps of training must not make it worse.
    assert 0 < nats <= np.log(103) + 0.05
    assert metrics["validation_bits_per_char"] == pytest.approx(nats / np.log(2))
    assert metrics["epochs"] == 2
    samples = (run_dir / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("=== epoch") == 2
    loaded, vocabulary = load_language_model(str(run_dir))
    assert len(vocabulary) == metrics["vocabulary_size"] == loaded.model.get_layer("output").units


@pytest.fixture(scope="module")
def sampler(trained):
    loaded, vocabulary = load_language_model(str(trained.run_dir))
    return Sampler(loaded.model, vocabulary)


def test_sampling_repeats_by_seed_and_changes_with_it(trained, sampler, capsys):
    first = sampler.generate("def ", 60, 0.8, None, 3)
    assert sampler.generate("def ", 60, 0.8, None, 3) == first
    assert sampler.generate("def ", 60, 0.8, None, 4) != first
    assert len(first) == 60
    # The verb in a fresh load gives the same text for the same seed.
    assert (
        run_cli(APP, ["sample", "--run", str(trained.run_dir), "--prime", "def ", "--length", "60", "--seed", "3"]) == 0
    )
    assert capsys.readouterr().out == "def " + first + "\n"


def test_top_k_one_is_greedy_whatever_the_seed_and_temperature(sampler):
    assert sampler.generate("x", 20, 0.8, 1, 1) == sampler.generate("x", 20, 2.0, 1, 2)


def test_carried_state_equals_the_full_forward_pass(sampler):
    full_model, vocabulary = sampler.model, sampler.vocabulary
    ids = vocabulary.encode(list("for item in range(10):\n    print(item)"))[None]
    full = np.asarray(full_model(ids, training=False))[0]
    runner = sampler.runner
    _, states = runner.start(batch_size=1)
    stepped = []
    for token in ids[0]:
        logits, states, _ = runner(np.array([token]), [], states)
        stepped.append(logits[0])
    np.testing.assert_allclose(np.stack(stepped), full, atol=1e-5)

    # At a temperature near zero the sampler must pick, at every step, the argmax of a full pass over the prefix.
    generated = sampler.generate("import ", 10, 1e-4, None, 0)
    prefix = list(vocabulary.encode(list("import ")))
    for char in generated:
        logits = np.asarray(full_model(np.array([prefix]), training=False))[0, -1]
        assert vocabulary.tokens[int(logits.argmax())] == char
        prefix.append(vocabulary.index[char])


def test_neurons_verb_draws_chosen_units(trained, tmp_path, capsys):
    output = tmp_path / "units.png"
    status = run_cli(
        APP,
        [
            "neurons",
            "--run",
            str(trained.run_dir),
            "--text",
            "if x:\\n    return 1",
            "--units-to-show",
            "0,3",
            "--output",
            str(output),
        ],
    )
    assert status == 0
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "units 0, 3 over 18 characters" in capsys.readouterr().out


def test_bad_verb_input_is_one_line_and_status_2(trained, capsys):
    run_dir = str(trained.run_dir)
    cases = [
        (["sample", "--run", run_dir, "--prime", "def \u2603\u00e6"], "never saw: '\u2603', '\u00e6'"),
        (["sample", "--run", run_dir, "--temperature", "0"], "--temperature must be positive"),
        (["sample", "--run", run_dir, "--length", "0"], "--length must be at least 1"),
        (["sample", "--run", str(trained.run_dir.parent / "missing")], "does not exist"),
        (["neurons", "--run", run_dir, "--text", "abc", "--units-to-show", "999"], "999 does not exist"),
        (["neurons", "--run", run_dir, "--text", "abc", "--units-to-show", "a,b"], "numbers separated by commas"),
        (["neurons", "--run", run_dir, "--text", "\u2603"], "never saw"),
    ]
    for arguments, message in cases:
        assert run_cli(APP, arguments) == 2, arguments
        error = capsys.readouterr().err
        assert message in error, (arguments, error)
        assert error.count("\n") == 1


def test_bad_training_input_is_one_line_and_status_2(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "image.txt"
    binary.write_bytes(bytes(range(256)))
    latin = tmp_path / "latin.txt"
    latin.write_bytes("na\u00efve caf\u00e9 ".encode("latin-1") * 100)
    short = tmp_path / "short.txt"
    short.write_text("a short text\n" * 10, encoding="utf-8")
    folder = tmp_path / "no_text"
    folder.mkdir()
    (folder / "notes.md").write_text("not a .txt file", encoding="utf-8")
    cases = [
        (str(empty), "is empty"),
        (str(binary), "binary"),
        (str(latin), "not UTF-8"),
        (str(short), "shorter than one window"),
        (str(folder), "no .txt files"),
        ("shakespeare", "unknown --data 'shakespeare'"),
    ]
    for data, message in cases:
        assert (
            run_cli(APP, ["--preset", "smoke", "--seq-len", "100", "--data", data, "--out", str(tmp_path / "r")]) == 2
        )
        error = capsys.readouterr().err
        assert message in error, (data, error)
        assert error.count("\n") == 1
    assert run_cli(APP, ["--preset", "smoke", "--bidirectional"]) == 2
    assert "--bidirectional" in capsys.readouterr().err


def test_command_line_error_exits_2_without_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.language_model", "--data", str(tmp_path / "nothing.txt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    last = completed.stderr.strip().splitlines()[-1]
    assert "unknown --data" in last
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_tfds_source_trains_under_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    config = LanguageModelConfig.from_preset(
        "smoke", data="tfds:tiny_shakespeare", seq_len=8, epochs=1, steps_per_epoch=2, out=str(tmp_path / "r")
    )
    with tfds.testing.mock_data(num_examples=20):
        result = APP.run(config)
    assert np.isfinite(result.metrics["primary"]["value"])
    assert result.metrics["data"].startswith("TensorFlow Datasets tiny_shakespeare")
    assert runs.load_run(result.run_dir, "language_model").model is not None


def test_word_level_reports_per_character_figures():
    report = nats_to_report(2.0, tokens=100, characters=400)
    assert report["nats_per_char"] == pytest.approx(0.5)
    assert report["bits_per_char"] == pytest.approx(0.5 / np.log(2))
    assert report["perplexity"] == pytest.approx(np.exp(2.0))


def test_word_level_run_end_to_end(tmp_path, capsys):
    text_file = tmp_path / "story.txt"
    sentence = "the cat sat on the mat. the dog sat on the log. a bird flew over the house!\n"
    text_file.write_text(sentence * 40, encoding="utf-8")
    config = LanguageModelConfig.from_preset(
        "smoke", data=str(text_file), level="word", max_vocab=12, seq_len=12, out=str(tmp_path / "run")
    )
    result = APP.run(config)
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["vocabulary_size"] == 12
    # Nats per character are the token loss spread over the characters the tokens cover, so below the token loss.
    assert 0 < metrics["primary"]["value"] < metrics["validation_nats_per_token"]
    loaded, vocabulary = load_language_model(str(result.run_dir))
    assert vocabulary.level == "word" and "<unk>" in vocabulary.tokens
    # A word never seen maps to <unk> instead of failing; the sample is ten tokens of the vocabulary, joined.
    words = Sampler(loaded.model, vocabulary).generate("the zebra ", 10, 0.8, None, 1)
    alternatives = "|".join(re.escape(token) for token in sorted(vocabulary.tokens, key=len, reverse=True))
    assert re.fullmatch(f"(?:{alternatives}){{10}}", words), words
    assert run_cli(APP, ["neurons", "--run", str(result.run_dir), "--text", "the cat"]) == 2
    assert "--level word" in capsys.readouterr().err


# Slow (a fresh Python process, and exports): `.ci/run` runs every load_run test as a step of its own.
@pytest.mark.slow
def test_load_run_samples_as_the_verb_and_the_savedmodel_steps_as_keras(trained, capsys, fresh_python):
    run_dir = trained.run_dir
    assert run_cli(APP, ["sample", "--run", str(run_dir), "--prime", "The ", "--length", "40", "--seed", "5"]) == 0
    verb_text = capsys.readouterr().out
    assert run_cli(APP, ["export", "--run", str(run_dir), "--format", "savedmodel"]) == 0
    exported = run_dir / "export" / "savedmodel"
    assert json.loads((exported / "assets.extra" / "vocabulary.json").read_text()) == json.loads(
        (run_dir / "vocabulary.json").read_text()
    )
    # A fresh process: the documented load, and the SavedModel's `step` signature fed a real prefix token by token.
    output = fresh_python(
        f"""
import json, numpy as np, tensorflow as tf
from gallery import load_run
run = load_run({str(run_dir)!r})
text = run.predict("The ", length=40, seed=5)
ids = run.vocabulary.encode(list("Keywords are listed in the index"))
served = tf.saved_model.load({str(exported)!r})
step = served.signatures["step"]
names = sorted(name for name in step.structured_input_signature[1] if name.startswith("state_"))
states = {{name: tf.zeros([1, step.structured_input_signature[1][name].shape[1]]) for name in names}}
stepped = []
for token in ids:
    out = step(token=tf.constant([[token]], tf.int32), **states)
    states = {{name: out[name] for name in names}}
    stepped.append(out["logits"].numpy()[0])
windowed = served.signatures["logits"](tokens=tf.constant([ids], tf.int32))["logits"].numpy()[0]
keras_logits = np.asarray(run.model(np.asarray([ids]), training=False))[0]
print(json.dumps({{"text": text, "step": float(np.abs(np.stack(stepped) - keras_logits).max()),
                  "window": float(np.abs(windowed - keras_logits).max())}}))
"""
    )
    result = json.loads(output.strip().splitlines()[-1])
    assert "The " + result["text"] + "\n" == verb_text
    assert result["step"] < 1e-4 and result["window"] < 1e-5
