"""The keyword recogniser: raw waveform -> log-mel frames -> convolutions -> recurrent stack -> pooling -> labels."""

from __future__ import annotations

import keras
import numpy as np

from datasets.audio_files import CLIP_SAMPLES, SAMPLE_RATE
from gallery.keywords.config import KeywordsConfig
from models.audio import LogMelSpectrogram, audio_frontend
from models.templates import many_to_one

# About 66 dB under loud speech (whose mel energies reach ~20): with a floor of 1e-6, digital silence around a clean
# word and faint noise took up most of the feature range, and noisy clips looked unlike clean ones.
LOG_FLOOR = 1e-2


def feature_layer(config: KeywordsConfig) -> LogMelSpectrogram:
    """The log-mel (or MFCC) layer of the config: its window rounded up to a power of two for the FFT."""
    frame_length = int(round(config.frame_ms * SAMPLE_RATE / 1000))
    fft_length = 1 << max(0, frame_length - 1).bit_length()
    return LogMelSpectrogram(
        sample_rate=SAMPLE_RATE,
        frame_length=frame_length,
        frame_step=int(round(config.hop_ms * SAMPLE_RATE / 1000)),
        fft_length=fft_length,
        mel_bins=config.mel_bins,
        mfccs=config.mfccs,
        log_offset=LOG_FLOOR,
        name="log_mel",
    )


def build_model(config: KeywordsConfig, num_classes: int, normalisation_clips: np.ndarray) -> keras.Model:
    """Raw one-second waveform -> the front end (features normalised on `normalisation_clips`) -> class logits."""
    frontend = audio_frontend(
        feature_layer(config),
        normalisation_clips,
        conv_filters=config.conv_filters,
        frequency_pool=config.frequency_pool,
    )
    return many_to_one(
        config.rnn_spec(),
        num_classes,
        frontend=frontend,
        input_shape=(CLIP_SAMPLES,),
        pooling=config.pool,
        name="keywords",
    )
