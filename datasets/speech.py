"""Spoken keywords as one-second clips: the label set, clips in memory, and the sources `load` reads.

Sources (`load(source, ...)`):
- `synthetic` (default): Speech Commands' 12 classes (Warden 2018) spoken by eSpeak NG voices
  (`datasets.synthetic_keywords`): yes, no, up, down, left, right, on, off, stop, go, `_silence_` (background noise
  only) and `_unknown_` (other words). Test voices are never heard in training.
- a folder with one subfolder of WAV files per label (any rate, mono or stereo, 8/16/24/32-bit or float), split
  by Speech Commands' `validation_list.txt`/`testing_list.txt` when present, else by speaker (the file name up to
  the first `_`), 80/10/10 by checksum.
- `fsdd:DIR`: the Free Spoken Digit Dataset, `<digit>_<speaker>_<index>.wav`; official split: index 0-4 is test.
  Index 5-9 is held out for validation (early stopping), the rest trains. The official split has every speaker on
  both sides; `test_speaker` holds one speaker out instead: all of that speaker's recordings are the test split,
  the other speakers' index 0-4 validates and their index 5-49 trains, so the test voice is never heard.
- `tfds:speech_commands` and `tfds:spoken_digit` through tensorflow-datasets (downloads on first use).

Every split holds (clip, label) pairs with clips of at most one second at 16 kHz: in memory as `Clips` (NumPy, any
Keras backend), or for a `tfds:` source as a `tf.data.Dataset` read into memory when first batched;
`datasets.speech_augment.ClipBatches` batches them. Nothing here knows about models.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.audio_files import CLIP_SAMPLES, DataSourceError, as_float_mono, load_audio, loudest_window, resample

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
SYNTHETIC_LABELS = (*KEYWORDS, SILENCE, UNKNOWN)
SPLITS = ("train", "validation", "test")
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$", re.IGNORECASE)


# --- clips held in memory ------------------------------------------------------------------------------------


@dataclass
class Clips:
    """Clips of different lengths (each at most one second) stored end to end, with their labels and names."""

    samples: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    names: list[str] = field(default_factory=list)

    @classmethod
    def from_list(cls, clips: list[np.ndarray], labels: list[int], names: list[str]) -> Clips:
        lengths = np.array([clip.size for clip in clips], np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        samples = np.concatenate(clips).astype(np.float32) if clips else np.zeros(0, np.float32)
        return cls(samples, offsets, np.asarray(labels, np.int32), list(names))

    def __len__(self) -> int:
        return len(self.labels)

    def clip(self, index: int) -> np.ndarray:
        return self.samples[self.offsets[index] : self.offsets[index + 1]]


@dataclass
class Split:
    """One split: its clips in memory, or an unbatched `tf.data.Dataset` of (clip at most 1 s long, label) from a
    `tfds:` source; and its size when known."""

    dataset: object | None
    size: int | None
    clips: Clips | None = None

    @classmethod
    def of(cls, clips: Clips) -> Split:
        return cls(None, len(clips), clips)

    def in_memory(self) -> Clips:
        """The split's clips, read once from its dataset when they are not in memory yet (a `tfds:` source)."""
        if self.clips is None:
            clips, labels = [], []
            for clip, label in self.dataset.as_numpy_iterator():
                clips.append(np.asarray(clip, np.float32)[:CLIP_SAMPLES])
                labels.append(int(label))
            self.clips = Clips.from_list(clips, labels, [f"{index}" for index in range(len(clips))])
            self.size = len(self.clips)
        return self.clips


@dataclass
class SpeechBundle:
    """The three splits of a source, its label names, and whether its clips are synthetic."""

    labels: list[str]
    train: Split
    validation: Split
    test: Split
    source: str
    synthetic: bool = False
    notes: dict = field(default_factory=dict)

    def sizes(self) -> dict[str, int | None]:
        return {"train": self.train.size, "validation": self.validation.size, "test": self.test.size}


# --- folders of WAV files ------------------------------------------------------------------------------------


def _wav_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() == ".wav")


def _clip_for_training(path: Path) -> np.ndarray:
    """A recording as at most one second at 16 kHz: longer ones keep their loudest second."""
    return loudest_window(load_audio(path))[0]


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def folder(root: Path | str, labels: list[str] | None = None) -> SpeechBundle:
    """One subfolder of WAVs per label; Speech Commands' split lists are honoured, else a split by speaker."""
    root = Path(root)
    if not root.is_dir():
        raise DataSourceError(f"--data {root}: no such folder; give a folder with one subfolder of WAVs per label")
    label_folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_background", ".")))
    if not label_folders:
        raise DataSourceError(f"--data {root} has no label subfolders; put the WAVs of each label in <root>/<label>/")
    for label_folder in label_folders:
        if not _wav_files(label_folder):
            raise DataSourceError(
                f"label folder {label_folder} holds no .wav files; add recordings or remove the folder"
            )
    names = labels or [p.name for p in label_folders]
    testing, validation = _read_list(root / "testing_list.txt"), _read_list(root / "validation_list.txt")
    buckets: dict[str, tuple[list, list, list]] = {split: ([], [], []) for split in SPLITS}
    for label_folder in label_folders:
        if label_folder.name not in names:
            raise DataSourceError(f"label folder {label_folder.name!r} is not one of the labels {names}")
        for path in _wav_files(label_folder):
            relative = f"{label_folder.name}/{path.name}"
            if testing or validation:
                split = "test" if relative in testing else "validation" if relative in validation else "train"
            else:
                speaker = path.stem.split("_")[0]
                bucket = zlib.crc32(speaker.encode()) % 10
                split = "test" if bucket == 0 else "validation" if bucket == 1 else "train"
            clips, labels_, files = buckets[split]
            clips.append(_clip_for_training(path))
            labels_.append(names.index(label_folder.name))
            files.append(relative)
    return _bundle_from_buckets(buckets, names, str(root))


def _bundle_from_buckets(buckets, names, source) -> SpeechBundle:
    empty = [split for split in SPLITS if not buckets[split][0]]
    if "train" in empty:
        raise DataSourceError(f"{source}: no training clips; the folder needs more recordings")
    for split in empty:
        # Too few speakers for a split by speaker: move every tenth training clip over instead.
        clips, labels, files = buckets["train"]
        chosen = list(range(SPLITS.index(split), len(clips), 10))
        if not chosen or len(chosen) == len(clips):
            raise DataSourceError(f"{source}: too few recordings to hold out a {split} split; add more")
        buckets[split] = ([clips[i] for i in chosen], [labels[i] for i in chosen], [files[i] for i in chosen])
        keep = [i for i in range(len(clips)) if i not in set(chosen)]
        buckets["train"] = ([clips[i] for i in keep], [labels[i] for i in keep], [files[i] for i in keep])
    splits = {split: Split.of(Clips.from_list(*buckets[split])) for split in SPLITS}
    return SpeechBundle(names, splits["train"], splits["validation"], splits["test"], source)


def fsdd_split(file_name: str, test_speaker: str | None = None) -> tuple[str, str, int, str]:
    """(digit, speaker, index, split) of an FSDD file name.

    Official split (no `test_speaker`): index 0-4 is test, 5-9 validation, 10-49 train. With a held-out
    `test_speaker`: every recording of that speaker is test; of the others, index 0-4 validates and the rest trains.
    """
    match = FSDD_NAME.match(file_name)
    if not match:
        raise DataSourceError(f"{file_name!r} is not an FSDD name <digit>_<speaker>_<index>.wav")
    digit, speaker, index = match.group(1), match.group(2).lower(), int(match.group(3))
    if test_speaker is None:
        split = "test" if index < 5 else "validation" if index < 10 else "train"
    elif speaker == test_speaker.lower():
        split = "test"
    else:
        split = "validation" if index < 5 else "train"
    return digit, speaker, index, split


def fsdd_speakers(root: Path | str) -> list[str]:
    """The speakers of an FSDD folder (or its `recordings/` subfolder), sorted; names that are not FSDD's are
    skipped here (`fsdd` refuses them)."""
    files = _wav_files(_fsdd_recordings(root))
    return sorted({match.group(2).lower() for match in map(FSDD_NAME.match, (p.name for p in files)) if match})


def _fsdd_recordings(root: Path | str) -> Path:
    root = Path(root)
    recordings = root / "recordings" if (root / "recordings").is_dir() else root
    if not recordings.is_dir():
        raise DataSourceError(f"--data fsdd:{root}: no such folder; point it at the FSDD folder or its recordings/")
    return recordings


def fsdd(root: Path | str, test_speaker: str | None = None) -> SpeechBundle:
    """The Free Spoken Digit Dataset from its folder (or its `recordings/` subfolder), 8 kHz resampled to 16 kHz;
    the official split, or with `test_speaker` that speaker held out as the whole test split."""
    recordings = _fsdd_recordings(root)
    files = _wav_files(recordings)
    if not files:
        raise DataSourceError(f"--data fsdd:{root} holds no .wav files named <digit>_<speaker>_<index>.wav")
    if test_speaker is not None:
        speakers = fsdd_speakers(recordings)
        if test_speaker.lower() not in speakers:
            raise DataSourceError(
                f"--test-speaker {test_speaker}: no such speaker in fsdd:{root}; choose one of: {', '.join(speakers)}"
            )
        if len(speakers) < 2:
            raise DataSourceError(f"fsdd:{root} has one speaker only; holding it out would leave nothing to train on")
    names = [str(digit) for digit in range(10)]
    buckets: dict[str, tuple[list, list, list]] = {split: ([], [], []) for split in SPLITS}
    for path in files:
        digit, _, _, split = fsdd_split(path.name, test_speaker)
        clips, labels, file_names = buckets[split]
        clips.append(_clip_for_training(path))
        labels.append(int(digit))
        file_names.append(path.name)
    source = f"fsdd:{root}" + (f" (held-out speaker {test_speaker.lower()})" if test_speaker is not None else "")
    bundle = _bundle_from_buckets(buckets, names, source)
    if test_speaker is not None:
        bundle.notes["test_speaker"] = test_speaker.lower()
    return bundle


# --- tensorflow-datasets -------------------------------------------------------------------------------------

TFDS_SOURCES = ("speech_commands", "spoken_digit")


def _tfds_load(name: str, split):
    # Aliased: this module's own `tfds_source` is the function that builds a bundle.
    from datasets import tfds_source as tfds_loading

    try:
        return tfds_loading.load(name, split)
    except tfds_loading.TfdsSourceError as error:
        raise DataSourceError(str(error)) from None


def tfds_source(name: str) -> SpeechBundle:
    import tensorflow as tf

    if name == "speech_commands":
        (train, validation, test), info = _tfds_load(name, ["train", "validation", "test"])
        labels = list(info.features["label"].names)

        def as_clip(example):
            return tf.cast(example["audio"], "float32")[:CLIP_SAMPLES] / 32768.0, tf.cast(example["label"], "int32")

        # Mock data (tests) has no split metadata.
        sizes = {split: info.splits[split].num_examples if info.splits.keys() else None for split in SPLITS}
        return SpeechBundle(
            labels,
            Split(train.map(as_clip), sizes["train"]),
            Split(validation.map(as_clip), sizes["validation"]),
            Split(test.map(as_clip), sizes["test"]),
            "tfds:speech_commands",
        )
    if name == "spoken_digit":
        import tensorflow_datasets as tfds

        dataset, info = _tfds_load(name, "train")
        buckets: dict[str, tuple[list, list, list]] = {split: ([], [], []) for split in SPLITS}
        rate = info.features["audio"].sample_rate
        for example in tfds.as_numpy(dataset):
            file_name = example["audio/filename"].decode("utf-8", "replace")
            try:
                split = fsdd_split(Path(file_name).name)[3]
            except DataSourceError:
                # Not an FSDD name (e.g. tfds mock data): a stable split by checksum of the name instead.
                bucket = zlib.crc32(file_name.encode()) % 10
                split = "test" if bucket < 2 else "validation" if bucket == 2 else "train"
            audio = np.asarray(example["audio"])
            # tfds keeps 16-bit samples in int64 arrays.
            audio = audio.astype(np.int16) if audio.dtype == np.int64 else audio
            samples = as_float_mono(audio, Path(file_name))
            clips, labels, names = buckets[split]
            clips.append(loudest_window(resample(samples, rate))[0])
            labels.append(int(example["label"]))
            names.append(file_name)
        return _bundle_from_buckets(buckets, [str(d) for d in range(10)], "tfds:spoken_digit")
    raise DataSourceError(f"unknown tfds source tfds:{name}; choose one of: tfds:{', tfds:'.join(TFDS_SOURCES)}")


def load(
    source: str, *, per_class: dict[str, int] | None = None, seed: int = 0, test_speaker: str | None = None
) -> SpeechBundle:
    """A source named as on the command line: `synthetic`, a folder, `fsdd:DIR` or `tfds:NAME`; `test_speaker`
    (FSDD only) holds that speaker out as the test split."""
    if test_speaker is not None and not source.startswith("fsdd:"):
        raise DataSourceError(f"--test-speaker is for --data fsdd:DIR only, not --data {source}")
    if source in ("default", "synthetic"):
        from datasets import synthetic_keywords  # it builds on this module's types

        return synthetic_keywords.synthetic(per_class or {"train": 300, "validation": 40, "test": 60}, seed)
    if source.startswith("fsdd:"):
        return fsdd(source[len("fsdd:") :], test_speaker)
    if source.startswith("tfds:"):
        return tfds_source(source[len("tfds:") :])
    return folder(source)
