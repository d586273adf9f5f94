"""`python -m gallery new`: every layout's package is complete Python, runs its smoke run and passes its own test."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gallery.__main__ import main as gallery_main
from gallery.scaffold import generate

EXPECTED_FILES = {
    "__init__.py",
    "__main__.py",
    "config.py",
    "data.py",
    "model.py",
    "train.py",
    "metrics.py",
    "verbs.py",
    "tsv.py",
    "README.md",
    "conftest.py",
    "test_run.py",
}


def _environment(folder: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(folder), environment.get("PYTHONPATH", "")])
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environment["CUDA_VISIBLE_DEVICES"] = ""
    return environment


# Every package's `python -m NAME --preset smoke` in one fresh process: TensorFlow is imported once, not four times.
SMOKE_RUNS = """
import runpy, sys
for name, out in zip(sys.argv[1::2], sys.argv[2::2]):
    sys.argv = [name, "--preset", "smoke", "--out", out]
    try:
        runpy.run_module(name, run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        if exit.code:
            raise
"""


def test_every_layout_trains_from_the_command_line_and_passes_its_own_tests(tmp_path):
    """Generate every layout, train each smoke preset through its __main__, then run all their tests at once."""
    names = {layout: f"my_{layout}" for layout in generate.LAYOUTS}
    for layout, name in names.items():
        assert gallery_main(["new", name, "--layout", layout, "--dir", str(tmp_path)]) == 0
    environment = _environment(tmp_path)
    arguments = [part for name in names.values() for part in (name, str(tmp_path / f"run_{name}"))]
    trained = subprocess.run(
        [sys.executable, "-c", SMOKE_RUNS, *arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    for name in names.values():
        assert f"run folder: {tmp_path / f'run_{name}'}" in trained.stdout
        metrics = json.loads((tmp_path / f"run_{name}" / "metrics.json").read_text())
        assert 0.0 <= metrics["primary"]["value"] <= 1.0
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *names.values()],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert tested.returncode == 0, tested.stdout[-3000:]
    passed = re.search(r"\b(\d+) passed\b", tested.stdout)
    assert passed and int(passed.group(1)) >= 4 * 4 and not re.search(r"\b\d+ (failed|error)", tested.stdout)


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
    config = (package / "config.py").read_text()
    assert 'APP = "my_app"' in config and "class MyAppConfig(RunConfig)" in config
    assert "budget_seconds" not in config
    init = (package / "__init__.py").read_text()
    assert init.startswith('"""my_app: ') and "APP = App(" in init and 'command="python -m my_app"' in init
    assert "train_and_evaluate=train_and_evaluate" in init and "verbs=VERBS" in init
    train = (package / "train.py").read_text()
    assert "return training.write_finished_run(" in train and "write_showcase" not in train
    assert 'VERBS = [Verb("predict"' in (package / "verbs.py").read_text()
    assert not (package / "app.py").exists()


@pytest.mark.parametrize("layout", list(generate.LAYOUTS))
def test_every_generated_package_is_lint_clean(tmp_path, layout):
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.is_file():
        pytest.skip("ruff is not installed beside this Python")
    package = generate.generate("my_app", layout, tmp_path)
    for command in ([str(ruff), "check", "--no-cache", str(package)], [str(ruff), "format", "--check", str(package)]):
        checked = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[2])
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_placeholder_alone_on_its_line_and_empty_drops_the_line():
    text = "a\n    {{field}}\nb {{field}}\n"
    assert generate.render(text, {"field": ""}) == "a\nb \n"
    assert generate.render(text, {"field": "x = 1"}) == "a\n    x = 1\nb x = 1\n"


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
    (tmp_path / "mine" / "model.py").write_text("# my edits\n")
    assert gallery_main(["new", "mine", "--layout", "seq2seq", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "mine" / "model.py").read_text() == "# my edits\n"
    assert gallery_main(["new", "mine", "--layout", "seq2seq", "--dir", str(tmp_path), "--force"]) == 0
    assert "my edits" not in (tmp_path / "mine" / "model.py").read_text()


def test_placeholders_without_a_value_fail_loudly():
    assert generate.render("x = {{name}}", {"name": "a"}) == "x = a"
    with pytest.raises(KeyError, match="has no value"):
        generate.render("{{nothing}}", {})
