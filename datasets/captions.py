"""Captioned images: reading any image file robustly, word vocabularies, and real caption datasets.

- `load_image` opens a file with Pillow and returns an RGB uint8 array of the requested size: grayscale, RGBA (laid
  over white), palette, CMYK, 16-bit and very large images are converted and resized; a missing, truncated or
  non-image file raises `ImageError` with one line saying what is wrong.
- `Vocabulary` maps words to ids with 0 = padding and the reserved `[start]`, `[end]` and `[UNK]` tokens.
- `load_flickr8k(folder)` reads the Flickr8k layout: an images folder plus `captions.txt` (image,caption CSV with a
  header, as on Kaggle) or `Flickr8k.token.txt` (`image.jpg#n<TAB>caption`), and the official
  `Flickr_8k.{train,dev,test}Images.txt` split files when present (else a seeded 80/10/10 split by image).
- `load_tfds_captions("coco_captions")` reads a TensorFlow Datasets captioning set (downloaded by TFDS on first use;
  tested offline with `tfds.testing.mock_data`).

Each reader returns a `CaptionData` of splits with images as uint8 arrays and every reference caption per image.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

PAD, START, END, UNKNOWN = "[pad]", "[start]", "[end]", "[UNK]"
RESERVED = (PAD, START, END, UNKNOWN)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# Pillow's decompression-bomb guard refuses images above twice this; up to it we load, then shrink.
LARGEST_IMAGE_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)


class ImageError(ValueError):
    """An image file that cannot be read; the message names the file and what is wrong."""


# --- images --------------------------------------------------------------------------------------------------------


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: transparency over white, 16/32-bit and float rescaled to their range."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGB" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("RGB")


def load_image(path: str | Path, size: int) -> np.ndarray:
    """An image file as a (size, size, 3) uint8 RGB array; raises ImageError for a file that is not a usable image."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"image {path} does not exist")
    if not path.is_file():
        raise ImageError(f"image {path} is not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > LARGEST_IMAGE_PIXELS:
                    raise ImageError(
                        f"image {path} has {image.width}x{image.height} pixels, more than Pillow will safely decode; "
                        "shrink it first"
                    )
                # JPEG can decode at 1/2, 1/4 or 1/8 scale directly: a huge photo never fills memory at full size.
                image.draft("RGB", (size * 2, size * 2))
                image.load()
                rgb = _to_rgb(image)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(
            f"{path} is not an image Pillow can read; give a PNG, JPEG, BMP, GIF, TIFF or WebP file"
        ) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageError(f"image {path} is damaged or truncated ({error}); give a complete image file") from None
    resized = rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.uint8)


# The module only reads; it never asks Pillow to accept truncated files.
ImageFile.LOAD_TRUNCATED_IMAGES = False


# --- words ---------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(caption: str) -> list[str]:
    """Lower-case words and numbers; punctuation dropped (the captions' usual normalisation)."""
    return _WORD.findall(caption.lower())


def normalize(caption: str) -> str:
    return " ".join(tokenize(caption))


@dataclass
class Vocabulary:
    """Words by id: 0 = padding, then [start], [end], [UNK], then the words."""

    words: list[str]

    def __post_init__(self):
        if tuple(self.words[: len(RESERVED)]) != RESERVED:
            raise ValueError(f"a vocabulary must start with {', '.join(RESERVED)}")
        self.index = {word: i for i, word in enumerate(self.words)}

    @classmethod
    def build(cls, captions, min_count: int = 1, max_size: int | None = None, words: list[str] | None = None):
        """From training captions (words seen at least `min_count` times, most frequent first), or a fixed list."""
        if words is None:
            counts = Counter(word for caption in captions for word in tokenize(caption))
            ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
            words = ranked[: max_size - len(RESERVED)] if max_size else ranked
        return cls(list(RESERVED) + [word for word in words if word not in RESERVED])

    def __len__(self) -> int:
        return len(self.words)

    @property
    def start_id(self) -> int:
        return self.index[START]

    @property
    def end_id(self) -> int:
        return self.index[END]

    @property
    def unknown_id(self) -> int:
        return self.index[UNKNOWN]

    def encode(self, caption: str) -> list[int]:
        return [self.index.get(word, self.unknown_id) for word in tokenize(caption)]

    def decode(self, ids) -> str:
        return " ".join(self.words[int(i)] for i in ids if int(i) >= len(RESERVED) or int(i) == self.unknown_id)

    def teacher_forcing(self, captions: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of shape (N, max_length + 1): [start] w1 .. wn and w1 .. wn [end], zero-padded.

        Captions longer than max_length words are cut (and keep their [end]) so every target ends a sentence.
        """
        inputs = np.zeros((len(captions), max_length + 1), np.int32)
        targets = np.zeros((len(captions), max_length + 1), np.int32)
        for row, caption in enumerate(captions):
            ids = self.encode(caption)[:max_length]
            inputs[row, : len(ids) + 1] = [self.start_id, *ids]
            targets[row, : len(ids) + 1] = [*ids, self.end_id]
        return inputs, targets


# --- real datasets -------------------------------------------------------------------------------------------------


@dataclass
class CaptionSplit:
    """Images (N, S, S, 3) uint8, their names, and every reference caption of each."""

    images: np.ndarray
    names: list[str]
    captions: list[list[str]]

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class CaptionData:
    train: CaptionSplit
    validation: CaptionSplit
    test: CaptionSplit
    source: str


def _read_flickr_captions(folder: Path) -> dict[str, list[str]]:
    captions: dict[str, list[str]] = {}
    csv_file = folder / "captions.txt"
    token_file = next(
        (p for p in (folder / "Flickr8k.token.txt", folder / "Flickr8k_text" / "Flickr8k.token.txt") if p.is_file()),
        None,
    )
    if csv_file.is_file():
        with csv_file.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [cell.strip().lower() for cell in header[:2]] != ["image", "caption"]:
                raise ValueError(f"{csv_file} must start with the header 'image,caption'")
            for row in reader:
                if len(row) >= 2 and row[0].strip():
                    captions.setdefault(row[0].strip(), []).append(",".join(row[1:]).strip())
    elif token_file is not None:
        for line in token_file.read_text(encoding="utf-8").splitlines():
            if "\t" not in line:
                continue
            key, caption = line.split("\t", 1)
            captions.setdefault(key.split("#")[0].strip(), []).append(caption.strip())
    else:
        raise ValueError(f"{folder} has neither captions.txt (image,caption CSV) nor Flickr8k.token.txt")
    return captions


def _images_folder(folder: Path) -> Path:
    for name in ("Images", "images", "Flicker8k_Dataset", "Flickr8k_Dataset"):
        if (folder / name).is_dir():
            return folder / name
    raise ValueError(f"{folder} has no images folder (Images/, images/ or Flicker8k_Dataset/)")


def load_flickr8k(folder: str | Path, image_size: int, *, seed: int = 0, max_images: int | None = None) -> CaptionData:
    """A Flickr8k-style folder: images plus captions; unreadable images are skipped with a count printed."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    captions = _read_flickr_captions(folder)
    images_dir = _images_folder(folder)
    names = sorted(name for name in captions if (images_dir / name).is_file())
    if not names:
        raise ValueError(f"none of the images named in the captions file is in {images_dir}")
    official = {
        split: folder / f"Flickr_8k.{split}Images.txt"
        for split in ("train", "dev", "test")
        if (folder / f"Flickr_8k.{split}Images.txt").is_file()
    }
    if len(official) == 3:
        present = set(names)
        groups = [
            [line.strip() for line in official[s].read_text().splitlines() if line.strip() in present]
            for s in ("train", "dev", "test")
        ]
    else:
        order = np.random.default_rng(seed).permutation(len(names))
        shuffled = [names[i] for i in order]
        cut_test = max(1, len(names) // 10)
        groups = [shuffled[2 * cut_test :], shuffled[cut_test : 2 * cut_test], shuffled[:cut_test]]
    if max_images:
        groups = [group[: max(1, int(max_images * share))] for group, share in zip(groups, (0.8, 0.1, 0.1))]
    splits = []
    skipped = 0
    for group in groups:
        kept_images, kept_names = [], []
        for name in group:
            try:
                kept_images.append(load_image(images_dir / name, image_size))
                kept_names.append(name)
            except ImageError:
                skipped += 1
        array = np.stack(kept_images) if kept_images else np.zeros((0, image_size, image_size, 3), np.uint8)
        splits.append(CaptionSplit(array, kept_names, [captions[name] for name in kept_names]))
    if skipped:
        print(f"skipped {skipped} unreadable images in {images_dir}")
    if len(splits[0]) == 0:
        raise ValueError(f"no readable training images in {images_dir}")
    return CaptionData(*splits, source=str(folder))


def _tfds_split(builder_name: str, split: str, image_size: int, limit: int | None, data_dir: str | None):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from datasets import tfds_source

    dataset, _ = tfds_source.load(builder_name, split, data_dir=data_dir, shuffle_files=False)
    if limit:
        dataset = dataset.take(limit)
    images, names, captions = [], [], []
    for example in tfds.as_numpy(dataset):
        picture = example["image"]
        if picture.shape[-1] == 1:
            picture = np.repeat(picture, 3, axis=-1)
        resized = tf.image.resize(picture, (image_size, image_size), antialias=True).numpy()
        images.append(np.clip(resized, 0, 255).astype(np.uint8))
        filename = example.get("image/filename", b"")
        names.append(filename.decode("utf-8", "replace") if isinstance(filename, bytes) else str(filename))
        texts = example["captions"]["text"]
        captions.append([text.decode("utf-8", "replace") for text in texts if len(text)] or [""])
    array = np.stack(images) if images else np.zeros((0, image_size, image_size, 3), np.uint8)
    return CaptionSplit(array, names, captions)


def load_tfds_captions(
    name: str, image_size: int, *, max_images: int | None = None, data_dir: str | None = None
) -> CaptionData:
    """A TFDS captioning set such as `coco_captions` (Karpathy splits train/val/test), images resized."""
    limits = (max_images, max(1, max_images // 8), max(1, max_images // 8)) if max_images else (None, None, None)
    splits = [
        _tfds_split(name, split, image_size, limit, data_dir) for split, limit in zip(("train", "val", "test"), limits)
    ]
    return CaptionData(*splits, source=f"tfds:{name}")
