"""The tour: train every installed application with one preset, then write the gallery page.

    python -m gallery tour                       # demo preset of every app into runs/, then runs/index.html
    python -m gallery tour --preset smoke --out /tmp/tour     # a minute or two: checks that everything runs
    python -m gallery tour --apps hello,qa       # a subset

Each application runs through its own `run(config)` into RUNS_DIR/<app>/<architecture>-<preset>, the folder its
own command would use with `--out RUNS_DIR/...`, so running the tour again keeps the finished runs, resumes the
unfinished ones, and trains every app again only with `--overwrite`. An app that fails (or whose folder holds a run
of other settings) is reported and skipped; the page is written from whatever finished, and the exit status is 1 if
any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gallery.apps import available, load
from gallery.cli import OneLineParser
from gallery.errors import UsageError
from gallery.run_folders import RUNS_ROOT

TOUR_PRESETS = ("smoke", "demo", "full")


@dataclass
class TourStop:
    app: str
    run_dir: Path | None
    seconds: float
    summary: str
    ok: bool


def tour_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m gallery tour",
        description="Train every application with one preset, then write the gallery page and print its path.",
    )
    parser.add_argument("--preset", default="demo", choices=TOUR_PRESETS, help="preset of every run (default: demo)")
    parser.add_argument("--out", default=str(RUNS_ROOT), help="runs folder for every app and the page (default: runs)")
    parser.add_argument("--apps", default="all", help="comma-separated applications, or all (default: all)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="train every app again, replacing the runs already in its folder (default: keep finished runs)",
    )
    return parser


def selected_apps(names: str) -> list[str]:
    """The applications named by --apps, checked against those installed."""
    installed = [entry.name for entry in available()]
    if names.strip() in ("", "all"):
        return installed
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in installed]
    if unknown:
        raise UsageError(f"--apps: {', '.join(unknown)} is not installed; choose from: {', '.join(installed)}")
    return chosen


def run_one(name: str, preset: str, runs_dir: Path, overwrite: bool = False) -> TourStop:
    """One application's run with `preset` into runs_dir/<app>/<architecture>-<preset>."""
    app = load(name)
    config = app.config.from_preset(preset)
    out = str(runs_dir / name / f"{config.architecture()}-{preset}")
    config = app.config.from_preset(preset, out=out, overwrite=overwrite)
    started = time.perf_counter()
    try:
        result = app.run(config)
    except UsageError as error:  # a folder it must not replace, say: one line, no traceback
        print(f"{name}: {error}", file=sys.stderr, flush=True)
        return TourStop(name, Path(config.out), time.perf_counter() - started, f"FAILED: {error}", ok=False)
    except Exception as error:  # noqa: BLE001  (one broken app must not stop the tour; it is reported below)
        traceback.print_exc()
        return TourStop(name, Path(config.out), time.perf_counter() - started, f"FAILED: {error}", ok=False)
    primary = result.metrics.get("primary", {})
    summary = f"{primary.get('name', 'primary metric')} = {primary.get('value', float('nan')):.4g}"
    return TourStop(name, result.run_dir, time.perf_counter() - started, summary, ok=True)


def tour(preset: str, runs_dir: Path, names: Sequence[str], overwrite: bool = False) -> tuple[list[TourStop], Path]:
    from gallery.report.page import write_page

    stops = []
    for index, name in enumerate(names, start=1):
        print(f"\n=== tour {index}/{len(names)}: {name} ({preset} preset) ===", flush=True)
        stop = run_one(name, preset, runs_dir, overwrite)
        print(f"=== {name}: {stop.summary} in {stop.seconds:.0f}s ===", flush=True)
        stops.append(stop)
    return stops, write_page(runs_dir)


def main(argv: Sequence[str]) -> int:
    arguments: argparse.Namespace = tour_parser().parse_args(list(argv))
    try:
        names = selected_apps(arguments.apps)
        runs_dir = Path(arguments.out)
        started = time.perf_counter()
        stops, page = tour(arguments.preset, runs_dir, names, arguments.overwrite)
    except UsageError as error:
        print(f"python -m gallery tour: error: {error}", file=sys.stderr)
        return 2
    width = max((len(stop.app) for stop in stops), default=4)
    print(f"\ntour of {len(stops)} applications, {arguments.preset} preset, {time.perf_counter() - started:.0f}s:")
    for stop in stops:
        print(f"  {stop.app:<{width}}  {stop.seconds:6.0f}s  {stop.summary}")
    print(page)
    return 0 if all(stop.ok for stop in stops) else 1
