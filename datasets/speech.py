"""Spoken keywords: synthetic eSpeak NG commands, folders of WAVs, the FSDD layout and tfds sources, as 1 s clips.

Sources (`load(source, ...)`):
- `synthetic` (default): Speech Commands' 12 classes (Warden 2018) spoken by eSpeak NG (see `speech_synth`):
  yes, no, up, down, left, right, on, off, stop, go, `_silence_` (background noise only) and `_unknown_` (other
  words). Test voices are never heard in training. Generated once per seed and size, cached as .npz.
- a folder with one subfolder of WAV files per label (any rate, mono or stereo, 8/16/24/32-bit or float), split
  by Speech Commands' `validation_list.txt`/`testing_list.txt` when present, else by speaker (the file name up to
  the first `_`), 80/10/10 by checksum.
- `fsdd:DIR`: the Free Spoken Digit Dataset, `<digit>_<speaker>_<index>.wav`; official split: index 0-4 is test.
  Index 5-9 is held out for validation (early stopping), the rest trains.
- `tfds:speech_commands` and `tfds:spoken_digit` through tensorflow-datasets (downloads on first use).

Every split is a `tf.data.Dataset` of (clip, label) with clips of at most one second at 16 kHz; `pipeline` places
each clip in a one-second window and, for training, augments it: time shift, gain, and background noise at a
random signal-to-noise ratio. Nothing here knows about models.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
from scipy import signal
from scipy.io import wavfile

from datasets import pcm

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
SYNTHETIC_LABELS = (*KEYWORDS, SILENCE, UNKNOWN)
# Other words for `_unknown_`: Speech Commands' auxiliary words and digits, and words that sound like keywords.
# Near-homophones of the keywords ("yet", "nose", "goal", "upper") are hard negatives on purpose; exact homophones
# are not: version 1 had "know" and "write", labelled _unknown_ yet spoken as "no" and "right", so no model could
# tell them apart (7 of the 44 test errors of a 96.3% run, README.md).
UNKNOWN_WORDS = (
    "bed bird cat dog happy house marvin sheila tree wow zero one two three four five six seven eight nine "
    "yet nose cup town lift bright own often top goal yellow upper dawn light odd store ghost "
    "hello start left-hand quiet open close under over back forward water music never always maybe great"
).split()
SYNTHETIC_VERSION = 2
SPLITS = ("train", "validation", "test")
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$", re.IGNORECASE)


class DataSourceError(ValueError):
    """A data source or audio file the user named cannot be used; the message says what to do."""


class AudioFileError(DataSourceError):
    """A WAV file that cannot be read: not a WAV, a corrupt header, an unsupported encoding, no samples."""


# --- WAV files ------------------------------------------------------------------------------------------------


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate of a PCM or float WAV file (stereo is averaged)."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path} does not exist; give the path of a .wav file")
    try:
        rate, data = wavfile.read(path, mmap=False)
    except (ValueError, EOFError, OSError, IndexError, TypeError, struct.error) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "format" in message.lower() and "unknown" in message.lower():
            raise AudioFileError(
                f"{path}: unsupported WAV encoding ({message}); convert it to 16-bit PCM, e.g. "
                f"ffmpeg -i {path.name} -acodec pcm_s16le out.wav"
            ) from None
        raise AudioFileError(f"{path} is not a readable WAV file ({message}); give a PCM .wav file") from None
    return _as_float_mono(np.asarray(data), path), int(rate)


def _as_float_mono(data: np.ndarray, path: Path) -> np.ndarray:
    if data.dtype == np.uint8:
        floats = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype == np.int16:
        floats = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        # scipy returns 24-bit PCM left-justified in int32, so one scale fits both.
        floats = (data.astype(np.float64) / 2147483648.0).astype(np.float32)
    elif data.dtype in (np.float32, np.float64):
        floats = data.astype(np.float32)
    else:
        raise AudioFileError(f"{path}: unsupported sample type {data.dtype}; convert it to 16-bit PCM")
    if floats.ndim == 2:
        floats = floats.mean(axis=1)
    if floats.size == 0:
        raise AudioFileError(f"{path} holds no audio samples (an empty clip); record or choose another file")
    return np.clip(floats, -1.0, 1.0)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling to `target` Hz (scipy.signal.resample_poly)."""
    if rate <= 0:
        raise AudioFileError(f"sample rate {rate} Hz is not valid")
    if rate == target:
        return samples.astype(np.float32)
    divisor = np.gcd(int(rate), int(target))
    return signal.resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)


def load_audio(path: Path | str) -> np.ndarray:
    """A WAV file as mono float32 at 16 kHz."""
    samples, rate = read_wav(path)
    return resample(samples, rate)


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM mono WAV bytes (the caller writes them atomically)."""
    return pcm.wav_bytes(samples, rate)


def loudest_window(samples: np.ndarray, length: int = CLIP_SAMPLES) -> tuple[np.ndarray, int]:
    """The `length`-sample window with the most energy, and where it starts (the clip itself when shorter)."""
    if samples.size <= length:
        return samples, 0
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[length:] - energy[:-length]))
    return samples[start : start + length], start


def centre(samples: np.ndarray, length: int = CLIP_SAMPLES) -> np.ndarray:
    """A clip of at most `length` samples zero-padded equally on both sides to exactly `length`."""
    samples = samples[:length]
    before = (length - samples.size) // 2
    return np.pad(samples, (before, length - samples.size - before)).astype(np.float32)


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

    def dataset(self) -> tf.data.Dataset:
        ragged = tf.RaggedTensor.from_row_splits(self.samples, self.offsets)
        return tf.data.Dataset.from_tensor_slices((ragged, self.labels))


@dataclass
class Split:
    """One split: an unbatched dataset of (clip at most 1 s long, label), its size, and the clips when in memory."""

    dataset: tf.data.Dataset
    size: int | None
    clips: Clips | None = None

    @classmethod
    def of(cls, clips: Clips) -> Split:
        return cls(clips.dataset(), len(clips), clips)


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


# --- augmentation and batching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Augmentation:
    """Random gain, time shift and background noise; an SNR is drawn in dB relative to the word's RMS."""

    noise_probability: float = 0.85
    snr_db: tuple[float, float] = (0.0, 30.0)
    gain_db: tuple[float, float] = (-10.0, 6.0)
    silence_level_db: tuple[float, float] = (-80.0, -20.0)
    shift: bool = True


SYNTHETIC_AUGMENTATION = Augmentation()
REAL_AUGMENTATION = Augmentation(noise_probability=0.5, snr_db=(10.0, 40.0), gain_db=(-6.0, 6.0))


def noise_bank(count: int = 48, seed: int = 0) -> np.ndarray:
    """One-second background noises with unit RMS: white, pink, brown, mains hum with harmonics, and rumble."""
    rng = np.random.default_rng(seed)
    frequencies = np.fft.rfftfreq(CLIP_SAMPLES, 1.0 / SAMPLE_RATE)
    frequencies[0] = frequencies[1]
    time = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    noises = []
    for index in range(count):
        kind = index % 5
        if kind == 3:
            mains = rng.choice([50.0, 60.0])
            noise = sum(
                rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * mains * h * time + rng.uniform(0, 6.3)) for h in (1, 2, 3, 5)
            )
            noise = noise + 0.1 * rng.standard_normal(CLIP_SAMPLES)
        else:
            # Coloured noise: white noise shaped by 1/f^exponent in power.
            exponent = {0: 0.0, 1: 1.0, 2: 2.0, 4: 3.0}[kind]
            spectrum = np.fft.rfft(rng.standard_normal(CLIP_SAMPLES)) / frequencies ** (exponent / 2)
            noise = np.fft.irfft(spectrum, n=CLIP_SAMPLES)
        noises.append(noise / (np.sqrt(np.mean(noise**2)) + 1e-12))
    return np.stack(noises).astype(np.float32)


def _uniform(seed, low, high, dtype="float32"):
    return tf.random.stateless_uniform([], seed, minval=low, maxval=high, dtype=dtype)


def augment_clip(clip, seed, noises, augmentation: Augmentation):
    """A clip of at most one second placed in a 1 s window with gain and noise; stateless, so seed -> same clip."""
    seeds = _clip_seeds(seed)
    length = tf.shape(clip)[0]
    room = CLIP_SAMPLES - length
    offset = _uniform(seeds[0], 0, room + 1, "int32") if augmentation.shift else room // 2
    placed = tf.pad(clip, [[offset, room - offset]])
    placed = placed * 10.0 ** (_uniform(seeds[1], *augmentation.gain_db) / 20.0)
    speech_rms = tf.sqrt(tf.reduce_sum(placed**2) / tf.cast(tf.maximum(length, 1), "float32"))
    noise = tf.roll(
        tf.gather(noises, _uniform(seeds[2], 0, len(noises), "int32")), _uniform(seeds[3], 0, CLIP_SAMPLES, "int32"), 0
    )
    snr_db, noisy = _noise_draws(seeds, augmentation)
    snr_level = speech_rms * 10.0 ** (-snr_db / 20.0)
    silence_level = 10.0 ** (_uniform(seeds[5], *augmentation.silence_level_db) / 20.0)
    # A clip with no speech is the _silence_ class: it always gets noise, at an absolute level.
    is_silent = tf.logical_or(length == 0, speech_rms < 1e-6)
    level = tf.where(is_silent, silence_level, snr_level)
    use_noise = tf.logical_or(is_silent, noisy)
    mixed = placed + tf.where(use_noise, level, 0.0) * noise
    return tf.clip_by_value(tf.reshape(mixed, [CLIP_SAMPLES]), -1.0, 1.0)


def _clip_seeds(seed):
    """The seven stateless seeds of one clip's draws (shift, gain, noise, roll, SNR, silence level, noise or not)."""
    return tf.random.experimental.stateless_split(seed, 7)


def _noise_draws(seeds, augmentation: Augmentation):
    """The SNR in dB and whether a spoken clip gets noise at all: the draws `augment_clip` and `clip_snr_db` share."""
    return _uniform(seeds[4], *augmentation.snr_db), _uniform(seeds[6], 0.0, 1.0) < augmentation.noise_probability


def clip_snr_db(seed, augmentation: Augmentation):
    """The SNR `augment_clip` gives a spoken clip with this seed; +inf when it adds no noise."""
    snr_db, noisy = _noise_draws(_clip_seeds(seed), augmentation)
    return tf.where(noisy, snr_db, float("inf"))


def _augmentation_seeds(seed: int, training: bool) -> tf.data.Dataset:
    """One stateless seed pair per clip, in clip order; a fresh draw every epoch only when training."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=training).batch(2)


def _stateless_seed(pair):
    return tf.cast(pair % (2**31), "int32")


def evaluation_snr_db(split: Split, augmentation: Augmentation, seed: int) -> np.ndarray:
    """Per clip of an evaluation `pipeline(split, augmentation=..., seed=seed)`: the SNR its speech got, in clip order.

    +inf for a clip left clean. Silence clips get an absolute noise level, not an SNR: they read +inf too, so a
    breakdown by SNR should leave out the silence label.
    """
    if not split.size:
        return np.zeros(0)
    pairs = _augmentation_seeds(seed, training=False).take(split.size)
    draws = pairs.map(lambda pair: clip_snr_db(_stateless_seed(pair), augmentation)).batch(4096)
    return np.concatenate([np.asarray(batch, np.float64) for batch in draws])


def centre_clip(clip):
    """A clip of at most one second centred in a 1 s window (evaluation of real recordings)."""
    clip = clip[:CLIP_SAMPLES]
    room = CLIP_SAMPLES - tf.shape(clip)[0]
    return tf.reshape(tf.pad(clip, [[room // 2, room - room // 2]]), [CLIP_SAMPLES])


def pipeline(
    split: Split,
    batch_size: int,
    *,
    augmentation: Augmentation | None = None,
    seed: int = 0,
    training: bool = False,
    noises: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of (one-second waveforms, labels). Training reshuffles and draws new augmentations every epoch;
    otherwise the augmentation (if any) is the same on every pass, so validation numbers are comparable."""
    dataset = split.dataset
    if training and split.size:
        dataset = dataset.shuffle(min(split.size, 20000), seed=seed, reshuffle_each_iteration=True)
    if augmentation is not None:
        noises = tf.constant(noise_bank(seed=seed) if noises is None else noises)
        seeds = _augmentation_seeds(seed, training)

        @tf.autograph.experimental.do_not_convert
        def augmented(item, pair):
            return augment_clip(tf.cast(item[0], "float32"), _stateless_seed(pair), noises, augmentation), item[1]

        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            augmented, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
    else:

        @tf.autograph.experimental.do_not_convert
        def centred(clip, label):
            return centre_clip(tf.cast(clip, "float32")), label

        dataset = dataset.map(centred)
    dataset = dataset.batch(batch_size)
    if not training and augmentation is not None and split.size and split.size <= 20000:
        dataset = dataset.cache()
    return dataset.prefetch(tf.data.AUTOTUNE)


# --- the synthetic source ------------------------------------------------------------------------------------


def cache_root() -> Path:
    return Path(os.environ.get("GALLERY_CACHE", Path.home() / ".cache" / "rnn-gallery"))


def _atomic_save_npz(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    os.close(handle)
    try:
        np.savez_compressed(name, **arrays)
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)


CHUNK_ROUNDS = 50


def generate_split(split: str, per_class: int, seed: int) -> Clips:
    """`per_class` clips of each of the 12 classes, spoken by voices of `split`; deterministic given the seed."""
    from datasets import speech_synth

    specs = [
        {
            "split": split,
            "seed": seed,
            "chunk": chunk,
            "rounds": min(CHUNK_ROUNDS, per_class - chunk * CHUNK_ROUNDS),
            "labels": list(SYNTHETIC_LABELS),
            "keywords": list(KEYWORDS),
            "silence": SILENCE,
            "unknown_words": list(UNKNOWN_WORDS),
        }
        for chunk in range((per_class + CHUNK_ROUNDS - 1) // CHUNK_ROUNDS)
    ]
    clips, labels, names = [], [], []
    for chunk_clips, chunk_labels, chunk_names in speech_synth.generate(specs):
        clips += chunk_clips
        labels += chunk_labels
        names += chunk_names
    return Clips.from_list(clips, labels, names)


def synthetic(per_class: dict[str, int], seed: int = 0, cache: Path | None = None) -> SpeechBundle:
    """The synthetic keyword set, read from the cache or generated and cached (`per_class` clips per split)."""
    from datasets import speech_synth

    key_fields = {
        "version": SYNTHETIC_VERSION,
        "per_class": {split: int(per_class[split]) for split in SPLITS},
        "seed": seed,
        "labels": SYNTHETIC_LABELS,
        "unknown": UNKNOWN_WORDS,
        "accents": speech_synth.ACCENTS,
    }
    key = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()[:16]
    path = (cache or cache_root()) / "keywords" / f"synthetic-{key}.npz"
    splits: dict[str, Clips] = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            for split in SPLITS:
                splits[split] = Clips(
                    stored[f"{split}_samples"].astype(np.float32) / 32767.0,
                    stored[f"{split}_offsets"],
                    stored[f"{split}_labels"],
                    [str(name) for name in stored[f"{split}_names"]],
                )
    else:
        arrays = {}
        for split in SPLITS:
            splits[split] = generate_split(split, per_class[split], seed)
            clips = splits[split]
            arrays[f"{split}_samples"] = (np.clip(clips.samples, -1, 1) * 32767).astype(np.int16)
            arrays[f"{split}_offsets"] = clips.offsets
            arrays[f"{split}_labels"] = clips.labels
            arrays[f"{split}_names"] = np.array(clips.names, dtype=str)
        _atomic_save_npz(path, **arrays)
    return SpeechBundle(
        labels=list(SYNTHETIC_LABELS),
        train=Split.of(splits["train"]),
        validation=Split.of(splits["validation"]),
        test=Split.of(splits["test"]),
        source="synthetic",
        synthetic=True,
        notes={"cache": str(path), "voices": {split: len(speech_synth.voices(split)) for split in SPLITS}},
    )


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


def fsdd_split(file_name: str) -> tuple[str, str, int, str]:
    """(digit, speaker, index, split) of an FSDD file name; index 0-4 is test, 5-9 validation, 10-49 train."""
    match = FSDD_NAME.match(file_name)
    if not match:
        raise DataSourceError(f"{file_name!r} is not an FSDD name <digit>_<speaker>_<index>.wav")
    digit, speaker, index = match.group(1), match.group(2), int(match.group(3))
    split = "test" if index < 5 else "validation" if index < 10 else "train"
    return digit, speaker, index, split


def fsdd(root: Path | str) -> SpeechBundle:
    """The Free Spoken Digit Dataset from its folder (or its `recordings/` subfolder), 8 kHz resampled to 16 kHz."""
    root = Path(root)
    recordings = root / "recordings" if (root / "recordings").is_dir() else root
    if not recordings.is_dir():
        raise DataSourceError(f"--data fsdd:{root}: no such folder; point it at the FSDD folder or its recordings/")
    files = _wav_files(recordings)
    if not files:
        raise DataSourceError(f"--data fsdd:{root} holds no .wav files named <digit>_<speaker>_<index>.wav")
    names = [str(digit) for digit in range(10)]
    buckets: dict[str, tuple[list, list, list]] = {split: ([], [], []) for split in SPLITS}
    for path in files:
        digit, _, _, split = fsdd_split(path.name)
        clips, labels, file_names = buckets[split]
        clips.append(_clip_for_training(path))
        labels.append(int(digit))
        file_names.append(path.name)
    return _bundle_from_buckets(buckets, names, f"fsdd:{root}")


# --- tensorflow-datasets -------------------------------------------------------------------------------------

TFDS_SOURCES = ("speech_commands", "spoken_digit")


def _tfds_load(name: str, split):
    import tensorflow_datasets as tfds

    try:
        return tfds.load(name, split=split, with_info=True)
    except Exception as error:  # tfds raises many kinds (download, missing files, unknown config)
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataSourceError(
            f"tfds:{name} could not be loaded ({first_line}); it downloads on first use, so check the network "
            "or run tfds build once"
        ) from None


def tfds_source(name: str) -> SpeechBundle:
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
            samples = _as_float_mono(audio, Path(file_name))
            clips, labels, names = buckets[split]
            clips.append(loudest_window(resample(samples, rate))[0])
            labels.append(int(example["label"]))
            names.append(file_name)
        return _bundle_from_buckets(buckets, [str(d) for d in range(10)], "tfds:spoken_digit")
    raise DataSourceError(f"unknown tfds source tfds:{name}; choose one of: tfds:{', tfds:'.join(TFDS_SOURCES)}")


def load(source: str, *, per_class: dict[str, int] | None = None, seed: int = 0) -> SpeechBundle:
    """A source named as on the command line: `synthetic`, a folder, `fsdd:DIR` or `tfds:NAME`."""
    if source in ("default", "synthetic"):
        return synthetic(per_class or {"train": 300, "validation": 40, "test": 60}, seed)
    if source.startswith("fsdd:"):
        return fsdd(source[len("fsdd:") :])
    if source.startswith("tfds:"):
        return tfds_source(source[len("tfds:") :])
    return folder(source)
