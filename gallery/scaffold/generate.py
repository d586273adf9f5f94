"""`python -m gallery new NAME --layout LAYOUT [--dir DIR]`: a new application package from a template.

The templates are plain text files under gallery/scaffold/templates/ (shipped as package data): `common/` for the
files every layout shares and one folder per layout for data.py, model.py, metrics.py, verbs.py and the test.
`{{name}}`, `{{class_name}}`, `{{layout}}` and the fields of the layout's `layouts.Layout` are replaced; a line
holding only a placeholder whose value is empty is left out; `test_app.py.tmpl` becomes `test_<NAME>.py`.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from gallery.cli import OneLineParser
from gallery.errors import UsageError
from gallery.scaffold.layouts import LAYOUTS

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
ALONE = re.compile(r"^[ \t]*\{\{(\w+)\}\}[ \t]*\n", re.MULTILINE)


def _templates():
    return resources.files("gallery.scaffold") / "templates"


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or keyword.iskeyword(name):
        raise UsageError(
            f"NAME {name!r} must be a Python package name: lower-case letters, digits and _, starting with a letter"
        )
    if importlib.util.find_spec(name) is not None:
        raise UsageError(f"NAME {name!r} is already an importable module and would shadow it; choose another name")


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def render(text: str, values: dict[str, str]) -> str:
    """The template with its placeholders filled; a placeholder alone on its line and empty drops the line."""
    text = ALONE.sub(lambda match: "" if values.get(match.group(1), None) == "" else match.group(0), text)

    def substitute(match: re.Match) -> str:
        if match.group(1) not in values:
            raise KeyError(f"template placeholder {match.group(0)} has no value")
        return values[match.group(1)]

    return PLACEHOLDER.sub(substitute, text)


def generate(name: str, layout: str, directory: Path | str = ".", *, force: bool = False) -> Path:
    """Write package `name` for `layout` into `directory`; returns the package folder."""
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    check_name(name)
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"--dir {directory} is not a folder; create it first")
    package = directory / name
    if package.exists() and any(package.iterdir()) and not force:
        raise UsageError(f"{package} already exists and is not empty; choose another NAME or --dir (or --force)")
    values = {"name": name, "class_name": class_name(name), "layout": layout, **LAYOUTS[layout].values()}
    package.mkdir(parents=True, exist_ok=True)
    for folder in ("common", layout):
        for template in sorted(_templates().joinpath(folder).iterdir(), key=lambda item: item.name):
            if not template.name.endswith(".tmpl"):
                continue
            target = template.name.removesuffix(".tmpl")
            if target == "test_app.py":
                target = f"test_{name}.py"
            (package / target).write_text(render(template.read_text(encoding="utf-8"), values), encoding="utf-8")
    return package


def new_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m gallery new",
        description="Write a new application package NAME/ (python -m NAME) from a template; it trains at once on "
        "a toy dataset it generates.",
    )
    parser.add_argument("name", metavar="NAME", help="package name, e.g. my_tagger")
    parser.add_argument("--layout", required=True, choices=list(LAYOUTS), help="the recurrent layout")
    parser.add_argument("--dir", default=".", help="folder to write NAME/ into (default: the current folder)")
    parser.add_argument("--force", action="store_true", help="overwrite the files of an existing NAME/")
    return parser


def main(argv: Sequence[str]) -> int:
    arguments = new_parser().parse_args(list(argv))
    try:
        package = generate(arguments.name, arguments.layout, arguments.dir, force=arguments.force)
    except UsageError as error:
        print(f"python -m gallery new: error: {error}", file=sys.stderr)
        return 2
    where = Path(arguments.dir)
    print(f"wrote {package}/ ({LAYOUTS[arguments.layout].layout_text}); try it:")
    cd = f"cd {where} && " if where != Path(".") else ""
    print(f"  {cd}python -m {arguments.name} --preset smoke")
    print(f"  {cd}python -m pytest {arguments.name}")
    return 0
