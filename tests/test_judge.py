"""The judge (`structgen.judge`), checked against the JSON Schema Test Suite's
own verdicts on regexes and against facts of ECMA-262 that Python's `re`
gets wrong."""

from __future__ import annotations

import jsonschema
import pytest

from jsonschemabench.datasets import load_test_suite
from structgen.errors import StructgenError
from structgen.judge import JudgeRegexError, ecma_fullmatch, ecma_regex, ecma_search, validator_for

REGEX_CATEGORIES = {"pattern", "patternProperties", "additionalProperties", "unevaluatedProperties",
                    "propertyNames", "optional/ecmascript-regex", "optional/non-bmp-regex",
                    "optional/format/regex", "optional/format/ecmascript-regex"}


def _regex_cases():
    for draft in ("draft2020-12", "draft7"):
        for case in load_test_suite(draft, include_optional=True):
            if case.category in REGEX_CATEGORIES:
                for test in case.tests:
                    yield pytest.param(case.schema, test.instance, test.valid,
                                       id=f"{draft}/{case.category}/{case.description}/{test.description}")


def test_the_suite_has_regex_cases():
    assert sum(1 for _ in _regex_cases()) > 400


@pytest.mark.parametrize("schema, instance, valid", list(_regex_cases()))
def test_agrees_with_the_test_suite(schema, instance, valid):
    assert validator_for(schema).is_valid(instance) is valid


@pytest.mark.parametrize(
    "pattern, text",
    [("^\\W$", "é"), ("^\\D$", "٣"), ("^\\s$", "\ufeff"), ("^\\p{L}$", "é"), ("^\\P{L}$", "3"),
     ("^.$", "😀"), ("^[^a]$", "😀"), ("^\\u{1F600}$", "😀"), ("^\\uD83D\\uDE00$", "😀"), ("a{", "a{"),
     ("^[\\w-.]+$", "a-b.c"), ("^\\s$", "\u2028")],
)
def test_ecma_262_matches(pattern, text):
    schema = {"type": "string", "pattern": pattern}
    assert validator_for(schema).is_valid(text)
    assert ecma_search(pattern, text)


@pytest.mark.parametrize(
    "pattern, text",
    [("^\\w$", "é"), ("^\\d$", "٣"), ("^\\S$", "\ufeff"), ("^.$", "\u2028"), ("^..$", "😀"), ("a$", "a\n")],
)
def test_ecma_262_rejects(pattern, text):
    assert not validator_for({"pattern": pattern}).is_valid(text)


def test_python_re_would_disagree():
    """The point of the judge: plain `jsonschema` (Python's `re`) says the opposite."""
    schema = {"type": "string", "pattern": "^\\W$"}
    assert not jsonschema.Draft202012Validator(schema).is_valid("é")
    assert validator_for(schema).is_valid("é")


@pytest.mark.parametrize(
    "schema, instance, valid",
    [
        ({"patternProperties": {"^\\w$": {"type": "integer"}}}, {"é": "x"}, True),
        ({"patternProperties": {"^\\W$": {"type": "integer"}}}, {"é": "x"}, False),
        ({"patternProperties": {"^\\w$": True}, "additionalProperties": False}, {"é": 1}, False),
        ({"patternProperties": {"^\\w$": True}, "additionalProperties": False}, {"a": 1}, True),
        ({"patternProperties": {"^\\p{L}$": True}, "additionalProperties": False}, {"é": 1}, True),
        ({"patternProperties": {"^\\w$": True}, "unevaluatedProperties": False}, {"é": 1}, False),
        ({"patternProperties": {"^\\w$": True}, "unevaluatedProperties": False}, {"a": 1}, True),
        ({"$schema": "https://json-schema.org/draft/2019-09/schema", "patternProperties": {"^\\w$": True},
          "unevaluatedProperties": False}, {"é": 1}, False),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "pattern": "^\\d$"}, "٣", False),
        ({"propertyNames": {"pattern": "^\\W+$"}}, {"éé": 1}, True),
    ],
)
def test_property_names_use_ecma_262(schema, instance, valid):
    assert validator_for(schema).is_valid(instance) is valid


def test_other_validators_keep_python_re():
    """The judge changes no one else's `jsonschema`: a plain validator still uses `re`."""
    schema = {"patternProperties": {"^\\w$": True}, "unevaluatedProperties": False}
    validator_for(schema).is_valid({"é": 1})
    assert jsonschema.Draft202012Validator(schema).is_valid({"é": 1})


def test_format_regex_is_ecma_262():
    judge = validator_for({"format": "regex"})
    assert judge.is_valid("\\p{Letter}+")
    assert not judge.is_valid("\\a")
    assert not judge.is_valid("(?P<name>x)")  # Python-only syntax


@pytest.mark.parametrize("pattern", ["(", "a{2,1}", "[b-a]", "(?<n>a)(?<n>b)", "\ud800"])
def test_bad_patterns_are_a_named_error(pattern):
    judge = validator_for({"pattern": pattern})
    with pytest.raises(JudgeRegexError) as info:
        judge.is_valid("x")
    assert isinstance(info.value, StructgenError)
    assert info.value.pattern == pattern and "\n" not in str(info.value)


def test_lone_surrogate_text_is_a_named_error():
    with pytest.raises(JudgeRegexError, match="lone surrogate"):
        validator_for({"pattern": "a"}).is_valid("\ud800a")
    with pytest.raises(JudgeRegexError, match="lone surrogate"):
        validator_for({"patternProperties": {"a": True}}).is_valid({"\udc00": 1})


def test_fullmatch_is_anchored_around_alternatives():
    assert ecma_fullmatch("a|b", "b")
    assert not ecma_fullmatch("a|b", "ab")
    assert ecma_search("a|b", "xbx")


@pytest.mark.parametrize("pattern, text", [("^\\W$", "é"), ("^\\D$", "٣"), ("^\\s$", "\ufeff"), ("^\\p{L}$", "é")])
def test_generate_reports_valid_where_the_engine_accepts(pattern, text):
    """S6 of issue 9: `generate`'s `valid` and the compiled constraint agree."""
    import json
    from types import SimpleNamespace

    from structgen import compile_json_schema
    from structgen.generation import _judge
    from structgen.vocab import Vocabulary

    schema = {"type": "string", "pattern": pattern}
    vocab = Vocabulary([bytes([b]) for b in range(256)] + [b""], eos_token_ids=[256])
    output = json.dumps(text, ensure_ascii=False)
    assert compile_json_schema(schema, vocab).accepts_text(output.encode())
    particle = SimpleNamespace(data=output.encode(), text=output, tokens=[], reason="", finished=True)
    result = _judge(compile_json_schema(schema, vocab), particle, schema)
    assert result.valid, result.reason


BLOW_UP = r"^((?:b*?|\D?|\S{2})?){2}$"  # regress asks for gigabytes on ten characters (found by the fuzzers)


def test_a_catastrophic_match_is_a_named_error_not_a_dead_process():
    with pytest.raises(JudgeRegexError, match="catastrophic backtracking"):
        validator_for({"type": "string", "pattern": BLOW_UP}).is_valid("x" * 10)
    # the judge goes on working after its child process died, also on the same pattern
    assert ecma_search(BLOW_UP, "") and ecma_search(BLOW_UP, "xx")


@pytest.mark.parametrize("pattern, texts", [
    (r"^([a-z0-9]+-)*[a-z0-9]+$", ["ab-cd", "ab-cd-", "-", "a"]),
    (r"(a|b)*c", ["abc", "ab", "ZZc"]),
    (r"^(\d{3}[.-]?)+$", ["123", "123-456.", "12"]),
    (r"((a)?)*b", ["b", "aab", ""]),
])
def test_patterns_that_may_backtrack_agree_with_in_process_matching(pattern, texts):
    from structgen.regex_sandbox import may_backtrack

    assert may_backtrack(pattern)
    for text in texts:
        assert ecma_search(pattern, text) == (ecma_regex(pattern).find(text) is not None)


@pytest.mark.parametrize("pattern", [r"^[a-z]+$", r"(ab)+", r"(a)?b", r"[(a+)]+", r"\(a+\)+", r"a{2,3}"])
def test_patterns_without_nested_repetition_stay_in_process(pattern):
    from structgen.regex_sandbox import may_backtrack

    assert not may_backtrack(pattern)


def test_generate_keeps_the_output_when_the_judge_cannot_decide(monkeypatch):
    from types import SimpleNamespace

    from structgen import generation

    def undecidable(schema):
        raise JudgeRegexError("p", "the ECMA-262 engine ran out of memory (catastrophic backtracking)")

    monkeypatch.setattr(generation, "validator_for", lambda schema: SimpleNamespace(iter_errors=undecidable))
    constraint = SimpleNamespace(accepts_text=lambda data: True, info=SimpleNamespace(ignored=(), notes=()))
    particle = SimpleNamespace(data=b'"x"', text='"x"', tokens=[1], reason="eos", finished=True)
    res = generation._judge(constraint, particle, {"type": "string", "pattern": "p"})
    assert not res.valid and res.text == '"x"' and "could not decide" in res.reason
