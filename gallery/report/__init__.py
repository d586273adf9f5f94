"""The gallery page (`python -m gallery.report RUNS_DIR`) and the tour that fills it (`python -m gallery tour`)."""
