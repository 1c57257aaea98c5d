"""Leaf value compilers (strings, numbers, formats) against the judge.

The judge is `jsonschema` (Draft 2020-12, format checker on) applied to
`json.loads` of the text, with `multipleOf` in exact decimal arithmetic as
the harness judge has it (`structgen.judge.exact_multiple_of`: `19.99` is a
multiple of `0.01`); the compiled automaton must accept exactly the
valid texts in the output form (`json.dumps(v, ensure_ascii=False)`), and
every text it accepts must be valid. Random walks over the automata check
soundness on texts no test author thought of.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
from decimal import Decimal
from fractions import Fraction

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft3Validator, Draft202012Validator

from structgen.automata import ir
from structgen.automata.dfa import build_dfa
from structgen.errors import SchemaTooLargeError, UnsupportedSchemaError
from structgen.judge import exact_multiple_of, validator_for
from structgen.schema import compile_schema_ir
from structgen.schema.formats import SUPPORTED_FORMATS, format_node
from structgen.schema.numbers import integer_node, number_node
from structgen.schema.strings import json_string_content, string_node
from test_schema_soundness import assert_sound, judges

CHECKER = Draft202012Validator.FORMAT_CHECKER
# STRUCTGEN_LEAF_EXAMPLES=500 runs the property tests harder than the default quick run.
FAST = settings(
    max_examples=int(os.environ.get("STRUCTGEN_LEAF_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

try:
    import structgen.regex  # noqa: F401

    HAVE_REGEX = True
except ImportError:
    HAVE_REGEX = False
needs_regex = pytest.mark.skipif(not HAVE_REGEX, reason="structgen.regex (regex_to_ir) is not available yet")


_EXACT_MULTIPLES = jsonschema.validators.extend(Draft202012Validator, {"multipleOf": exact_multiple_of})


def validator(schema: dict):
    """Draft 2020-12 with formats checked and the harness judge's exact `multipleOf`."""
    return _EXACT_MULTIPLES(schema, format_checker=CHECKER)


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def random_walk(dfa, rng: random.Random, stop: float = 0.15, soft_limit: int = 120) -> bytes:
    """A random accepted string: random live transitions until an accepting
    state where a coin says stop; past `soft_limit` bytes, head for acceptance."""
    n, n_classes = dfa.trans.shape
    bytes_of = [np.nonzero(dfa.byte_class == c)[0] for c in range(n_classes)]
    # Distance (in bytes) to the nearest accepting state.
    dist = np.where(dfa.accept, 0, np.iinfo(np.int64).max)
    changed = True
    while changed:
        nxt = np.where(dfa.trans >= 0, dist[np.maximum(dfa.trans, 0)], np.iinfo(np.int64).max)
        best = np.minimum(dist, np.where(nxt.min(axis=1) == np.iinfo(np.int64).max, dist, nxt.min(axis=1) + 1))
        changed = bool((best != dist).any())
        dist = best
    out = bytearray()
    state = 0
    while True:
        classes = [c for c in range(n_classes) if dfa.trans[state, c] >= 0]
        if dfa.accept[state] and (not classes or rng.random() < stop or len(out) >= soft_limit):
            return bytes(out)
        if len(out) >= soft_limit:
            classes = [c for c in classes if dist[dfa.trans[state, c]] < dist[state]]
        c = rng.choice(classes)
        out.append(int(rng.choice(bytes_of[c])))
        state = int(dfa.trans[state, c])


# ------------------------------------------------------------------ integers

bound_values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2)),
    st.integers(-(10**25), 10**25),
)
multiples = st.one_of(st.none(), st.integers(1, 60), st.sampled_from([1000, 0.5, 0.25, 2.5, 0.1, 0.01, 1.5, 3.0]))


@st.composite
def numeric_keywords(draw, with_multiple=True):
    kw = {}
    for name in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
        if draw(st.booleans()) and draw(st.booleans()):
            kw[name] = draw(bound_values)
    if with_multiple:
        m = draw(multiples)
        if m is not None:
            kw["multiple_of"] = m
    return kw


SCHEMA_NAMES = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}


def schema_of(kind: str, kw: dict) -> dict:
    return {"type": kind, **{SCHEMA_NAMES[k]: v for k, v in kw.items()}}


def values_near(kw: dict, draw_ints: list[int]) -> list[int]:
    """Integers near every bound and around zero, plus random ones."""
    out = list(range(-30, 31)) + draw_ints
    for v in kw.values():
        c = int(v)
        out += list(range(c - 25, c + 26))
    return out


@FAST
@given(numeric_keywords(), st.lists(st.integers(-(10**7), 10**7), max_size=40))
def test_integer_node_matches_the_validator(kw, extra):
    """Exact on integer text; with `zero_fraction`, the same values spelled
    with a zero fraction (`7.0`) exactly within 2**53 in magnitude, and never
    beyond (nor without it: drafts 3 and 4)."""
    dfa = build_dfa(integer_node(**kw, zero_fraction=True))
    plain = build_dfa(integer_node(**kw))
    judge = validator(schema_of("integer", kw))
    for v in values_near(kw, extra):
        valid, spelled = judge.is_valid(v), f"{v}.0".encode()
        assert dfa.matches(dumps(v)) == plain.matches(dumps(v)) == valid, (kw, v)
        assert dfa.matches(spelled) == (valid and abs(v) <= 2**53), (kw, spelled)
        assert not plain.matches(spelled), (kw, spelled)
        if dfa.matches(spelled):
            assert judge.is_valid(json.loads(spelled)), (kw, spelled)


@FAST
@given(numeric_keywords())
def test_integer_node_random_walks_are_valid(kw):
    dfa = build_dfa(integer_node(**kw, zero_fraction=True))
    assume(not dfa.is_empty)
    judge = validator(schema_of("integer", kw))
    rng = random.Random(0)
    for _ in range(30):
        text = random_walk(dfa, rng)
        syntax = re.fullmatch(rb"-?(0|[1-9][0-9]*)(\.0+)?", text)
        assert syntax and text != b"-0", text
        assert not syntax[2] or abs(int(text.split(b".")[0])) <= 2**53, text
        assert judge.is_valid(json.loads(text)), (kw, text)
        assert judges(schema_of("integer", kw), text.decode()) == (True, True), (kw, text)


def test_integer_edge_cases():
    assert integer_node(minimum=5, maximum=4) == ir.NOTHING
    assert integer_node(exclusive_minimum=3, exclusive_maximum=4) == ir.NOTHING
    assert integer_node(minimum=0.5, maximum=0.9) == ir.NOTHING
    big = build_dfa(integer_node(minimum=-(10**400), maximum=10**400))  # kept to finite floats
    assert big.matches(str(10**308 - 1).encode()) and not big.matches(str(10**308).encode())
    assert big.matches(b"-" + str(10**308 - 1).encode()) and not big.matches(b"-0")
    assert math.isfinite(float(10**308 - 1))
    with pytest.raises(UnsupportedSchemaError) as err:
        integer_node(minimum=10**400, pointer="/x")
    assert (err.value.keyword, err.value.pointer) == ("minimum", "/x")
    with pytest.raises(SchemaTooLargeError) as err:  # the multiples of 123456789
        integer_node(multiple_of=0.123456789, pointer="/properties/x")
    assert err.value.keyword == "multipleOf" and err.value.pointer == "/properties/x"
    assert "123456789" in str(err.value)
    for step in (0, -0.5, Fraction(1, 3)):
        with pytest.raises(UnsupportedSchemaError):
            integer_node(multiple_of=step)
    with pytest.raises(UnsupportedSchemaError):
        integer_node(minimum=True)


# ------------------------------------------------------------------- numbers

number_texts = st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,24})?", fullmatch=True).filter(lambda s: s != "-0")


@FAST
@given(numeric_keywords(with_multiple=False), st.lists(number_texts, max_size=60))
def test_number_node_bounds_match_the_validator(kw, texts):
    """Exact on every text without exponent and with up to 24 fraction digits:
    accepted exactly when both the float judge and exact arithmetic accept."""
    dfa = build_dfa(number_node(**kw))
    probes = list(texts)
    for v in kw.values():  # the bounds, their neighbours, and decimals around them
        f = float(v)
        probes += [repr(f), repr(math.nextafter(f, math.inf)), repr(math.nextafter(f, -math.inf))]
        probes += [str(int(f)), str(int(f) + 1), str(int(f) - 1), f"{Decimal(f):f}"]
    for text in probes:
        if "e" in text or "inf" in text or text in ("-0",):
            continue
        both = judges(schema_of("number", kw), text) == (True, True)
        assert dfa.matches(text.encode()) == both, (kw, text)


@FAST
@given(numeric_keywords(), st.lists(st.floats(-1e7, 1e7, allow_nan=False), max_size=40))
def test_number_node_is_sound_and_covers_json_dumps_output(kw, floats):
    """Every accepted `json.dumps` output is valid; every valid one is accepted
    unless it uses an exponent (left out under bounds), or is fraction text
    with more than 15 significant digits under `multipleOf`."""
    try:
        dfa = build_dfa(number_node(**kw))
    except UnsupportedSchemaError:
        return
    judge = validator(schema_of("number", kw))
    m = kw.get("multiple_of")
    values = floats + values_near(kw, []) + [x / 4 for x in range(-40, 41)]
    if m is not None:
        values += [k * m for k in range(-20, 21)]
    for v in values:
        text = dumps(v)
        valid = judge.is_valid(v)
        if dfa.matches(text):
            assert valid and judges(schema_of("number", kw), text.decode())[1], (kw, text)
        elif valid and b"e" not in text:
            covered = m is None or b"." not in text or len(Decimal(repr(v)).normalize().as_tuple().digits) <= 15
            assert not covered, (kw, text)


@FAST
@given(numeric_keywords())
def test_number_node_random_walks_are_valid(kw):
    try:
        dfa = build_dfa(number_node(**kw))
    except UnsupportedSchemaError:
        return
    assume(not dfa.is_empty)
    judge = validator(schema_of("number", kw))
    rng = random.Random(1)
    for _ in range(30):
        text = random_walk(dfa, rng, soft_limit=40)
        assert judge.is_valid(json.loads(text)), (kw, text)
        assert judges(schema_of("number", kw), text.decode()) == (True, True), (kw, text)


def test_number_unbounded_is_the_json_number_grammar():
    dfa = build_dfa(number_node())
    for text in ["0", "-0", "1.5", "1e-07", "1.5e+20", "100.0", "-1.2E6", "0.000", "1e+307", "9" * 40]:
        assert dfa.matches(text.encode()), text
    # exponent forms have a mantissa in [1, 10), so that the exponent alone keeps them finite
    for text in ["01", "1.", ".5", "+1", "1e", "--1", "NaN", "Infinity", "1.5e+", "-12E5", "0e0", "1e400", "1" * 41]:
        assert not dfa.matches(text.encode()), text


def test_number_float_rounding_is_respected():
    """Fraction text is judged on the float it loads as, not its decimal value."""
    dfa = build_dfa(number_node(exclusive_maximum=0.1))
    assert not dfa.matches(b"0.09999999999999999999")  # loads as 0.1
    assert dfa.matches(b"0.09999999999999999")
    dfa = build_dfa(number_node(exclusive_minimum=0))
    assert not dfa.matches(b"0." + b"0" * 400 + b"1")  # loads as 0.0
    assert dfa.matches(b"0.0001") and not dfa.matches(b"0.0") and not dfa.matches(b"-0.5")
    assert number_node(minimum=2, maximum=1) == ir.NOTHING or build_dfa(number_node(minimum=2, maximum=1)).is_empty


def test_number_multiple_of():
    dfa = build_dfa(number_node(multiple_of=0.01, minimum=0, maximum=100))
    assert dfa.matches(b"7") and dfa.matches(b"100") and not dfa.matches(b"101")
    dfa = build_dfa(number_node(multiple_of=0.25))
    for good in [b"0.25", b"-1.75", b"3", b"2.50", b"0.0"]:
        assert dfa.matches(good), good
    for bad in [b"0.2", b"1.3", b"0.255"]:
        assert not dfa.matches(bad), bad
    dfa = build_dfa(number_node(multiple_of=0.07))  # exact decimal arithmetic, not float division
    for good in [b"0.07", b"0.21", b"7", b"-1.47", b"0.070"]:
        assert dfa.matches(good), good
    for bad in [b"0.7000001", b"0.1", b"1", b"0.0701"]:
        assert not dfa.matches(bad), bad
    with pytest.raises(SchemaTooLargeError):
        number_node(multiple_of=0.123456789)


# ------------------------------------------------------------------- strings

text_chars = st.sampled_from(list('ab"\\\n\r\t\x00\x08\x0c\x1f\x7f/~é€😀\u2028 1'))
texts = st.lists(text_chars, max_size=14).map("".join)


@FAST
@given(st.integers(0, 8), st.one_of(st.none(), st.integers(0, 12)), st.lists(texts, min_size=5, max_size=40))
def test_string_lengths_match_the_validator(lo, hi, values):
    dfa = build_dfa(string_node(min_length=lo, max_length=hi))
    schema = {"type": "string", "minLength": lo}
    if hi is not None:
        schema["maxLength"] = hi
    judge = validator(schema)
    for v in values:
        assert dfa.matches(dumps(v)) == judge.is_valid(v), (lo, hi, v)


@FAST
@given(st.lists(texts, max_size=40))
def test_free_string_is_every_json_string(values):
    dfa = build_dfa(string_node())
    for v in values:
        assert dfa.matches(dumps(v))
    for bad in [b'"', b'"\\"', b'"a\nb"', b'"\\u00E9"', b'"\\/"', b'"\\u0041"', b'"\\x"', "\"\u00e9".encode()]:
        assert not dfa.matches(bad), bad  # not JSON, or not the canonical escape


def test_string_random_walks_decode_to_valid_strings():
    rng = random.Random(2)
    dfa = build_dfa(string_node(min_length=2, max_length=6))
    for _ in range(200):
        text = random_walk(dfa, rng, stop=0.3)
        value = json.loads(text)
        assert isinstance(value, str) and 2 <= len(value) <= 6
        assert dumps(value) == text  # canonical escapes only


def test_large_max_length_stays_a_counter():
    dfa = build_dfa(string_node(max_length=1000))
    assert dfa.n_states < 20 * 1000
    assert dfa.matches(dumps("x" * 1000)) and not dfa.matches(dumps("x" * 1001))
    assert dfa.matches(dumps("😀" * 1000)) and dfa.matches(dumps("\x00" * 1000))


PATTERNS = ["^a+$", "b", "^[a-c]{2,4}$", "(ab|ba)+", "^$", "^\\\\", '"', "^[^a]*$", "é|😀", "^.{3}$", "a.b"]


def _python_agrees(pattern: str, value: str) -> bool:
    """Python's re (the judge) and ECMA-262 differ on `$` before a final
    newline and on which line terminators `.` excludes; skip those strings."""
    return not any(c in value for c in "\n\r\u2028\u2029")


@needs_regex
@FAST
@given(
    st.sampled_from(PATTERNS),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 10)),
    st.lists(texts, min_size=5, max_size=40),
)
def test_string_pattern_and_lengths_match_the_validator(pattern, lo, hi, values):
    dfa = build_dfa(string_node(min_length=lo, max_length=hi, pattern=pattern))
    schema = {"type": "string", "minLength": lo, "pattern": pattern}
    if hi is not None:
        schema["maxLength"] = hi
    judge = validator(schema)
    for v in values + ["a", "ab", "aaa", "ba", "abc", "", '"', "\\", "é", "😀"]:
        matched, valid = dfa.matches(dumps(v)), judge.is_valid(v)
        if matched:
            assert valid, (pattern, lo, hi, v)
        elif _python_agrees(pattern, v):
            assert not valid, (pattern, lo, hi, v)


@needs_regex
def test_pattern_with_large_length_bound():
    dfa = build_dfa(string_node(pattern="foo", max_length=120))
    assert dfa.matches(dumps("x" * 117 + "foo")) and not dfa.matches(dumps("x" * 118 + "foo"))
    assert not dfa.matches(dumps("fo\"o"))


def test_json_string_content_escapes_exactly():
    decoded = ir.alt(ir.literal('a"b'), ir.literal("\\"), ir.literal("\x00\x1f\n"), ir.literal("é"))
    dfa = build_dfa(json_string_content(decoded))
    for v in ['a"b', "\\", "\x00\x1f\n", "é"]:
        assert dfa.matches(dumps(v)), v
    assert not dfa.matches(b'"a"b"') and not dfa.matches(b'"\\u00e9"') and not dfa.matches(b'"\\u0000\\u001F\\n"')
    assert json_string_content(ir.NOTHING) == ir.NOTHING


# ------------------------------------------------------------------- formats

VALID_EXAMPLES = {
    "date": ["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01", "2023-04-30", "9999-12-31"],
    "time": ["00:00:00Z", "23:59:59z", "12:30:00.123456+05:30", "08:00:00-23:59"],
    "date-time": ["2024-01-15T10:30:00Z", "2000-02-29T00:00:00.5+01:00", "1970-01-01t00:00:00z"],
    "duration": ["P1D", "PT1H", "P1Y2M3DT4H5M6S", "P3W", "PT0S", "P1M", "PT1M", "P1DT12H"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000", "ABCDEF01-2345-6789-ABCD-EF0123456789"],
    "email": ["a@b", "john.doe@example.com", "x+tag@mail.example.co.uk", "o'hara@x-y.org"],
    "idn-email": ["user@example.org"],
    "ipv4": ["0.0.0.0", "192.168.1.1", "255.255.255.255", "10.0.0.254"],
    "ipv6": ["::", "::1", "2001:db8::8a2e:370:7334", "fe80::1:2:3:4", "::ffff:192.0.2.128", "1:2:3:4:5:6:7:8", "1::"],
    "hostname": ["localhost", "example.com", "a-b.c-d.e", "x" * 63 + ".com", "www.example.com.", "a.b.c.d.e.f.g.h"],
    "uri": ["http://example.com", "https://user@host:8080/p/a/t/h?q=1&r=2#frag", "urn:isbn:0451450523", "mailto:a@b.c", "http://[::1]/", "file:///etc/hosts", "a:"],
    "uri-reference": ["/relative/path", "../x", "?q", "#frag", "", "http://x.y/z"],
    "json-pointer": ["", "/", "/a/b", "/a~0b/c~1d", "/é/😀"],
    "relative-json-pointer": ["0", "1#", "2/a/b", "10/~0", "120#"],
    "regex": ["^a+$", "abc", "\\d*\\.\\d+", "x.y?", "\\/\\(", ""],
    "color": ["#fff", "#A0b1C2"],
    "host-name": ["example.com", "a-b.c"],
    "ip-address": ["10.0.0.1"],
    "iri": ["http://example.com/a?b#c", "urn:x"],
    "iri-reference": ["/a/b", "#f"],
}

INVALID_EXAMPLES = {
    "date": ["2023-02-29", "1900-02-29", "2024-13-01", "2024-04-31", "0000-01-01", "2024-1-01"],
    "time": ["24:00:00Z", "12:00:00", "12:60:00Z", "23:59:60Z"],
    "ipv4": ["256.1.1.1", "01.2.3.4", "1.2.3"],
    "ipv6": ["1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "::ffff:01.2.3.4"],
    "hostname": ["-a.com", "a-.com", "a..b", "x" * 64],
    "uuid": ["123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400"],
    "duration": ["P", "PT", "P1H", "1D", "P1DT"],
    "relative-json-pointer": ["01", "100", "a", "1/~2"],
    "regex": ["(", "a**", "[a", "\\"],
    "color": ["#ff", "fff", "#ggg"],
    "host-name": ["-a.com"],
}
# Formats that only draft 3 names (their checkers are draft 3's); the judge reads `regex` as ECMA-262.
DRAFT_3 = {"host-name", "ip-address", "color"}


def conforms(value: str, name: str) -> bool:
    """The judge's verdict on `value` under format `name`, in the draft that names the format."""
    draft = "http://json-schema.org/draft-03/schema#" if name in DRAFT_3 else "https://json-schema.org/draft/2020-12/schema"
    return validator_for({"$schema": draft, "format": name}).is_valid(value)


@pytest.fixture(scope="module")
def format_dfas():
    return {name: build_dfa(string_node(format=name)) for name in sorted(SUPPORTED_FORMATS)}


def test_supported_formats_have_checkers():
    assert {"date", "time", "date-time", "duration", "uuid", "email", "ipv4", "ipv6", "hostname", "uri"} <= SUPPORTED_FORMATS
    assert SUPPORTED_FORMATS - DRAFT_3 <= set(CHECKER.checkers)
    assert DRAFT_3 <= set(Draft3Validator.FORMAT_CHECKER.checkers)


@pytest.mark.parametrize("name", sorted(VALID_EXAMPLES))
def test_format_accepts_common_valid_values(name, format_dfas):
    for value in VALID_EXAMPLES[name]:
        assert conforms(value, name), (name, value)  # the examples themselves are right
        assert format_dfas[name].matches(dumps(value)), (name, value)


@pytest.mark.parametrize("name", sorted(INVALID_EXAMPLES))
def test_format_rejects_invalid_values(name, format_dfas):
    for value in INVALID_EXAMPLES[name]:
        assert not conforms(value, name), (name, value)
        assert not format_dfas[name].matches(dumps(value)), (name, value)


@pytest.mark.parametrize("name", sorted(SUPPORTED_FORMATS))
def test_format_random_walks_pass_the_checker(name, format_dfas):
    rng = random.Random(name)
    for _ in range(150):
        text = random_walk(format_dfas[name], rng, stop=0.1, soft_limit=80)
        value = json.loads(text)
        assert isinstance(value, str)
        assert conforms(value, name), (name, value)


def test_dates_cover_every_calendar_day():
    import datetime

    dfa = build_dfa(format_node("date"))
    day = datetime.date(1999, 1, 1)
    while day.year < 2002:
        assert dfa.matches(day.isoformat().encode())
        day += datetime.timedelta(days=1)
    for year in [1600, 1700, 1900, 2000, 2100, 2400, 4, 100, 400]:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        assert dfa.matches(f"{year:04d}-02-29".encode()) == leap, year


def test_format_with_pattern_and_length():
    dfa = build_dfa(string_node(format="date", max_length=10, min_length=10))
    assert dfa.matches(b'"2024-05-06"')
    if HAVE_REGEX:
        dfa = build_dfa(string_node(format="date", pattern="^2024-"))
        assert dfa.matches(b'"2024-05-06"') and not dfa.matches(b'"2023-05-06"')


def test_implied_length_bounds_cost_nothing_and_hopeless_ones_are_refused():
    plain = build_dfa(string_node(format="email"))
    bounded = build_dfa(string_node(format="email", min_length=3, max_length=254))
    assert bounded.n_states == plain.n_states  # every address of the language is at most 254 long
    with pytest.raises(SchemaTooLargeError) as err:
        string_node(format="uri", max_length=2048, pointer="/properties/u")
    assert err.value.keyword == "maxLength" and err.value.pointer == "/properties/u"


def test_a_hopeless_length_bound_keeps_the_output_to_shorter_strings_and_says_so():
    """In the output form (never complemented) a length bound too large to multiply by the
    format's automaton becomes the longest one that fits, and the notes say which; a language
    that may be complemented (a `not`, check mode) is still refused rather than shrunk."""
    schema = {"type": "object", "properties": {"u": {"type": "string", "format": "uri", "maxLength": 2048}}}
    result = compile_schema_ir(schema)
    [note] = [n for n in result.notes if n.startswith("string at")]
    limit = int(note.split("limited to ")[1].split()[0])
    assert note.startswith("string at /properties/u") and "maxLength 2048" in note and 0 < limit < 2048
    dfa = build_dfa(result.node)
    url = "http://a.b/" + "c" * (limit - 11)
    assert dfa.matches(b'{"u":"http://a.b/c"}') and dfa.matches(f'{{"u":"{url}"}}'.encode())
    assert not dfa.matches(f'{{"u":"{url}c"}}'.encode())
    assert_sound(schema, ['{"u":"http://a.b/c"}'])
    with pytest.raises(SchemaTooLargeError):
        compile_schema_ir({"oneOf": [schema["properties"]["u"], {"type": "string", "pattern": "^h"}]})


@pytest.mark.parametrize("name", sorted(DRAFT_3))
@pytest.mark.parametrize("draft", ["http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-07/schema#",
                                   "https://json-schema.org/draft/2020-12/schema"])
def test_draft_3_format_names_are_annotations_in_later_drafts(name, draft):
    """Only draft 3 defines `color`, `host-name` and `ip-address`: in a later draft the judge lets any
    string pass, so the output may be any string, and the notes say the name was read as an annotation.
    Under draft 3 the format holds."""
    schema = {"$schema": draft, "type": "string", "format": name}
    result = compile_schema_ir(schema)
    assert f"format {name!r} at /format is draft 3's: ignored as an annotation in later drafts" in result.notes
    dfa = build_dfa(result.node)
    for value in ["not one!", "", VALID_EXAMPLES[name][0]]:
        assert validator_for(schema).is_valid(value)
        assert dfa.matches(dumps(value)), value
    draft3 = {**schema, "$schema": "http://json-schema.org/draft-03/schema#"}
    result = compile_schema_ir(draft3)
    assert not any("draft 3's" in n for n in result.notes)
    assert not build_dfa(result.node).matches(dumps("not one!"))
    assert not validator_for(draft3).is_valid("not one!")


def test_unknown_format_is_a_named_error():
    with pytest.raises(UnsupportedSchemaError) as err:
        string_node(format="utc-millisec", pointer="/properties/c")
    assert err.value.keyword == "format" and err.value.pointer == "/properties/c" and "utc-millisec" in str(err.value)


@settings(max_examples=300, deadline=None)
@given(
    lo=st.one_of(st.none(), st.floats(-1e30, 1e30, allow_nan=False), st.integers(-10**6, 10**6)),
    hi=st.one_of(st.none(), st.floats(-1e30, 1e30, allow_nan=False), st.integers(-10**6, 10**6)),
    strict=st.booleans(),
    value=st.floats(allow_nan=False, allow_infinity=False),
)
def test_bounded_numbers_in_exponent_form_follow_the_judge(lo, hi, strict, value):
    """json.dumps writes tiny and huge floats with an exponent: bounded numbers accept
    them when their decade lies inside the bounds, and never accept an invalid one."""
    keywords = {}
    if lo is not None:
        keywords["exclusiveMinimum" if strict else "minimum"] = lo
    if hi is not None:
        keywords["maximum"] = hi
    schema = {"type": "number", **keywords}
    node = number_node(**{_SNAKE[k]: v for k, v in keywords.items()})
    text = json.dumps(value)
    accepted = build_dfa(node).matches(text.encode())
    valid = Draft202012Validator(schema).is_valid(json.loads(text))
    assert not accepted or valid, (schema, text)
    if valid and "e" in text and lo is not None and hi is None and lo <= 0 and 1e-300 < value < 1e300:
        assert accepted, (schema, text)  # e.g. minimum 0 and 4.15e+207


_SNAKE = {"minimum": "minimum", "maximum": "maximum", "exclusiveMinimum": "exclusive_minimum"}


@settings(max_examples=40, deadline=None)
@given(lo=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
       hi=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)), strict=st.booleans())
def test_the_decades_found_by_bisection_are_those_a_scan_finds(lo, hi, strict):
    """`exponents._decades` bisects each side; the definition, exponent by exponent, agrees."""
    from structgen.schema import exponents
    from structgen.schema.bounds import Bounds

    bounds = (Bounds(None if strict else lo, hi, lo if strict else None, None, ""),)
    for negative in (False, True):
        def inside(e):
            low = Fraction(10) ** e * (1 - exponents._DECADE_MARGIN)
            high = Fraction(10) ** (e + 1) * (1 + exponents._DECADE_MARGIN)
            low, high = (-high, -low) if negative else (low, high)
            return all((b.lo is None or b.lo < low) and (b.hi is None or high < b.hi) for b in bounds)

        found = [e for e in range(-exponents._MAX_DECADE, exponents._MAX_DECADE + 1) if inside(e)]
        assert exponents._decades(bounds, negative) == ((found[0], found[-1]) if found else None)
