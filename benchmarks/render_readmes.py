"""Render the README results tables from the records in benchmarks/results/.

    python benchmarks/render_readmes.py           # rewrite every table between its markers
    python benchmarks/render_readmes.py --check   # exit 1 naming each README whose tables differ from the records

A table sits between `<!-- results: NAME -->` and `<!-- end results -->` in a README; benchmarks/tables.py says
which records fill it. tests/test_results_tables.py runs the check, so a README never quotes a figure that no record
holds.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import records  # noqa: E402
import tables  # noqa: E402

MARKED = re.compile(r"(<!-- results: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end results -->)", re.DOTALL)


def readmes() -> list[Path]:
    found = [records.ROOT / "README.md", *sorted((records.ROOT / "gallery").glob("*/README.md"))]
    return [path for path in found if path.is_file()]


def rendered(text: str, all_records: dict) -> str:
    """The README text with every marked table rendered afresh; an unknown table name is an error."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name not in tables.TABLES:
            raise ValueError(f"no table named {name!r} in benchmarks/tables.py (known: {', '.join(tables.TABLES)})")
        return match.group(1) + tables.render(tables.TABLES[name], all_records) + match.group(4)

    return MARKED.sub(fill, text)


def stale_readmes() -> list[Path]:
    """The READMEs whose tables differ from what the records give."""
    all_records = records.load_records()
    return [path for path in readmes() if rendered(path.read_text(encoding="utf-8"), all_records) != path.read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a table differs from its records")
    args = parser.parse_args(argv)
    stale = stale_readmes()
    if args.check:
        for path in stale:
            print(f"{path.relative_to(records.ROOT)}: a results table differs from its records", file=sys.stderr)
        return 1 if stale else 0
    all_records = records.load_records()
    for path in stale:
        path.write_text(rendered(path.read_text(encoding="utf-8"), all_records), encoding="utf-8")
        print(f"rendered {path.relative_to(records.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
