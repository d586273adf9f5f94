"""Runs an application's training command in this process and kills the process with SIGKILL at a chosen moment.

    python tests/gallery/resume_child.py KILL_AT APP [FLAGS...]

KILL_AT is one of
    batch:E:B      during training: after batch B of epoch E (both counted from 0)
    backup:E       while epoch E's backup is written: half its weights file written, state.json not yet
    state:E        while epoch E's backup is written: its weights folder complete, state.json half written
    run-folder     after training, while the run folder is written: model.keras written, metrics.json not yet

The test that starts it (test_resume.py) then runs the same command again and compares with an uninterrupted run.
A kill that never comes (the moment is never reached) exits with status 3, so the test cannot pass by accident.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import keras

from gallery import apps, cli, resume, runs, training


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class KillDuringEpoch(keras.callbacks.Callback):
    def __init__(self, epoch: int, batch: int):
        super().__init__()
        self.kill_epoch, self.kill_batch, self.epoch = epoch, batch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == (self.kill_epoch, self.kill_batch):
            die()


def install(kill_at: str) -> None:
    kind, *numbers = kill_at.split(":")
    numbers = [int(number) for number in numbers]
    if kind == "batch":
        original_fit = training.fit

        def fit(*args, callbacks=None, **kwargs):
            return original_fit(*args, callbacks=[*(callbacks or []), KillDuringEpoch(*numbers)], **kwargs)

        training.fit = fit
    elif kind == "backup":
        original_save = keras.Model.save_weights
        folder = f"epoch-{numbers[0] + 1:04d}"

        def save_weights(model, filepath, *args, **kwargs):
            original_save(model, filepath, *args, **kwargs)
            path = Path(filepath)
            if path.parent.name == folder and path.name == resume.LATEST_WEIGHTS:
                data = path.read_bytes()
                path.write_bytes(data[: len(data) // 2])
                die()

        keras.Model.save_weights = save_weights
    elif kind == "state":
        original_write_json = runs.write_json

        def write_json(path, value):
            path = Path(path)
            if path.name == resume.STATE and value.get("epoch") == numbers[0] + 1:
                # What the atomic write leaves when killed mid-way: half a temporary file beside state.json.
                text = json.dumps(value)
                (path.parent / f".{path.name}.killed.json").write_text(text[: len(text) // 2])
                die()
            return original_write_json(path, value)

        runs.write_json = write_json
    elif kind == "run-folder":
        original_write_metrics = runs.write_metrics

        def write_metrics(run_dir, **kwargs):
            die()
            return original_write_metrics(run_dir, **kwargs)

        runs.write_metrics = write_metrics
    else:
        raise SystemExit(f"unknown kill point {kill_at!r}")


def main(argv: list[str]) -> int:
    kill_at, app_name, *flags = argv
    install(kill_at)
    status = cli.run_cli(apps.load(app_name), flags)
    print(f"not killed: the run ended with status {status}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
