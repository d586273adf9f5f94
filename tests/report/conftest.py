"""A runs folder for the page tests: a real hello smoke run plus run folders in the shape every other app writes.

The other applications are written concurrently and their smoke runs cost minutes together, so the default tests
build their run folders here with the same writers the apps use (gallery.runs, gallery.plots): config.json,
metrics.json with `primary`, history.csv, learning_curve.png and a showcase.json naming real PNG, WAV and MIDI
files. The slow test in test_report_tour.py runs the real smoke tour of every installed app instead.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

SHOWCASE_TEXT_WITH_MARKUP = 'a <script>alert("x")</script> & friends'

# app -> (layout-specific showcase pieces); the kinds of things each application's issue asks it to show.
SYNTHETIC_APPS = ("captioning", "language_model", "keywords", "translation", "qa", "music")


def _wav_bytes(seconds: float = 0.4, rate: int = 16000, frequency: float = 440.0) -> bytes:
    from datasets.pcm import wav_bytes

    time = np.arange(int(seconds * rate)) / rate
    return wav_bytes(0.3 * np.sin(2 * np.pi * frequency * time), rate)


def _midi_bytes() -> bytes:
    """A one-track standard MIDI file playing middle C for one beat."""
    events = bytes([0x00, 0x90, 60, 96, 0x83, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def write_app_run(root: Path, app: str, *, folder: str = "lstm-1x16-smoke", value: float = 0.5) -> Path:
    from gallery import plots, runs

    run_dir = root / app / folder
    run_dir.mkdir(parents=True, exist_ok=True)
    runs.write_json(
        run_dir / "config.json",
        {"app": app, "preset": "smoke", "cell": "lstm", "units": 16, "layers": 1, "bidirectional": False},
    )
    history = {"epoch": [0.0, 1.0], "loss": [2.0, 1.5], "val_loss": [2.1, 1.7]}
    runs.write_text(run_dir / "history.csv", "epoch,loss,val_loss\n0,2.0,2.1\n1,1.5,1.7\n")
    plots.learning_curve(history, run_dir / "learning_curve.png", title=app)
    images, audio, links, texts, tables = [], [], [], [], []
    texts.append(("sample", SHOWCASE_TEXT_WITH_MARKUP))
    if app in ("keywords", "music"):
        runs.write_bytes(run_dir / "clip 1.wav", _wav_bytes())  # a space in the name: URLs must be encoded
        audio.append(("clip 1.wav", f"{app} audio"))
    if app == "keywords":
        plots.confusion_matrix_plot(np.array([[3, 1], [0, 4]]), ["yes", "no"], run_dir / "confusion_matrix.png")
        images.append(("confusion_matrix.png", "confusion matrix"))
    if app == "translation":
        plots.heatmap(np.eye(3), run_dir / "attention_0.png", row_labels="abc", column_labels="xyz")
        images.append(("attention_0.png", "attention map"))
        tables.append({"title": "translations", "columns": ["source", "output"], "rows": [["one", "uno"]]})
    if app == "qa":
        texts.append(("story", "1 Mary went to the kitchen.\n* 2 John went to the garden.\nQ: Where is John? garden"))
    if app == "music":
        runs.write_bytes(run_dir / "generated.mid", _midi_bytes())
        links.append(("generated.mid", "generated MIDI"))
        plots.heatmap(np.eye(4), run_dir / "piano_roll.png", row_labels="abcd", column_labels="wxyz")
        images.append(("piano_roll.png", "piano roll"))
    if app == "captioning":
        plots.heatmap(np.ones((2, 2)), run_dir / "captions.png", row_labels="ab", column_labels="xy")
        images.append(("captions.png", "captioned test images"))
    runs.write_showcase(run_dir, texts=texts, images=images, audio=audio, links=links, tables=tables)
    runs.write_metrics(
        run_dir,
        primary_name=f"{app} score",
        primary_value=value,
        higher_is_better=True,
        parameters=1234,
        train_seconds=1.5,
        per_task={"task 1": 0.9, "task 2": 0.4},
    )
    return run_dir


def write_compare_run(root: Path) -> Path:
    from gallery import plots, runs

    folder = root / "compare" / "smoke-grid"
    folder.mkdir(parents=True, exist_ok=True)
    runs.write_json(folder / "results.json", [{"app": "hello", "architecture": "lstm-1x8", "value": 1.0}])
    runs.write_text(
        folder / "results.md",
        "# Results\n\nequal epochs\n\n| app | rnn-1x8 | lstm-1x8 |\n|---|---:|---:|\n| hello | 0.75 | 1.00 |\n",
    )
    plots.heatmap(np.eye(2), folder / "primary_metric.png", row_labels="ab", column_labels="xy")
    return folder


@pytest.fixture(name="write_app_run")
def _write_app_run_fixture():
    """The writer of a finished run folder in the shape every app writes, for tests that build their own folder."""
    return write_app_run


@pytest.fixture(scope="session")
def gallery_runs(tmp_path_factory) -> Path:
    """A runs folder with one finished run per application (hello for real) and a compare run; the page written."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from gallery.hello import APP as HELLO
    from gallery.hello.config import HelloConfig
    from gallery.report.page import write_page

    root = tmp_path_factory.mktemp("runs")
    HELLO.run(HelloConfig.from_preset("smoke", out=str(root / "hello" / "rnn-1x3-smoke")))
    for app in SYNTHETIC_APPS:
        write_app_run(root, app)
    write_compare_run(root)
    write_page(root)
    return root
