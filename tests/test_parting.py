"""A `oneOf` too large to make exclusive exactly is kept to a subset its summaries prove exclusive.

Where telling overlapping branches apart needs too large an automaton (or a complement of
recursive languages), `structgen.schema.parting` adds members to each branch, such as "holds
`kind`" or "lacks `b`", until the summaries part it from every branch it may overlap; a branch
that cannot be parted is left out. The tests shrink the budgets so that small schemas take
that road, and judge every text accepted and random walks; the real schemas take it at the
usual budgets.
"""

from __future__ import annotations

import json
import random

import jsonschema
import pytest

import structgen
from structgen.errors import SchemaTooLargeError
from structgen.schema import compile_schema_ir, exclusive
from test_schema_soundness import accepted, assert_sound
from tests.fuzzing.checks import walk
from tests.fuzzing.vocabularies import byte_vocabulary


@pytest.fixture
def small_budgets(monkeypatch):
    """Budgets so small that every overlapping `oneOf` below passes them."""
    monkeypatch.setattr(exclusive, "MAX_ONE_OF_CHECK_STATES", 40)
    monkeypatch.setattr(exclusive, "MAX_NEGATED_COMBINATIONS", 1)


def _control(kind: str, value: dict) -> dict:
    return {"type": "object", "additionalProperties": False,
            "properties": {"kind": {"enum": [kind]}, "id": {"type": "string"}, "value": value}}


# A discriminator no branch requires: {} and {"id": "x"} satisfy all three.
CONTROLS = {"oneOf": [_control("range", {"type": "number"}), _control("toggle", {"type": "boolean"}),
                      _control("text", {"type": "string"})]}
# One name required per branch: an object with two of them satisfies two branches.
ASSERTS = {"type": "object", "oneOf": [{"required": [n], "properties": {n: {"type": "integer"}}} for n in "abc"]}
# Two branches that no name parts (strings of 1-3 characters satisfy both), and one apart from both.
UNPARTED = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "string", "maxLength": 3},
                      {"type": "object", "properties": {"n": {"type": "integer"}}}]}
# Arrays of strings and arrays of integers: only the empty array satisfies both.
ARRAYS = {"type": "array", "oneOf": [{"items": {"type": "string"}}, {"items": {"type": "integer"}}]}
TEXTS = ['{}', '{"id":"x"}', '{"kind":"range"}', '{"kind":"range","value":1}', '{"kind":"range","value":true}',
         '{"kind":"toggle","value":true}', '{"kind":"text","id":"x","value":"s"}', '{"value":1}',
         '{"a":1}', '{"b":2}', '{"a":1,"b":2}', '{"a":1,"b":"x"}', '{"c":1,"d":1}', '{"a":"x"}',
         '""', '"ab"', '"abcd"', '{"n":1}', '1', 'null',
         '[]', '["a"]', '[1,2]', '["a",1]']


def _left_out(schema) -> list[str]:
    return [n for n in compile_schema_ir(schema).notes if "subset of the valid values" in n]


@pytest.mark.parametrize("schema", [CONTROLS, ASSERTS, UNPARTED, ARRAYS],
                         ids=["discriminator", "required", "unparted", "arrays"])
def test_a_one_of_past_its_budget_keeps_an_exclusive_subset(schema, small_budgets):
    assert len(_left_out(schema)) == 1, compile_schema_ir(schema).notes
    assert_sound(schema, TEXTS)


def test_each_branch_keeps_the_values_that_part_it_from_the_others(small_budgets):
    assert "hold 'kind'" in _left_out(CONTROLS)[0]
    assert accepted(CONTROLS, '{"kind":"range","value":1}') and accepted(CONTROLS, '{"kind":"text","id":"x"}')
    assert not accepted(CONTROLS, '{}') and not accepted(CONTROLS, '{"value":1}')  # valid, left out
    assert not accepted(CONTROLS, '{"kind":"range","value":true}')  # invalid
    assert accepted(ASSERTS, '{"a":1}') and accepted(ASSERTS, '{"c":-4}')
    assert not accepted(ASSERTS, '{"a":1,"b":"x"}')  # valid (it fails b's branch), left out
    assert not accepted(ASSERTS, '{"a":1,"b":2}') and not accepted(ASSERTS, '{"d":1}')  # invalid
    assert accepted(UNPARTED, '{"n":1}') and not accepted(UNPARTED, '"abcd"')
    assert "hold an item" in _left_out(ARRAYS)[0]
    assert accepted(ARRAYS, '["a"]') and accepted(ARRAYS, "[1,2]") and not accepted(ARRAYS, "[]")


def test_the_budgets_as_they_are_decide_these_exactly():
    for schema in (CONTROLS, ASSERTS, UNPARTED, ARRAYS):
        assert not _left_out(schema)
    assert accepted(CONTROLS, '{}') is False and accepted(CONTROLS, '{"value":1}')
    assert accepted(ASSERTS, '{"a":1,"b":"x"}') and accepted(UNPARTED, '"abcd"')


def test_nothing_left_is_still_refused(small_budgets):
    schema = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "string", "maxLength": 3}]}
    with pytest.raises(SchemaTooLargeError) as info:
        compile_schema_ir(schema)
    assert (info.value.keyword, info.value.pointer) == ("oneOf", "/oneOf")


def test_inside_a_check_the_one_of_may_not_shrink(small_budgets):
    """A `not` complements its operand: a subset of the operand would let values through."""
    schema = {"type": "object", "not": {"patternProperties": {"^z": {}}, **CONTROLS}}
    with pytest.raises(SchemaTooLargeError):
        compile_schema_ir(schema)


# A tree of nodes whose kind no branch requires: the branches hold recursive references, so
# only negations without complement (or this subset) can make them exclusive.
TREE = {"$defs": {"node": {"oneOf": [
    {"type": "object", "additionalProperties": False,
     "properties": {"kind": {"const": "leaf"}, "value": {"type": "integer"}}},
    {"type": "object", "additionalProperties": False,
     "properties": {"kind": {"const": "pair"}, "items": {"type": "array", "maxItems": 2,
                                                         "items": {"$ref": "#/$defs/node"}}}}]}},
    "$ref": "#/$defs/node"}


def _assert_walks_valid(schema, walks: int = 100):
    constraint = structgen.compile_json_schema(schema, byte_vocabulary())
    judge = jsonschema.validators.validator_for(schema)(schema)
    rng = random.Random(0)
    finished = 0
    for _ in range(walks):
        text, problems = walk(constraint, rng, max_tokens=300)
        assert not problems
        if text is not None:
            finished += 1
            assert judge.is_valid(json.loads(text)), text
    assert finished >= walks // 4
    return constraint


def test_recursive_branches_keep_an_exclusive_subset(small_budgets):
    constraint = _assert_walks_valid(TREE)
    assert any("hold 'kind'" in n for n in constraint.info.notes), constraint.info.notes


def _record(dataset: str, schema_id: str) -> dict:
    from jsonschemabench.datasets import load_dataset

    return next(r.schema for r in load_dataset(dataset) if r.id == schema_id)


@pytest.mark.parametrize("dataset, schema_id", [
    ("Github_ultra", "o65417"),  # a discriminator no branch requires
    ("JsonSchemaStore", "helm-testsuite"),  # one name required per branch, 26 branches
    ("Github_medium", "o79474"),  # recursive branches
    ("Github_hard", "o36016"),  # recursive branches whose negations pass their budget
])
def test_real_schemas_once_refused_compile_to_a_noted_subset_and_walk_valid(dataset, schema_id):
    schema = _record(dataset, schema_id)
    constraint = _assert_walks_valid(schema, walks=30)
    assert any("oneOf at" in n and "subset of the valid values" in n for n in constraint.info.notes)
