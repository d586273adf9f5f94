"""The HTML pieces of the gallery page: escaping, relative links, values, tables, texts, media, Markdown.

Every asset is referenced by a relative path below the runs folder, so the folder can be zipped, copied or opened
with file://; all text is escaped.
"""

from __future__ import annotations

import html
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

MAX_LIST_ITEMS = 12


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def href(path: Path, root: Path) -> str:
    """A relative URL from index.html (in `root`) to `path`, each segment percent-encoded."""
    relative = os.path.relpath(path, root)
    return "/".join(quote(part) for part in Path(relative).parts)


def inside(path: Path, folder: Path) -> bool:
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


def flatten(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not prefix:
            rows.extend(flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def key_value_table(rows: list[tuple[str, Any]], css: str) -> str:
    body = "".join(f"<tr><th>{escape(key)}</th><td>{escape(format_value(value))}</td></tr>" for key, value in rows)
    return f'<table class="{css}">{body}</table>'


def data_table(table: dict[str, Any]) -> str:
    columns = table.get("columns") or []
    rows = table.get("rows") or []
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(format_value(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    caption = f"<caption>{escape(table.get('title', ''))}</caption>" if table.get("title") else ""
    return (
        f'<div class="scroll"><table class="data">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


HIGHLIGHT_MARK = "\u00bb"  # a line of a showcase text that starts with » is shown highlighted, in every app


def highlighted(app: str, line: str) -> bool:
    stripped = line.lstrip()
    if stripped.startswith(HIGHLIGHT_MARK):
        return True
    # bAbI convention: the supporting facts of an answer are starred or tagged in the story printout.
    return app == "qa" and (stripped.startswith("*") or "[supporting" in stripped.lower())


def text_block(app: str, title: str, text: str) -> str:
    lines = []
    for line in str(text).splitlines() or [""]:
        escaped = escape(line)
        lines.append(f'<mark class="support">{escaped}</mark>' if highlighted(app, line) else escaped)
    return f'<figure class="text"><figcaption>{escape(title)}</figcaption><pre>{chr(10).join(lines)}</pre></figure>'


def media(kind: str, path: Path, caption: str, root: Path) -> str:
    link = escape(href(path, root))
    if kind == "images":
        return (
            f'<figure class="image"><a href="{link}"><img src="{link}" alt="{escape(caption)}" loading="eager"></a>'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    if kind == "audio":
        return (
            f'<figure class="audio"><figcaption>{escape(caption)}</figcaption>'
            f'<audio controls preload="metadata" src="{link}"></audio></figure>'
        )
    return f'<li><a href="{link}">{escape(caption or path.name)}</a> <span class="file">{escape(path.name)}</span></li>'


TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def markdown_to_html(text: str) -> str:
    """The Markdown a compare run writes: headings, pipe tables and paragraphs (everything escaped)."""
    blocks: list[str] = []
    lines = text.splitlines()
    index = 0
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{escape(' '.join(paragraph))}</p>")
            paragraph.clear()

    while index < len(lines):
        line = lines[index].strip()
        if line.startswith("|") and index + 1 < len(lines) and TABLE_SEPARATOR.match(lines[index + 1].strip()):
            flush()
            header = cells(line)
            index += 2
            rows = []
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(cells(lines[index].strip()))
                index += 1
            blocks.append(data_table({"columns": header, "rows": rows}))
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + 2)
            blocks.append(f"<h{level}>{escape(heading.group(2))}</h{level}>")
        elif not line:
            flush()
        else:
            paragraph.append(line)
        index += 1
    flush()
    return "".join(blocks)


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]
