"""The bAbI reader and the world simulation: parsing with supporting facts, bad lines, and answers by replay."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from datasets import babi, babi_world

SAMPLE = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel? \thallway\t4
1 Sandra got the milk there.
2 What is Sandra carrying?\tmilk\t1
"""


def test_parse_keeps_story_so_far_and_maps_supporting_line_numbers_to_statements():
    examples = babi.parse_babi(SAMPLE, task=1)
    assert [e.question for e in examples] == ["Where is Mary?", "Where is Daniel?", "What is Sandra carrying?"]
    assert examples[0].story == ("Mary moved to the bathroom.", "John went to the hallway.")
    assert examples[0].supporting == (0,)
    # Line 4 is the third statement: question lines are numbered but are not part of the story.
    assert examples[1].story[-1] == "Daniel went back to the hallway." and examples[1].supporting == (2,)
    assert examples[1].answer == "hallway"
    # A line numbered 1 starts a new story.
    assert examples[2].story == ("Sandra got the milk there.",) and examples[2].supporting == (0,)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("1 Mary moved.\nx Where is Mary?\tgarden\t1\n", "line number"),
        ("1 Mary moved.\n2 Where is Mary?\tgarden\n", "question line needs"),
        ("1 Mary moved.\n2 Where is Mary?\tgarden\t3\n", "not an earlier statement"),
        ("1 Mary moved.\n2 Where is Mary?\tgarden\tone\n", "line numbers separated"),
        ("1 Mary moved.\n3 John moved.\n", "does not follow"),
        ("1 Mary moved.\n2 Where is Mary?\t\t1\n", "empty"),
    ],
)
def test_malformed_lines_name_the_file_and_the_line(text, reason):
    with pytest.raises(babi.BabiFormatError, match=re.escape("qa1_test.txt, line 2") + ".*" + reason):
        babi.parse_babi(text, source="qa1_test.txt")


def test_task_files_found_in_the_folder_or_its_en_subfolder_and_missing_tasks_named(tmp_path):
    (tmp_path / "en").mkdir()
    for split in ("train", "test"):
        (tmp_path / "en" / f"qa6_yes-no-questions_{split}.txt").write_text(SAMPLE)
    (tmp_path / "qa2_two-supporting-facts_train.txt").write_text(SAMPLE)  # no test file: not a task
    assert babi.available_tasks(tmp_path) == [6]
    train, test = babi.task_files(tmp_path, 6)
    assert train.name == "qa6_yes-no-questions_train.txt" and test.name == "qa6_yes-no-questions_test.txt"
    with pytest.raises(babi.BabiFilesMissingError, match="tasks found there: 6"):
        babi.task_files(tmp_path, 2)


def test_encode_right_aligns_the_memory_and_marks_supporting_slots():
    examples = babi.parse_babi(SAMPLE)
    vocabulary = babi.build_vocabulary(examples)
    answers = babi.answer_labels(examples)
    encoded = babi.encode(examples, vocabulary, answers, memory_size=4)
    empty, index = vocabulary.index(babi.EMPTY), {w: i for i, w in enumerate(vocabulary)}
    assert encoded.memory.shape == (3, 4, 6)
    # Example 2: three statements in slots 1-3, slot 0 empty; the supporting fact (statement 2) is the last slot.
    assert encoded.memory[1, 0, 0] == empty and list(encoded.memory[1, 0, 1:]) == [0, 0, 0, 0, 0]
    assert list(encoded.memory[1, 3]) == [index[w] for w in "daniel went back to the hallway".split()]
    assert list(encoded.supporting[1]) == [0, 0, 0, 1]
    assert answers[encoded.answers[1]] == "hallway"
    # The flat story of the baseline holds the same words in order, padded with 0 on the right.
    story_words = [vocabulary[i] for i in encoded.story[0] if i]
    assert story_words == "mary moved to the bathroom john went to the hallway".split()
    # A memory smaller than the story keeps the latest sentences and forgets facts that fell out of it.
    small = babi.encode(examples, vocabulary, answers, memory_size=1)
    assert list(small.supporting[:, 0]) == [0, 1, 1]
    unknown = babi.encode([babi.Example(("Zed flew.",), "Where?", "nowhere", ())], vocabulary, answers, 2)
    assert unknown.memory[0, 1, 0] == vocabulary.index(babi.UNKNOWN) and unknown.answers[0] == -1


def test_generator_is_deterministic_by_seed_and_reads_back():
    first = babi_world.generate_text(2, 40, seed=3)
    assert first == babi_world.generate_text(2, 40, seed=3)
    assert first != babi_world.generate_text(2, 40, seed=4)
    examples = babi_world.generate_examples(2, 40, seed=3)
    assert len(examples) == 40 and all(e.task == 2 for e in examples)
    with pytest.raises(ValueError, match="not task 4"):
        babi_world.generate_text(4, 10)


# --- replay: an interpreter written independently of the simulation recomputes every answer from the text -----

MOVE = re.compile(
    r"^(?:(\w+)|(?:After that|Then|Following that|Afterwards) (he|she)) "
    r"(?:moved|went|journeyed|travelled|went back) to the (\w+)\.$"
)
TAKE = re.compile(r"^(\w+) (?:got|took|picked up|grabbed) the (\w+) there\.$")
DROP = re.compile(r"^(\w+) (?:dropped|discarded|put down) the (\w+)\.$|^(\w+) left the (\w+) there\.$")
GIVE = re.compile(r"^(\w+) (?:gave|handed|passed) the (\w+) to (\w+)\.$")
IS_IN = re.compile(r"^(\w+) is in the (\w+)\.$")
NOT_IN = re.compile(r"^(\w+) is (?:no longer|not) in the (\w+)\.$")


def replay(story: tuple[str, ...]) -> dict:
    """The state of the world after the story: places, where not, held objects, and each object's past places."""
    place, not_in, carried, lying, trail = {}, {}, {}, {}, {}
    subject = None

    def visit(obj, where):
        if not trail.get(obj) or trail[obj][-1] != where:
            trail.setdefault(obj, []).append(where)

    for sentence in story:
        if match := MOVE.match(sentence):
            actor = match.group(1) or subject
            place[actor] = match.group(3)
            not_in.pop(actor, None)
            subject = actor
            for obj in carried.get(actor, []):
                visit(obj, place[actor])
        elif match := TAKE.match(sentence):
            actor, obj = match.groups()
            carried.setdefault(actor, []).append(obj)
            lying.pop(obj, None)
            visit(obj, place[actor])
        elif match := DROP.match(sentence):
            actor, obj = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            carried[actor].remove(obj)
            lying[obj] = place[actor]
        elif match := GIVE.match(sentence):
            giver, obj, taker = match.groups()
            carried[giver].remove(obj)
            carried.setdefault(taker, []).append(obj)
        elif match := IS_IN.match(sentence):
            place[match.group(1)] = match.group(2)
            not_in.pop(match.group(1), None)
        elif match := NOT_IN.match(sentence):
            place.pop(match.group(1), None)
            not_in[match.group(1)] = match.group(2)
        else:
            raise AssertionError(f"the replay does not understand {sentence!r}")
    return {"place": place, "not_in": not_in, "carried": carried, "lying": lying, "trail": trail}


def replayed_answer(example: babi.Example) -> str:
    world = replay(example.story)
    question = example.question
    if match := re.match(r"Where is (\w+)\?", question):
        return world["place"][match.group(1)]
    if match := re.match(r"Is (\w+) in the (\w+)\?", question):
        actor, where = match.groups()
        return "yes" if world["place"].get(actor) == where else "no"
    if match := re.match(r"Where is the (\w+)\?", question):
        obj = match.group(1)
        holders = [actor for actor, objects in world["carried"].items() if obj in objects]
        return world["place"][holders[0]] if holders else world["lying"][obj]
    if match := re.match(r"Where was the (\w+) before the (\w+)\?", question):
        trail = world["trail"][match.group(1)]
        assert trail[-1] == match.group(2)
        return trail[-2]
    if match := re.match(r"How many objects is (\w+) carrying\?", question):
        return ("none", "one", "two", "three")[len(world["carried"].get(match.group(1), []))]
    if match := re.match(r"What is (\w+) carrying\?", question):
        return ",".join(world["carried"].get(match.group(1), [])) or "nothing"
    raise AssertionError(f"the replay does not understand {question!r}")


@pytest.mark.parametrize("task", babi_world.TASKS)
def test_generated_answers_are_right_by_replay_and_supporting_facts_are_in_the_story(task):
    examples = babi_world.generate_examples(task, 150, seed=task)
    answers = set()
    for example in examples:
        assert replayed_answer(example) == example.answer, (example.story, example.question)
        assert example.supporting and all(0 <= i < len(example.story) for i in example.supporting)
        answers.add(example.answer)
    assert len(answers) >= 2  # not one answer for every question
    if task in (1, 11):
        # The supporting facts end with the last sentence about the person asked about.
        for example in examples:
            name = example.question.split()[-1].rstrip("?")
            pronoun = babi_world.ACTORS[name]
            mentions = [
                i
                for i, s in enumerate(example.story)
                if s.startswith(name + " ")
                or (task == 11 and f" {pronoun} " in s and example.story[i - 1].startswith(name))
            ]
            assert example.supporting[-1] == mentions[-1]


def test_real_babi_1k_files_parse(tmp_path):
    root = os.environ.get("GALLERY_DATA_DIR")
    if not root or not (Path(root) / "babi").is_dir():
        pytest.skip("GALLERY_DATA_DIR is not set or has no babi folder; real-data tests are skipped")
    folder = Path(root) / "babi" / "tasks_1-20_v1-2" / "en"
    assert babi.available_tasks(folder) == list(range(1, 21))
    for task in (1, 3, 8, 19):
        train, test = babi.read_task(folder, task)
        assert len(train) == 1000 and len(test) == 1000
        assert all(example.supporting for example in train)
    train, _ = babi.read_task(folder, 1)
    assert train[0].answer == "bathroom" and train[0].supporting == (0,)
    assert np.mean([len(e.story) for e in train]) < 10
