"""`if`s whose conditions no two values share distribute as one group, exactly (`structgen.schema.conditions`).

A discriminated union written as an `allOf` of `if`s (one per value of `kind`) used to nest one
conjunction per `if`; as a group it is one alternative per condition and one where none holds.
The judge is `jsonschema`, on every text of a small product of kinds and members, both ways.
"""

from __future__ import annotations

import itertools
import json
import random

import jsonschema
import pytest

import structgen
from structgen.automata.lazy import LazyDFA
from structgen.errors import UnsatisfiableSchemaError
from structgen.schema import compile_schema_ir, conditions
from test_schema_soundness import accepted, assert_sound
from tests.fuzzing.checks import walk
from tests.fuzzing.vocabularies import byte_vocabulary


def _case(kind: str) -> dict:
    return {"if": {"properties": {"kind": {"const": kind}}},
            "then": {"required": [f"{kind}_v"], "properties": {f"{kind}_v": {"type": "integer", "minimum": 0}}},
            "else": {"properties": {f"{kind}_v": False}}}


# Three conditions on one required property, and a fourth `if` with the first one's condition.
UNION = {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": ["a", "b", "c", "d"]}},
         "allOf": [_case("a"), _case("b"), _case("c"),
                   {"if": {"properties": {"kind": {"const": "a"}}}, "then": {"properties": {"a_v": {"maximum": 5}}}}]}
# The same without `type` or `required`: every condition holds on a non-object or without `kind`.
OPEN = {"allOf": [_case("a"), _case("b"), _case("c")]}
# Conditions that may hold together: no group, one `if` at a time.
OVERLAPPING = {"type": "object", "allOf": [
    {"if": {"required": ["x"]}, "then": {"required": ["y"]}},
    {"if": {"required": ["y"]}, "then": {"properties": {"x": {"type": "integer"}}}},
    {"if": {"properties": {"x": {"type": "integer"}}}, "then": {"properties": {"y": {"type": "integer"}}},
     "else": {"properties": {"y": {"type": "string"}}}}]}


def _texts() -> list[str]:
    members = [("a_v", 1), ("a_v", 9), ("a_v", -1), ("b_v", 2), ("c_v", 3), ("x", 1), ("x", "s"), ("y", 1)]
    out = ['1', '"a"', 'null', '[]', '{}']
    for kind in (None, "a", "b", "c", "d", "e"):
        for chosen in itertools.chain.from_iterable(itertools.combinations(members, n) for n in range(3)):
            names = [n for n, _ in chosen]
            if len(set(names)) < len(names):
                continue
            value = {"kind": kind} if kind is not None else {}
            value.update(chosen)
            out.append(json.dumps(value, separators=(",", ":")))
    return out


def answered(monkeypatch, owner, name: str) -> list[bool]:
    """For every call of the method `owner.name` from now on, whether it answered (returned not None)."""
    seen = []
    original = getattr(owner, name)

    def spy(self, *args):
        out = original(self, *args)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(owner, name, spy)
    return seen


@pytest.fixture
def grouped(monkeypatch):
    """Whether each `_if_group` call distributed a group (or left the `if`s one at a time)."""
    return answered(monkeypatch, conditions.ConditionsMixin, "_if_group")


@pytest.mark.parametrize("schema, as_group", [(UNION, True), (OPEN, False)], ids=["union", "open"])
def test_the_language_is_exactly_the_schemas(schema, as_group, grouped):
    """Both ways: these texts write their names in the order the output form declares them."""
    validator = jsonschema.Draft202012Validator(schema)
    for text in _texts():
        assert accepted(schema, text) == validator.is_valid(json.loads(text)), text
    assert any(grouped) == as_group
    assert_sound(schema, [], walks=300)


def test_conditions_that_may_hold_together_go_one_at_a_time(grouped):
    assert_sound(OVERLAPPING, _texts(), walks=300)
    assert grouped and not any(grouped)


def test_one_at_a_time_and_as_a_group_agree(monkeypatch):
    texts = _texts()
    as_group = [accepted(UNION, t) for t in texts]
    monkeypatch.setattr(conditions, "MIN_IF_GROUP", 10**6)
    assert [accepted(UNION, t) for t in texts] == as_group
    assert sum(as_group) >= 10  # the texts reach every kind, not only rejections


def test_a_long_discriminated_union_compiles_and_writes_valid_values():
    """150 `if`s on one property (the shape of Cloudify's node templates): one at a time they nested
    past the compile depth limit; as a group they compile, and random walks are valid."""
    kinds = [f"k{i}" for i in range(150)]
    schema = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}},
              "allOf": [{"if": {"properties": {"type": {"const": k}}},
                         "then": {"required": ["p"], "properties": {"p": {"const": i}}}} for i, k in enumerate(kinds)]}
    constraint = structgen.compile_json_schema(schema, byte_vocabulary())
    validator = jsonschema.Draft202012Validator(schema)
    rng = random.Random(0)
    finished = 0
    for _ in range(100):
        text, problems = walk(constraint, rng, max_tokens=200)
        assert not problems
        if text is not None:
            finished += 1
            assert validator.is_valid(json.loads(text)), text
    assert finished >= 20
    assert accepted(schema, '{"type":"k7","p":7}') and not accepted(schema, '{"type":"k7","p":8}')
    assert accepted(schema, '{"type":"other"}') and not accepted(schema, '{"type":"k7"}')


_POOL = [{"required": ["x"]}, {"properties": {"x": {"type": "integer"}}}, {"properties": {"y": False}},
         {"required": ["y"], "properties": {"y": {"enum": [1, 2]}}}, {"properties": {"x": {"maximum": 3}}},
         {"not": {"required": ["y"]}}, {"properties": {"k": {"const": "b"}}}]


def _random_union(rng: random.Random) -> dict:
    cases = []
    for _ in range(rng.randint(3, 5)):
        case = {"if": {"properties": {"k": {"const": rng.choice("abcd")}}}}
        for keyword in ("then", "else"):
            if rng.random() < 0.7:
                case[keyword] = rng.choice(_POOL)
        cases.append(case)
    schema = {"allOf": cases, "properties": {"k": {"enum": list("abcde")}}}
    if rng.random() < 0.7:
        schema.update(type="object", required=["k"])
    return schema


def _accepted_texts(schema, texts) -> list[bool] | None:
    """Which of `texts` the compiled schema accepts; None when it compiles to nothing."""
    try:
        return [accepted(schema, t) for t in texts]
    except UnsatisfiableSchemaError:
        return None


@pytest.mark.parametrize("seed", range(12))
def test_random_unions_are_exact_as_a_group(seed, monkeypatch):
    """Random unions (repeated conditions, `then` or `else` missing, a `then` that names the
    discriminator, some unsatisfiable): as a group the language is the one-at-a-time language,
    and what it accepts is valid."""
    schema = _random_union(random.Random(seed))
    texts = [t for t in _texts() if '"k"' not in t] + [t.replace('"kind"', '"k"') for t in _texts()]
    validator = jsonschema.Draft202012Validator(schema)
    as_group = _accepted_texts(schema, texts)
    if as_group is None:
        assert not any(validator.is_valid(json.loads(t)) for t in texts)
    else:
        assert all(validator.is_valid(json.loads(t)) for t, ok in zip(texts, as_group) if ok)
        assert_sound(schema, [], walks=100, seed=seed)
    monkeypatch.setattr(conditions, "MIN_IF_GROUP", 10**6)
    assert _accepted_texts(schema, texts) == as_group


def test_dependencies_past_the_distribution_budget_leave_the_last_names_out():
    """Twelve dependencies (2**12 conjunctions as distributed, past the budget of 1024): the output
    keeps the objects without the last names, noted, and what it writes is valid (the automaton is
    built lazily, as decoding builds it: eagerly it is past the states budget)."""
    names = [f"n{i}" for i in range(12)]
    schema = {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}, **{n: {"type": "integer"} for n in names}},
              "dependentSchemas": {n: {"properties": {"kind": {"const": "a" if i % 2 else "b"}}}
                                   for i, n in enumerate(names)}}
    result = compile_schema_ir(schema)
    notes = [n for n in result.notes if n.startswith("dependencies at")]
    assert len(notes) == 1 and "'n11'" in notes[0] and "'n0'" not in notes[0] and "subset" in notes[0]
    dfa = LazyDFA.build(result.node)
    assert dfa.matches(b'{"kind":"b","n0":1}') and not dfa.matches(b'{"kind":"a","n0":1}')
    assert dfa.matches(b'{"kind":"a","n1":1,"n3":2}') and not dfa.matches(b'{"kind":"b","n1":1}')
    assert not dfa.matches(b'{"kind":"a","n11":1}')  # valid, but left out
    constraint = structgen.compile_json_schema(schema, byte_vocabulary())
    validator = jsonschema.Draft202012Validator(schema)
    rng = random.Random(0)
    for _ in range(100):
        text, problems = walk(constraint, rng, max_tokens=120)
        assert not problems
        assert text is None or validator.is_valid(json.loads(text)), text
