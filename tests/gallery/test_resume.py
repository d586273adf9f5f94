"""A run killed with SIGKILL and started again with the same command ends exactly where an uninterrupted run ends.

For every application: a smoke run is killed in a fresh process (tests/gallery/resume_child.py) in the middle of
an epoch, then the same command runs again here; its metrics.json (all but the seconds), history.csv (all but the
seconds) and model.keras weights must equal those of an uninterrupted run of that command, bit for bit. The flags
switch on what carries random or running state: dropout and recurrent dropout, music's random transposition,
captioning's reference drawn per image, keywords' augmentation of every clip, the cosine schedule, early stopping
and the best-weights checkpoint. One app is also killed while its backup is written and while its run folder is
written.

To add an application, add a `Case` to CASES: the flags of a smoke run of a few epochs whose early stopping cannot
end it before the kill (a kill that never comes fails the test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest

from gallery import apps, cli, resume, runs, training
from gallery.errors import UsageError

on_tensorflow = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="runs in this TensorFlow process")

CHILD = Path(__file__).with_name("resume_child.py")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    app: str
    flags: tuple[str, ...]
    kill_at: str  # see resume_child.py

    @property
    def argv(self) -> list[str]:
        return ["--preset", "smoke", "--seed", "3", "--patience", "100", *self.flags]


CASES = {
    # Hello stops itself once it predicts "ello" (after 9 epochs with this seed): the resumed run must stop there too.
    "hello": Case("hello", ("--epochs", "30"), "batch:5:0"),
    "language_model": Case(
        "language_model", ("--epochs", "4", "--dropout", "0.3", "--recurrent-dropout", "0.2"), "batch:2:1"
    ),
    "music": Case("music", ("--epochs", "4", "--transpose", "2", "--dropout", "0.3"), "batch:2:0"),
    "translation": Case("translation", ("--epochs", "3", "--dropout", "0.2"), "batch:1:2"),
    "captioning": Case("captioning", ("--epochs", "3", "--schedule", "cosine"), "batch:1:1"),
    "keywords": Case("keywords", ("--epochs", "3", "--dropout", "0.2", "--schedule", "cosine"), "batch:1:1"),
    "qa": Case("qa", ("--epochs", "3", "--dropout", "0.2"), "batch:1:0"),
}
# Each case costs a fresh process and two runs: the quickest stay in the default suite, the rest run with -m slow.
QUICK = {"hello", "language_model"}
# Kills while writing: half a backup's weights file, half its state.json, the run folder half written after training.
WRITING = [
    pytest.param("language_model", "backup:1"),
    pytest.param("language_model", "state:1", marks=pytest.mark.slow),
    pytest.param("hello", "run-folder"),
]


def config_of(case: Case):
    app = apps.load(case.app)
    return app, cli.config_from_args(app.config, cli.training_parser(app).parse_args(case.argv))


def without_seconds(value):
    if isinstance(value, dict):
        return {key: without_seconds(item) for key, item in value.items() if "seconds" not in key}
    return value


def outcome(run_dir: Path, app: str) -> dict:
    """What must not depend on a kill: the figures, the history but its clock, the weights, the samples."""
    loaded = runs.load_run(run_dir, app)
    history = training.read_history(run_dir / training.HISTORY)
    history.pop("seconds")
    samples = run_dir / "samples.txt"
    return {
        "metrics": without_seconds(loaded.metrics),
        "history": history,
        "weights": loaded.model.get_weights(),
        "samples": samples.read_text(encoding="utf-8") if samples.is_file() else None,
    }


def assert_same(resumed: dict, uninterrupted: dict) -> None:
    assert resumed["metrics"] == uninterrupted["metrics"]
    assert resumed["history"] == uninterrupted["history"]
    assert resumed["samples"] == uninterrupted["samples"]
    assert len(resumed["weights"]) == len(uninterrupted["weights"])
    for got, want in zip(resumed["weights"], uninterrupted["weights"]):
        np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The outcome of each case's command run without interruption (once per app)."""
    found = {}

    def get(name: str) -> dict:
        if name not in found:
            app, config = config_of(CASES[name])
            result = app.run(config.from_dict({**config.to_dict(), "out": str(tmp_path_factory.mktemp(name))}))
            found[name] = outcome(result.run_dir, name)
        return found[name]

    return get


def environment(backend: str = "tensorflow") -> dict[str, str]:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT), "KERAS_BACKEND": backend}


def kill(name: str, kill_at: str, argv: list[str], run_dir: Path, backend: str = "tensorflow") -> None:
    """The command run in a fresh process and killed with SIGKILL at `kill_at`, before it finished."""
    child = subprocess.run(
        [sys.executable, str(CHILD), kill_at, name, *argv],
        cwd=ROOT,
        env=environment(backend),
        capture_output=True,
        text=True,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert not (run_dir / "metrics.json").exists()


def kill_then_resume(name: str, kill_at: str, run_dir: Path, capsys) -> dict:
    argv = [*CASES[name].argv, "--out", str(run_dir)]
    kill(name, kill_at, argv, run_dir)
    capsys.readouterr()
    assert cli.run_cli(apps.load(name), argv) == 0
    printed = capsys.readouterr().out
    assert f"resuming {run_dir} after epoch" in printed
    # Killed after training, the run does not train again: it goes straight to evaluating the best weights.
    assert ("(training had finished)" in printed) == (kill_at == "run-folder")
    assert not (run_dir / resume.CHECKPOINTS).exists()
    return outcome(run_dir, name)


@on_tensorflow
@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=[] if name in QUICK else [pytest.mark.slow]) for name in CASES]
)
def test_a_run_killed_during_an_epoch_resumes_to_the_uninterrupted_result(name, tmp_path, uninterrupted, capsys):
    resumed = kill_then_resume(name, CASES[name].kill_at, tmp_path / "run", capsys)
    assert_same(resumed, uninterrupted(name))


@on_tensorflow
@pytest.mark.parametrize("name, kill_at", WRITING)
def test_a_run_killed_while_writing_resumes_to_the_uninterrupted_result(name, kill_at, tmp_path, uninterrupted, capsys):
    resumed = kill_then_resume(name, kill_at, tmp_path / "run", capsys)
    assert_same(resumed, uninterrupted(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["language_model", "music", "translation", "captioning"])
def test_on_jax_a_run_killed_during_an_epoch_resumes_to_the_uninterrupted_result(name, tmp_path):
    """The same on Keras's JAX backend, every run in its own process (this one keeps its backend)."""
    pytest.importorskip("jax")
    outcomes = []
    for run, kill_at in (("whole", None), ("cut", CASES[name].kill_at)):
        run_dir = tmp_path / run
        argv = [*CASES[name].argv, "--out", str(run_dir)]
        if kill_at:
            kill(name, kill_at, argv, run_dir, backend="jax")
        command = [sys.executable, "-m", f"gallery.{name}", *argv]
        finished = subprocess.run(command, cwd=ROOT, env=environment("jax"), capture_output=True, text=True)
        assert finished.returncode == 0, finished.stderr[-2000:]
        assert ("resuming" in finished.stdout) == bool(kill_at)
        outcomes.append(outcome(run_dir, name))
    assert_same(*outcomes)


class StopProcess(keras.callbacks.Callback):
    """Ends the program (not just training) when epoch `epoch` is about to begin: after the backup of the one before."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


SCORES = [0.5, 0.2, 0.3, 0.4, 0.6, 0.1, 0.1, 0.1]


def toy_run(run_dir: Path, config, callbacks=()):
    """A small model trained on shuffled ArrayBatches, monitoring a scripted validation score (SCORES)."""
    from datasets.batches import ArrayBatches
    from models.stacks import RNNSpec
    from models.templates import many_to_many

    training.set_seed(config.seed)
    tokens = np.random.default_rng(0).integers(0, 6, (40, 8))
    model = many_to_many(RNNSpec("gru", 8), 6, vocab_size=6, embedding_dim=4)
    model.compile(training.optimizer(config), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    train = ArrayBatches(tokens[:, :-1], tokens[:, 1:], batch_size=8, shuffle=True, seed=config.seed)

    def summary(epoch, logs):
        logs["val_score"] = SCORES[epoch]
        return ""

    result = training.fit(
        model, train, None, config, run_dir, monitor="val_score", epoch_summary=summary, callbacks=list(callbacks)
    )
    return result, model.get_weights()


@on_tensorflow
def test_early_stopping_and_the_best_checkpoint_carry_their_state_across_a_resume(tmp_path):
    """A scripted validation score (best at epoch 1, then worse) with a patience of 3 stops after epoch 4 and keeps
    epoch 1's weights; a run stopped after epoch 2 must do the same, not wait 3 more epochs or keep epoch 3's."""
    config = training.RunConfig(epochs=len(SCORES), patience=3, seed=5)
    whole, whole_weights = toy_run(tmp_path / "whole", config)
    assert whole.epochs == 5  # epochs 0 to 4: three epochs without beating epoch 1's score
    with pytest.raises(KeyboardInterrupt):
        toy_run(tmp_path / "cut", config, [StopProcess(3)])
    resumed, resumed_weights = toy_run(tmp_path / "cut", config)
    assert resumed.resumed_from == 3
    assert resumed.history == {**whole.history, "seconds": resumed.history["seconds"]}
    for got, want in zip(resumed_weights, whole_weights):
        np.testing.assert_array_equal(got, want)


@on_tensorflow
def test_a_stopped_run_resumes_only_with_its_own_flags_and_an_intact_backup(tmp_path):
    config = training.RunConfig(epochs=len(SCORES), patience=3, seed=5)
    with pytest.raises(KeyboardInterrupt):
        toy_run(tmp_path, config, [StopProcess(2)])
    other = training.RunConfig(epochs=len(SCORES), patience=3, seed=5, learning_rate=0.01)
    with pytest.raises(UsageError, match="after epoch 2 with other values of --learning-rate; run its command"):
        toy_run(tmp_path, other)
    state = tmp_path / resume.CHECKPOINTS / resume.STATE
    state.write_text(state.read_text()[:-20])
    with pytest.raises(UsageError, match="state.json or the backup it names is damaged; delete"):
        toy_run(tmp_path, config)


def batch_makers():
    """Training batches of every kind the apps use, each made afresh by a call."""
    from datasets.batches import ArrayBatches
    from gallery.language_model.data import RandomWindows
    from gallery.music.data import PianoRollBatches

    rng = np.random.default_rng(1)
    rows = rng.integers(1, 9, (30, 6))
    lengths = rng.integers(1, 7, 30)
    keys = np.zeros((40, 88), np.float32)
    keys[:, 40:50] = rng.random((40, 10)) > 0.5
    rolls = [keys[: 10 + i] for i in range(9)]
    return {
        "arrays": lambda: ArrayBatches(rows, rows, batch_size=4, shuffle=True, seed=7),
        "bucketed": lambda: ArrayBatches(rows, rows, batch_size=4, shuffle=True, seed=7, lengths=lengths),
        "windows": lambda: RandomWindows(np.arange(500), 10, 4, 5, seed=7),
        "piano rolls": lambda: PianoRollBatches(rolls, 2, shuffle=True, transpose=3, seed=7, bucketed=False),
    }


@pytest.mark.parametrize("kind", ["arrays", "bucketed", "windows", "piano rolls"])
def test_training_batches_of_an_epoch_are_the_same_however_it_is_reached(kind):
    """Epoch 3 reached by three epoch ends equals epoch 3 set on fresh batches (a resumed run), and differs from
    epoch 2; reading batches in any order or twice changes nothing."""
    make = batch_makers()[kind]

    def epoch(batches, order=None):
        indices = list(range(len(batches)))
        got = {index: batches[index] for index in (order or indices)}
        return [np.concatenate([np.ravel(leaf) for leaf in keras.tree.flatten(got[index])]) for index in indices]

    walked = make()
    seen = []
    for _ in range(4):
        seen.append(epoch(walked))
        walked.on_epoch_end()
    fresh = make()
    fresh.set_epoch(3)
    resumed = epoch(fresh, order=list(reversed(range(len(fresh)))))
    assert all(np.array_equal(a, b) for a, b in zip(resumed, seen[3]))
    assert not all(np.array_equal(a, b) for a, b in zip(seen[2], seen[3]))
    assert all(np.array_equal(a, b) for a, b in zip(epoch(fresh), resumed))
