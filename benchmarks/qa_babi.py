"""Benchmark: the qa app on the real bAbI 1k tasks, one model per task, against Weston et al.'s LSTM baseline.

    GALLERY_DATA_DIR=../shared/data nice -n 10 python benchmarks/qa_babi.py             # 20 tasks, 60 epochs each
    python benchmarks/qa_babi.py --tasks 1,2,3 --epochs 30
    python benchmarks/qa_babi.py --report          # the table of the tasks finished so far

Trains each task (all 20 unless `--tasks 1,2,3`) in its own run folder under `--out`, up to `--epochs` epochs with
the app's early stopping (`--budget-seconds` caps the training time per task, 0 = no cap). Run the same command
again to resume: a task already trained with the same settings is read back, not retrained. Prints (and writes to
<out>/per_task.md) the per-task test accuracy beside the LSTM's, the mean over the tasks run, and on how many of
them the model beats the LSTM.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

from gallery import runs, training
from gallery.qa.config import QAConfig
from gallery.qa.metrics import task_table
from gallery.qa.train import train_task


def finished_tasks(out: Path) -> dict[str, float]:
    """Test accuracy of every task folder under `out` that holds a finished run."""
    results = {}
    for metrics_path in out.glob("task*/metrics.json"):
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        results[str(metrics["task"])] = metrics["primary"]["value"]
    return dict(sorted(results.items(), key=lambda item: int(item[0])))


def main() -> None:
    data_root = Path(os.environ.get("GALLERY_DATA_DIR", "../shared/data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(data_root / "babi" / "tasks_1-20_v1-2" / "en"))
    parser.add_argument("--tasks", default="1-20", help="e.g. 1-20 or 1,2,3")
    parser.add_argument("--model", default="attention", choices=("attention", "baseline"))
    parser.add_argument("--budget-seconds", type=float, default=0.0, help="training time per task (0 = no cap)")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", default="runs/qa/benchmark-babi1k")
    parser.add_argument("--report", action="store_true", help="only print the table of the tasks finished so far")
    args = parser.parse_args()
    if "-" in args.tasks:
        first, last = map(int, args.tasks.split("-"))
        tasks = list(range(first, last + 1))
    else:
        tasks = [int(task) for task in args.tasks.split(",")]
    out = Path(f"{args.out}-{args.model}")
    started = time.perf_counter()
    if not args.report:
        base = QAConfig.from_preset(
            "demo", data=args.data, model=args.model, budget_seconds=args.budget_seconds, epochs=args.epochs
        )
        for task in tasks:
            task_dir = out / f"task{task}"
            config = dataclasses.replace(base, task=str(task), out=str(task_dir))
            config.validate()
            if (task_dir / "metrics.json").is_file():
                saved = json.loads((task_dir / "config.json").read_text(encoding="utf-8"))
                if saved == config.to_dict():
                    print(f"task {task}: already trained in {task_dir}")
                    continue
            training.set_seed(config.seed)
            train_task(config, task, task_dir)
    results = finished_tasks(out)
    if not results:
        print(f"no finished tasks under {out}")
        return
    table = task_table(results, real_data=True)
    runs.write_text(out / "per_task.md", table["text"] + "\n")
    print(table["text"])
    print(f"wall time {time.perf_counter() - started:.0f}s; table written to {out / 'per_task.md'}")


if __name__ == "__main__":
    main()
