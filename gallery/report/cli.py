"""Command lines of the page and the tour: `python -m gallery.report [RUNS_DIR]`, `python -m gallery tour`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gallery.cli import OneLineParser
from gallery.errors import UsageError
from gallery.run_folders import RUNS_ROOT


def report_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m gallery.report",
        description="Write RUNS_DIR/index.html: one card per application's latest finished run, readable offline.",
    )
    parser.add_argument("runs_dir", nargs="?", default=str(RUNS_ROOT), help="folder of run folders (default: runs)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = report_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        from gallery.report.page import write_page

        path = write_page(arguments.runs_dir)
    except UsageError as error:
        print(f"python -m gallery.report: error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0
