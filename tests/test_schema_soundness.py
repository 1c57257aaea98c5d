"""Soundness of the schema compiler where text and value part ways.

Every text the compiled automaton accepts must be valid under two judges:

* the float judge: `jsonschema` on `json.loads(text)` (numbers with a
  fraction or exponent become floats, rounded), with `multipleOf` in exact
  decimal arithmetic as the harness judge has it
  (`structgen.judge.exact_multiple_of`, a float read at its shortest
  decimal): `jsonschema`'s own float division calls `19.99` no multiple of
  `0.01`, against the spec, which the engine follows;
* the exact judge: `jsonschema` on the text read with exact decimals, the
  schema's numbers taken at their decimal value (`0.1` is one tenth),
  `integer` meaning an integral value.

The cases are the reproductions of issue 9 (S1-S5, the crash on an empty
pattern-and-format intersection, nesting depth) and their neighbours; each
was accepted (or crashed) before its fix.
"""

from __future__ import annotations

import decimal
import functools
import json
import math
import sys
from decimal import Decimal
from fractions import Fraction

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.automata.dfa import build_dfa
from structgen.errors import InvalidSchemaError, NestingTooDeepError, UnsatisfiableSchemaError
from structgen.judge import exact_multiple_of
from structgen.judge import validator_for
from structgen.schema import compile_schema_ir
from structgen.schema.compiler import MAX_COMPILE_DEPTH
from structgen.schema.document import MAX_SCHEMA_DEPTH
from test_schema_compiler import random_walk

# ------------------------------------------------------------------ judges


def _float_validator(schema):
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls = jsonschema.validators.extend(base, {"multipleOf": exact_multiple_of})
    return cls(schema, format_checker=base.FORMAT_CHECKER)


_EXACT = decimal.Context(prec=10_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                         traps=[decimal.InvalidOperation, decimal.DivisionByZero])
_FAR = 10**17  # exponents beyond any schema number's reach; Decimal holds up to about 10**18


def _exact_number(text: str) -> Decimal:
    """The exact value of a JSON number with a fraction or exponent.

    An exponent beyond +-10**17 is clamped there: the value stays on the same
    side of every number a schema can hold, and keeps its integrality.
    """
    try:
        return Decimal(text)
    except decimal.InvalidOperation:
        mantissa, _, exponent = text.lower().partition("e")
        return Decimal(f"{mantissa}e{max(-_FAR, min(_FAR, int(exponent)))}")


def _is_exact_integer(checker, value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value())


def _is_exact_number(checker, value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, Decimal))


def _exact_multiple_of(validator, step, instance, schema):
    """`multipleOf` in exact arithmetic, modular so that huge exponents stay cheap."""
    if not validator.is_type(instance, "number"):
        return
    p, q = Fraction(step).as_integer_ratio()
    _, digits, exponent = Decimal(instance).as_tuple()
    n = int("".join(map(str, digits)) or "0")
    if exponent >= 0:
        ok = n * q * pow(10, exponent, p) % p == 0
    elif -exponent > 10_000:  # n * q is far below p * 10**-exponent
        ok = n == 0
    else:
        ok = n * q % (p * 10**-exponent) == 0
    if not ok:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {step}")


def _exact_validator(schema):
    exact_schema = json.loads(json.dumps(schema), parse_float=Decimal)
    base = jsonschema.validators.validator_for(exact_schema, default=jsonschema.Draft202012Validator)
    checker = base.TYPE_CHECKER.redefine_many({"integer": _is_exact_integer, "number": _is_exact_number})
    cls = jsonschema.validators.extend(base, {"multipleOf": _exact_multiple_of}, type_checker=checker)
    return cls(exact_schema, format_checker=base.FORMAT_CHECKER)


def judges(schema, text: str) -> tuple[bool, bool]:
    """(float judge, exact judge) on `text`; a text that is not JSON is invalid for both.

    The exact judge reads numbers with a fraction or exponent as `Decimal`
    and computes in a context wide enough to be exact for them.
    """
    try:
        as_float = json.loads(text)
        as_exact = json.loads(text, parse_float=_exact_number)
    except ValueError:
        return False, False
    with decimal.localcontext(_EXACT):
        return _float_validator(schema).is_valid(as_float), _exact_validator(schema).is_valid(as_exact)


def accepted(schema, text: str) -> bool:
    return build_dfa(compile_schema_ir(schema).node).matches(text.encode())


def assert_sound(schema, texts, walks: int = 200, seed: int = 0):
    """Every listed text the engine accepts, and `walks` random texts it
    generates, are valid for both judges."""
    import random

    dfa = build_dfa(compile_schema_ir(schema).node)
    rng = random.Random(seed)
    generated = [random_walk(dfa, rng).decode() for _ in range(walks)]
    for text in [*texts, *generated]:
        if dfa.matches(text.encode()):
            assert judges(schema, text) == (True, True), (schema, text)


def test_the_exact_judge_differs_from_the_float_judge():
    """The two judges are independent: the texts of S2 split them."""
    schema = {"type": "number", "not": {"type": "integer"}}
    assert judges(schema, "1.0000000000000000001") == (False, True)
    assert judges({"type": "number", "maximum": 1}, "1.00000000000000001") == (True, False)
    assert judges({"type": "integer"}, "1.0") == (True, True)
    # multipleOf is exact for both; a float's shortest decimal is what the float judge divides
    assert judges({"multipleOf": 0.01}, "19.99") == (True, True)
    assert judges({"multipleOf": 0.01}, "0.0100000000000000000001") == (True, False)
    assert judges({"multipleOf": 2}, "9007199254740993.0") == (True, False)


# ------------------------------------------------------------------ S3


def test_declared_property_also_satisfies_matching_pattern_properties():
    schema = {"type": "object", "properties": {"xa": {"type": "integer"}},
              "patternProperties": {"^x": {"type": "string"}}}
    assert not accepted(schema, '{"xa":1}')
    assert not accepted(schema, '{"xa":"s"}')  # integer and string at once: nothing
    assert accepted(schema, '{"y":[]}')
    assert_sound(schema, ['{"xa":1}', '{"xa":"s"}', '{"xb":"s"}', '{"xb":1}'])


def test_additional_properties_apply_only_to_names_matched_by_neither():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}},
              "patternProperties": {"^b": {"type": "integer", "minimum": 5}},
              "additionalProperties": False}
    for text in ['{"a":1}', '{"a":1,"bb":5}', '{"bb":7}']:
        assert accepted(schema, text) and judges(schema, text) == (True, True)
    for text in ['{"c":1}', '{"bb":4}', '{"a":"x"}']:
        assert not accepted(schema, text)
    allof = {"allOf": [{"properties": {"ab": {"minimum": 0}}},
                       {"patternProperties": {"b$": {"maximum": 3}}, "additionalProperties": {"type": "string"}}],
             "type": "object", "required": ["ab"]}
    assert accepted(allof, '{"ab":3}')
    assert not accepted(allof, '{"ab":4}')
    assert not accepted(allof, '{"ab":-1}')
    assert_sound(allof, ['{"ab":3}', '{"ab":"s"}'])


# ------------------------------------------------------------------ S5


@pytest.mark.parametrize("schema, pointer", [
    ({"const": float("inf")}, "/const"),
    ({"enum": [float("nan"), 1]}, "/enum/0"),
    ({"properties": {"a": {"const": {"x": [1, float("-inf")]}}}}, "/properties/a/const/x/1"),
    ({"type": "number", "maximum": float("inf")}, "/maximum"),
    ({"type": "number", "exclusiveMinimum": float("-inf")}, "/exclusiveMinimum"),
    ({"not": {"const": float("nan")}}, "/not/const"),
])
def test_non_finite_numbers_are_invalid_schemas(schema, pointer):
    with pytest.raises(InvalidSchemaError) as info:
        compile_schema_ir(schema)
    assert info.value.pointer == pointer


def test_non_finite_numbers_in_schema_text_are_invalid():
    for text in ['{"const": 1e400}', '{"enum": [NaN, 1]}', '{"maximum": -Infinity}']:
        with pytest.raises(InvalidSchemaError):
            compile_schema_ir(text)


# ------------------------------------------------------------------ empty pattern and format


def test_pattern_and_format_with_nothing_in_common():
    with pytest.raises(UnsatisfiableSchemaError):
        compile_schema_ir({"type": "string", "maxLength": 6, "pattern": "^x", "format": "date"})
    branch = {"anyOf": [{"type": "string", "maxLength": 12, "pattern": "^x", "format": "date"},
                        {"type": "string", "maxLength": 12, "format": "date"}]}
    assert accepted(branch, '"2024-02-29"')
    assert not accepted(branch, '"x"')
    assert_sound(branch, [], walks=50)


# ------------------------------------------------------------------ nesting


def _nested(kind: str, levels: int):
    s = {"type": "integer"}
    for i in range(levels):
        if kind == "object":
            s = {"type": "object", "properties": {"a": s}, "required": ["a"]}
        elif kind == "array":
            s = {"type": "array", "items": s, "maxItems": 1}
        elif kind == "anyOf":
            s = {"anyOf": [s, {"type": "string", "maxLength": i}]}
        elif kind == "allOf":
            s = {"allOf": [s]}
        else:  # a chain of $ref, each nesting one object (closed: 90 levels of free-form members exceed the budget)
            defs = {f"d{j}": {"type": "object", "properties": {"x": {"$ref": f"#/$defs/d{j + 1}"}},
                              "additionalProperties": False} for j in range(levels)}
            defs[f"d{levels}"] = {"type": "integer"}
            return {"$ref": "#/$defs/d0", "$defs": defs}
    return s


@pytest.mark.parametrize("kind", ["object", "array", "anyOf", "allOf", "ref"])
def test_ten_thousand_levels_end_in_a_named_error(kind):
    with pytest.raises(NestingTooDeepError) as info:
        compile_schema_ir(_nested(kind, 10_000))
    assert info.value.limit in (MAX_SCHEMA_DEPTH, MAX_COMPILE_DEPTH)


def test_deep_json_text_ends_in_a_named_error():
    text = '{"type":"array","items":' * 10_000 + "{}" + "}" * 10_000
    with pytest.raises(NestingTooDeepError):
        compile_schema_ir(text)
    with pytest.raises(NestingTooDeepError):
        compile_schema_ir({"const": json.loads("[" * 500 + "]" * 500)})


@pytest.mark.parametrize("kind, levels", [("object", 60), ("array", 60), ("anyOf", 60), ("ref", 90)])
def test_nesting_inside_the_limits_compiles(kind, levels):
    """Just inside the limits (a document of at most `MAX_SCHEMA_DEPTH`
    levels, `$ref` chains of fewer than `MAX_COMPILE_DEPTH`), the schema
    compiles, with room left on the stack for the caller."""
    import sys

    schema = _nested(kind, levels)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(old - 200)  # a caller deeper in the stack than pytest
    try:
        node = compile_schema_ir(schema).node
    finally:
        sys.setrecursionlimit(old)
    text = {"object": '{"a":' * levels + "1" + "}" * levels, "array": "[" * levels + "1" + "]" * levels,
            "anyOf": "1", "ref": '{"x":' * levels + "1" + "}" * levels}[kind]
    assert build_dfa(node).matches(text.encode())
    assert judges(schema, text) == (True, True)


# ------------------------------------------------------------------ S4


def test_repeated_keys_never_make_up_min_properties():
    """`json.loads` keeps one of two equal keys, so `{"b":1,"b":2}` has one property."""
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "minProperties": 2,
              "additionalProperties": {"type": "integer"}}
    assert not accepted(schema, '{"b":1,"b":2}')
    assert accepted(schema, '{"a":1,"b":2}') and accepted(schema, '{"a":1,"b":2,"b":3}')
    assert_sound(schema, ['{"b":1,"b":2}', '{"a":1,"a":2}', '{"a":1,"b":2}'])
    result = compile_schema_ir(schema)
    assert any("count once toward minProperties" in note for note in result.notes)
    with_patterns = {"type": "object", "patternProperties": {"^x": {"type": "null"}},
                     "properties": {"p": {}, "q": {}}, "minProperties": 3, "maxProperties": 3}
    assert not accepted(with_patterns, '{"p":1,"xa":null,"xa":null}')
    assert accepted(with_patterns, '{"p":1,"q":2,"xa":null}')
    assert_sound(with_patterns, [])


def test_min_properties_beyond_what_distinct_names_can_ensure_is_refused():
    from structgen.errors import UnsupportedSchemaError

    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema_ir({"type": "object", "properties": {"n": {}}, "minProperties": 3})
    assert info.value.keyword == "minProperties" and info.value.pointer == ""
    lenient = compile_schema_ir({"type": "object", "minProperties": 2}, strict=False)
    assert ("minProperties", "") in lenient.ignored


def test_additional_names_never_repeat_a_declared_one():
    schema = {"properties": {"a": {"type": "integer"}}, "additionalProperties": True}
    for text in ['{"a":"x","a":1}', '{"a":1,"a":"x"}', '{"b":1,"a":"x"}']:
        assert not accepted(schema, text)
    assert_sound(schema, [])


# ------------------------------------------------------------------ S1: oneOf decided on values

ONE_OF_CASES = [
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, ["1.0", "1e2", "10e-1", "-0.0", "1.5", "2", "0.25"]),
    ({"oneOf": [{"const": 0}, {"type": "number"}]}, ["-0", "0.0", "0e0", "0", "1", "-2.5"]),
    ({"oneOf": [{"enum": [1.0, 0.5]}, {"type": "number", "maximum": 3}]}, ["1", "1.0", "0.5", "0.50", "5e-1", "2"]),
    ({"oneOf": [{"type": "number", "minimum": 0.1}, {"type": "number", "maximum": 0.1}]},
     ["0.1", "0.10", "1e-1", "0.1000000000000000055511151231257827", "0.2", "0.05"]),
    ({"oneOf": [{"type": "integer", "multipleOf": 3}, {"type": "integer", "multipleOf": 2}]}, ["6", "6.0", "3", "4"]),
    ({"oneOf": [{"type": "number", "multipleOf": 0.5}, {"type": "number", "minimum": 1}]},
     ["0.5", "1.5", "1", "1.0", "-2", "1.25", "0.7"]),
    ({"oneOf": [{"multipleOf": 0.01}, {"multipleOf": 0.03}]}, ["19.99", "0.03", "0.06", "0.02", "0.3", "0.1"]),
    # objects: names outside the properties, key order, repeated keys, nesting past the free-form depth
    ({"oneOf": [{"type": "object", "properties": {"a": {"type": "integer"}}}, {}]},
     ['{"b":1,"a":2}', '{"a":1}', "1", '{"a":{"a":{"a":{"a":{"a":1}}}}}']),
    ({"oneOf": [{"const": {"b": 1, "a": 2}}, {"type": "object"}]}, ['{"a":2,"b":1}', '{"b":1,"a":2}', "{}"]),
    ({"oneOf": [{"type": "object", "maxProperties": 1, "properties": {"p": {}, "q": {}}}, {"type": "object"}]},
     ['{"p":1,"p":2}', '{"p":1,"q":2}', '{"p":1}']),
    ({"oneOf": [{}, {"type": "array", "items": {"type": "array"}}]}, ["[[[[[[1]]]]]]", "[[]]", "[1]"]),
    # formats compile to subsets of what their checker accepts: never complemented
    ({"oneOf": [{"type": "string", "format": "duration"}, {"type": "string", "maxLength": 6}]},
     ['"P1.5D"', '"P-1D"', '"P1D"', '"abc"', '"P12345D"']),
    ({"anyOf": [{"oneOf": [{"type": "string", "format": "email"}, {"type": "string", "pattern": "@"}]},
                {"type": "null"}]}, ['"\\"a b\\"@c.d"', '"a@[1.2.3.4]"', '"a@b.c"', '"@"', "null"]),
    # value-disjoint on the canonical domain, not beyond it
    ({"oneOf": [{"type": "number", "minimum": 0.30000000000000004, "maximum": 0.30000000000000004},
                {"type": "number", "minimum": 0.3, "maximum": 0.4}]}, ["0.30000000000000004", "0.35"]),
]


@pytest.mark.parametrize("schema, texts", ONE_OF_CASES)
def test_one_of_is_exclusive_on_values(schema, texts):
    assert_sound(schema, texts, walks=150)


def test_one_of_still_generates():
    schema = {"oneOf": [{"type": "integer"}, {"type": "number"}]}
    assert accepted(schema, "1.5") and accepted(schema, "-0.25")
    assert not accepted(schema, "1") and not accepted(schema, "1.0")  # an integer satisfies both branches
    # Integers are taken out by kind (both branches accept every one): no canonical-domain check is left.
    assert not any("oneOf" in note for note in compile_schema_ir(schema).notes)
    assert_sound(schema, ["1", "1.0", "1.5", "2e0", "-0.25"])


def test_one_of_empty_on_the_canonical_domain_is_refused_by_name():
    """Values with two repeated or unnamed keys satisfy only the second branch, but
    the canonical domain holds no such object: a named refusal, not 'unsatisfiable'."""
    from structgen.errors import UnsupportedSchemaError

    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema_ir({"oneOf": [{"type": "object", "maxProperties": 1}, {"type": "object"}]})
    assert info.value.keyword == "oneOf" and info.value.pointer == "/oneOf"


def test_one_of_keeps_out_what_the_judges_disagree_on():
    """maximum 1e23 is 99999999999999991611392 as a float: the integers between it and 10**23 are
    in the first branch for one judge and not for the other, and are refused."""
    schema = {"oneOf": [{"type": "integer", "maximum": 1e23}, {"type": "integer", "minimum": 0}]}
    assert_sound(schema, ["99999999999999991611393", "100000000000000000000000", "100000000000000000000001",
                          "-1", "0", "99999999999999991611392"])
    assert accepted(schema, "-1") and not accepted(schema, "0")


# ------------------------------------------------------------ finite numbers


def _all_finite(text: str) -> bool:
    """Whether every number in the JSON text reads as a finite float (and as
    an int within Python's 4300-digit limit, for integer text)."""
    found = []
    json.loads(text, parse_float=found.append, parse_int=found.append)
    return all(math.isfinite(float(Decimal(s))) and len(s) < 4300 for s in found)


FINITE_SCHEMAS = [
    {"type": "number"},
    {},
    {"anyOf": [{"type": "number", "multipleOf": 0.5}, {"type": "number"}]},
    {"type": "integer"},
    {"type": "number", "minimum": 0},
    {"type": "number", "exclusiveMaximum": 0},
    {"type": "number", "multipleOf": 3},
    {"type": "array", "items": {"type": "number"}},
    {"type": "object", "additionalProperties": {"type": "number"}},
]
OVERFLOWING = ["1e400", "1.8e308", "-1e309", "1E+309", "1" + "0" * 400 + ".5", "-" + "9" * 400, "1" + "0" * 5000,
               "1.7976931348623158e308", "[1e400]", '{"a":1e309}']
ORDINARY = ["1.7e+308", "-1.5e308", "1e+308", "1e-307", "0.5", "-12", "3", "9" * 300,
            "[1.5e+300]", '{"a":-2.5e-10}']


@functools.lru_cache(maxsize=None)
def _finite_dfa(index: int):
    return build_dfa(compile_schema_ir(FINITE_SCHEMAS[index]).node)


@pytest.mark.parametrize("index", range(len(FINITE_SCHEMAS)))
def test_numbers_that_read_as_inf_are_refused(index):
    dfa, judge = _finite_dfa(index), validator_for(FINITE_SCHEMAS[index])
    for text in OVERFLOWING:
        assert not dfa.matches(text.encode()), (FINITE_SCHEMAS[index], text[:40])
    for text in ORDINARY:
        if dfa.matches(text.encode()):
            assert _all_finite(text) and judge.is_valid(json.loads(text)), text


def test_ordinary_large_numbers_are_kept():
    for text in ORDINARY[:6]:
        assert accepted({"type": "number"}, text) and accepted({}, text), text
    for text in (json.dumps(sys.float_info.max), json.dumps(-sys.float_info.max), "1.79769313486231570e308"):
        assert accepted({"type": "number"}, text) and accepted({}, text), text  # the largest float, exactly
    assert not accepted({"type": "number"}, "1.7976931348623157e308" + "1")  # exponent 3081
    assert accepted({"type": "integer", "maximum": 10**400}, "9" * 307)  # a bound the schema gives, up to 1e308
    assert not accepted({"type": "integer", "maximum": 10**400}, "1" + "0" * 308)
    assert accepted({"type": "integer", "minimum": 10**50}, str(10**50 + 3))  # an open side past the other bound
    assert not accepted({"type": "integer", "minimum": 0}, "9" * 41)  # an open side: 40 digits
    assert accepted({"type": "integer"}, "9" * 40) and not accepted({"type": "integer"}, "1" + "0" * 40)
    assert accepted(FINITE_SCHEMAS[7], ORDINARY[8]) and accepted(FINITE_SCHEMAS[8], ORDINARY[9])
    assert accepted({"anyOf": [{"type": "number", "multipleOf": 0.5}, {"type": "number"}]}, "1.5e+300")


_NUMBER_TEXT = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,3}", fullmatch=True),
              st.integers(300, 420).map(lambda n: "1" + "7" * n)),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,5}", fullmatch=True)),
    st.one_of(st.just(""), st.builds(lambda e, sign, n: e + sign + str(n), st.sampled_from("eE"),
                                     st.sampled_from(["", "+", "-"]), st.integers(0, 420))),
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(text=_NUMBER_TEXT, index=st.integers(0, len(FINITE_SCHEMAS) - 1))
def test_accepted_number_texts_are_finite_and_valid(text, index):
    schema = FINITE_SCHEMAS[index]
    if index >= 7:  # a container around the number
        text = f"[{text}]" if schema["type"] == "array" else f'{{"n":{text}}}'
    if _finite_dfa(index).matches(text.encode()):
        assert _all_finite(text), text
        assert validator_for(schema).is_valid(json.loads(text)), text


@pytest.mark.parametrize("index", range(len(FINITE_SCHEMAS)))
def test_generated_numbers_are_finite(index):
    import random

    rng = random.Random(index)
    for _ in range(200):
        text = random_walk(_finite_dfa(index), rng).decode()
        assert _all_finite(text), text[:60]
