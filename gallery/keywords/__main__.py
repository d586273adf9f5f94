"""Run keyword recognition: python -m gallery.keywords --help."""

from gallery.cli import main
from gallery.keywords import APP

main(APP)
