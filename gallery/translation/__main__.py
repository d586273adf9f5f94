"""Run the translation app: python -m gallery.translation --help."""

from gallery.cli import main
from gallery.translation import APP

main(APP)
