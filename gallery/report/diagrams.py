"""Small inline SVG pictures of the recurrent layouts, in the style of Karpathy's "unreasonable effectiveness" figure.

Inputs are red boxes at the bottom, hidden states green boxes in the middle (the arrow between them is the
recurrence), outputs blue boxes on top. Four layouts: one-to-many, many-to-one, many-to-many (aligned) and
seq2seq (many-to-many, unaligned: the encoder reads everything before the decoder writes). An application's
layout string, such as "many-to-many; one-to-many sampling", maps to one or more of them with `layouts_in`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

ONE_TO_MANY = "one_to_many"
MANY_TO_ONE = "many_to_one"
MANY_TO_MANY = "many_to_many"
SEQ2SEQ = "seq2seq"
LAYOUTS = (ONE_TO_MANY, MANY_TO_ONE, MANY_TO_MANY, SEQ2SEQ)

TITLES = {
    ONE_TO_MANY: "one-to-many: one input, a sequence out",
    MANY_TO_ONE: "many-to-one: a sequence in, one output",
    MANY_TO_MANY: "many-to-many (aligned): an output for every input",
    SEQ2SEQ: "seq2seq: read the whole input, then write the output",
}

BOX = 16
PITCH = 26
MARGIN = 6
ROW_Y = {"output": MARGIN, "hidden": MARGIN + 30, "input": MARGIN + 60}
COLOURS = {
    "input": ("#f8d0cc", "#c0392b"),
    "hidden": ("#d5f0d5", "#2e7d32"),
    "decoder": ("#e6f4c7", "#558b2f"),
    "output": ("#cfe2f7", "#1f5fa8"),
}


@dataclass(frozen=True)
class _Step:
    has_input: bool
    has_output: bool
    decoder: bool = False


def _steps(layout: str) -> list[_Step]:
    if layout == ONE_TO_MANY:
        return [_Step(index == 0, True) for index in range(4)]
    if layout == MANY_TO_ONE:
        return [_Step(True, index == 3) for index in range(4)]
    if layout == MANY_TO_MANY:
        return [_Step(True, True) for _ in range(4)]
    if layout == SEQ2SEQ:
        return [_Step(True, False) for _ in range(3)] + [_Step(False, True, decoder=True) for _ in range(3)]
    raise ValueError(f"unknown layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")


def layouts_in(description: str) -> list[str]:
    """The layouts an application's layout string names, in order: "many-to-many; one-to-many sampling" gives two."""
    found = []
    for part in description.lower().replace("_", "-").split(";"):
        if "seq2seq" in part or "unaligned" in part or "encoder-decoder" in part:
            layout = SEQ2SEQ
        elif "one-to-many" in part:
            layout = ONE_TO_MANY
        elif "many-to-one" in part:
            layout = MANY_TO_ONE
        elif "many-to-many" in part:
            layout = MANY_TO_MANY
        else:
            continue
        if layout not in found:
            found.append(layout)
    return found


def _box(x: float, y: float, role: str) -> str:
    fill, stroke = COLOURS[role]
    return f'<rect x="{x}" y="{y}" width="{BOX}" height="{BOX}" rx="3" fill="{fill}" stroke="{stroke}"/>'


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    """A line with a small arrowhead drawn as a polygon (no <marker> ids that could clash between diagrams)."""
    line = f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" stroke-width="1.3"/>'
    if x1 == x2:  # vertical, pointing up
        head = f"{x2 - 3},{y2 + 4} {x2 + 3},{y2 + 4} {x2},{y2}"
    else:  # horizontal, pointing right
        head = f"{x2 - 4},{y2 - 3} {x2 - 4},{y2 + 3} {x2},{y2}"
    return line + f'<polygon points="{head}" fill="#555"/>'


def svg(layout: str) -> str:
    """The layout as an inline <svg> element with a <title>, about 110 x 90 pixels."""
    steps = _steps(layout)
    width = 2 * MARGIN + (len(steps) - 1) * PITCH + BOX
    height = ROW_Y["input"] + BOX + MARGIN
    parts = []
    for index, step in enumerate(steps):
        x = MARGIN + index * PITCH
        centre = x + BOX / 2
        hidden_y = ROW_Y["hidden"]
        parts.append(_box(x, hidden_y, "decoder" if step.decoder else "hidden"))
        if step.has_input:
            parts.append(_box(x, ROW_Y["input"], "input"))
            parts.append(_arrow(centre, ROW_Y["input"], centre, hidden_y + BOX))
        if step.has_output:
            parts.append(_box(x, ROW_Y["output"], "output"))
            parts.append(_arrow(centre, hidden_y, centre, ROW_Y["output"] + BOX))
        if index:
            parts.append(_arrow(x - PITCH + BOX, hidden_y + BOX / 2, x, hidden_y + BOX / 2))
    title = html.escape(TITLES[layout])
    return (
        f'<svg class="layout" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}" data-layout="{layout}">'
        f"<title>{title}</title>{''.join(parts)}</svg>"
    )


def legend() -> str:
    """One line explaining the colours, shown once on the page."""
    items = [("input", "input"), ("hidden", "recurrent state"), ("decoder", "decoder state"), ("output", "output")]
    swatches = []
    for role, label in items:
        fill, stroke = COLOURS[role]
        swatches.append(
            f'<span class="swatch" style="background:{fill};border-color:{stroke}"></span>{html.escape(label)}'
        )
    return '<p class="legend">' + " ".join(swatches) + "; arrows: data flow, left to right is time.</p>"
