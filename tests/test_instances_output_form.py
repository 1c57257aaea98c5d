"""`jsonschemabench.instances.output_form`: declared properties first, in schema order.

Regression: objects reached through `{"type": "object", "$ref": ...}` and `patternProperties`
(JsonSchemaStore `dependabot-2.0`, `registries`) came out in hypothesis-jsonschema's sorted
key order, because `hypothesis_jsonschema.from_schema` had rewritten the shared (cached)
schema in place, sorting every `$ref`'d subschema's `properties`.
"""

from __future__ import annotations

import copy
import json

from jsonschemabench.instances import _branches, dumps, from_schema, output_form

ENTRY_KEYS = ["type", "url", "username", "password", "auth-key"]

# The shape of dependabot-2.0's `registries`, trimmed down.
SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "version": {"type": "integer"},
        "registries": {"type": "object", "$ref": "#/definitions/registry"},
    },
    "definitions": {
        "registry": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                ".*": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {k: {"type": "string"} for k in ENTRY_KEYS},
                    "required": ["type"],
                }
            },
        }
    },
}

INSTANCE = {
    "registries": {
        "b": {"password": "p", "auth-key": "k", "type": "git"},
        "a\u00e9\U0001d413": {"username": "u", "url": "x", "type": "npm-registry"},
        "": {"auth-key": "k", "type": "git", "url": "y"},
    },
    "version": 2,
}


def _entry_orders(text: str) -> list[list[str]]:
    return [list(entry) for entry in json.loads(text)["registries"].values()]


def _declared_first(keys: list[str], declared: list[str]) -> bool:
    return keys == [k for k in declared if k in keys] + [k for k in keys if k not in declared]


def test_pattern_property_entries_behind_a_ref_are_reordered():
    text = dumps(output_form(INSTANCE, SCHEMA))
    assert text.startswith('{"version":2,"registries":{')
    assert _entry_orders(text) == [["type", "password", "auth-key"], ["type", "url", "username"],
                                   ["type", "url", "auth-key"]]


def test_output_form_leaves_value_and_schema_alone():
    schema, value = copy.deepcopy(SCHEMA), copy.deepcopy(INSTANCE)
    output_form(value, schema)
    assert schema == SCHEMA and value == INSTANCE
    assert list(value["registries"]["b"]) == ["password", "auth-key", "type"]


def test_drawing_instances_does_not_rewrite_the_schema():
    """hypothesis-jsonschema resolves `$ref`s in place and sorts `properties`; `from_schema` copies first."""
    schema = copy.deepcopy(SCHEMA)
    from_schema(schema)
    assert schema == SCHEMA
    assert list(schema["definitions"]["registry"]["patternProperties"][".*"]["properties"]) == ENTRY_KEYS
    assert dumps(output_form(INSTANCE, schema)) == dumps(output_form(INSTANCE, SCHEMA))


def test_ref_siblings_count_as_the_engine_gathers_them():
    """The engine gathers a schema with `$ref` and its target, siblings included, in that order."""
    root = {
        "definitions": {"base": {"properties": {"b": {}, "a": {}}, "allOf": [{"properties": {"c": {}}}]}},
        "$ref": "#/definitions/base",
        "properties": {"z": {}},
    }
    assert [list(p.get("properties", {})) for p in _branches(root, root, {})] == [["z"], ["b", "a"], ["c"]]
    assert list(output_form({"c": 1, "a": 2, "x": 3, "b": 4, "z": 5}, root)) == ["z", "b", "a", "c", "x"]


def test_dependabot_registries_on_the_real_schema():
    from jsonschemabench import datasets

    # a fresh read: `load_dataset` is cached, and a caller may have handed its record to hypothesis-jsonschema
    record = next(r for r in datasets._load_dataset_records.__wrapped__("JsonSchemaStore") if r.id == "dependabot-2.0")
    schema = record.schema
    declared = list(schema["definitions"]["registry"]["patternProperties"][".*"]["properties"])
    assert declared[:3] == ["type", "url", "username"]
    value = {
        "version": 2,
        "updates": [{"package-ecosystem": "npm", "directory": "/", "schedule": {"interval": "daily"}}],
        "registries": {
            "npm-reg": {"token": "t", "auth-key": "k", "url": "https://x", "type": "npm-registry"},
            "\u00e1\U000d6de5": {"password": "p", "replaces-base": True, "repo": "r", "type": "composer-repository",
                                  "username": "u"},
        },
    }
    text = dumps(output_form(value, schema))
    orders = _entry_orders(text)
    assert orders[0] == ["type", "url", "token", "auth-key"]
    assert orders[1] == ["type", "username", "password", "replaces-base", "repo"]
    assert all(_declared_first(keys, declared) for keys in orders)
