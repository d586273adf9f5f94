"""The files of a run folder: atomic writes, config.json, metrics.json, showcase.json, and loading a finished run.

Every file is written to a temporary name beside its target and renamed into place, so a crash never leaves a
half-written model or JSON file. Which folder a run uses, and what may be written there, is `gallery.run_folders`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

import models  # noqa: F401  (registers the custom cells and layers before any model is loaded)
from gallery.config import RunConfig
from gallery.errors import UsageError
from gallery.statistics import wilson_interval

CONFIG = "config.json"
METRICS = "metrics.json"


def _temporary_beside(path: Path, suffix: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(handle)
    return Path(name)


def write_bytes(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    temporary = _temporary_beside(path)
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text(path: Path | str, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path | str, value: Any) -> Path:
    return write_text(path, json.dumps(value, indent=2, sort_keys=False, default=jsonable) + "\n")


def jsonable(value):
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def save_model(model: keras.Model, path: Path | str) -> Path:
    """model.keras, written atomically."""
    path = Path(path)
    temporary = _temporary_beside(path, suffix=".keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def save_figure(figure, path: Path | str, **kwargs) -> Path:
    """A matplotlib figure as PNG, written atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    path = Path(path)
    temporary = _temporary_beside(path)
    try:
        figure.savefig(temporary, format=path.suffix.lstrip(".") or "png", **kwargs)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        plt.close(figure)
    return path


def write_config(run_dir: Path, config: RunConfig) -> Path:
    return write_json(run_dir / "config.json", config.to_dict())


def write_metrics(
    run_dir: Path,
    *,
    primary_name: str,
    primary_value: float,
    higher_is_better: bool,
    parameters: int,
    train_seconds: float,
    primary_count: int | None = None,
    **metrics: Any,
) -> dict[str, Any]:
    """metrics.json with the `primary` entry every application shares, plus the app's own metrics.

    `primary_count`: the test items a share-of-items figure (an accuracy) was measured on; the entry then also
    holds them and the figure's 95% Wilson interval, so a small test set's figure carries its uncertainty.
    """
    primary = {"name": primary_name, "value": float(primary_value), "higher_is_better": bool(higher_is_better)}
    if primary_count:
        successes = round(float(primary_value) * primary_count)
        primary.update(count=int(primary_count), interval95=list(wilson_interval(successes, int(primary_count))))
    payload = {
        "primary": primary,
        "parameters": int(parameters),
        "train_seconds": float(train_seconds),
        **metrics,
    }
    write_json(run_dir / "metrics.json", payload)
    return payload


@dataclass
class Showcase:
    """What a person wants to see or hear from a run, for the gallery page (paths relative to the run folder).

    `texts` are (title, text); `images`, `audio` and `links` are (relative path, caption); `tables` are
    {"title": ..., "columns": [...], "rows": [[...], ...]}.
    """

    texts: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)
    audio: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)


def write_showcase(
    run_dir: Path,
    *,
    texts: list[tuple[str, str]] = (),
    images: list[tuple[str, str]] = (),
    audio: list[tuple[str, str]] = (),
    links: list[tuple[str, str]] = (),
    tables: list[dict[str, Any]] = (),
) -> Path:
    """showcase.json (see `Showcase`); every file it names must already be in the run folder."""
    for relative, _ in [*images, *audio, *links]:
        if not (run_dir / relative).is_file():
            raise FileNotFoundError(f"showcase names {relative}, which is not in {run_dir}")
    payload = {
        "texts": [{"title": title, "text": text} for title, text in texts],
        "images": [{"path": path, "caption": caption} for path, caption in images],
        "audio": [{"path": path, "caption": caption} for path, caption in audio],
        "links": [{"path": path, "caption": caption} for path, caption in links],
        "tables": list(tables),
    }
    return write_json(run_dir / "showcase.json", payload)


def _register_layers_of(app: str) -> None:
    """Import a gallery application's package, which registers the layers only it uses, before its model loads."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"gallery.{app}") is not None:
        importlib.import_module(f"gallery.{app}")


@dataclass
class LoadedRun:
    """A finished run read back: its folder, config, model and metrics."""

    run_dir: Path
    config: dict[str, Any]
    model: keras.Model
    metrics: dict[str, Any]

    def path(self, name: str) -> Path:
        return self.run_dir / name

    def read_json(self, name: str) -> Any:
        """A JSON file of the run; a missing or damaged one is a user error, not a traceback."""
        return read_run_json(self.run_dir / name)


def read_run_json(path: Path) -> Any:
    if not path.is_file():
        raise UsageError(f"{path} is missing: the run folder is incomplete; train the run again")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path} is not valid JSON ({error}); train the run again") from None


def load_run(run_dir: Path | str, app: str, command: str | None = None) -> LoadedRun:
    """The model and files of a finished run of `app`, checked, in a fresh process. Loads with safe_mode=True.

    `command` is how the app is run, for the hints in error messages (default `python -m gallery.<app>`).
    """
    run_dir = Path(run_dir)
    train_hint = f"train one with: {command or f'python -m gallery.{app}'} --out {run_dir}"
    if not run_dir.is_dir():
        raise UsageError(f"run folder {run_dir} does not exist; {train_hint}")
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise UsageError(f"{run_dir} is not a run folder (no config.json); {train_hint}")
    config = read_run_json(config_path)
    if config.get("app") != app:
        raise UsageError(f"{run_dir} is a {config.get('app') or 'unknown'} run, not a {app} run; {train_hint}")
    _register_layers_of(app)
    model_path = run_dir / "model.keras"
    if not model_path.is_file() or not (run_dir / "metrics.json").is_file():
        raise UsageError(
            f"{run_dir} holds no finished model: training did not finish; run the training command again to resume"
        )
    try:
        model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise UsageError(f"{model_path} could not be loaded ({type(error).__name__}); train the run again") from None
    metrics = read_run_json(run_dir / "metrics.json")
    return LoadedRun(run_dir, config, model, metrics)
