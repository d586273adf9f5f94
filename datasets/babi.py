"""bAbI v1.2 question answering: the text format, its reader, and the encoding of stories into padded arrays.

The format (Weston et al. 2015, arXiv:1502.05698) numbers the lines of each story from 1; a line is a statement,
or a question, a tab, the answer and a tab-separated list of the line numbers of its supporting facts:

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? \tbathroom\t1

Numbering restarts at 1 for a new story. Each question becomes one `Example`: the statements of its story so far,
the question, the answer (one label, so list answers such as "football,apple" stay one class) and the indices of
the supporting statements in that story. The same reader serves the real files (`qaN_*_train.txt`,
`qaN_*_test.txt`) and the stories written by `datasets.babi_world`.

bAbI tasks data: Copyright (c) 2015-present, Facebook, Inc., CC BY 3.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PAD, UNKNOWN, EMPTY = "<pad>", "<unk>", "<empty>"
RESERVED = (PAD, UNKNOWN, EMPTY)
TASK_NAMES = {
    1: "single supporting fact",
    2: "two supporting facts",
    3: "three supporting facts",
    4: "two argument relations",
    5: "three argument relations",
    6: "yes/no questions",
    7: "counting",
    8: "lists/sets",
    9: "simple negation",
    10: "indefinite knowledge",
    11: "basic coreference",
    12: "conjunction",
    13: "compound coreference",
    14: "time reasoning",
    15: "basic deduction",
    16: "basic induction",
    17: "positional reasoning",
    18: "size reasoning",
    19: "path finding",
    20: "agent's motivations",
}
_WORD = re.compile(r"[a-z0-9]+")


class BabiFormatError(ValueError):
    """A line that is not bAbI v1.2; the message names the file and the line."""


class BabiFilesMissingError(ValueError):
    """No `qaN_*_train.txt` / `qaN_*_test.txt` pair for a task in the folder."""


@dataclass(frozen=True)
class Example:
    """One question with the story before it."""

    story: tuple[str, ...]
    question: str
    answer: str
    supporting: tuple[int, ...]  # indices into `story`
    task: int = 0


def tokenize(text: str) -> list[str]:
    """Lower-case words without punctuation: "Where is Mary?" -> [where, is, mary]."""
    return _WORD.findall(text.lower())


def split_sentences(text: str) -> list[str]:
    """A free-text story cut into sentences at full stops, question and exclamation marks (and new lines)."""
    return [part.strip() for part in re.split(r"[.!?\n]+", text) if part.strip()]


def parse_babi(text: str, source: str = "<text>", task: int = 0) -> list[Example]:
    """Every question of a bAbI v1.2 text as an Example; a malformed line raises BabiFormatError."""
    examples: list[Example] = []
    story: list[str] = []
    statement_index: dict[int, int] = {}  # line id in the story -> index into `story`
    previous_id = 0
    for line_number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue

        def fail(reason: str, line_number: int = line_number, raw: str = raw) -> BabiFormatError:
            return BabiFormatError(f"{source}, line {line_number}: {reason}: {raw.strip()[:80]!r}")

        number, _, rest = raw.strip("\r\n").partition(" ")
        if not number.isdigit() or not rest.strip():
            raise fail("expected a line number, a space and a sentence")
        line_id = int(number)
        if line_id == 1:
            story, statement_index = [], {}
        elif line_id != previous_id + 1:
            raise fail(f"line number {line_id} does not follow {previous_id} (a new story starts at 1)")
        previous_id = line_id
        if "\t" not in rest:
            statement_index[line_id] = len(story)
            story.append(rest.strip())
            continue
        fields = rest.split("\t")
        if len(fields) != 3:
            raise fail("a question line needs: question, tab, answer, tab, supporting line numbers")
        question, answer, support_text = (field.strip() for field in fields)
        if not question or not answer:
            raise fail("the question or the answer is empty")
        support_ids = support_text.split()
        if not all(item.isdigit() for item in support_ids):
            raise fail("supporting facts must be line numbers separated by spaces")
        missing = [item for item in support_ids if int(item) not in statement_index]
        if missing:
            raise fail(f"supporting fact {missing[0]} is not an earlier statement of this story")
        supporting = tuple(statement_index[int(item)] for item in support_ids)
        examples.append(Example(tuple(story), question, answer, supporting, task))
    return examples


def read_babi_file(path: Path | str, task: int = 0) -> list[Example]:
    path = Path(path)
    return parse_babi(path.read_text(encoding="utf-8"), source=str(path), task=task)


def task_files(directory: Path | str, task: int) -> tuple[Path, Path]:
    """The (train, test) files of task N in a bAbI folder (its `en/` subfolder is looked into too)."""
    directory = Path(directory)
    for folder in (directory, directory / "en"):
        train = sorted(folder.glob(f"qa{task}_*_train.txt"))
        test = sorted(folder.glob(f"qa{task}_*_test.txt"))
        if train and test:
            return train[0], test[0]
    found = available_tasks(directory)
    raise BabiFilesMissingError(
        f"no qa{task}_*_train.txt and qa{task}_*_test.txt in {directory}; "
        + (f"tasks found there: {', '.join(map(str, found))}" if found else "it holds no bAbI task files")
    )


def available_tasks(directory: Path | str) -> list[int]:
    """Task numbers with both a train and a test file in the folder (or its `en/` subfolder)."""
    directory = Path(directory)
    tasks = set()
    for folder in (directory, directory / "en"):
        for path in folder.glob("qa*_*_train.txt"):
            match = re.match(r"qa(\d+)_", path.name)
            if match and list(folder.glob(f"qa{match.group(1)}_*_test.txt")):
                tasks.add(int(match.group(1)))
    return sorted(tasks)


def read_task(directory: Path | str, task: int) -> tuple[list[Example], list[Example]]:
    train_path, test_path = task_files(directory, task)
    return read_babi_file(train_path, task), read_babi_file(test_path, task)


# --- encoding --------------------------------------------------------------------------------------------------


def build_vocabulary(examples: Iterable[Example]) -> list[str]:
    """The reserved tokens (padding 0, unknown 1, empty memory slot 2), then every word, sorted."""
    words = set()
    for example in examples:
        for sentence in (*example.story, example.question):
            words.update(tokenize(sentence))
    return [*RESERVED, *sorted(words)]


def answer_labels(examples: Iterable[Example]) -> list[str]:
    return sorted({example.answer for example in examples})


def unknown_words(texts: Iterable[str], vocabulary: Sequence[str]) -> list[str]:
    known = set(vocabulary)
    return sorted({word for text in texts for word in tokenize(text) if word not in known})


@dataclass
class EncodedExamples:
    """Padded arrays of a list of examples.

    `memory` (n, memory_size, sentence_length): word ids of the last `memory_size` statements, the most recent in
    the last slot; slots before the story hold the single token <empty>. Words are padded with 0 on the right.
    `story` (n, story_length): the same statements' words in one sequence. `question` (n, question_length).
    `answers` (n,): index into the answer labels (-1 for an answer the labels do not hold).
    `supporting` (n, memory_size): 1 on the slots of the supporting facts still inside the memory.
    """

    memory: np.ndarray
    story: np.ndarray
    question: np.ndarray
    answers: np.ndarray
    supporting: np.ndarray

    def __len__(self) -> int:
        return len(self.answers)


def _ids(text: str, index: dict[str, int]) -> list[int]:
    return [index.get(word, 1) for word in tokenize(text)]


def encode(
    examples: Sequence[Example],
    vocabulary: Sequence[str],
    answers: Sequence[str],
    memory_size: int,
    sentence_length: int | None = None,
    question_length: int | None = None,
) -> EncodedExamples:
    """Word ids of stories, questions and answers, padded to the longest (or the given) lengths."""
    index = {word: position for position, word in enumerate(vocabulary)}
    answer_index = {answer: position for position, answer in enumerate(answers)}
    empty_id = index[EMPTY]
    windows = [[_ids(sentence, index) for sentence in example.story[-memory_size:]] for example in examples]
    questions = [_ids(example.question, index) for example in examples]
    longest_sentence = max([len(ids) for window in windows for ids in window] + [1])
    sentence_length = sentence_length or longest_sentence
    question_length = question_length or max([len(ids) for ids in questions] + [1])
    story_length = max([sum(min(len(ids), sentence_length) for ids in window) for window in windows] + [1])
    count = len(examples)
    memory = np.zeros((count, memory_size, sentence_length), np.int32)
    memory[:, :, 0] = empty_id
    story = np.zeros((count, story_length), np.int32)
    question = np.zeros((count, question_length), np.int32)
    supporting = np.zeros((count, memory_size), np.float32)
    for row, (example, window, question_ids) in enumerate(zip(examples, windows, questions)):
        offset = memory_size - len(window)
        flat: list[int] = []
        for slot, ids in enumerate(window):
            ids = ids[:sentence_length]
            memory[row, offset + slot, 0] = 0
            memory[row, offset + slot, : len(ids)] = ids
            flat.extend(ids)
        story[row, : len(flat)] = flat
        question[row, : min(len(question_ids), question_length)] = question_ids[:question_length]
        first_kept = len(example.story) - len(window)
        for fact in example.supporting:
            if fact >= first_kept:
                supporting[row, offset + fact - first_kept] = 1.0
    labels = np.array([answer_index.get(example.answer, -1) for example in examples], np.int32)
    return EncodedExamples(memory, story, question, labels, supporting)
