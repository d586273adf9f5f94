"""The comparison's results: results.csv (one row per run), results.json, results.md and two plots.

results.md has one block of rows per app (its primary metric as mean +- sample standard deviation over repeats,
then parameters and units, training seconds, steps per second and epochs) and one column per architecture, under
a header that states the fairness rule and how the sizes were chosen. metrics.png draws the primary metric per
app per architecture with error bars; learning_curves.png overlays the validation loss of every architecture
per app (against epochs, or against seconds when every run had the same time budget).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

from gallery import runs, training
from gallery.compare.grid import GridSettings

CSV_COLUMNS = (
    "app",
    "architecture",
    "cell",
    "activation",
    "layers",
    "bidirectional",
    "units",
    "seed",
    "status",
    "metric",
    "value",
    "higher_is_better",
    "parameters",
    "train_seconds",
    "epochs",
    "steps",
    "steps_per_second",
    "run_dir",
    "message",
)


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.fmean(values) if values else None


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (app, architecture): mean and spread of the primary metric over the finished repeats."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["app"], record["architecture"]), []).append(record)
    summary = []
    for (app, architecture), members in groups.items():
        finished = [r for r in members if r["status"] == "finished" and r.get("value") is not None]
        values = [float(r["value"]) for r in finished]
        entry: dict[str, Any] = {"app": app, "architecture": architecture, "runs": len(finished)}
        if finished:
            entry.update(
                metric=finished[0]["metric"],
                higher_is_better=finished[0]["higher_is_better"],
                mean=statistics.fmean(values),
                std=statistics.stdev(values) if len(values) > 1 else None,
                units=finished[0]["units"],
                parameters=_mean([r["parameters"] for r in finished]),
                train_seconds=_mean([r["train_seconds"] for r in finished]),
                steps_per_second=_mean([r["steps_per_second"] for r in finished]),
                epochs=_mean([r["epochs"] for r in finished]),
            )
        else:
            entry["status"] = members[0]["status"]
            entry["message"] = members[0].get("message", "")
        summary.append(entry)
    return summary


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}"


def markdown_table(settings: GridSettings, records: list[dict[str, Any]], summary: list[dict[str, Any]]) -> str:
    labels = [a.label for a in settings.architectures]
    by_key = {(s["app"], s["architecture"]): s for s in summary}
    apps = list(dict.fromkeys(s["app"] for s in summary))
    seeds = sorted({r["seed"] for r in records})
    lines = [
        "# Architecture comparison",
        "",
        f"- Fairness rule: {settings.fairness()}.",
        f"- Sizes: {settings.sizing()}.",
        f"- Preset: {settings.preset}; repeats: {settings.repeats} (seeds {', '.join(map(str, seeds))}); "
        "metric cells show mean ± sample standard deviation over the repeats; the best mean per app is bold.",
        "- Steps per second leave out the first step (graph tracing) and validation.",
        "",
        "| app | measure | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    notes = []
    for app in apps:
        entries = [by_key.get((app, label)) for label in labels]
        done = [e for e in entries if e and e.get("runs")]
        if not done:
            reasons = {e.get("message", "") for e in entries if e}
            notes.append(f"- {app}: no finished run ({'; '.join(sorted(reasons))})")
            continue
        metric, higher = done[0]["metric"], done[0]["higher_is_better"]
        best = (max if higher else min)(e["mean"] for e in done)

        def cell(entry, text):
            if entry is None:
                return "-"
            if not entry.get("runs"):
                return entry.get("status", "-")
            return text(entry)

        def metric_text(entry, best=best):
            text = _number(entry["mean"])
            if entry["std"] is not None:
                text += f" ± {_number(entry['std'], 2)}"
            return f"**{text}**" if entry["mean"] == best else text

        rows = [
            (f"{metric} ({'higher' if higher else 'lower'} is better)", metric_text),
            ("parameters (units)", lambda e: f"{e['parameters']:,.0f} ({e['units']})"),
            ("training seconds", lambda e: _number(e["train_seconds"], 3)),
            ("steps per second", lambda e: _number(e["steps_per_second"], 3)),
            ("epochs", lambda e: _number(e["epochs"], 3)),
        ]
        for measure, text in rows:
            lines.append(f"| {app} | {measure} | " + " | ".join(cell(e, text) for e in entries) + " |")
        for label, entry in zip(labels, entries):
            if entry is not None and not entry.get("runs"):
                notes.append(f"- {app} {label}: {entry.get('status')}: {entry.get('message', '')}")
    if notes:
        lines += ["", "Not in the table:", "", *notes]
    lines += ["", "![primary metric per architecture](metrics.png)", "", "![learning curves](learning_curves.png)"]
    return "\n".join(lines) + "\n"


def write_results(settings: GridSettings, records: list[dict[str, Any]], plots: bool = True) -> dict[str, Any]:
    """results.csv, results.json and results.md in the grid's folder, written atomically; the plots if asked."""
    out = Path(settings.out)
    summary = summarise(records)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: ("" if record.get(key) is None else record.get(key)) for key in CSV_COLUMNS})
    runs.write_text(out / "results.csv", buffer.getvalue())
    payload = {
        "fairness": settings.fairness(),
        "sizing": settings.sizing(),
        "settings": {
            **settings.fixed(),
            "apps": list(settings.apps),
            "architectures": [a.label for a in settings.architectures],
            "repeats": settings.repeats,
            "seed": settings.seed,
        },
        "summary": summary,
        "runs": records,
    }
    runs.write_json(out / "results.json", payload)
    runs.write_text(out / "results.md", markdown_table(settings, records, summary))
    if plots:
        metric_plot(settings, summary, out / "metrics.png")
        learning_curves_plot(settings, records, out / "learning_curves.png")
        runs.write_showcase(
            out,
            texts=[("comparison table", (out / "results.md").read_text(encoding="utf-8"))],
            images=[
                ("metrics.png", "primary metric per app and architecture (error bars: standard deviation)"),
                ("learning_curves.png", "validation loss per app, every architecture overlaid"),
            ],
            links=[("results.csv", "one row per run"), ("results.json", "settings, summary and runs")],
        )
    return payload


def _grid_of_axes(count: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, max(1, count))
    rows = math.ceil(max(1, count) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    flat = list(axes.flat)
    for axis in flat[count:]:
        axis.set_visible(False)
    return figure, flat


def metric_plot(settings: GridSettings, summary: list[dict[str, Any]], path: Path) -> Path:
    labels = [a.label for a in settings.architectures]
    apps = list(dict.fromkeys(s["app"] for s in summary))
    by_key = {(s["app"], s["architecture"]): s for s in summary}
    figure, axes = _grid_of_axes(len(apps))
    for axis, app in zip(axes, apps):
        positions, means, errors, names = [], [], [], []
        for index, label in enumerate(labels):
            entry = by_key.get((app, label))
            if entry and entry.get("runs"):
                positions.append(index)
                means.append(entry["mean"])
                errors.append(entry["std"] or 0.0)
                names.append(label)
                metric, higher = entry["metric"], entry["higher_is_better"]
        if positions:
            axis.bar(positions, means, yerr=errors, capsize=4, color=[f"C{p % 10}" for p in positions])
            axis.set_ylabel(f"{metric}\n({'higher' if higher else 'lower'} is better)", fontsize=8)
        axis.set_xticks(range(len(labels)), labels=labels, rotation=30, ha="right", fontsize=8)
        axis.set_title(app)
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(f"primary metric ({settings.preset} preset)")
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=100)


def learning_curves_plot(settings: GridSettings, records: list[dict[str, Any]], path: Path) -> Path:
    labels = [a.label for a in settings.architectures]
    apps = list(dict.fromkeys(r["app"] for r in records))
    figure, axes = _grid_of_axes(len(apps))
    against_seconds = bool(settings.budget_seconds)
    for axis, app in zip(axes, apps):
        plotted = set()
        for record in records:
            if record["app"] != app or record["status"] != "finished":
                continue
            history = training.read_history(Path(record["run_dir"]) / training.HISTORY)
            key = "val_loss" if history.get("val_loss") else "loss"
            if not history.get(key):
                continue
            x = history["seconds"] if against_seconds and history.get("seconds") else range(1, len(history[key]) + 1)
            label = record["architecture"]
            colour = f"C{labels.index(label) % 10}" if label in labels else None
            axis.plot(list(x), history[key], color=colour, label=None if label in plotted else label, alpha=0.85)
            axis.set_ylabel(key.replace("val_", "validation "))
            plotted.add(label)
        axis.set_xlabel("training seconds" if against_seconds else "epoch")
        axis.set_title(app)
        axis.grid(alpha=0.3)
        if plotted:
            axis.legend(fontsize=7)
    figure.suptitle("learning curves")
    figure.tight_layout()
    return runs.save_figure(figure, path, dpi=100)
