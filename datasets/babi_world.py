"""A small world simulation that writes bAbI-style stories, offline, for tasks 1, 2, 3, 6, 7, 8, 9 and 11.

Four actors move between six locations and pick up, drop and hand over three objects. The simulation keeps the
true state of the world (where everyone is, who holds what, where each object has been) and the line numbers of
the statements that established each part of it, so every answer and every list of supporting facts is right by
construction. Stories are written in the bAbI v1.2 text format and read back with `datasets.babi.parse_babi`.

    from datasets.babi_world import generate_examples
    train = generate_examples(task=1, questions=1000, seed=0)

The same task and seed give the same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from datasets.babi import Example, parse_babi

TASKS = (1, 2, 3, 6, 7, 8, 9, 11)
ACTORS = {"Mary": "she", "Sandra": "she", "John": "he", "Daniel": "he"}
LOCATIONS = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
OBJECTS = ("apple", "football", "milk")
MOVE_VERBS = ("moved to", "went to", "journeyed to", "travelled to", "went back to")
TAKE_VERBS = ("got", "took", "picked up", "grabbed")
DROP_VERBS = ("dropped", "left", "discarded", "put down")
GIVE_VERBS = ("gave", "handed", "passed")
LINKS = ("After that", "Then", "Following that", "Afterwards")
COUNT_WORDS = ("none", "one", "two", "three")

# Statements between two questions (fewest, most), questions per story, and the odds of each kind of event.
_SHAPE = {
    1: ((2, 2), 5),
    2: ((3, 8), 5),
    3: ((6, 14), 4),
    6: ((2, 2), 5),
    7: ((2, 3), 5),
    8: ((2, 3), 5),
    9: ((2, 2), 5),
    11: ((2, 2), 5),
}
_EVENTS = {
    1: {"move": 1.0},
    2: {"move": 0.5, "take": 0.3, "drop": 0.15, "give": 0.05},
    3: {"move": 0.5, "take": 0.3, "drop": 0.1, "give": 0.1},
    6: {"move": 0.8, "take": 0.1, "drop": 0.1},
    7: {"move": 0.35, "take": 0.35, "drop": 0.2, "give": 0.1},
    8: {"move": 0.35, "take": 0.35, "drop": 0.2, "give": 0.1},
    9: {"move": 0.4, "is_in": 0.3, "not_in": 0.3},
    11: {"move": 1.0},
}


@dataclass
class Line:
    """A line of a story: a statement, or a question with its answer and supporting line numbers."""

    text: str
    answer: str | None = None
    supporting: tuple[int, ...] = ()


@dataclass
class _World:
    """The true state, with the line numbers of the statements each part of it rests on."""

    location: dict[str, str] = field(default_factory=dict)
    location_facts: dict[str, list[int]] = field(default_factory=dict)
    not_in: dict[str, tuple[str, int]] = field(default_factory=dict)  # task 9: "X is not in the L"
    holder: dict[str, str] = field(default_factory=dict)
    held_since: dict[str, int] = field(default_factory=dict)
    lying: dict[str, tuple[str, list[int]]] = field(default_factory=dict)  # object -> (place, facts)
    carried: dict[str, list[str]] = field(default_factory=dict)  # actor -> objects, in the order taken
    possession_facts: dict[str, list[int]] = field(default_factory=dict)
    history: dict[str, list[tuple[str, list[int]]]] = field(default_factory=dict)  # object -> places with facts
    last_subject: str | None = None
    last_subject_line: int = 0
    last_was_pronoun: bool = False

    def note_place(self, obj: str, place: str, facts: list[int]) -> None:
        visits = self.history.setdefault(obj, [])
        if not visits or visits[-1][0] != place:
            visits.append((place, sorted(set(facts))))


class _Story:
    def __init__(self, task: int, rng: random.Random):
        self.task, self.rng = task, rng
        self.world = _World()
        self.lines: list[Line] = []

    @property
    def next_id(self) -> int:
        return len(self.lines) + 1

    def say(self, text: str) -> int:
        self.lines.append(Line(text))
        return len(self.lines)

    # --- events: each returns False when it cannot happen now ------------------------------------------------

    def move(self) -> bool:
        world, rng = self.world, self.rng
        # A pronoun refers to the subject of the statement just before it, and only to a named one.
        coreference = (
            self.task == 11
            and world.last_subject is not None
            and not world.last_was_pronoun
            and world.last_subject_line == len(self.lines)
        )
        use_pronoun = coreference and rng.random() < 0.5
        actor = world.last_subject if use_pronoun else rng.choice(list(ACTORS))
        place = rng.choice([loc for loc in LOCATIONS if loc != world.location.get(actor)])
        verb = rng.choice(MOVE_VERBS)
        if use_pronoun:
            antecedent = world.last_subject_line
            line = self.say(f"{rng.choice(LINKS)} {ACTORS[actor]} {verb} the {place}.")
            world.location_facts[actor] = [antecedent, line]
        else:
            line = self.say(f"{actor} {verb} the {place}.")
            world.location_facts[actor] = [line]
        world.location[actor] = place
        world.not_in.pop(actor, None)
        world.last_subject, world.last_subject_line, world.last_was_pronoun = actor, line, use_pronoun
        for obj in world.carried.get(actor, []):
            world.note_place(obj, place, [world.held_since[obj], line])
        return True

    def is_in(self) -> bool:
        actor = self.rng.choice(list(ACTORS))
        place = self.rng.choice(LOCATIONS)
        line = self.say(f"{actor} is in the {place}.")
        self.world.location[actor], self.world.location_facts[actor] = place, [line]
        self.world.not_in.pop(actor, None)
        return True

    def not_in(self) -> bool:
        actor = self.rng.choice(list(ACTORS))
        place = self.rng.choice(LOCATIONS)
        phrase = self.rng.choice(("is no longer in", "is not in"))
        line = self.say(f"{actor} {phrase} the {place}.")
        # All that is known now is where the actor is not.
        self.world.location.pop(actor, None)
        self.world.not_in[actor] = (place, line)
        return True

    def take(self) -> bool:
        world = self.world
        options = [
            (actor, obj)
            for actor in ACTORS
            if actor in world.location
            for obj in OBJECTS
            if obj not in world.holder and (obj not in world.lying or world.lying[obj][0] == world.location[actor])
        ]
        if not options:
            return False
        actor, obj = self.rng.choice(options)
        place = world.location[actor]
        line = self.say(f"{actor} {self.rng.choice(TAKE_VERBS)} the {obj} there.")
        world.holder[obj], world.held_since[obj] = actor, line
        world.lying.pop(obj, None)
        world.carried.setdefault(actor, []).append(obj)
        world.possession_facts.setdefault(actor, []).append(line)
        world.note_place(obj, place, [*world.location_facts[actor], line])
        return True

    def drop(self) -> bool:
        world = self.world
        options = [(actor, obj) for actor, objects in world.carried.items() for obj in objects]
        if not options:
            return False
        actor, obj = self.rng.choice(options)
        verb = self.rng.choice(DROP_VERBS)
        line = self.say(f"{actor} {verb} the {obj}." if verb != "left" else f"{actor} left the {obj} there.")
        del world.holder[obj]
        world.carried[actor].remove(obj)
        world.lying[obj] = (world.location[actor], [*world.location_facts[actor], line])
        world.possession_facts.setdefault(actor, []).append(line)
        return True

    def give(self) -> bool:
        world = self.world
        options = [
            (giver, obj, taker)
            for giver, objects in world.carried.items()
            for obj in objects
            for taker in ACTORS
            if taker != giver and world.location.get(taker) == world.location[giver]
        ]
        if not options:
            return False
        giver, obj, taker = self.rng.choice(options)
        line = self.say(f"{giver} {self.rng.choice(GIVE_VERBS)} the {obj} to {taker}.")
        world.carried[giver].remove(obj)
        world.carried.setdefault(taker, []).append(obj)
        world.holder[obj], world.held_since[obj] = taker, line
        for actor in (giver, taker):
            world.possession_facts.setdefault(actor, []).append(line)
        return True

    def event(self) -> None:
        kinds = _EVENTS[self.task]
        kind = self.rng.choices(list(kinds), weights=list(kinds.values()))[0]
        if not getattr(self, kind)():
            self.move()

    # --- questions: None when nothing can be asked yet -------------------------------------------------------

    def question(self) -> Line | None:
        world, rng, task = self.world, self.rng, self.task
        placed = sorted(world.location)
        if task in (1, 11):
            if not placed:
                return None
            actor = rng.choice(placed)
            return Line(f"Where is {actor}?", world.location[actor], tuple(world.location_facts[actor]))
        if task in (6, 9):
            known = sorted(set(placed) | set(world.not_in))
            if not known:
                return None
            actor = rng.choice(known)
            if actor in world.not_in:
                place, line = world.not_in[actor]
                return Line(f"Is {actor} in the {place}?", "no", (line,))
            true_place = world.location[actor]
            place = true_place if rng.random() < 0.5 else rng.choice([p for p in LOCATIONS if p != true_place])
            answer = "yes" if place == true_place else "no"
            return Line(f"Is {actor} in the {place}?", answer, tuple(world.location_facts[actor]))
        if task == 2:
            objects = sorted(set(world.holder) | set(world.lying))
            if not objects:
                return None
            obj = rng.choice(objects)
            if obj in world.holder:
                actor = world.holder[obj]
                facts = [world.held_since[obj], *world.location_facts[actor]]
                return Line(f"Where is the {obj}?", world.location[actor], tuple(sorted(set(facts))))
            place, facts = world.lying[obj]
            return Line(f"Where is the {obj}?", place, tuple(sorted(set(facts))))
        if task == 3:
            objects = sorted(obj for obj, visits in world.history.items() if len(visits) >= 2)
            if not objects:
                return None
            obj = rng.choice(objects)
            (before, before_facts), (now, now_facts) = world.history[obj][-2:]
            facts = tuple(sorted(set(before_facts) | set(now_facts)))
            return Line(f"Where was the {obj} before the {now}?", before, facts)
        if task in (7, 8):
            actors = sorted(world.possession_facts)
            if not actors:
                return None
            actor = rng.choice(actors)
            objects = world.carried.get(actor, [])
            facts = tuple(world.possession_facts[actor])
            if task == 7:
                return Line(f"How many objects is {actor} carrying?", COUNT_WORDS[len(objects)], facts)
            return Line(f"What is {actor} carrying?", ",".join(objects) or "nothing", facts)
        raise ValueError(f"the world simulation writes tasks {', '.join(map(str, TASKS))}, not task {task}")


def generate_stories(task: int, questions: int, seed: int = 0) -> list[list[Line]]:
    """Stories with `questions` questions in all, each answer and supporting fact taken from the simulation."""
    if task not in TASKS:
        raise ValueError(f"the world simulation writes tasks {', '.join(map(str, TASKS))}, not task {task}")
    if questions < 1:
        raise ValueError(f"questions must be at least 1, got {questions}")
    rng = random.Random(f"babi-world/{task}/{seed}")
    (fewest, most), per_story = _SHAPE[task]
    stories: list[list[Line]] = []
    asked = 0
    while asked < questions:
        story = _Story(task, rng)
        for _ in range(min(per_story, questions - asked)):
            for _ in range(rng.randint(fewest, most)):
                story.event()
            line = story.question()
            while line is None:
                story.event()
                line = story.question()
            story.lines.append(line)
            asked += 1
        stories.append(story.lines)
    return stories


def to_babi_text(stories: list[list[Line]]) -> str:
    """bAbI v1.2 text: numbered lines per story; a question line carries a tab, the answer, a tab, the facts."""
    out = []
    for story in stories:
        for number, line in enumerate(story, start=1):
            if line.answer is None:
                out.append(f"{number} {line.text}")
            else:
                out.append(f"{number} {line.text} \t{line.answer}\t{' '.join(map(str, line.supporting))}")
    return "\n".join(out) + "\n"


def generate_text(task: int, questions: int, seed: int = 0) -> str:
    return to_babi_text(generate_stories(task, questions, seed))


def generate_examples(task: int, questions: int, seed: int = 0) -> list[Example]:
    """Generated stories read back through the bAbI reader, exactly as a real file would be."""
    return parse_babi(generate_text(task, questions, seed), source=f"<generated task {task}>", task=task)
