"""Training shared by every application: seeds, distribution strategy, optimizer, callbacks, resumable fit.

`fit` trains with early stopping, a best-weights checkpoint, `BackupAndRestore` (a run killed at any moment and
started again with the same command resumes after its last finished epoch and ends exactly where an uninterrupted
run would), a CSV history, TerminateOnNaN, an optional time budget and TensorBoard, and prints one line per epoch
with the task's own metric.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
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
import numpy as np

from datasets import batches
from gallery import resume, runs
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


TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}\''
)


@dataclass(frozen=True)
class Worker:
    """This process's place in a multi-worker cluster (TF_CONFIG's task): only the chief writes the run folder."""

    task_type: str
    index: int
    count: int  # every worker of the cluster, the chief included
    is_chief: bool

    def __str__(self) -> str:
        return f"{self.task_type} {self.index}" + (" (chief)" if self.is_chief and self.task_type != "chief" else "")


def cluster_worker() -> Worker:
    """The worker TF_CONFIG makes this process; a UsageError naming what to set when it is missing or invalid.

    The chief is the task of type `chief`, or worker 0 when the cluster has no chief (TensorFlow's rule).
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    hint = f"set TF_CONFIG on every machine, its own task index on each, e.g. {TF_CONFIG_EXAMPLE}"
    if not text:
        raise UsageError(f"--strategy multi_worker needs TF_CONFIG: {hint}")
    try:
        value = json.loads(text)
        cluster, task = value["cluster"], value["task"]
        task_type, index = task["type"], task["index"]
        members = {name: list(addresses) for name, addresses in cluster.items() if name in ("chief", "worker")}
        valid = (
            isinstance(task_type, str)
            and isinstance(index, int)
            and task_type in members
            and 0 <= index < len(members[task_type])
            and len(members.get("chief", [])) <= 1
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise UsageError(
            f"TF_CONFIG is not a cluster with this task in it (chief or worker, index within its list): {hint}"
        )
    is_chief = task_type == "chief" or (task_type == "worker" and index == 0 and not members.get("chief"))
    return Worker(task_type, index, sum(len(addresses) for addresses in members.values()), is_chief)


_multi_worker_strategy = None  # TensorFlow allows one per process, created before any other operation


def distribution_strategy(config: RunConfig):
    """`mirrored` copies the model to every visible GPU (or logical device); `multi_worker` to every machine that
    TF_CONFIG names (created on first use, then the same one); `default` uses one device."""
    global _multi_worker_strategy
    if not on_tensorflow():
        if config.strategy in ("mirrored", "multi_worker"):
            raise UsageError(
                f"--strategy {config.strategy} is TensorFlow's; Keras runs on {keras.backend.backend()} here "
                "(KERAS_BACKEND): unset KERAS_BACKEND or use --strategy default"
            )
        return _OneDevice()
    import tensorflow as tf

    if config.strategy == "multi_worker":
        if _multi_worker_strategy is None:
            cluster_worker()  # a missing or bad TF_CONFIG is the user's to fix, in one line
            from tensorflow.python.eager import context

            if context.context()._context_handle is not None:
                # Collective ops must be configured before the eager context starts, and importing `models` starts
                # it (its quiet device probe runs an op). Nothing made in that context is kept (this runs before
                # data, models or seeds), so a fresh one is started for the strategy.
                context._reset_context()
            try:
                _multi_worker_strategy = tf.distribute.MultiWorkerMirroredStrategy()
            except RuntimeError as error:
                raise UsageError(
                    f"--strategy multi_worker must start before TensorFlow runs anything in this process ({error}); "
                    "run the command afresh"
                ) from None
        _average_scalar_logs_across_workers()
        return _multi_worker_strategy
    if config.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _average_scalar_logs_across_workers() -> None:
    """Keras averages each training step's logs across workers along their batch axis, which scalars (the loss,
    every metric) lack, so its multi-worker training fails at the first step; they are averaged as values here."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "averages_scalars", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not trainer._collective_all_reduce_multi_worker(strategy):
            return original(values, strategy, reduction)

        def average(value):
            scalar = isinstance(value, tf.Tensor) and value.shape.rank == 0
            return strategy.reduce("MEAN", value, axis=None if scalar else 0)

        return keras.tree.map_structure(average, values)

    reduce_per_replica.averages_scalars = True
    trainer.reduce_per_replica = reduce_per_replica


def multi_worker(config: RunConfig) -> Worker | None:
    """This process's worker when `config` trains across machines, else None (one process trains alone)."""
    return cluster_worker() if config.strategy == "multi_worker" and on_tensorflow() else None


def _all_reduce_sum(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The sums over every worker of each array (float64, one all-reduce); every worker must call it."""
    import tensorflow as tf

    strategy = _multi_worker_strategy
    if not arrays:
        return []
    sizes = [array.size for array in arrays]
    flat = np.concatenate([np.asarray(array, np.float64).reshape(-1) for array in arrays])
    total = _sum_over_workers(strategy, tf.constant(flat)).numpy()
    pieces = np.split(total, np.cumsum(sizes)[:-1])
    return [piece.reshape(np.shape(array)) for piece, array in zip(pieces, arrays, strict=True)]


_summing_functions: dict = {}


def _sum_over_workers(strategy, values):
    """One traced all-reduce per strategy (eager collectives are slow, and TensorFlow warns at every one)."""
    import tensorflow as tf

    if id(strategy) not in _summing_functions:

        @tf.function(reduce_retracing=True)
        def total(local_values):
            local = strategy.run(tf.identity, args=(local_values,))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, local, axis=None)

        _summing_functions[id(strategy)] = total
    return _summing_functions[id(strategy)](values)


def share_from_chief(worker: Worker, value: Any = None) -> Any:
    """The chief's `value` (anything JSON holds) on every worker: each worker calls it at the same point, and what
    the others pass is ignored. Through an all-reduce in which the other workers add zeros."""
    data = json.dumps(value, default=runs.jsonable).encode("utf-8") if worker.is_chief else b""
    (length,) = _all_reduce_sum([np.array([len(data)])])
    payload = np.frombuffer(data, np.uint8) if worker.is_chief else np.zeros(int(length[0]), np.uint8)
    (received,) = _all_reduce_sum([payload])
    return json.loads(received.astype(np.uint8).tobytes().decode("utf-8"))


def share_variables_from_chief(worker: Worker, variables: list) -> None:
    """Every worker's copy of `variables` (model, optimizer, random generators) set to the chief's."""
    values = [keras.ops.convert_to_numpy(variable) for variable in variables]
    summed = _all_reduce_sum([value if worker.is_chief else np.zeros_like(value) for value in values])
    for variable, value, total in zip(variables, values, summed, strict=True):
        variable.assign(total.astype(value.dtype))


def weights_digest(model: keras.Model) -> str:
    """A SHA-256 of the model's weights: workers that trained in step print the same one, as does their model.keras."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


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
    try:
        state = resume.start(run_dir, checkpoints, history_path, config)
    except UsageError as error:
        if worker is not None and worker.is_chief:
            share_from_chief(worker, {"error": str(error)})  # the other workers stop too, rather than wait for it
        raise
    if worker is not None:
        # Every worker resumes the chief's backup (a non-chief's own folder is temporary), with no shared disk.
        shared = share_from_chief(worker, {"state": state})
        if "error" in shared:
            raise UsageError(f"the chief cannot resume its run: {shared['error']}")
        state = shared["state"]
        if state is not None and not worker.is_chief:
            resume.restore_history(history_path, state["history"])
            (checkpoints / state["weights"]).mkdir(parents=True, exist_ok=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    done_epochs = state["epoch"] if state else 0
    seconds_before = float(state["history"][-1].get("seconds", 0.0)) if state and state["history"] else 0.0
    if isinstance(train, batches.EpochBatches) and "steps_per_epoch" in fit_kwargs:
        raise ValueError("EpochBatches set the number of batches an epoch themselves; leave steps_per_epoch out")

    finished = state is not None and (state["stopped"] or done_epochs >= config.epochs)
    if state is not None and worker is not None:
        _restore_from_chief(model, checkpoints, state, worker, config)
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
            train, validation = (_split_between_workers(data) for data in (train, validation))
    verbose = 1 if sys.stdout.isatty() else 0
    fit_kwargs.setdefault("shuffle", False)  # the data pipelines shuffle themselves
    scope = contextlib.nullcontext()
    if worker is not None:
        # Keras builds a model with its own strategy from a first batch averaged across replicas, which TensorFlow
        # cannot do for a batch of several tensors across workers. Without it, Keras builds in the traced training
        # step, under the strategy of the scope; evaluation after training then runs on each worker alone (every
        # worker holds the same weights).
        model._distribute_strategy = None
        scope = distribution_strategy(config).scope()
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


def _split_between_workers(data: Any) -> Any:
    """A tf.data pipeline whose every batch is split between the workers, each taking its share of the rows.

    TensorFlow's automatic sharding by file cannot apply to batches read by index from Python
    (`batches.as_tf_dataset`), so sharding is by element: each batch is cut into one piece per worker, and each
    worker reads its own. Every batch stays a function of (seed, epoch, batch), so a resumed run repeats it.
    """
    import tensorflow as tf

    if not isinstance(data, tf.data.Dataset):
        return data
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


def _resumable_variables(model: keras.Model) -> list:
    """The variables a backup holds: the model's (weights and random generators) and the optimizer's."""
    found = {id(variable): variable for variable in model.variables}
    if model.optimizer is not None:
        found.update((id(variable), variable) for variable in model.optimizer.variables)
    return list(found.values())


def _restore_from_chief(
    model: keras.Model, checkpoints: Path, state: dict[str, Any], worker: Worker, config: RunConfig
) -> None:
    """Every worker gets the chief's backup: its best weights (written into each worker's own backup folder, where
    `fit` reads them at the end) and then its latest model, optimizer and random generators."""
    if model.optimizer is not None and not model.optimizer.built:
        with distribution_strategy(config).scope():  # its slots must be the strategy's variables, like the model's
            model.optimizer.build(model.trainable_variables)
    folder = checkpoints / state["weights"]
    best = folder / resume.BEST_WEIGHTS
    if share_from_chief(worker, best.is_file()):
        if worker.is_chief:
            resume.restore_weights(model, best)
        share_variables_from_chief(worker, _resumable_variables(model))
        if not worker.is_chief:
            model.save_weights(str(best))
    if worker.is_chief:
        resume.restore_model(model, checkpoints, state)
    share_variables_from_chief(worker, _resumable_variables(model))


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
        print(f"{worker} of {worker.count} workers: weights sha256 {weights_digest(model)}", flush=True)
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
