"""Run the comparison: python -m gallery.compare --help; the probes: python -m gallery.compare probes --help."""

from gallery.compare.app import main

main()
