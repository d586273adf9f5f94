"""Train the music model or compose with it: python -m gallery.music --help."""

from gallery.cli import main
from gallery.music import APP

main(APP)
