"""Training shared by every application: seeds, distribution strategy, optimizer, callbacks, resumable fit.

`fit` trains with early stopping, a best-weights checkpoint, `BackupAndRestore` (a run killed at any moment and
started again with the same command resumes after its last finished epoch and ends exactly where an uninterrupted
run would), a CSV history, TerminateOnNaN, an optional time budget and TensorBoard, and prints one line per epoch
with the task's own metric.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from datasets import batches
from gallery import runs
from gallery.config import RunConfig
from gallery.errors import UsageError

CHECKPOINTS = "checkpoints"
HISTORY = "history.csv"
STATE = "state.json"  # in CHECKPOINTS: the last complete backup
LATEST_WEIGHTS = "latest.weights.h5"
BEST_WEIGHTS = "best.weights.h5"


def on_tensorflow() -> bool:
    """Whether Keras runs on TensorFlow (the default) rather than JAX or PyTorch (KERAS_BACKEND)."""
    return keras.backend.backend() == "tensorflow"


def set_seed(seed: int) -> None:
    """Python, NumPy and backend seeds, plus deterministic ops on TensorFlow.

    Data, initial weights and batch order repeat exactly; measured on the 2-core CPU, two runs of the keywords demo
    still differed from the first epoch in the sixth significant digit of the loss (CPU kernels' summation order
    under different thread loads), which grew to 90.8% against 92.0% test accuracy after 25 epochs.
    """
    keras.utils.set_random_seed(seed)
    if on_tensorflow():
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


class _OneDevice:
    """The default strategy's stand-in on JAX and PyTorch, which place the model on their default device."""

    def scope(self):
        return contextlib.nullcontext()


def distribution_strategy(config: RunConfig):
    """`mirrored` copies the model to every visible GPU (or logical device); `default` uses one device."""
    if not on_tensorflow():
        if config.strategy == "mirrored":
            raise UsageError(
                f"--strategy mirrored is TensorFlow's; Keras runs on {keras.backend.backend()} here "
                "(KERAS_BACKEND): unset KERAS_BACKEND or use --strategy default"
            )
        return _OneDevice()
    import tensorflow as tf

    if config.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """Adam with gradient-norm clipping (the usual defence against exploding RNN gradients), AdamW's decoupled
    weight decay when asked for."""
    return keras.optimizers.Adam(
        learning_rate=config.learning_rate, clipnorm=config.clipnorm or None, weight_decay=config.weight_decay or None
    )


@dataclass
class TrainingResult:
    history: dict[str, list[float]]
    seconds: float
    epochs: int
    resumed_from: int


class Resumable:
    """A callback whose state a resumed run must get back: `fit` saves `resume_state()` with every epoch's backup
    and hands it to `restore()` at the start of a resumed run (after the callback's own `on_train_begin`)."""

    def resume_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


class _EpochLine(keras.callbacks.Callback):
    """One line per epoch: losses, the task metric, and cumulative training seconds (kept in history.csv)."""

    def __init__(self, epochs: int, summary: Callable[[int, dict], str] | None, seconds_before: float, every: int):
        super().__init__()
        self.epochs, self.summary, self.seconds_before, self.every = epochs, summary, seconds_before, every

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["seconds"] = self.seconds_before + time.perf_counter() - self.started
        # The summary runs every epoch, printed or not: it may add the task metrics the checkpoint monitors.
        summary = self.summary(epoch, logs) if self.summary is not None else ""
        if (epoch + 1) % self.every and epoch + 1 != self.epochs:
            return
        parts = [f"epoch {epoch + 1}/{self.epochs}"]
        parts += [f"{key} {value:.4f}" for key, value in logs.items() if key in ("loss", "val_loss")]
        if summary:
            parts.append(summary)
        parts.append(f"{logs['seconds']:.0f}s")
        print("  ".join(parts), flush=True)


class _TimeBudget(keras.callbacks.Callback):
    """Stops training once the cumulative training time passes the budget (equal-time comparisons)."""

    def __init__(self, budget_seconds: float):
        super().__init__()
        self.budget = budget_seconds

    def on_epoch_end(self, epoch, logs=None):
        if logs and logs.get("seconds", 0.0) >= self.budget:
            print(f"time budget of {self.budget:.0f}s reached after epoch {epoch + 1}", flush=True)
            self.model.stop_training = True


class CosineSchedule(keras.callbacks.Callback, Resumable):
    """Cosine decay of the learning rate from `config.learning_rate` to a tenth of it, set at each epoch's start.

    Progress is the share of `config.epochs` done or, with a time budget, the share of the budget spent (the
    cumulative `seconds` the epoch line logs, which count the time before a resume), whichever is larger: a run
    cut short by its budget still ends on a small learning rate. Pass it to `fit` in `callbacks`.
    """

    FLOOR = 0.1

    def __init__(self, config: RunConfig):
        super().__init__()
        self.config = config
        self.seconds = 0.0

    def rate(self, epoch: int, seconds: float) -> float:
        config = self.config
        progress = epoch / config.epochs
        if config.budget_seconds:
            progress = max(progress, seconds / config.budget_seconds)
        progress = min(progress, 1.0)
        share = self.FLOOR + (1 - self.FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))
        return float(config.learning_rate * share)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.rate(epoch, self.seconds))

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = float((logs or {}).get("seconds", self.seconds))

    def resume_state(self) -> dict[str, Any]:
        return {"seconds": self.seconds}

    def restore(self, state: dict[str, Any]) -> None:
        self.seconds = state["seconds"]


def schedule_callbacks(config: RunConfig) -> list[keras.callbacks.Callback]:
    """The learning-rate callbacks an app's `schedule` option names: cosine decay, or none for a constant rate."""
    return [CosineSchedule(config)] if config.schedule == "cosine" else []


def read_history(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            columns.setdefault(key, []).append(float(value) if value not in ("", "NA", None) else math.nan)
    return columns


def _restore_history(path: Path, rows: list[dict[str, Any]]) -> None:
    """history.csv with the rows of the backed-up epochs only, written atomically.

    CSVLogger writes each epoch's row before that epoch's backup, so the file holds at least those rows; a row (or
    half a row) after them is the epoch a killed run did not back up, and goes. Should the file have lost rows, it
    is written again from the backup's own history.
    """
    lines = path.read_text().splitlines(keepends=True) if path.is_file() else []
    if len(lines) > len(rows):
        runs.write_text(path, "".join(lines[: len(rows) + 1]))
        return
    keys = sorted({key for row in rows for key in row if key != "epoch"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *keys], restval="NA", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    runs.write_text(path, buffer.getvalue())


def _plain(value: Any) -> Any:
    """A log value as JSON keeps it exactly: Python floats (NaN and infinities included) and ints."""
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


class _EarlyStopping(keras.callbacks.EarlyStopping, Resumable):
    """Keras's early stopping with its wait counter and best value carried across a resume."""

    def resume_state(self) -> dict[str, Any]:
        return {"wait": self.wait, "best": _plain(self.best), "best_epoch": self.best_epoch}

    def restore(self, state: dict[str, Any]) -> None:
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]


class _BestWeights(keras.callbacks.ModelCheckpoint, Resumable):
    """Keras's best-only weights checkpoint with its best value carried across a resume.

    It writes to a staging file; the backup of the epoch moves it into that epoch's folder, so a kill while it
    writes leaves the best weights of the last backed-up epoch untouched.
    """

    def resume_state(self) -> dict[str, Any]:
        return {"best": _plain(self.best)}

    def restore(self, state: dict[str, Any]) -> None:
        self.best = state["best"]


def _random_state_variables(model: keras.Model) -> list:
    """The state of every random generator of the model's layers (dropout masks, noise), in a fixed order.

    They are not weights, so `save_weights` leaves them out: a resumed run would draw its first epoch's masks again.
    """
    return [variable for variable in model.variables if variable.name == "seed_generator_state"]


class _Backup(keras.callbacks.BackupAndRestore):
    """Keras's BackupAndRestore, made complete and safe to kill at any moment.

    Each epoch's backup is a new folder `checkpoints/epoch-NNNN` holding the model and optimizer state
    (`latest.weights.h5`) and the best weights so far, then `checkpoints/state.json`, written atomically, names it
    and holds the rest: the config, the epochs done, whether training stopped, the history rows, the random
    generators' state and the state of every `Resumable` callback. Only then is the previous folder removed. A kill
    while a backup is written leaves state.json naming the previous, complete one; a resumed run reads nothing else.
    """

    def __init__(
        self,
        checkpoints: Path,
        config: RunConfig,
        callbacks: list[keras.callbacks.Callback],
        state: dict[str, Any] | None,
    ):
        super().__init__(str(checkpoints), delete_checkpoint=False)
        self.checkpoints, self.config, self.state = checkpoints, config, state
        self.resumable = {
            f"{index}:{type(c).__name__}": c for index, c in enumerate(callbacks) if isinstance(c, Resumable)
        }
        self.rows: list[dict[str, Any]] = list(state["history"]) if state else []
        self.folder: Path | None = checkpoints / state["weights"] if state else None

    @property
    def staged_best(self) -> Path:
        return self.checkpoints / BEST_WEIGHTS

    def _load_model(self) -> None:
        # The weights were loaded before training began (`fit`); what Keras's own callbacks reset in their
        # on_train_begin comes back here, after them.
        if not self.state:
            return
        for name, callback in self.resumable.items():
            if name in self.state["callbacks"]:
                callback.restore(self.state["callbacks"][name])

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{key: _plain(value) for key, value in (logs or {}).items()}})
        super().on_epoch_end(epoch, logs)

    def _save_model(self) -> None:
        previous = self.folder
        folder = self.checkpoints / f"epoch-{self._current_epoch:04d}"
        shutil.rmtree(folder, ignore_errors=True)  # a folder a killed run left half-written
        folder.mkdir(parents=True)
        self.model.save_weights(str(folder / LATEST_WEIGHTS))
        if self.staged_best.is_file():
            os.replace(self.staged_best, folder / BEST_WEIGHTS)
        elif previous is not None and (previous / BEST_WEIGHTS).is_file():
            try:
                os.link(previous / BEST_WEIGHTS, folder / BEST_WEIGHTS)
            except OSError:  # a file system without hard links
                shutil.copyfile(previous / BEST_WEIGHTS, folder / BEST_WEIGHTS)
        state = {
            "config": self.config.to_dict(),
            "epoch": self._current_epoch,
            "weights": folder.name,
            "stopped": bool(self.model.stop_training),
            "history": self.rows,
            "random_state": [
                keras.ops.convert_to_numpy(variable).tolist() for variable in _random_state_variables(self.model)
            ],
            "callbacks": {name: callback.resume_state() for name, callback in self.resumable.items()},
        }
        runs.write_json(self.checkpoints / STATE, state)
        self.state, self.folder = state, folder
        if previous is not None and previous != folder:
            shutil.rmtree(previous, ignore_errors=True)


def _read_state(checkpoints: Path) -> dict[str, Any] | None:
    """The last complete backup's state, or None for a new run."""
    path = checkpoints / STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
        complete = (checkpoints / state["weights"] / LATEST_WEIGHTS).is_file()
    except (ValueError, KeyError, TypeError):
        complete = False
    if not complete:
        # Written atomically, so only a hand or a disk can have damaged it: say so rather than start over.
        raise UsageError(f"{path} or the backup it names is damaged; delete {checkpoints} to train from the start")
    return state


def _changed_flags(state: dict[str, Any], config: RunConfig) -> list[str]:
    """The flags whose values differ from those the backed-up run was started with (`--out` may move)."""
    before, now = state.get("config", {}), config.to_dict()
    return [
        "--" + key.replace("_", "-") for key in now if key not in ("out", "tensorboard") and before.get(key) != now[key]
    ]


def resume_point(run_dir: Path) -> int:
    """The epochs a run in `run_dir` has finished and backed up (0: the next run starts afresh)."""
    state = _read_state(Path(run_dir) / CHECKPOINTS)
    return state["epoch"] if state else 0


def _restore_weights(model: keras.Model, path: Path) -> None:
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(str(path))


def fit(
    model: keras.Model,
    train: Any,
    validation: Any,
    config: RunConfig,
    run_dir: Path,
    *,
    monitor: str = "val_loss",
    mode: str = "min",
    epoch_summary: Callable[[int, dict], str] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    log_every: int = 1,
    early_stopping: bool = True,
    **fit_kwargs: Any,
) -> TrainingResult:
    """Train a compiled model into `run_dir`, resuming an interrupted run; the best weights are kept at the end.

    `epoch_summary(epoch, logs)` runs first at every epoch end and returns the text for the epoch line. It may add
    task metrics to `logs` (e.g. `logs["val_bleu"] = ...`): the checkpoint, early stopping (via `monitor`) and
    history.csv all see them, because they run after it. `callbacks` run after those, and the backup of the epoch
    last, so what they decide (a stop, a `Resumable` state) is in it.

    A run killed at any moment and started again with the same command ends with the same weights and history as
    an uninterrupted one, provided its training batches are a function of (seed, epoch, batch)
    (`datasets.batches.EpochBatches`; `fit` keeps them on the epoch being trained).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoints = run_dir / CHECKPOINTS
    history_path = run_dir / HISTORY
    state = _read_state(checkpoints)
    if state is None:
        # A new run: nothing of an earlier run in this folder may leak into it.
        shutil.rmtree(checkpoints, ignore_errors=True)
        for stale in (history_path, run_dir / "metrics.json"):
            stale.unlink(missing_ok=True)
    else:
        # Whatever a killed run was writing when it died goes; the state names the last complete backup.
        changed = _changed_flags(state, config)
        if changed:
            raise UsageError(
                f"{run_dir} holds a run stopped after epoch {state['epoch']} with other values of "
                f"{', '.join(changed)}; run its command again to resume it, or choose another --out"
            )
        for entry in checkpoints.iterdir():
            if entry.name in (STATE, state["weights"]):
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        _restore_history(history_path, state["history"])
    checkpoints.mkdir(parents=True, exist_ok=True)
    done_epochs = state["epoch"] if state else 0
    seconds_before = float(state["history"][-1].get("seconds", 0.0)) if state and state["history"] else 0.0
    if isinstance(train, batches.EpochBatches) and "steps_per_epoch" in fit_kwargs:
        raise ValueError("EpochBatches set the number of batches an epoch themselves; leave steps_per_epoch out")

    finished = state is not None and (state["stopped"] or done_epochs >= config.epochs)
    if state is not None:
        _restore_weights(model, checkpoints / state["weights"] / LATEST_WEIGHTS)
        for variable, value in zip(_random_state_variables(model), state["random_state"], strict=True):
            variable.assign(value)
        print(f"resuming {run_dir} after epoch {done_epochs}" + (" (training had finished)" if finished else ""))
    sys.stdout.flush()

    line = _EpochLine(config.epochs, epoch_summary, seconds_before, max(1, log_every))
    # Order matters: the epoch line adds `seconds` and the task metrics to the logs before the checkpoint, early
    # stopping and the CSV logger read them, and the backup comes last, after everything that may stop training.
    all_callbacks = [
        line,
        keras.callbacks.TerminateOnNaN(),
        _BestWeights(
            str(checkpoints / BEST_WEIGHTS), monitor=monitor, mode=mode, save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.CSVLogger(str(history_path), append=state is not None),
    ]
    if early_stopping:
        all_callbacks.append(_EarlyStopping(monitor=monitor, mode=mode, patience=config.patience))
    if config.budget_seconds:
        all_callbacks.append(_TimeBudget(config.budget_seconds))
    if config.tensorboard:
        all_callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    all_callbacks += list(callbacks or [])
    if isinstance(train, batches.EpochBatches):
        all_callbacks.append(batches.Reshuffle(train))
    backup = _Backup(checkpoints, config, all_callbacks, state)
    all_callbacks.append(backup)
    if on_tensorflow():
        # Not through Keras's PyDataset adapter, whose generator dataset slows the whole process (datasets/batches.py).
        train, validation = (
            batches.as_tf_dataset(data) if isinstance(data, batches.EpochBatches) else data
            for data in (train, validation)
        )
    verbose = 1 if sys.stdout.isatty() else 0
    fit_kwargs.setdefault("shuffle", False)  # the data pipelines shuffle themselves
    if not finished:
        model.fit(
            train,
            validation_data=validation,
            epochs=config.epochs,
            initial_epoch=done_epochs,
            callbacks=all_callbacks,
            verbose=verbose,
            **fit_kwargs,
        )
    if backup.folder is not None and (backup.folder / BEST_WEIGHTS).is_file():
        _restore_weights(model, backup.folder / BEST_WEIGHTS)
    history = read_history(history_path)
    seconds = history["seconds"][-1] if history.get("seconds") else 0.0
    return TrainingResult(
        history=history, seconds=seconds, epochs=len(history.get("epoch", [])), resumed_from=done_epochs
    )


@dataclass
class Primary:
    """The one figure a run is judged by (metrics.json's `primary` entry, the tour's and compare's column)."""

    name: str
    value: float
    higher_is_better: bool


def write_finished_run(
    run_dir: Path,
    config: RunConfig,
    model: keras.Model,
    result: TrainingResult,
    primary: Primary,
    *,
    curve_title: str,
    curve_keys: tuple[str, ...] = ("loss", "val_loss"),
    showcase: runs.Showcase | None = None,
    **metrics: Any,
) -> dict[str, Any]:
    """Write what every finished run holds, then drop its checkpoints; returns the metrics written.

    config.json, model.keras, learning_curve.png (the `curve_keys` columns of the history), showcase.json (the
    curve first, then the app's own pictures, sounds and tables) and metrics.json, last: a folder with
    metrics.json is a finished run.
    """
    from gallery import plots

    runs.write_config(run_dir, config)
    runs.save_model(model, run_dir / "model.keras")
    curve = {key: result.history[key] for key in ("epoch", *curve_keys) if key in result.history}
    plots.learning_curve(curve, run_dir / "learning_curve.png", title=curve_title)
    showcase = showcase or runs.Showcase()
    runs.write_showcase(
        run_dir,
        texts=showcase.texts,
        images=[("learning_curve.png", "loss per epoch"), *showcase.images],
        audio=showcase.audio,
        links=showcase.links,
        tables=showcase.tables,
    )
    written = runs.write_metrics(
        run_dir,
        primary_name=primary.name,
        primary_value=primary.value,
        higher_is_better=primary.higher_is_better,
        parameters=model.count_params(),
        train_seconds=result.seconds,
        epochs=result.epochs,
        **metrics,
    )
    finish(run_dir)
    return written


def finish(run_dir: Path) -> None:
    """Drop the checkpoints folder once model.keras and metrics.json are written."""
    shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
