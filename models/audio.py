"""Audio front ends as Keras layers: raw waveform -> STFT -> log-mel spectrogram -> optional MFCCs -> normalisation.

The features are computed inside the model, so a saved `.keras` file takes a raw waveform and gives the same
features at training and at inference time (no separate preprocessing script to keep in step). The maths is
TensorFlow's own `tf.signal` (periodic Hann window, HTK mel scale, DCT-II MFCCs), as in the TensorFlow audio
tutorials and Warden (2018). `audio_frontend` stacks the feature layer and a `keras.layers.Normalization` whose
per-channel mean and variance are adapted on training clips.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="rnn_gallery")
class LogMelSpectrogram(keras.layers.Layer):
    """(batch, samples) waveform -> (batch, frames, mel bins) log-mel energies, or (batch, frames, mfccs).

    Frames are `frame_length` samples long, `frame_step` apart, with no padding, so a clip of S samples gives
    1 + (S - frame_length) // frame_step frames. The magnitude spectrum is mapped to `mel_bins` triangular HTK mel
    filters between `lower_hz` and `upper_hz`, and `log(mel + log_offset)` is taken. With `mfccs > 0` the first
    `mfccs` DCT-II coefficients of the log-mel frame are returned instead.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_length: int = 400,
        frame_step: int = 160,
        fft_length: int = 512,
        mel_bins: int = 40,
        lower_hz: float = 20.0,
        upper_hz: float = 7600.0,
        mfccs: int = 0,
        log_offset: float = 1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if frame_length > fft_length:
            raise ValueError(f"frame_length {frame_length} must not exceed fft_length {fft_length}")
        if not 0 <= lower_hz < upper_hz <= sample_rate / 2:
            raise ValueError(f"need 0 <= lower_hz < upper_hz <= {sample_rate / 2} Hz, got {lower_hz}, {upper_hz}")
        if mfccs > mel_bins:
            raise ValueError(f"mfccs ({mfccs}) cannot exceed mel_bins ({mel_bins})")
        self.sample_rate = int(sample_rate)
        self.frame_length = int(frame_length)
        self.frame_step = int(frame_step)
        self.fft_length = int(fft_length)
        self.mel_bins = int(mel_bins)
        self.lower_hz = float(lower_hz)
        self.upper_hz = float(upper_hz)
        self.mfccs = int(mfccs)
        self.log_offset = float(log_offset)
        # A constant, not a weight: it follows from the config, so it need not be saved or trained.
        self.mel_matrix = tf.signal.linear_to_mel_weight_matrix(
            self.mel_bins, self.fft_length // 2 + 1, self.sample_rate, self.lower_hz, self.upper_hz
        )

    @property
    def channels(self) -> int:
        return self.mfccs or self.mel_bins

    def frames(self, samples: int) -> int:
        return 1 + (samples - self.frame_length) // self.frame_step

    def call(self, waveform):
        waveform = tf.cast(waveform, "float32")
        spectrum = tf.abs(
            tf.signal.stft(
                waveform,
                frame_length=self.frame_length,
                frame_step=self.frame_step,
                fft_length=self.fft_length,
                window_fn=tf.signal.hann_window,
            )
        )
        mel = tf.tensordot(spectrum, self.mel_matrix, 1)
        log_mel = tf.math.log(mel + self.log_offset)
        if self.mfccs:
            return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : self.mfccs]
        return log_mel

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = None if samples is None else self.frames(samples)
        return (*input_shape[:-1], frames, self.channels)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "mel_bins": self.mel_bins,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "mfccs": self.mfccs,
            "log_offset": self.log_offset,
        }


def audio_frontend(features: LogMelSpectrogram, normalisation_clips: np.ndarray | None = None) -> keras.Sequential:
    """The feature layer followed by per-channel normalisation, adapted on `normalisation_clips` when given.

    Without clips the normalisation is left unadapted; that is only for a model whose weights are loaded later.
    """
    normalise = keras.layers.Normalization(axis=-1, name="feature_normalisation")
    if normalisation_clips is not None:
        normalise.adapt(features(np.asarray(normalisation_clips, np.float32)))
    return keras.Sequential([features, normalise], name="frontend")


def mel_filterbank_reference(
    mel_bins: int, spectrum_bins: int, sample_rate: int, lower_hz: float, upper_hz: float
) -> np.ndarray:
    """The HTK triangular mel filters of `tf.signal.linear_to_mel_weight_matrix`, written out in NumPy (tests)."""

    def hz_to_mel(hz):
        return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)

    frequencies = np.linspace(0.0, sample_rate / 2, spectrum_bins)[1:]
    spectrum_mel = hz_to_mel(frequencies)[:, None]
    edges = np.linspace(hz_to_mel(lower_hz), hz_to_mel(upper_hz), mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (spectrum_mel - lower) / (center - lower)
    falling = (upper - spectrum_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # The DC bin carries no weight.
    return np.vstack([np.zeros((1, mel_bins)), weights])
