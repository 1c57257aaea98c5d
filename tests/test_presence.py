"""Three ways a `oneOf` once past its budget is now made exclusive exactly, judged by `jsonschema`.

- branches that only say which names an object holds: a truth table (`structgen.schema.presence`);
- a branch whose names another, closed one forbids by its prefixes: that one as "no property"
  on it (`Summary.names_apart`, `exclusive._rewritten`), whose `not` is "some property";
- negations that multiply past their budget, with the conjunctions the summaries prove empty
  dropped as they are chosen (`exclusive._pruned_negations`).
"""

from __future__ import annotations

import itertools
import json
import random

import jsonschema
import pytest

import structgen
from structgen.errors import UnsatisfiableSchemaError
from structgen.schema import exclusive
from structgen.schema.presence import presence_one_of
from test_conditions import answered
from test_parting import _record
from test_schema_soundness import accepted, assert_sound
from tests.fuzzing.checks import walk
from tests.fuzzing.vocabularies import byte_vocabulary

NAMES = ["a", "b", "c", "d"]


def _objects(names: list[str]) -> list[str]:
    """Every object over `names` (values 1, in the order given), and values of the other kinds."""
    out = ['1', '"s"', 'null', '[]', 'true', '1.5']
    for n in range(len(names) + 1):
        for held in itertools.combinations(names, n):
            out.append(json.dumps({name: 1 for name in held}, separators=(",", ":")))
    return out


def _assert_exact(schema, texts):
    validator = jsonschema.validators.validator_for(schema)(schema)
    for text in texts:
        assert accepted(schema, text) == validator.is_valid(json.loads(text)), text


# TSON's "at most one of min, minimum, min frequency", twice in one object, which negating took
# past the negation budget: one `required` each, or none of them (the `not` of six branches).
_MINS = ["min", "minimum", "min frequency"]
AT_MOST_ONE = {"type": "object", "allOf": [{"oneOf": [
    *({"required": [n]} for n in names),
    {"not": {"oneOf": [*({"required": [n]} for n in names),
                       *({"required": list(p)} for p in itertools.combinations(names, 2))]}}]}
    for names in (_MINS, ["max", "maximum", "max frequency"])]}


def test_at_most_one_name_twice_is_a_truth_table():
    branches = AT_MOST_ONE["allOf"][0]["oneOf"]
    held = presence_one_of(branches)
    assert held is not None and len(held) == 4  # none of the three, or exactly one
    _assert_exact(AT_MOST_ONE, _objects(["max", "min", "minimum", "min frequency"]))


def _random_presence(rng: random.Random, level: int = 0):
    roll = rng.random()
    if level >= 2 or roll < 0.4:
        return {"required": rng.sample(NAMES, rng.randint(1, 2))}
    if roll < 0.55:
        return {"properties": {rng.choice(NAMES): False}}
    if roll < 0.7:
        return {"not": _random_presence(rng, level + 1)}
    keyword = rng.choice(["allOf", "anyOf", "oneOf"])
    return {keyword: [_random_presence(rng, level + 1) for _ in range(rng.randint(1, 3))]}


@pytest.mark.parametrize("seed", range(12))
def test_random_presence_branches_are_exact(seed):
    rng = random.Random(seed)
    schema = {"oneOf": [_random_presence(rng) for _ in range(rng.randint(2, 4))]}
    if rng.random() < 0.5:
        schema["type"] = "object"
    assert presence_one_of(schema["oneOf"]) is not None
    try:
        _assert_exact(schema, _objects(NAMES + ["e"]))
    except UnsatisfiableSchemaError:
        validator = jsonschema.validators.validator_for(schema)(schema)
        assert not any(validator.is_valid(json.loads(t)) for t in _objects(NAMES + ["e"]))


@pytest.mark.parametrize("branch", [{"required": ["a"], "type": "object"}, {"properties": {"a": {"type": "integer"}}},
                                    {"$ref": "#/$defs/x"}, {"required": ["a"], "minProperties": 2}])
def test_a_branch_that_says_more_than_which_names_is_not_a_truth_table(branch):
    assert presence_one_of([{"required": ["b"]}, branch]) is None


# Pyrseas' root: a database or a schema, each closed with names of their own prefixes; `{}` is both.
_DB = {"type": "object", "additionalProperties": False,
       "patternProperties": {"^schema ": {"type": "object"}, "^cast ": {"type": "string"}}}
_SCHEMA = {"type": "object", "additionalProperties": False,
           "patternProperties": {"^table ": {"type": "object"}, "^view ": {"type": "string"}}}
PREFIXED = {"$defs": {"db": _DB, "schema": _SCHEMA},
            "oneOf": [{"$ref": "#/$defs/db"}, {"$ref": "#/$defs/schema"}]}
_PREFIXED_TEXTS = ['{}', '{"schema x":{}}', '{"cast y":"s"}', '{"table t":{}}', '{"view v":"s"}', '{"schema x":1}',
                   '{"cast y":"s","table t":{}}', '{"other":1}', '{"schema x":{},"cast y":"s"}', '1', '{"scx":"s"}',
                   '{"schema x":"s"}']


def test_branches_apart_by_the_prefixes_of_their_names():
    _assert_exact(PREFIXED, _PREFIXED_TEXTS)
    assert_sound(PREFIXED, [], walks=200)


def _config_branch(i: int) -> dict:
    return {"type": "object", "properties": {**{f"{p}{i}": {"type": "integer"} for p in "nmk"},
                                             "p": {"type": "integer" if i == 0 else "string"}}}


# RoadRunner's pipeline config: at most one property, seven open branches; `{}` satisfies all, and
# so do most objects of one property: only {"p": <an integer>} satisfies exactly one.
AT_MOST_ONE_PROPERTY = {"type": "object", "maxProperties": 1, "oneOf": [_config_branch(i) for i in range(7)]}


def test_negations_pruned_by_the_summaries_stay_exact(monkeypatch):
    pruned = answered(monkeypatch, exclusive.ExclusiveMixin, "_pruned_negations")
    names = [f"{p}{i}" for p in "nmk" for i in range(7)] + ["p", "zz"]
    texts = ['{}', '1'] + [json.dumps({n: v}, separators=(",", ":")) for n in names for v in (1, "s", 1.5)]
    _assert_exact(AT_MOST_ONE_PROPERTY, texts)
    assert pruned and all(pruned)
    assert_sound(AT_MOST_ONE_PROPERTY, [], walks=200)


@pytest.mark.parametrize("dataset, schema_id", [
    ("JsonSchemaStore", "tson"),  # at most one of three names, twice in one object
    ("JsonSchemaStore", "pyrseas-0.8"),  # two closed branches apart by the prefixes of their names
    ("JsonSchemaStore", "3.0.schema"),  # seven open branches under maxProperties 1
])
def test_real_schemas_once_too_large_compile_and_walk_valid(dataset, schema_id):
    """Walks that finish are valid; TSON's objects are long, so few of its walks finish in 300 bytes."""
    schema = _record(dataset, schema_id)
    constraint = structgen.compile_json_schema(schema, byte_vocabulary())
    judge = jsonschema.validators.validator_for(schema)(schema)
    rng = random.Random(0)
    texts = []
    for _ in range(30):
        text, problems = walk(constraint, rng, max_tokens=300)
        assert not problems
        texts += [text] if text is not None else []
    assert texts and all(judge.is_valid(json.loads(t)) for t in texts), texts
    assert not [n for n in constraint.info.notes if "oneOf" in n and "subset" in n]
