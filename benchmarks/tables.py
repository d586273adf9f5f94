"""Which records fill which README table, and how a figure is written.

A row names a record and the metric of it to show; the published anchor beside it is a citation (the paper's figure
and its protocol), not a measurement, so it is written here. Every figure of the gallery comes from the record.
"""

from __future__ import annotations

from dataclasses import dataclass

import records

FORMATS = {
    "percent": lambda value: f"{100 * value:.1f}%",
    "nats": lambda value: f"{value:.3f}",
    "bleu": lambda value: f"{value:.1f}",
    "plain": lambda value: f"{value:.4g}",
}


@dataclass(frozen=True)
class Row:
    record: str
    label: str
    metric: str = "metrics.primary.value"
    metric_name: str = ""  # default: the record's primary metric name
    format: str = "plain"
    anchor: str = "-"


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def render(table: Table, all_records: dict) -> str:
    """The Markdown table, then a footnote for records transcribed from an earlier report."""
    lines = [
        "| run | metric | gallery | published anchor | wall time | machine | commit |",
        "|---|---|---|---|---|---|---|",
    ]
    transcribed = False
    for row in table.rows:
        if row.record not in all_records:
            raise ValueError(f"table row {row.label!r} names record {row.record!r}, which is not in benchmarks/results")
        record = all_records[row.record]
        value = records.value_at(record, row.metric)
        if value is None:
            raise ValueError(f"record {row.record!r} has no {row.metric}")
        name = row.metric_name or records.value_at(record, "metrics.primary.name") or row.metric.split(".")[-1]
        mark = ""
        if record.get("provenance"):
            mark, transcribed = " †", True
        commit = record["commit"][:7] + (" (uncommitted changes)" if record["dirty"] else "")
        cells = [
            row.label + mark,
            name,
            f"**{FORMATS[row.format](value)}**",
            row.anchor,
            _duration(record["wall_seconds"]),
            records.describe_machine(record),
            commit,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if transcribed:
        lines += ["", "† transcribed from the report of the commit that measured it; the command is in its record."]
    return "\n".join(lines) + "\n"


TABLES: dict[str, Table] = {}
