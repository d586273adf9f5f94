"""The captioning verb: caption image files with a trained run, and draw where the decoder looked."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import gallery.captioning.model  # noqa: F401  (registers the captioning layers and head before a model loads)
from datasets import captions as caption_data
from gallery import runs
from gallery.captioning.captioner import Captioner
from gallery.captioning.config import CaptioningConfig
from gallery.captioning.data import VOCABULARY_FILE
from gallery.captioning.plots import attention_figure
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.trained import TrainedRun


class CaptioningRun(TrainedRun):
    """A trained captioner: `predict(images, beam=1)` gives one caption per image, as the `caption` verb does."""

    def __init__(self, loaded: runs.LoadedRun):
        super().__init__(loaded)
        vocabulary = caption_data.Vocabulary(loaded.read_json(VOCABULARY_FILE))
        try:
            self.captioner = Captioner(loaded.model, vocabulary, int(loaded.config.get("max_length", 30)))
        except ValueError as error:
            raise UsageError(f"{loaded.run_dir}: {error}") from None
        self.image_size = int(loaded.config.get("image_size", 64))

    def images(self, paths: list[str]) -> np.ndarray:
        """Image files as the model reads them: resized to its square size, RGB, 0-1 floats."""
        try:
            return np.stack([caption_data.load_image(path, self.image_size) for path in paths]).astype(np.float32)
        except caption_data.ImageError as error:
            raise UsageError(str(error)) from None

    def predict(self, images, beam: int = 1) -> list[str]:
        """Captions of image files (paths) or of an array (images, size, size, 3) of 0-1 floats."""
        if not isinstance(images, np.ndarray):
            images = self.images(list(images))
        return [self.captioner.vocabulary.decode(ids) for ids in self.captioner.caption(images, beam=beam)]


def _configure_caption(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any size or colour mode)")
    parser.add_argument("--run", required=True, help="a finished captioning run folder")
    parser.add_argument("--beam", type=int, default=1, help="beam width (1 = greedy; default 1)")
    parser.add_argument(
        "--maps", default=None, help="folder for attention maps (attention models; default: <run>/attention_maps)"
    )


def caption_command(args: argparse.Namespace) -> int:
    if args.beam < 1:
        raise UsageError(f"--beam must be at least 1, got {args.beam}")
    trained = CaptioningRun(runs.load_run(args.run, CaptioningConfig.APP))
    captioner = trained.captioner
    images = trained.images(args.images)
    token_lists = captioner.caption(images, beam=args.beam)
    maps_dir = Path(args.maps) if args.maps else Path(args.run) / "attention_maps"
    for path, image, ids in zip(args.images, images, token_lists):
        print(f"{path}: {captioner.vocabulary.decode(ids)}")
        if captioner.has_attention:
            maps = captioner.attention(image, ids)
            words = [captioner.vocabulary.words[i] for i in ids] + ["[end]"]
            written = attention_figure(image, words, maps, maps_dir / f"{Path(path).stem}_attention.png")
            print(f"  attention map: {written}")
    return 0


VERBS = [Verb("caption", "caption image files with a trained run", _configure_caption, caption_command)]
