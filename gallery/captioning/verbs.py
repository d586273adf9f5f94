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


def load_captioner(run_dir: str | Path) -> tuple[Captioner, dict]:
    """The captioner of a finished run and its config, in a fresh process."""
    loaded = runs.load_run(run_dir, CaptioningConfig.APP)
    vocabulary = caption_data.Vocabulary(loaded.read_json(VOCABULARY_FILE))
    try:
        captioner = Captioner(loaded.model, vocabulary, int(loaded.config.get("max_length", 30)))
    except ValueError as error:
        raise UsageError(f"{loaded.run_dir}: {error}") from None
    return captioner, loaded.config


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
    captioner, config = load_captioner(args.run)
    size = int(config.get("image_size", 64))
    try:
        images = np.stack([caption_data.load_image(path, size) for path in args.images])
    except caption_data.ImageError as error:
        raise UsageError(str(error)) from None
    token_lists = captioner.caption(images.astype(np.float32), beam=args.beam)
    maps_dir = Path(args.maps) if args.maps else Path(args.run) / "attention_maps"
    for path, image, ids in zip(args.images, images, token_lists):
        print(f"{path}: {captioner.vocabulary.decode(ids)}")
        if captioner.has_attention:
            maps = captioner.attention(image.astype(np.float32), ids)
            words = [captioner.vocabulary.words[i] for i in ids] + ["[end]"]
            written = attention_figure(image, words, maps, maps_dir / f"{Path(path).stem}_attention.png")
            print(f"  attention map: {written}")
    return 0


VERBS = [Verb("caption", "caption image files with a trained run", _configure_caption, caption_command)]
