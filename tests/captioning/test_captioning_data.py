"""Reading captioned images: every colour mode and size converted, bad files refused with one line, vocabularies,
the Flickr8k layouts, and the tfds:coco_captions source under mock data."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasets import captions
from datasets.captions import ImageError, Vocabulary, load_image


def _write(path: Path, image: Image.Image, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def _gradient(width=40, height=30):
    x = np.linspace(0, 255, width, dtype=np.float64)
    return np.tile(x, (height, 1))


@pytest.mark.parametrize(
    "mode, suffix",
    [("L", ".png"), ("RGBA", ".png"), ("P", ".gif"), ("CMYK", ".jpg"), ("I;16", ".png"), ("LA", ".png"), ("1", ".bmp")],
)
def test_every_colour_mode_becomes_rgb_of_the_requested_size(tmp_path, mode, suffix):
    rgb = Image.fromarray(np.stack([_gradient()] * 3, axis=-1).astype(np.uint8))
    if mode == "I;16":
        image = Image.fromarray((_gradient() * 200).astype(np.uint16))
    else:
        image = rgb.convert(mode)
    path = _write(tmp_path / f"picture{suffix}", image)
    array = load_image(path, 48)
    assert array.shape == (48, 48, 3)
    assert array.dtype == np.uint8
    # The left-to-right gradient survives every conversion (16-bit is rescaled, not clipped to white).
    assert array[:, -4:].mean() > array[:, :4].mean() + 100


def test_transparency_is_laid_over_white(tmp_path):
    clear = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    array = load_image(_write(tmp_path / "clear.png", clear), 32)
    assert array.min() > 250


def test_a_very_large_image_is_resized(tmp_path):
    big = Image.new("RGB", (6000, 4500), (10, 200, 30))
    array = load_image(_write(tmp_path / "big.jpg", big, quality=50), 64)
    assert array.shape == (64, 64, 3)
    assert abs(int(array[..., 1].mean()) - 200) < 10


def test_bad_files_raise_one_clear_error(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "missing.png", 32)
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    with pytest.raises(ImageError, match="not an image"):
        load_image(text, 32)
    whole = _write(
        tmp_path / "whole.png", Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    )
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(whole.read_bytes()[: os.path.getsize(whole) // 2])
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_image(truncated, 32)
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path, 32)


def test_vocabulary_reserves_padding_start_end_unknown_and_teacher_forces():
    vocabulary = Vocabulary.build(["A dog runs.", "a dog sits", "a cat"], min_count=2)
    assert vocabulary.words[:4] == ["[pad]", "[start]", "[end]", "[UNK]"]
    assert vocabulary.words[4:] == ["a", "dog"]
    ids = vocabulary.encode("a cat")
    assert ids == [vocabulary.index["a"], vocabulary.unknown_id]
    inputs, targets = vocabulary.teacher_forcing(["a dog runs fast"], max_length=3)
    assert inputs.shape == targets.shape == (1, 4)
    assert inputs[0, 0] == vocabulary.start_id
    assert targets[0, 3] == vocabulary.end_id  # cut at max_length, still ending the sentence
    assert list(inputs[0, 1:]) == list(targets[0, :3])
    with pytest.raises(ValueError, match="start with"):
        Vocabulary(["a", "b"])


def _flickr_folder(root: Path, layout: str, count: int = 20) -> Path:
    images = root / ("Images" if layout == "csv" else "Flicker8k_Dataset")
    images.mkdir(parents=True)
    rng = np.random.default_rng(1)
    lines = []
    for index in range(count):
        name = f"{1000 + index}_photo.jpg"
        Image.fromarray(rng.integers(0, 255, (50, 70, 3), np.uint8)).save(images / name)
        for n in range(5):
            lines.append((name, f"A dog, number {index}, runs fast (take {n})."))
    (images / "broken.jpg").write_bytes(b"not a jpeg")
    lines.append(("broken.jpg", "a broken picture"))
    if layout == "csv":
        body = "image,caption\n" + "".join(f'{name},"{caption}"\n' for name, caption in lines)
        (root / "captions.txt").write_text(body)
    else:
        counters: dict[str, int] = {}
        rows = []
        for name, caption in lines:
            counters[name] = counters.get(name, -1) + 1
            rows.append(f"{name}#{counters[name]}\t{caption}")
        (root / "Flickr8k.token.txt").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.parametrize("layout", ["csv", "token"])
def test_flickr8k_layouts(tmp_path, layout, capsys):
    data = captions.load_flickr8k(_flickr_folder(tmp_path, layout), 32, seed=0)
    assert len(data.train) + len(data.validation) + len(data.test) == 20  # the broken image is skipped
    assert "skipped 1 unreadable" in capsys.readouterr().out
    assert data.train.images.shape[1:] == (32, 32, 3)
    assert all(len(group) == 5 for group in data.train.captions)
    assert data.train.captions[0][0].startswith("A dog, number")
    assert not set(data.train.names) & set(data.test.names)


def test_flickr8k_official_split_files(tmp_path):
    folder = _flickr_folder(tmp_path, "csv")
    names = [f"{1000 + i}_photo.jpg" for i in range(20)]
    for split, chosen in (("train", names[:14]), ("dev", names[14:17]), ("test", names[17:])):
        (folder / f"Flickr_8k.{split}Images.txt").write_text("\n".join(chosen) + "\n")
    data = captions.load_flickr8k(folder, 32)
    assert data.train.names == names[:14]
    assert data.test.names == names[17:]


def test_flickr8k_errors(tmp_path):
    with pytest.raises(ValueError, match="neither captions.txt"):
        captions.load_flickr8k(tmp_path, 32)
    (tmp_path / "captions.txt").write_text("file,text\nx.jpg,a\n")
    with pytest.raises(ValueError, match="header"):
        captions.load_flickr8k(tmp_path, 32)


def test_tfds_coco_captions_under_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        data = captions.load_tfds_captions("coco_captions", 32, max_images=8)
    assert data.source == "tfds:coco_captions"
    assert data.train.images.shape == (6, 32, 32, 3)
    assert data.train.images.dtype == np.uint8
    assert len(data.validation) == 1 and len(data.test) == 1
    assert all(isinstance(text, str) for group in data.train.captions for text in group)
