"""The gallery page: one static index.html over a folder of run folders, readable offline from disk.

A run folder is any folder holding config.json (with "app") and metrics.json (written last, so only finished runs
count). The page shows one card per application, for its most recent finished run: the layout as a small diagram,
the headline metric, the other metrics, the config, the learning curve, and everything the run's showcase.json
names (texts, images, audio players, links, tables). A compare run (a folder with results.json) adds the
comparison table and plots. Cards are built from these files alone, so an application that lands later appears
without changes here; the few per-application touches are keyed on the application's name.

Every asset is referenced by a relative path below the runs folder, so the folder can be zipped, copied or opened
with file://; all text is escaped; there is no script, no CDN and no web font.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gallery.errors import UsageError
from gallery.report import diagrams

INDEX = "index.html"
COMPARE_MARKER = "results.json"
SKIPPED_FOLDERS = {"checkpoints", "tensorboard", "__pycache__"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
MAX_LIST_ITEMS = 12


@dataclass
class RunFolder:
    """A finished run as the page sees it: its files read back, never its model."""

    path: Path
    app: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    showcase: dict[str, Any]
    finished_at: float
    inside_compare: bool = False


@dataclass
class CompareFolder:
    path: Path
    finished_at: float
    markdown: str = ""
    plots: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


@dataclass
class Gallery:
    """What a runs folder holds: every finished run and every compare run, found once."""

    root: Path
    runs: list[RunFolder]
    compares: list[CompareFolder]

    def latest_by_app(self) -> dict[str, RunFolder]:
        """The newest run of each application, preferring runs the user made over those inside a compare grid."""
        latest: dict[str, RunFolder] = {}
        for run in sorted(self.runs, key=lambda r: (not r.inside_compare, r.finished_at)):
            latest[run.app] = run
        return latest


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def discover(root: Path | str) -> Gallery:
    """Every finished run and compare run below `root`."""
    root = Path(root)
    if not root.is_dir():
        raise UsageError(f"runs folder {root} does not exist; train something first, e.g. python -m gallery tour")
    runs: list[RunFolder] = []
    compares: list[CompareFolder] = []
    compare_roots: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS and not name.startswith("."))
        here = Path(folder)
        if COMPARE_MARKER in files:
            compare_roots.append(here)
            compares.append(_compare_folder(here))
        if "metrics.json" in files and "config.json" in files:
            run = _run_folder(here)
            if run is not None:
                runs.append(run)
    for run in runs:
        run.inside_compare = any(compare in run.path.parents for compare in compare_roots)
    return Gallery(root, runs, compares)


def _run_folder(path: Path) -> RunFolder | None:
    config = _read_json(path / "config.json")
    metrics = _read_json(path / "metrics.json")
    if not isinstance(config, dict) or not isinstance(metrics, dict) or not config.get("app"):
        return None
    showcase = _read_json(path / "showcase.json")
    return RunFolder(
        path=path,
        app=str(config["app"]),
        config=config,
        metrics=metrics,
        showcase=showcase if isinstance(showcase, dict) else {},
        finished_at=(path / "metrics.json").stat().st_mtime,
    )


def _compare_folder(path: Path) -> CompareFolder:
    markdown_files = sorted(path.glob("*.md"))
    markdown = markdown_files[0].read_text(encoding="utf-8", errors="replace") if markdown_files else ""
    plots = sorted(p for p in path.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    files = sorted(p for p in path.glob("results.*") if p.is_file())
    return CompareFolder(path, (path / COMPARE_MARKER).stat().st_mtime, markdown, plots, files)


# --- HTML pieces -------------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _href(path: Path, root: Path) -> str:
    """A relative URL from index.html (in `root`) to `path`, each segment percent-encoded."""
    relative = os.path.relpath(path, root)
    return "/".join(quote(part) for part in Path(relative).parts)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def format_value(value: Any) -> str:
    """Numbers to four significant figures (integers whole), lists shortened, everything else as text."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if isinstance(value, bool) else "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    if isinstance(value, list):
        shown = ", ".join(format_value(item) for item in value[:MAX_LIST_ITEMS])
        return f"[{shown}{', ...' if len(value) > MAX_LIST_ITEMS else ''}] ({len(value)} values)"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {format_value(item)}" for key, item in value.items())
    return str(value)


def _flatten(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not prefix:
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def _key_value_table(rows: list[tuple[str, Any]], css: str) -> str:
    body = "".join(f"<tr><th>{_e(key)}</th><td>{_e(format_value(value))}</td></tr>" for key, value in rows)
    return f'<table class="{css}">{body}</table>'


def _table(table: dict[str, Any]) -> str:
    columns = table.get("columns") or []
    rows = table.get("rows") or []
    head = "".join(f"<th>{_e(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(format_value(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    caption = f"<caption>{_e(table.get('title', ''))}</caption>" if table.get("title") else ""
    return (
        f'<div class="scroll"><table class="data">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


HIGHLIGHT_MARK = "\u00bb"  # a line of a showcase text that starts with » is shown highlighted, in every app


def _highlighted(app: str, line: str) -> bool:
    stripped = line.lstrip()
    if stripped.startswith(HIGHLIGHT_MARK):
        return True
    # bAbI convention: the supporting facts of an answer are starred or tagged in the story printout.
    return app == "qa" and (stripped.startswith("*") or "[supporting" in stripped.lower())


def _text_block(app: str, title: str, text: str) -> str:
    lines = []
    for line in str(text).splitlines() or [""]:
        escaped = _e(line)
        lines.append(f'<mark class="support">{escaped}</mark>' if _highlighted(app, line) else escaped)
    return f'<figure class="text"><figcaption>{_e(title)}</figcaption><pre>{chr(10).join(lines)}</pre></figure>'


def _media(kind: str, path: Path, caption: str, root: Path) -> str:
    href = _e(_href(path, root))
    if kind == "images":
        return (
            f'<figure class="image"><a href="{href}"><img src="{href}" alt="{_e(caption)}" loading="eager"></a>'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    if kind == "audio":
        return (
            f'<figure class="audio"><figcaption>{_e(caption)}</figcaption>'
            f'<audio controls preload="metadata" src="{href}"></audio></figure>'
        )
    return f'<li><a href="{href}">{_e(caption or path.name)}</a> <span class="file">{_e(path.name)}</span></li>'


def _showcase(run: RunFolder, root: Path) -> tuple[str, list[str]]:
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
            if path.is_file() and _inside(path, run.path):
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
        sections.append('<div class="images">' + "".join(_media("images", p, c, root) for p, c in images) + "</div>")
    audio = existing(showcase.get("audio", []))
    if audio:
        sections.append('<div class="audios">' + "".join(_media("audio", p, c, root) for p, c in audio) + "</div>")
    texts = [item for item in showcase.get("texts", []) or [] if isinstance(item, dict)]
    if texts:
        blocks = "".join(_text_block(run.app, item.get("title", ""), item.get("text", "")) for item in texts)
        sections.append(f'<div class="texts">{blocks}</div>')
    for table in showcase.get("tables", []) or []:
        if isinstance(table, dict):
            sections.append(_table(table))
    links = existing(showcase.get("links", []))
    if links:
        sections.append('<ul class="links">' + "".join(_media("links", p, c, root) for p, c in links) + "</ul>")
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


def _app_entries() -> dict[str, tuple[str, str]]:
    from gallery.apps import APPLICATIONS

    return {entry.name: (entry.layout, entry.description) for entry in APPLICATIONS}


def _architecture(config: dict[str, Any]) -> str:
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
        f'<p class="primary"><span class="value">{_e(format_value(primary["value"]))}</span> '
        f'<span class="name">{_e(primary.get("name", ""))}</span> <span class="direction">({direction})</span></p>'
    )


def card(run: RunFolder, root: Path, others: list[RunFolder]) -> str:
    """One application's card."""
    entries = _app_entries()
    layout_text, description = entries.get(run.app, ("", ""))
    layout_text = str(run.metrics.get("layout") or run.config.get("layout") or layout_text)
    description = str(run.metrics.get("description") or description)
    pictures = "".join(diagrams.svg(layout) for layout in diagrams.layouts_in(layout_text))
    showcase, missing = _showcase(run, root)
    metric_rows = [
        (key, value)
        for key, value in _flatten(run.metrics)
        if not key.startswith("primary.") and key not in ("layout", "description")
    ]
    config_rows = [(key, value) for key, value in run.config.items() if key != "app"]
    finished = datetime.datetime.fromtimestamp(run.finished_at).strftime("%Y-%m-%d %H:%M")
    folder_href = _e(_href(run.path, root))
    missing_note = (
        f'<p class="missing">showcase.json names files the run folder lacks: {_e(", ".join(missing))}</p>'
        if missing
        else ""
    )
    earlier = ""
    if others:
        items = "".join(
            f'<li><a href="{_e(_href(other.path, root))}/">{_e(os.path.relpath(other.path, root))}</a>: '
            f"{_e(_primary_text(other.metrics))}</li>"
            for other in others
        )
        earlier = f"<details><summary>other runs of {_e(run.app)} ({len(others)})</summary><ul>{items}</ul></details>"
    return f"""
<section class="card" id="app-{_e(run.app)}" data-app="{_e(run.app)}">
  <header>
    <div class="diagrams">{pictures}</div>
    <div class="heading">
      <h2>{_e(run.app)}</h2>
      <p class="layout">{_e(layout_text)}</p>
      <p class="description">{_e(description)}</p>
    </div>
    {_primary(run.metrics)}
  </header>
  <p class="meta">{_e(_architecture(run.config))} &middot; {_e(format_value(run.metrics.get("parameters", "")))}
   parameters &middot; trained {_e(format_value(run.metrics.get("train_seconds", "")))} s &middot; finished
   {_e(finished)} &middot; <a href="{folder_href}/">{_e(os.path.relpath(run.path, root))}</a></p>
  <pre class="command">{_e(_command(run))}</pre>
  {missing_note}
  {showcase}
  <div class="tables">
    <details open><summary>metrics</summary>{_key_value_table(metric_rows, "metrics")}</details>
    <details><summary>config</summary>{_key_value_table(config_rows, "config")}</details>
  </div>
  {earlier}
</section>"""


def _primary_text(metrics: dict[str, Any]) -> str:
    primary = metrics.get("primary")
    if not isinstance(primary, dict):
        return "no primary metric"
    return f"{primary.get('name', '')} = {format_value(primary.get('value'))}"


_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def markdown_to_html(text: str) -> str:
    """The Markdown a compare run writes: headings, pipe tables and paragraphs (everything escaped)."""
    blocks: list[str] = []
    lines = text.splitlines()
    index = 0
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{_e(' '.join(paragraph))}</p>")
            paragraph.clear()

    while index < len(lines):
        line = lines[index].strip()
        if line.startswith("|") and index + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[index + 1].strip()):
            flush()
            header = _cells(line)
            index += 2
            rows = []
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(_cells(lines[index].strip()))
                index += 1
            blocks.append(_table({"columns": header, "rows": rows}))
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + 2)
            blocks.append(f"<h{level}>{_e(heading.group(2))}</h{level}>")
        elif not line:
            flush()
        else:
            paragraph.append(line)
        index += 1
    flush()
    return "".join(blocks)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def compare_section(compare: CompareFolder, root: Path) -> str:
    plots = "".join(_media("images", plot, plot.stem.replace("_", " "), root) for plot in compare.plots)
    files = "".join(_media("links", path, path.name, root) for path in compare.files)
    finished = datetime.datetime.fromtimestamp(compare.finished_at).strftime("%Y-%m-%d %H:%M")
    return f"""
<section class="card compare" id="compare">
  <header><div class="heading"><h2>compare</h2>
  <p class="description">architectures across tasks: {_e(os.path.relpath(compare.path, root))},
   finished {_e(finished)}</p>
  </div></header>
  <div class="markdown">{markdown_to_html(compare.markdown)}</div>
  <div class="images">{plots}</div>
  <ul class="links">{files}</ul>
</section>"""


STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d1d1f;
  background: #f5f6f8; }
body > header, main { max-width: 1180px; margin: 0 auto; padding: 0 18px; }
body > header { padding-top: 18px; }
h1 { margin: 0 0 4px; }
nav a { margin-right: 12px; }
.legend .swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid; border-radius: 3px;
  margin: 0 4px 0 10px; vertical-align: middle; }
.card { background: #fff; border-radius: 10px; box-shadow: 0 1px 4px rgba(0,0,0,.12); margin: 18px 0;
  padding: 14px 18px; }
.card > header { display: flex; gap: 18px; align-items: center; flex-wrap: wrap; }
.card h2 { margin: 0; }
.heading { flex: 1 1 320px; }
.heading p { margin: 2px 0; }
.layout { color: #555; font-style: italic; }
.diagrams { display: flex; gap: 10px; }
.primary { margin: 0; text-align: right; }
.primary .value { font-size: 28px; font-weight: 600; display: block; }
.primary .direction, .meta, .file { color: #666; font-size: 13px; }
pre { background: #f3f3f6; padding: 8px 10px; border-radius: 6px; overflow-x: auto; font-size: 12.5px; margin: 4px 0; }
pre.command { background: #232834; color: #e8e8e8; }
.images { display: flex; flex-wrap: wrap; gap: 14px; align-items: flex-start; }
figure { margin: 8px 0; }
figure.image img { max-width: 100%; max-height: 420px; border: 1px solid #ddd; border-radius: 4px; background: #fff; }
figure.image { max-width: 100%; }
figcaption { font-size: 13px; color: #444; }
.audios { display: flex; flex-wrap: wrap; gap: 14px; }
mark.support { background: #fff2a8; font-weight: 600; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table.metrics th, table.config th { background: #fafafa; font-weight: 500; }
table.data thead th { background: #eef1f6; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
.scroll { overflow-x: auto; }
.tables { display: flex; gap: 18px; flex-wrap: wrap; align-items: flex-start; }
.missing { color: #a03000; }
table.summary td.value { text-align: right; font-variant-numeric: tabular-nums; }
"""


def render(gallery: Gallery) -> str:
    """The whole page."""
    root = gallery.root
    latest = gallery.latest_by_app()
    known = list(_app_entries())
    order = [name for name in known if name in latest] + sorted(name for name in latest if name not in known)
    cards = []
    summary_rows = []
    for name in order:
        run = latest[name]
        others = sorted(
            (other for other in gallery.runs if other.app == name and other is not run),
            key=lambda other: -other.finished_at,
        )
        cards.append(card(run, root, others))
        primary = run.metrics.get("primary") if isinstance(run.metrics.get("primary"), dict) else {}
        summary_rows.append(
            f'<tr><td><a href="#app-{_e(name)}">{_e(name)}</a></td><td>{_e(_architecture(run.config))}</td>'
            f"<td>{_e(primary.get('name', ''))}</td>"
            f'<td class="value">{_e(format_value(primary.get("value")))}</td>'
            f'<td class="value">{_e(format_value(run.metrics.get("parameters")))}</td>'
            f'<td class="value">{_e(format_value(run.metrics.get("train_seconds")))}</td></tr>'
        )
    not_run = [name for name in known if name not in latest]
    not_run_note = ""
    if not_run:
        commands = ", ".join(f"python -m gallery.{name}" for name in not_run)
        not_run_note = f'<p class="not-run">No finished run yet for: {_e(commands)}.</p>'
    compare_html = ""
    nav_compare = ""
    if gallery.compares:
        newest = max(gallery.compares, key=lambda compare: compare.finished_at)
        compare_html = compare_section(newest, root)
        nav_compare = '<a href="#compare">compare</a>'
    nav = "".join(f'<a href="#app-{_e(name)}">{_e(name)}</a>' for name in order) + nav_compare
    generated = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    empty = (
        ""
        if order or gallery.compares
        else "<p>No finished runs here yet: run <code>python -m gallery tour</code>.</p>"
    )
    summary = (
        '<table class="summary"><thead><tr><th>app</th><th>architecture</th><th>headline metric</th><th>value</th>'
        f"<th>parameters</th><th>train s</th></tr></thead><tbody>{''.join(summary_rows)}</tbody></table>"
        if summary_rows
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>rnn-gallery: {len(order)} applications</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>rnn-gallery</h1>
<p>The latest finished run of each application in <code>{_e(root.resolve())}</code>, generated {_e(generated)}
 by <code>python -m gallery.report</code>.</p>
{diagrams.legend()}
<nav>{nav}</nav>
</header>
<main>
{empty}{summary}{not_run_note}
{"".join(cards)}
{compare_html}
</main>
</body>
</html>
"""


def write_page(root: Path | str) -> Path:
    """Find the runs below `root` and write root/index.html (atomically); returns its path."""
    from gallery.runs import write_text

    gallery = discover(root)
    return write_text(Path(root) / INDEX, render(gallery))
