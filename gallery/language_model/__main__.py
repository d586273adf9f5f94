"""Train the language model or run its verbs: python -m gallery.language_model --help."""

from gallery.cli import main
from gallery.language_model import APP

main(APP)
