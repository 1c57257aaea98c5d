"""Check mode's canonical domain made shallower where the first one's automata pass their budget.

A `oneOf` whose branches overlap and a `not` with no rewrite are decided on a canonical domain
(`structgen/schema/compiler.py`) whose free-form values nest `max_any_depth` levels below the
branches' own structure; those values' automata grow as the number of property names to the power
of the depth. Where they pass the budget, the check runs again on a domain whose values nest no
deeper than the structure: exact there too, with the narrower domain noted, rather than a
`SchemaTooLargeError`. The judge agrees on every text accepted and on random walks.
"""

from __future__ import annotations

import json

import pytest

from structgen.schema import compile_schema_ir
from test_schema_soundness import accepted, assert_sound


def _address(country, states=None):
    props = {"country": {"enum": country}, "zip": {"type": "string", "maxLength": 5}}
    if states is not None:
        props["state"] = {"enum": states}
    return {"properties": props}


# No branch requires anything, so {} and many other objects satisfy several; the last branch
# leaves `state` free, whose values over six names nest too deep for the first domain.
ADDRESS = {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
           "oneOf": [_address(["A"], ["a", "b"]), _address(["B"], ["b", "c"]), _address(["C"], ["c"]),
                     _address(["D"], ["d", "a"]), _address(["E", "F"])]}
# `properties` with `patternProperties` has no rewrite for `not`: only a complement decides it.
NEGATED = {"type": "object", "properties": {"a": {}, "b": {}, "c": {}, "d": {}, "e": {}},
           "not": {"properties": {"a": {"const": 1}}, "patternProperties": {"^b": {"type": "string"}}}}
TEXTS = ['{}', '{"country":"A"}', '{"country":"A","state":"a"}', '{"country":"A","state":"c"}',
         '{"country":"E"}', '{"country":"E","state":"a"}', '{"country":"E","state":{"city":1}}',
         '{"country":"C","state":"c","zip":"123"}', '{"city":"x","country":"D","state":"d"}',
         '{"a":1}', '{"a":2}', '{"b":"s"}', '{"b":1}', '{"a":1,"b":1}', '{"a":[1]}', '{"c":{"a":1}}', '1', '"s"']


@pytest.mark.parametrize("schema", [ADDRESS, NEGATED], ids=["oneOf", "not"])
def test_a_check_past_its_budget_is_decided_on_shallower_values(schema):
    notes = compile_schema_ir(schema).notes
    assert any("values nest at most 2 levels" in n for n in notes), notes
    assert_sound(schema, TEXTS)


def test_the_shallower_domain_keeps_the_values_it_holds():
    assert accepted(ADDRESS, '{"country":"E","state":"a"}') and accepted(ADDRESS, '{"country":"C","state":"c"}')
    assert not accepted(ADDRESS, '{}') and not accepted(ADDRESS, '{"country":"A","state":"c"}')
    assert accepted(NEGATED, '{"a":2}') and accepted(NEGATED, '{"b":1}')
    assert not accepted(NEGATED, '{"a":1}') and not accepted(NEGATED, '{"b":"s"}')


def test_a_check_within_budget_keeps_the_deeper_domain():
    small = {"oneOf": [{"type": "object", "properties": {"m": {"enum": ["x"]}}},
                       {"type": "object", "properties": {"m": {"enum": ["y"]}}}]}
    notes = compile_schema_ir({**small, "not": {"properties": {"a": {"const": 1}}, "patternProperties": {"^b": {}}}}
                              ).notes
    assert any("canonical values" in n for n in notes) and not any("values nest" in n for n in notes), notes


def _record(dataset: str, schema_id: str) -> dict:
    from jsonschemabench.datasets import load_dataset

    return next(r.schema for r in load_dataset(dataset) if r.id == schema_id)


@pytest.mark.parametrize("dataset, schema_id, subset", [
    ("Github_trivial", "o9817", False),  # a oneOf decided on shallower values
    ("Github_medium", "o12174", True),  # OpenAPI 1.2's data types, told apart by summaries (a complement left out)
    ("JsonSchemaStore", "minecraft-predicate", False),  # 17 ifs on one optional property
    ("Github_hard", "o76745", True),  # a complement over recursive references on the shallower domain: left out
])
def test_real_schemas_once_refused_for_size_compile_and_walk_valid(dataset, schema_id, subset):
    import random

    import jsonschema

    import structgen
    from tests.fuzzing.checks import walk
    from tests.fuzzing.vocabularies import byte_vocabulary

    schema = _record(dataset, schema_id)
    constraint = structgen.compile_json_schema(schema, byte_vocabulary())
    notes = constraint.info.notes
    assert any("subset of the valid values" in n for n in notes) == subset, notes
    judge = jsonschema.validators.validator_for(schema)(schema)
    rng = random.Random(0)
    for _ in range(20):
        text, problems = walk(constraint, rng, max_tokens=400)
        assert not problems
        if text is not None:
            assert judge.is_valid(json.loads(text)), text
