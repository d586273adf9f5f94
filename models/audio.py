"""Audio front ends as Keras layers: raw waveform -> STFT -> log-mel spectrogram -> optional MFCCs -> normalisation.

The features are computed inside the model, so a saved `.keras` file takes a raw waveform and gives the same
features at training and at inference time (no separate preprocessing script to keep in step). The maths is that
of `tf.signal` (periodic Hann window, HTK mel scale, DCT-II MFCCs), as in the TensorFlow audio tutorials and Warden
(2018), written with `keras.ops` (its `stft`) and two constant matrices built in NumPy, so the same layer runs on
TensorFlow and on JAX; the tests hold it to `tf.signal` itself and to a NumPy/SciPy reference.
`audio_frontend` stacks the feature layer, a `keras.layers.Normalization` whose
per-channel mean and variance are adapted on training clips, and optionally `ConvFrames`, two convolutions over the
(frame, mel bin) image that halve the frames.
"""

from __future__ import annotations

import keras
import numpy as np


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
        # Constants, not weights: they follow from the config, so they need not be saved or trained.
        self.mel_matrix = mel_filterbank_reference(
            self.mel_bins, self.fft_length // 2 + 1, self.sample_rate, self.lower_hz, self.upper_hz
        ).astype(np.float32)
        self.dct_matrix = dct_matrix(self.mel_bins, self.mfccs).astype(np.float32) if self.mfccs else None
        self.window = np.hanning(self.frame_length + 1)[:-1].astype(np.float32)  # periodic, as tf.signal's

    @property
    def channels(self) -> int:
        return self.mfccs or self.mel_bins

    def frames(self, samples: int) -> int:
        return 1 + (samples - self.frame_length) // self.frame_step

    def call(self, waveform):
        waveform = keras.ops.cast(waveform, "float32")
        # keras.ops.stft centres a short window in an FFT-long frame; padding the clip by as much on each side
        # gives tf.signal.stft's frames: frame_length samples from every frame_step, zero-filled up to the FFT.
        before = (self.fft_length - self.frame_length) // 2
        after = self.fft_length - self.frame_length - before
        padding = [[0, 0]] * (len(waveform.shape) - 1) + [[before, after]]
        real, imaginary = keras.ops.stft(
            keras.ops.pad(waveform, padding),
            sequence_length=self.frame_length,
            sequence_stride=self.frame_step,
            fft_length=self.fft_length,
            window=self.window,
            center=False,
        )
        spectrum = keras.ops.sqrt(keras.ops.square(real) + keras.ops.square(imaginary))
        log_mel = keras.ops.log(keras.ops.matmul(spectrum, self.mel_matrix) + self.log_offset)
        if self.mfccs:
            return keras.ops.matmul(log_mel, self.dct_matrix)
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


def hz_to_mel(hz):
    """The HTK mel scale of `tf.signal.linear_to_mel_weight_matrix`."""
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class ConvFrames(keras.layers.Layer):
    """(batch, frames, channels) -> (batch, ceil(frames / 2), ceil(channels / 2) * 2 * filters): a learnt filter bank.

    Two 3x3 convolutions over the (frame, mel bin) image, each with batch normalisation and ReLU, the second with
    stride 2 in both axes, as the convolutional front of a CRNN keyword spotter (Arik et al. 2017; de Andrade et al.
    2018 put two convolutions before their recurrent layers too). Local time-frequency patterns such as a formant
    transition or a burst are found before the recurrence, which then takes half the steps.

    `frequency_pool` > 1 max-pools the mel axis of the result by that factor: the recurrent layer's input, and so
    most of its arithmetic, shrinks by as much.
    """

    def __init__(self, filters: int = 16, frequency_pool: int = 1, **kwargs):
        super().__init__(**kwargs)
        if filters < 1:
            raise ValueError(f"filters must be at least 1, got {filters}")
        if frequency_pool < 1:
            raise ValueError(f"frequency_pool must be at least 1, got {frequency_pool}")
        self.filters = int(filters)
        self.frequency_pool = int(frequency_pool)
        self.first = keras.layers.Conv2D(self.filters, 3, padding="same", use_bias=False, name="first")
        # Momentum 0.9, not Keras's 0.99: a demo trains a few thousand steps, and with 0.99 the moving statistics
        # used at inference lagged so far that validation accuracy stayed at chance for the first epochs.
        self.first_norm = keras.layers.BatchNormalization(momentum=0.9, name="first_norm")
        self.second = keras.layers.Conv2D(2 * self.filters, 3, strides=2, padding="same", use_bias=False, name="second")
        self.second_norm = keras.layers.BatchNormalization(momentum=0.9, name="second_norm")

    def build(self, input_shape):
        image = (*input_shape, 1)
        self.first.build(image)
        self.first_norm.build((*input_shape, self.filters))
        halved = tuple(None if size is None else -(-size // 2) for size in input_shape[1:])
        self.second.build((*input_shape, self.filters))
        self.second_norm.build((input_shape[0], *halved, 2 * self.filters))

    def call(self, features, training=None):
        image = keras.ops.expand_dims(features, -1)
        image = keras.ops.relu(self.first_norm(self.first(image), training=training))
        image = keras.ops.relu(self.second_norm(self.second(image), training=training))
        if self.frequency_pool > 1:
            pool = (1, self.frequency_pool)
            image = keras.ops.max_pool(image, pool_size=pool, strides=pool, padding="same")
        shape = keras.ops.shape(image)
        return keras.ops.reshape(image, (shape[0], shape[1], image.shape[2] * image.shape[3]))

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[1] is None else -(-input_shape[1] // 2)
        halved = -(-input_shape[2] // 2)
        bins = -(-halved // self.frequency_pool)
        return (input_shape[0], frames, bins * 2 * self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "frequency_pool": self.frequency_pool}


def audio_frontend(
    features: LogMelSpectrogram,
    normalisation_clips: np.ndarray | None = None,
    conv_filters: int = 0,
    frequency_pool: int = 1,
) -> keras.Sequential:
    """The feature layer, per-channel normalisation (adapted on `normalisation_clips` when given), and with
    `conv_filters` the convolutions of `ConvFrames`, their mel axis pooled by `frequency_pool`.

    Without clips the normalisation is left unadapted; that is only for a model whose weights are loaded later.
    """
    normalise = keras.layers.Normalization(axis=-1, name="feature_normalisation")
    if normalisation_clips is not None:
        normalise.adapt(features(np.asarray(normalisation_clips, np.float32)))
    layers = [features, normalise]
    if conv_filters:
        layers.append(ConvFrames(conv_filters, frequency_pool, name="conv_frames"))
    return keras.Sequential(layers, name="frontend")


def mel_filterbank_reference(
    mel_bins: int, spectrum_bins: int, sample_rate: int, lower_hz: float, upper_hz: float
) -> np.ndarray:
    """The HTK triangular mel filters of `tf.signal.linear_to_mel_weight_matrix`, written out in NumPy:
    (spectrum bins, mel bins)."""

    frequencies = np.linspace(0.0, sample_rate / 2, spectrum_bins)[1:]
    spectrum_mel = hz_to_mel(frequencies)[:, None]
    edges = np.linspace(hz_to_mel(lower_hz), hz_to_mel(upper_hz), mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (spectrum_mel - lower) / (center - lower)
    falling = (upper - spectrum_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # The DC bin carries no weight.
    return np.vstack([np.zeros((1, mel_bins)), weights])


def dct_matrix(mel_bins: int, mfccs: int) -> np.ndarray:
    """(mel bins, mfccs): log-mel frames times it give `tf.signal.mfccs_from_log_mel_spectrograms`' first `mfccs`
    coefficients, the unnormalised DCT-II scaled by 1 / sqrt(2 * mel bins)."""
    n = np.arange(mel_bins)[:, None]
    k = np.arange(mfccs)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * mel_bins)) / np.sqrt(2.0 * mel_bins)
