"""Run the music app: python -m gallery.music --help."""

from gallery.cli import main
from gallery.music.app import APP

main(APP)
