"""Spoken words synthesised offline with eSpeak NG, driven through ctypes from the `espeakng-loader` wheel.

The wheel bundles libespeak-ng and its voice data, so nothing is installed on the system. A voice is an English
accent (`en-us`, `en-gb-scotland`, ...) plus one of eSpeak's ~100 voice variants (`+f3`, `+croak`, ...); each
clip also draws its own speaking rate, pitch, pitch range and amplitude. Variants are split between training,
validation and test, so the test split holds voices whose timbre was never heard in training.

Synthesis runs at eSpeak's 22,050 Hz and is resampled to 16 kHz with a polyphase filter. Words are stored
trimmed of leading and trailing silence; `datasets.speech_augment` places them in one-second clips and adds noise.

eSpeak NG keeps synthesis state (glottal phase, pitch smoothing) from one utterance to the next inside a process,
so the same call gives slightly different samples depending on what was spoken before. `generate` therefore
speaks each chunk of clips in a fresh Python process (`python -m datasets.speech_synth SPEC.json OUT.npz`, two at
a time), which makes the clips a pure function of the seed and the chunk, bit for bit.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000
ESPEAK_RATE = 22050
ACCENTS = (
    "en",
    "en-us",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-us-nyc",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
SPLITS = ("train", "validation", "test")

# espeak_AUDIO_OUTPUT, espeak_PARAMETER and espeak_POSITION_TYPE values from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_PARAMETER = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}
_POSITION_CHARACTER = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class SynthesisError(RuntimeError):
    """eSpeak NG could not be loaded or could not speak."""


class Synthesizer:
    """One eSpeak NG engine per process (the library keeps global state); `speak` is serialised by a lock."""

    _instance: Synthesizer | None = None
    _lock = threading.Lock()

    def __init__(self):
        try:
            import espeakng_loader
        except ImportError as error:
            raise SynthesisError("the espeakng-loader package is missing; pip install espeakng-loader") from error
        self.data_path = espeakng_loader.get_data_path()
        library = ctypes.CDLL(espeakng_loader.get_library_path())
        library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        library.espeak_Initialize.restype = ctypes.c_int
        library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        library.espeak_SetVoiceByName.restype = ctypes.c_int
        library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        library.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        library.espeak_Synth.restype = ctypes.c_int
        library.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        library.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        library.espeak_TextToPhonemes.restype = ctypes.c_char_p
        rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(), 0)
        if rate != ESPEAK_RATE:
            raise SynthesisError(f"eSpeak NG did not initialise (returned {rate}); reinstall espeakng-loader")
        self._chunks: list[np.ndarray] = []
        # Kept on the instance: ctypes must not garbage-collect a callback the library still holds.
        self._callback = _CALLBACK(self._collect)
        library.espeak_SetSynthCallback(self._callback)
        self.library = library
        self.variants = sorted(os.listdir(Path(self.data_path) / "voices" / "!v"))

    @classmethod
    def get(cls) -> Synthesizer:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _collect(self, samples, count, events):
        if count > 0 and samples:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def speak(
        self,
        text: str,
        voice: str,
        *,
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        volume: int = 100,
        noise_seed: int = 1,
    ) -> np.ndarray:
        """int16 samples at 22,050 Hz of `text` in `voice` (e.g. `en-us+f3`); rate in words per minute.

        `noise_seed` seeds the noise of breathy and whispered voices (eSpeak seeds it from the clock otherwise).
        """
        accent, _, variant = voice.partition("+")
        if accent not in ACCENTS or (variant and variant not in self.variants):
            # eSpeak quietly falls back to its default voice on an unknown name; a typo must not pass unnoticed.
            raise SynthesisError(f"unknown voice {voice!r}; accents: {', '.join(ACCENTS)}; variants from voices/!v")
        with self._lock:
            if self.library.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SynthesisError(f"eSpeak NG refused voice {voice!r}")
            for name, value in (("rate", rate), ("pitch", pitch), ("range", pitch_range), ("volume", volume)):
                self.library.espeak_SetParameter(_PARAMETER[name], int(value), 0)
            self.library.espeak_ng_SetRandSeed(int(noise_seed))
            self._chunks = []
            text_bytes = text.encode("utf-8") + b"\0"
            status = self.library.espeak_Synth(text_bytes, len(text_bytes), 0, _POSITION_CHARACTER, 0, 0, None, None)
            self.library.espeak_Synchronize()
            if status != 0:
                raise SynthesisError(f"eSpeak NG failed to speak {text!r} (status {status})")
            return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)

    def phonemes(self, text: str, accent: str) -> str:
        """eSpeak's phoneme mnemonics for `text` in an accent, stress marks dropped: what the voice will say."""
        if accent not in ACCENTS:
            raise SynthesisError(f"unknown accent {accent!r}; accents: {', '.join(ACCENTS)}")
        with self._lock:
            if self.library.espeak_SetVoiceByName(accent.encode()) != 0:
                raise SynthesisError(f"eSpeak NG refused voice {accent!r}")
            buffer = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
            pointer = ctypes.c_void_p(ctypes.addressof(buffer))
            # textmode 1: UTF-8 characters; phonememode 0: ASCII mnemonics, one clause per call.
            parts = []
            while pointer.value:
                parts.append(self.library.espeak_TextToPhonemes(ctypes.byref(pointer), 1, 0).decode())
            return "".join(parts).replace("'", "").replace(",", "").strip()


def variant_split(variant: str) -> str:
    """The split a voice variant belongs to, fixed by a checksum of its name: about 70/10/20 %."""
    bucket = zlib.crc32(variant.encode()) % 10
    return "test" if bucket < 2 else "validation" if bucket == 2 else "train"


def voices(split: str) -> list[str]:
    """Every accent+variant voice of a split; test variants never appear in training."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")
    variants = [v for v in Synthesizer.get().variants if variant_split(v) == split]
    return [f"{accent}+{variant}" for variant in variants for accent in ACCENTS]


@functools.lru_cache(maxsize=4)
def _resampling_filter(up: int, down: int) -> np.ndarray:
    """resample_poly's own default low-pass filter, designed once instead of for every clip."""
    max_rate = max(up, down)
    return signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0)).astype(np.float32)


def to_16k(samples: np.ndarray) -> np.ndarray:
    """eSpeak's 22,050 Hz int16 samples as float32 at 16 kHz in [-1, 1]."""
    floats = np.asarray(samples, np.float32) / 32768.0
    # 16000 / 22050 = 320 / 441.
    return signal.resample_poly(floats, 320, 441, window=_resampling_filter(320, 441)).astype(np.float32)


def trim(samples: np.ndarray, threshold: float = 0.01, margin: int = 160) -> np.ndarray:
    """The word without the silence eSpeak puts around it (a margin of 10 ms is kept at each end)."""
    loud = np.flatnonzero(np.abs(samples) > threshold * max(float(np.abs(samples).max()), 1e-9))
    if loud.size == 0:
        return samples[:0]
    return samples[max(0, loud[0] - margin) : loud[-1] + 1 + margin]


def speak_word(word: str, voice: str, rng: np.random.Generator, max_samples: int = SAMPLE_RATE) -> np.ndarray:
    """One word in one voice with random rate, pitch, range and volume: trimmed float32 at 16 kHz, <= 1 s."""
    synthesizer = Synthesizer.get()
    for _ in range(4):
        raw = synthesizer.speak(
            word,
            voice,
            rate=int(rng.integers(120, 260)),
            pitch=int(rng.integers(15, 90)),
            pitch_range=int(rng.integers(10, 100)),
            volume=int(rng.integers(60, 160)),
            noise_seed=int(rng.integers(1, 2**31 - 1)),
        )
        clip = trim(to_16k(raw))
        if 0 < clip.size <= max_samples:
            return clip
    # Only a very slow long word ends up here; keep its first second.
    return clip[:max_samples]


def speak_chunk(spec: dict) -> tuple[list[np.ndarray], list[int], list[str]]:
    """The clips of one chunk: `rounds` rounds of one clip per label, voices of `split`, rng seeded by the chunk.

    spec: {"split", "seed", "chunk", "rounds", "labels", "keywords", "silence", "unknown_words"}. A label in
    `keywords` is spoken as itself, `silence` gets an empty clip (noise only, added later), any other label a
    random word of `unknown_words`.
    """
    split_voices = voices(spec["split"])
    rng = np.random.default_rng([spec["seed"], SPLITS.index(spec["split"]), spec["chunk"]])
    clips, labels, names = [], [], []
    for round_index in range(spec["rounds"]):
        for label, name in enumerate(spec["labels"]):
            if name == spec["silence"]:
                clips.append(np.zeros(0, np.float32))
                names.append(f"{name}/{spec['chunk']}.{round_index}")
            else:
                word = name if name in spec["keywords"] else str(rng.choice(spec["unknown_words"]))
                voice = split_voices[int(rng.integers(len(split_voices)))]
                clips.append(speak_word(word, voice, rng))
                names.append(f"{word}/{voice}")
            labels.append(label)
    return clips, labels, names


def generate(specs: Sequence[dict], workers: int = 2) -> list[tuple[list[np.ndarray], list[int], list[str]]]:
    """Each chunk spec spoken in its own fresh process (see the module docstring), `workers` at a time."""
    results: list = [None] * len(specs)
    with tempfile.TemporaryDirectory(prefix="speech-synth-") as folder:
        pending = list(enumerate(specs))
        running: list[tuple[int, subprocess.Popen, Path]] = []
        while pending or running:
            while pending and len(running) < workers:
                index, spec = pending.pop(0)
                spec_path, out_path = Path(folder) / f"{index}.json", Path(folder) / f"{index}.npz"
                spec_path.write_text(json.dumps(spec), encoding="utf-8")
                command = [sys.executable, "-m", "datasets.speech_synth", str(spec_path), str(out_path)]
                process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                running.append((index, process, out_path))
            index, process, out_path = running.pop(0)
            _, errors = process.communicate()
            if process.returncode != 0:
                for _, other, _ in running:
                    other.kill()
                last = errors.strip().splitlines()[-1] if errors.strip() else f"exit status {process.returncode}"
                raise SynthesisError(f"speech synthesis failed: {last}")
            with np.load(out_path, allow_pickle=False) as stored:
                offsets = stored["offsets"]
                samples = stored["samples"]
                clips = [samples[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
                results[index] = (clips, [int(v) for v in stored["labels"]], [str(v) for v in stored["names"]])
    return results


def _main(arguments: list[str]) -> None:
    spec = json.loads(Path(arguments[0]).read_text(encoding="utf-8"))
    clips, labels, names = speak_chunk(spec)
    lengths = np.array([clip.size for clip in clips], np.int64)
    np.savez(
        arguments[1],
        samples=np.concatenate(clips).astype(np.float32) if clips else np.zeros(0, np.float32),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        labels=np.array(labels, np.int32),
        names=np.array(names, dtype=str),
    )


if __name__ == "__main__":
    _main(sys.argv[1:])
