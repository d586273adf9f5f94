"""Scaffold for new applications: `python -m gallery new NAME --layout LAYOUT` writes a runnable package NAME/."""
