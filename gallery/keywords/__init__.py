"""Spoken keyword recognition: python -m gallery.keywords --help."""
