"""`python -m gallery`: lists the applications with their layout and what each does.

python -m gallery                              # the list
python -m gallery tour [--preset demo|smoke] [--out RUNS_DIR]      # train every app, then write the page
python -m gallery new NAME --layout many_to_one [--dir DIR]       # a new application from a template
"""

from __future__ import annotations

import sys

from gallery.apps import available


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "tour":
        from gallery.report.tour import main as tour

        return tour(argv[1:])
    if argv and argv[0] == "new":
        from gallery.scaffold.generate import main as new

        return new(argv[1:])
    entries = available()
    width = max(len(entry.name) for entry in entries)
    print("rnn-gallery applications (python -m gallery.<name> --help):\n")
    for entry in entries:
        print(f"  {entry.name:<{width}}  {entry.layout:<38} {entry.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
