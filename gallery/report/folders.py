"""Reading a runs folder for the gallery page: every finished run and every compare run below it.

A run folder is any folder holding config.json (with "app") and metrics.json (written last, so only finished runs
count); a compare run is a folder holding results.json. Only their files are read, never a model.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gallery.errors import UsageError

COMPARE_MARKER = "results.json"
SKIPPED_FOLDERS = {"checkpoints", "tensorboard", "__pycache__"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


@dataclass
class RunFolder:
    """A finished run as the page sees it: its files read back, never its model."""

    path: Path
    app: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    showcase: dict[str, Any]
    finished_at: float
    inside_compare: bool = False


@dataclass
class CompareFolder:
    path: Path
    finished_at: float
    markdown: str = ""
    plots: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass
class Gallery:
    """What a runs folder holds: every finished run and every compare run, found once."""

    root: Path
    runs: list[RunFolder]
    compares: list[CompareFolder]

    def latest_by_app(self) -> dict[str, RunFolder]:
        """The newest run of each application, preferring runs the user made over those inside a compare grid."""
        latest: dict[str, RunFolder] = {}
        for run in sorted(self.runs, key=lambda r: (not r.inside_compare, r.finished_at)):
            latest[run.app] = run
        return latest


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def discover(root: Path | str) -> Gallery:
    """Every finished run and compare run below `root`."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"runs folder {root} does not exist; train something first, e.g. python -m gallery tour")
    runs: list[RunFolder] = []
    compares: list[CompareFolder] = []
    compare_roots: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS and not name.startswith("."))
        here = Path(folder)
        if COMPARE_MARKER in files:
            compare_roots.append(here)
            compares.append(_compare_folder(here))
        if "metrics.json" in files and "config.json" in files:
            run = _run_folder(here)
            if run is not None:
                runs.append(run)
    for run in runs:
        run.inside_compare = any(compare in run.path.parents for compare in compare_roots)
    return Gallery(root, runs, compares)


def _run_folder(path: Path) -> RunFolder | None:
    config = read_json(path / "config.json")
    metrics = read_json(path / "metrics.json")
    if not isinstance(config, dict) or not isinstance(metrics, dict) or not config.get("app"):
        return None
    showcase = read_json(path / "showcase.json")
    return RunFolder(
        path=path,
        app=str(config["app"]),
        config=config,
        metrics=metrics,
        showcase=showcase if isinstance(showcase, dict) else {},
        finished_at=(path / "metrics.json").stat().st_mtime,
    )


def _compare_folder(path: Path) -> CompareFolder:
    markdown_files = sorted(path.glob("*.md"))
    markdown = markdown_files[0].read_text(encoding="utf-8", errors="replace") if markdown_files else ""
    plots = sorted(p for p in path.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    files = sorted(p for p in path.glob("results.*") if p.is_file())
    return CompareFolder(path, (path / COMPARE_MARKER).stat().st_mtime, markdown, plots, files)
