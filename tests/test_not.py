"""`not` and `if`/`then`/`else` against the judge (`structgen.judge.validator_for`).

`not` removes the kinds its operand accepts wholly, the texts of listed
scalars, and otherwise the operand's values, complemented in check mode
over the canonical domain (see `structgen/schema/negation.py`). The output
form fixes member order and number spellings, so a complement taken on
texts alone would keep `{"a":1.0}` when the operand forbids `{"a":1}`: every
test here judges texts by their values, with alternative spellings and
reordered members among the texts tried.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsonschemabench.instances import dumps, output_form
from structgen.automata.dfa import build_dfa
from structgen.errors import SchemaTooLargeError, UnsatisfiableSchemaError, UnsupportedSchemaError
from structgen.judge import validator_for
from structgen.schema import compile_schema_ir
from test_schema_compiler import random_walk
from test_schema_soundness import assert_sound

SUITE = Path("/work/shared/data/json-schema-test-suite/tests")


def _dfa(schema, **kw):
    return build_dfa(compile_schema_ir(schema, **kw).node)


def _texts(value) -> set[str]:
    """Texts of `value`: compact, with every order of each object's members, and with each
    integer also spelled as a decimal and with an exponent (same value, other text)."""
    if isinstance(value, dict):
        out = set()
        for keys in itertools.islice(itertools.permutations(value), 6):
            for parts in itertools.islice(itertools.product(*(sorted(_texts(value[k]))[:3] for k in keys)), 6):
                out.add("{" + ",".join(f"{json.dumps(k)}:{p}" for k, p in zip(keys, parts)) + "}")
        return out
    if isinstance(value, list):
        return {"[" + ",".join(p) + "]"
                for p in itertools.islice(itertools.product(*(sorted(_texts(v))[:3] for v in value)), 6)}
    if isinstance(value, int) and not isinstance(value, bool):
        return {str(value), f"{value}.0", f"{value}e0"}
    return {dumps(value)}


def _assert_judged(schema, values, dfa=None):
    """No text of any value is accepted unless the value is valid."""
    dfa = dfa or _dfa(schema)
    judge = validator_for(schema)
    for value in values:
        for text in _texts(value):
            if dfa.matches(text.encode()):
                assert judge.is_valid(json.loads(text)), (schema, text)


# ------------------------------------------------------------------ the Test Suite


def _suite_cases():
    for draft in ("draft2020-12", "draft7"):
        for category in ("not", "if-then-else"):
            for case in json.loads((SUITE / draft / f"{category}.json").read_text()):
                if draft == "draft7" and isinstance(case["schema"], dict):  # judged as its folder's draft
                    case = {**case, "schema": {"$schema": "http://json-schema.org/draft-07/schema#", **case["schema"]}}
                yield pytest.param(case, id=f"{draft}-{category}-{case['description']}")


@pytest.mark.parametrize("case", list(_suite_cases()))
def test_suite_cases(case):
    """Every instance in the harness's output form: accepted exactly when valid. The one case
    that needs `unevaluatedProperties` is refused by name; schemas that admit nothing raise."""
    schema = case["schema"]
    if "unevaluatedProperties" in json.dumps(schema):
        with pytest.raises(UnsupportedSchemaError) as info:
            compile_schema_ir(schema)
        assert info.value.keyword == "unevaluatedProperties"
        return
    if not any(t["valid"] for t in case["tests"]):
        with pytest.raises(UnsatisfiableSchemaError):
            compile_schema_ir(schema)
        return
    dfa = _dfa(schema)
    judge = validator_for(schema)
    for test in case["tests"]:
        assert judge.is_valid(test["data"]) == test["valid"]
        text = dumps(output_form(test["data"], schema))
        assert dfa.matches(text.encode()) == test["valid"], (test["description"], text)
    _assert_judged(schema, [t["data"] for t in case["tests"]], dfa)


# ------------------------------------------------------------------ the output form


def test_a_complement_never_keeps_another_text_of_a_forbidden_value():
    """The operand forbids {"a": 1}: neither `1.0`, nor `1e0`, nor another member order, nor
    another member beside it gives a text of a value that escapes the `not`."""
    schema = {"not": {"properties": {"a": {"const": 1}}, "required": ["a"]}}
    dfa = _dfa(schema)
    for text in ['{"a":1}', '{"a":1.0}', '{"a":1e0}', '{"a":10e-1}', '{"b":2,"a":1}', '{"a":1,"b":2}',
                 '{"a":1,"a":1}', '5', '"x"', "[]"]:
        assert not dfa.matches(text.encode()), text
    assert dfa.matches(b'{"a":2}') and dfa.matches(b"{}")
    assert_sound(schema, ['{"a":2}', '{"a":2.5}', '{"a":[1]}', '{"a":{"a":1}}'])


def test_kinds_the_operand_does_not_constrain_keep_every_form():
    """Only the objects go through the complement; strings and numbers keep the output form."""
    schema = {"not": {"type": "object", "properties": {"foo": {"type": "string"}}}}
    dfa = _dfa(schema)
    for text in ['1', '1.0', '1e5', '"foo"', "[1,2]", "null", '{"foo":1}']:
        assert dfa.matches(text.encode()), text
    assert not dfa.matches(b'{"foo":"bar"}') and not dfa.matches(b"{}")


def test_required_and_properties_are_negated_in_the_output_form():
    """`not required` is `properties: false`, `not properties` a `not` one level down: the
    objects keep the declared member order and other names, with no canonical domain."""
    schema = {"type": "object", "properties": {"b": {}, "a": {}}, "not": {"required": ["a", "b"]}}
    dfa = _dfa(schema)
    assert dfa.matches(b'{"b":1,"c":2}') and dfa.matches(b'{"a":1.0}') and dfa.matches(b"{}")
    assert not dfa.matches(b'{"b":2,"a":1}') and not dfa.matches(b'{"a":1,"b":2}')
    schema = {"type": "object", "not": {"properties": {"k": {"const": "x"}, "n": {"minimum": 2}}}}
    dfa = _dfa(schema)
    assert dfa.matches(b'{"k":"y","z":[1]}') and dfa.matches(b'{"n":1.0}') and not dfa.matches(b'{"k":"x"}')
    assert not any("canonical" in note for note in compile_schema_ir(schema).notes)
    _assert_judged(schema, _universe(schema))


@pytest.mark.parametrize("draft", ["http://json-schema.org/draft-04/schema#",
                                   "https://json-schema.org/draft/2020-12/schema"])
def test_an_array_of_the_other_branch_keeps_its_items_negated(draft):
    """Composer's inline package has no `type`, so every array satisfies it, and an array of
    packages satisfies both branches: only arrays holding an item that is no package are valid.
    A rewrite of `not items` into a `contains` (which drafts 3 and 4 do not have, so their
    compilation ignored it) once accepted `[]` and arrays of packages here; refusing is sound."""
    package = {"required": ["name", "version"], "properties": {}, "additionalProperties": True}
    schema = {"$schema": draft, "definitions": {"p": package},
              "oneOf": [{"$ref": "#/definitions/p"}, {"type": "array", "items": {"$ref": "#/definitions/p"}}]}
    try:
        dfa = _dfa(schema)
    except (SchemaTooLargeError, UnsupportedSchemaError):
        return  # today: refused by name in both drafts (the complement is too large, or looks recursive)
    assert not dfa.matches(b"[]") and not dfa.matches(b'[{"name":1,"version":2}]')
    assert_sound(schema, ["[]", '[{"name":1}]', '{"name":1,"version":2}', '[{"name":1,"version":2}]'])


def test_a_complement_is_taken_over_the_kinds_it_is_for():
    """A `pattern` without `type` accepts every object; under a string it is complemented over
    strings only, so the objects that the names in reach would make never enter the automaton."""
    names = [f"p{i}" for i in range(6)]
    inner = {"type": "object", "properties": {n: {"type": "array"} for n in names}}
    schema = {"type": "string", "properties": {n: {"type": "object", "properties": {m: inner for m in names}}
                                               for n in names}, "not": {"pattern": "^a"}}
    dfa = _dfa(schema)  # before: SchemaTooLargeError, the complement of the operand needs too many states
    assert dfa.matches(b'"ba"') and not dfa.matches(b'"ab"')
    assert_sound(schema, ['"ab"', '"ba"', '""'])


def test_complemented_kinds_keep_to_the_canonical_domain():
    """An operand with no rewrite (a `patternProperties`) is complemented in check mode: the
    objects it writes list their members in sorted order, names from the schema only."""
    schema = {"type": "object", "properties": {"b": {}, "a": {}}, "not": {"patternProperties": {"^a": {"type": "integer"}}}}
    dfa = _dfa(schema)
    assert dfa.matches(b'{"a":"x"}') and dfa.matches(b'{"a":"x","b":1}')
    assert not dfa.matches(b'{"b":1,"a":"x"}')  # valid, but not in sorted order
    assert not dfa.matches(b'{"ab":"x"}')  # valid, but outside the domain
    assert not dfa.matches(b'{"a":1}') and not dfa.matches(b'{"a":1.0}') and not dfa.matches(b'{"b":"x"}')
    assert any("canonical" in note for note in compile_schema_ir(schema).notes)
    _assert_judged(schema, _universe(schema))


# ------------------------------------------------------------------ forms and positions

POSITIONS = [
    {"type": "object", "properties": {"a": {"type": "integer", "not": {"multipleOf": 3}},
                                      "b": {"not": {"type": "array", "maxItems": 1}}}},
    {"type": "array", "items": {"not": {"anyOf": [{"type": "string"}, {"minimum": 5}]}}, "maxItems": 3},
    {"anyOf": [{"not": {"const": [1]}}, {"type": "array", "items": {"type": "integer"}}]},
    {"oneOf": [{"not": {"const": 1}}, {"type": "integer"}]},
    {"oneOf": [{"type": "object", "not": {"required": ["a"]}}, {"properties": {"a": {"type": "integer"}}}]},
    {"not": {"not": {"type": "string", "minLength": 2}}},
    {"not": {"not": {"not": {"enum": [1, "a", None]}}}},
    {"type": "integer", "not": {"minimum": 3, "maximum": 6}},
    {"not": {"oneOf": [{"type": "integer"}, {"minimum": 2}]}},
    {"not": {"allOf": [{"type": "object"}, {"properties": {"k": {"enum": [1, 2]}}, "required": ["k"]}]}},
    {"$defs": {"small": {"maximum": 2}}, "not": {"$ref": "#/$defs/small"}},
    {"not": {"enum": [{"a": 1}, [1, 2], 3.5]}},
    {"type": "object", "properties": {"x": {"type": "integer"}}, "not": {"properties": {"x": {"minimum": 2}}},
     "additionalProperties": False},
    {"if": {"type": "string"}, "then": {"maxLength": 2}, "else": {"type": "integer", "not": {"const": 0}}},
    {"if": {"properties": {"k": {"const": "a"}}, "required": ["k"]}, "then": {"required": ["x"]},
     "else": {"properties": {"x": False}}, "type": "object", "properties": {"k": {"enum": ["a", "b"]}, "x": {}}},
    {"type": "object", "properties": {"p": {"if": {"minimum": 0}, "then": {"multipleOf": 2},
                                            "else": {"maximum": -5}}}},
    {"type": "array", "items": {"if": {"const": 1}, "then": False}, "maxItems": 2},
    {"anyOf": [{"if": {"type": "integer"}, "then": {"minimum": 1}, "else": False}, {"type": "string"}]},
    {"if": {"not": {"type": "integer"}}, "then": {"type": "string"}},
    {"if": {"maximum": 0}, "else": {"multipleOf": 2}},
    {"allOf": [{"if": {"minimum": 0}, "then": {"maximum": 3}}, {"if": {"maximum": 1}, "then": {"minimum": -1}}]},
]
UNIVERSE_SCALARS = [None, True, False, 0, 1, 2, 3, 4, 5, 6, 7, -1, -5, -6, 2.5, -0.5, "", "a", "ab", "abc"]


def _names(schema) -> list[str]:
    found: set[str] = set()

    def walk(s):
        if isinstance(s, dict):
            for key, value in s.items():
                if key in ("properties", "patternProperties") and isinstance(value, dict):
                    found.update(value)
                if key == "required":
                    found.update(value)
                walk(value)
        elif isinstance(s, list):
            for x in s:
                walk(x)

    walk(schema)
    return sorted(found)


def _in_domain(value, schema) -> bool:
    """Is `value` in the canonical domain: object names from the schema, numbers integers or
    short decimals (the values a complement may write)?"""
    names = set(_names(schema))

    def inside(v):
        if isinstance(v, dict):
            return v.keys() <= names and all(map(inside, v.values()))
        return all(map(inside, v)) if isinstance(v, list) else True

    return inside(value)


def _assert_complete(schema, values, dfa):
    """Every valid value of the domain has a text the automaton accepts (in some member order:
    the harness's output form does not look into `not` and `if`)."""
    judge = validator_for(schema)
    for value in values:
        if _in_domain(value, schema) and judge.is_valid(value):
            assert any(dfa.matches(t.encode()) for t in _texts(value)), (schema, value)


def _universe(schema) -> list:
    """Scalars, small arrays, and objects over the schema's names (and one other)."""
    names = _names(schema) + ["zz"]
    small = [None, 0, 1, 2, 3, 5, 7, -1, -6, 2.5, "a", "abc", [], [1]]
    objects = [{}]
    for k in range(1, min(len(names), 3) + 1):
        for keys in itertools.combinations(names, k):
            for values in itertools.islice(itertools.product(small, repeat=k), 40):
                objects.append(dict(zip(keys, values)))
    arrays = [[], [1], ["a"], [1, 2], [[1]], [1, "a", 7], [3, 4, 5, 6], [1, 1]]
    return UNIVERSE_SCALARS + arrays + objects


@pytest.mark.parametrize("index", range(len(POSITIONS)))
def test_not_and_if_in_every_position(index):
    """Over a universe of values: no text of an invalid value is accepted, and every valid
    value of the canonical domain is."""
    schema = POSITIONS[index]
    dfa = _dfa(schema)
    judge = validator_for(schema)
    values = _universe(schema)
    _assert_judged(schema, values, dfa)
    _assert_complete(schema, values, dfa)
    rng = random.Random(index)
    for _ in range(100):
        text = random_walk(dfa, rng)
        assert judge.is_valid(json.loads(text)), (schema, text)


def test_then_and_else_false():
    dfa = _dfa({"if": {"const": 1}, "then": False})
    assert not dfa.matches(b"1") and not dfa.matches(b"1.0") and dfa.matches(b"2") and dfa.matches(b'"x"')
    dfa = _dfa({"if": {"const": 1}, "else": False})
    assert dfa.matches(b"1") and not dfa.matches(b"2") and not dfa.matches(b'"x"')


def test_if_alone_and_if_before_draft_7_constrain_nothing():
    for schema in ({"if": {"const": 1}}, {"$schema": "http://json-schema.org/draft-06/schema#",
                                          "if": {"const": 1}, "then": False}):
        dfa = _dfa(schema)
        assert dfa.matches(b"1") and dfa.matches(b"2"), schema
        assert validator_for(schema).is_valid(1)


def test_not_everything_is_unsatisfiable():
    for schema in ({"not": {}}, {"not": True}, {"type": "string", "not": {"type": "string", "description": "x"}},
                   {"not": {"not": {"not": {}}}}, {"not": {"anyOf": [{"type": "integer"}, {}]}},
                   {"not": {"additionalProperties": True}}, {"not": {"additionalProperties": {}}}):
        with pytest.raises(UnsatisfiableSchemaError):
            compile_schema_ir(schema)


def test_not_with_an_open_additional_properties_fails_only_the_other_keywords():
    """A `not` whose `additionalProperties` is open (no `properties` beside it) crashed the compiler (fuzzer, seed 131)."""
    schema = {"type": "object", "not": {"additionalProperties": True, "minProperties": 1}}
    dfa, judge = _dfa(schema), validator_for(schema)
    for value in ({}, {"a": 1}, {"a": 1, "b": 2}):
        assert dfa.matches(dumps(output_form(value, schema)).encode()) == judge.is_valid(value), value
    assert judge.is_valid({}) and not judge.is_valid({"a": 1})


def test_cheap_forms_need_no_check_mode():
    """Kinds the operand decides wholly, and listed strings: no canonical-domain note."""
    for schema in ({"not": {"type": ["integer", "boolean"]}}, {"not": {"not": {"type": "string"}}},
                   {"not": {"oneOf": [{"type": "integer"}, {"type": "string"}]}},
                   {"not": {"enum": ["a", True, None]}}, {"type": "integer", "not": {"type": "string", "minLength": 2}}):
        result = compile_schema_ir(schema)
        assert not any("canonical" in note for note in result.notes), schema
        _assert_judged(schema, _universe(schema))


def test_a_format_under_an_even_number_of_nots_only_shrinks():
    """`format` compiles to a subset of what its checker accepts; the operand of each `not` is
    compiled in the opposite mode, so two negations give back a subset, never all strings."""
    schema = {"not": {"not": {"format": "email"}}}
    dfa = _dfa(schema)
    assert not dfa.matches(b'"abc"') and dfa.matches(b'"a@b.co"') and dfa.matches(b"1")
    with pytest.raises(UnsupportedSchemaError) as info:  # the complement of a subset is no sound bound
        compile_schema_ir({"type": "string", "not": {"format": "email"}})
    assert (info.value.keyword, info.value.pointer) == ("not", "/not")


def test_a_oneof_under_not_subtracts_in_the_opposite_mode():
    """A `oneOf` compiled as the operand of a `not`: each branch minus the others, where the
    others are compiled in the opposite mode to the branch (here: `format` kept)."""
    schema = {"type": "string", "not": {"oneOf": [{"format": "email"}, {"maxLength": 100}]}}
    dfa = _dfa(schema)  # valid: emails of at most 100 characters (both branches), long non-emails (none)
    judge = validator_for(schema)
    for text in ['"abc"', '"a@b.co"', '"' + "x" * 101 + '"']:
        if dfa.matches(text.encode()):
            assert judge.is_valid(json.loads(text)), text
    assert not dfa.matches(b'"abc"') and dfa.matches(b'"a@b.co"')


# ------------------------------------------------------------------ refusals


TREE = {"type": "object", "properties": {"c": {"$ref": "#/$defs/t"}}, "additionalProperties": {"type": "integer"}}


@pytest.mark.parametrize("schema,pointer", [
    ({"$defs": {"t": TREE}, "not": {"$ref": "#/$defs/t"}}, "/$defs/t"),  # the `not` of the target, in the end
    ({"$defs": {"t": TREE}, "not": TREE}, "/not"),
    ({"$defs": {"t": TREE}, "if": TREE, "then": {"required": ["c"]}}, "/if"),
    ({"$defs": {"t": {"type": "object", "properties": {"c": {"$ref": "#/$defs/t"}}}}, "not": {"$ref": "#/$defs/t"}},
     "/$defs/t"),  # rewritten down the properties until the operand meets itself
])
def test_recursive_operands_are_refused_by_name(schema, pointer):
    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema_ir(schema)
    assert (info.value.keyword, info.value.pointer) == ("not", pointer)
    assert "recursive" in info.value.reason


def test_lenient_mode_ignores_a_refused_not_and_leaves_no_rule_behind():
    result = compile_schema_ir({"$defs": {"t": TREE}, "not": TREE}, strict=False)
    assert result.ignored == [("not", "/not")] and result.rules == {}


@pytest.mark.parametrize("schema, pointer", [
    ({"type": "integer", "minimum": 0, "not": {"multipleOf": 7}}, "/not"),  # nothing else is left
    ({"type": "array", "not": {"items": {"type": "integer", "not": {"multipleOf": 7}}}}, "/not/items/not"),  # checked
])
def test_too_many_states_is_refused_with_keyword_and_pointer(monkeypatch, schema, pointer):
    """A complement past `MAX_NOT_STATES` is refused where it would be complemented again (inside
    another `not`: it may not shrink) or where leaving it out leaves nothing to write."""
    from structgen.schema import negation

    monkeypatch.setattr(negation, "MAX_NOT_STATES", 20)
    with pytest.raises(SchemaTooLargeError) as info:
        compile_schema_ir(schema)
    assert (info.value.keyword, info.value.pointer) == ("not", pointer)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"x": {"not": {"multipleOf": 7}, "minimum": 0}}, "additionalProperties": False},
    {"oneOf": [{"type": "integer", "minimum": 0, "not": {"multipleOf": 7}}, {"type": "integer", "maximum": 50}]},
])
def test_too_many_states_in_the_output_form_leaves_those_values_out(monkeypatch, schema):
    """The output form is never complemented: the values only a complement past `MAX_NOT_STATES`
    would give are left out, the notes say so, and what is written is valid (a subset)."""
    from structgen.schema import negation

    monkeypatch.setattr(negation, "MAX_NOT_STATES", 20)
    result = compile_schema_ir(schema)
    assert any(n.startswith("not at ") and "subset of the valid values" in n for n in result.notes), result.notes
    dfa = build_dfa(result.node)
    judge = validator_for(schema)
    values = [-7, -1, 0, 1, 7, 14, 49, 50, 51, 56, 57, "s", None, {"x": 3}, {"x": 7}, {"x": "s"}, {"x": -2}, {}]
    accepted = [v for v in values if dfa.matches(json.dumps(v, separators=(",", ":")).encode())]
    assert accepted and all(judge.is_valid(v) for v in accepted), accepted


def test_a_one_of_too_large_to_tell_apart_keeps_to_the_branches_that_overlap_no_other(monkeypatch):
    """Deciding overlap past `MAX_ONE_OF_CHECK_STATES` in the output form: only the branches that
    surely overlap no other are written (a subset of the valid values, noted)."""
    from structgen.schema import exclusive

    monkeypatch.setattr(exclusive, "MAX_ONE_OF_CHECK_STATES", 30)
    schema = {"oneOf": [{"type": "null"}, {"type": "string", "pattern": "^a"}, {"type": "string", "format": "date"}]}
    result = compile_schema_ir(schema)
    assert any(n.startswith("oneOf at /oneOf") and "subset of the valid values" in n for n in result.notes)
    dfa = build_dfa(result.node)
    judge = validator_for(schema)
    accepted = [v for v in [None, "a", "ab", "2024-01-01", "b", 1] if dfa.matches(json.dumps(v).encode())]
    assert accepted == [None] and judge.is_valid(None)


# ------------------------------------------------------------------ random schemas

_LEAVES = st.sampled_from([
    {"type": "integer"}, {"type": "string"}, {"type": "null"}, {"type": "array"}, {"type": "object"},
    {"const": 1}, {"enum": [2, "a", None]}, {"minimum": 3}, {"maximum": 0}, {"multipleOf": 2},
    {"maxLength": 1}, {"minLength": 2}, {"required": ["a"]}, {"properties": {"a": {"type": "integer"}}},
    {"properties": {"b": {"const": "a"}}, "required": ["b"]}, {"maxItems": 1}, {"items": {"type": "integer"}},
    {"maxProperties": 1}, True, False, {},
])


def _combine(children):
    return st.one_of(
        children.map(lambda s: {"not": s}),
        st.tuples(children, children).map(lambda p: {"if": p[0], "then": p[1]}),
        st.tuples(children, children).map(lambda p: {"if": p[0], "else": p[1]}),
        st.tuples(children, children, children).map(lambda p: {"if": p[0], "then": p[1], "else": p[2]}),
        st.tuples(children, children).map(lambda p: {"allOf": list(p)}),
        st.tuples(children, children).map(lambda p: {"anyOf": list(p)}),
        st.tuples(children, children).map(lambda p: {"oneOf": list(p)}),
        children.map(lambda s: {"type": "object", "properties": {"a": s}}),
        children.map(lambda s: {"type": "array", "items": s, "maxItems": 2}),
    )


SCHEMAS = st.recursive(_LEAVES, _combine, max_leaves=5)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(schema=SCHEMAS)
def test_random_not_and_if_schemas_against_the_judge(schema):
    """Random nestings of `not`, `if`, combinators and containers: compiled or refused by name;
    when compiled, no text of an invalid value is accepted, valid values of the canonical
    domain are, and random walks are valid."""
    try:
        dfa = _dfa(schema)
    except (UnsupportedSchemaError, UnsatisfiableSchemaError):
        return
    judge = validator_for(schema)
    values = _universe(schema)
    _assert_judged(schema, values, dfa)
    _assert_complete(schema, values, dfa)
    rng = random.Random(0)
    for _ in range(30):
        text = random_walk(dfa, rng)
        assert judge.is_valid(json.loads(text)), (schema, text)


def test_a_chain_of_ifs_on_one_discriminator_is_exact():
    """Ten `if`s on one required property: two conditions never hold at once, which the
    compiler sees before distributing (else 2**10 conjunctions)."""
    kinds = "abcdefghij"
    schema = {"type": "object", "required": ["kind"],
              "properties": {"kind": {"enum": list(kinds)}, "x": {"type": "integer"}, "y": {"type": "string"}},
              "allOf": [{"if": {"properties": {"kind": {"const": k}}}, "then": {"required": ["x" if i % 2 else "y"]}}
                        for i, k in enumerate(kinds)]}
    dfa = _dfa(schema)
    values = [{"kind": k, **extra} for k in kinds + "z" for extra in ({}, {"x": 1}, {"y": "s"}, {"x": 1, "y": "s"})]
    _assert_judged(schema, values, dfa)
    _assert_complete(schema, values, dfa)


@pytest.mark.parametrize("condition", [{}, {"type": "object", "required": ["kind"]}], ids=["optional", "required"])
def test_a_chain_of_ifs_on_an_optional_discriminator_is_exact(condition):
    """Fourteen `if`s on one property the object may lack (Minecraft's item modifiers, v2ray's
    outbounds): where it is absent every condition holds (or, where they require it, none),
    where it is present at most one. Failing a condition is the property present with another
    value (or absent, or no object, where the condition says so), which the compiler sees
    before distributing (else 2**14 conjunctions, past the budget)."""
    kinds = "abcdefghijklmn"
    schema = {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "string"}},
              "allOf": [{"if": {**condition, "properties": {"kind": {"const": k}}},
                         "then": {"required": ["x" if i % 2 else "y"]}} for i, k in enumerate(kinds)]}
    dfa = _dfa(schema)
    values = [{**kind, **extra} for kind in ({}, {"kind": "a"}, {"kind": "b"}, {"kind": "z"}, {"kind": 1})
              for extra in ({}, {"x": 1}, {"y": "s"}, {"x": 1, "y": "s"})]
    _assert_judged(schema, values, dfa)
    _assert_complete(schema, values, dfa)


def test_an_any_of_repeated_in_the_thens_of_a_chain_is_distributed_once():
    """Seven `if`s on an optional property whose `then`s say the same `anyOf` of three definitions
    (Minecraft's recipes): where the property is absent all of them apply, and the same `anyOf`
    seven times is that `anyOf` once (else 3**7 conjunctions, past the budget)."""
    kinds = "abcdefg"
    schema = {"type": "object", "$defs": {"x": {"required": ["x"]}, "y": {"required": ["y"]}, "z": {"required": ["z"]}},
              "properties": {"kind": {"enum": list(kinds + "z")}, "x": {"type": "boolean"}, "y": {"type": "boolean"},
                             "z": {"type": "boolean"}}, "additionalProperties": False,
              "allOf": [{"if": {"properties": {"kind": {"const": k}}},
                         "then": {"anyOf": [{"$ref": "#/$defs/x"}, {"$ref": "#/$defs/y"}, {"$ref": "#/$defs/z"}]}}
                        for k in kinds]}
    dfa = _dfa(schema)
    values = [{**kind, **extra} for kind in ({}, {"kind": "a"}, {"kind": "z"})
              for extra in ({}, {"x": True}, {"y": False}, {"x": True, "z": True}, {"x": 1})]
    _assert_judged(schema, values, dfa)
    _assert_complete(schema, values, dfa)


def test_too_many_if_and_not_branches_are_refused_by_name(monkeypatch):
    from structgen.schema import negation

    monkeypatch.setattr(negation, "MAX_NEGATION_BRANCHES", 3)
    schema = {"allOf": [{"if": {"minimum": 0}, "then": {"multipleOf": 2}}, {"if": {"maximum": 9}, "then": {"multipleOf": 3}}]}
    with pytest.raises(SchemaTooLargeError) as info:
        compile_schema_ir(schema)
    assert info.value.keyword in ("if", "not") and info.value.pointer.startswith("/allOf/")


DRAFT_7 = "http://json-schema.org/draft-07/schema#"


def test_keywords_beside_a_ref_in_draft_7_are_not_part_of_a_negated_schema():
    """Draft 7 ignores the keywords beside `$ref`: `not: {$ref: object, type: boolean}` fails exactly
    the objects. Read with its `type`, the operand looked like booleans only and every object was
    kept as failing it (fuzz seed 211: a `oneOf` negating such a property let a value satisfy two
    branches)."""
    schema = {"$schema": DRAFT_7, "definitions": {"d": {"type": "object"}},
              "not": {"$ref": "#/definitions/d", "type": "boolean"}}
    dfa = _dfa(schema)
    _assert_judged(schema, [{}, {"a": 1}, True, 1, "s", None, []], dfa)
    assert dfa.matches(b"true") and not dfa.matches(b"{}")
    found = {"$schema": DRAFT_7, "definitions": {"d": {"properties": {"w": {"type": "integer"}}}},
             "oneOf": [{}, {"properties": {"a": {"$ref": "#/definitions/d", "type": "boolean"}}}]}
    dfa = _dfa(found)
    _assert_judged(found, [{}, {"a": {}}, {"a": {"w": 1}}, {"a": {"w": "x"}}, {"a": True}, {"b": 1}], dfa)
    assert dfa.matches(b'{"a":{"w":"x"}}') and not dfa.matches(b'{"a":true}')
