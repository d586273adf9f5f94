"""Sentence pairs for translation: numbers written in words (num2words), tab-separated files, and `tfds:` sources.

Every source returns a `PairSplits` of (source text, target text) lists for train, validation and test, plus what
was read and skipped. Tokenisation is a `Tokenizer` that gives `keras.layers.TextVectorization`'s ids, in Python,
with a standardisation that lower-cases, keeps accents and Spanish punctuation (¿ ¡), and separates punctuation from
words; its vocabulary is a plain list of strings (saved as JSON by the app), with the reserved ids below.

    number_pairs("en", "es", count=24000)      # "three hundred and forty-two" -> "trescientos cuarenta y dos"
    read_tsv("spa.txt", reverse=True)           # Anki/Tatoeba: source<TAB>target[<TAB>attribution]
    tfds_pairs("ted_hrlr_translate/pt_to_en")   # downloads on first use, unless mocked in tests

The number data is split by number: a test number never appears in training, in any wording. Sentence pairs are
split by groups of shared sentences: a test sentence, source or target, never appears in training.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.pair_splits import grouped_split

PAD, UNK, START, END = 0, 1, 2, 3
RESERVED = ["", "[UNK]", "[start]", "[end]"]
LEVELS = ("word", "char")
# Split off as tokens of their own; the apostrophe stays inside words ("don't", "l'homme").
PUNCTUATION = r"""[.,!?¿¡;:"()«»…\-]"""
# Splits are drawn with this seed whatever the model's seed, so runs with different seeds share a test set.
SPLIT_SEED = 20150101

Pair = tuple[str, str]


@dataclass
class PairSplits:
    """Train, validation and test pairs, and where they came from."""

    train: list[Pair]
    validation: list[Pair]
    test: list[Pair]
    description: str
    read: int = 0
    skipped: int = 0
    dropped_long: int = 0


# --- numbers in words --------------------------------------------------------------------------------------------


def parse_pair(pair: str) -> tuple[str, str]:
    """`en-es` -> ("en", "es"), both checked against the languages num2words writes numbers in."""
    from num2words import CONVERTER_CLASSES

    parts = pair.split("-")
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"a language pair looks like en-es, got {pair!r}")
    known = sorted(CONVERTER_CLASSES)
    for code in parts:
        if code not in known:
            raise ValueError(f"num2words does not know language {code!r}; choose from: {', '.join(known)}")
    if parts[0] == parts[1]:
        raise ValueError(f"source and target language are the same ({pair}); choose two languages, e.g. en-es")
    return parts[0], parts[1]


def sample_numbers(count: int, maximum: int = 1_000_000, seed: int = SPLIT_SEED) -> list[int]:
    """`count` distinct integers in [0, maximum], spread evenly over the digit lengths, in a seeded order.

    Uniform draws would be almost all six-digit numbers, and the model would rarely see "seven" on its own; so
    each digit length gets an equal share (all of it when the length has fewer numbers than its share).
    """
    if count > maximum + 1:
        raise ValueError(f"cannot draw {count} distinct numbers from 0..{maximum}")
    rng = random.Random(seed)
    ranges = []
    for digits in range(1, len(str(maximum)) + 1):
        low, high = (0 if digits == 1 else 10 ** (digits - 1)), min(maximum, 10**digits - 1)
        ranges.append(range(low, high + 1))
    numbers: list[int] = []
    remaining = count
    # The smallest lengths first, so what they cannot fill passes to the longer ones.
    for index, numbers_of_length in enumerate(sorted(ranges, key=len)):
        share = -(-remaining // (len(ranges) - index))
        take = min(share, len(numbers_of_length))
        numbers += rng.sample(numbers_of_length, take)
        remaining -= take
    rng.shuffle(numbers)
    return numbers


def split_numbers(numbers: Sequence[int], validation_fraction: float, test_fraction: float) -> tuple[list, list, list]:
    """Disjoint train / validation / test lists of numbers (the order given is kept)."""
    total = len(numbers)
    test_count = max(1, round(total * test_fraction))
    validation_count = max(1, round(total * validation_fraction))
    if test_count + validation_count >= total:
        raise ValueError(f"{total} numbers are too few to split into train, validation and test")
    test = list(numbers[:test_count])
    validation = list(numbers[test_count : test_count + validation_count])
    train = list(numbers[test_count + validation_count :])
    return train, validation, test


def number_pairs(
    source_language: str = "en",
    target_language: str = "es",
    *,
    count: int = 24000,
    maximum: int = 1_000_000,
    validation_fraction: float = 0.05,
    test_fraction: float = 0.1,
    seed: int = SPLIT_SEED,
) -> PairSplits:
    """Integers in words in two languages, split by number."""
    from num2words import num2words

    numbers = sample_numbers(count, maximum, seed)
    splits = split_numbers(numbers, validation_fraction, test_fraction)
    train, validation, test = (
        [(num2words(n, lang=source_language), num2words(n, lang=target_language)) for n in part] for part in splits
    )
    return PairSplits(
        train,
        validation,
        test,
        description=f"{count} integers 0..{maximum:,} in words, {source_language} -> {target_language} (num2words)",
        read=count,
    )


# --- tab-separated pairs -----------------------------------------------------------------------------------------


def parse_tsv_lines(lines: Iterable[str], reverse: bool = False) -> tuple[list[Pair], int]:
    """(pairs, skipped lines) from `source<TAB>target[<TAB>attribution...]` lines; blank lines are ignored.

    A line without two non-empty columns is skipped and counted, so a stray line does not stop a long file.
    """
    pairs, skipped = [], 0
    for line in lines:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 2 or not columns[0].strip() or not columns[1].strip():
            skipped += 1
            continue
        source, target = columns[0].strip(), columns[1].strip()
        pairs.append((target, source) if reverse else (source, target))
    return pairs, skipped


def read_tsv(path: Path | str, reverse: bool = False) -> tuple[list[Pair], int]:
    """Pairs of a UTF-8 tab-separated file (Anki/Tatoeba format) and the number of lines skipped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file")
    with path.open(encoding="utf-8", errors="strict") as handle:
        pairs, skipped = parse_tsv_lines(handle, reverse)
    if not pairs:
        raise ValueError(
            f"{path} has no valid line ({skipped} skipped); each line needs source<TAB>target (tab-separated)"
        )
    return pairs, skipped


def short_pairs(pairs: Iterable[Pair], max_words: int) -> list[Pair]:
    """The pairs with at most `max_words` words (split on spaces) on either side."""
    return [pair for pair in pairs if max(len(pair[0].split()), len(pair[1].split())) <= max_words]


def split_pairs(
    pairs: Sequence[Pair],
    *,
    test_fraction: float = 0.1,
    validation_fraction: float = 0.05,
    seed: int = SPLIT_SEED,
) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """About 10% test, then 5% of the rest validation, the rest train, with no sentence on two sides: pairs that
    share a standardised source or target sentence stay together (see `datasets.pair_splits`)."""
    return grouped_split(
        pairs, standardize, test_fraction=test_fraction, validation_fraction=validation_fraction, seed=seed
    )


def tsv_pairs(path: Path | str, *, reverse: bool = False, max_words: int = 10) -> PairSplits:
    """A TSV file's pairs with at most `max_words` words on each side, split 90/10 (and validation from the 90) with
    no sentence on both sides."""
    pairs, skipped = read_tsv(path, reverse)
    kept = short_pairs(pairs, max_words)
    if not kept:
        raise ValueError(f"no pair in {path} has at most {max_words} words a side; raise --max-words")
    train, validation, test = split_pairs(kept)
    direction = "reversed, " if reverse else ""
    return PairSplits(
        train,
        validation,
        test,
        description=f"{Path(path).name} ({direction}pairs of at most {max_words} words)",
        read=len(pairs) + skipped,
        skipped=skipped,
        dropped_long=len(pairs) - len(kept),
    )


# --- TensorFlow Datasets -----------------------------------------------------------------------------------------


def tfds_pairs(name: str, *, reverse: bool = False, max_words: int = 0) -> PairSplits:
    """A tfds translation dataset (its supervised keys give the direction), with its own train/validation/test."""
    import tensorflow_datasets as tfds

    from datasets import tfds_source

    builder = tfds_source.get_builder(name)
    tfds_source.download_and_prepare(builder, name)
    # Without prepared metadata (e.g. under tfds.testing.mock_data) the split list is empty: assume the usual ones.
    available = set(builder.info.splits.keys()) if builder.info.splits else {"train", "validation", "test"}

    def load(split: str) -> list[Pair]:
        dataset = tfds_source.as_dataset(builder, name, split, as_supervised=True)
        pairs = [(a.decode("utf-8"), b.decode("utf-8")) for a, b in tfds.as_numpy(dataset)]
        pairs = [(b, a) for a, b in pairs] if reverse else pairs
        return short_pairs(pairs, max_words) if max_words else pairs

    train = load("train")
    if "validation" in available and "test" in available:
        validation, test = load("validation"), load("test")
    else:
        train, validation, test = split_pairs(train)
    if not train:
        raise ValueError(f"tfds:{name} gave no training pairs (after the --max-words filter)")
    return PairSplits(train, validation, test, description=f"tfds:{name}" + (" reversed" if reverse else ""))


# --- tokenisation ------------------------------------------------------------------------------------------------

# TextVectorization's rules, in Python so that translation runs on any Keras backend (TensorFlow not needed):
# RE2's `\s` and `tf.strings.split` know ASCII whitespace only, so a no-break space stays inside a token here too.
_WHITESPACE_RUN = re.compile(r"[\t\n\f\r ]+")
_SPLIT = re.compile(r"[ \t\n\v\f\r]+")
_PUNCTUATION_RE = re.compile(f"({PUNCTUATION})")


def standardize(text: str, level: str = "word") -> str:
    """Lower-case (Unicode-aware, accents kept), punctuation split off as tokens at word level, spaces collapsed."""
    text = text.lower()
    if level == "word":
        text = _PUNCTUATION_RE.sub(r" \1 ", text)
    return _WHITESPACE_RUN.sub(" ", text).strip(" \t\n\v\f\r")


def split(text: str, level: str = "word") -> list[str]:
    """The tokens of one standardised text: words, or every character (spaces included)."""
    if level == "char":
        return list(text)
    return [token for token in _SPLIT.split(text) if token]


class Tokenizer:
    """Text <-> token ids; id 0 pads, then [UNK], [start], [end], then the vocabulary, most frequent first.

    It gives the ids `keras.layers.TextVectorization` gives with the same standardisation and vocabulary
    (`text_vectorization()` builds that layer, for a tf.data pipeline or an exported model; a test holds the two
    equal), but runs in Python, so training and decoding need no TensorFlow. The vocabulary is a list of strings
    whose index is the id, so it round-trips through JSON.
    """

    def __init__(self, vocabulary: Sequence[str], level: str = "word"):
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; choose one of: {', '.join(LEVELS)}")
        vocabulary = list(vocabulary)
        if vocabulary[: len(RESERVED)] != RESERVED:
            raise ValueError(f"a vocabulary starts with the reserved tokens {RESERVED}")
        self.vocabulary = vocabulary
        self.level = level
        self.index = {token: i for i, token in enumerate(vocabulary)}

    @classmethod
    def fit(cls, texts: Sequence[str], level: str = "word", max_tokens: int = 0) -> Tokenizer:
        """The vocabulary of `texts`, most frequent tokens first, at most `max_tokens` ids in all (0 = no cap)."""
        counts = Counter(token for text in texts for token in split(standardize(text, level), level))
        counts.pop("", None)
        # TextVectorization's order: by count, ties by the tokens' UTF-8 bytes, both descending.
        ranked = sorted(counts, key=lambda token: (counts[token], token.encode("utf-8")), reverse=True)
        if max_tokens:
            ranked = ranked[: max(max_tokens - len(RESERVED), 0)]
        return cls(RESERVED + [token for token in ranked if token not in RESERVED], level)

    def __len__(self) -> int:
        return len(self.vocabulary)

    def pieces(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens of each text after standardisation (what the ids stand for, before the vocabulary lookup)."""
        return [split(standardize(text, self.level), self.level) for text in texts]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (unknown tokens become [UNK]); no start or end token."""
        return [[self.index.get(token, UNK) for token in row] for row in self.pieces(texts)]

    def text_vectorization(self):
        """The same tokenizer as a `keras.layers.TextVectorization` layer (needs TensorFlow): ragged ids out."""
        import keras
        import tensorflow as tf

        def standardize_tensor(text):
            text = tf.strings.lower(text, encoding="utf-8")
            if self.level == "word":
                text = tf.strings.regex_replace(text, f"({PUNCTUATION})", r" \1 ")
            return tf.strings.strip(tf.strings.regex_replace(text, r"\s+", " "))

        return keras.layers.TextVectorization(
            standardize=standardize_tensor,
            split="character" if self.level == "char" else "whitespace",
            vocabulary=self.vocabulary[2:],
            ragged=True,
        )

    def unknown(self, text: str) -> list[str]:
        """The tokens of `text` that the vocabulary lacks."""
        return [token for token in self.pieces([text])[0] if token not in self.index]

    def tokens(self, ids: Iterable[int]) -> list[str]:
        return [self.vocabulary[i] if 0 <= i < len(self.vocabulary) else "[UNK]" for i in ids]

    def join(self, ids: Iterable[int]) -> str:
        """Ids back to standardised text: tokens separated by spaces (words) or joined (characters)."""
        tokens = [token for token in self.tokens(ids) if token not in ("", "[start]", "[end]")]
        return ("" if self.level == "char" else " ").join(tokens)


def detokenize(text: str) -> str:
    """Standardised word-level text made readable: no space before closing punctuation or after ¿ ¡ and hyphens."""
    text = re.sub(r" ([.,!?;:…)»])", r"\1", text)
    text = re.sub(r"([¿¡(«]) ", r"\1", text)
    return re.sub(r" - ", "-", text)


def pad(rows: Sequence[Sequence[int]], length: int | None = None) -> np.ndarray:
    """Rows of ids padded with 0 (and cut) to `length`, or to the longest row."""
    length = max((len(row) for row in rows), default=0) if length is None else length
    array = np.zeros((len(rows), max(length, 1)), np.int32)
    for i, row in enumerate(rows):
        row = list(row)[:length]
        array[i, : len(row)] = row
    return array
