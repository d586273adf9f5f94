"""The music app's configuration: an LSTM over piano-roll frames of the Bach chorales, and its presets."""

from __future__ import annotations

from dataclasses import dataclass

from datasets import music as music_data
from gallery.config import RunConfig, option, override
from gallery.errors import UsageError

PRIMER_FRAMES_KEPT = 64  # frames of each valid/test piece stored in the run folder for `generate --primer`
OUTPUTS = ("independent", "nade")


@dataclass
class MusicConfig(RunConfig):
    """Piano-roll modelling of the Bach chorales with an LSTM, and a few pieces composed from test primers.

    The demo trains up to 60 epochs, in a few minutes on a quiet 2-core CPU. By default the keys of each frame are
    modelled jointly (an RNN-NADE of 32 units, `gallery.music.nade`); `--output independent` is the lecture's
    simple baseline of 88 independent sigmoids, whose epochs are about half as long.
    """

    APP = "music"
    UNIDIRECTIONAL_REASON = (
        "would let the network hear the frame it must predict; the music model reads forwards only, leave it off"
    )
    PRESETS = {
        "smoke": {
            "units": 16,
            "epochs": 2,
            "batch_size": 8,
            "pieces": 12,
            "samples": 1,
            "sample_steps": 8,
            "primer_steps": 4,
            "dropout": 0.0,
            "nade_units": 8,
        },
        "demo": {},
        "full": {"units": 256, "epochs": 300, "dropout": 0.5, "patience": 25, "transpose": 3},
    }

    cell: str = override("cell", "lstm")
    units: int = override("units", 128)
    epochs: int = override("epochs", 60)
    batch_size: int = override("batch_size", 16)
    learning_rate: float = override("learning_rate", 2e-3)
    dropout: float = override("dropout", 0.3)
    patience: int = override("patience", 8)
    output: str = option(
        "nade",
        "distribution of a frame's 88 keys: independent sigmoids, or nade (each key conditioned on the keys below it)",
        choices=OUTPUTS,
    )
    nade_units: int = option(32, "hidden units of the NADE that models each frame (with --output nade)", minimum=1)
    data: str = option("default", "default: Bach chorales from music21; a polyphonic-music JSON file; a MIDI folder")
    resolution: str = option(
        "quarter", "time step of MIDI data and the chorales", choices=tuple(music_data.RESOLUTIONS)
    )
    transpose: int = option(
        0, "augment training pieces by a random transposition of up to this many semitones (0 = off)", minimum=0
    )
    pieces: int = option(0, "use only the first N pieces (of each split for JSON data; 0 = all)", minimum=0)
    samples: int = option(3, "pieces composed after training, each as MIDI, WAV and piano-roll PNG", minimum=0)
    sample_steps: int = option(64, "steps composed after each primer", minimum=1)
    primer_steps: int = option(16, "steps of a test piece that prime each composition", minimum=0)
    temperature: float = option(1.0, "sampling temperature: below 1 is more conservative", minimum=0.0)
    bpm: float = option(100.0, "tempo of the MIDI and WAV output, quarter notes per minute", minimum=1.0)

    def architecture(self) -> str:
        """The recurrent architecture, and the NADE's width when the keys of a frame are modelled jointly."""
        base = super().architecture()
        return f"{base}-nade{self.nade_units}" if self.output == "nade" else base

    def validate(self) -> None:
        super().validate()
        if self.temperature <= 0:
            raise UsageError(f"--temperature must be above 0, got {self.temperature}")
        if self.primer_steps > PRIMER_FRAMES_KEPT:
            raise UsageError(f"--primer-steps must be at most {PRIMER_FRAMES_KEPT}, got {self.primer_steps}")
        if self.transpose > 12:
            raise UsageError(f"--transpose must be at most 12 semitones (an octave), got {self.transpose}")
