"""Training across machines (--strategy multi_worker): TF_CONFIG, the strategy and what the chief shares.

`cluster_worker` reads this process's place in the cluster from TF_CONFIG (a `Worker`); `multi_worker_strategy`
makes TensorFlow's MultiWorkerMirroredStrategy, with Keras's averaging of training logs made to work across
workers; `share_from_chief` and `share_variables_from_chief` give every worker the chief's values through an
all-reduce (the workers share no disk); and `training.fit` calls `resume_state_from_chief`, `restore_from_chief`,
`split_between_workers` and `training_scope` so that every worker resumes the chief's backup and trains in step.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from gallery import resume, runs
from gallery.config import RunConfig
from gallery.errors import UsageError

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


_strategy = None  # TensorFlow allows one per process, created before any other operation


def multi_worker_strategy():
    """The MultiWorkerMirroredStrategy over the machines TF_CONFIG names: created on first use, then the same one.

    It must come before TensorFlow runs any operation in this process (`models` runs none at import when TF_CONFIG
    is set); a UsageError otherwise.
    """
    global _strategy
    if _strategy is None:
        import tensorflow as tf

        cluster_worker()  # a missing or bad TF_CONFIG is the user's to fix, in one line
        try:
            _strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as error:
            raise UsageError(
                f"--strategy multi_worker must start before TensorFlow runs anything in this process ({error}); "
                "run the command afresh"
            ) from None
    _average_scalar_logs_across_workers()
    return _strategy


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


def _all_reduce_sum(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The sums over every worker of each array (float64, one all-reduce); every worker must call it."""
    import tensorflow as tf

    if not arrays:
        return []
    sizes = [array.size for array in arrays]
    flat = np.concatenate([np.asarray(array, np.float64).reshape(-1) for array in arrays])
    total = _sum_over_workers(_strategy, tf.constant(flat)).numpy()
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


def print_weights_digest(worker: Worker, model: keras.Model) -> None:
    """The line by which the workers of a finished run can be checked to hold the same weights."""
    print(f"{worker} of {worker.count} workers: weights sha256 {weights_digest(model)}", flush=True)


def resume_state_from_chief(
    worker: Worker, run_dir: Path, checkpoints: Path, history_path: Path, config: RunConfig
) -> dict[str, Any] | None:
    """The chief's `resume.start` state on every worker.

    A non-chief's own folder is temporary, so it takes the chief's history and backup folder name; a chief that
    cannot resume tells the others, which stop too rather than wait for it.
    """
    try:
        state = resume.start(run_dir, checkpoints, history_path, config)
    except UsageError as error:
        if worker.is_chief:
            share_from_chief(worker, {"error": str(error)})
        raise
    shared = share_from_chief(worker, {"state": state})
    if "error" in shared:
        raise UsageError(f"the chief cannot resume its run: {shared['error']}")
    state = shared["state"]
    if state is not None and not worker.is_chief:
        resume.restore_history(history_path, state["history"])
        (checkpoints / state["weights"]).mkdir(parents=True, exist_ok=True)
    return state


def _resumable_variables(model: keras.Model) -> list:
    """The variables a backup holds: the model's (weights and random generators) and the optimizer's."""
    found = {id(variable): variable for variable in model.variables}
    if model.optimizer is not None:
        found.update((id(variable), variable) for variable in model.optimizer.variables)
    return list(found.values())


def restore_from_chief(model: keras.Model, checkpoints: Path, state: dict[str, Any], worker: Worker) -> None:
    """Every worker gets the chief's backup: its best weights (written into each worker's own backup folder, where
    `fit` reads them at the end) and then its latest model, optimizer and random generators."""
    if model.optimizer is not None and not model.optimizer.built:
        with multi_worker_strategy().scope():  # its slots must be the strategy's variables, like the model's
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


def split_between_workers(data: Any) -> Any:
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


def training_scope(model: keras.Model):
    """The scope `model.fit` runs in on a worker.

    Keras builds a model with its own strategy from a first batch averaged across replicas, which TensorFlow cannot
    do for a batch of several tensors across workers. Without it, Keras builds in the traced training step, under
    the strategy of the scope; evaluation after training then runs on each worker alone (every worker holds the
    same weights).
    """
    model._distribute_strategy = None
    return multi_worker_strategy().scope()
