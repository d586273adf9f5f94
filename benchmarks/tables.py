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
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def render(table: Table, all_records: dict) -> str:
    """The Markdown table, then a footnote for records transcribed from an earlier report."""
    if not table.rows:
        return "No measurement is recorded for this table yet.\n"
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
        figure = f"**{FORMATS[row.format](value)}**"
        interval = records.value_at(record, "metrics.primary.interval95")
        if row.metric == "metrics.primary.value" and interval and row.format == "percent":
            figure += f" ({FORMATS[row.format](interval[0])} to {FORMATS[row.format](interval[1])})"
        cells = [
            row.label + mark,
            name,
            figure,
            row.anchor,
            _duration(record["wall_seconds"]),
            records.describe_machine(record),
            commit,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if transcribed:
        lines += ["", "† transcribed from the report of the commit that measured it; the command is in its record."]
    return "\n".join(lines) + "\n"


JSB_ANCHOR = "LSTM 8.45, TCN 8.10 (Bai et al. 2018); RNN-NADE 5.56 (Boulanger-Lewandowski et al. 2012)"
NOTTINGHAM_ANCHOR = "LSTM 3.29, TCN 3.07 (Bai et al. 2018); RNN-NADE 2.31 (Boulanger-Lewandowski et al. 2012)"

HELLO = (Row("hello-demo", "hello, demo (the lecture's word)", format="percent"),)
CAPTIONING = (
    Row("captioning-demo", "captioning, demo, 1,000 seen-combination scenes", format="percent"),
    Row(
        "captioning-demo",
        "captioning, demo, 1,000 held-out-combination scenes",
        metric="metrics.test.unseen.semantic_accuracy",
        metric_name="semantic accuracy (held-out combinations)",
        format="percent",
    ),
    Row("captioning-full", "captioning, full preset, 2,000 seen-combination scenes", format="percent"),
    Row(
        "captioning-full",
        "captioning, full preset, 2,000 held-out-combination scenes",
        metric="metrics.held_out_semantic_accuracy",
        metric_name="semantic accuracy (held-out combinations)",
        format="percent",
    ),
)
LANGUAGE_MODEL = (
    Row("language_model-demo", "language model, demo, CPython's documentation", format="nats"),
    Row(
        "language_model-tinyshakespeare-full",
        "language model, tinyshakespeare (last 10% validates), LSTM 2x512",
        format="nats",
        anchor="nanoGPT's character transformer 1.4697 (same split, scored in 256-character blocks)",
    ),
)
KEYWORDS = (
    Row("keywords-demo", "keywords, demo, synthetic speech, held-out voices", format="percent"),
    Row(
        "keywords-fsdd-full",
        "keywords, FSDD digits, official split (the same speakers on both sides)",
        format="percent",
    ),
)
TRANSLATION = (
    Row("translation-demo", "translation, demo, English to Spanish number words", format="bleu"),
    Row(
        "translation-spa-eng-full",
        "translation, Spanish to English, pairs split one by one (a sentence may be on both sides)",
        format="bleu",
    ),
)
QA = (
    Row("qa-demo", "question answering, demo, generated task 1", format="percent"),
    Row(
        "qa-babi-1k",
        "question answering, bAbI 1k, one model per task",
        format="percent",
        anchor="LSTM 49.2% mean over the same 20 tasks (Weston et al. 2015)",
    ),
)
MUSIC = (
    Row("music-demo", "music, demo, Bach chorales (music21 corpus)", format="nats"),
    Row("music-jsb-full", "music, JSB Chorales, LSTM 2x384", format="nats", anchor=JSB_ANCHOR),
    Row("music-nottingham", "music, Nottingham, LSTM 1x220", format="nats", anchor=NOTTINGHAM_ANCHOR),
)

TABLES: dict[str, Table] = {
    "overview": Table(HELLO + CAPTIONING + LANGUAGE_MODEL + KEYWORDS + TRANSLATION + QA + MUSIC),
    "captioning": Table(CAPTIONING),
    "language_model": Table(LANGUAGE_MODEL),
    "keywords": Table(KEYWORDS),
    "translation": Table(TRANSLATION),
    "qa": Table(QA),
    "music": Table(MUSIC),
    "compare": Table(()),
}
