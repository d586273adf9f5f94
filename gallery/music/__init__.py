"""Polyphonic music: a recurrent network models piano rolls frame by frame, then composes from a primer.

Layout: many-to-many (aligned) for training: the input is a piece's frames 0..T-2, the target its frames 1..T-1,
and the next frame's 88 keys come from an RNN-NADE that conditions every key on the keys below it, or with `--output
independent` from 88 independent sigmoids (Boulanger-Lewandowski et al. 2012). Generation is one-to-many: the step
model reads a primer, then samples every key of every new frame (key by key for the NADE), at a temperature,
carrying the recurrent state.

Data: by default J. S. Bach's chorales from the corpus bundled with music21 (parsed once, cached); also the
polyphonic-music JSON of the literature's splits (JSB Chorales, Nottingham, Piano-midi) or a folder of MIDI files.

    python -m gallery.music                                          # demo: Bach chorales, LSTM 1x128 + NADE
    python -m gallery.music --data ../shared/data/jsb_chorales --preset full
    python -m gallery.music generate --run runs/music/lstm-1x128-nade32-demo --steps 64 --primer test:0 --out song.mid

Metric: negative log-likelihood per frame in nats (lower is better) and frame-level accuracy, on the test pieces.
Expected: the run folder holds composed MIDI, WAV and piano-roll PNG files beside the model.
"""

from gallery.cli import App
from gallery.music.config import MusicConfig
from gallery.music.train import train_and_evaluate
from gallery.music.verbs import VERBS, MusicRun

APP = App(
    name="music",
    layout="many-to-many (aligned) training; one-to-many generation",
    description="Polyphonic piano rolls (88 sigmoid keys or an RNN-NADE per frame) and composition from a primer.",
    config=MusicConfig,
    train_and_evaluate=train_and_evaluate,
    verbs=VERBS,
    trained=MusicRun,
)
