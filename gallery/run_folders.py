"""Run folders: which folder a run lives in, and the gate before it writes anything there.

A run writes config.json (naming its app) before it trains, so a folder with it is a run folder; metrics.json is
written last, so a folder with it is a finished run. `open_run_directory` refuses a folder it did not write and a
run of another configuration (unless `--overwrite`), reports a finished run of the same configuration instead of
training it again, and lets an unfinished one resume.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gallery import runs
from gallery.config import RunConfig
from gallery.errors import UsageError
from gallery.runs import CONFIG, METRICS, jsonable, read_run_json

RUNS_ROOT = Path("runs")

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
    current = json.loads(json.dumps(config.to_dict(), default=jsonable))
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
        runs.write_config(path, config)
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
    return read_run_json(path / METRICS)
