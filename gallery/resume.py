"""Exact resume: the backup a run writes after every epoch, and reading it back when the same command runs again.

Keras's BackupAndRestore saves the model and optimizer; a run that must end exactly where an uninterrupted one ends
also needs the dropout generators' state, early stopping's and the best checkpoint's bookkeeping, the schedule's
position and the history. `Backup` writes all of it, each epoch into a new folder named by an atomically written
state.json, so a kill at any moment leaves the last complete backup readable.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import keras

from gallery import runs
from gallery.config import RunConfig
from gallery.errors import UsageError

CHECKPOINTS = "checkpoints"
STATE = "state.json"  # in CHECKPOINTS: the last complete backup
LATEST_WEIGHTS = "latest.weights.h5"
BEST_WEIGHTS = "best.weights.h5"


class Resumable:
    """A callback whose state a resumed run must get back: `fit` saves `resume_state()` with every epoch's backup
    and hands it to `restore()` at the start of a resumed run (after the callback's own `on_train_begin`)."""

    def resume_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


def restore_history(path: Path, rows: list[dict[str, Any]]) -> None:
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


class EarlyStopping(keras.callbacks.EarlyStopping, Resumable):
    """Keras's early stopping with its wait counter and best value carried across a resume."""

    def resume_state(self) -> dict[str, Any]:
        return {"wait": self.wait, "best": _plain(self.best), "best_epoch": self.best_epoch}

    def restore(self, state: dict[str, Any]) -> None:
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]


class BestWeights(keras.callbacks.ModelCheckpoint, Resumable):
    """Keras's best-only weights checkpoint with its best value carried across a resume.

    It writes to a staging file; the backup of the epoch moves it into that epoch's folder, so a kill while it
    writes leaves the best weights of the last backed-up epoch untouched.
    """

    def resume_state(self) -> dict[str, Any]:
        return {"best": _plain(self.best)}

    def restore(self, state: dict[str, Any]) -> None:
        self.best = state["best"]


def random_state_variables(model: keras.Model) -> list:
    """The state of every random generator of the model's layers (dropout masks, noise), in a fixed order.

    They are not weights, so `save_weights` leaves them out: a resumed run would draw its first epoch's masks again.
    """
    return [variable for variable in model.variables if variable.name == "seed_generator_state"]


class Backup(keras.callbacks.BackupAndRestore):
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
                keras.ops.convert_to_numpy(variable).tolist() for variable in random_state_variables(self.model)
            ],
            "callbacks": {name: callback.resume_state() for name, callback in self.resumable.items()},
        }
        runs.write_json(self.checkpoints / STATE, state)
        self.state, self.folder = state, folder
        if previous is not None and previous != folder:
            shutil.rmtree(previous, ignore_errors=True)


def read_state(checkpoints: Path) -> dict[str, Any] | None:
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


def changed_flags(state: dict[str, Any], config: RunConfig) -> list[str]:
    """The flags whose values differ from those the backed-up run was started with (`--out` may move)."""
    before, now = state.get("config", {}), config.to_dict()
    return [
        "--" + key.replace("_", "-") for key in now if key not in ("out", "tensorboard") and before.get(key) != now[key]
    ]


def resume_point(run_dir: Path) -> int:
    """The epochs a run in `run_dir` has finished and backed up (0: the next run starts afresh)."""
    state = read_state(Path(run_dir) / CHECKPOINTS)
    return state["epoch"] if state else 0


def restore_weights(model: keras.Model, path: Path) -> None:
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(str(path))


def restore_model(model: keras.Model, checkpoints: Path, state: dict[str, Any]) -> None:
    """The backed-up weights, optimizer and random generators of the last complete backup, into the model."""
    restore_weights(model, checkpoints / state["weights"] / LATEST_WEIGHTS)
    for variable, value in zip(random_state_variables(model), state["random_state"], strict=True):
        variable.assign(value)


def start(run_dir: Path, checkpoints: Path, history_path: Path, config: RunConfig) -> dict[str, Any] | None:
    """The state to resume from, with the folder cleaned of what a killed run half wrote; None for a new run, whose
    folder is cleared of any earlier run's checkpoints, history and metrics."""
    state = read_state(checkpoints)
    if state is None:
        # A new run: nothing of an earlier run in this folder may leak into it.
        shutil.rmtree(checkpoints, ignore_errors=True)
        for stale in (history_path, run_dir / "metrics.json"):
            stale.unlink(missing_ok=True)
    else:
        # Whatever a killed run was writing when it died goes; the state names the last complete backup.
        changed = changed_flags(state, config)
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
        restore_history(history_path, state["history"])
    return state
