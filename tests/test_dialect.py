"""Each draft's keywords, judged by that draft's validator (`structgen.judge.validator_for`).

A keyword the declared draft lacks is ignored by the judge; enforced inside
`not` or `oneOf` it would turn the narrowing over (`structgen/schema/dialect.py`).
Every case compares the compiled automaton with the judge on every value listed.
"""

from __future__ import annotations

import json

import pytest

from structgen.automata.dfa import build_dfa
from structgen.errors import InvalidSchemaError, UnsatisfiableSchemaError, UnsupportedSchemaError
from structgen.judge import validator_for
from structgen.schema import compile_schema_ir

DRAFT3 = "http://json-schema.org/draft-03/schema#"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT7 = "http://json-schema.org/draft-07/schema#"
VALUES = [None, True, 0, 1, 5, 6, 7.5, -1, "a", "", [], [1], [1, 2], ["a", 1], {}, {"a": 1}, {"b": 1}, {"a": 1, "b": 2}]


def _agree(schema, values=VALUES):
    """The automaton accepts the compact text of exactly the values the judge accepts."""
    dfa = build_dfa(compile_schema_ir(schema).node)
    judge = validator_for(schema)
    for value in values:
        text = json.dumps(value, separators=(",", ":")).encode()
        assert dfa.matches(text) == judge.is_valid(value), (schema, value)


@pytest.mark.parametrize("schema", [
    {"$schema": DRAFT4, "not": {"const": 0}},
    {"$schema": DRAFT4, "oneOf": [{"const": 0}, {}]},
    {"$schema": DRAFT4, "not": {"propertyNames": {"maxLength": 0}}},
    {"$schema": DRAFT4, "not": {"contains": {"type": "integer"}}},
    {"$schema": DRAFT4, "not": {"if": {"type": "integer"}, "then": False}},
    {"$schema": DRAFT4, "not": {"exclusiveMinimum": 5}},  # draft 4: a modifier of `minimum`, nothing alone
    {"$schema": DRAFT4, "not": {"$ref": "#/components/x"}, "components": {"x": {"const": 1}}},
])
def test_a_keyword_the_draft_lacks_does_not_narrow_a_negation(schema):
    assert not any(validator_for(schema).is_valid(v) for v in VALUES)  # the operand holds every value
    with pytest.raises(UnsatisfiableSchemaError):
        compile_schema_ir(schema)


@pytest.mark.parametrize("schema", [
    {"$schema": DRAFT4, "oneOf": [{"type": "integer", "const": 0}, {"type": "string"}]},
    {"$schema": DRAFT4, "not": {"minimum": 5, "exclusiveMinimum": 1}},  # any true value makes 5 exclusive
    {"$schema": DRAFT4, "type": "number", "not": {"maximum": 5, "exclusiveMaximum": 0}},
    {"$schema": DRAFT7, "type": "array", "not": {"contains": {}, "minContains": 2}},  # 2019-09's count
    {"$schema": DRAFT7, "type": "object", "unevaluatedProperties": False},  # 2019-09's keyword
    {"$schema": DRAFT7, "oneOf": [{"dependentRequired": {"a": ["b"]}}, {"type": "string"}]},
    {"$schema": DRAFT3, "type": "object", "properties": {"a": {"required": True}, "b": {"required": False}}},
    {"$schema": DRAFT3, "type": "object", "required": ["a"]},  # draft 3 has no list form
    {"type": "array", "prefixItems": [{"type": "integer"}], "additionalItems": False},  # 2020-12 has none
    {"type": "array", "items": [{"type": "integer"}], "additionalItems": False},  # 2019-09's reading
])
def test_each_draft_is_read_as_its_judge_reads_it(schema):
    if isinstance(schema.get("items"), list):  # 2020-12's judge fails on an `items` list: judge it as 2019-09
        dfa = build_dfa(compile_schema_ir(schema).node)
        judge = validator_for(dict(schema, **{"$schema": "https://json-schema.org/draft/2019-09/schema"}))
        assert all(dfa.matches(json.dumps(v, separators=(",", ":")).encode()) == judge.is_valid(v) for v in VALUES)
    else:
        _agree(schema)


def test_the_keywords_ignored_are_in_the_notes():
    notes = compile_schema_ir({"$schema": DRAFT4, "properties": {"a": {"const": 1}}, "contains": {}}).notes
    assert any("draft 4" in n and "const at /properties/a" in n and "contains at /" in n for n in notes), notes


def test_a_boolean_exclusive_bound_outside_draft_4_is_refused_with_its_pointer():
    with pytest.raises(InvalidSchemaError, match="/properties/x/exclusiveMinimum"):
        compile_schema_ir({"properties": {"x": {"minimum": 0, "exclusiveMinimum": True}}})


def test_a_format_only_draft_3_defines_is_an_annotation_in_the_other_drafts():
    schema = {"type": "string", "format": "utc-millisec"}
    notes = compile_schema_ir(dict(schema, **{"$schema": DRAFT4})).notes
    assert any("utc-millisec" in n and "annotation" in n for n in notes), notes
    with pytest.raises(UnsupportedSchemaError, match="utc-millisec"):
        compile_schema_ir(dict(schema, **{"$schema": DRAFT3}))
