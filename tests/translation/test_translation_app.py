"""The translation app end to end: a smoke run, the translate verb on it in a fresh model, and every bad input."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

from gallery.cli import run_cli
from gallery.translation import APP
from gallery.translation.config import TranslationConfig
from gallery.translation.verbs import load_translator, translate_lines
from models.decoding import StepRunner
from models.templates import seq2seq_inference


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(0)
    run_dir = tmp_path_factory.mktemp("translation") / "run"
    config = TranslationConfig.from_preset("smoke", out=str(run_dir))
    result = APP.run(config)
    return result


def test_smoke_run_writes_a_complete_run_folder(smoke_run):
    run_dir = smoke_run.run_dir
    for name in ("model.keras", "config.json", "vocabulary.json", "metrics.json", "history.csv", "samples.txt"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "checkpoints").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "test BLEU (greedy)" and metrics["primary"]["higher_is_better"]
    assert 0.0 <= metrics["test_exact_match"] <= 1.0 and 0.0 <= metrics["test_bleu"] <= 100.0
    assert set(metrics["decoding"]) == {"greedy", "beam_2"}
    assert metrics["sacrebleu_signatures"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|")
    assert metrics["sacrebleu_signatures"]["chrf"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|")
    assert sum(row["count"] for row in metrics["by_source_length"]) == metrics["pairs"]["test"] == 40
    vocabulary = json.loads((run_dir / "vocabulary.json").read_text())
    assert vocabulary["source"][:4] == ["", "[UNK]", "[start]", "[end]"] and "hundred" in vocabulary["source"]
    assert "mil" in vocabulary["target"]
    showcase = json.loads((run_dir / "showcase.json").read_text())
    attention_images = [image["path"] for image in showcase["images"] if image["path"].startswith("attention_")]
    assert attention_images and all((run_dir / path).is_file() for path in attention_images)


def test_loaded_step_model_equals_forward_pass(smoke_run):
    translator, _ = load_translator(smoke_run.run_dir)
    model = translator.model
    source = np.asarray(translator.source.encode(["three hundred and forty-two", "nine"]), dtype=object)
    source = np.array([source[0], source[1] + [0] * (len(source[0]) - len(source[1]))], np.int32)
    target_in = np.array([[2, 5, 6, 7], [2, 8, 0, 0]], np.int32)
    full = np.asarray(model({"source": source, "target_in": target_in}, training=False))
    runner = StepRunner(seq2seq_inference(model))
    context, states = runner.start(source)
    steps = []
    for t in range(target_in.shape[1]):
        logits, states, _ = runner(target_in[:, t], context, states)
        steps.append(logits)
    assert np.abs(np.stack(steps, axis=1) - full).max() < 1e-5


def test_translate_verb_arguments_and_stdin(smoke_run, capsys, monkeypatch):
    run = str(smoke_run.run_dir)
    assert run_cli(APP, ["translate", "--run", run, "forty two", "", "seven"]) == 0
    output = capsys.readouterr().out.split("\n")
    assert len(output) == 4 and output[1] == "" and output[3] == ""  # three translations, the empty one empty
    monkeypatch.setattr(sys, "stdin", io.StringIO("forty two\n\nseven\n"))
    assert run_cli(APP, ["translate", "--run", run, "--beam", "3"]) == 0
    assert len(capsys.readouterr().out.split("\n")) == 4


def test_unknown_words_and_long_input_are_reported(smoke_run):
    translator, _ = load_translator(smoke_run.run_dir)
    warnings = []
    long_input = " ".join(["nine hundred"] * 30)
    translations = translate_lines(translator, ["forty zorglub two", long_input, ""], warn=warnings.append)
    assert len(translations) == 3 and translations[2] == ""
    assert warnings[0] == "line 1: unknown to the model, read as [UNK]: zorglub"
    assert warnings[1].startswith("line 2: longer than the longest source")
    assert f"first {translator.max_source} tokens" in warnings[1]
    assert translator.prepare(long_input)[0] == translator.source.encode([long_input])[0][: translator.max_source]


def test_bad_inputs_exit_with_one_line(tmp_path, capsys):
    hello_run = tmp_path / "hello_run"
    hello_run.mkdir()
    (hello_run / "config.json").write_text(json.dumps({"app": "hello"}))
    no_pairs = tmp_path / "no_pairs.txt"
    no_pairs.write_text("only one column\nstill one\n", encoding="utf-8")
    cases = [
        (["translate", "--run", str(hello_run), "forty two"], "is a hello run, not a translation run"),
        (["translate", "--run", str(tmp_path / "missing"), "x"], "does not exist"),
        (["--data", str(no_pairs), "--preset", "smoke"], "no valid line (2 skipped)"),
        (["--data", str(tmp_path / "absent.tsv")], "is not a file"),
        (["--pair", "en-xx"], "does not know language 'xx'"),
        (["--attention", "multihead"], "invalid choice"),
    ]
    for argv, message in cases:
        assert run_cli(APP, argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


def test_bad_beam_width(smoke_run, capsys):
    assert run_cli(APP, ["translate", "--run", str(smoke_run.run_dir), "--beam", "0", "x"]) == 2
    assert "--beam must be at least 1" in capsys.readouterr().err


def test_command_line_error_in_a_fresh_process(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.translation", "translate", "--run", str(tmp_path), "forty two"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    lines = [line for line in completed.stderr.splitlines() if "translation" in line]
    assert lines == [
        f"python -m gallery.translation: error: {tmp_path} is not a run folder (no config.json); "
        f"train one with: python -m gallery.translation --out {tmp_path}"
    ]


# Slow (a fresh Python process, and exports): `.ci/run` runs every load_run test as a step of its own.
@pytest.mark.slow
def test_load_run_translates_as_the_verb_and_the_savedmodel_steps_as_keras(smoke_run, capsys, fresh_python):
    run_dir = smoke_run.run_dir
    sentences = ["three hundred and forty-two", "seventeen thousand and five"]
    assert run_cli(APP, ["translate", "--run", str(run_dir), "--beam", "2", *sentences]) == 0
    verb_lines = capsys.readouterr().out.splitlines()
    assert run_cli(APP, ["export", "--run", str(run_dir), "--format", "savedmodel"]) == 0
    exported = run_dir / "export" / "savedmodel"
    # A fresh process: the documented load, and the SavedModel's encode / decode_step against the Keras step model.
    output = fresh_python(
        f"""
import json, numpy as np, tensorflow as tf
from gallery import load_run
run = load_run({str(run_dir)!r})
sentences = {sentences!r}
translations = run.predict(sentences, beam=2)
served = tf.saved_model.load({str(exported)!r})
runner, translator = run.translator.runner, run.translator
ids = np.array([translator.prepare(sentences[0])[0]], np.int32)
encoded = served.signatures["encode"](source=tf.constant(ids))
names = sorted(name for name in encoded if name.startswith("state_"))
context, states = runner.start(ids)
tokens, largest = [2, 40, 7, 12], 0.0
exported_states = {{name: encoded[name] for name in names}}
for token in tokens:
    step = served.signatures["decode_step"](token=tf.constant([[token]], tf.int32), memory=encoded["memory"],
                                            source=encoded["source"], **exported_states)
    exported_states = {{name: step[name] for name in names}}
    logits, states, attention = runner(np.array([token]), context, states)
    largest = max(largest, float(np.abs(step["logits"].numpy() - logits).max()))
    largest = max(largest, float(np.abs(step["attention"].numpy() - attention).max()))
print(json.dumps({{"translations": translations, "largest": largest}}))
"""
    )
    result = json.loads(output.strip().splitlines()[-1])
    assert result["translations"] == verb_lines
    assert result["largest"] < 1e-5
    vocabulary = json.loads((exported / "assets.extra" / "vocabulary.json").read_text())
    assert vocabulary == json.loads((run_dir / "vocabulary.json").read_text())
