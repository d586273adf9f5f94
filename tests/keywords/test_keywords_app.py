"""The keywords app end to end: a smoke run, predict / listen / evaluate on WAVs written here, and bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from datasets import speech
from datasets.audio_files import read_wav
from datasets.pcm import wav_bytes
from gallery.cli import run_cli
from gallery.keywords import APP
from gallery.keywords.config import KeywordsConfig
from gallery.keywords.model import build_model
from gallery.keywords.verbs import detections, evaluate_run, sliding_windows
from gallery.statistics import wilson_interval


def tone(seconds: float, frequency: float = 300.0, rate: int = 16000) -> np.ndarray:
    return (0.4 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("keywords")
    patch = pytest.MonkeyPatch()
    patch.setenv("GALLERY_CACHE", str(root / "cache"))
    result = APP.run(KeywordsConfig.from_preset("smoke", out=str(root / "run")))
    yield result, root
    patch.undo()


def test_smoke_run_writes_a_complete_run_folder(trained):
    result, _ = trained
    run_dir = result.run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["primary"]["name"] == "test accuracy" and 0.0 <= metrics["primary"]["value"] <= 1.0
    assert metrics["clips"] == {"train": 48, "validation": 24, "test": 24}
    assert sum(map(sum, metrics["confusion_matrix"])) == 24
    spoken = 24 - sum(metrics["confusion_matrix"][speech.SYNTHETIC_LABELS.index(speech.SILENCE)])
    assert sum(count for _, count in metrics["test_accuracy_by_snr"].values()) == spoken
    assert json.loads((run_dir / "labels.json").read_text()) == list(speech.SYNTHETIC_LABELS)
    for name in ("model.keras", "confusion_matrix.png", "spectrograms.png", "learning_curve.png", "showcase.json"):
        assert (run_dir / name).is_file(), name
    showcase = json.loads((run_dir / "showcase.json").read_text())
    assert len(showcase["audio"]) == 12
    samples, rate = read_wav(run_dir / showcase["audio"][0]["path"])
    assert rate == 16000 and samples.size == 16000
    assert not (run_dir / "checkpoints").exists()


def test_predict_prints_top_three_for_short_and_longer_clips(trained, tmp_path, capsys):
    result, _ = trained
    short = tmp_path / "short.wav"
    longer = tmp_path / "longer.wav"
    short.write_bytes(wav_bytes(tone(0.4)))
    longer.write_bytes(wav_bytes(np.concatenate([np.zeros(8000, np.float32), tone(1.0)])))
    assert run_cli(APP, ["predict", str(short), str(longer), "--run", str(result.run_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "padded to 1 s" in lines[0] and "loudest second" in lines[1]
    labels = set(speech.SYNTHETIC_LABELS)
    for line in lines:
        ranked = line.split("): ")[1].split("  ")
        assert len(ranked) == 3
        names = [item.rsplit(" ", 1)[0] for item in ranked]
        probabilities = [float(item.rsplit(" ", 1)[1]) for item in ranked]
        assert set(names) <= labels and probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1.001


def test_listen_reports_windows_of_a_long_recording(trained, tmp_path, capsys):
    result, _ = trained
    recording = tmp_path / "long.wav"
    recording.write_bytes(wav_bytes(np.concatenate([tone(1.0), np.zeros(24000, np.float32), tone(0.5)])))
    assert run_cli(APP, ["listen", str(recording), "--run", str(result.run_dir), "--threshold", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "3.00 s, 9 windows" in out


def test_evaluate_maps_foreign_words_to_unknown(trained, tmp_path, capsys):
    result, _ = trained
    for word in ("yes", "cat"):
        (tmp_path / word).mkdir()
        for index in range(3):
            (tmp_path / word / f"s{index}_nohash_0.wav").write_bytes(wav_bytes(tone(0.5, 200 + 100 * index)))
    assert run_cli(APP, ["evaluate", "--run", str(result.run_dir), "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "6 clips of 2 labels" in out and "keywords (3 clips of" in out and "_unknown_" in out
    scored = evaluate_run(str(result.run_dir), str(tmp_path))
    right = round(sum(clips * accuracy for clips, accuracy in scored["per_label"].values()))
    assert scored["all"]["count"] == 6 and scored["all"]["correct"] == right
    assert scored["all"]["interval95"] == wilson_interval(right, 6)
    low, high = scored["all"]["interval95"]
    assert low <= scored["all"]["accuracy"] <= high and high - low > 0.3  # six clips say little
    assert f"(95% interval {low:.4f} to {high:.4f}; {right}/6)" in out
    assert (
        scored["keywords"]["count"] == 3 and scored["keywords"]["interval95"][0] < scored["keywords"]["interval95"][1]
    )


def test_sliding_windows_and_detections():
    windows, starts = sliding_windows(np.arange(40000, dtype=np.float32), 4000)
    assert windows.shape == (7, 16000) and starts[-1] == 1.5 and windows[-1][-1] == 39999
    labels = ["yes", "no", speech.SILENCE, speech.UNKNOWN]
    probabilities = np.array(
        [[0.9, 0.05, 0.05, 0], [0.8, 0.1, 0.1, 0], [0.1, 0.1, 0.8, 0], [0.2, 0.75, 0.05, 0], [0.1, 0.1, 0, 0.8]]
    )
    found = detections(probabilities, np.array([0.0, 0.25, 0.5, 0.75, 1.0]), labels, 0.7)
    assert found == [(0.0, 1.25, "yes", 0.9), (0.75, 1.75, "no", 0.75)]


def bad_inputs(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "text.wav").write_text("not audio at all")
    (folder / "corrupt.wav").write_bytes(wav_bytes(tone(0.2))[:30])
    (folder / "empty.wav").write_bytes(wav_bytes(np.zeros(0, np.float32)))
    (folder / "long.wav").write_bytes(wav_bytes(tone(3.0)))
    data = bytes(800)
    import struct

    header = (
        b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 6, 1, 8000, 8000, 1, 8)
    )
    (folder / "alaw.wav").write_bytes(header + b"data" + struct.pack("<I", len(data)) + data)
    return folder


@pytest.mark.parametrize(
    "name, message",
    [
        ("text", "not a readable WAV file"),
        ("corrupt", "not a readable WAV file"),
        ("empty", "no audio samples"),
        ("long", "use: python -m gallery.keywords listen"),
        ("alaw", "unsupported WAV encoding"),
        ("missing", "does not exist"),
    ],
)
def test_bad_clips_give_one_line_and_status_2(trained, tmp_path, capsys, name, message):
    result, _ = trained
    folder = bad_inputs(tmp_path)
    assert run_cli(APP, ["predict", str(folder / f"{name}.wav"), "--run", str(result.run_dir)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_bad_data_and_options_give_status_2(tmp_path, capsys):
    (tmp_path / "yes").mkdir()
    (tmp_path / "yes" / "a.wav").write_bytes(wav_bytes(tone(0.5)))
    (tmp_path / "no").mkdir()
    assert run_cli(APP, ["--preset", "smoke", "--data", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert "holds no .wav files" in capsys.readouterr().err
    assert run_cli(APP, ["--preset", "smoke", "--mfccs", "50"]) == 2
    assert "--mfccs 50 cannot exceed" in capsys.readouterr().err
    assert run_cli(APP, ["--preset", "smoke", "--hop-ms", "40"]) == 2
    assert "--hop-ms 40.0 must not exceed --frame-ms 32.0" in capsys.readouterr().err
    assert run_cli(APP, ["listen", str(tmp_path / "yes" / "a.wav"), "--run", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert run_cli(APP, ["--preset", "smoke", "--test-speaker", "theo"]) == 2
    assert "--test-speaker is for --data fsdd:DIR only" in capsys.readouterr().err
    recordings = tmp_path / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    for speaker in ("george", "theo"):
        (recordings / f"1_{speaker}_0.wav").write_bytes(wav_bytes(tone(0.5)))
    arguments = ["--preset", "smoke", "--data", f"fsdd:{tmp_path / 'fsdd'}", "--test-speaker", "bob"]
    assert run_cli(APP, [*arguments, "--out", str(tmp_path / "fsdd_run")]) == 2
    error = capsys.readouterr().err
    assert error.strip().count("\n") == 0 and "choose one of: george, theo" in error


def test_presets_count_epochs_and_the_demo_model_is_the_pooled_convolutional_one():
    for preset in ("smoke", "demo", "full"):
        assert KeywordsConfig.from_preset(preset).budget_seconds == 0
    demo = KeywordsConfig.from_preset("demo")
    model = build_model(demo, 12, np.zeros((2, 16000), np.float32))
    frontend = model.get_layer("frontend")
    assert [layer.name for layer in frontend.layers] == ["log_mel", "feature_normalisation", "conv_frames"]
    # 61 frames of 40 mel bins -> 31 steps of 10 pooled bins x 32 filters.
    assert frontend.compute_output_shape((None, 16000)) == (None, 31, 320)
    assert frontend.layers[0].log_offset == 1e-2


def test_command_line_exit_status_in_a_fresh_process(tmp_path):
    (tmp_path / "bad.wav").write_text("hello")
    process = subprocess.run(
        [sys.executable, "-m", "gallery.keywords", "predict", str(tmp_path / "bad.wav"), "--run", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert process.stderr.strip().count("\n") == 0 and "not a readable WAV file" in process.stderr


def test_the_held_out_speaker_benchmark_runs_every_fold_alike_and_records_mean_and_range(tmp_path):
    import importlib
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    benchmark = importlib.import_module("keywords_fsdd_speakers")
    commands = [benchmark.fold_command("fsdd:D", name, tmp_path, "full", 0, None) for name in ("theo", "lucas")]
    assert [c[c.index("--test-speaker") + 1] for c in commands] == ["theo", "lucas"]
    assert all(c[c.index("--preset") + 1] == "full" and c[c.index("--seed") + 1] == "0" for c in commands)
    assert "--epochs" in benchmark.fold_command("fsdd:D", "theo", tmp_path, "smoke", 0, 1)
    folds = {"a": {"accuracy": 0.9, "count": 500}, "b": {"accuracy": 0.7, "count": 500}}
    metrics = benchmark.summary(folds)
    assert metrics["primary"]["value"] == pytest.approx(0.8) and metrics["primary"]["range"] == [0.7, 0.9]
    assert metrics["primary"]["runs"] == 2 and metrics["test_clips"] == 1000 and metrics["folds"] is folds
    with pytest.raises(SystemExit) as refused:
        benchmark.main(["--data", "synthetic", "--out", str(tmp_path / "new")])
    assert refused.value.code == 2


# Slow (a fresh Python process, and exports): `.ci/run` runs every load_run test as a step of its own.
@pytest.mark.slow
def test_load_run_and_every_export_agree_with_the_predict_verb(trained, capsys, fresh_python):
    result, _ = trained
    run_dir = result.run_dir
    clips = sorted(str(path) for path in (run_dir / "clips").glob("*.wav"))[:4]
    assert run_cli(APP, ["predict", *clips, "--run", str(run_dir), "--top", "1"]) == 0
    verb = [line.split("): ")[1].rsplit(" ", 1) for line in capsys.readouterr().out.strip().splitlines()]
    for arguments in (["--format", "savedmodel"], ["--format", "tflite"], ["--format", "tflite", "--quantize"]):
        assert run_cli(APP, ["export", "--run", str(run_dir), *arguments]) == 0
    export = run_dir / "export"
    assert (export / "labels.txt").read_text().split() == list(speech.SYNTHETIC_LABELS)
    # A fresh process: nothing registered but what `from gallery import load_run` brings.
    output = fresh_python(
        f"""
import json, numpy as np, tensorflow as tf
from gallery import load_run
from gallery.export import tflite_interpreter
from gallery.keywords.verbs import clip_for_prediction, read_clip
run = load_run({str(run_dir)!r})
clips = {clips!r}
probabilities = run.predict(clips)
waveforms = np.stack([clip_for_prediction(read_clip(path))[0] for path in clips]).astype(np.float32)
served = tf.saved_model.load({str(export / "savedmodel")!r}).signatures["serving_default"]
results = {{"load_run": probabilities.tolist(), "labels": run.labels,
           "savedmodel": served(waveform=tf.constant(waveforms))["probabilities"].numpy().tolist()}}
for name in ("model.tflite", "model_int8.tflite"):
    runner = tflite_interpreter({str(export)!r} + "/" + name).get_signature_runner("serving_default")
    results[name] = runner(waveform=waveforms)["probabilities"].tolist()
print(json.dumps(results))
"""
    )
    results = json.loads(output.strip().splitlines()[-1])
    keras_probabilities = np.array(results["load_run"])
    for (label, probability), row in zip(verb, keras_probabilities):
        assert results["labels"][int(row.argmax())] == label and abs(row.max() - float(probability)) < 6e-4
    np.testing.assert_allclose(results["savedmodel"], keras_probabilities, atol=1e-5)
    np.testing.assert_allclose(results["model.tflite"], keras_probabilities, atol=1e-4)
    # int8 weights move a probability by a little, never by much.
    np.testing.assert_allclose(results["model_int8.tflite"], keras_probabilities, atol=0.03)
