"""Piano rolls: 88 keys (MIDI 21 to 108), one frame per time step, 1 where a key sounds; to and from MIDI.

A frame holds the keys sounding at the instant its step starts (the literature's sampling). Rolls are built from
note events (music21 scores, MIDI files) or from the polyphonic-music JSON's pitch lists, and written back to MIDI
with music21 for the generator. This module knows nothing of models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOWEST_PITCH = 21  # A0, the piano's lowest key
HIGHEST_PITCH = 108  # C8, its highest
KEYS = HIGHEST_PITCH - LOWEST_PITCH + 1
MIDI_SUFFIXES = (".mid", ".midi")


class MusicDataError(ValueError):
    """The data cannot be used; the message says what is wrong and what to do."""


@dataclass
class NoteEvents:
    """Notes of a score as (pitch, onset, duration) in quarter lengths, and what was dropped on the way."""

    notes: list[tuple[int, float, float]]
    out_of_range: int = 0
    percussion: int = 0


def events_to_roll(events: Iterable[tuple[int, float, float]], step_quarters: float) -> tuple[np.ndarray, int]:
    """(roll, out-of-range count): a key is on in frame t if its note sounds at time t * step_quarters."""
    events = [(int(p), float(onset), float(duration)) for p, onset, duration in events if duration > 0]
    if not events:
        return np.zeros((0, KEYS), np.float32), 0
    end = max(onset + duration for _, onset, duration in events)
    # A tolerance keeps float offsets such as 2.9999999 on the grid point they mean.
    tolerance = 1e-6
    frames = math.ceil(end / step_quarters - tolerance)
    roll = np.zeros((frames, KEYS), np.float32)
    out_of_range = 0
    for pitch, onset, duration in events:
        if not LOWEST_PITCH <= pitch <= HIGHEST_PITCH:
            out_of_range += 1
            continue
        first = math.ceil(onset / step_quarters - tolerance)
        stop = math.ceil((onset + duration) / step_quarters - tolerance)
        roll[first:stop, pitch - LOWEST_PITCH] = 1.0
    return roll, out_of_range


def pitches_to_roll(steps: Sequence[Sequence[int]]) -> tuple[np.ndarray, int]:
    """(roll, out-of-range count) from the JSON format: a list of steps, each a list of MIDI pitches."""
    roll = np.zeros((len(steps), KEYS), np.float32)
    out_of_range = 0
    for t, pitches in enumerate(steps):
        for pitch in pitches:
            if LOWEST_PITCH <= int(pitch) <= HIGHEST_PITCH:
                roll[t, int(pitch) - LOWEST_PITCH] = 1.0
            else:
                out_of_range += 1
    return roll, out_of_range


def roll_to_pitches(roll: np.ndarray) -> list[list[int]]:
    """The JSON format of a roll: the sounding MIDI pitches of each frame."""
    return [[int(k) + LOWEST_PITCH for k in np.flatnonzero(frame > 0.5)] for frame in np.asarray(roll)]


def roll_notes(roll: np.ndarray) -> list[tuple[int, int, int]]:
    """(pitch, first frame, frames) for every run of consecutive frames in which a key stays on."""
    on = np.asarray(roll) > 0.5
    padded = np.concatenate([np.zeros((1, KEYS), bool), on, np.zeros((1, KEYS), bool)])
    changes = np.diff(padded.astype(np.int8), axis=0)
    notes = []
    for key in range(KEYS):
        starts = np.flatnonzero(changes[:, key] == 1)
        stops = np.flatnonzero(changes[:, key] == -1)
        notes += [(key + LOWEST_PITCH, int(a), int(b - a)) for a, b in zip(starts, stops)]
    return sorted(notes, key=lambda note: (note[1], note[0]))


def score_events(score) -> NoteEvents:
    """The pitched notes of a music21 score; unpitched (drum) notes are counted, not kept."""
    from music21 import chord, note

    events = NoteEvents([])
    for element in score.flatten().notes:
        onset, duration = float(element.offset), float(element.quarterLength)
        if isinstance(element, chord.Chord):
            events.notes += [(pitch.midi, onset, duration) for pitch in element.pitches]
        elif isinstance(element, note.Note):
            events.notes.append((element.pitch.midi, onset, duration))
        else:
            # note.Unpitched and percussion chords: MIDI channel 10.
            events.percussion += 1
    return events


def roll_to_stream(roll: np.ndarray, step_quarters: float, bpm: float = 100.0):
    """A music21 part: a held key becomes one note; tempo `bpm` quarter notes per minute."""
    from music21 import instrument, note, stream, tempo

    part = stream.Part()
    part.insert(0, instrument.Piano())
    part.insert(0, tempo.MetronomeMark(number=bpm))
    for pitch, first, frames in roll_notes(roll):
        part.insert(first * step_quarters, note.Note(pitch, quarterLength=frames * step_quarters))
    return part


def roll_to_midi_bytes(roll: np.ndarray, step_quarters: float, bpm: float = 100.0) -> bytes:
    """A standard MIDI file of the roll, as bytes (the caller writes them atomically)."""
    from music21 import midi

    return midi.translate.streamToMidiFile(roll_to_stream(roll, step_quarters, bpm)).writestr()


def read_midi_events(path: Path | str) -> NoteEvents:
    """The notes of a MIDI file in quarter lengths; MusicDataError when it is not a MIDI file music21 can read.

    The file is read at the level of MIDI events (music21.midi) rather than turned into a score: the score
    converter splits dense polyphony into voices and chords, and the timing of single keys suffers on the way.
    """
    from music21 import midi

    path = Path(path)
    midi_file = midi.MidiFile()
    try:
        midi_file.readstr(path.read_bytes())
    except Exception as error:  # music21 raises many kinds for corrupt files; all mean "unreadable"
        raise MusicDataError(f"{path} is not a readable MIDI file ({type(error).__name__}: {error})") from None
    ticks = midi_file.ticksPerQuarterNote or 480
    events = NoteEvents([])
    note_on, note_off = midi.ChannelVoiceMessages.NOTE_ON, midi.ChannelVoiceMessages.NOTE_OFF
    for track in midi_file.tracks:
        time = 0
        sounding: dict[tuple[int, int], list[int]] = {}
        for event in track.events:
            if isinstance(event, midi.DeltaTime):
                time += event.time
                continue
            if event.type not in (note_on, note_off):
                continue
            if event.channel == 10:
                # General MIDI's percussion channel: drum sounds, not pitches.
                events.percussion += event.type == note_on and bool(event.velocity)
                continue
            key = (event.channel, event.pitch)
            if event.type == note_on and event.velocity:
                sounding.setdefault(key, []).append(time)
            elif sounding.get(key):
                onset = sounding[key].pop(0)
                events.notes.append((event.pitch, onset / ticks, (time - onset) / ticks))
        # A note never switched off lasts to the end of its track.
        for (_, pitch), onsets in sounding.items():
            events.notes += [(pitch, onset / ticks, (time - onset) / ticks) for onset in onsets]
    return events


def midi_to_roll(path: Path | str, step_quarters: float) -> np.ndarray:
    """A MIDI file as a piano roll (for tests and tools; `load` also counts what it skips)."""
    roll, _ = events_to_roll(read_midi_events(path).notes, step_quarters)
    return roll
