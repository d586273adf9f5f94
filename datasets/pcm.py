"""16-bit PCM WAV bytes from NumPy samples, with no TensorFlow: shared by the keyword clips and the music renderer."""

import io
import wave

import numpy as np


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    """16-bit PCM mono WAV bytes (the caller writes them atomically)."""
    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return buffer.getvalue()
