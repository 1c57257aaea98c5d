"""`oneOf` branches told apart without automata: a property one branch requires and the other
forbids or constrains to disjoint values (the shapes of WashingtonPost's distributor trait and
Snowplow's failure error). The union is then exact, and the judge agrees on every text."""

from __future__ import annotations

import pytest

from structgen.schema import compile_schema_ir
from test_schema_soundness import accepted, assert_sound

FORBIDDEN = {"oneOf": [
    {"type": "object", "additionalProperties": False,
     "properties": {"mode": {"enum": ["custom"]}, "name": {"type": "string"}}},
    {"type": "object", "additionalProperties": False, "required": ["mode", "reference_id"],
     "properties": {"mode": {"enum": ["reference"]}, "reference_id": {"type": "string"}}},
]}
DISJOINT_VALUES = {"oneOf": [
    {"type": "object", "required": ["message", "location"],
     "properties": {"message": {"type": "string"}, "location": {"type": "array", "items": {"type": "string"}}}},
    {"type": "object", "required": ["message", "location", "reason"],
     "properties": {"message": {"type": "string"}, "location": {"type": ["string", "null"]},
                    "reason": {"type": ["string", "null"]}}},
]}
NESTED = {"oneOf": [
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "object", "required": ["k"],
                                                             "properties": {"k": {"const": 1}}}}},
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "object", "required": ["k"],
                                                             "properties": {"k": {"const": 2}}}}},
]}
# Not disjoint: the second branch does not require `mode`, so {} satisfies both.
OVERLAPPING = {"oneOf": [
    {"type": "object", "properties": {"mode": {"enum": ["custom"]}}},
    {"type": "object", "properties": {"mode": {"enum": ["reference"]}}},
]}
# Not disjoint either: both require `mode`, and "reference" satisfies both.
SHARED_VALUE = {"oneOf": [
    {"type": "object", "required": ["mode"], "properties": {"mode": {"enum": ["custom", "reference"]}}},
    {"type": "object", "required": ["mode"], "properties": {"mode": {"enum": ["reference"]}},
     "additionalProperties": False},
]}


def exclusive_note(schema) -> bool:
    return any("made exclusive" in n for n in compile_schema_ir(schema).notes)


@pytest.mark.parametrize("schema", [FORBIDDEN, DISJOINT_VALUES, NESTED], ids=["forbidden", "values", "nested"])
def test_disjoint_branches_need_no_automaton_check(schema):
    assert not exclusive_note(schema)
    assert_sound(schema, ["{}", '{"mode":"custom"}', '{"mode":"reference","reference_id":"r"}',
                          '{"mode":"custom","reference_id":"r"}', '{"message":"m","location":["x"]}',
                          '{"message":"m","location":null,"reason":null}', '{"a":{"k":1}}', '{"a":{"k":2}}'])


def test_branches_are_kept_whole():
    assert accepted(FORBIDDEN, "{}") and accepted(FORBIDDEN, '{"mode":"reference","reference_id":"r"}')
    assert accepted(DISJOINT_VALUES, '{"message":"m","location":["x"]}')
    assert accepted(DISJOINT_VALUES, '{"message":"m","location":"x","reason":null}')
    assert accepted(NESTED, '{"a":{"k":1}}') and accepted(NESTED, '{"a":{"k":2}}')


def test_overlapping_branches_still_go_through_the_check():
    assert exclusive_note(OVERLAPPING)
    assert not accepted(OVERLAPPING, "{}")  # valid for both branches, so for neither under oneOf
    assert_sound(OVERLAPPING, ["{}", '{"mode":"custom"}', '{"mode":"reference"}'])
    assert exclusive_note(SHARED_VALUE)
    assert not accepted(SHARED_VALUE, '{"mode":"reference"}')
    assert accepted(SHARED_VALUE, '{"mode":"custom"}')
    assert_sound(SHARED_VALUE, ['{"mode":"reference"}', '{"mode":"custom"}', '{"mode":"custom","x":1}'])
