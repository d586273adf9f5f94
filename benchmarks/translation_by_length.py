"""Translation with and without attention, by source length: the table in gallery/translation/README.md.

Trains the same translation model once per attention mode (same data, seed and preset; only --attention differs)
and joins the runs' greedy test scores per source-length range into one Markdown table. A mode whose run folder
already holds a finished run (metrics.json) is not trained again.

    python benchmarks/translation_by_length.py --preset demo
    python benchmarks/translation_by_length.py --preset full --data ../shared/data/spa_eng/spa.txt --reverse
    python benchmarks/translation_by_length.py --preset demo --modes none dot -- --cell gru --epochs 10
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from gallery.config import PRESET_NAMES
from gallery.translation import APP
from gallery.translation.config import TranslationConfig


def run_mode(mode: str, args: argparse.Namespace, extra: dict) -> dict:
    run_dir = Path(args.out) / f"{args.preset}-{mode}"
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        overrides = {"attention": mode, "out": str(run_dir), **extra}
        if args.data:
            overrides["data"] = args.data
        if args.reverse:
            overrides["reverse"] = True
        APP.run(TranslationConfig.from_preset(args.preset, **overrides))
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics["run_dir"] = str(run_dir)
    return metrics


def parse_extra(values: list[str]) -> dict:
    """`--cell gru --epochs 10` -> {"cell": "gru", "epochs": 10}, typed by the config's fields."""
    from gallery.cli import training_parser

    namespace = training_parser(APP).parse_args(values)
    return {key: value for key, value in vars(namespace).items() if key != "preset"}


def _bucket(metrics: dict, bucket: str) -> dict:
    return next(row for row in metrics["by_source_length"] if row["source_tokens"] == bucket)


def table(results: dict[str, dict]) -> str:
    modes = list(results)
    header = ["source tokens", "test pairs"]
    header += [f"exact match, {mode}" for mode in modes] + [f"BLEU, {mode}" for mode in modes]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    buckets = [row["source_tokens"] for row in results[modes[0]]["by_source_length"]]
    for bucket in buckets:
        rows = {mode: _bucket(results[mode], bucket) for mode in modes}
        cells = [bucket, str(rows[modes[0]]["count"])]
        cells += [f"{rows[mode]['exact_match'] * 100:.1f}%" for mode in modes]
        cells += [f"{rows[mode]['bleu']:.1f}" for mode in modes]
        lines.append("| " + " | ".join(cells) + " |")
    overall = ["all", str(results[modes[0]]["pairs"]["test"])]
    overall += [f"{results[mode]['test_exact_match'] * 100:.1f}%" for mode in modes]
    overall += [f"{results[mode]['test_bleu']:.1f}" for mode in modes]
    lines.append("| " + " | ".join(overall) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="demo", choices=PRESET_NAMES)
    parser.add_argument("--modes", nargs="+", default=["none", "additive"], choices=["none", "additive", "dot"])
    parser.add_argument("--data", default="")
    parser.add_argument("--reverse", action="store_true")
    parser.add_argument("--out", default="runs/translation_benchmark")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="further app flags after --")
    args = parser.parse_args()
    extra = parse_extra([value for value in args.extra if value != "--"])
    results = {mode: run_mode(mode, args, extra) for mode in args.modes}
    print(f"\n{platform.machine()}, preset {args.preset}, data {results[args.modes[0]]['data']}, greedy decoding\n")
    print(table(results))
    for mode, metrics in results.items():
        print(f"{mode}: {metrics['epochs']} epochs, {metrics['train_seconds']:.0f} s training, {metrics['run_dir']}")


if __name__ == "__main__":
    main()
