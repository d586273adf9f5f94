"""Run question answering on bAbI-style stories: python -m gallery.qa --help."""

from gallery.cli import main
from gallery.qa import APP

main(APP)
