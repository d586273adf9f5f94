"""Run image captioning: python -m gallery.captioning --help."""

from gallery.captioning import APP
from gallery.cli import main

main(APP)
