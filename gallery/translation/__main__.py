"""Run the translation app: python -m gallery.translation --help."""

from gallery.cli import main
from gallery.translation.app import APP

main(APP)
