"""The README results tables agree with the records in benchmarks/results/, and a measurement writes its record."""

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
records = importlib.import_module("records")
tables = importlib.import_module("tables")
render_readmes = importlib.import_module("render_readmes")
measure = importlib.import_module("measure")


def test_every_readme_table_is_what_its_records_give():
    stale = [str(path.relative_to(records.ROOT)) for path in render_readmes.stale_readmes()]
    assert stale == [], f"run `python benchmarks/render_readmes.py`: {stale}"


def test_every_record_names_its_command_commit_machine_and_date():
    for name, record in records.load_records().items():
        assert record["command"].strip(), name
        assert record["commit"], name
        assert record["date"], name
        assert "primary" in record["metrics"], name


def _record(value, **changes):
    return {
        "name": "toy",
        "command": "python -m gallery.hello",
        "commit": "abcdef123456",
        "dirty": False,
        "machine": {"cores": 2, "gpus": []},
        "date": "2026-01-01 00:00 UTC",
        "wall_seconds": 75.0,
        "metrics": {"primary": {"name": "accuracy", "value": value, "higher_is_better": True}},
        **changes,
    }


def test_a_hand_edited_figure_is_caught(monkeypatch):
    monkeypatch.setitem(tables.TABLES, "toy", tables.Table((tables.Row("toy", "hello demo", format="percent"),)))
    text = "# Toy\n\n<!-- results: toy -->\n<!-- end results -->\n"
    filled = render_readmes.rendered(text, {"toy": _record(0.5)})
    assert "| hello demo | accuracy | **50.0%** | - | 1 min 15 s | 2-core CPU | abcdef1 |" in filled
    assert render_readmes.rendered(filled, {"toy": _record(0.5)}) == filled
    edited = filled.replace("**50.0%**", "**55.0%**")
    assert render_readmes.rendered(edited, {"toy": _record(0.5)}) != edited


def test_an_accuracy_with_an_interval_shows_it(monkeypatch):
    monkeypatch.setitem(tables.TABLES, "toy", tables.Table((tables.Row("toy", "hello demo", format="percent"),)))
    record = _record(0.5)
    record["metrics"]["primary"]["interval95"] = [0.2366, 0.7634]
    filled = render_readmes.rendered("<!-- results: toy -->\n<!-- end results -->", {"toy": record})
    assert "| **50.0%** (23.7% to 76.3%) |" in filled


def test_a_table_naming_a_missing_record_or_table_is_an_error(monkeypatch):
    monkeypatch.setitem(tables.TABLES, "toy", tables.Table((tables.Row("absent", "x"),)))
    with pytest.raises(ValueError, match="names record 'absent'"):
        render_readmes.rendered("<!-- results: toy -->\n<!-- end results -->", {})
    with pytest.raises(ValueError, match="no table named 'nowhere'"):
        render_readmes.rendered("<!-- results: nowhere -->\n<!-- end results -->", {})


def test_uncommitted_and_transcribed_records_say_so(monkeypatch):
    monkeypatch.setitem(tables.TABLES, "toy", tables.Table((tables.Row("toy", "hello demo"),)))
    record = _record(0.5, dirty=True, provenance="transcribed from the report of commit abcdef1")
    filled = render_readmes.rendered("<!-- results: toy -->\n<!-- end results -->", {"toy": record})
    assert "abcdef1 (uncommitted changes)" in filled
    assert "hello demo †" in filled and "† transcribed" in filled


def test_measure_runs_the_command_and_records_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "RESULTS", tmp_path / "results")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gallery.hello", "--preset", "smoke", "--out", str(out)]
    assert measure.main(["hello-smoke", "--", *command]) == 0
    record = json.loads((tmp_path / "results" / "hello-smoke.json").read_text())
    assert record["metrics"]["primary"]["value"] == json.loads((out / "metrics.json").read_text())["primary"]["value"]
    assert record["wall_seconds"] > 0 and record["machine"]["cores"] >= 1
    assert record["command"].endswith(f"--out {out}")
    with pytest.raises(SystemExit):  # the run folder exists now: a second record would not measure a whole run
        measure.main(["hello-smoke", "--", *command])
