"""Member order: declared properties in schema order; names only `required` lists, and the members of a
`const`/`enum` object, in any order. The judge is `jsonschema`; texts are compact JSON."""

from __future__ import annotations

import itertools
import json

import pytest

from structgen.automata.dfa import build_dfa
from structgen.compile import schema_automaton
from structgen.judge import validator_for
from structgen.schema.member_order import MAX_ANY_ORDER, shuffled


def _text(pairs) -> bytes:
    return ("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}").encode()


@pytest.mark.parametrize("schema", [
    {"type": "object", "required": ["a", "b", "c"]},
    {"type": "object", "required": ["a", "b"], "additionalProperties": {"type": "integer"}},
    {"dependentRequired": {"a": ["b", "c"]}},
    {"const": {"a": 1, "b": 2, "c": 3}},
    {"enum": [{"a": 1, "b": 2, "c": 3}, {"a": 1}]},
])
def test_every_order_of_a_valid_object_is_accepted_and_only_valid_ones(schema):
    dfa, _ = schema_automaton(schema)
    check = validator_for(schema)
    values = {"a": 1, "b": 2, "c": 3, "x": 4}
    for n in range(5):
        for names in itertools.permutations(values, n):
            pairs = [(k, values[k]) for k in names]
            assert dfa.matches(_text(pairs)) == check.is_valid(dict(pairs)), (schema, pairs)


def test_declared_properties_keep_schema_order_around_required_names_in_any_order():
    schema = {"type": "object", "properties": {"p": {"type": "integer"}, "q": {"type": "integer"}},
              "required": ["p", "r", "s"]}
    dfa, _ = schema_automaton(schema)
    assert dfa.matches(_text([("p", 1), ("q", 2), ("s", 3), ("r", 4)]))
    assert dfa.matches(_text([("p", 1), ("r", 3), ("s", 4)]))
    assert not dfa.matches(_text([("q", 2), ("p", 1), ("r", 3), ("s", 4)]))  # declared ones in order
    assert not dfa.matches(_text([("p", 1), ("r", 3)]))  # s is required


def test_past_the_bound_the_listed_order_is_kept_and_noted():
    names = [f"n{i}" for i in range(MAX_ANY_ORDER + 1)]
    dfa, result = schema_automaton({"type": "object", "required": names})
    assert dfa.matches(_text([(n, 0) for n in names]))
    assert not dfa.matches(_text([(n, 0) for n in reversed(names)]))
    assert any("written in the order" in note for note in result.notes)


def test_shuffled_is_each_member_once_with_extras_anywhere():
    from structgen.automata import ir

    dfa = build_dfa(shuffled([ir.literal("a"), ir.literal("b")], ir.literal("x"), ir.literal(",")))
    for text in ["a,b", "b,a", "x,a,x,b,x", "b,x,a"]:
        assert dfa.matches(text.encode()), text
    for text in ["a", "a,a,b", "x", "", "a,b,", ",a,b", "a,,b"]:
        assert not dfa.matches(text.encode()), text
    with pytest.raises(ValueError):
        shuffled([ir.literal("a")] * (MAX_ANY_ORDER + 1), None, ir.literal(","))
