"""The comparison grid: apps x architectures x repeats, each trained through the app's own `App.run(config)`.

Every combination trains into its own run folder, <out>/<app>/<architecture>-<units>u-seed<seed>; a folder with
metrics.json is a finished run and is read back instead of trained again, and an interrupted one resumes from
its last epoch (training.fit's BackupAndRestore). After every combination the results files are rewritten, so
an interrupted grid still leaves a table of what finished.

Fairness: by default each app trains for its preset's epochs with its own early stopping and no time budget
(equal epochs). With `budget_seconds` every architecture trains for the same wall-clock time instead: early
stopping is switched off and the epoch limit lifted, and training stops at the first epoch end past the budget.
Throughput (training steps per second) is measured by a callback that compare adds to the app's `training.fit`
call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from gallery import runs, training
from gallery.cli import App
from gallery.config import RunConfig
from gallery.errors import UsageError

NO_RECURRENCE = "none"
BUDGET_EPOCHS = 10_000
THROUGHPUT = "throughput.json"


@dataclass(frozen=True)
class Architecture:
    """A column of the table: cell (with the vanilla cell's activation), depth and direction."""

    cell: str
    activation: str = "tanh"
    layers: int = 1
    bidirectional: bool = False

    @property
    def label(self) -> str:
        cell = self.cell if self.cell != "rnn" or self.activation == "tanh" else f"rnn-{self.activation}"
        return f"{cell}-{self.layers}L" + ("-bi" if self.bidirectional else "")


def architectures(
    cells: Sequence[str],
    activations: Sequence[str] = ("tanh",),
    layers: Sequence[int] = (1,),
    bidirectional: Sequence[bool] = (False,),
) -> list[Architecture]:
    """The grid's columns; activations other than tanh apply to the vanilla cell only."""
    columns = []
    for depth in layers:
        for both_ways in bidirectional:
            for cell in cells:
                for activation in activations if cell == "rnn" else ("tanh",):
                    columns.append(Architecture(cell, activation, depth, both_ways))
    return list(dict.fromkeys(columns))


@dataclass
class GridSettings:
    """The whole comparison: which apps and architectures, how big, how long, how often."""

    apps: tuple[str, ...]
    architectures: tuple[Architecture, ...]
    preset: str = "demo"
    repeats: int = 1
    seed: int = 0
    match_params: int | None = None
    budget_seconds: float | None = None
    epochs: int | None = None
    out: Path = field(default_factory=lambda: Path("runs/compare/demo"))

    def fairness(self) -> str:
        if self.budget_seconds:
            return (
                f"equal wall-clock time: every run trains for {self.budget_seconds:g} s (stopping at the first epoch "
                "end past it; no early stopping)"
            )
        if self.epochs:
            return f"equal epochs: every run trains for at most {self.epochs} epochs, with each app's early stopping"
        return (
            f"equal epochs: each app's {self.preset}-preset epoch count, with its own early stopping and no time budget"
        )

    def sizing(self) -> str:
        if self.match_params:
            return f"units chosen per app and cell so that the parameter count is within 5% of {self.match_params:,}"
        return f"each app's {self.preset}-preset units for every cell (parameter counts differ)"

    def fixed(self) -> dict[str, Any]:
        """The settings every finished run in the folder was trained under; apps and cells may grow."""
        return {
            "preset": self.preset,
            "match_params": self.match_params,
            "budget_seconds": self.budget_seconds,
            "epochs": self.epochs,
        }


class StepTimer(keras.callbacks.Callback):
    """Counts training steps and times them, leaving out the first step (graph tracing) and validation."""

    def __init__(self):
        super().__init__()
        self.steps = 0
        self.timed_steps = 0
        self.timed_seconds = 0.0
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        self._mark = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.steps += 1
        if self._first:
            self._first = False
        else:
            self.timed_steps += 1
            self.timed_seconds += now - self._mark
        self._mark = now

    def summary(self) -> dict[str, Any]:
        rate = self.timed_steps / self.timed_seconds if self.timed_seconds > 0 else None
        return {
            "steps": self.steps,
            "timed_steps": self.timed_steps,
            "timed_seconds": self.timed_seconds,
            "steps_per_second": rate,
        }


@contextlib.contextmanager
def timed_fit(timer: StepTimer) -> Iterator[None]:
    """While active, every `training.fit` call also runs `timer` among its callbacks."""
    original = training.fit

    def fit(*args, callbacks=None, **kwargs):
        return original(*args, callbacks=[*(callbacks or []), timer], **kwargs)

    training.fit = fit
    try:
        yield
    finally:
        training.fit = original


def base_config(app: App, architecture: Architecture, settings: GridSettings, **extra: Any) -> RunConfig:
    """The app's preset config for one architecture under the grid's fairness rule (UsageError if it refuses)."""
    overrides: dict[str, Any] = {
        "cell": architecture.cell,
        "activation": architecture.activation,
        "layers": architecture.layers,
        "bidirectional": architecture.bidirectional,
        **extra,
    }
    if settings.epochs:
        overrides["epochs"] = settings.epochs
    if settings.budget_seconds:
        overrides["budget_seconds"] = settings.budget_seconds
        overrides["epochs"] = settings.epochs or BUDGET_EPOCHS
        overrides["patience"] = overrides["epochs"]
    else:
        # Equal epochs means no time box: a budget an app's config sets by default would give a slower
        # architecture fewer epochs.
        overrides["budget_seconds"] = 0.0
    try:
        return app.config.from_preset(settings.preset, **overrides)
    except UsageError as error:
        if architecture.cell == NO_RECURRENCE and "--cell" in str(error):
            raise UsageError(f"{app.name} does not accept --cell none (no recurrence) yet: {error}") from None
        raise


def run_folder(settings: GridSettings, app_name: str, architecture: Architecture, units: int, seed: int) -> Path:
    return Path(settings.out) / app_name / f"{architecture.label}-{units}u-seed{seed}"


def resolve_units(app: App, architecture: Architecture, settings: GridSettings) -> dict[str, Any]:
    """{"units": ..., "predicted_parameters": ...} or {"error": ...}; cached in <out>/units.json across runs."""
    from gallery.compare.params import ParameterMatchError, count_parameters, match_units

    cache_path = Path(settings.out) / "units.json"
    cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.is_file() else {}
    key = f"{app.name}|{architecture.label}|{settings.preset}|{settings.match_params}"
    if key in cache:
        return cache[key]
    try:
        config = base_config(app, architecture, settings)
        if settings.match_params:
            print(f"matching {app.name} {architecture.label} to {settings.match_params:,} parameters ...", flush=True)
            units, count = match_units(
                lambda units: count_parameters(app, dataclasses.replace(config, units=units)), settings.match_params
            )
            entry: dict[str, Any] = {"units": units, "predicted_parameters": count}
        else:
            entry = {"units": config.units}
    except (UsageError, ParameterMatchError) as error:
        entry = {"error": str(error)}
    if settings.match_params:
        cache[key] = entry
        runs.write_json(cache_path, cache)
    return entry


def finished_record(record: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The record of a finished run, read from its folder (metrics.json, history.csv, throughput.json)."""
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    history = training.read_history(run_dir / training.HISTORY)
    throughput = run_dir / THROUGHPUT
    speed = json.loads(throughput.read_text(encoding="utf-8")) if throughput.is_file() else {}
    primary = metrics.get("primary", {})
    return {
        **record,
        "status": "finished",
        "metric": primary.get("name"),
        "value": primary.get("value"),
        "higher_is_better": primary.get("higher_is_better"),
        "parameters": metrics.get("parameters"),
        "train_seconds": metrics.get("train_seconds"),
        "epochs": len(history.get("epoch", [])),
        "steps": speed.get("steps"),
        "steps_per_second": speed.get("steps_per_second"),
    }


def run_grid(
    settings: GridSettings,
    load_app: Callable[[str], App] | None = None,
    on_record: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train every combination not finished yet; returns one record per (app, architecture, repeat)."""
    if load_app is None:
        from gallery.apps import load as load_app
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    grid_path = out / "grid.json"
    if grid_path.is_file():
        earlier = json.loads(grid_path.read_text(encoding="utf-8"))
        if earlier != settings.fixed():
            fixed = settings.fixed()
            changed = ", ".join(f"{k} {earlier.get(k)} -> {v}" for k, v in fixed.items() if earlier.get(k) != v)
            raise UsageError(f"{out} holds a comparison run with other settings ({changed}); use another --out")
    runs.write_json(grid_path, settings.fixed())

    records: list[dict[str, Any]] = []
    total = len(settings.apps) * len(settings.architectures) * settings.repeats
    number = 0
    for app_name in settings.apps:
        app = load_app(app_name)
        for architecture in settings.architectures:
            resolved = resolve_units(app, architecture, settings)
            for repeat in range(settings.repeats):
                number += 1
                seed = settings.seed + repeat
                record: dict[str, Any] = {
                    "app": app_name,
                    "architecture": architecture.label,
                    "cell": architecture.cell,
                    "activation": architecture.activation,
                    "layers": architecture.layers,
                    "bidirectional": architecture.bidirectional,
                    "units": resolved.get("units"),
                    "seed": seed,
                }
                heading = f"[{number}/{total}] {app_name} {architecture.label} seed {seed}"
                if "error" in resolved:
                    records.append({**record, "status": "not applicable", "message": resolved["error"]})
                    print(f"{heading}: not applicable: {resolved['error']}", flush=True)
                else:
                    records.append(_run_one(app, architecture, settings, record, heading))
                if on_record is not None:
                    on_record(records)
    return records


def _run_one(
    app: App, architecture: Architecture, settings: GridSettings, record: dict[str, Any], heading: str
) -> dict[str, Any]:
    run_dir = run_folder(settings, app.name, architecture, record["units"], record["seed"])
    record = {**record, "run_dir": str(run_dir)}
    if (run_dir / "metrics.json").is_file():
        print(f"{heading}: finished earlier, kept ({run_dir})", flush=True)
        return finished_record(record, run_dir)
    try:
        config = base_config(app, architecture, settings, units=record["units"], seed=record["seed"], out=str(run_dir))
    except UsageError as error:
        print(f"{heading}: not applicable: {error}", flush=True)
        return {**record, "status": "not applicable", "message": str(error)}
    print(f"{heading}: training into {run_dir}", flush=True)
    keras.utils.clear_session()
    timer = StepTimer()
    try:
        with timed_fit(timer):
            app.run(config)
    except UsageError as error:
        print(f"{heading}: not applicable: {error}", flush=True)
        return {**record, "status": "not applicable", "message": str(error)}
    except Exception as error:  # noqa: BLE001  (one broken combination must not lose the rest of the grid)
        traceback.print_exc(file=sys.stderr)
        print(f"{heading}: FAILED: {type(error).__name__}: {error}", flush=True)
        return {**record, "status": "failed", "message": f"{type(error).__name__}: {error}"}
    runs.write_json(run_dir / THROUGHPUT, timer.summary())
    return finished_record(record, run_dir)
