"""Audio files as clips: WAV reading (any PCM width or float, mono or stereo), resampling to 16 kHz, 1 s windows.

No TensorFlow here: the keyword verbs read a user's WAV in a moment, before any model is loaded.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from scipy import signal
from scipy.io import wavfile

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE


class DataSourceError(ValueError):
    """A data source or audio file the user named cannot be used; the message says what to do."""


class AudioFileError(DataSourceError):
    """A WAV file that cannot be read: not a WAV, a corrupt header, an unsupported encoding, no samples."""


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate of a PCM or float WAV file (stereo is averaged)."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path} does not exist; give the path of a .wav file")
    try:
        rate, data = wavfile.read(path, mmap=False)
    except (ValueError, EOFError, OSError, IndexError, TypeError, struct.error) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "format" in message.lower() and "unknown" in message.lower():
            raise AudioFileError(
                f"{path}: unsupported WAV encoding ({message}); convert it to 16-bit PCM, e.g. "
                f"ffmpeg -i {path.name} -acodec pcm_s16le out.wav"
            ) from None
        raise AudioFileError(f"{path} is not a readable WAV file ({message}); give a PCM .wav file") from None
    return as_float_mono(np.asarray(data), path), int(rate)


def as_float_mono(data: np.ndarray, path: Path) -> np.ndarray:
    """Samples of any PCM width or float as mono float32 in [-1, 1]; `path` names the file in errors."""
    if data.dtype == np.uint8:
        floats = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype == np.int16:
        floats = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        # scipy returns 24-bit PCM left-justified in int32, so one scale fits both.
        floats = (data.astype(np.float64) / 2147483648.0).astype(np.float32)
    elif data.dtype in (np.float32, np.float64):
        floats = data.astype(np.float32)
    else:
        raise AudioFileError(f"{path}: unsupported sample type {data.dtype}; convert it to 16-bit PCM")
    if floats.ndim == 2:
        floats = floats.mean(axis=1)
    if floats.size == 0:
        raise AudioFileError(f"{path} holds no audio samples (an empty clip); record or choose another file")
    return np.clip(floats, -1.0, 1.0)


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling to `target` Hz (scipy.signal.resample_poly)."""
    if rate <= 0:
        raise AudioFileError(f"sample rate {rate} Hz is not valid")
    if rate == target:
        return samples.astype(np.float32)
    divisor = np.gcd(int(rate), int(target))
    return signal.resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)


def load_audio(path: Path | str) -> np.ndarray:
    """A WAV file as mono float32 at 16 kHz."""
    samples, rate = read_wav(path)
    return resample(samples, rate)


def loudest_window(samples: np.ndarray, length: int = CLIP_SAMPLES) -> tuple[np.ndarray, int]:
    """The `length`-sample window with the most energy, and where it starts (the clip itself when shorter)."""
    if samples.size <= length:
        return samples, 0
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[length:] - energy[:-length]))
    return samples[start : start + length], start


def centre(samples: np.ndarray, length: int = CLIP_SAMPLES) -> np.ndarray:
    """A clip of at most `length` samples zero-padded equally on both sides to exactly `length`."""
    samples = samples[:length]
    before = (length - samples.size) // 2
    return np.pad(samples, (before, length - samples.size - before)).astype(np.float32)
