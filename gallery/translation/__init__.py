"""Sequence-to-sequence translation with attention: python -m gallery.translation --help."""
