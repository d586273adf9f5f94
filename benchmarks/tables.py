"""Which records fill which README table, and how a figure is written.

A row names a record and the metric of it to show; the published anchor beside it is a citation (the paper's figure
and its protocol), not a measurement, so it is written here. Every figure of the gallery comes from the record.

An accuracy is shown with its 95% interval: the one the record stores (`interval`, for the primary metric its
`interval95`), else the Wilson interval of the value over the record's count of test items (`count`), for records
written before intervals were stored. A figure from several runs (a primary metric with a `range`) is shown with the
lowest and highest of them instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import records

from gallery.statistics import wilson_interval

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
    interval: str = ""  # a [low, high] the record stores (default for the primary metric: its interval95)
    count: str = ""  # the test items an accuracy is a share of, to derive its interval when none is stored


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


def _bounds(row: Row, record: dict, value: float) -> str:
    """ " (a to b)" for an accuracy's 95% interval, " (range a to b over N runs)" for several runs' figure, or ""."""
    if row.format != "percent":
        return ""
    show = FORMATS[row.format]
    primary = row.metric == "metrics.primary.value"
    spread = records.value_at(record, "metrics.primary.range") if primary else None
    if spread:
        runs = records.value_at(record, "metrics.primary.runs")
        return f" (range {show(spread[0])} to {show(spread[1])}" + (f" over {runs} runs)" if runs else ")")
    interval = records.value_at(record, row.interval or ("metrics.primary.interval95" if primary else ""))
    if not interval and row.count:
        count = records.value_at(record, row.count)
        if not count:
            raise ValueError(f"record {row.record!r} has no count at {row.count}")
        interval = wilson_interval(round(value * count), int(count))
    return f" ({show(interval[0])} to {show(interval[1])})" if interval else ""


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
        figure = f"**{FORMATS[row.format](value)}**" + _bounds(row, record, value)
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
        interval="metrics.test.unseen.semantic_accuracy_interval95",
        # Both test groups hold --test-images scenes: the seen group's count is the held-out group's.
        count="metrics.primary.count",
    ),
    Row(
        "captioning-full",
        "captioning, full preset, 2,000 seen-combination scenes",
        format="percent",
        count="metrics.test_scenes_per_group",
    ),
    Row(
        "captioning-full",
        "captioning, full preset, 2,000 held-out-combination scenes",
        metric="metrics.held_out_semantic_accuracy",
        metric_name="semantic accuracy (held-out combinations)",
        format="percent",
        count="metrics.test_scenes_per_group",
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
        count="metrics.test_clips",
    ),
)
# The same trained run on device: accuracy of its TFLite files beside its Keras model's.
KEYWORDS_ON_DEVICE = tuple(
    Row(
        "keywords-tflite",
        f"keywords, a demo run {what}, the same held-out-voice test clips",
        metric=f"metrics.{key}.accuracy",
        metric_name="test accuracy",
        format="percent",
        interval=f"metrics.{key}.interval95",
    )
    for key, what in (
        ("keras", "in Keras"),
        ("tflite_float32", "as TFLite, float32 weights"),
        ("tflite_int8", "as TFLite, int8 weights"),
    )
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
    Row("music-nade-demo", "music, demo, Bach chorales (music21 corpus), RNN-NADE output", format="nats"),
    Row("music-demo", "music, demo, Bach chorales, 88 independent keys (`--output independent`)", format="nats"),
    Row("music-jsb-full", "music, JSB Chorales, LSTM 2x384", format="nats", anchor=JSB_ANCHOR),
    Row("music-nottingham", "music, Nottingham, LSTM 1x220", format="nats", anchor=NOTTINGHAM_ANCHOR),
)

TABLES: dict[str, Table] = {
    "overview": Table(HELLO + CAPTIONING + LANGUAGE_MODEL + KEYWORDS + TRANSLATION + QA + MUSIC),
    "captioning": Table(CAPTIONING),
    "language_model": Table(LANGUAGE_MODEL),
    "keywords": Table(KEYWORDS + KEYWORDS_ON_DEVICE),
    "translation": Table(TRANSLATION),
    "qa": Table(QA),
    "music": Table(MUSIC),
    "compare": Table(()),
}
