"""The hello network's verb on a trained run: `predict` reads characters and names the next one after each."""

from __future__ import annotations

import argparse

import keras
import numpy as np

from gallery import runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.hello.data import vocabulary
from gallery.trained import TrainedRun


class HelloRun(TrainedRun):
    """The trained hello network: `predict("hell")` gives the character it expects after each one ("ello")."""

    def __init__(self, loaded: runs.LoadedRun):
        super().__init__(loaded)
        self.vocabulary = vocabulary(loaded.config["data"])

    def predict(self, text: str) -> str:
        unknown = sorted(set(text) - set(self.vocabulary))
        if not text or unknown:
            raise UsageError(
                f"--text needs characters of the vocabulary {self.vocabulary}"
                + (f"; not in it: {', '.join(map(repr, unknown))}" if unknown else "")
            )
        one_hot = np.eye(len(self.vocabulary), dtype=np.float32)[[self.vocabulary.index(char) for char in text]]
        logits = np.asarray(keras.ops.convert_to_numpy(self.model(one_hot[None], training=False)))
        return "".join(self.vocabulary[index] for index in logits[0].argmax(-1))


def _configure_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a finished hello run folder")
    parser.add_argument("--text", default="hell", help="characters to read (default: hell)")


def _predict(args: argparse.Namespace) -> int:
    trained = HelloRun(runs.load_run(args.run, "hello"))
    print(f"{args.text!r} -> next characters {trained.predict(args.text)!r}")
    return 0


VERBS = [
    Verb("predict", "the next character the network expects after each one of --text", _configure_predict, _predict)
]
