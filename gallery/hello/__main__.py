"""Run the hello demo: python -m gallery.hello --help."""

from gallery.cli import main
from gallery.hello import APP

main(APP)
