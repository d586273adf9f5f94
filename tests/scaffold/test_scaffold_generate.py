"""`python -m gallery new`: every layout's package is complete Python, runs its smoke run and passes its own test."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gallery.__main__ import main as gallery_main
from gallery.scaffold import generate

EXPECTED_FILES = {"__init__.py", "__main__.py", "app.py", "data.py", "tsv.py", "README.md"}


def _environment(folder: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(folder), environment.get("PYTHONPATH", "")])
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environment["CUDA_VISIBLE_DEVICES"] = ""
    return environment


def _smoke_and_test(tmp_path: Path, name: str, layout: str) -> None:
    """Generate, train the smoke preset from the command line, then run the package's own test, in fresh processes."""
    assert gallery_main(["new", name, "--layout", layout, "--dir", str(tmp_path)]) == 0
    environment = _environment(tmp_path)
    trained = subprocess.run(
        [sys.executable, "-m", name, "--preset", "smoke", "--out", str(tmp_path / "run")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert f"run folder: {tmp_path / 'run'}" in trained.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", tested.stdout) and not re.search(r"\b\d+ (failed|error)", tested.stdout)


def test_many_to_one_app_trains_and_passes_its_test(tmp_path):
    _smoke_and_test(tmp_path, "my_classifier", "many_to_one")


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["one_to_many", "many_to_many", "seq2seq"])
def test_every_layout_trains_and_passes_its_test(tmp_path, layout):
    _smoke_and_test(tmp_path, f"my_{layout}", layout)


@pytest.mark.parametrize("layout", list(generate.LAYOUTS))
def test_every_layout_renders_complete_python(tmp_path, layout):
    package = generate.generate("my_app", layout, tmp_path)
    names = {path.name for path in package.iterdir()}
    assert EXPECTED_FILES | {"test_my_app.py"} == names
    for path in package.iterdir():
        text = path.read_text(encoding="utf-8")
        assert "{{" not in text and "}}" not in text.replace("}}}", ""), path.name
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))
    assert 'APP = "my_app"' in (package / "app.py").read_text()
    assert "class MyAppConfig(RunConfig)" in (package / "app.py").read_text()


def test_bad_requests_are_one_line_and_status_2(tmp_path, capsys):
    cases = [
        ["new", "Bad-Name", "--layout", "many_to_one", "--dir", str(tmp_path)],
        ["new", "class", "--layout", "many_to_one", "--dir", str(tmp_path)],
        ["new", "json", "--layout", "many_to_one", "--dir", str(tmp_path)],
        ["new", "fine", "--layout", "many_to_one", "--dir", str(tmp_path / "missing")],
    ]
    for argv in cases:
        assert gallery_main(argv) == 2, argv
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == len(cases)
    assert "lower-case letters" in errors[0] and "lower-case letters" in errors[1]
    assert "shadow" in errors[2] and "not a folder" in errors[3]
    with pytest.raises(SystemExit) as raised:
        gallery_main(["new", "fine", "--layout", "one_to_one"])
    assert raised.value.code == 2


def test_an_existing_package_is_not_overwritten(tmp_path, capsys):
    assert gallery_main(["new", "mine", "--layout", "seq2seq", "--dir", str(tmp_path)]) == 0
    (tmp_path / "mine" / "app.py").write_text("# my edits\n")
    assert gallery_main(["new", "mine", "--layout", "seq2seq", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "mine" / "app.py").read_text() == "# my edits\n"
    assert gallery_main(["new", "mine", "--layout", "seq2seq", "--dir", str(tmp_path), "--force"]) == 0
    assert "my edits" not in (tmp_path / "mine" / "app.py").read_text()


def test_placeholders_without_a_value_fail_loudly():
    assert generate.render("x = {{name}}", {"name": "a"}) == "x = a"
    with pytest.raises(KeyError, match="has no value"):
        generate.render("{{nothing}}", {})
