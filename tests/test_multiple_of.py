"""`multipleOf` in exact decimal arithmetic, and integral values spelled with a zero fraction.

JSON Schema: a number is valid when value / multipleOf is an integer, both
at their decimal values, so `19.99` is a multiple of `0.01`. `jsonschema`
divides floats (19.99 / 0.01 is 1998.9999999999998) and disagrees; the
engine and the harness judge (`structgen.judge.validator_for`) follow the
spec, and the disagreement is checked here so that it stays visible. Every
accepted text must be valid for both soundness judges
(`test_schema_soundness.judges`: floats with the exact `multipleOf`, and
exact decimals throughout).
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsonschemabench.decoding import FLOAT_MULTIPLE_OF_NOTE, judge_output
from structgen.automata.dfa import build_dfa
from structgen.compile import schema_automaton
from structgen.errors import InvalidArgumentError, SchemaTooLargeError, UnsupportedSchemaError
from structgen.judge import validator_for
from structgen.schema.numbers import integer_node, number_constant_node
from test_schema_compiler import random_walk
from test_schema_soundness import judges


def _dfa(schema):
    return schema_automaton(schema)[0]


# ------------------------------------------------------------------ the issue's cases


@pytest.mark.parametrize("schema, good, bad", [
    ({"type": "number", "multipleOf": 0.01},
     ["0.01", "2.5", "3.14", "19.99", "2.55", "-0.07", "100", "0.010", "0.0", "1.10"],
     ["0.011", "19.999", "3.141", "1e-2", "0.001", "-0.005"]),
    ({"multipleOf": 0.0001}, ["0.0075", "1", "-2.5", "0.0001"], ["0.00751", "0.00001", "1.00001"]),
    ({"type": "integer", "multipleOf": 1e-8}, ["12391239123", "0", "-7", str(10**30)], ["1.5", "0.00000001"]),
    ({"type": "number", "multipleOf": 0.07}, ["0.07", "0.21", "7", "-1.47", "70.07"], ["0.1", "1", "0.0701", "0.7000001"]),
    ({"type": "number", "multipleOf": 2.5, "minimum": 0, "maximum": 10}, ["0", "2.5", "5", "7.50", "10"],
     ["-2.5", "12.5", "1.25", "5.01"]),
    ({"type": "number", "multipleOf": 3}, ["3", "-6", "9.0", "0"], ["4", "1.5", "3.3"]),
])
def test_decimal_steps_are_exact(schema, good, bad):
    dfa = _dfa(schema)
    for text in good:
        assert dfa.matches(text.encode()), (schema, text)
        assert judges(schema, text) == (True, True), (schema, text)
    for text in bad:
        assert not dfa.matches(text.encode()), (schema, text)


def test_the_float_division_disagrees_and_the_judge_follows_the_spec():
    schema = {"type": "number", "multipleOf": 0.01}
    assert validator_for(schema).is_valid(19.99)
    assert not validator_for(schema, multiple_of="float").is_valid(19.99)  # 1998.9999999999998
    assert _dfa(schema).matches(b"19.99")
    with pytest.raises(InvalidArgumentError):
        validator_for(schema, multiple_of="decimal")


def test_the_exact_judge():
    judge = validator_for({"multipleOf": 0.123456789})
    assert not judge.is_valid(1e308)  # no OverflowError, no float division
    assert judge.is_valid(0.246913578) and judge.is_valid(123456789) and not judge.is_valid(1)
    tiny = validator_for({"type": "integer", "multipleOf": 1e-8})
    assert tiny.is_valid(12391239123) and tiny.is_valid(10**30) and not tiny.is_valid(0.5)
    exact = validator_for({"multipleOf": 0.1})
    assert exact.is_valid(Decimal("0.3")) and exact.is_valid(Fraction(7, 10)) and not exact.is_valid(Fraction(1, 3))
    assert not exact.is_valid(float("nan")) and exact.is_valid("text") and not exact.is_valid(0.30000000000000004)


def test_the_harness_notes_where_the_float_division_disagrees():
    schema = {"type": "number", "multipleOf": 0.01}
    noted = judge_output(b"19.99", schema)
    assert noted.valid and noted.message.startswith(FLOAT_MULTIPLE_OF_NOTE)
    assert judge_output(b"19.5", schema) == judge_output(b"19.5", {"type": "number"})  # no note: both agree
    assert judge_output(b"19.5", schema).message is None
    assert not judge_output(b"19.999", schema).valid


def test_a_step_whose_integers_need_too_many_states_is_refused_by_name():
    for schema in [{"type": "integer", "multipleOf": 0.123456789},
                   {"type": "number", "multipleOf": 1234567.89}]:
        with pytest.raises(SchemaTooLargeError) as info:
            schema_automaton(schema)
        assert info.value.keyword == "multipleOf" and info.value.pointer == ""
        assert "123456789" in str(info.value)
    with pytest.raises(UnsupportedSchemaError):
        integer_node(multiple_of=Fraction(1, 3))


# ------------------------------------------------------------------ properties

STEPS = [0.01, 0.05, 0.3, 2.5, 1e-8, 0.125, 7, 1.5, 0.0001, 12.34, 0.07, 1e-20, 100]

_texts = st.builds(
    lambda sign, whole, fraction: sign + whole + fraction,
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,18}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,22}", fullmatch=True)),
)


def _in_output_form(text: str, step) -> bool:
    """An exact multiple the engine writes: integer text, or fraction text with at most
    15 significant digits below 10**15 (integral values also as `n.0` up to 2**53)."""
    value = Decimal(text)
    if (Fraction(value) / Fraction(Decimal(repr(step)))).denominator != 1 or text == "-0":
        return False
    if "." not in text:
        return True
    return (abs(value) < 10**15 and len(value.normalize().as_tuple().digits) <= 15) or (
        value == value.to_integral_value() and abs(value) <= 2**53)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(step=st.sampled_from(STEPS), text=_texts)
def test_accepted_exactly_when_an_exact_multiple_in_the_output_form(step, text):
    schema = {"type": "number", "multipleOf": step}
    accepted = _dfa(schema).matches(text.encode())
    assert accepted == _in_output_form(text, step), (step, text)
    if accepted:
        assert judges(schema, text) == (True, True), (step, text)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(step=st.sampled_from(STEPS), k=st.integers(-10**6, 10**6), digit=st.integers(1, 9))
def test_multiples_are_accepted_and_nudged_ones_refused(step, k, digit):
    """k * step is written; k * step plus a digit one place past the step's last is not."""
    schema = {"type": "number", "multipleOf": step}
    value = Decimal(k) * Decimal(repr(step))
    places = -Decimal(repr(step)).normalize().as_tuple().exponent
    nudged = f"{value + Decimal(digit).scaleb(-max(places, 0) - 1):f}"
    dfa = _dfa(schema)
    assert dfa.matches(f"{value:f}".encode()), (step, value)
    assert not dfa.matches(nudged.encode()), (step, nudged)


@pytest.mark.parametrize("schema", [
    {"type": "number", "multipleOf": 0.01},
    {"type": "number", "multipleOf": 0.07, "minimum": -1, "exclusiveMaximum": 3.5},
    {"type": "integer", "multipleOf": 0.25, "maximum": 10**20},
    {"type": "number", "multipleOf": 1e-20, "minimum": 0},
    {"type": "array", "items": {"type": "number", "multipleOf": 0.3}},
    {"oneOf": [{"multipleOf": 0.01}, {"multipleOf": 0.03}]},
])
def test_random_walks_are_valid_for_both_judges(schema):
    dfa = _dfa(schema)
    rng = random.Random(11)
    for _ in range(150):
        text = random_walk(dfa, rng).decode()
        assert judges(schema, text) == (True, True), (schema, text)


def test_one_of_over_decimal_steps_is_decided_on_values():
    dfa = _dfa({"oneOf": [{"multipleOf": 0.01}, {"multipleOf": 0.03}]})
    for text in ["0.01", "19.99", "0.02", "-0.04"]:
        assert dfa.matches(text.encode()), text
    for text in ["0.03", "0.3", "3", "0.010", '"s"', "0.015"]:  # both branches, a second text, neither
        assert not dfa.matches(text.encode()), text


# ------------------------------------------------------------------ integral values with a zero fraction


@pytest.mark.parametrize("value, good, bad", [
    (1, ["1", "1.0"], ["1.5", "true", "01", "1.", "-1", "1e0", "1.00"]),  # one zero: a finite set of texts
    (0, ["0", "0.0", "-0.0"], ["-0", "false", "0.1", "-0.1", "0.00"]),
    (-2.0, ["-2", "-2.0"], ["2", "2.0", "-2.00001", "-2.00"]),
    (2**53, ["9007199254740992", "9007199254740992.0"], ["9007199254740991.0", "9007199254740993"]),
    (2**53 + 2, ["9007199254740994"], ["9007199254740994.0"]),
    (1e20, ["1e+20"], ["100000000000000000000.0"]),
    (0.5, ["0.5"], ["0.50", "5e-1"]),
])
def test_a_number_constant_is_written_in_each_spelling_of_its_value(value, good, bad):
    dfa = build_dfa(number_constant_node(value))
    judge = validator_for({"const": value})
    for text in good:
        assert dfa.matches(text.encode()) and judge.is_valid(json.loads(text)), (value, text)
        assert judges({"const": value}, text) == (True, True), (value, text)
    for text in bad:
        assert not dfa.matches(text.encode()), (value, text)


def test_zero_fraction_integers_within_bounds_and_steps():
    dfa = build_dfa(integer_node(minimum=1.5, maximum=2**60, multiple_of=2, zero_fraction=True))
    for text in ["2", "2.0", "4.0", "9007199254740992.0", str(2**60)]:
        assert dfa.matches(text.encode()), text
    for text in ["0.0", "-0.0", "1.0", "3.0", "2.5", "9007199254740994.0", str(2**60) + ".0", "-2.0"]:
        assert not dfa.matches(text.encode()), text
    zero = build_dfa(integer_node(minimum=0, maximum=0, zero_fraction=True))
    assert all(zero.matches(t) for t in [b"0", b"0.0", b"-0.0"]) and not zero.matches(b"-0")
    assert not zero.matches(b"0.00")  # one zero (numbers._ZERO_FRACTION)
    assert not build_dfa(integer_node(minimum=0)).matches(b"1.0")  # drafts 3 and 4: no fraction


# ------------------------------------------------------------------ through the compiler, by draft


@pytest.mark.parametrize("schema, good, bad", [
    ({"type": "integer"}, ["1", "1.0", "-2.0", "-0.0"], ["1.5", "1.01", "true", "9007199254740993.0", "-0", "1.00"]),
    ({"const": 0}, ["0", "0.0", "-0.0"], ["false", "0.1", "[]"]),
    ({"const": -2.0}, ["-2", "-2.0"], ["2", "2.0", "-2.00001"]),
    ({"const": 9007199254740992}, ["9007199254740992", "9007199254740992.0"], ["9007199254740991.0"]),
    ({"enum": [[1]]}, ["[1]", "[1.0]"], ["[true]"]),
    ({"enum": [1, "a"], "type": "integer", "multipleOf": 0.5}, ["1", "1.0"], ['"a"', "true"]),
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 2}}}, ['{"n":2.0}'], ['{"n":1.0}']),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"}, ["1"], ["1.0"]),
    ({"$schema": "http://json-schema.org/draft-04/schema#", "enum": [1]}, ["1"], ["1.0"]),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, ["1.5"], ["1", "1.0"]),
])
def test_integral_values_spelled_with_a_zero_fraction(schema, good, bad):
    """From draft 6 on an integral value is an integer however it is spelled; drafts 3 and 4
    keep integer text; the canonical domain of oneOf keeps one text per value."""
    dfa = _dfa(schema)
    for text in good:
        assert dfa.matches(text.encode()) and judges(schema, text) == (True, True), (schema, text)
    for text in bad:
        assert not dfa.matches(text.encode()), (schema, text)
