"""Run folders: where a run lives, atomic writes, metrics.json, and loading a trained run in a fresh process.

Every file is written to a temporary name beside its target and renamed into place, so a crash never leaves a
half-written model or JSON file. A run writes config.json (naming its app) before it trains, so a folder with it is a
run folder; metrics.json is written last, so a folder with it is a finished run. `open_run_directory` is the one
gate before a run writes anything: it refuses a folder it did not write and a run of another configuration (unless
`--overwrite`), reports a finished run of the same configuration instead of training it again, and lets an
unfinished one resume.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

import models  # noqa: F401  (registers the custom cells and layers before any model is loaded)
from gallery.config import RunConfig
from gallery.errors import UsageError

RUNS_ROOT = Path("runs")
CONFIG = "config.json"
METRICS = "metrics.json"

# What a failed write says when the disk, the permissions or the path are at fault, not the program.
WRITE_FAILURES = (
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENAMETOOLONG,
)


def read_run_config(path: Path | str) -> dict[str, Any] | None:
    """The config.json of a run folder, or None when `path` is not one (no readable config.json naming an app)."""
    try:
        value = json.loads((Path(path) / CONFIG).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) and value.get("app") else None


def configuration_differences(stored: dict[str, Any], config: RunConfig) -> list[str]:
    """How the run stored in a config.json differs from `config` (empty: the same run), one phrase per field.

    Fields in `NOT_COMPARED` are left out; a field the stored run predates counts as its default, one this version
    no longer has is ignored (as `RunConfig.from_dict` reads them).
    """
    if stored.get("app") != config.APP:
        return [f"a {stored.get('app')} run, not a {config.APP} run"]
    current = json.loads(json.dumps(config.to_dict(), default=_jsonable))
    defaults = {spec.name: spec.default for spec in dataclasses.fields(config)}
    differences = []
    for name in config.compared_fields():
        there = stored.get(name, defaults[name])
        if there != current[name]:
            flag = "--" + name.replace("_", "-")
            differences.append(f"{flag} {json.dumps(there)} there, {json.dumps(current[name])} here")
    return differences


def _numbered_versions(base: Path) -> list[Path]:
    """The folders base, base-2, base-3, ... that exist, in that order."""
    if not base.parent.is_dir():
        return []
    pattern = re.compile(re.escape(base.name) + r"(?:-(\d+))?")
    found = []
    for entry in base.parent.iterdir():
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir():
            found.append((int(match.group(1) or 1), entry))
    return [entry for _, entry in sorted(found)]


def _is_empty_folder(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def run_directory(config: RunConfig) -> Path:
    """`--out` if given, else the default folder of this configuration: the same command finds the same folder.

    The default is runs/<app>/<architecture>-<preset>; when that folder holds anything but this configuration's run
    (a finished run of other settings, say), the run goes to the first of ...-2, ...-3, ... that is free, and the
    same command later finds it there. A default folder never replaces another configuration's run.
    """
    if config.out:
        return Path(config.out)
    base = RUNS_ROOT / config.APP / f"{config.architecture()}-{config.preset}"
    for folder in _numbered_versions(base):
        stored = read_run_config(folder)
        if stored is not None and not configuration_differences(stored, config):
            return folder
    number = 1
    while True:
        candidate = base if number == 1 else base.with_name(f"{base.name}-{number}")
        if not candidate.exists() or _is_empty_folder(candidate):
            return candidate
        number += 1


@dataclass
class RunDirectory:
    """The folder a run writes into, checked and holding its config.json; `finished`: nothing is left to train."""

    path: Path
    finished: bool
    created: list[Path] = field(default_factory=list)  # folders made for it, outermost first

    def release_if_untouched(self) -> None:
        """Take back config.json and the folders made for this run if training wrote nothing (a bad --data, say)."""
        if not self.path.is_dir() or sorted(entry.name for entry in self.path.iterdir()) not in ([], [CONFIG]):
            return
        (self.path / CONFIG).unlink(missing_ok=True)
        for folder in reversed(self.created):
            if _is_empty_folder(folder):
                folder.rmdir()


def write_failure(path: Path | str, error: OSError) -> str | None:
    """One line saying which write failed and why, if `error` is the disk's, the permissions' or the path's fault."""
    codes = {error.errno} | {code for code in WRITE_FAILURES if os.strerror(code) in str(error)}
    if not codes & set(WRITE_FAILURES):
        return None
    reason = " ".join(str(error.strerror or error).split())  # one line, whatever the library wrote
    return f"cannot write {error.filename or path}: {reason}"


def open_run_directory(config: RunConfig) -> RunDirectory:
    """Check the run folder and claim it before anything is trained; UsageError, with nothing written, if refused.

    A folder that is new or empty gets config.json; one holding this configuration's run is finished (returned as
    such unless `config.overwrite`) or resumes; one holding a run of another app or configuration is refused unless
    `config.overwrite`, which empties it first; one holding anything else (not a run folder) is always refused.
    """
    path = run_directory(config)
    try:
        return _claim(path, config)
    except OSError as error:
        raise UsageError(write_failure(path, error) or f"cannot use {path} as a run folder: {error}") from None


def _claim(path: Path, config: RunConfig) -> RunDirectory:
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file, not a folder; choose a new or empty folder for --out")
    entries = sorted(entry.name for entry in path.iterdir()) if path.is_dir() else []
    stored = read_run_config(path) if entries else None
    # A folder holding nothing but a run's config.json never trained anything (that run stopped before training
    # wrote a file): there is nothing in it to lose, so any run may start there.
    if entries and not (entries == [CONFIG] and stored is not None):
        if stored is None:
            raise UsageError(
                f"{path} is not empty and is not a run folder (no config.json naming an app); nothing was written: "
                "choose a new or empty folder for --out"
            )
        refusal = "nothing was written: choose another --out, or add --overwrite to replace that run"
        if stored["app"] != config.APP and not config.overwrite:
            raise UsageError(f"{path} holds a {stored['app']} run, not a {config.APP} run; {refusal}")
        differences = configuration_differences(stored, config)
        if differences and not config.overwrite:
            shown = "; ".join(differences[:3]) + (f"; {len(differences) - 3} more" if len(differences) > 3 else "")
            raise UsageError(f"{path} holds a run of another configuration ({shown}); {refusal}")
        if config.overwrite or differences:
            _empty(path)
        elif (path / METRICS).is_file():
            return RunDirectory(path, finished=True)
        # else: this configuration's unfinished run, which training resumes
    created = _make_folders(path)
    claimed = RunDirectory(path, finished=False, created=created)
    try:
        write_config(path, config)
    except OSError:
        claimed.release_if_untouched()  # config.json was written atomically or not at all: only folders remain
        raise
    return claimed


def _make_folders(path: Path) -> list[Path]:
    """mkdir -p, returning the folders it created, outermost first (to take back if the run cannot start)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _empty(path: Path) -> None:
    """Remove everything in a run folder that --overwrite replaces (links are removed, never followed)."""
    for entry in path.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def read_finished_metrics(path: Path) -> dict[str, Any]:
    """metrics.json of a finished run; a damaged one is a user error."""
    return _read_run_json(path / METRICS)


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
    return write_text(path, json.dumps(value, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(value):
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
    **metrics: Any,
) -> dict[str, Any]:
    """metrics.json with the `primary` entry every application shares, plus the app's own metrics."""
    payload = {
        "primary": {"name": primary_name, "value": float(primary_value), "higher_is_better": bool(higher_is_better)},
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
        return _read_run_json(self.run_dir / name)


def _read_run_json(path: Path) -> Any:
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
    config = _read_run_json(config_path)
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
    metrics = _read_run_json(run_dir / "metrics.json")
    return LoadedRun(run_dir, config, model, metrics)
