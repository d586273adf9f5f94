"""`python -m gallery`: lists the applications with their layout and what each does."""

from __future__ import annotations

import sys

from gallery.apps import available


def main(argv: list[str] | None = None) -> int:
    entries = available()
    width = max(len(entry.name) for entry in entries)
    print("rnn-gallery applications (python -m gallery.<name> --help):\n")
    for entry in entries:
        print(f"  {entry.name:<{width}}  {entry.layout:<38} {entry.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
