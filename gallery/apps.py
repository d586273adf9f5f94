"""The gallery's applications: name, layout and one line each, in the order the README and the page show them."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the CLI loads TensorFlow; listing the apps should not
    from gallery.cli import App


@dataclass(frozen=True)
class AppEntry:
    name: str
    layout: str
    description: str


APPLICATIONS = (
    AppEntry("hello", "many-to-many (aligned)", 'the lecture\'s character RNN on "hello", every number shown'),
    AppEntry("captioning", "one-to-many", "image captioning of synthetic shape scenes (CNN encoder, RNN decoder)"),
    AppEntry("language_model", "many-to-many; one-to-many sampling", "character-level language model and sampler"),
    AppEntry("keywords", "many-to-one", "spoken keyword recognition from raw 16 kHz audio"),
    AppEntry("translation", "many-to-many (unaligned, seq2seq)", "encoder-decoder translation with attention"),
    AppEntry("qa", "many-to-one (story + question)", "question answering on bAbI-style stories"),
    AppEntry("music", "many-to-many; one-to-many generation", "polyphonic music: piano-roll modelling and generation"),
)


def available() -> list[AppEntry]:
    """The applications installed in this checkout (each is a subpackage whose `APP` the CLI runs)."""
    return [entry for entry in APPLICATIONS if _installed(entry.name)]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"gallery.{name}.config") is not None
    except ModuleNotFoundError:
        return False


def load(name: str) -> App:
    """The `App` object of an application, imported on demand (TensorFlow loads with it)."""
    return importlib.import_module(f"gallery.{name}").APP
