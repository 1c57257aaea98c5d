"""Dependency keywords in the schema's own draft, and inside `oneOf` (found by the fuzzers, seed 12).

The judge is `structgen.judge.validator_for`: `dependencies` exists in drafts 3 to 7 only,
`dependentRequired`/`dependentSchemas` from 2019-09 on (the default draft). A keyword the judge
ignores must not constrain the output either: inside `oneOf` an extra constraint lets through
values that satisfy two branches."""

from __future__ import annotations

import json

import pytest

from structgen.errors import UnsatisfiableSchemaError
from structgen.judge import validator_for
from test_schema_soundness import accepted, assert_sound

DRAFT7 = "http://json-schema.org/draft-07/schema#"
TEXTS = ['{"a":1,"b":2}', '{"a":314171,"b":2}', '{"a":1}', '{}', '{"b":2}', '{"a":{"b":1}}']


@pytest.mark.parametrize("schema", [
    {"oneOf": [{}, {"dependentRequired": {"a": ["b"]}}]},
    {"oneOf": [{"oneOf": [{}, {"dependentRequired": {"a": ["b"]}}]}]},
    {"oneOf": [{}, {"dependentSchemas": {"a": {"required": ["b"]}}}]},
    {"$schema": DRAFT7, "oneOf": [{}, {"dependencies": {"a": ["b"]}}]},
])
def test_dependencies_inside_one_of_are_exact(schema):
    assert_sound(schema, TEXTS)
    assert accepted(schema, '{"a":1}')  # valid for the first branch only
    assert not accepted(schema, '{"a":1,"b":2}')  # valid for both


@pytest.mark.parametrize("keyword, draft, applies", [
    ("dependencies", DRAFT7, True), ("dependentRequired", DRAFT7, False),
    ("dependencies", None, False), ("dependentRequired", None, True)])
def test_a_dependency_keyword_applies_only_in_its_draft(keyword, draft, applies):
    schema = {keyword: {"a": ["b"]}, **({"$schema": draft} if draft else {})}
    assert validator_for(schema).is_valid(json.loads('{"a":1}')) == (not applies)  # the judge agrees
    assert accepted(schema, '{"a":1}') == (not applies)
    assert accepted(schema, '{"a":1,"b":2}')


def test_a_one_of_whose_branches_only_differ_by_a_foreign_keyword_admits_nothing():
    schema = {"oneOf": [{}, {"dependencies": {"a": ["b"]}}]}  # both branches are {} to the judge
    assert not validator_for(schema).is_valid({})
    with pytest.raises(UnsatisfiableSchemaError):
        accepted(schema, "{}")
