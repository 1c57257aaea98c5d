"""`oneOf` branches told apart without automata: a property one branch requires and the other
forbids or constrains to disjoint values (the shapes of WashingtonPost's distributor trait and
Snowplow's failure error), property counts that cannot agree, every alternative of an `anyOf`
apart (composer's repositories), and kinds that two branches accept wholly taken out first
(JSON Patch's operations, which say no `type`). The union is then exact, and the judge agrees
on every text."""

from __future__ import annotations

import re

import pytest

from structgen.schema import compile_schema_ir
from structgen.schema.summaries import pattern_prefix, pattern_strings
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
# Apart through `additionalProperties`: `k` is a string in one branch and a boolean in the other.
ADDITIONAL = {"oneOf": [
    {"type": "object", "required": ["k"], "properties": {"k": {"type": "string"}}},
    {"type": "object", "additionalProperties": {"type": "boolean"}},
]}
# Apart by counts: two required properties against at most one.
COUNTS = {"oneOf": [
    {"type": "object", "required": ["type", "url"]},
    {"type": "object", "additionalProperties": {"enum": [False]}, "maxProperties": 1},
]}
# Apart alternative by alternative: each alternative of the anyOf requires two properties.
ALTERNATIVES = {"oneOf": [
    {"type": "object", "anyOf": [{"required": ["type", "url"]}, {"required": ["type", "path"]}]},
    {"type": "object", "minProperties": 1, "maxProperties": 1},
]}
# No `type`: every value that is not an object satisfies all three branches, so the oneOf holds
# objects only, and among objects `op` tells the branches apart.
PATCH = {"oneOf": [
    {"required": ["op", "path", "value"], "properties": {"op": {"enum": ["add", "test"]}, "path": {"type": "string"}}},
    {"required": ["op", "path"], "properties": {"op": {"enum": ["remove"]}, "path": {"type": "string"}}},
    {"required": ["op", "from"], "properties": {"op": {"enum": ["move"]}, "from": {"type": "string"}}},
]}
# Apart by patterns that list their strings (JSend's statuses).
JSEND = {"oneOf": [
    {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "pattern": "^success$"}}},
    {"type": "object", "required": ["status"],
     "properties": {"status": {"type": "string", "pattern": "^(fail|error)$"}}},
]}
# Apart because one branch says `not` of the other (Avro's custom type names).
NEGATED = {"$defs": {"primitive": {"type": "string", "enum": ["int", "long"]}}, "oneOf": [
    {"$ref": "#/$defs/primitive"},
    {"type": "string", "pattern": "^[a-z]+$", "not": {"$ref": "#/$defs/primitive"}},
]}
# Apart because one branch's `not` lists the values the other allows (OpenAPI 1.2's data types:
# a model's `type` is any string but the primitive names).
EXCLUDED = {"oneOf": [
    {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "not": {"enum": ["array"]}}}},
    {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["array"]}}},
]}
# Apart because every listed value of one branch fails the other: one lacks a required name, one
# has a property value the other does not allow, one has too many properties.
LISTED = {"oneOf": [
    {"enum": [{"type": "void"}, {"type": "array"}, {"type": "void", "items": 1}]},
    {"type": "object", "required": ["type", "items"], "maxProperties": 2, "properties": {"type": {"const": "array"}}},
]}
# Apart by what their identifiers start with (Mason's package sources: `^pkg:npm/.+@.+`).
PREFIXES = {"oneOf": [
    {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "pattern": "^pkg:npm/.+@.+"}}},
    {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "pattern": "^pkg:cargo/.+"}}},
    {"type": "object", "required": ["id"], "properties": {"id": {"enum": ["pkg:gem/x@1", "other"]}}},
]}
# Apart because no listed type matches the other branch's pattern (CityJSON's extension objects).
EXTENSION = {"oneOf": [
    {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["Bridge", "Road"]}}},
    {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "pattern": "(\\+)([A-Z])\\w+"}}},
]}
# Apart by item counts, or by items where each array holds at least one.
ITEMS = {"oneOf": [
    {"type": "array", "maxItems": 0},
    {"type": "array", "minItems": 1, "items": {"type": "string"}},
    {"type": "array", "minItems": 1, "items": {"type": "integer"}},
    {"enum": [[True], ["a", 1]]},
]}
# Apart by patternProperties: the second forbids a name the first requires (no pattern matches
# `inherit`), or asks a string of a name the first asks an integer of.
PATTERNED = {"oneOf": [
    {"type": "object", "required": ["inherit"], "properties": {"inherit": {"const": True}},
     "additionalProperties": False},
    {"type": "object", "patternProperties": {"^[a-z]{2,3}$": {"type": "string"}}, "additionalProperties": False,
     "minProperties": 1},
    {"type": "object", "required": ["abc"], "patternProperties": {"^a": {"type": "integer"}}},
]}
# Strings satisfy both branches wholly; numbers and objects only the first.
SHARED_KIND = {"oneOf": [{"required": ["a"]}, {"type": "string"}]}
DISJOINT = {"forbidden": FORBIDDEN, "values": DISJOINT_VALUES, "nested": NESTED, "additional": ADDITIONAL,
            "counts": COUNTS, "alternatives": ALTERNATIVES, "patch": PATCH, "shared kind": SHARED_KIND, "jsend": JSEND,
            "negated": NEGATED, "excluded": EXCLUDED, "listed": LISTED, "prefixes": PREFIXES,
            "extension": EXTENSION, "items": ITEMS, "patterned": PATTERNED}
TEXTS = ["{}", '{"mode":"custom"}', '{"mode":"reference","reference_id":"r"}', '{"mode":"custom","reference_id":"r"}',
         '{"message":"m","location":["x"]}', '{"message":"m","location":null,"reason":null}', '{"a":{"k":1}}',
         '{"a":{"k":2}}', '{"k":"x"}', '{"k":true}', '{"k":"x","j":false}', '{"type":"t","url":"u"}', '{"x":false}',
         '{"type":"t","path":"p"}', '{"type":"t"}', '{"op":"add","path":"/a","value":1}', '{"op":"remove","path":"/a"}',
         '{"op":"move","from":"/a"}', '{"op":"move","from":"/a","path":"/b"}', '{"op":"remove"}', '"s"', "1", "null",
         "[]", '{"a":1}', '{"status":"success"}', '{"status":"fail"}', '{"status":"success\\n"}', '"int"', '"abc"',
         '{"type":"array"}', '{"type":"void"}', '{"type":"void","items":1}', '{"type":"array","items":[]}',
         '{"type":"array","items":[],"x":1}', '{"id":"pkg:npm/a@1"}', '{"id":"pkg:cargo/a@1"}', '{"id":"other"}',
         '{"id":"pkg:gem/x@1"}', '{"id":"pkg:npm/"}', '{"type":"Bridge"}', '{"type":"+Ext"}', '{"type":"Road+Xy"}',
         '["a"]', '[1]', '["a",1]', '[true]', '[1.5]',
         '{"inherit":true}', '{"en":"x"}', '{"en":"x","inherit":true}', '{"abc":1}', '{"abc":"x"}', '{"abc":1,"en":"x"}']


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


# Not disjoint: the listed value {"type": "void"} satisfies the second branch too.
LISTED_SHARED = {"oneOf": [
    {"enum": [{"type": "void"}]},
    {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "not": {"enum": ["array"]}}}},
]}


def exclusive_note(schema) -> bool:
    return any("made exclusive" in n for n in compile_schema_ir(schema).notes)


@pytest.mark.parametrize("schema", DISJOINT.values(), ids=DISJOINT.keys())
def test_disjoint_branches_need_no_automaton_check(schema):
    assert not exclusive_note(schema)
    assert_sound(schema, TEXTS)


def test_branches_are_kept_whole():
    assert accepted(FORBIDDEN, "{}") and accepted(FORBIDDEN, '{"mode":"reference","reference_id":"r"}')
    assert accepted(DISJOINT_VALUES, '{"message":"m","location":["x"]}')
    assert accepted(DISJOINT_VALUES, '{"message":"m","location":"x","reason":null}')
    assert accepted(NESTED, '{"a":{"k":1}}') and accepted(NESTED, '{"a":{"k":2}}')
    assert accepted(ADDITIONAL, '{"k":"x","j":"y"}') and accepted(ADDITIONAL, '{"k":true}')
    assert accepted(COUNTS, '{"type":"t","url":"u"}') and accepted(COUNTS, '{"x":false}')
    assert accepted(ALTERNATIVES, '{"type":"t","path":"p"}') and accepted(ALTERNATIVES, '{"x":1}')
    assert accepted(PATCH, '{"op":"remove","path":"/a"}') and accepted(PATCH, '{"op":"move","from":"/a","path":"/b"}')
    assert accepted(SHARED_KIND, '{"a":1}') and accepted(SHARED_KIND, "1") and accepted(SHARED_KIND, "[]")
    assert accepted(JSEND, '{"status":"success"}') and accepted(JSEND, '{"status":"error"}')
    assert accepted(NEGATED, '"int"') and accepted(NEGATED, '"abc"')
    assert accepted(EXCLUDED, '{"type":"array"}') and accepted(EXCLUDED, '{"type":"void"}')
    assert accepted(LISTED, '{"type":"void"}') and accepted(LISTED, '{"type":"array","items":[]}')
    assert accepted(PREFIXES, '{"id":"pkg:npm/a@1"}') and accepted(PREFIXES, '{"id":"pkg:cargo/a"}')
    assert accepted(PREFIXES, '{"id":"pkg:gem/x@1"}')
    assert accepted(EXTENSION, '{"type":"Road"}') and accepted(EXTENSION, '{"type":"a+Ext"}')
    assert accepted(ITEMS, "[]") and accepted(ITEMS, '["a","b"]') and accepted(ITEMS, "[1]")
    assert accepted(ITEMS, "[true]") and accepted(ITEMS, '["a",1]')
    assert accepted(PATTERNED, '{"inherit":true}') and accepted(PATTERNED, '{"en":"x","fr":"y"}')
    assert accepted(PATTERNED, '{"abc":1,"b":null}')


@pytest.mark.parametrize("text", ['"s"', "1", "null", "[]", "{}"])
def test_kinds_that_two_branches_accept_wholly_are_taken_out(text):
    assert not accepted(PATCH, text)  # every branch holds a value that is no object
    assert not accepted(SHARED_KIND, '"s"') and accepted(SHARED_KIND, "null")


def test_overlapping_branches_still_go_through_the_check():
    assert exclusive_note(OVERLAPPING)
    assert not accepted(OVERLAPPING, "{}")  # valid for both branches, so for neither under oneOf
    assert_sound(OVERLAPPING, ["{}", '{"mode":"custom"}', '{"mode":"reference"}'])
    assert exclusive_note(SHARED_VALUE)
    assert not accepted(SHARED_VALUE, '{"mode":"reference"}')
    assert accepted(SHARED_VALUE, '{"mode":"custom"}')
    assert_sound(SHARED_VALUE, ['{"mode":"reference"}', '{"mode":"custom"}', '{"mode":"custom","x":1}'])
    assert exclusive_note(LISTED_SHARED)
    assert not accepted(LISTED_SHARED, '{"type":"void"}') and accepted(LISTED_SHARED, '{"type":"model"}')
    assert_sound(LISTED_SHARED, ['{"type":"void"}', '{"type":"array"}', '{"type":"model"}'])


# Overlapping ({"id":"x"} satisfies both), and each branch lists the only names it allows: on the
# values of one branch, the other's `additionalProperties: false` fails exactly where one of the
# names it does not list is present, which negating rewrites without a complement.
CLOSED = {"type": "object", "oneOf": [
    {"properties": {"id": {"type": "string"}, "option": {"type": "string"}}, "additionalProperties": False,
     "required": ["id"]},
    {"properties": {"id": {"type": "string"}, "regex": {"type": "string"}}, "additionalProperties": False,
     "required": ["id"]},
]}


def test_closed_branches_are_made_exclusive_by_negation_in_the_output_form():
    notes = compile_schema_ir(CLOSED).notes
    assert any("by negating the others" in n for n in notes) and not any("canonical" in n for n in notes)
    assert accepted(CLOSED, '{"id":"x","option":"o"}') and accepted(CLOSED, '{"id":"x","regex":"r"}')
    assert not accepted(CLOSED, '{"id":"x"}') and not accepted(CLOSED, '{"id":"x","option":"o","regex":"r"}')
    assert_sound(CLOSED, ['{"id":"x"}', '{"id":"x","option":"o"}', '{"option":"o","id":"x"}', '{"regex":"r"}'])


@pytest.mark.parametrize("pattern, listed", [
    ("^success$", ["success"]), ("^(get|put)$", ["get", "put"]), ("^a|b$", None), ("^ab*$", None),
    ("^(a)(b)$", None), ("^(ab|c)d$", None), ("^$", None), ("a", None),
])
def test_a_pattern_lists_its_strings_only_when_nothing_else_matches(pattern, listed):
    found = pattern_strings(pattern)
    assert found == (None if listed is None else [v + end for v in listed for end in ("", "\n")])
    for text in (found or []) + ["x", "getput", "success\n\n", "a", "b", "ab", "xb"]:
        assert (re.search(pattern, text) is not None) <= (found is None or text in found)


@pytest.mark.parametrize("pattern, prefix", [
    ("^pkg:npm/.+@.+", "pkg:npm/"), ("^abc$", "abc"), ("^ab*", "a"), ("^ab?c", "a"), ("^ab{0,2}", "a"),
    ("^ab+", "ab"), (r"^a\.b", "a.b"), (r"^a\d", "a"), ("^a|b", None), ("^(ab)", None), ("ab", None),
    ("^{a}", None), ("^", None),
])
def test_a_pattern_anchored_at_its_start_gives_its_literal_prefix(pattern, prefix):
    assert pattern_prefix(pattern) == prefix
    for text in [prefix or "", "abc", "ab", "a", "a.b", "a1", "b", "pkg:npm/x@1", "{a}", ""]:
        if re.search(pattern, text) is not None:
            assert text.startswith(prefix or "")


# Privileges, Pyrseas-style: a name or an object holding one privilege. Every object branch holds
# {} (so no value with no privilege is valid); seen from one branch, each other branch's `type`
# always holds and its property never appears, so its negation is one disjunct (the branch's
# own name is present), not three: 8 branches stay far below the negation budget.
PRIVILEGES = {"oneOf": [{"type": "string", "enum": ["a", "b"]}] + [
    {"type": "object", "additionalProperties": False,
     "properties": {n: {"type": "object", "properties": {"g": {"type": "boolean"}}, "additionalProperties": False}}}
    for n in "abcdefgh"]}


def test_negations_are_taken_on_the_values_of_the_branch_they_restrict():
    notes = compile_schema_ir(PRIVILEGES).notes
    assert any("by negating the others" in n for n in notes) and not any("canonical" in n for n in notes)
    assert accepted(PRIVILEGES, '"a"') and accepted(PRIVILEGES, '{"c":{"g":true}}') and accepted(PRIVILEGES, '{"f":{}}')
    assert not accepted(PRIVILEGES, "{}") and not accepted(PRIVILEGES, '{"a":{},"b":{}}')
    assert_sound(PRIVILEGES, ["{}", '{"a":{}}', '{"a":{},"b":{}}', '"c"', '{"g":1}'])
