"""The per-keyword enforcement report: every constraining keyword, where it is, and how it is enforced."""

from __future__ import annotations

import json

from structgen import cli
from structgen.compile import schema_automaton
from structgen.schema.enforcement import CHECKED, EXACT, IGNORED, keyword_report

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "order", "x-vendor": {"minimum": 3},
    "type": "object",
    "properties": {"id": {"type": "integer", "minimum": 1, "description": "the id"},
                   "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "maxItems": 3},
                   "note": {"unevaluatedProperties": False}},
    "required": ["id"],
    "$defs": {"tag": {"type": "string", "pattern": "^[a-z]+$"}},
}


def test_every_constraining_keyword_once_with_its_pointer_and_nothing_else():
    report = keyword_report(SCHEMA)
    assert {(u.pointer, u.keyword) for u in report} == {
        ("", "type"), ("", "properties"), ("", "required"),
        ("/properties/id", "type"), ("/properties/id", "minimum"),
        ("/properties/tags", "type"), ("/properties/tags", "items"), ("/properties/tags", "maxItems"),
        ("/properties/tags/items", "$ref"), ("/properties/note", "unevaluatedProperties"),
        ("/$defs/tag", "type"), ("/$defs/tag", "pattern"),
    }
    assert len(report) == len({(u.pointer, u.keyword) for u in report})
    assert {u.enforced for u in report} == {EXACT}


def test_what_compiling_ignored_or_checks_is_reported_as_such():
    _, result = schema_automaton(SCHEMA, strict=False)
    report = keyword_report(SCHEMA, result.ignored, checked=[("maxItems", "/properties/tags")])
    how = {(u.pointer, u.keyword): u.enforced for u in report}
    assert how.pop(("/properties/note", "unevaluatedProperties")) == IGNORED
    assert how.pop(("/properties/tags", "maxItems")) == CHECKED
    assert set(how.values()) == {EXACT}


def test_structgen_check_prints_the_report(capsys):
    assert cli.main(["check", "--schema", json.dumps(SCHEMA), "--lenient"]) == 0
    out = json.loads(capsys.readouterr().out)
    listed = {(k["pointer"], k["keyword"]): k["enforced"] for k in out["keywords"]}
    assert listed[("/properties/note", "unevaluatedProperties")] == "ignored"
    assert listed[("/$defs/tag", "pattern")] == "exact"


def test_the_compile_info_holds_the_report_and_a_check_is_reported_as_checked(byte_vocab):
    from structgen.compile import compile_json_schema

    schema = {"type": "array", "items": {"enum": [1, 2, 3]}, "uniqueItems": True}
    info = compile_json_schema(schema, byte_vocab).info
    assert {(u.pointer, u.keyword): u.enforced for u in info.keywords} == {
        ("", "type"): EXACT, ("", "items"): EXACT, ("", "uniqueItems"): CHECKED, ("/items", "enum"): EXACT}
