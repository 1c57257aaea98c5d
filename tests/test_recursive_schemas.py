"""Recursive JSON Schemas ($ref cycles) compile to grammar rules.

The judge is jsonschema; the language is checked by unrolling the rules to
a fixed depth (a regular sub-language, compiled with the DFA builder) —
independent of the pushdown constraint.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from structgen.automata import ir
from structgen.automata.dfa import build_dfa
from structgen.errors import UnsupportedSchemaError
from structgen.grammar.grammar import substitute
from structgen.schema import compile_schema_ir

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3},
            },
            "required": ["value"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}

LINKED_LIST = {
    "type": "object",
    "properties": {"head": {"type": "string", "maxLength": 3}, "tail": {"anyOf": [{"type": "null"}, {"$ref": "#"}]}},
    "required": ["head", "tail"],
    "additionalProperties": False,
}


def unrolled(result, depth: int):
    """The DFA of the values whose recursion is at most `depth` deep."""
    node = result.node
    for _ in range(depth):
        node = substitute(node, lambda r: result.rules[r.name])
    return build_dfa(substitute(node, lambda r: ir.NOTHING))


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def test_a_regular_schema_has_no_rules():
    assert compile_schema_ir({"type": "object", "properties": {"a": {"type": "string"}}}).rules == {}


@pytest.mark.parametrize(
    "schema, valid, invalid",
    [
        (
            TREE,
            [{"value": 1}, {"value": 2, "children": []}, {"value": 3, "children": [{"value": 4}, {"value": 5, "children": [{"value": 6}]}]}],
            [{}, {"value": "x"}, {"value": 1, "children": [{}]}, {"value": 1, "children": [{"value": 1}] * 4}, {"value": 1, "extra": 2}],
        ),
        (
            LINKED_LIST,
            [{"head": "a", "tail": None}, {"head": "ab", "tail": {"head": "c", "tail": {"head": "", "tail": None}}}],
            [{"head": "a"}, {"head": "abcd", "tail": None}, {"head": "a", "tail": {"head": 1, "tail": None}}],
        ),
    ],
    ids=["tree", "linked-list"],
)
def test_recursive_schema_compiles_to_rules_with_the_right_language(schema, valid, invalid):
    result = compile_schema_ir(schema)
    assert result.rules, "a $ref cycle through nested values must become a grammar rule"
    dfa = unrolled(result, depth=4)
    validator = jsonschema.Draft202012Validator(schema)
    for value in valid:
        assert validator.is_valid(value)
        assert dfa.matches(compact(value)), value
    for value in invalid:
        assert not validator.is_valid(value)
        assert not dfa.matches(compact(value)), value


def test_recursion_is_unbounded_in_the_rules():
    result = compile_schema_ir(LINKED_LIST)
    deep = None
    for i in range(6):
        deep = {"head": str(i), "tail": deep}
    assert not unrolled(result, depth=2).matches(compact(deep))
    assert unrolled(result, depth=7).matches(compact(deep))


def test_a_cycle_that_never_nests_is_refused_with_its_pointer():
    schema = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}}, "$ref": "#/$defs/a"}
    with pytest.raises(UnsupportedSchemaError) as e:
        compile_schema_ir(schema)
    assert e.value.keyword == "$ref"


def test_recursive_reference_with_sibling_constraints_is_refused():
    schema = {"type": "object", "properties": {"next": {"$ref": "#", "minProperties": 1}}}
    with pytest.raises(UnsupportedSchemaError) as e:
        compile_schema_ir(schema)
    assert e.value.pointer == "/properties/next"


def test_a_sibling_type_that_the_target_implies_is_accepted():
    schema = {
        "$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array", "items": {
            "anyOf": [{"$ref": "#/$defs/node"}], "type": "object"}}}, "additionalProperties": False}},
        "$ref": "#/$defs/node",
    }
    result = compile_schema_ir(schema)
    dfa = unrolled(result, depth=4)
    assert dfa.matches(compact({"kids": [{"kids": []}, {}]}))
    assert not dfa.matches(compact({"kids": [1]}))


def test_a_sibling_type_that_the_target_does_not_imply_is_refused():
    schema = {"$defs": {"node": {"properties": {"next": {"$ref": "#/$defs/node", "type": "object"}}}},
              "$ref": "#/$defs/node"}
    with pytest.raises(UnsupportedSchemaError):
        compile_schema_ir(schema)
