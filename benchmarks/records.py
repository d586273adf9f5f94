"""Result records: one JSON file per measurement under benchmarks/results/, written by the run that measured it.

A record says what was run (the command), on which code (the commit, and whether the tree had uncommitted
changes), where (the machine), when (the date, UTC), how long it took, and what it measured (the metrics). The
README tables are rendered from these records by `benchmarks/render_readmes.py`; nothing in a README table is
typed by hand.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
FIELDS = ("name", "command", "commit", "dirty", "machine", "date", "wall_seconds", "metrics")


def _git(*args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return completed.stdout.strip() if completed.returncode == 0 else ""


def commit() -> tuple[str, bool]:
    """The checked-out commit and whether tracked files differ from it (a measurement of uncommitted code)."""
    # Records written by earlier measurements of the same session are results, not code: they do not count.
    changed = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/results")
    return _git("rev-parse", "--short=12", "HEAD") or "unknown", bool(changed)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()] if listed.returncode == 0 else []


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the figures depend on: processor, cores, accelerators, and the framework versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "gpus": _gpus() if os.environ.get("CUDA_VISIBLE_DEVICES") != "" else [],
        "system": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in ("tensorflow", "keras", "jax") if _version(name)},
    }


def describe_machine(record: dict[str, Any]) -> str:
    """A short label for a table: the accelerator if there was one, else the cores."""
    described = record["machine"]
    if isinstance(described, str):
        return described
    if described.get("gpus"):
        return described["gpus"][0].replace("NVIDIA ", "")
    return f"{described['cores']}-core CPU"


def path_of(name: str) -> Path:
    return RESULTS / f"{name}.json"


def write_record(name: str, *, command: str, metrics: dict[str, Any], wall_seconds: float | None, **extra: Any) -> Path:
    """benchmarks/results/<name>.json, written atomically; an earlier record of the same name is replaced."""
    code, dirty = commit()
    record = {
        "name": name,
        "command": command,
        "commit": code,
        "dirty": dirty,
        "machine": machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": None if wall_seconds is None else round(float(wall_seconds), 1),
        "metrics": metrics,
        **extra,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = path_of(name)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=RESULTS)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(record, stream, indent=2)
        stream.write("\n")
    os.replace(temporary, target)
    return target


def load_records() -> dict[str, dict[str, Any]]:
    """Every record, by name; a record missing a field is an error naming the file."""
    records = {}
    for path in sorted(RESULTS.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        missing = [field for field in FIELDS if field not in record]
        if missing:
            raise ValueError(f"{path} lacks {', '.join(missing)}; records are written by benchmarks/measure.py")
        if record["name"] != path.stem:
            raise ValueError(f"{path} names itself {record['name']!r}; the file name and the name must agree")
        records[record["name"]] = record
    return records


def value_at(record: dict[str, Any], dotted: str) -> Any:
    """record["metrics"]["primary"]["value"] for "metrics.primary.value"; None where a key is missing."""
    value: Any = record
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value
