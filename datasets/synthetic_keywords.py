"""The synthetic keyword set: Speech Commands' 12 classes spoken by eSpeak NG voices, cached once per seed and size.

Voice variants are split between training, validation and test (`speech_synth.voices`), so test voices are never
heard in training. The set is a pure function of its key (version, sizes, seed, labels, words, accents) and is
cached as .npz under $GALLERY_CACHE (default ~/.cache/rnn-gallery)/keywords/, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from datasets.speech import KEYWORDS, SILENCE, SPLITS, SYNTHETIC_LABELS, Clips, SpeechBundle, Split

# Other words for `_unknown_`: Speech Commands' auxiliary words and digits, and words that sound like keywords.
# Near-homophones of the keywords ("yet", "nose", "goal", "upper") are hard negatives on purpose; exact homophones
# are not: version 1 had "know" and "write", labelled _unknown_ yet spoken as "no" and "right", a label no model
# can learn (tests/keywords checks every word's phonemes against the keywords' in every accent).
UNKNOWN_WORDS = (
    "bed bird cat dog happy house marvin sheila tree wow zero one two three four five six seven eight nine "
    "yet nose cup town lift bright own often top goal yellow upper dawn light odd store ghost "
    "hello start left-hand quiet open close under over back forward water music never always maybe great"
).split()
SYNTHETIC_VERSION = 2


def cache_root() -> Path:
    """Where synthetic sets are cached: $GALLERY_CACHE, else ~/.cache/rnn-gallery."""
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
    if not path.is_file():
        arrays = {}
        for split in SPLITS:
            clips = generate_split(split, per_class[split], seed)
            arrays[f"{split}_samples"] = (np.clip(clips.samples, -1, 1) * 32767).astype(np.int16)
            arrays[f"{split}_offsets"] = clips.offsets
            arrays[f"{split}_labels"] = clips.labels
            arrays[f"{split}_names"] = np.array(clips.names, dtype=str)
        _atomic_save_npz(path, **arrays)
    # Always the stored 16-bit clips, also right after synthesis: a run gives the same result with or without a cache.
    splits: dict[str, Clips] = {}
    with np.load(path, allow_pickle=False) as stored:
        for split in SPLITS:
            splits[split] = Clips(
                stored[f"{split}_samples"].astype(np.float32) / 32767.0,
                stored[f"{split}_offsets"],
                stored[f"{split}_labels"],
                [str(name) for name in stored[f"{split}_names"]],
            )
    return SpeechBundle(
        labels=list(SYNTHETIC_LABELS),
        train=Split.of(splits["train"]),
        validation=Split.of(splits["validation"]),
        test=Split.of(splits["test"]),
        source="synthetic",
        synthetic=True,
        notes={"cache": str(path), "voices": {split: len(speech_synth.voices(split)) for split in SPLITS}},
    )
