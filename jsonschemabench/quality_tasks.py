"""The quality score's three tasks (JSONSchemaBench after Tam et al. 2024): items, answer schemas, prompts.

Every item asks for one JSON object `{"reasoning": string, "answer": ...}`, reasoning first so that the
model reasons before it answers; the answer's schema is the task's constraint:

- `last-letter` (Last Letter Concatenation, Wei et al. 2022): concatenate the last letters of the words of a
  full name ("Amy Brown" -> "yn"). Names join a first and a last name drawn from lists of common US names, as
  Wei et al. drew theirs from census name lists. The answer is a string of as many lowercase letters as
  there are words (`pattern`).
- `shuffle-objects` (Tracking Shuffled Objects, BIG-bench): three people hold three objects and swap them in
  pairs three times, the BIG-bench layout; which object does one of them hold at the end? The answer is an
  `enum` of the objects named in the question.
- `gsm8k` (Cobbe et al. 2021): the test split, in order, shipped in `data/quality/`; the gold answer is the
  integer after `####`, and the answer is an `integer`.

Why generated with a seed: the two symbolic tasks are defined by their generator, not by a fixed file;
item i is drawn from its own generator (seeded with the task, the seed and i), so the first N items are
the same whatever the limit, and another seed gives a fresh test set. Items never repeat a few-shot
example's question.

Why few-shot: a 135M model does not follow a bare instruction to write JSON; three worked examples per
task (question, then the compact JSON answer with short step-by-step reasoning) show it the form, as the
paper's prompts do. The examples of the symbolic tasks are drawn by the same generators under a fixed
seed of their own, their reasoning written out from the item's solution; GSM8K's three are written here
(the test split's own problems are what is scored, and its train split is not shipped).
"""

from __future__ import annotations

import json
import lzma
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

DATA = Path(__file__).resolve().parent / "data" / "quality"
GSM8K_FILE = DATA / "gsm8k-test.jsonl.xz"

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Lisa",
    "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret", "Donald", "Ashley", "Steven",
    "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda",
    "Brian", "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Amy", "Ronald", "Dorothy", "Jason", "Rebecca",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
)
PLAYERS = ("Alice", "Bob", "Claire", "Dave", "Eve")
COLORS = ("red", "blue", "green", "yellow", "orange", "purple", "pink", "white", "black", "brown")
BOOKS = ("Frankenstein", "Moby Dick", "Ulysses", "The Odyssey", "Hamlet", "Catch-22", "Lolita", "The Pearl",
         "The Great Gatsby", "Emma")
# (what each holds, the sentence introducing them, how a swap is said, what "has the ..." is asked about)
SCENARIOS = (
    ("ball", "they are each holding a ball", "swap balls", lambda v: f"{v} ball", COLORS),
    ("present", "they are each holding a present of a different color", "swap their gifts",
     lambda v: f"{v} present", COLORS),
    ("book", "they are each reading a new book", "trade books", lambda v: v, BOOKS),
)
LAST_LETTER_WORDS = 2
SHUFFLE_PLAYERS = 3
SHUFFLE_SWAPS = 3
EXAMPLES_PER_TASK = 3
EXAMPLE_SEED = "few-shot examples"
GENERATED_ITEMS = 1000  # a generated task's size when no limit is given


@dataclass(frozen=True)
class QualityItem:
    """One question: its task, id (unique within the task), text, gold answer and answer schema."""

    task: str
    id: str
    question: str
    gold: Any  # str for the symbolic tasks, int for GSM8K
    answer_schema: dict
    reasoning: str | None = None  # the worked solution (few-shot examples only)

    @property
    def schema(self) -> dict:
        """The output's schema: reasoning first, then the task's answer; nothing else."""
        return {
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, "answer": self.answer_schema},
            "required": ["reasoning", "answer"],
            "additionalProperties": False,
        }


# --- last letter concatenation ---------------------------------------------------------------------


def last_letter_item(rng: random.Random, index: str) -> QualityItem:
    words = [rng.choice(FIRST_NAMES)] + [rng.choice(LAST_NAMES) for _ in range(LAST_LETTER_WORDS - 1)]
    name = " ".join(words)
    gold = "".join(word[-1] for word in words).lower()
    steps = " ".join(f'The last letter of "{word}" is "{word[-1].lower()}".' for word in words)
    return QualityItem(
        "last-letter", index,
        f'Take the last letters of the words in "{name}" and concatenate them.',
        gold, {"type": "string", "pattern": f"^[a-z]{{{len(words)}}}$"},
        f'{steps} Concatenating them gives "{gold}".',
    )


# --- tracking shuffled objects ---------------------------------------------------------------------


def shuffle_objects_item(rng: random.Random, index: str) -> QualityItem:
    kind, setting, swap, spell, values = rng.choice(SCENARIOS)
    players = PLAYERS[:SHUFFLE_PLAYERS]
    objects = [spell(v) for v in rng.sample(values, len(players))]
    holding = dict(zip(players, objects))
    intro = ", ".join(f"{p} has {_article(o)}" for p, o in holding.items())
    sentences, steps = [], [f"At the start: {_state(holding)}."]
    for number in range(SHUFFLE_SWAPS):
        a, b = rng.sample(players, 2)
        holding[a], holding[b] = holding[b], holding[a]
        sentences.append(f"{('First', 'Then', 'Finally')[min(number, 2)]}, {a} and {b} {swap}.")
        steps.append(f"After {a} and {b} swap: {_state(holding)}.")
    target = rng.choice(players)
    options = rng.sample(objects, len(objects))  # not in the starting order, which would hint at no swap
    question = (f"{', '.join(players[:-1])} and {players[-1]} are playing a game. At the start of the game, "
                f"{setting}: {intro}. As the game progresses, pairs of players trade their {kind}s. "
                f"{' '.join(sentences)} At the end of the game, which {kind} does {target} have? "
                f"Options: {', '.join(options)}.")
    steps.append(f"So at the end {target} has {holding[target]}.")
    return QualityItem("shuffle-objects", index, question, holding[target],
                       {"type": "string", "enum": options}, " ".join(steps))


def _article(thing: str) -> str:
    return thing if thing[0].isupper() else f"{'an' if thing[0] in 'aeiou' else 'a'} {thing}"


def _state(holding: dict[str, str]) -> str:
    return ", ".join(f"{p} has {o}" for p, o in holding.items())


# --- GSM8K -----------------------------------------------------------------------------------------

GSM8K_EXAMPLES = (
    ("A baker makes 24 muffins in the morning and 18 in the afternoon. She sells 30 of them. How many muffins "
     "are left?", "She makes 24 + 18 = 42 muffins. After selling 30, 42 - 30 = 12 are left.", 12),
    ("Tom buys 3 notebooks at $4 each and a pen for $2. He pays with a $20 bill. How much change does he get?",
     "The notebooks cost 3 * 4 = 12 dollars. With the pen he pays 12 + 2 = 14 dollars. His change is "
     "20 - 14 = 6 dollars.", 6),
    ("A garden has 5 rows of 8 tomato plants. Half of the plants have ripe tomatoes. How many plants have ripe "
     "tomatoes?", "The garden has 5 * 8 = 40 plants. Half of them is 40 / 2 = 20.", 20),
)
GSM8K_ANSWER = {"type": "integer"}


@cache
def gsm8k_items() -> tuple[QualityItem, ...]:
    """The GSM8K test split, in file order; ids are the 0-based line numbers.

    Raises
    ------
    ValueError
        A line whose answer does not end in `#### <integer>` (the shipped file has none).
    """
    items = []
    with lzma.open(GSM8K_FILE, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            row = json.loads(line)
            final = row["answer"].rsplit("####", 1)[-1].strip().replace(",", "")
            items.append(QualityItem("gsm8k", str(number), row["question"], int(final), GSM8K_ANSWER))
    return tuple(items)


# --- tasks --------------------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[random.Random, str], QualityItem]] = {
    "last-letter": last_letter_item,
    "shuffle-objects": shuffle_objects_item,
}
TASKS = ("last-letter", "shuffle-objects", "gsm8k")
INSTRUCTION = ("Answer the question. Reply with one JSON object that matches this JSON Schema: {schema}. Write "
               "your reasoning step by step in \"reasoning\", then the final answer in \"answer\".")


@cache
def examples(task: str) -> tuple[QualityItem, ...]:
    """The task's few-shot examples, each with its worked reasoning."""
    if task == "gsm8k":
        return tuple(QualityItem(task, f"example-{n}", q, a, GSM8K_ANSWER, r)
                     for n, (q, r, a) in enumerate(GSM8K_EXAMPLES))
    return tuple(GENERATORS[task](random.Random(f"{task}:{EXAMPLE_SEED}:{n}"), f"example-{n}")
                 for n in range(EXAMPLES_PER_TASK))


def generated_item(task: str, seed: int, index: int) -> QualityItem:
    """Item `index` of a generated task under `seed`: the same on every call, whatever else is drawn."""
    taken = {example.question for example in examples(task)}
    for attempt in range(100):
        item = GENERATORS[task](random.Random(f"{task}:{seed}:{index}:{attempt}"), str(index))
        if item.question not in taken:
            return item
    raise RuntimeError(f"{task}: item {index} keeps repeating a few-shot example")  # never with these lists


def load_items(task: str, limit: int | None, seed: int = 0) -> list[QualityItem]:
    """The first `limit` items of `task` (when None: GSM8K's 1,319, or `GENERATED_ITEMS` generated ones)."""
    if task == "gsm8k":
        items = gsm8k_items()
        return list(items if limit is None else items[:limit])
    return [generated_item(task, seed, index) for index in range(GENERATED_ITEMS if limit is None else limit)]


def answer_json(reasoning: str, answer: Any) -> str:
    """The compact output form every engine writes by default (and the few-shot examples show)."""
    return json.dumps({"reasoning": reasoning, "answer": answer}, ensure_ascii=False, separators=(",", ":"))


def messages(item: QualityItem) -> list[dict[str, str]]:
    """Chat messages: the instruction with the item's schema, the task's worked examples, the question."""
    schema = json.dumps(item.schema, ensure_ascii=False, separators=(",", ":"))
    chat = [{"role": "system", "content": INSTRUCTION.format(schema=schema)}]
    for example in examples(item.task):
        chat.append({"role": "user", "content": example.question})
        chat.append({"role": "assistant", "content": answer_json(example.reasoning, example.gold)})
    chat.append({"role": "user", "content": item.question})
    return chat
