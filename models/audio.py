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


@keras.saving.register_keras_serializable(package="rnn_gallery")
class SpecAugment(keras.layers.Layer):
    """Masks random bands of mel channels and spans of frames while training (Park et al. 2019); identity otherwise.

    Each of `frequency_masks` masks covers 0..`frequency_width` consecutive channels and each of `time_masks`
    0..`time_width` consecutive frames, set to zero: after per-channel normalisation that is the channel's mean,
    so a mask reads as "nothing unusual here" rather than as silence. A model that must still name the word with
    a formant band or a consonant hidden cannot lean on any one cue of the voices it was trained on.
    """

    def __init__(
        self,
        frequency_masks: int = 2,
        frequency_width: int = 6,
        time_masks: int = 2,
        time_width: int = 6,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.frequency_masks, self.frequency_width = int(frequency_masks), int(frequency_width)
        self.time_masks, self.time_width = int(time_masks), int(time_width)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _keep(self, batch, length, masks, width):
        """(batch, length) 1.0 outside `masks` random spans of up to `width` positions, 0.0 inside."""
        positions = keras.ops.arange(length)[None, :]
        keep = keras.ops.ones((batch, length))
        for _ in range(masks):
            size = keras.random.randint((batch, 1), 0, width + 1, seed=self.seed_generator)
            start = keras.ops.floor(
                keras.random.uniform((batch, 1), seed=self.seed_generator)
                * keras.ops.cast(length - size + 1, "float32")
            )
            start = keras.ops.cast(start, "int32")
            inside = keras.ops.logical_and(positions >= start, positions < start + size)
            keep = keep * (1.0 - keras.ops.cast(inside, "float32"))
        return keep

    def call(self, features, training=None):
        if not training:
            return features
        shape = keras.ops.shape(features)
        batch, frames, channels = shape[0], shape[1], shape[2]
        keep_channels = self._keep(batch, channels, self.frequency_masks, self.frequency_width)
        keep_frames = self._keep(batch, frames, self.time_masks, self.time_width)
        mask = keras.ops.expand_dims(keep_frames, 2) * keras.ops.expand_dims(keep_channels, 1)
        return features * keras.ops.cast(mask, features.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "frequency_masks": self.frequency_masks,
            "frequency_width": self.frequency_width,
            "time_masks": self.time_masks,
            "time_width": self.time_width,
            "seed": self.seed,
        }


def hz_to_mel(hz):
    """The HTK mel scale of `tf.signal.linear_to_mel_weight_matrix`."""
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * np.expm1(np.asarray(mel, np.float64) / 1127.0)


@keras.saving.register_keras_serializable(package="rnn_gallery")
class FrequencyWarp(keras.layers.Layer):
    """Vocal tract length perturbation (Jaitly & Hinton 2013) of log-mel frames while training; identity otherwise.

    A longer or shorter vocal tract moves every formant by about one factor. Each clip draws a factor `alpha`
    within 1 +- `max_warp`, and its log-mel image is resampled so that what was at frequency f appears at
    alpha * f: the piecewise-linear warp of Jaitly & Hinton, which bends above `boundary` (a share of
    `upper_hz`) so that the band's edges stay where they are. The image is read between mel bins by linear
    interpolation at each bin's centre frequency, so the layer needs the filter bank's settings.
    """

    def __init__(
        self,
        mel_bins: int = 40,
        lower_hz: float = 20.0,
        upper_hz: float = 7600.0,
        max_warp: float = 0.1,
        boundary: float = 0.6,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 < max_warp < 0.5:
            raise ValueError(f"max_warp must lie in (0, 0.5), got {max_warp}")
        self.mel_bins, self.lower_hz, self.upper_hz = int(mel_bins), float(lower_hz), float(upper_hz)
        self.max_warp, self.boundary, self.seed = float(max_warp), float(boundary), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        edges = np.linspace(hz_to_mel(self.lower_hz), hz_to_mel(self.upper_hz), self.mel_bins + 2)
        self.first_centre_mel, self.mel_spacing = float(edges[1]), float(edges[1] - edges[0])
        self.centres_hz = mel_to_hz(edges[1:-1]).astype(np.float32)

    def source_positions(self, alphas):
        """(batch,) warp factors -> (batch, mel_bins) fractional bin indices each output bin is read from."""
        alphas = keras.ops.reshape(keras.ops.cast(alphas, "float32"), (-1, 1))
        top = self.upper_hz
        # The inverse of the forward warp: output frequency g shows what the clip had at g / alpha below the bend.
        bend_out = self.boundary * top * keras.ops.minimum(alphas, 1.0)
        bend_in = bend_out / alphas
        centres = keras.ops.convert_to_tensor(self.centres_hz)[None, :]
        below = centres / alphas
        above = top - (top - centres) * (top - bend_in) / (top - bend_out)
        source_hz = keras.ops.where(centres <= bend_out, below, above)
        source_mel = 1127.0 * keras.ops.log1p(keras.ops.maximum(source_hz, 0.0) / 700.0)
        positions = (source_mel - self.first_centre_mel) / self.mel_spacing
        return keras.ops.clip(positions, 0.0, self.mel_bins - 1.0)

    def warp(self, features, alphas):
        """`features` (batch, frames, mel_bins) resampled along the mel axis by the per-clip factors `alphas`."""
        positions = self.source_positions(alphas)
        lower = keras.ops.floor(positions)
        fraction = (positions - lower)[:, None, :]
        lower = keras.ops.cast(lower, "int32")
        upper = keras.ops.minimum(lower + 1, self.mel_bins - 1)
        frames = keras.ops.shape(features)[1]

        def gather(indices):
            indices = keras.ops.broadcast_to(indices[:, None, :], (keras.ops.shape(features)[0], frames, self.mel_bins))
            return keras.ops.take_along_axis(features, indices, axis=2)

        return gather(lower) * (1.0 - fraction) + gather(upper) * fraction

    def call(self, features, training=None):
        if not training:
            return features
        alphas = keras.random.uniform(
            (keras.ops.shape(features)[0],), 1.0 - self.max_warp, 1.0 + self.max_warp, seed=self.seed_generator
        )
        return self.warp(features, alphas)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "mel_bins": self.mel_bins,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "max_warp": self.max_warp,
            "boundary": self.boundary,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="rnn_gallery")
class StackFrames(keras.layers.Layer):
    """(batch, frames, channels) -> (batch, frames // factor, factor * channels): neighbouring frames side by side.

    The recurrence then takes `factor` times fewer steps over the same information (a lower frame rate, as in
    Chan et al. 2016's pyramidal encoder and the low-frame-rate acoustic models); a leftover frame at the end is
    dropped.
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        if factor < 1:
            raise ValueError(f"factor must be at least 1, got {factor}")
        self.factor = int(factor)

    def call(self, features):
        shape = keras.ops.shape(features)
        steps = shape[1] // self.factor
        kept = features[:, : steps * self.factor]
        return keras.ops.reshape(kept, (shape[0], steps, self.factor * features.shape[-1]))

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[1] is None else input_shape[1] // self.factor
        channels = None if input_shape[-1] is None else input_shape[-1] * self.factor
        return (input_shape[0], frames, channels)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


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
    spec_augment: SpecAugment | None = None,
    stack_frames: int = 1,
    conv_filters: int = 0,
    frequency_pool: int = 1,
    frequency_warp: FrequencyWarp | None = None,
) -> keras.Sequential:
    """The feature layer, optionally `FrequencyWarp`, per-channel normalisation (adapted on `normalisation_clips`
    when given), optionally SpecAugment (both act only while training), the convolutions of `ConvFrames` (with
    `conv_filters`, and their mel axis pooled by `frequency_pool`), and frames stacked `stack_frames` at a time.

    Without clips the normalisation is left unadapted; that is only for a model whose weights are loaded later.
    """
    normalise = keras.layers.Normalization(axis=-1, name="feature_normalisation")
    if normalisation_clips is not None:
        normalise.adapt(features(np.asarray(normalisation_clips, np.float32)))
    # The warp reads log-mel energies, before normalisation gives each bin its own scale.
    layers = [features, *([frequency_warp] if frequency_warp else []), normalise]
    layers += [spec_augment] if spec_augment else []
    if conv_filters:
        layers.append(ConvFrames(conv_filters, frequency_pool, name="conv_frames"))
    if stack_frames > 1:
        layers.append(StackFrames(stack_frames, name="stack_frames"))
    return keras.Sequential(layers, name="frontend")


def mel_filterbank_reference(
    mel_bins: int, spectrum_bins: int, sample_rate: int, lower_hz: float, upper_hz: float
) -> np.ndarray:
    """The HTK triangular mel filters of `tf.signal.linear_to_mel_weight_matrix`, written out in NumPy (tests)."""

    frequencies = np.linspace(0.0, sample_rate / 2, spectrum_bins)[1:]
    spectrum_mel = hz_to_mel(frequencies)[:, None]
    edges = np.linspace(hz_to_mel(lower_hz), hz_to_mel(upper_hz), mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (spectrum_mel - lower) / (center - lower)
    falling = (upper - spectrum_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # The DC bin carries no weight.
    return np.vstack([np.zeros((1, mel_bins)), weights])
