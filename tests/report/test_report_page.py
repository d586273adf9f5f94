"""The gallery page: a card per application, every referenced file present, text escaped, layouts drawn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from gallery.apps import APPLICATIONS
from gallery.report import diagrams, page, pieces


class _Collector(HTMLParser):
    """Every local reference (src, href) and every card's app name in a page."""

    def __init__(self):
        super().__init__()
        self.references: list[str] = []
        self.cards: list[str] = []
        self.marks: list[str] = []
        self.in_mark = False
        self.layouts: dict[str, list[str]] = {}
        self.current_card = None

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        for name in ("src", "href"):
            value = attributes.get(name)
            if value and not value.startswith(("#", "data:")):
                self.references.append(value)
        if tag == "section" and "data-app" in attributes:
            self.current_card = attributes["data-app"]
            self.cards.append(self.current_card)
        if tag == "svg" and self.current_card:
            self.layouts.setdefault(self.current_card, []).append(attributes.get("data-layout"))
        if tag == "mark":
            self.in_mark = True
            self.marks.append("")

    def handle_endtag(self, tag):
        if tag == "mark":
            self.in_mark = False

    def handle_data(self, data):
        if self.in_mark:
            self.marks[-1] += data


def _parse(root: Path) -> _Collector:
    collector = _Collector()
    collector.feed((root / "index.html").read_text(encoding="utf-8"))
    return collector


def test_page_has_a_card_for_every_application(gallery_runs):
    collector = _parse(gallery_runs)
    assert sorted(collector.cards) == sorted(entry.name for entry in APPLICATIONS)
    html = (gallery_runs / "index.html").read_text(encoding="utf-8")
    assert 'id="compare"' in html
    assert "No finished run yet" not in html


def test_every_referenced_file_exists_below_the_runs_folder(gallery_runs):
    references = _parse(gallery_runs).references
    assert len(references) > 20
    for reference in references:
        assert "://" not in reference, f"page references a remote resource: {reference}"
        target = (gallery_runs / unquote(reference)).resolve()
        assert target.exists(), reference
        assert gallery_runs.resolve() in [target, *target.parents], reference


def test_showcase_media_are_on_the_page(gallery_runs):
    html = (gallery_runs / "index.html").read_text(encoding="utf-8")
    assert '<audio controls preload="metadata" src="keywords/lstm-1x16-smoke/clip%201.wav">' in html
    assert 'src="music/lstm-1x16-smoke/piano_roll.png"' in html
    assert 'href="music/lstm-1x16-smoke/generated.mid"' in html
    assert 'src="keywords/lstm-1x16-smoke/confusion_matrix.png"' in html
    assert 'src="translation/lstm-1x16-smoke/attention_0.png"' in html
    assert "<caption>translations</caption>" in html
    # The hello smoke run is real: its before/after printout is shown as text.
    assert "before training" in html and 'src="hello/rnn-1x3-smoke/learning_curve.png"' in html


def test_text_is_escaped(gallery_runs):
    html = (gallery_runs / "index.html").read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; friends" in html


def test_qa_supporting_sentences_are_highlighted(gallery_runs):
    marks = _parse(gallery_runs).marks
    assert marks == ["* 2 John went to the garden."]


def test_each_card_draws_its_layouts(gallery_runs):
    layouts = _parse(gallery_runs).layouts
    assert layouts["hello"] == ["many_to_many"]
    assert layouts["translation"] == ["seq2seq"]
    assert layouts["captioning"] == ["one_to_many"]
    assert layouts["keywords"] == ["many_to_one"]
    assert layouts["qa"] == ["many_to_one"]
    assert layouts["music"] == ["many_to_many", "one_to_many"]


def test_compare_table_and_plot(gallery_runs):
    html = (gallery_runs / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="compare"') :]
    assert "<th>lstm-1x8</th>" in section and "<td>1.00</td>" in section
    assert 'src="compare/smoke-grid/primary_metric.png"' in section
    assert 'href="compare/smoke-grid/results.json"' in section


@pytest.mark.parametrize("layout", diagrams.LAYOUTS)
def test_diagrams_are_well_formed_svg(layout):
    element = ElementTree.fromstring(diagrams.svg(layout))
    assert element.tag.endswith("svg") and element.get("data-layout") == layout
    boxes = [child for child in element if child.tag.endswith("rect")]
    inputs = [box for box in boxes if box.get("fill") == diagrams.COLOURS["input"][0]]
    outputs = [box for box in boxes if box.get("fill") == diagrams.COLOURS["output"][0]]
    expected = {"one_to_many": (1, 4), "many_to_one": (4, 1), "many_to_many": (4, 4), "seq2seq": (3, 3)}
    assert (len(inputs), len(outputs)) == expected[layout]


def test_layout_strings_map_to_diagrams():
    assert diagrams.layouts_in("many-to-many (unaligned, seq2seq)") == ["seq2seq"]
    assert diagrams.layouts_in("many-to-many; one-to-many sampling") == ["many_to_many", "one_to_many"]
    assert diagrams.layouts_in("many_to_one") == ["many_to_one"]
    assert diagrams.layouts_in("a table") == []
    with pytest.raises(ValueError, match="choose one of"):
        diagrams.svg("one_to_one")


def test_latest_finished_run_is_the_card(tmp_path, write_app_run):
    older = write_app_run(tmp_path, "qa", folder="older", value=0.1)
    newer = write_app_run(tmp_path, "qa", folder="newer", value=0.9)
    inside_grid = write_app_run(tmp_path / "compare" / "grid", "qa", folder="grid-run", value=0.3)
    (tmp_path / "compare" / "grid" / "results.json").write_text("[]")
    stamp = time.time()
    os.utime(older / "metrics.json", (stamp - 100, stamp - 100))
    os.utime(newer / "metrics.json", (stamp - 50, stamp - 50))
    os.utime(inside_grid / "metrics.json", (stamp, stamp))
    unfinished = tmp_path / "qa" / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text(json.dumps({"app": "qa"}))
    gallery = page.discover(tmp_path)
    assert gallery.latest_by_app()["qa"].path == newer
    assert len(gallery.runs) == 3
    html = page.render(gallery)
    assert "other runs of qa (2)" in html
    assert html.count('data-app="qa"') == 1


def test_missing_showcase_files_are_named_not_linked(tmp_path, write_app_run):
    run_dir = write_app_run(tmp_path, "music")
    (run_dir / "piano_roll.png").unlink()
    showcase = json.loads((run_dir / "showcase.json").read_text())
    showcase["images"].append({"path": "../../../etc/passwd", "caption": "outside"})
    (run_dir / "showcase.json").write_text(json.dumps(showcase))
    html = page.render(page.discover(tmp_path))
    assert "piano_roll.png" in html and 'src="music/lstm-1x16-smoke/piano_roll.png"' not in html
    assert "passwd" in html and 'passwd"' not in html
    assert "showcase.json names files the run folder lacks" in html


def test_markdown_tables_and_headings():
    html = pieces.markdown_to_html("# Title\n\nsome <b>text</b>\n\n| a | b |\n|:--|--:|\n| 1 | <2> |\n")
    assert html.startswith("<h3>Title</h3><p>some &lt;b&gt;text&lt;/b&gt;</p>")
    assert "<th>a</th><th>b</th>" in html and "<td>&lt;2&gt;</td>" in html


def test_format_value():
    assert pieces.format_value(3.0) == "3"
    assert pieces.format_value(0.123456) == "0.1235"
    assert pieces.format_value(12345) == "12,345"
    assert pieces.format_value(True) == "true"
    assert pieces.format_value(list(range(20))).endswith("(20 values)")


def test_report_command_errors_and_output(tmp_path, capsys):
    from gallery.report.cli import main

    assert main([str(tmp_path / "nowhere")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "does not exist" in error[0]
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "index.html")
    assert "No finished runs here yet" in (tmp_path / "index.html").read_text()


def test_report_module_runs_as_a_command(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "gallery.report", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines()[-1].startswith("python -m gallery.report: error: runs folder")
