"""Run a gallery command, time it, and write its result record from the run folder it wrote.

    python benchmarks/measure.py captioning-demo -- python -m gallery.captioning --out runs/measured/captioning-demo

The record (benchmarks/results/<name>.json) holds the command as given, the commit, the machine, the date, the
wall-clock seconds of the whole command (data preparation included), its peak memory and the run's metrics.json.
The run folder must be new, so the record measures one uninterrupted run of this code. Then
`python benchmarks/render_readmes.py` puts the figure in the README tables that quote it.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import records  # noqa: E402

LONGEST_TEXT = 300  # metrics such as a generated sample are kept in the run folder, not in the record


def run_folder(command: list[str]) -> Path:
    for flag, value in zip(command, command[1:]):
        if flag == "--out":
            return Path(value)
    for argument in command:
        if argument.startswith("--out="):
            return Path(argument.split("=", 1)[1])
    raise SystemExit("measure: the command needs --out RUN_DIR, so the record can read the run's metrics.json")


def kept_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The run's metrics without long texts and long lists."""

    def small(value: Any) -> bool:
        if isinstance(value, str):
            return len(value) <= LONGEST_TEXT
        if isinstance(value, list):
            return len(value) <= 50 and all(small(item) for item in value)
        return True

    kept = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = kept_metrics(value)
        if small(value):
            kept[key] = value
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="record name: benchmarks/results/NAME.json (e.g. captioning-demo)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    run_dir = run_folder(command)
    if run_dir.exists():
        parser.error(f"{run_dir} exists; give a new --out so the record measures one whole run")
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)
    wall_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        print(f"measure: the command exited with {completed.returncode}; nothing recorded", file=sys.stderr)
        return completed.returncode
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    peak_megabytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    path = records.write_record(
        args.name,
        command=shlex.join(command),
        metrics=kept_metrics(metrics),
        wall_seconds=wall_seconds,
        peak_memory_mb=round(peak_megabytes),
    )
    primary = metrics.get("primary", {})
    print(f"measure: {primary.get('name')} = {primary.get('value')} in {wall_seconds:.0f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
