"""FSDD digits with each speaker held out in turn: six trainings, one record of their mean, range and each fold.

FSDD's official split (recordings 0-4 of every speaker are the test) has the same six speakers in training and test,
so its accuracy says nothing about a new voice. Here each fold trains on five speakers (their recordings 5-49 train,
0-4 validate for early stopping) and tests on all 500 recordings of the sixth, with the same preset and seed as the
official-split record (keywords-fsdd-full). The record (benchmarks/results/NAME.json) holds the mean test accuracy
over the folds with their range, and each fold's accuracy with its 95% Wilson interval.

    python benchmarks/keywords_fsdd_speakers.py --data fsdd:../shared/data/fsdd --out runs/measured/fsdd-speakers
    python benchmarks/keywords_fsdd_speakers.py --preset smoke --epochs 1 --out /tmp/fsdd-check --results-dir /tmp/r

Each fold is one `python -m gallery.keywords ... --test-speaker NAME` in a fresh process, its run folder under
--out/NAME; --out must be new, so the record measures uninterrupted runs of this code. `--preset`/`--epochs` are
for checking the script with a tiny setting; a check's record goes to --results-dir, not into the README's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import records  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from datasets import speech  # noqa: E402
from datasets.audio_files import DataSourceError  # noqa: E402

NAME = "keywords-fsdd-speakers"
PROTOCOL = (
    "FSDD (six speakers, 500 recordings each), one fold per speaker: all 500 recordings of the held-out speaker are "
    "the test clips; the other five speakers' recordings 0-4 validate (early stopping) and 5-49 train, so the test "
    "voice is never heard. Scored: test accuracy over the ten digits per fold; reported: the mean over the six folds "
    "and their range, each fold with its 95% Wilson interval."
)


def fold_command(data: str, speaker: str, out: Path, preset: str, seed: int, epochs: int | None) -> list[str]:
    """The training of one fold, as `python -m gallery.keywords` takes it."""
    command = ["python", "-m", "gallery.keywords", "--preset", preset, "--data", data, "--test-speaker", speaker]
    command += ["--seed", str(seed), "--out", str(out / speaker)]
    return command + (["--epochs", str(epochs)] if epochs is not None else [])


def fold_metrics(run_metrics: dict) -> dict:
    """What the record keeps of one fold's metrics.json."""
    primary = run_metrics["primary"]
    return {
        "accuracy": primary["value"],
        "count": primary["count"],
        "interval95": primary["interval95"],
        "validation_accuracy": run_metrics.get("validation_accuracy"),
        "epochs": run_metrics.get("epochs"),
        "train_seconds": round(float(run_metrics.get("train_seconds", 0.0)), 1),
    }


def summary(folds: dict[str, dict]) -> dict:
    """The record's metrics: the mean test accuracy over the folds (primary) with their range, and every fold."""
    accuracies = [fold["accuracy"] for fold in folds.values()]
    return {
        "primary": {
            "name": f"mean test accuracy over {len(folds)} held-out speakers",
            "value": sum(accuracies) / len(accuracies),
            "higher_is_better": True,
            "range": [min(accuracies), max(accuracies)],
            "runs": len(folds),
        },
        "test_clips": sum(fold["count"] for fold in folds.values()),
        "folds": folds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="fsdd:DIR (default: fsdd:$GALLERY_DATA_DIR/fsdd)")
    parser.add_argument("--out", required=True, help="a new folder; each fold's run folder is OUT/SPEAKER")
    parser.add_argument("--preset", default="full", help="the keywords preset of every fold (default: full)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs (for a quick check only)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every fold (default: 0)")
    parser.add_argument("--name", default=NAME, help=f"record name (default: {NAME})")
    parser.add_argument("--results-dir", type=Path, help="where the record goes (default: benchmarks/results)")
    args = parser.parse_args(argv)
    data = args.data
    if data is None:
        if not os.environ.get("GALLERY_DATA_DIR"):
            parser.error("give --data fsdd:DIR, or set GALLERY_DATA_DIR to the folder holding fsdd/")
        data = f"fsdd:{Path(os.environ['GALLERY_DATA_DIR']) / 'fsdd'}"
    if not data.startswith("fsdd:"):
        parser.error(f"--data must be fsdd:DIR, got {data}")
    try:
        speakers = speech.fsdd_speakers(data[len("fsdd:") :])
    except DataSourceError as error:
        parser.error(str(error))
    if len(speakers) < 2:
        parser.error(f"{data} holds {len(speakers)} speaker(s); holding one out needs at least two")
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} exists; give a new --out so the record measures whole runs")
    if args.results_dir is not None:
        records.RESULTS = args.results_dir.resolve()

    folds, started = {}, time.perf_counter()
    for speaker in speakers:
        command = fold_command(data, speaker, out, args.preset, args.seed, args.epochs)
        print(f"fold {speaker}: {shlex.join(command)}", flush=True)
        fold_started = time.perf_counter()
        completed = subprocess.run([sys.executable, *command[1:]], check=False)
        if completed.returncode != 0:
            print(f"fold {speaker} exited with {completed.returncode}; nothing recorded", file=sys.stderr)
            return completed.returncode
        run_metrics = json.loads((out / speaker / "metrics.json").read_text(encoding="utf-8"))
        folds[speaker] = {**fold_metrics(run_metrics), "wall_seconds": round(time.perf_counter() - fold_started, 1)}
        low, high = folds[speaker]["interval95"]
        print(f"fold {speaker}: test accuracy {folds[speaker]['accuracy']:.4f} ({low:.4f} to {high:.4f})", flush=True)
    wall_seconds = time.perf_counter() - started

    metrics = summary(folds)
    command = ["python", "benchmarks/keywords_fsdd_speakers.py", *(sys.argv[1:] if argv is None else argv)]
    path = records.write_record(
        args.name,
        command=shlex.join(command),
        metrics=metrics,
        wall_seconds=wall_seconds,
        peak_memory_mb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        fold_command=shlex.join(fold_command(data, "SPEAKER", out, args.preset, args.seed, args.epochs)),
        protocol=PROTOCOL,
    )
    primary = metrics["primary"]
    print(
        f"mean test accuracy over {len(folds)} held-out speakers {primary['value']:.4f} "
        f"(range {primary['range'][0]:.4f} to {primary['range'][1]:.4f}); wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
