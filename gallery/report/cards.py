"""The cards of the gallery page: one per application's latest run, and one for the newest compare run.

A card shows the layout as a small diagram, the headline metric, the other metrics, the config, the learning
curve, and everything the run's showcase.json names (texts, images, audio players, links, tables). Cards are built
from the run's files alone, so an application that lands later appears without changes here.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from gallery.report import diagrams
from gallery.report.folders import CompareFolder, RunFolder
from gallery.report.pieces import (
    data_table,
    escape,
    flatten,
    format_value,
    href,
    inside,
    key_value_table,
    markdown_to_html,
    media,
    text_block,
)


def showcase_html(run: RunFolder, root: Path) -> tuple[str, list[str]]:
    """The showcase's HTML and the names of files it referenced but the run folder lacks."""
    showcase = run.showcase
    missing: list[str] = []
    sections: list[str] = []
    shown_images: set[Path] = set()

    def existing(items: list[dict[str, Any]]) -> list[tuple[Path, str]]:
        kept = []
        for item in items or []:
            if not isinstance(item, dict) or not item.get("path"):
                continue
            path = run.path / str(item["path"])
            if path.is_file() and inside(path, run.path):
                kept.append((path, str(item.get("caption", ""))))
            else:
                missing.append(str(item["path"]))
        return kept

    images = existing(showcase.get("images", []))
    curve = run.path / "learning_curve.png"
    if curve.is_file() and all(path.resolve() != curve.resolve() for path, _ in images):
        images.insert(0, (curve, "learning curve"))
    if images:
        shown_images.update(path for path, _ in images)
        sections.append('<div class="images">' + "".join(media("images", p, c, root) for p, c in images) + "</div>")
    audio = existing(showcase.get("audio", []))
    if audio:
        sections.append('<div class="audios">' + "".join(media("audio", p, c, root) for p, c in audio) + "</div>")
    texts = [item for item in showcase.get("texts", []) or [] if isinstance(item, dict)]
    if texts:
        blocks = "".join(text_block(run.app, item.get("title", ""), item.get("text", "")) for item in texts)
        sections.append(f'<div class="texts">{blocks}</div>')
    for table in showcase.get("tables", []) or []:
        if isinstance(table, dict):
            sections.append(data_table(table))
    links = existing(showcase.get("links", []))
    if links:
        sections.append('<ul class="links">' + "".join(media("links", p, c, root) for p, c in links) + "</ul>")
    return "".join(sections), missing


def _command(run: RunFolder) -> str:
    """The command that trains this run again (the shared flags; app-specific ones are in the config table)."""
    config = run.config
    module = f"gallery.{run.app}" if _is_gallery_app(run.app) else run.app
    parts = [f"python -m {module}"]
    for name in ("preset", "cell", "activation", "units", "layers", "epochs", "data"):
        if name in config and not (name == "activation" and config.get(name) == "tanh"):
            if not (name == "data" and config.get(name) == "default"):
                parts.append(f"--{name} {config[name]}")
    if config.get("bidirectional"):
        parts.append("--bidirectional")
    return " ".join(parts)


def _is_gallery_app(name: str) -> bool:
    from gallery.apps import APPLICATIONS

    return name in {entry.name for entry in APPLICATIONS} or name == "compare"


def app_entries() -> dict[str, tuple[str, str]]:
    from gallery.apps import APPLICATIONS

    return {entry.name: (entry.layout, entry.description) for entry in APPLICATIONS}


def architecture(config: dict[str, Any]) -> str:
    if not {"cell", "layers", "units"} <= set(config):
        return ""
    cell = config["cell"]
    if cell == "rnn" and config.get("activation", "tanh") != "tanh":
        cell = f"rnn-{config['activation']}"
    return f"{cell}-{config['layers']}x{config['units']}" + ("-bi" if config.get("bidirectional") else "")


def _primary(metrics: dict[str, Any]) -> str:
    primary = metrics.get("primary")
    if not isinstance(primary, dict) or "value" not in primary:
        return ""
    direction = "higher is better" if primary.get("higher_is_better") else "lower is better"
    return (
        f'<p class="primary"><span class="value">{escape(format_value(primary["value"]))}</span> '
        f'<span class="name">{escape(primary.get("name", ""))}</span> <span class="direction">({direction})</span></p>'
    )


def card(run: RunFolder, root: Path, others: list[RunFolder]) -> str:
    """One application's card."""
    entries = app_entries()
    layout_text, description = entries.get(run.app, ("", ""))
    layout_text = str(run.metrics.get("layout") or run.config.get("layout") or layout_text)
    description = str(run.metrics.get("description") or description)
    pictures = "".join(diagrams.svg(layout) for layout in diagrams.layouts_in(layout_text))
    showcase, missing = showcase_html(run, root)
    metric_rows = [
        (key, value)
        for key, value in flatten(run.metrics)
        if not key.startswith("primary.") and key not in ("layout", "description")
    ]
    config_rows = [(key, value) for key, value in run.config.items() if key != "app"]
    finished = datetime.datetime.fromtimestamp(run.finished_at).strftime("%Y-%m-%d %H:%M")
    folder_href = escape(href(run.path, root))
    missing_note = (
        f'<p class="missing">showcase.json names files the run folder lacks: {escape(", ".join(missing))}</p>'
        if missing
        else ""
    )
    earlier = ""
    if others:
        items = "".join(
            f'<li><a href="{escape(href(other.path, root))}/">{escape(os.path.relpath(other.path, root))}</a>: '
            f"{escape(_primary_text(other.metrics))}</li>"
            for other in others
        )
        summary = f"other runs of {escape(run.app)} ({len(others)})"
        earlier = f"<details><summary>{summary}</summary><ul>{items}</ul></details>"
    return f"""
<section class="card" id="app-{escape(run.app)}" data-app="{escape(run.app)}">
  <header>
    <div class="diagrams">{pictures}</div>
    <div class="heading">
      <h2>{escape(run.app)}</h2>
      <p class="layout">{escape(layout_text)}</p>
      <p class="description">{escape(description)}</p>
    </div>
    {_primary(run.metrics)}
  </header>
  <p class="meta">{escape(architecture(run.config))} &middot; {escape(format_value(run.metrics.get("parameters", "")))}
   parameters &middot; trained {escape(format_value(run.metrics.get("train_seconds", "")))} s &middot; finished
   {escape(finished)} &middot; <a href="{folder_href}/">{escape(os.path.relpath(run.path, root))}</a></p>
  <pre class="command">{escape(_command(run))}</pre>
  {missing_note}
  {showcase}
  <div class="tables">
    <details open><summary>metrics</summary>{key_value_table(metric_rows, "metrics")}</details>
    <details><summary>config</summary>{key_value_table(config_rows, "config")}</details>
  </div>
  {earlier}
</section>"""


def _primary_text(metrics: dict[str, Any]) -> str:
    primary = metrics.get("primary")
    if not isinstance(primary, dict):
        return "no primary metric"
    return f"{primary.get('name', '')} = {format_value(primary.get('value'))}"


def compare_section(compare: CompareFolder, root: Path) -> str:
    plots = "".join(media("images", plot, plot.stem.replace("_", " "), root) for plot in compare.plots)
    files = "".join(media("links", path, path.name, root) for path in compare.files)
    finished = datetime.datetime.fromtimestamp(compare.finished_at).strftime("%Y-%m-%d %H:%M")
    return f"""
<section class="card compare" id="compare">
  <header><div class="heading"><h2>compare</h2>
  <p class="description">architectures across tasks: {escape(os.path.relpath(compare.path, root))},
   finished {escape(finished)}</p>
  </div></header>
  <div class="markdown">{markdown_to_html(compare.markdown)}</div>
  <div class="images">{plots}</div>
  <ul class="links">{files}</ul>
</section>"""
