"""`$ref` resolution: `$id` scopes, anchors, URNs, dialects, and a caller's registry, never the network.

The judge is `jsonschema` with the same registry. Resolution itself is
`referencing`'s; these tests check that the compiler reaches the schema the
spec names, gives it one canonical name (so recursion through embedded or
registry resources becomes grammar rules), and refuses what it cannot reach.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7, DRAFT202012

import structgen
from jsonschemabench.datasets import load_test_suite
from jsonschemabench.testsuite import instance_text
from structgen.compile import schema_automaton
from structgen.errors import InvalidSchemaError, UnsupportedSchemaError
from test_recursive_schemas import unrolled

SHARED = {
    "$id": "https://example.com/shared.json",
    "$defs": {
        "price": {"type": "integer", "minimum": 0, "maximum": 999},
        "tag": {"$anchor": "tag", "enum": ["a", "b"]},
        "node": {"type": "object", "properties": {"v": {"$ref": "#tag"},
                                                  "next": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/node"}]}},
                 "required": ["v", "next"], "additionalProperties": False},
    },
}
REGISTRY = Registry().with_resource(SHARED["$id"], DRAFT202012.create_resource(SHARED))


def _accepts(schema, text: str, registry=None) -> bool:
    """Whether the compiled language holds `text` (a recursive one unrolled 6 levels deep)."""
    dfa, result = schema_automaton(schema, registry=registry)
    return (dfa if dfa is not None else unrolled(result, depth=6)).matches(text.encode())


def _judge(schema, value, registry=None) -> bool:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, registry=registry if registry is not None else Registry()).is_valid(value)


EMBEDDED = [
    # an embedded resource, reached by its own URI relative to the root's
    ({"$id": "http://example.com/root.json", "$ref": "a.json",
      "$defs": {"A": {"$id": "http://example.com/a.json", "type": "integer", "maximum": 5}}},
     [3, 6, "x"]),
    # a relative reference resolves against the nearest enclosing $id, not the root's
    ({"$id": "http://example.com/a.json", "$defs": {"x": {"$id": "http://example.com/b/c.json", "not": {}}},
      "allOf": [{"$id": "http://example.com/b/d.json", "$ref": "c.json",
                 "$defs": {"x": {"$id": "http://example.com/b/c.json", "type": "string"}}}]},
     ["s", 1]),
    # a plain-name anchor, and a URN base with a pointer
    ({"$ref": "#it", "$defs": {"x": {"$anchor": "it", "type": "boolean"}}}, [True, 0]),
    ({"$id": "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "$ref": "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#/$defs/s",
      "$defs": {"s": {"type": "string", "maxLength": 2}}}, ["ab", "abc"]),
    # draft 7's anchors are "$id": "#name"
    ({"$schema": "http://json-schema.org/draft-07/schema#", "allOf": [{"$ref": "#foo"}],
      "definitions": {"A": {"$id": "#foo", "type": "integer"}}}, [1, "a"]),
    # a definition named like a value keyword ("enum") is a schema; its own references resolve
    ({"properties": {"a": {"$ref": "#/definitions/enum"}},
      "definitions": {"enum": {"type": "object", "properties": {"x": {"$ref": "#/definitions/leaf"}}},
                      "leaf": {"type": "integer"}}},
     [{"a": {"x": 1}}, {"a": {"x": "1"}}, {"a": 2}]),
    # a property named with "#", which no pointer parse may take for a URI's fragment
    ({"properties": {"##": {"$ref": "#/definitions/leaf"}, "#": {"$ref": "#/definitions/leaf"}},
      "definitions": {"leaf": {"type": "integer"}}},
     [{"##": 1, "#": 2}, {"##": "1"}, {"#": []}]),
]


@pytest.mark.parametrize("schema, values", EMBEDDED)
def test_references_inside_the_document_reach_what_the_spec_names(schema, values):
    for value in values:
        assert _accepts(schema, json.dumps(value, separators=(",", ":"))) == _judge(schema, value), value


def test_a_registry_resource_is_reachable_and_nothing_else():
    schema = {"type": "object", "properties": {"price": {"$ref": "https://example.com/shared.json#/$defs/price"},
                                               "tag": {"$ref": "https://example.com/shared.json#tag"}}}
    for value in [{"price": 5, "tag": "a"}, {"price": -1}, {"price": 5, "tag": "c"}, {"tag": "b"}]:
        text = json.dumps(value, separators=(",", ":"))
        assert _accepts(schema, text, REGISTRY) == _judge(schema, value, REGISTRY), value
    with pytest.raises(UnsupportedSchemaError) as e:
        schema_automaton(schema)
    assert e.value.keyword == "$ref" and e.value.pointer == "/properties/price/$ref"
    assert "registry" in str(e.value)


def test_recursion_through_a_registry_resource_becomes_a_grammar():
    schema = {"$ref": "https://example.com/shared.json#/$defs/node"}
    dfa, result = schema_automaton(schema, registry=REGISTRY)
    assert dfa is None and result.rules
    for value in [{"v": "a", "next": None}, {"v": "a", "next": {"v": "b", "next": None}},
                  {"v": "a", "next": {"v": "c", "next": None}}, {"v": "a"}]:
        text = json.dumps(value, separators=(",", ":"))
        assert _accepts(schema, text, REGISTRY) == _judge(schema, value, REGISTRY), value


def test_unreachable_references_are_named_errors_and_never_fetched():
    with pytest.raises(UnsupportedSchemaError) as e:
        schema_automaton({"$ref": "http://127.0.0.1:9/never.json"})
    assert e.value.pointer == "/$ref"
    with pytest.raises(InvalidSchemaError, match="points to nothing"):
        schema_automaton({"$ref": "#/$defs/missing"})
    with pytest.raises(InvalidSchemaError, match="points to nothing"):
        schema_automaton({"$ref": "#nowhere"})
    with pytest.raises(InvalidSchemaError, match="points to nothing"):
        schema_automaton({"$ref": "https://example.com/shared.json#/$defs/nope"}, registry=REGISTRY)


def test_the_compiler_caches_per_registry(byte_vocab):
    compiler = structgen.Compiler(byte_vocab)
    schema = {"$ref": "https://example.com/shared.json#/$defs/price"}
    first = compiler.json_schema(schema, registry=REGISTRY)
    assert compiler.json_schema(schema, registry=REGISTRY) is first
    other = Registry().with_resource(SHARED["$id"], DRAFT7.create_resource(
        {**SHARED, "$defs": {"price": {"type": "integer", "maximum": 1}}}))
    assert compiler.json_schema(schema, registry=other) is not first


# The JSON Schema Test Suite's reference categories, draft by draft (draft 7 ignores the keywords beside
# `$ref`): every case that compiles decides each instance as the suite does. Refused are only cases needing keywords structgen cannot enforce yet
# (unevaluatedProperties, a metaschema, which needs `format: regex` or `$dynamicRef`), named here.
REFUSED = {"remote ref, containing refs itself", "ref creates new scope when adjacent to keywords",
           "$ref to boolean schema false"}
SUITE = [c for draft in ("draft2020-12", "draft7") for c in load_test_suite(draft)
         if c.category in ("ref", "anchor") and c.description not in REFUSED]


@pytest.mark.parametrize("case", SUITE, ids=[f"{c.draft}:{c.description}" for c in SUITE])
def test_the_suites_reference_cases(case):
    for test in case.tests:
        assert _accepts(case.schema, instance_text(test.instance, case.schema)) == test.valid, test.description


DYNAMIC = [c for c in load_test_suite("draft2020-12") if c.category == "dynamicRef"]


def test_dynamic_references_resolve_where_the_schema_decides_them():
    """Every `$dynamicRef` case compiles and decides each instance as the suite does, or is refused by
    name (a target that depends on the evaluation path, `unevaluatedProperties`, a remote resource)."""
    from structgen.errors import StructgenError

    compiled = 0
    for case in DYNAMIC:
        try:
            schema_automaton(case.schema)
        except StructgenError as e:
            assert isinstance(e, (UnsupportedSchemaError, InvalidSchemaError)), (case.description, e)
            continue
        compiled += 1
        for test in case.tests:
            assert _accepts(case.schema, instance_text(test.instance, case.schema)) == test.valid, case.description
    assert compiled >= 12


def test_a_dynamic_reference_that_depends_on_the_path_is_refused_by_name():
    schema = {"$id": "https://example.com/root", "$defs": {
        "a": {"$id": "a", "$dynamicAnchor": "x", "type": "string"},
        "b": {"$id": "b", "$dynamicAnchor": "x", "type": "array", "items": {"$dynamicRef": "#x"}}},
        "anyOf": [{"$ref": "a"}, {"$ref": "b"}]}
    with pytest.raises(UnsupportedSchemaError) as e:
        schema_automaton(schema)
    assert e.value.keyword == "$dynamicRef" and e.value.pointer == "/$defs/b/items/$dynamicRef"
