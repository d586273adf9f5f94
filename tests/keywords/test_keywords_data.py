"""Speech data: eSpeak synthesis deterministic by seed, held-out voices, WAV reading, the sources, the batches."""

import os
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from datasets import audio_files, speech, speech_augment, speech_synth, synthetic_keywords
from datasets.pcm import wav_bytes


def write_pcm(path: Path, samples: np.ndarray, rate: int = 16000, width: int = 2, channels: int = 1) -> Path:
    """A PCM WAV of `width` bytes per sample, written by hand so 24-bit is covered too."""
    scaled = np.clip(samples, -1, 1)
    if width == 1:
        data = ((scaled * 127) + 128).astype(np.uint8).tobytes()
    else:
        integers = (scaled * (2 ** (8 * width - 1) - 1)).astype(np.int64)
        data = b"".join(int(v).to_bytes(width, "little", signed=True) for v in integers.reshape(-1))
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(data)
    return path


def tone(seconds: float, rate: int = 16000, frequency: float = 440.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def chunk_spec(seed: int) -> dict:
    return {
        "split": "test",
        "seed": seed,
        "chunk": 0,
        "rounds": 1,
        "labels": ["yes", "stop", speech.SILENCE, speech.UNKNOWN],
        "keywords": ["yes", "stop"],
        "silence": speech.SILENCE,
        "unknown_words": ["cat", "house"],
    }


def test_synthesis_is_deterministic_by_seed():
    # Two fresh processes at once: the same chunk and seed must give the same samples, bit for bit.
    first, again = speech_synth.generate([chunk_spec(3), chunk_spec(3)])
    assert first[2] == again[2] and first[1] == [0, 1, 2, 3]
    for a, b in zip(first[0], again[0]):
        np.testing.assert_array_equal(a, b)
    spoken = [clip for clip in first[0] if clip.size]
    assert len(spoken) == 3 and all(0.05 < clip.size / 16000 <= 1.0 for clip in spoken)
    assert all(np.abs(clip).max() > 0.01 for clip in spoken)
    assert first[0][2].size == 0  # _silence_ is noise only, added later


def test_test_voices_are_never_heard_in_training():
    variants = {split: {v.split("+")[1] for v in speech_synth.voices(split)} for split in speech_synth.SPLITS}
    assert variants["train"] and variants["validation"] and variants["test"]
    assert not variants["train"] & variants["test"] and not variants["train"] & variants["validation"]
    with pytest.raises(speech_synth.SynthesisError, match="unknown voice"):
        speech_synth.Synthesizer.get().speak("yes", "en+no-such-variant")


def test_no_unknown_word_is_pronounced_like_a_keyword():
    """An `_unknown_` word eSpeak says exactly like a keyword ("know" and "no") is a label no model can learn."""
    synthesizer = speech_synth.Synthesizer.get()
    assert synthesizer.phonemes("know", "en-us") == synthesizer.phonemes("no", "en-us")
    for accent in speech_synth.ACCENTS:
        keywords = {synthesizer.phonemes(word, accent): word for word in speech.KEYWORDS}
        clashes = {
            word: keywords[sounds]
            for word in synthetic_keywords.UNKNOWN_WORDS
            if (sounds := synthesizer.phonemes(word, accent)) in keywords
        }
        assert not clashes, f"{accent}: {clashes}"
    assert len(set(synthetic_keywords.UNKNOWN_WORDS)) == len(synthetic_keywords.UNKNOWN_WORDS)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_read_wav_pcm_widths_and_stereo(tmp_path, width):
    samples = tone(0.25, 8000)
    stereo = np.stack([samples, samples], axis=1)
    path = write_pcm(tmp_path / "a.wav", stereo, rate=8000, width=width, channels=2)
    read, rate = audio_files.read_wav(path)
    assert rate == 8000 and read.dtype == np.float32 and read.shape == samples.shape
    np.testing.assert_allclose(read, samples, atol=2 / 127 if width == 1 else 1e-3)
    resampled = audio_files.load_audio(path)
    assert resampled.size == 2 * samples.size


def test_float_wav_and_round_trip(tmp_path):
    from scipy.io import wavfile

    samples = tone(0.1)
    wavfile.write(tmp_path / "f.wav", 22050, samples)
    read, rate = audio_files.read_wav(tmp_path / "f.wav")
    assert rate == 22050
    np.testing.assert_allclose(read, samples, atol=1e-6)
    (tmp_path / "w.wav").write_bytes(wav_bytes(samples))
    np.testing.assert_allclose(audio_files.read_wav(tmp_path / "w.wav")[0], samples, atol=1e-4)


def bad_wavs(folder: Path) -> dict[str, Path]:
    """Files that must be refused with one clear message each."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "text.wav").write_text("this is not audio\n")
    good = wav_bytes(tone(0.2))
    (folder / "corrupt.wav").write_bytes(good[:30])
    write_pcm(folder / "empty.wav", np.zeros(0))
    # A-law (format tag 6): a valid RIFF file in an encoding the app does not decode.
    data = bytes(800)
    header = (
        b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 6, 1, 8000, 8000, 1, 8)
    )
    (folder / "alaw.wav").write_bytes(header + b"data" + struct.pack("<I", len(data)) + data)
    return {name: folder / f"{name}.wav" for name in ("text", "corrupt", "empty", "alaw")}


@pytest.mark.parametrize(
    "name, message",
    [("text", "not a readable WAV"), ("corrupt", "not a readable WAV"), ("empty", "no audio"), ("alaw", "encoding")],
)
def test_bad_wavs_are_refused_clearly(tmp_path, name, message):
    with pytest.raises(audio_files.AudioFileError, match=message):
        audio_files.read_wav(bad_wavs(tmp_path)[name])
    with pytest.raises(audio_files.AudioFileError, match="does not exist"):
        audio_files.read_wav(tmp_path / "missing.wav")


def test_loudest_window_and_centre():
    samples = np.zeros(40000, np.float32)
    samples[25000:26000] = 1.0
    window, start = audio_files.loudest_window(samples)
    assert window.size == 16000 and start <= 25000 and start + 16000 >= 26000
    padded = audio_files.centre(np.ones(4000, np.float32))
    assert padded.size == 16000 and padded[6000:10000].min() == 1 and padded[:6000].max() == 0


def test_folder_source_by_speaker_and_empty_label(tmp_path):
    for label in ("yes", "no"):
        (tmp_path / label).mkdir()
        for speaker in (f"speaker{i:02d}" for i in range(30)):
            write_pcm(tmp_path / label / f"{speaker}_nohash_0.wav", tone(0.5 if label == "yes" else 1.4))
    bundle = speech.folder(tmp_path)
    assert bundle.labels == ["no", "yes"]
    sizes = bundle.sizes()
    assert sum(sizes.values()) == 60 and all(sizes.values())
    for split in (bundle.train, bundle.validation, bundle.test):
        speakers = {name.split("/")[1].split("_")[0] for name in split.clips.names}
        others = [s for s in (bundle.train, bundle.validation, bundle.test) if s is not split]
        assert not speakers & {n.split("/")[1].split("_")[0] for o in others for n in o.clips.names}
        assert max(np.diff(split.clips.offsets)) <= 16000
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "notes.txt").write_text("no audio here")
    with pytest.raises(audio_files.DataSourceError, match="holds no .wav files"):
        speech.folder(tmp_path)


def test_fsdd_naming_and_official_split(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for digit in range(10):
        for index in (0, 4, 5, 9, 10, 49):
            write_pcm(recordings / f"{digit}_jackson_{index}.wav", tone(0.3, 8000), rate=8000)
    bundle = speech.fsdd(tmp_path)
    assert bundle.labels == [str(d) for d in range(10)]
    assert bundle.sizes() == {"train": 20, "validation": 20, "test": 20}
    assert {name.split("_")[2] for name in bundle.test.clips.names} == {"0.wav", "4.wav"}
    assert bundle.test.clips.labels.tolist() == sorted(bundle.test.clips.labels.tolist())
    assert np.diff(bundle.train.clips.offsets).max() == 4800  # 0.3 s at 8 kHz resampled to 16 kHz
    assert speech.fsdd_split("7_theo_12.wav") == ("7", "theo", 12, "train")
    write_pcm(recordings / "hello.wav", tone(0.3, 8000), rate=8000)
    with pytest.raises(audio_files.DataSourceError, match="not an FSDD name"):
        speech.fsdd(tmp_path)


def _fsdd_folder(root: Path, speakers: tuple[str, ...], indices: tuple[int, ...]) -> Path:
    recordings = root / "recordings"
    recordings.mkdir()
    for speaker in speakers:
        for digit in range(10):
            for index in indices:
                write_pcm(recordings / f"{digit}_{speaker}_{index}.wav", tone(0.2, 8000), rate=8000)
    return root


def _speakers(split: speech.Split) -> set[str]:
    return {name.split("_")[1] for name in split.clips.names}


def test_fsdd_held_out_speaker_is_the_whole_test_split_and_nowhere_else(tmp_path):
    speakers = ("george", "jackson", "theo")
    _fsdd_folder(tmp_path, speakers, (0, 4, 5, 12))
    assert speech.fsdd_speakers(tmp_path) == sorted(speakers)
    for held_out in speakers:
        bundle = speech.load(f"fsdd:{tmp_path}", test_speaker=held_out)
        assert _speakers(bundle.test) == {held_out}
        assert held_out not in _speakers(bundle.train) | _speakers(bundle.validation)
        assert _speakers(bundle.train) == _speakers(bundle.validation) == set(speakers) - {held_out}
        # All of the speaker's recordings test; the others' index 0-4 validates and 5 onwards trains.
        assert bundle.sizes() == {"train": 2 * 10 * 2, "validation": 2 * 10 * 2, "test": 10 * 4}
        assert {name.split("_")[2] for name in bundle.validation.clips.names} == {"0.wav", "4.wav"}
        assert bundle.notes["test_speaker"] == held_out and held_out in bundle.source
    assert speech.fsdd_split("3_Theo_2.wav", "theo")[3] == "test"
    assert speech.fsdd_split("3_george_2.wav", "theo")[3] == "validation"
    assert speech.fsdd_split("3_george_7.wav", "theo")[3] == "train"
    official = speech.load(f"fsdd:{tmp_path}")
    assert _speakers(official.test) == _speakers(official.train) == set(speakers)


def test_fsdd_unknown_held_out_speaker_names_the_speakers(tmp_path):
    _fsdd_folder(tmp_path, ("george", "theo"), (0, 7))
    with pytest.raises(audio_files.DataSourceError, match=r"--test-speaker bob: .* choose one of: george, theo$"):
        speech.load(f"fsdd:{tmp_path}", test_speaker="bob")
    with pytest.raises(audio_files.DataSourceError, match="fsdd:DIR only"):
        speech.load("synthetic", test_speaker="theo")


def test_augmentation_is_seeded_and_silence_gets_noise():
    noises = speech_augment.noise_bank(count=5)
    word = tone(0.4)
    draws = speech_augment.clip_draws(seed=1, epoch=0, index=2)
    assert draws == speech_augment.clip_draws(1, 0, 2) and draws != speech_augment.clip_draws(1, 1, 2)
    first = speech_augment.augment_clip(word, draws, noises, speech_augment.SYNTHETIC_AUGMENTATION)
    again = speech_augment.augment_clip(word, draws, noises, speech_augment.SYNTHETIC_AUGMENTATION)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (16000,) and first.dtype == np.float32 and np.abs(first).max() <= 1.0
    silence = speech_augment.augment_clip(np.zeros(0), draws, noises, speech_augment.SYNTHETIC_AUGMENTATION)
    assert silence.shape == (16000,) and 0 < np.sqrt(np.mean(silence**2)) < 0.2


def test_clip_batches_hold_one_second_clips():
    clips = speech.Clips.from_list([tone(0.3), tone(1.0), np.zeros(0, np.float32)], [0, 1, 2], ["a", "b", "c"])
    augmented = speech_augment.ClipBatches(clips, 2, augmentation=speech_augment.SYNTHETIC_AUGMENTATION)
    assert [augmented[i][0].shape for i in range(len(augmented))] == [(2, 16000), (1, 16000)]
    assert augmented[1][1].tolist() == [2]
    plain = speech_augment.ClipBatches(clips, 3)[0][0]
    np.testing.assert_allclose(plain[0, 5600:10400], tone(0.3), atol=1e-6)


def test_training_batches_are_a_pure_function_of_seed_epoch_and_clip():
    """A resumed run (a fresh pipeline put at its epoch) hears every clip as an uninterrupted run would."""
    words = [tone(0.2 + 0.05 * i, frequency=200.0 + 30 * i) for i in range(10)]
    clips = speech.Clips.from_list(words, list(range(10)), [str(i) for i in range(10)])

    def pipeline():
        return speech_augment.ClipBatches(
            clips, 4, augmentation=speech_augment.SYNTHETIC_AUGMENTATION, seed=3, shuffle=True
        )

    uninterrupted, resumed = pipeline(), pipeline()
    first_epoch = [uninterrupted.waveform(i) for i in range(10)]
    uninterrupted.on_epoch_end()
    uninterrupted.on_epoch_end()
    resumed.set_epoch(2)
    for index in range(len(resumed)):
        for expected, got in zip(uninterrupted[index], resumed[index]):
            np.testing.assert_array_equal(expected, got)
    # A new epoch, new draws; and the labels in a batch are those of its clips.
    assert not any(np.array_equal(a, uninterrupted.waveform(i)) for i, a in enumerate(first_epoch))
    waveforms, labels = uninterrupted[0]
    for waveform, label in zip(waveforms, labels):
        np.testing.assert_array_equal(waveform, uninterrupted.waveform(int(label)))
    # Evaluation batches (no shuffle) keep their draws on every pass.
    evaluation = speech_augment.ClipBatches(clips, 4, augmentation=speech_augment.SYNTHETIC_AUGMENTATION, seed=3)
    before = evaluation[0][0]
    evaluation.on_epoch_end()
    np.testing.assert_array_equal(before, evaluation[0][0])


def test_evaluation_snr_is_the_snr_the_clips_got():
    """The SNR reported per evaluation clip is the one the batches mixed in, measured back from the waveforms."""
    quiet = speech_augment.Augmentation(noise_probability=0.5, gain_db=(0.0, 0.0), shift=False)
    words = [0.1 * tone(0.5, frequency=300.0 + 40 * i) for i in range(12)]
    clips = speech.Clips.from_list(words, [0] * 12, ["a"])
    batches = speech_augment.ClipBatches(clips, 5, augmentation=quiet, seed=7)
    mixed = np.concatenate([batches[i][0] for i in range(len(batches))])
    reported = speech_augment.evaluation_snr_db(clips, quiet, seed=7)
    assert reported.shape == (12,) and np.isinf(reported).any() and np.isfinite(reported).any()
    for clip, word, snr in zip(mixed, words, reported):
        placed = np.zeros(16000, np.float32)
        placed[4000:12000] = word
        noise_rms = np.sqrt(np.mean((clip - placed) ** 2))
        if np.isinf(snr):
            assert noise_rms < 1e-6
        else:
            measured = 20 * np.log10(np.sqrt(np.mean(word**2)) / noise_rms)
            assert measured == pytest.approx(snr, abs=0.05)


@pytest.mark.parametrize("name", ["spoken_digit", "speech_commands"])
def test_tfds_sources_under_mock_data(name):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=20):
        bundle = speech.load(f"tfds:{name}")
        x, y = speech_augment.ClipBatches(bundle.train.in_memory(), 4)[0]
    assert x.shape == (4, 16000) and x.dtype == np.float32
    assert len(bundle.labels) == (10 if name == "spoken_digit" else 12)
    assert int(y.max()) < len(bundle.labels)
    if name == "speech_commands":
        assert speech.SILENCE in bundle.labels and speech.UNKNOWN in bundle.labels


def test_unknown_tfds_source():
    with pytest.raises(audio_files.DataSourceError, match="tfds:speech_commands"):
        speech.load("tfds:librispeech")


def test_real_fsdd_split_counts():
    root = os.environ.get("GALLERY_DATA_DIR")
    if not root or not (Path(root) / "fsdd" / "recordings").is_dir():
        pytest.skip("GALLERY_DATA_DIR with fsdd/ is not available")
    names = [path.name for path in (Path(root) / "fsdd" / "recordings").glob("*.wav")]
    splits = [speech.fsdd_split(name)[3] for name in names]
    assert splits.count("test") == 300 and len(names) == 3000


def test_real_fsdd_held_out_speakers_never_cross_the_split():
    root = os.environ.get("GALLERY_DATA_DIR")
    if not root or not (Path(root) / "fsdd" / "recordings").is_dir():
        pytest.skip("GALLERY_DATA_DIR with fsdd/ is not available")
    names = [path.name for path in (Path(root) / "fsdd" / "recordings").glob("*.wav")]
    speakers = speech.fsdd_speakers(Path(root) / "fsdd")
    assert speakers == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    for held_out in speakers:
        splits = [(speech.fsdd_split(name, held_out)[1], speech.fsdd_split(name, held_out)[3]) for name in names]
        assert {speaker for speaker, split in splits if split == "test"} == {held_out}
        assert all(speaker != held_out for speaker, split in splits if split != "test")
        assert sum(split == "test" for _, split in splits) == 500
