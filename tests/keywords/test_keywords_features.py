"""The audio feature layer against a NumPy/SciPy reference on a known tone and against `tf.signal` on spoken clips,
and its save/load round trip."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
from scipy import fft as scipy_fft
from scipy import signal

from datasets.audio_files import centre, load_audio
from gallery.keywords.config import KeywordsConfig
from gallery.keywords.model import feature_layer
from models.audio import ConvFrames, LogMelSpectrogram, audio_frontend, mel_filterbank_reference

RATE = 16000


def reference_log_mel(waveform, frame_length, frame_step, fft_length, mel_bins, lower, upper, offset=1e-6):
    """STFT with a periodic Hann window and no padding, magnitude, HTK mel filters, log: all in NumPy/SciPy."""
    window = signal.get_window("hann", frame_length, fftbins=True)
    count = 1 + (waveform.size - frame_length) // frame_step
    frames = np.stack([waveform[i * frame_step : i * frame_step + frame_length] for i in range(count)])
    magnitude = np.abs(np.fft.rfft(frames * window, n=fft_length))
    filters = mel_filterbank_reference(mel_bins, fft_length // 2 + 1, RATE, lower, upper)
    return np.log(magnitude @ filters + offset)


def assert_saved_and_loaded_alike(layer, inputs, expected, tmp_path):
    """A model of `layer` alone, saved as .keras and loaded in safe mode, gives `expected` on `inputs`."""
    model_inputs = keras.Input(shape=inputs.shape[1:])
    model = keras.Model(model_inputs, layer(model_inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(inputs)), expected, atol=1e-5)


def hz_to_mel(hz):
    return 1127.0 * np.log1p(hz / 700.0)


def test_log_mel_of_a_tone_matches_the_reference():
    frequency = 1000.0
    waveform = (0.5 * np.sin(2 * np.pi * frequency * np.arange(RATE) / RATE)).astype(np.float32)
    layer = LogMelSpectrogram(RATE, frame_length=400, frame_step=160, fft_length=512, mel_bins=40)
    features = np.asarray(layer(waveform[None]))[0]
    expected = reference_log_mel(waveform.astype(np.float64), 400, 160, 512, 40, 20.0, 7600.0)
    assert features.shape == expected.shape == (98, 40)
    # Bands far from the tone hold only leakage near log(1e-6); compare where there is energy.
    loud = expected > np.log(1e-3)
    np.testing.assert_allclose(features[loud], expected[loud], atol=2e-3)
    # The loudest band is the one whose centre frequency is nearest the tone.
    edges = np.linspace(hz_to_mel(20.0), hz_to_mel(7600.0), 42)
    nearest = int(np.argmin(np.abs(edges[1:-1] - hz_to_mel(frequency))))
    assert set(features.argmax(axis=1)) == {nearest}


def test_mfccs_are_the_scaled_dct_of_the_log_mel_frames():
    rng = np.random.default_rng(0)
    waveform = rng.standard_normal((2, 4000)).astype(np.float32) * 0.1
    log_mel = np.asarray(LogMelSpectrogram(RATE, 400, 160, 512, 20)(waveform))
    mfccs = np.asarray(LogMelSpectrogram(RATE, 400, 160, 512, 20, mfccs=13)(waveform))
    expected = scipy_fft.dct(log_mel.astype(np.float64), type=2, axis=-1)[..., :13] / np.sqrt(2 * 20)
    np.testing.assert_allclose(mfccs, expected, rtol=1e-4, atol=1e-3)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="fft_length"):
        LogMelSpectrogram(frame_length=600, fft_length=512)
    with pytest.raises(ValueError, match="upper_hz"):
        LogMelSpectrogram(upper_hz=9000.0)
    with pytest.raises(ValueError, match="mfccs"):
        LogMelSpectrogram(mel_bins=10, mfccs=12)


def test_frontend_saves_and_loads_with_the_same_output(tmp_path):
    rng = np.random.default_rng(1)
    clips = rng.standard_normal((6, 8000)).astype(np.float32) * 0.1
    frontend = audio_frontend(LogMelSpectrogram(RATE, 400, 160, 512, 16, name="log_mel"), clips)
    inputs = keras.Input(shape=(8000,))
    model = keras.Model(inputs, frontend(inputs))
    normalised = np.asarray(model(clips))
    # Normalised on these very clips: each channel has mean 0 and unit variance over clips and frames.
    np.testing.assert_allclose(normalised.reshape(-1, 16).mean(0), 0.0, atol=1e-3)
    np.testing.assert_allclose(normalised.reshape(-1, 16).std(0), 1.0, atol=1e-2)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(clips)), normalised, atol=1e-5)


def test_conv_frames_halve_the_steps_see_neighbouring_frames_and_round_trip(tmp_path):
    clips = np.random.default_rng(4).standard_normal((2, 8000)).astype(np.float32) * 0.1
    frontend = audio_frontend(LogMelSpectrogram(RATE, 400, 160, 512, 16, name="log_mel"), clips, conv_filters=4)
    frames = np.asarray(frontend(clips))
    # 48 frames of 16 mel bins -> 24 steps of 8 halved bins x 8 filters.
    assert frames.shape == (2, 24, 64)
    assert frontend.compute_output_shape((None, 8000)) == (None, 24, 64)
    layer = ConvFrames(2)
    impulse = np.zeros((1, 9, 6), np.float32)
    impulse[0, 4, 2] = 1.0
    layer(impulse)
    # The two 3x3 convolutions reach two frames either side: output steps 1 to 3 (frames 2 to 7) can see the
    # impulse, steps 0 and 4 (frames 0-1 and 8) cannot, whatever the weights.
    for weights in layer.first.weights + layer.second.weights:
        weights.assign(np.ones(weights.shape, np.float32))
    response = np.abs(np.asarray(layer(impulse)) - np.asarray(layer(np.zeros_like(impulse)))).sum(axis=-1)[0]
    assert (response[1:4] > 0).all() and response[0] == 0 and response[4] == 0
    assert_saved_and_loaded_alike(frontend, clips, frames, tmp_path)


def test_conv_frames_pool_the_mel_axis_by_its_maximum(tmp_path):
    rng = np.random.default_rng(5)
    features = rng.standard_normal((2, 10, 16)).astype(np.float32)
    unpooled, pooled = ConvFrames(2), ConvFrames(2, frequency_pool=4)
    unpooled(features), pooled(features)
    pooled.set_weights(unpooled.get_weights())
    full = np.asarray(unpooled(features)).reshape(2, 5, 8, 4)
    cut = np.asarray(pooled(features))
    # 8 halved bins pooled 4 at a time: 2 bins x 4 filters per step, each the largest of its 4 neighbours.
    assert cut.shape == (2, 5, 8) == pooled.compute_output_shape((2, 10, 16))
    np.testing.assert_allclose(cut.reshape(2, 5, 2, 4), full.reshape(2, 5, 2, 4, 4).max(axis=3), atol=1e-6)
    assert_saved_and_loaded_alike(pooled, features, cut, tmp_path)
    with pytest.raises(ValueError, match="frequency_pool must be at least 1"):
        ConvFrames(2, frequency_pool=0)


def tf_signal_features(layer: LogMelSpectrogram, waveforms: np.ndarray) -> np.ndarray:
    """The layer's features computed with `tf.signal` itself, as the front end was first written."""
    import tensorflow as tf

    spectrum = tf.abs(
        tf.signal.stft(
            tf.constant(waveforms, tf.float32),
            frame_length=layer.frame_length,
            frame_step=layer.frame_step,
            fft_length=layer.fft_length,
            window_fn=tf.signal.hann_window,
        )
    )
    filters = tf.signal.linear_to_mel_weight_matrix(
        layer.mel_bins, layer.fft_length // 2 + 1, layer.sample_rate, layer.lower_hz, layer.upper_hz
    )
    log_mel = tf.math.log(tf.tensordot(spectrum, filters, 1) + layer.log_offset)
    if layer.mfccs:
        return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : layer.mfccs].numpy()
    return log_mel.numpy()


def spoken_clips() -> np.ndarray:
    """Words spoken by eSpeak NG and silence, as the demo trains on them (noise mixed in); FSDD recordings too when
    GALLERY_DATA_DIR holds them."""
    from datasets import speech, speech_augment, speech_synth

    spec = {
        "split": "test",
        "seed": 5,
        "chunk": 0,
        "rounds": 1,
        "labels": ["yes", "stop", speech.SILENCE, speech.UNKNOWN],
        "keywords": ["yes", "stop"],
        "silence": speech.SILENCE,
        "unknown_words": ["house"],
    }
    (words, labels, names), *_ = speech_synth.generate([spec])
    clips = speech.Clips.from_list(words, labels, names)
    noisy = speech_augment.ClipBatches(clips, len(clips), augmentation=speech_augment.SYNTHETIC_AUGMENTATION)[0][0]
    waveforms = [noisy, speech_augment.ClipBatches(clips, len(clips))[0][0]]
    root = os.environ.get("GALLERY_DATA_DIR")
    recordings = Path(root or "missing") / "fsdd" / "recordings"
    if root and recordings.is_dir():
        paths = sorted(recordings.glob("*_0.wav"))[:8]
        waveforms.append(np.stack([centre(load_audio(path)) for path in paths]))
    return np.concatenate(waveforms)


@pytest.mark.parametrize("mfccs", [0, 13])
def test_keras_ops_front_end_computes_the_tf_signal_features_on_spoken_clips(mfccs):
    """The demo's feature layer (32 ms Hann window every 16 ms, 512-point FFT, 40 HTK mel bins, log floor 1e-2)
    against `tf.signal` on spoken clips: equal within 5e-4 (measured 1.4e-4; the log-mel values span about -4.6 to
    5, and float32 FFTs differ most in the quiet bins near the floor)."""
    pytest.importorskip("tensorflow")
    layer = feature_layer(KeywordsConfig.from_preset("demo", mfccs=mfccs))
    waveforms = spoken_clips()
    features = np.asarray(layer(waveforms))
    expected = tf_signal_features(layer, waveforms)
    assert features.shape == expected.shape == (len(waveforms), 61, mfccs or 40)
    assert np.ptp(expected) > 5  # speech and near-silence, not a constant
    np.testing.assert_allclose(features, expected, rtol=0, atol=5e-4)
