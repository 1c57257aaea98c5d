"""`uniqueItems` as a checked constraint: judged against `jsonschema` (`structgen.judge`), never against itself.

The arrays it applies to (`structgen.schema.unique`), the Test Suite's
`uniqueItems` cases walked token by token through a real vocabulary, duplicate
and distinct arrays drawn by hypothesis, random walks of the masks, the
liveness of arrays whose items run out, and sampling with a model.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import structgen
from structgen.checks import CheckedConstraint
from structgen.errors import UnsupportedSchemaError
from structgen.judge import validator_for
from structgen.schema.unique import unique_paths

sys.path.insert(0, str(Path(__file__).parent))
from fuzzing.checks import walk  # noqa: E402
from fuzzing.texts import compact  # noqa: E402

ENUM = {"type": "array", "items": {"enum": [1, 2]}, "uniqueItems": True}
ANY = {"type": "array", "uniqueItems": True}


def _tokens(c, text: bytes):
    """The byte-vocabulary tokens of `text` (token b is byte b)."""
    return list(text)


def walk_tokens(c, ids) -> bool:
    """Do the tokens `ids` take `c` from its start to an accepting state, mask and advance agreeing at each step?"""
    state = c.start()
    for t in ids:
        nxt = c.advance(state, t)
        assert bool(c.mask(state)[t]) == (nxt is not None), (state, t)
        if nxt is None:
            return False
        state = nxt
    return c.is_accepting(state)


# -- which arrays are checked


def test_paths_follow_properties_items_refs_and_all_of():
    schema = {"$defs": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
              "properties": {"a": {"$ref": "#/$defs/tags"},
                             "rows": {"prefixItems": [{"uniqueItems": True}], "items": {"$ref": "#/$defs/tags"}}},
              "allOf": [{"properties": {"b": {"additionalProperties": {"uniqueItems": True}}}}]}
    paths = unique_paths(schema).paths
    assert paths == {(("name", "a"),), (("name", "rows"), ("index", 0)), (("name", "rows"), ("from", 1)),
                     (("name", "b"), ("any-name",))}
    assert unique_paths({"items": [{}], "additionalItems": {"uniqueItems": True}}).paths == {(("from", 1),)}
    assert unique_paths({"uniqueItems": True, "maxItems": 1}).paths == frozenset()


def test_arrays_in_a_registry_resource_are_checked(byte_vocab):
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    shared = {"$id": "https://example.com/tags.json", "type": "array", "items": {"type": "string"},
              "uniqueItems": True}
    registry = Registry().with_resource(shared["$id"], DRAFT202012.create_resource(shared))
    c = structgen.compile_json_schema({"properties": {"t": {"$ref": "https://example.com/tags.json"}}}, byte_vocab,
                                      registry=registry)
    assert c.accepts_text(b'{"t":["a","b"]}') and not c.accepts_text(b'{"t":["a","a"]}')


def test_a_branch_is_named_where_no_other_branch_admits_its_kind(byte_vocab):
    schema = {"properties": {"x": {"oneOf": [{"type": "string"}, {"$ref": "#/$defs/u"}, {"enum": [1, None]}]}},
              "$defs": {"u": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}}}
    found = unique_paths(schema)
    assert found.paths == {(("name", "x"),)} and found.checked == {("uniqueItems", "/$defs/u")}
    c = structgen.compile_json_schema(schema, byte_vocab)
    judge = validator_for(schema)
    for text in (b'{"x":["a","a"]}', b'{"x":["a","b"]}', b'{"x":"a"}', b'{"x":null}'):
        assert c.accepts_text(text) == judge.is_valid(json.loads(text)), text


def test_members_named_by_patterns_and_the_others(byte_vocab):
    schema = {"type": "object", "properties": {"a": {"type": "array"}},
              "patternProperties": {"^x": {"type": "array", "uniqueItems": True}},
              "additionalProperties": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}}
    assert unique_paths(schema).paths == {(("pattern", "^x"),), (("other-name", ("a",), ("^x",)),)}
    c = structgen.compile_json_schema(schema, byte_vocab)
    judge = validator_for(schema)
    for text in (b'{"a":[1,1]}', b'{"xy":[1,1]}', b'{"xy":[1,2]}', b'{"b":[1,1]}', b'{"b":[2,1]}',
                 b'{"\\u0078":[1,1]}', b'{"a":[1],"x":[2,2.0]}'):
        assert c.accepts_text(text) == judge.is_valid(json.loads(text)), text


@pytest.mark.parametrize("schema,pointer,why", [
    ({"anyOf": [{"type": ["array", "null"]}, {"type": "array", "uniqueItems": True}]}, "/anyOf/1",
     "another branch admits arrays"),
    ({"anyOf": [{}, {"properties": {"t": {"uniqueItems": True}}}]}, "/anyOf/1/properties/t",
     "another branch admits objects"),
    ({"dependentSchemas": {"a": {"properties": {"t": {"uniqueItems": True}}}}},
     "/dependentSchemas/a/properties/t", "under dependentSchemas"),
    ({"if": {"type": "array"}, "then": {"uniqueItems": True}}, "/then", "under then"),
    ({"$defs": {"n": {"uniqueItems": True, "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}, "/$defs/n",
     "reference cycle"),
])
def test_positions_no_path_names_are_refused(schema, pointer, why, byte_vocab):
    with pytest.raises(UnsupportedSchemaError, match=why) as info:
        structgen.compile_json_schema(schema, byte_vocab)
    assert (info.value.keyword, info.value.pointer) == ("uniqueItems", pointer)
    lenient = structgen.compile_json_schema(schema, byte_vocab, strict=False)  # listed, never enforced silently
    assert any(k == "uniqueItems" for k, _ in lenient.info.ignored) and not isinstance(lenient, CheckedConstraint)


def test_other_refusals_keep_their_keyword_and_pointer(byte_vocab):
    schema = {"type": "object", "patternProperties": {c: {"type": "integer"} for c in "abcdefg"},  # 2^7 overlaps
              "properties": {"t": {"type": "array", "uniqueItems": True}}}
    with pytest.raises(UnsupportedSchemaError) as info:
        structgen.compile_json_schema(schema, byte_vocab)
    assert (info.value.keyword, info.value.pointer) == ("patternProperties", "")
    lenient = structgen.compile_json_schema(schema, byte_vocab, strict=False)
    assert lenient.info.ignored == (("patternProperties", ""),)
    assert isinstance(lenient, CheckedConstraint) and not lenient.accepts_text(b'{"t":[1,1]}')


def test_the_compile_record_names_the_checked_arrays(byte_vocab):
    c = structgen.compile_json_schema({"properties": {"t": {"items": {"type": "integer"}, "uniqueItems": True}}},
                                      byte_vocab)
    assert isinstance(c, CheckedConstraint) and c.info.ignored == ()
    assert c.checked == {("uniqueItems", "/properties/t")}
    assert any("uniqueItems is checked" in n and "/t" in n for n in c.info.notes)
    dfa, result = structgen.compile.schema_automaton(ENUM)
    assert dfa.matches(b"[1,1]")  # the automaton over-approximates; the note says what is checked
    assert any("uniqueItems is checked" in n for n in result.notes) and result.ignored == []


# -- the Test Suite, token by token through a real vocabulary


def _suite_cases():
    from jsonschemabench.datasets import load_test_suite

    return [(draft, case) for draft in ("draft2020-12", "draft7") for case in load_test_suite(draft)
            if case.category == "uniqueItems"]


@pytest.mark.parametrize("draft,case", _suite_cases(), ids=lambda x: getattr(x, "description", x))
def test_test_suite_cases(draft, case, smollm2_tokenizer, smollm2_vocab):
    c = structgen.compile_json_schema(case.schema, smollm2_vocab)
    judge = validator_for(case.schema)
    for test in case.tests:
        text = compact(test.instance)
        ids = smollm2_tokenizer.encode(text.decode(), add_special_tokens=False)
        assert smollm2_vocab.decode(ids) == text
        assert judge.is_valid(test.instance) == test.valid
        assert walk_tokens(c, ids) == test.valid, (test.description, text)
        assert c.accepts_text(text) == test.valid


# -- duplicates and their spellings, judged by jsonschema

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-20, 20), st.sampled_from([0.5, -1.25, 2.0, 10.0]),
                     st.text("abé\"\\", max_size=3))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text("ab", max_size=2), inner, max_size=3), max_leaves=6)


def _mutant(items: list, rng: random.Random) -> list:
    """`items` with a duplicate made one of three ways: a copy, an int written as a float (or back), an object
    with its members reordered."""
    out = list(items)
    source = out[rng.randrange(len(out))]
    how = rng.choice(["copy", "number", "reorder"])
    if how == "number" and isinstance(source, (int, float)) and not isinstance(source, bool) and source == int(source):
        twin = float(source) if isinstance(source, int) else int(source)
    elif how == "reorder" and isinstance(source, dict) and len(source) > 1:
        twin = dict(reversed(list(source.items())))
    else:
        twin = json.loads(json.dumps(source))
    out.insert(rng.randrange(len(out) + 1), twin)
    return out


@pytest.fixture(scope="module")
def any_items(byte_vocab):
    return structgen.compile_json_schema(ANY, byte_vocab)


@settings(max_examples=150, deadline=None)
@given(items=st.lists(_VALUES, min_size=1, max_size=5), seed=st.integers(0, 2**16))
def test_duplicates_refused_and_distinct_accepted(any_items, items, seed):
    judge = validator_for(ANY)
    for value in (items, _mutant(items, random.Random(seed))):
        text = compact(value)
        assert walk_tokens(any_items, _tokens(any_items, text)) == judge.is_valid(value), text


@pytest.mark.parametrize("text,valid", [
    (b"[1,1.0]", False), (b"[1,1e0]", False), (b"[true,1]", True), (b"[0,-0]", False), (b"[false,0]", True),
    (b'[{"a":1,"b":[2]},{"b":[2.0],"a":1}]', False), (b'["a","\\u0061"]', False), (b"[[1,2],[2,1]]", True),
    (b"[null,{},[],\"\"]", True), (b"[1.0000000000000001,1]", False),
])
def test_json_equality(any_items, text, valid):
    """Equal as JSON values whatever the spelling; the judge agrees on every case."""
    assert validator_for(ANY).is_valid(json.loads(text)) == valid
    assert any_items.accepts_text(text) == valid
    assert walk_tokens(any_items, _tokens(any_items, text)) == valid


# -- liveness: no live state from which every way on is a duplicate


def test_the_last_distinct_item_closes_the_array(byte_vocab):
    c = structgen.compile_json_schema(ENUM, byte_vocab)
    state = c.advance_bytes(c.start(), b"[1,2")
    assert state is not None
    assert c.advance(state, ord(",")) is None and not c.mask(state)[ord(",")]
    assert c.advance(state, ord("]")) is not None and c.mask(state)[ord("]")]
    assert c.forced_bytes(c.advance_bytes(c.start(), b"[1,2.0")) == b"]"  # after "2", ".0" may still follow


def test_items_that_run_out_refuse_the_comma_early(byte_vocab):
    schema = {"type": "array", "items": {"enum": ["ab", "ac", 3]}, "uniqueItems": True, "minItems": 2}
    c = structgen.compile_json_schema(schema, byte_vocab)
    state = c.advance_bytes(c.start(), b'["ab",')
    assert c.advance_bytes(state, b'"ab') is None  # only "ab" can follow: refused before the closing quote
    assert c.advance_bytes(state, b'"a') is not None
    assert c.advance_bytes(c.start(), b'["ab","ac",3,') is None
    assert c.advance_bytes(c.start(), b"[true") is None


@pytest.mark.parametrize("schema,prefix,stranded,fine", [
    ({"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 100}, "uniqueItems": True},
     b"[10,100,1", b"0", b"1"),
    ({"type": "array", "items": {"type": "string", "pattern": "^\\W$"}, "uniqueItems": True, "minItems": 3},
     b'["}","', b"}", b")"),
])
def test_a_large_item_language_that_narrows_to_seen_values(schema, prefix, stranded, fine, smollm2_vocab):
    """Over 64 values (no enumeration from the item's start), yet the prefix leaves only seen ones."""
    c = structgen.compile_json_schema(schema, smollm2_vocab)
    state = c.advance_bytes(c.start(), prefix)
    assert c.advance_bytes(state, stranded) is None and c.advance_bytes(state, fine) is not None
    for text in (stranded, fine):
        token = smollm2_vocab.tokens.index(text)
        assert bool(c.mask(state)[token]) == (c.advance(state, token) is not None) == (text == fine)
    m = c.mask(state)
    sample = np.flatnonzero(m)[:: max(1, int(m.sum()) // 300)]
    assert all(c.advance(state, int(t)) is not None for t in sample)


@pytest.mark.parametrize("schema", [
    {"type": "array", "items": {"type": "boolean"}, "minItems": 3, "uniqueItems": True},
    {"type": "array", "prefixItems": [{"type": "null"}, {"type": "null"}], "minItems": 2, "uniqueItems": True},
])
def test_a_root_array_with_too_few_distinct_items_is_unsatisfiable(schema, byte_vocab):
    assert not any(validator_for(schema).is_valid(v) for v in ([True, False, True], [None, None]))
    with pytest.raises(structgen.UnsatisfiableSchemaError):
        structgen.compile_json_schema(schema, byte_vocab)


def test_a_determined_duplicate_is_refused_where_it_is_determined(any_items):
    state = any_items.advance_bytes(any_items.start(), b'[true,"x",{"a":1},')
    for repeat in (b"t", b'"x"', b'{"a":1}'):
        assert any_items.advance_bytes(state, repeat) is None, repeat
    for fresh in (b"f", b'"x', b'{"a":1,'):
        assert any_items.advance_bytes(state, fresh) is not None, fresh


WALKED = [
    ENUM,
    {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 4}, "uniqueItems": True, "minItems": 3},
    {"type": "object", "properties": {"tags": {"type": "array", "items": {"enum": ["a", "b", "c"]},
                                               "uniqueItems": True},
                                      "grid": {"type": "array", "uniqueItems": True,
                                               "items": {"type": "array", "items": {"type": "boolean"},
                                                         "uniqueItems": True}}},
     "required": ["tags", "grid"]},
    ANY,
]


@pytest.mark.parametrize("index", range(len(WALKED)))
@pytest.mark.parametrize("vocab_name", ["byte_vocab", "smollm2_vocab"])
def test_random_walks_are_valid(index, vocab_name, request):
    schema = WALKED[index]
    c = structgen.compile_json_schema(schema, request.getfixturevalue(vocab_name))
    judge = validator_for(schema)
    rng = random.Random(f"unique-{index}")
    finished = 0
    for _ in range(12):
        text, problems = walk(c, rng, max_tokens=40)
        assert not problems, problems
        if text is not None:
            finished += 1
            assert judge.is_valid(json.loads(text)), text
    assert finished


@pytest.mark.parametrize("sampler", ["awrs", "lcd"])
def test_sampling_writes_distinct_items(tiny_lm, sampler):
    schema = {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 5}, "uniqueItems": True,
              "minItems": 3, "maxItems": 6}
    c = structgen.compile_json_schema(schema, tiny_lm.vocabulary)
    for seed in range(3):
        best = structgen.sample(tiny_lm, c, "numbers", sampler=sampler, seed=seed, max_tokens=40).best()
        assert best.finished, best.text
        value = json.loads(best.text)
        assert validator_for(schema).is_valid(value) and len(set(value)) == len(value) >= 3


def test_masks_are_read_only_and_cached(any_items):
    state = any_items.advance_bytes(any_items.start(), b"[1,")
    m = any_items.mask(state)
    assert not m.flags.writeable and any_items.mask(state) is m
    assert np.array_equal(m, np.array([any_items.advance(state, t) is not None for t in range(len(m))]))


# -- liveness over the rest of the array: what later items need decides the current one

def _live_along(c, text: bytes) -> bool:
    """Walk `text` byte by byte while `c` allows it, asserting at every state reached that mask and advance
    agree on each token the automaton allows and that the state is no dead end; True if all of it was allowed.
    Token b is byte b (`byte_vocab`)."""
    state, eos = c.start(), sorted(c.vocab.eos_token_ids)
    for i in range(len(text) + 1):
        mask = c.mask(state)
        for t in np.flatnonzero(c.inner.mask(state[0])).tolist():
            assert bool(mask[t]) == (c.advance(state, t) is not None), (text[:i], c.vocab.tokens[t])
        assert c.is_accepting(state) or np.delete(mask, eos).any(), f"dead end after {text[:i]!r}"
        if i == len(text) or not mask[text[i]]:
            return i == len(text)
        state = c.advance(state, text[i])
    return True


REST = {"type": "array", "uniqueItems": True,
        "contains": {"type": "array", "minContains": 3, "maxContains": 0,
                     "items": {"type": "array", "minContains": 3, "items": True, "maxContains": 3}},
        "prefixItems": [True, {"type": "string", "pattern": "^\\W$"}, {"type": ["null"]}],
        "$ref": "#/$defs/d0", "$defs": {"d0": {}}}


@pytest.mark.parametrize("schema,stranded,fine", [
    # the fuzzer's (seed 91): index 2 must be null and the array needs an array at index >= 3, so a null at
    # index 0 can never be completed
    (REST, b"[n", [b'["x","#",null,[]]', b'[[],"#",null]', b'[true,"!",null,[[]]]']),
    # after a negative second item (-0 is not one) the third must be 5 for two non-negative numbers: a duplicate
    ({"type": "array", "uniqueItems": True, "prefixItems": [{"const": 5}, {"type": "number"}, {"enum": [5, None]}],
      "items": False, "contains": {"type": "number", "minimum": 0}, "minContains": 2},
     b"[5,-1", [b"[5,0,null]", b"[5,3]", b"[5,-0.0,null]"]),
    # a second item not starting with "a" leaves "ab" as the only third item that meets contains
    ({"type": "array", "uniqueItems": True,
      "prefixItems": [{"const": "ab"}, {"type": "string"}, {"enum": ["ab", None]}], "items": False,
      "contains": {"type": "string", "pattern": "^a"}, "minContains": 2},
     b'["ab","b', [b'["ab","ac",null]', b'["ab","a"]']),
    # a large first item equal to the only value the second may be
    ({"type": "array", "uniqueItems": True, "prefixItems": [{"type": "string"}, {"const": "a"}], "minItems": 2},
     b'["a"', [b'["b","a"]', b'["ab","a"]']),
])
def test_the_rest_of_the_array_decides_the_current_item(schema, stranded, fine, byte_vocab):
    """The byte after which the array can no longer finish is refused where it is written, and no state on the
    way is a dead end; completions the judge accepts are accepted."""
    c = structgen.compile_json_schema(schema, byte_vocab)
    judge = validator_for(schema)
    assert not _live_along(c, stranded)
    assert c.advance_bytes(c.start(), stranded[:-1]) is not None and c.advance_bytes(c.start(), stranded) is None
    for text in fine:
        assert judge.is_valid(json.loads(text)) and _live_along(c, text) and c.accepts_text(text), text
    rng = random.Random(0)
    for _ in range(20):
        text, problems = walk(c, rng, max_tokens=40)
        assert not problems, problems
        assert text is None or judge.is_valid(json.loads(text)), text


def test_the_fuzzer_schema_never_reaches_the_stranded_text(byte_vocab):
    c = structgen.compile_json_schema(REST, byte_vocab)
    assert c.advance_bytes(c.start(), b'[null,"#"') is None
    state = c.advance_bytes(c.start(), b"[")
    assert not c.mask(state)[ord("n")] and c.mask(state)[ord("t")]


_LARGE = [{"type": "string"}, {"type": "integer"}, {"type": ["string", "null"]}, {"type": "number"},
          {"type": "array", "items": {"type": "integer"}}, {"type": "string", "pattern": "^\\W$"}]
_SMALL = [{"const": "a"}, {"enum": [1, None]}, {"type": "null"}, {"enum": ["a", "b"]}, {"type": "boolean"},
          {"const": 1}, {"type": "integer", "minimum": 0, "maximum": 2}, {"enum": [[], "#"]}]
_CONTAINS = [{"const": "a"}, {"type": "integer", "minimum": 2}, {"type": "array"}, {"type": "null"},
             {"type": "string", "pattern": "^a"}]
_POOL = [None, True, False, 0, 1, 2, 3, -1, "a", "b", "", "#", "ab", [], [1], 2.5]


@st.composite
def _rest_schemas(draw):
    """Arrays of distinct items whose later positions may need what an earlier, large item can be."""
    prefix = draw(st.lists(st.sampled_from(_LARGE + _SMALL), min_size=2, max_size=3))
    schema = {"type": "array", "uniqueItems": True, "prefixItems": prefix}
    items = draw(st.sampled_from([False, None] + _SMALL + _LARGE[:1]))
    if items is not None:
        schema["items"] = items
    if draw(st.booleans()):
        schema["minItems"] = draw(st.integers(1, len(prefix) + 1))
    if draw(st.booleans()):
        schema["contains"] = draw(st.sampled_from(_CONTAINS))
        schema["minContains"] = draw(st.integers(1, 2))
    return schema


@settings(max_examples=60, deadline=None)
@given(schema=_rest_schemas(), seed=st.integers(0, 2**16))
def test_arrays_whose_rest_constrains_their_items(schema, seed, byte_vocab):
    """Every prefix of a candidate array that the constraint keeps is live (mask and advance agree, some token
    or the end follows), every candidate is accepted exactly when the judge says valid, and random walks end
    in valid arrays; an unsatisfiable refusal holds no valid candidate."""
    rng = random.Random(seed)
    judge = validator_for(schema)
    named = [v for sub in schema["prefixItems"] + [schema.get("items"), schema.get("contains")] if isinstance(sub, dict)
             for v in sub.get("enum", [sub["const"]] if "const" in sub else [])]
    pool = _POOL + 4 * named  # the values a later position may need, often written early
    candidates = [[rng.choice(pool) for _ in range(rng.randint(1, 4))] for _ in range(40)]
    try:
        c = structgen.compile_json_schema(schema, byte_vocab)
    except structgen.UnsatisfiableSchemaError:
        assert not any(judge.is_valid(v) for v in candidates)
        return
    for value in candidates:
        text = compact(value)
        assert _live_along(c, text) == c.accepts_text(text) == judge.is_valid(value), text
    for _ in range(3):
        text, problems = walk(c, rng, max_tokens=40)
        assert not problems, problems
        assert text is None or judge.is_valid(json.loads(text)), text
