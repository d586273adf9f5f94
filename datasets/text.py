"""Text corpora for language models: where the text comes from, its vocabulary, the split, and the windows.

Sources (the `--data` values):
- `default`: the documentation text CPython ships in `pydoc_data.topics` (about 465,000 characters of English prose
  and code), joined in sorted key order so every Python install gives the same text. Offline, always there.
- `hello`: the lecture's word, `hello` on a line of its own, repeated until there is something to split.
- a path: a UTF-8 text file, or a folder whose `*.txt` files (searched recursively, sorted by path) are joined.
- `tfds:NAME`: a TensorFlow Datasets text set with a `text` feature, e.g. `tfds:tiny_shakespeare`; all its splits
  are joined in the order train, validation, test (for tiny_shakespeare that is char-rnn's input.txt again).

The text is tokenised into characters (`char`) or into words, punctuation marks and whitespace runs (`word`), so
decoding is an exact inverse. The split is contiguous: the first 90 % of tokens train, the rest validate.
Training windows start at random positions (a fresh draw every epoch); validation windows do not overlap.
This module knows nothing of models.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LEVELS = ("char", "word")
NAMED_SOURCES = ("default", "hello")
UNKNOWN = "<unk>"
WORD_PATTERN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
HELLO_REPEATS = 2000


class TextDataError(ValueError):
    """The text source cannot be used; the message says what is wrong and what to do."""


@dataclass
class Corpus:
    """Raw text and where it came from."""

    text: str
    source: str
    description: str


def default_text() -> str:
    """CPython's documentation topics (pydoc_data.topics), joined deterministically by sorted key."""
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


def load_corpus(data: str) -> Corpus:
    """The text named by a `--data` value; raises TextDataError with the fix when it cannot be used."""
    if data == "default":
        return Corpus(default_text(), data, "CPython documentation topics (pydoc_data.topics)")
    if data == "hello":
        return Corpus("hello\n" * HELLO_REPEATS, data, f'the lecture\'s word "hello", {HELLO_REPEATS} lines')
    if data.startswith("tfds:"):
        return _tfds_corpus(data[len("tfds:") :])
    path = Path(data).expanduser()
    if path.is_file():
        return Corpus(read_text_file(path), data, f"text file {path}")
    if path.is_dir():
        files = sorted(item for item in path.rglob("*.txt") if item.is_file())
        if not files:
            raise TextDataError(f"folder {path} holds no .txt files; put UTF-8 .txt files in it or name a text file")
        text = "\n".join(read_text_file(item) for item in files)
        return Corpus(text, data, f"{len(files)} .txt files under {path}")
    raise TextDataError(
        f"unknown --data {data!r}: no such file or folder, and not one of "
        f"{', '.join(NAMED_SOURCES)}, tfds:NAME (e.g. tfds:tiny_shakespeare)"
    )


def read_text_file(path: Path) -> str:
    """A UTF-8 text file's contents; empty, binary and non-UTF-8 files are refused with a clear message."""
    raw = path.read_bytes()
    if not raw.strip():
        raise TextDataError(f"{path} is empty; give a file with some text in it")
    if b"\x00" in raw:
        raise TextDataError(f"{path} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TextDataError(
            f"{path} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "convert it, e.g. iconv -f latin1 -t utf-8"
        ) from None
    # A byte-order mark is an encoding artefact, not a character the model should learn.
    return text.removeprefix("\ufeff")


def _tfds_corpus(name: str) -> Corpus:
    if not name:
        raise TextDataError("--data tfds: needs a dataset name, e.g. tfds:tiny_shakespeare")
    import tensorflow_datasets as tfds

    from datasets import tfds_source

    try:
        builder = tfds_source.get_builder(name)
        if "text" not in builder.info.features:
            raise TextDataError(f"tfds:{name} has no 'text' feature; a language model needs a plain text set")
        tfds_source.download_and_prepare(builder, name)
        # Without prepared metadata (e.g. under tfds.testing.mock_data) the split list is empty: try the usual ones.
        known = set(builder.info.splits) or {"train", "validation", "test"}
        split_names = [split for split in ("train", "validation", "test") if split in known]
        split_names += sorted(known - set(split_names))
        pieces = []
        for split in split_names:
            for example in tfds.as_numpy(tfds_source.as_dataset(builder, name, split)):
                pieces.append(example["text"].decode("utf-8"))
    except tfds_source.TfdsSourceError as error:
        raise TextDataError(str(error)) from None
    text = "".join(pieces)
    if not text.strip():
        raise TextDataError(f"tfds:{name} holds no text")
    return Corpus(text, f"tfds:{name}", f"TensorFlow Datasets {name} ({' + '.join(split_names)})")


def tokenize(text: str, level: str) -> list[str]:
    """Characters, or words / punctuation marks / whitespace runs; `"".join(tokens) == text` either way."""
    if level == "char":
        return list(text)
    if level == "word":
        return WORD_PATTERN.findall(text)
    raise TextDataError(f"unknown level {level!r}; choose one of: {', '.join(LEVELS)}")


@dataclass
class Vocabulary:
    """Token <-> id. Character vocabularies are every character of the text; word ones keep the most frequent."""

    tokens: list[str]
    level: str
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self.index = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, tokens: list[str], level: str, max_size: int = 0) -> Vocabulary:
        counts = Counter(tokens)
        if level == "char" or not max_size or len(counts) <= max_size:
            return cls(sorted(counts), level)
        # Rare words share one <unk> id; ties broken alphabetically so the vocabulary is deterministic.
        common = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: max_size - 1]
        return cls([UNKNOWN, *sorted(token for token, _ in common)], level)

    def __len__(self) -> int:
        return len(self.tokens)

    def unknown(self, tokens: list[str]) -> list[str]:
        """The distinct tokens this vocabulary has never seen, in order of appearance."""
        return list(dict.fromkeys(token for token in tokens if token not in self.index))

    def encode(self, tokens: list[str]) -> np.ndarray:
        if UNKNOWN in self.index:
            fallback = self.index[UNKNOWN]
            return np.array([self.index.get(token, fallback) for token in tokens], dtype=np.int32)
        missing = self.unknown(tokens)
        if missing:
            raise KeyError(f"tokens not in the vocabulary: {missing[:10]}")
        return np.array([self.index[token] for token in tokens], dtype=np.int32)

    def decode(self, ids) -> str:
        return "".join(self.tokens[int(i)] for i in ids)

    def to_json(self) -> dict:
        return {"level": self.level, "tokens": self.tokens}

    @classmethod
    def from_json(cls, value: dict) -> Vocabulary:
        return cls(list(value["tokens"]), value["level"])


@dataclass
class LanguageModelData:
    """A corpus encoded and split: training ids, validation ids, vocabulary, and characters per split."""

    corpus: Corpus
    vocabulary: Vocabulary
    train_ids: np.ndarray
    validation_ids: np.ndarray
    train_characters: int
    validation_characters: int
    validation_token_lengths: np.ndarray

    def train_windows(self, seq_len: int, batch_size: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """An endless stream of (inputs, targets) windows starting at random positions, batched."""
        return random_windows(self.train_ids, seq_len, batch_size, seed)

    def validation_windows(self, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        return consecutive_windows(self.validation_ids, seq_len)

    def validation_window_count(self, seq_len: int) -> int:
        return (len(self.validation_ids) - 1) // seq_len

    def validation_characters_covered(self, seq_len: int) -> int:
        """Characters of the validation targets the windows cover (the loss is averaged over these)."""
        count = self.validation_window_count(seq_len) * seq_len
        return int(self.validation_token_lengths[1 : count + 1].sum())


def prepare(
    corpus: Corpus,
    level: str = "char",
    seq_len: int = 100,
    validation_fraction: float = 0.1,
    max_vocab: int = 0,
) -> LanguageModelData:
    """Tokenise, build the vocabulary over the whole text, and split contiguously; refuses too-short texts."""
    tokens = tokenize(corpus.text, level)
    vocabulary = Vocabulary.build(tokens, level, max_vocab)
    ids = vocabulary.encode(tokens)
    # Characters per token, from the original text (an <unk> stands for a word of its own length).
    lengths = np.fromiter((len(token) for token in tokens), dtype=np.int64, count=len(tokens))
    split = int(len(ids) * (1 - validation_fraction))  # as nanoGPT: int(n * 0.9)
    train_ids, validation_ids = ids[:split], ids[split:]
    unit = "characters" if level == "char" else "tokens"
    # Each side needs one window of inputs plus the target shifted by one.
    shortest = min(len(train_ids), len(validation_ids))
    if shortest < seq_len + 1:
        needed = int(np.ceil((seq_len + 1) / min(validation_fraction, 1 - validation_fraction)))
        raise TextDataError(
            f"{corpus.source} has {len(ids)} {unit}, shorter than one window of --seq-len {seq_len} in its "
            f"{validation_fraction:.0%} validation split; give at least {needed} {unit} or a smaller --seq-len"
        )
    if len(vocabulary) < 2:
        raise TextDataError(f"{corpus.source} uses a single {unit[:-1]}; there is nothing to predict")
    return LanguageModelData(
        corpus=corpus,
        vocabulary=vocabulary,
        train_ids=train_ids,
        validation_ids=validation_ids,
        train_characters=int(lengths[:split].sum()),
        validation_characters=int(lengths[split:].sum()),
        validation_token_lengths=lengths[split:],
    )


def random_windows(
    ids: np.ndarray, seq_len: int, batch_size: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches of seq_len inputs and the next seq_len targets, from uniformly drawn starts, forever.

    Plain NumPy, so every Keras backend (TensorFlow, JAX, PyTorch) trains from the same stream.
    """
    rng = np.random.default_rng(seed)
    starts = len(ids) - seq_len  # a start s needs ids[s : s + seq_len + 1]
    offsets = np.arange(seq_len + 1)
    while True:
        chunks = ids[rng.integers(0, starts, size=(batch_size, 1)) + offsets]
        yield chunks[:, :-1], chunks[:, 1:]


def consecutive_windows(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (inputs, targets) windows over the whole split (a remainder shorter than one is left out)."""
    count = (len(ids) - 1) // seq_len
    inputs = ids[: count * seq_len].reshape(count, seq_len)
    targets = ids[1 : count * seq_len + 1].reshape(count, seq_len)
    return inputs, targets
