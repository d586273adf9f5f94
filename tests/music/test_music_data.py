"""Piano rolls and their sources: MIDI round trips, the JSON format, MIDI folders with bad files, the chorales."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from music21 import chord, note, stream

from datasets import music, piano_roll

KEY = piano_roll.LOWEST_PITCH


def built_score():
    """Two voices: a held chord, a rest, repeated notes and a melody, all on the quarter grid of the test."""
    score = stream.Score()
    upper, lower = stream.Part(), stream.Part()
    upper.append([note.Note(72, quarterLength=1), note.Note(74, quarterLength=1), note.Rest(quarterLength=1)])
    upper.append([note.Note(76, quarterLength=0.5), note.Note(77, quarterLength=0.5), note.Note(79, quarterLength=2)])
    lower.append([chord.Chord([48, 55, 64], quarterLength=2), note.Note(50, quarterLength=1.5)])
    lower.append([note.Note(21, quarterLength=0.5), note.Note(108, quarterLength=2)])
    score.insert(0, upper)
    score.insert(0, lower)
    return score


@pytest.mark.parametrize("resolution", ["eighth", "sixteenth"])
def test_roll_to_midi_to_roll_round_trip(tmp_path, resolution):
    step = music.RESOLUTIONS[resolution]
    events = piano_roll.score_events(built_score())
    roll, clipped = piano_roll.events_to_roll(events.notes, step)
    assert clipped == 0
    assert roll.shape == (round(6 / step), piano_roll.KEYS)
    # Spot checks on the grid: the chord sounds for two quarters, the lowest and highest keys are both used.
    assert roll[0, [48 - KEY, 55 - KEY, 64 - KEY, 72 - KEY]].all()
    assert roll[round(2.0 / step) - 1, 48 - KEY] == 1 and roll[round(2.0 / step), 48 - KEY] == 0
    assert roll[:, 0].any() and roll[:, piano_roll.KEYS - 1].any()
    assert not roll[round(2.0 / step), 72 - KEY :].any()  # the rest in the upper voice
    path = tmp_path / "piece.mid"
    path.write_bytes(piano_roll.roll_to_midi_bytes(roll, step))
    assert np.array_equal(piano_roll.midi_to_roll(path, step), roll)


def test_dense_random_roll_round_trips_through_midi(tmp_path, rng):
    # Many keys starting and stopping together, overlapping held notes of every length.
    roll = (rng.random((40, piano_roll.KEYS)) < 0.4).astype(np.float32)
    path = tmp_path / "dense.mid"
    path.write_bytes(piano_roll.roll_to_midi_bytes(roll, 0.5))
    assert np.array_equal(piano_roll.midi_to_roll(path, 0.5), roll)


def test_quarter_grid_samples_the_note_sounding_at_each_step():
    # An eighth note between grid points is not sampled; one on a grid point fills that frame.
    roll, _ = piano_roll.events_to_roll([(60, 0.0, 1.0), (62, 1.5, 0.5), (64, 2.0, 0.5)], 1.0)
    assert piano_roll.roll_to_pitches(roll) == [[60], [], [64]]


def test_json_pitch_lists_round_trip_and_out_of_range_pitches_are_counted():
    steps = [[60, 64, 67], [], [20, 21, 108, 109, 120]]
    roll, clipped = piano_roll.pitches_to_roll(steps)
    assert clipped == 3
    assert piano_roll.roll_to_pitches(roll) == [[60, 64, 67], [], [21, 108]]


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_json_empty_pieces_and_out_of_range_pitches_are_counted(tmp_path):
    piece = [[60], [62, 110], [64]]
    path = write_json(tmp_path / "set.json", {"train": [piece, [], [[60]]], "valid": [piece], "test": [piece]})
    data = music.load(str(path))
    assert [len(data.splits[split]) for split in music.SPLITS] == [1, 1, 1]
    assert data.names["train"] == ["train:0"]
    assert "2 empty pieces (fewer than two steps) were skipped" in data.warnings
    assert "3 notes outside MIDI 21-108 were clipped off the roll" in data.warnings
    assert data.frames("test") == 3


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not valid JSON"),
        ('{"train": []}', '"train"'),
        ('{"train": [[[60], [61]]], "valid": [[]], "test": [[[60], [61]]]}', "the valid split has no usable piece"),
        ('{"train": [[60, 61]], "valid": [], "test": []}', "train piece 0 is not a list of steps"),
    ],
)
def test_bad_json_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(music.MusicDataError, match=message.replace("[", r"\[")):
        music.load(str(path))


def drum_only_midi() -> bytes:
    """A type-0 MIDI file with one bass-drum hit on channel 10."""
    from music21 import midi

    track = midi.MidiTrack(1)
    for kind, velocity, delta in (
        (midi.ChannelVoiceMessages.NOTE_ON, 100, 0),
        (midi.ChannelVoiceMessages.NOTE_OFF, 0, 1024),
    ):
        track.events.append(midi.DeltaTime(track, time=delta))
        event = midi.MidiEvent(track, type=kind, channel=10)
        event.pitch, event.velocity = 36, velocity
        track.events.append(event)
    track.events.append(midi.DeltaTime(track, time=0))
    end = midi.MidiEvent(track, type=midi.MetaEvents.END_OF_TRACK)
    end.data = b""
    track.events.append(end)
    midi_file = midi.MidiFile()
    midi_file.ticksPerQuarterNote = 1024
    midi_file.tracks.append(track)
    return midi_file.writestr()


def test_midi_folder_skips_and_counts_bad_files(tmp_path):
    roll, _ = piano_roll.pitches_to_roll([[60, 64], [62], [], [67, 110 - 12]])
    for index in range(3):
        (tmp_path / f"good_{index}.mid").write_bytes(piano_roll.roll_to_midi_bytes(np.roll(roll, index, axis=0), 1.0))
    (tmp_path / "corrupt.mid").write_bytes(b"MThd but not really")
    (tmp_path / "empty.midi").write_bytes(b"")
    (tmp_path / "drums.mid").write_bytes(drum_only_midi())
    (tmp_path / "notes.txt").write_text("ignored")
    data = music.load(str(tmp_path))
    assert sum(len(data.splits[split]) for split in music.SPLITS) == 3
    assert "2 MIDI files unreadable (corrupt or empty file) were skipped" in data.warnings
    assert "1 MIDI files drum-only were skipped" in data.warnings
    assert sorted(sum(data.names.values(), [])) == ["good_0.mid", "good_1.mid", "good_2.mid"]


def test_midi_folder_with_nothing_usable_is_a_clear_error(tmp_path):
    (tmp_path / "corrupt.mid").write_bytes(b"garbage")
    (tmp_path / "drums.mid").write_bytes(drum_only_midi())
    with pytest.raises(music.MusicDataError, match="none of the 2 MIDI files .* is usable"):
        music.load(str(tmp_path))
    with pytest.raises(music.MusicDataError, match="holds no .mid or .midi files"):
        empty = tmp_path / "empty_folder"
        empty.mkdir()
        music.load(str(empty))


def test_unknown_sources_and_resolutions_are_clear_errors(tmp_path):
    with pytest.raises(music.MusicDataError, match="does not exist"):
        music.load(str(tmp_path / "missing"))
    path = write_json(tmp_path / "set.json", {"train": [], "valid": [], "test": []})
    with pytest.raises(music.MusicDataError, match="already quantised"):
        music.load(str(path), resolution="eighth")


def test_bach_chorales_are_parsed_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    messages = []
    data = music.load("default", limit=4, progress=messages.append)
    assert messages and "parsing 4 Bach chorales" in messages[0]
    assert sum(len(data.splits[split]) for split in music.SPLITS) == 4
    rolls = sum(data.splits.values(), [])
    # Four-part chorales: mostly four keys sounding per frame, all within the voices' range.
    voices = np.mean([roll.sum(axis=1).mean() for roll in rolls])
    assert 3.0 < voices <= 4.5
    cache_files = list((tmp_path / "music").glob("bach_chorales_*.json"))
    assert len(cache_files) == 1
    messages.clear()
    again = music.load("default", resolution="eighth", limit=4, progress=messages.append)
    assert messages == []  # every resolution reads the same cached note events
    assert again.frames("train") == 2 * data.frames("train")


def test_fixed_split_does_not_depend_on_the_listing_order():
    names = [f"piece_{i}" for i in range(20)]
    split = music.fixed_split(names)
    reversed_split = music.fixed_split(names[::-1])
    assert [len(split[s]) for s in music.SPLITS] == [16, 2, 2]
    assert {names[i] for i in split["test"]} == {names[::-1][i] for i in reversed_split["test"]}


def test_the_standard_jsb_split_loads():
    root = os.environ.get("GALLERY_DATA_DIR")
    if not root or not (Path(root) / "jsb_chorales").is_dir():
        pytest.skip("GALLERY_DATA_DIR with jsb_chorales is not set; real-data tests are skipped")
    data = music.load(str(Path(root) / "jsb_chorales"))
    assert [len(data.splits[split]) for split in music.SPLITS] == [229, 76, 77]
    assert data.warnings == []
