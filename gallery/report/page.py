"""The gallery page: one static index.html over a folder of run folders, readable offline from disk.

It shows one card per application, for its most recent finished run (gallery.report.cards), and the newest
compare run's table and plots, found by gallery.report.folders. There is no script, no CDN and no web font.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from gallery.report import diagrams
from gallery.report.cards import app_entries, architecture, card, compare_section
from gallery.report.folders import Gallery, discover
from gallery.report.pieces import escape, format_value

INDEX = "index.html"

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
    known = list(app_entries())
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
            f'<tr><td><a href="#app-{escape(name)}">{escape(name)}</a></td><td>{escape(architecture(run.config))}</td>'
            f"<td>{escape(primary.get('name', ''))}</td>"
            f'<td class="value">{escape(format_value(primary.get("value")))}</td>'
            f'<td class="value">{escape(format_value(run.metrics.get("parameters")))}</td>'
            f'<td class="value">{escape(format_value(run.metrics.get("train_seconds")))}</td></tr>'
        )
    not_run = [name for name in known if name not in latest]
    not_run_note = ""
    if not_run:
        commands = ", ".join(f"python -m gallery.{name}" for name in not_run)
        not_run_note = f'<p class="not-run">No finished run yet for: {escape(commands)}.</p>'
    compare_html = ""
    nav_compare = ""
    if gallery.compares:
        newest = max(gallery.compares, key=lambda compare: compare.finished_at)
        compare_html = compare_section(newest, root)
        nav_compare = '<a href="#compare">compare</a>'
    nav = "".join(f'<a href="#app-{escape(name)}">{escape(name)}</a>' for name in order) + nav_compare
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
<p>The latest finished run of each application in <code>{escape(root.resolve())}</code>, generated {escape(generated)}
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
