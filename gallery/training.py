"""Training shared by every application: seeds, distribution strategy, optimizer, callbacks, resumable fit.

`fit` trains with early stopping, a best-weights checkpoint, `BackupAndRestore` (a run killed at any moment and
started again with the same command resumes after its last finished epoch and ends exactly where an uninterrupted
run would), a CSV history, TerminateOnNaN, an optional time budget and TensorBoard, and prints one line per epoch
with the task's own metric. Training across machines (`--strategy multi_worker`) is `gallery.cluster`'s part.
"""

from __future__ import annotations

import contextlib
import csv
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from datasets import batches
from gallery import cluster, resume, runs
from gallery.config import RunConfig
from gallery.errors import UsageError
from gallery.resume import CHECKPOINTS

HISTORY = "history.csv"


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
    """`mirrored` copies the model to every visible GPU (or logical device); `multi_worker` to every machine that
    TF_CONFIG names (created on first use, then the same one); `default` uses one device."""
    if not on_tensorflow():
        if config.strategy in ("mirrored", "multi_worker"):
            raise UsageError(
                f"--strategy {config.strategy} is TensorFlow's; Keras runs on {keras.backend.backend()} here "
                "(KERAS_BACKEND): unset KERAS_BACKEND or use --strategy default"
            )
        return _OneDevice()
    import tensorflow as tf

    if config.strategy == "multi_worker":
        return cluster.multi_worker_strategy()
    if config.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def multi_worker(config: RunConfig) -> cluster.Worker | None:
    """This process's worker when `config` trains across machines, else None (one process trains alone)."""
    return cluster.cluster_worker() if config.strategy == "multi_worker" and on_tensorflow() else None


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


class CosineSchedule(keras.callbacks.Callback, resume.Resumable):
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
    worker = multi_worker(config)
    if worker is None:
        state = resume.start(run_dir, checkpoints, history_path, config)
    else:  # every worker resumes the chief's backup, with no shared disk
        state = cluster.resume_state_from_chief(worker, run_dir, checkpoints, history_path, config)
    checkpoints.mkdir(parents=True, exist_ok=True)
    done_epochs = state["epoch"] if state else 0
    seconds_before = float(state["history"][-1].get("seconds", 0.0)) if state and state["history"] else 0.0
    if isinstance(train, batches.EpochBatches) and "steps_per_epoch" in fit_kwargs:
        raise ValueError("EpochBatches set the number of batches an epoch themselves; leave steps_per_epoch out")

    finished = state is not None and (state["stopped"] or done_epochs >= config.epochs)
    if state is not None and worker is not None:
        cluster.restore_from_chief(model, checkpoints, state, worker)
    elif state is not None:
        resume.restore_model(model, checkpoints, state)
        print(f"resuming {run_dir} after epoch {done_epochs}" + (" (training had finished)" if finished else ""))
    sys.stdout.flush()

    line = _EpochLine(config.epochs, epoch_summary, seconds_before, max(1, log_every))
    # Order matters: the epoch line adds `seconds` and the task metrics to the logs before the checkpoint, early
    # stopping and the CSV logger read them, and the backup comes last, after everything that may stop training.
    all_callbacks = [
        line,
        keras.callbacks.TerminateOnNaN(),
        resume.BestWeights(
            str(checkpoints / resume.BEST_WEIGHTS),
            monitor=monitor,
            mode=mode,
            save_best_only=True,
            save_weights_only=True,
        ),
        keras.callbacks.CSVLogger(str(history_path), append=state is not None),
    ]
    if early_stopping:
        all_callbacks.append(resume.EarlyStopping(monitor=monitor, mode=mode, patience=config.patience))
    if config.budget_seconds:
        all_callbacks.append(_TimeBudget(config.budget_seconds))
    if config.tensorboard:
        all_callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    all_callbacks += list(callbacks or [])
    if isinstance(train, batches.EpochBatches):
        all_callbacks.append(batches.Reshuffle(train))
    backup = resume.Backup(checkpoints, config, all_callbacks, state)
    all_callbacks.append(backup)
    if on_tensorflow():
        # Not through Keras's PyDataset adapter, whose generator dataset slows the whole process (datasets/batches.py).
        train, validation = (
            batches.as_tf_dataset(data) if isinstance(data, batches.EpochBatches) else data
            for data in (train, validation)
        )
        if worker is not None:
            train, validation = (cluster.split_between_workers(data) for data in (train, validation))
    verbose = 1 if sys.stdout.isatty() else 0
    fit_kwargs.setdefault("shuffle", False)  # the data pipelines shuffle themselves
    scope = contextlib.nullcontext() if worker is None else cluster.training_scope(model)
    if not finished:
        with scope:
            model.fit(
                train,
                validation_data=validation,
                epochs=config.epochs,
                initial_epoch=done_epochs,
                callbacks=all_callbacks,
                verbose=verbose,
                **fit_kwargs,
            )
    if backup.folder is not None and (backup.folder / resume.BEST_WEIGHTS).is_file():
        resume.restore_weights(model, backup.folder / resume.BEST_WEIGHTS)
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
    count: int | None = None  # the test items an accuracy is a share of: metrics.json then holds its 95% interval


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

    worker = multi_worker(config)
    if worker is not None:
        cluster.print_weights_digest(worker, model)
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
        primary_count=primary.count,
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
