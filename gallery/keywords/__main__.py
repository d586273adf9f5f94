"""Run keyword recognition: python -m gallery.keywords --help."""

from gallery.cli import main
from gallery.keywords.app import APP

main(APP)
