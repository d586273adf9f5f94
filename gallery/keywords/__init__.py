"""Spoken keyword recognition from the raw waveform: Speech Commands' 12 classes, spoken by eSpeak NG voices.

Layout: many-to-one. A one-second 16 kHz waveform enters the model; inside it, an STFT, log-mel filters (optional
MFCCs) and per-channel normalisation turn it into frames (`models.audio`), two small convolutions over those
frames halve their number and pool the mel axis, the shared recurrent stack reads them both ways, and attention
pooling (de Andrade et al. 2018; or the last state, or the mean) feeds a softmax over the labels.

Data: by default yes, no, up, down, left, right, on, off, stop, go, `_unknown_` (other words) and `_silence_`
(background noise), synthesised offline with eSpeak NG (`datasets.synthetic_keywords`); test voices are never
heard in training; clips are shifted, scaled and mixed with noise at a random SNR. Also a folder of WAVs per
label, `fsdd:DIR` (Free Spoken Digit Dataset, official split) and `tfds:speech_commands` / `tfds:spoken_digit`.

    python -m gallery.keywords                                   # demo: synthetic voices, under 10 min on a CPU
    python -m gallery.keywords --data fsdd:../shared/data/fsdd --preset full
    python -m gallery.keywords predict yes.wav no.wav --run runs/keywords/lstm-1x128-bi-demo
    python -m gallery.keywords listen long.wav --run runs/keywords/lstm-1x128-bi-demo
    python -m gallery.keywords evaluate --run runs/keywords/lstm-1x128-bi-demo --data DIR

Expected: the demo names about 97 in 100 noisy clips of held-out voices (README.md); the run folder keeps a
confusion matrix, spectrograms of test clips and one clip per label as WAV.
"""

from gallery.cli import App
from gallery.keywords.config import KeywordsConfig
from gallery.keywords.train import train_and_evaluate
from gallery.keywords.verbs import VERBS, KeywordsRun

APP = App(
    name="keywords",
    layout="many-to-one",
    description="Spoken keyword recognition from a raw 16 kHz waveform (log-mel frames, RNN, pooling, softmax).",
    config=KeywordsConfig,
    train_and_evaluate=train_and_evaluate,
    verbs=VERBS,
    trained=KeywordsRun,
)
