"""A finished run used from Python in a fresh process: `load_run(folder)` gives its model and a `predict` call.

    from gallery import load_run

    run = load_run("runs/keywords/lstm-2x64-demo")
    run.predict(waveforms)          # each app's own call: probabilities, text, translations, captions, answers, music
    run.model, run.config, run.metrics

The app is read from the run's config.json; its package is imported first, which registers every layer its model
uses, and the model loads with `safe_mode=True` and without its training objects (optimizer, loss, metrics).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from gallery import runs
from gallery.errors import UsageError


class TrainedRun:
    """A finished run: `model`, `config`, `metrics`, `run_dir`; each app's subclass adds what `predict` needs."""

    def __init__(self, loaded: runs.LoadedRun):
        self.loaded = loaded
        self.run_dir: Path = loaded.run_dir
        self.model = loaded.model
        self.config: dict[str, Any] = loaded.config
        self.metrics: dict[str, Any] = loaded.metrics

    @classmethod
    def locate(cls, run_dir: Path, config: dict[str, Any]) -> Path:
        """The folder that holds the model: `run_dir` itself, unless an app's run folder holds several runs."""
        return run_dir

    def predict(self, *args, **kwargs):
        raise NotImplementedError(f"the {self.config.get('app')} app has no predict call; use run.model")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.get('app')} run at {self.run_dir}>"


def application_of(run_dir: Path | str, config: dict[str, Any]):
    """The `App` that trained the run in `run_dir` (from its config), its package imported, which registers its
    layers."""
    app = config.get("app")
    if not isinstance(app, str) or not app.isidentifier():
        raise UsageError(f"{run_dir / 'config.json'} names no application; give the folder a training run wrote")
    # Gallery apps live in gallery/; apps made by `python -m gallery new` are top-level packages of their own.
    for package in (f"gallery.{app}", app):
        if importlib.util.find_spec(package) is not None:
            module = importlib.import_module(package)
            if hasattr(module, "APP"):
                return module.APP
    raise UsageError(f"{run_dir} is a run of {app!r}, which is not installed here; install its package first")


def load_run(run_dir: Path | str) -> TrainedRun:
    """The finished run in `run_dir`, ready to predict; a folder that is not one is a UsageError saying why."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist; give the folder a training run wrote")
    config = runs.read_run_json(run_dir / "config.json")
    application = application_of(run_dir, config)
    trained = application.trained or TrainedRun
    loaded = runs.load_run(trained.locate(run_dir, config), application.name, command=application.prog)
    return trained(loaded)
