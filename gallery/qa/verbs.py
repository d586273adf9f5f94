"""The ask verb: a trained run answers a question about a story, with each hop's attention on each sentence."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from datasets import babi
from gallery import runs
from gallery.cli import Verb
from gallery.errors import UsageError
from gallery.qa.data import model_inputs
from gallery.qa.model import attention_weights, predict_logits
from gallery.trained import TrainedRun


def resolve_run(run: str, task: str | None) -> Path:
    """The run folder that answers: the run itself, or for a run of `--task all` its task's folder."""
    run_dir = Path(run)
    config_path = run_dir / "config.json"
    if config_path.is_file():
        try:
            saved_task = json.loads(config_path.read_text(encoding="utf-8")).get("task")
        except json.JSONDecodeError:
            saved_task = None
        if saved_task == "all":
            if task is None:
                raise UsageError(f"{run_dir} holds one model per task; add --task N (or use --run {run_dir}/task1)")
            task_dir = run_dir / f"task{task}"
            if not task_dir.is_dir():
                raise UsageError(f"{run_dir} has no model for task {task!r}")
            return task_dir
    return run_dir


class QARun(TrainedRun):
    """A trained reader: `predict(story, question)` gives the answer, its probability and, for the attention
    model, each hop's weights on each sentence, as the `ask` verb prints them."""

    @classmethod
    def locate(cls, run_dir: Path, config: dict[str, Any]) -> Path:
        if config.get("task") == "all":
            raise UsageError(f"{run_dir} holds one model per task; load one of them, e.g. {run_dir / 'task1'}")
        return run_dir

    def predict(self, story: str, question: str) -> dict[str, Any]:
        return answer(self.loaded, story, question)


def answer_question(run_dir: Path | str, story: str, question: str) -> dict[str, Any]:
    """Load a trained run and answer one question: the answer, its probability, and per-sentence attention."""
    return answer(runs.load_run(run_dir, "qa"), story, question)


def answer(loaded: runs.LoadedRun, story: str, question: str) -> dict[str, Any]:
    """The run's answer to one question about a story, its probability, and per-sentence attention."""
    sentences = babi.split_sentences(story)
    if not sentences:
        raise UsageError("the story is empty; pass --story with at least one sentence")
    if not babi.tokenize(question):
        raise UsageError('the question is empty; pass --question, e.g. "Where is Mary?"')
    wordless = [sentence for sentence in sentences if not babi.tokenize(sentence)]
    if wordless:
        raise UsageError(f"the story has a sentence with no words: {wordless[0]!r}")
    vocabulary = loaded.read_json("vocabulary.json")
    answers = loaded.read_json("answers.json")
    lengths = loaded.read_json("lengths.json")
    unknown = babi.unknown_words([*sentences, question], vocabulary)
    if unknown:
        raise UsageError(
            f"the model does not know the words: {', '.join(unknown)}; use words from its training stories "
            f"({loaded.path('vocabulary.json')})"
        )
    memory_size = int(lengths["memory_size"])
    longest = max(len(babi.tokenize(sentence)) for sentence in sentences)
    # The model reads any sentence length; the training length is only the least the arrays are padded to.
    example = babi.Example(tuple(sentences), question, answers[0], ())
    encoded = babi.encode(
        [example],
        vocabulary,
        answers,
        memory_size,
        sentence_length=max(lengths["sentence_length"], longest),
        question_length=max(lengths["question_length"], len(babi.tokenize(question))),
    )
    inputs = model_inputs(loaded.config["model"], encoded)
    weights = None
    if loaded.config["model"] == "attention":
        logits, all_weights = attention_weights(loaded.model, inputs)
        kept = min(len(sentences), memory_size)
        weights = all_weights[0][:, memory_size - kept :]
    else:
        logits = predict_logits(loaded.model, inputs)
    probabilities = np.exp(logits[0] - logits[0].max())
    probabilities /= probabilities.sum()
    best = int(probabilities.argmax())
    return {
        "answer": answers[best],
        "probability": float(probabilities[best]),
        "sentences": sentences[-memory_size:],
        "attention": None if weights is None else weights.tolist(),
        "dropped_sentences": max(0, len(sentences) - memory_size),
    }


def _configure_ask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a trained qa run folder")
    parser.add_argument(
        "--story", required=True, help='sentences separated by full stops, e.g. "Mary moved to the bathroom."'
    )
    parser.add_argument("--question", required=True, help='e.g. "Where is Mary?"')
    parser.add_argument("--task", default=None, help="for a run of --task all: which task's model answers")


def _ask(args: argparse.Namespace) -> int:
    result = answer_question(resolve_run(args.run, args.task), args.story, args.question)
    print(f"answer: {result['answer']} (probability {result['probability']:.2f})")
    if result["dropped_sentences"]:
        print(f"(the model's memory holds the last {len(result['sentences'])} sentences; earlier ones were not read)")
    if result["attention"] is not None:
        hops = len(result["attention"])
        print("attention on each sentence, by hop: " + " ".join(f"hop{hop + 1}" for hop in range(hops)))
        for index, sentence in enumerate(result["sentences"]):
            weights = "  ".join(f"{result['attention'][hop][index]:.2f}" for hop in range(hops))
            print(f"  {weights}  {sentence}.")
    return 0


VERBS = [Verb("ask", "answer a question about a story with a trained run", _configure_ask, _ask)]
