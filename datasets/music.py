"""Polyphonic music sources as piano rolls (`datasets.piano_roll`), split into train, valid and test.

Sources, chosen by `load(source, ...)`:

- `default` (or `bach`): J. S. Bach's chorales from the corpus bundled with music21, parsed once and cached as
  JSON under $GALLERY_CACHE (default ~/.cache/rnn-gallery); split 80/10/10 by a fixed shuffle of their names.
- a polyphonic-music JSON file, or a folder holding one (the Boulanger-Lewandowski et al. 2012 sets: JSB Chorales,
  Nottingham, Piano-midi): `{"train": [piece, ...], "valid": [...], "test": [...]}`, a piece a list of steps, a
  step a sorted list of MIDI pitches. Its own split is kept.
- a folder of MIDI files (`.mid`, `.midi`, searched recursively), read with music21 and split like the chorales.

Unusable input is reported: a file or piece that cannot be used is skipped and counted in `MusicData.warnings`; a
source with nothing usable left raises `MusicDataError`, whose message says what to do. This module knows nothing
of models.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.piano_roll import (
    MIDI_SUFFIXES,
    MusicDataError,
    events_to_roll,
    pitches_to_roll,
    read_midi_events,
    score_events,
)

RESOLUTIONS = {"quarter": 1.0, "eighth": 0.5, "sixteenth": 0.25}
SPLITS = ("train", "valid", "test")
CACHE_VERSION = 1
# Corpus files that are not four-part chorales: the Well-Tempered Clavier prelude and Humdrum duplicates.
_CORPUS_SKIP = ("bwv846",)


@dataclass
class MusicData:
    """Piano rolls (frames x 88, float32) per split, their names, and what had to be skipped or clipped."""

    splits: dict[str, list[np.ndarray]]
    names: dict[str, list[str]]
    source: str
    step_quarters: float | None
    warnings: list[str] = field(default_factory=list)

    def frames(self, split: str) -> int:
        return sum(len(roll) for roll in self.splits[split])

    def describe(self) -> str:
        counts = ", ".join(f"{split} {len(self.splits[split])} ({self.frames(split)} frames)" for split in SPLITS)
        return f"{self.source}: {counts}"


def cache_root() -> Path:
    return Path(os.environ.get("GALLERY_CACHE") or Path.home() / ".cache" / "rnn-gallery")


def _write_json_atomically(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(value, stream)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def bach_corpus_paths() -> list[Path]:
    """The chorale files of music21's bundled corpus (MusicXML), sorted by name."""
    from music21 import corpus

    paths = corpus.getComposer("bach", fileExtensions=("mxl", "xml", "musicxml"))
    chosen = [Path(path) for path in paths if "choraleAnalyses" not in str(path)]
    return sorted((path for path in chosen if not path.name.startswith(_CORPUS_SKIP)), key=lambda path: path.name)


def bach_chorale_events(limit: int = 0, progress=print) -> dict[str, list[list[float]]]:
    """{name: [[pitch, onset, duration], ...]} for the first `limit` chorales (0 = all), parsed once and cached.

    The cache holds note events, not rolls, so every resolution reads the same cache. music21 is told not to
    write its own pickle cache (forceSource).
    """
    import music21
    from music21 import converter

    cache = cache_root() / "music" / f"bach_chorales_v{CACHE_VERSION}_music21-{music21.__version__}.json"
    cached: dict = {}
    if cache.is_file():
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            cached = {}  # a damaged cache is rebuilt, never trusted
    paths = bach_corpus_paths()
    if limit:
        paths = paths[:limit]
    missing = [path for path in paths if path.name not in cached]
    if missing:
        progress(f"parsing {len(missing)} Bach chorales from the music21 corpus (once; cached in {cache})")
        for index, path in enumerate(missing, 1):
            score = converter.parse(path, forceSource=True)
            cached[path.name] = [list(note) for note in score_events(score).notes]
            if index % 25 == 0:
                progress(f"  {index}/{len(missing)} chorales parsed")
                # Saved as it goes: an interrupted first run keeps what it parsed.
                _write_json_atomically(cache, cached)
        _write_json_atomically(cache, cached)
    return {path.name: cached[path.name] for path in paths}


def fixed_split(names: Sequence[str], fractions=(0.8, 0.1, 0.1)) -> dict[str, list[int]]:
    """Indices per split from a shuffle with a fixed seed: the same files always land in the same split."""
    order = sorted(range(len(names)), key=lambda i: names[i])
    random.Random(0).shuffle(order)
    count = len(order)
    valid = max(1, round(count * fractions[1])) if count >= 3 else 0
    test = max(1, round(count * fractions[2])) if count >= 3 else 0
    train = count - valid - test
    return {"train": order[:train], "valid": order[train : train + valid], "test": order[train + valid :]}


def _finish(rolls, names, source, step_quarters, warnings) -> MusicData:
    split = fixed_split(names)
    data = MusicData(
        splits={name: [rolls[i] for i in split[name]] for name in SPLITS},
        names={name: [names[i] for i in split[name]] for name in SPLITS},
        source=source,
        step_quarters=step_quarters,
        warnings=warnings,
    )
    _check_splits(data, "add more pieces")
    return data


def _check_splits(data: MusicData, remedy: str) -> None:
    for split in SPLITS:
        if not data.splits[split]:
            raise MusicDataError(f"{data.source}: the {split} split has no usable piece; {remedy}")


def load_bach(step_quarters: float, limit: int = 0, progress=print) -> MusicData:
    events = bach_chorale_events(limit, progress)
    rolls, names, warnings = [], [], []
    clipped = 0
    for name, notes in events.items():
        roll, out_of_range = events_to_roll(notes, step_quarters)
        clipped += out_of_range
        if len(roll) >= 2:
            rolls.append(roll)
            names.append(name)
    if clipped:
        warnings.append(f"{clipped} notes outside MIDI 21-108 were clipped off the roll")
    return _finish(rolls, names, "Bach chorales (music21 corpus)", step_quarters, warnings)


def load_json(path: Path, limit: int = 0) -> MusicData:
    """A polyphonic-music JSON file with its own train/valid/test split."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MusicDataError(f"{path} is not valid JSON ({error}); give a polyphonic-music JSON file") from None
    if not isinstance(raw, dict) or not all(isinstance(raw.get(split), list) for split in SPLITS):
        raise MusicDataError(
            f'{path} must hold {{"train": [...], "valid": [...], "test": [...]}}, lists of pieces of pitch lists'
        )
    splits, names = {}, {}
    empty = clipped = 0
    for split in SPLITS:
        pieces = raw[split][:limit] if limit else raw[split]
        splits[split], names[split] = [], []
        for index, piece in enumerate(pieces):
            if not isinstance(piece, list) or not all(isinstance(step, list) for step in piece):
                raise MusicDataError(f"{path}: {split} piece {index} is not a list of steps (lists of pitches)")
            roll, out_of_range = pitches_to_roll(piece)
            clipped += out_of_range
            # A piece needs two frames: one to read and one to predict.
            if len(roll) < 2:
                empty += 1
                continue
            splits[split].append(roll)
            names[split].append(f"{split}:{index}")
    warnings = []
    if empty:
        warnings.append(f"{empty} empty pieces (fewer than two steps) were skipped")
    if clipped:
        warnings.append(f"{clipped} notes outside MIDI 21-108 were clipped off the roll")
    data = MusicData(splits, names, str(path), None, warnings)
    _check_splits(data, "give a JSON file whose splits hold pieces of at least two steps")
    return data


def load_midi_folder(folder: Path, step_quarters: float, limit: int = 0) -> MusicData:
    paths = sorted(path for path in folder.rglob("*") if path.suffix.lower() in MIDI_SUFFIXES and path.is_file())
    if not paths:
        raise MusicDataError(f"{folder} holds no .mid or .midi files; give a folder of MIDI files or a JSON file")
    if limit:
        paths = paths[:limit]
    skipped: Counter = Counter()
    clipped = drums_dropped = 0
    rolls, names = [], []
    for path in paths:
        try:
            events = read_midi_events(path)
        except MusicDataError:
            skipped["unreadable (corrupt or empty file)"] += 1
            continue
        if not events.notes:
            skipped["drum-only" if events.percussion else "without notes"] += 1
            continue
        roll, out_of_range = events_to_roll(events.notes, step_quarters)
        clipped += out_of_range
        drums_dropped += events.percussion
        if not roll.any() or len(roll) < 2:
            skipped["without notes in MIDI 21-108 or shorter than two steps"] += 1
            continue
        rolls.append(roll)
        names.append(str(path.relative_to(folder)))
    warnings = [f"{count} MIDI files {why} were skipped" for why, count in sorted(skipped.items())]
    if clipped:
        warnings.append(f"{clipped} notes outside MIDI 21-108 were clipped off the roll")
    if drums_dropped:
        warnings.append(f"{drums_dropped} drum (unpitched) notes were left out")
    if not rolls:
        raise MusicDataError(f"none of the {len(paths)} MIDI files in {folder} is usable ({'; '.join(warnings)})")
    if len(rolls) < 3:
        raise MusicDataError(f"{folder} has {len(rolls)} usable MIDI files; give at least 3 (train, valid, test)")
    return _finish(rolls, names, str(folder), step_quarters, warnings)


def load(source: str, resolution: str = "quarter", limit: int = 0, progress=print) -> MusicData:
    """The piano rolls of `source` (see the module docstring); `limit` keeps the first pieces (0 = all)."""
    if resolution not in RESOLUTIONS:
        raise MusicDataError(f"unknown resolution {resolution!r}; choose one of: {', '.join(RESOLUTIONS)}")
    step_quarters = RESOLUTIONS[resolution]
    if source in ("default", "bach"):
        return load_bach(step_quarters, limit, progress)
    path = Path(source).expanduser()
    if not path.exists():
        raise MusicDataError(
            f"data source {source!r} does not exist; give 'default', a polyphonic-music JSON file, or a MIDI folder"
        )
    if path.is_dir():
        json_files = sorted(path.glob("*.json"))
        if len(json_files) == 1 and not any(p.suffix.lower() in MIDI_SUFFIXES for p in path.iterdir()):
            path = json_files[0]
        else:
            return load_midi_folder(path, step_quarters, limit)
    if path.suffix.lower() == ".json":
        if resolution != "quarter":
            raise MusicDataError(
                "--resolution applies to MIDI data and the chorales; the JSON pieces are already quantised"
            )
        return load_json(path, limit)
    if path.suffix.lower() in MIDI_SUFFIXES:
        raise MusicDataError(f"{path} is one MIDI file; put it in a folder with at least two more and give the folder")
    raise MusicDataError(f"{path} is neither a .json file nor a folder of MIDI files")
