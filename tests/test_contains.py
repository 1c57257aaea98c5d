"""`contains`, `minContains`, `maxContains`, exactly (issue 11).

An array is valid when the number of its items that match `contains` lies in
[minContains (default 1), maxContains]; `minContains`/`maxContains` without
`contains` (and in drafts 6 and 7) are no constraint, and drafts 3 and 4 have
no `contains` at all. The compiler counts: matching items are counted, the
others (the complement, taken over the canonical domain) are not.

* the JSON Schema Test Suite's contains, minContains and maxContains cases,
  draft 2020-12 and draft 7, instance by instance;
* hypothesis: random array schemas with `contains`; instances drawn valid are
  accepted, mutants (one match missing, one match too many, an item that
  breaks `items`) rejected, and random walks of the automaton are valid for
  the judge (`structgen.judge.validator_for`);
* the interactions: prefixItems, items: false, minItems/maxItems, boolean
  schemas, `contains` in anyOf/oneOf/allOf branches, several `contains` in one
  conjunction, drafts, recursion and size refusals.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsonschemabench.testsuite import instance_text, select_cases
from structgen.automata.budget import CompileBudget, metered
from structgen.automata.dfa import build_dfa
from structgen.errors import SchemaTooLargeError, UnsatisfiableSchemaError, UnsupportedSchemaError
from structgen.judge import validator_for
from structgen.schema import compile_schema_ir

DRAFT7 = "http://json-schema.org/draft-07/schema#"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT2019 = "https://json-schema.org/draft/2019-09/schema"


def automaton(schema, **kw):
    return build_dfa(compile_schema_ir(schema, **kw).node)


def text(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def walks(dfa, n: int, seed: int = 0, stop: float = 0.3, budget: int = 300) -> list[str]:
    """`n` random accepted texts (as `test_schema_compiler.random_walk` makes them: random live
    moves, heading for acceptance after `budget` bytes), the distances computed once."""
    trans = dfa.trans
    dist = np.full(dfa.n_states, -1)
    dist[dfa.accept] = 0
    frontier, d = np.flatnonzero(dfa.accept), 0
    while frontier.size:
        d += 1
        reached = np.isin(trans, frontier).any(axis=1) & (dist < 0)
        dist[reached] = d
        frontier = np.flatnonzero(reached)
    class_bytes: dict[int, list[int]] = {}
    for b in range(256):
        class_bytes.setdefault(int(dfa.byte_class[b]), []).append(b)
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        data, state = bytearray(), 0
        while True:
            if dfa.accept[state] and (rng.random() < stop or len(data) > budget):
                break
            moves = [(c, int(t)) for c, t in enumerate(trans[state].tolist()) if t >= 0]
            if len(data) > budget:
                moves = [(c, t) for c, t in moves if dist[t] < dist[state]]
            if not moves:  # an accepting state with no way on
                break
            c, state = rng.choice(moves)
            data.append(rng.choice(class_bytes[c]))
        out.append(data.decode())
    return out


def assert_walks_valid(schema, dfa=None, n: int = 60, seed: int = 0, **kw):
    """Random walks of the automaton are valid instances for the judge."""
    dfa = dfa or automaton(schema, **kw)
    judge = validator_for(schema)
    for out in walks(dfa, n, seed):
        assert judge.is_valid(json.loads(out)), (schema, out)


# ------------------------------------------------------------------ the JSON Schema Test Suite

SUITE = [case for _, case in select_cases(["draft2020-12", "draft7"], ["contains", "minContains", "maxContains"])]


@pytest.mark.parametrize("case", SUITE, ids=lambda c: f"{c.draft}/{c.category}/{c.description}")
def test_json_schema_test_suite(case):
    judge = validator_for(case.schema)
    for test in case.tests:  # the judge is the reference: it agrees with the suite
        assert judge.is_valid(test.instance) == test.valid, test.description
    try:
        dfa = automaton(case.schema)
    except UnsupportedSchemaError:  # refusing is right only where nothing is valid
        assert not any(t.valid for t in case.tests), case.description
        return
    for test in case.tests:
        assert dfa.matches(instance_text(test.instance, case.schema).encode()) == test.valid, test.description
    assert_walks_valid(case.schema, dfa, n=20)


def test_the_suite_selection_is_not_empty():
    assert {(c.draft, c.category) for c in SUITE} == {
        ("draft2020-12", "contains"), ("draft2020-12", "minContains"), ("draft2020-12", "maxContains"),
        ("draft7", "contains")}


# ------------------------------------------------------------------ counting


@pytest.mark.parametrize("lo, hi", [(0, None), (1, None), (2, None), (0, 0), (0, 1), (1, 1), (2, 3), (3, 5)])
def test_the_count_is_exact(lo, hi):
    schema = {"type": "array", "contains": {"const": 1}, "minContains": lo}
    if hi is not None:
        schema["maxContains"] = hi
    dfa = automaton(schema)
    for n_match in range(8):
        for n_other in range(3):
            for order in range(3):
                items = [1] * n_match + [2, "x", {"a": 1}][:n_other]
                random.Random(order).shuffle(items)
                ok = n_match >= lo and (hi is None or n_match <= hi)
                assert dfa.matches(text(items).encode()) == ok, (schema, items)
    assert_walks_valid(schema, dfa)


def test_items_that_do_not_match_keep_every_form_of_the_kinds_contains_cannot_match():
    """Only the kinds `contains` might match need the canonical domain: the others are written as `items` allows."""
    schema = {"type": "array", "contains": {"type": "integer", "minimum": 5}}
    dfa = automaton(schema)
    assert dfa.matches(b'[{"b":1,"a":2},5]')  # any member order for objects
    assert dfa.matches(b'["x",[1.0],7]')
    assert dfa.matches(b'[5]') and dfa.matches(b'[1.5,"a",6]')
    assert not dfa.matches(b'[4,{"b":5}]')
    assert not dfa.matches(b'[]')
    compiled = compile_schema_ir(schema)
    assert any("canonical" in note for note in compiled.notes)


def test_canonical_numbers_that_do_not_match():
    schema = {"type": "array", "contains": {"const": 1}, "maxContains": 1}
    dfa = automaton(schema)
    assert dfa.matches(b"[1,2,1.5,-3]")
    assert not dfa.matches(b"[1,1]")
    assert not dfa.matches(b"[1,1.0]")  # 1.0 is 1: never taken for an item that does not match
    assert not dfa.matches(b"[1,1e0]")
    assert_walks_valid(schema, dfa)


def test_contains_with_items_and_prefix_items():
    schema = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}],
              "items": {"type": "integer", "multipleOf": 2}, "contains": {"type": "integer", "minimum": 10},
              "maxContains": 1}
    dfa = automaton(schema)
    assert dfa.matches(b'["a",10,2,4]')
    assert dfa.matches(b'["a",1,12]')
    assert not dfa.matches(b'["a",10,12]')  # two matches
    assert not dfa.matches(b'["a",1,2]')  # none
    assert not dfa.matches(b'["a",11,3]')  # 3 breaks items
    assert not dfa.matches(b'[10]')  # the prefix item 0 is a string
    assert_walks_valid(schema, dfa)


def test_items_false_bounds_the_count():
    schema = {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False,
              "contains": {"type": "string"}}
    dfa = automaton(schema)
    assert dfa.matches(b'[1,"a"]')
    assert not dfa.matches(b"[1]")
    assert not dfa.matches(b'[1,"a",2]')
    no_room = automaton({"prefixItems": [{}], "items": False, "contains": {"type": "string"}, "minContains": 2})
    assert not no_room.matches(b'["a"]') and not no_room.matches(b'["a","b"]')
    assert no_room.matches(b'"a"')  # two strings cannot fit: only the other kinds are left


def test_min_and_max_items_meet_the_count():
    schema = {"type": "array", "contains": {"type": "null"}, "minContains": 2, "minItems": 3, "maxItems": 4}
    dfa = automaton(schema)
    assert dfa.matches(b"[null,null,1]")
    assert dfa.matches(b"[null,null,null,null]")
    assert not dfa.matches(b"[null,null]")
    assert not dfa.matches(b"[null,1,2]")
    assert not dfa.matches(b"[null,null,1,2,3]")
    assert_walks_valid(schema, dfa)


def test_flexible_whitespace():
    schema = {"type": "array", "contains": {"const": "x"}, "minContains": 2, "maxContains": 2}
    dfa = automaton(schema, whitespace="flexible")
    assert dfa.matches(b'[ "x" , 1 ,\n"x" ]')
    assert dfa.matches(b'["x","x"]')
    assert not dfa.matches(b'[ "x" ]')
    assert not dfa.matches(b'[ "x" , "x" , "x" ]')
    assert_walks_valid(schema, dfa)


def test_many_items_of_a_large_kind_are_counted_on_a_small_frame(byte_vocab):
    """The counts are checked on a frame with one byte per class of item, and the items are spliced
    in (`ir.Splice`): the item automata are not multiplied by the 64 positions (this schema's whole
    DFA had 224,000 states and took seconds and a gigabyte to build)."""
    import structgen
    from structgen.automata import ir

    schema = {"type": "array", "minItems": 3, "maxItems": 64, "contains": {"type": "integer", "minimum": 3}}
    node = compile_schema_ir(schema).node
    frames = [n.frame for n in _nodes(node) if isinstance(n, ir.Splice)]
    assert frames and max(f.n_states for f in frames) < 1_000
    constraint = structgen.compile_json_schema(schema, byte_vocab)
    judge = validator_for(schema)
    rng = random.Random(0)
    pool = [0, 3, 7, -4, "a", None, [1, {"b": [2]}], {"c": [3]}, 2.5]
    for n in (0, 2, 3, 4, 63, 64, 65):
        for _ in range(4):
            value = [rng.choice(pool) for _ in range(n)]
            assert constraint.accepts_text(text(value).encode()) == judge.is_valid(value), value


def test_a_large_counted_array_in_a_counted_object_is_spliced_there_too(byte_vocab):
    """The fuzz schema (seed 203) that ran the fuzzer out of memory: the same array as a member of an object
    counted by `maxProperties`, which built the whole object (that array's 224,000 states inside)."""
    import structgen
    from structgen.automata import ir

    array = {"type": "array", "minItems": 3, "maxItems": 64, "contains": {"type": "integer", "minimum": 3}}
    schema = {"type": "object", "properties": {"c": array, "b": {"type": "integer"}}, "maxProperties": 1}
    frames = [n.frame for n in _nodes(compile_schema_ir(schema).node) if isinstance(n, ir.Splice)]
    assert len(frames) >= 2 and max(f.n_states for f in frames) < 1_000
    constraint = structgen.compile_json_schema(schema, byte_vocab)
    judge = validator_for(schema)
    for value in [{}, {"b": 1}, {"c": [3, 0, 0]}, {"c": [0, 0, 0]}, {"c": [3] * 64}, {"c": [3] * 65},
                  {"b": 1, "c": [3, 3, 3]}, {"a": None}, {"c": [3, 3]}]:
        assert constraint.accepts_text(text(value).encode()) == judge.is_valid(value), value


def _nodes(node):
    from structgen.automata import ir

    seen, todo = set(), [node]
    while todo:
        n = todo.pop()
        if id(n) not in seen:
            seen.add(id(n))
            yield n
            todo.extend(ir.children(n))


# ------------------------------------------------------------------ boolean schemas, bounds, drafts


@pytest.mark.parametrize("schema, valid, invalid", [
    ({"contains": True}, ["[1]", "[1,2]", "{}", "3"], ["[]"]),
    ({"contains": False}, ["{}", '"s"'], ["[]", "[1]"]),
    ({"contains": False, "minContains": 0}, ["[]", "[1,2]"], []),
    ({"contains": False, "minContains": 0, "maxContains": 0}, ["[]", "[1]"], []),
    ({"contains": True, "minContains": 2, "maxContains": 3}, ["[1,2]", "[1,2,3]"], ["[1]", "[1,2,3,4]"]),
    ({"contains": {}, "maxContains": 1, "minContains": 0}, ["[]", "[1]"], ["[1,2]"]),
    ({"contains": {"const": 1}, "minContains": 3, "maxContains": 2}, ["{}", "1"], ["[]", "[1,1]", "[1,1,1]"]),
    ({"minContains": 2}, ["[]", "[1]"], []),
    ({"maxContains": 0}, ["[1,2]"], []),
    ({"contains": {"const": 1}, "minContains": 0}, ["[]", "[2]", "[1,1,1]"], []),
    ({"contains": {"const": 1}, "minContains": 0, "maxContains": 1}, ["[]", "[2]", "[1,2]"], ["[1,1]"]),
    ({"contains": {"const": 1}, "minContains": 2.0, "maxContains": 2.0}, ["[1,1]"], ["[1]", "[1,1,1]"]),
    # drafts: 2019-09 has minContains; 7 only contains; 4 none of them
    ({"$schema": DRAFT2019, "contains": {"const": 1}, "minContains": 2}, ["[1,1]"], ["[1]"]),
    ({"$schema": DRAFT7, "contains": {"const": 1}, "minContains": 2, "maxContains": 0}, ["[1]", "[1,1]"], ["[2]"]),
    ({"$schema": DRAFT4, "contains": {"const": 1}}, ["[]", "[2]"], []),
])
def test_boolean_schemas_bounds_and_drafts(schema, valid, invalid):
    judge = validator_for(schema)
    dfa = automaton(schema)
    for t in valid:
        assert judge.is_valid(json.loads(t)) and dfa.matches(t.encode()), (schema, t)
    for t in invalid:
        assert not judge.is_valid(json.loads(t)) and not dfa.matches(t.encode()), (schema, t)


@pytest.mark.parametrize("draft", [DRAFT7, DRAFT2019, None])
def test_prefix_items_is_a_keyword_from_2020_12_on(draft):
    """Before 2020-12 `prefixItems` is no keyword: `items` applies to every item, and so does the count."""
    schema = {"type": "array", "prefixItems": [True], "items": {"type": "integer"}, "contains": {"const": 1}}
    if draft:
        schema["$schema"] = draft
    dfa = automaton(schema)
    assert dfa.matches(b"[1.5,1]") == (draft is None) == validator_for(schema).is_valid([1.5, 1])
    assert dfa.matches(b"[2,1]")
    assert_walks_valid(schema, dfa, n=20)


def test_min_and_max_contains_belong_to_the_schema_object_that_holds_contains():
    """The judge reads minContains/maxContains beside `contains`, not from another allOf part."""
    schema = {"allOf": [{"contains": {"const": 1}}, {"minContains": 2, "maxContains": 2}]}
    dfa = automaton(schema)
    assert dfa.matches(b"[1]") and dfa.matches(b"[1,1,1]")
    assert not dfa.matches(b"[2]")


# ------------------------------------------------------------------ combinators


def test_several_contains_in_one_conjunction_are_counted_together():
    schema = {"type": "array", "maxItems": 4, "allOf": [
        {"contains": {"type": "integer"}, "minContains": 2},
        {"contains": {"minimum": 5}, "maxContains": 1},  # strings match `minimum` too
    ]}
    dfa = automaton(schema)
    judge = validator_for(schema)
    pool = [1, 7, 5.5, "s", None]
    rng = random.Random(1)
    for _ in range(400):
        items = [rng.choice(pool) for _ in range(rng.randint(0, 5))]
        assert dfa.matches(text(items).encode()) == judge.is_valid(items), items
    assert_walks_valid(schema, dfa)


def test_the_same_contains_twice_is_counted_once_with_both_bounds():
    shared = {"const": 1}
    schema = {"allOf": [{"contains": shared, "minContains": 2}, {"contains": shared, "maxContains": 3}]}
    dfa = automaton(schema)
    assert [dfa.matches(text([1] * n).encode()) for n in range(5)] == [False, False, True, True, False]


def test_more_contains_than_can_be_counted_at_once_are_refused_by_name():
    schema = {"type": "array", "allOf": [{"contains": {"const": i}} for i in range(4)]}
    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema_ir(schema)
    assert info.value.keyword == "contains" and "conjunction" in info.value.reason
    lenient = compile_schema_ir(schema, strict=False)
    assert ("contains", "/allOf/3") in lenient.ignored


@pytest.mark.parametrize("schema", [
    {"anyOf": [{"type": "array", "contains": {"const": 1}}, {"type": "array", "contains": {"const": 2},
                                                              "minContains": 2}], "maxItems": 3},
    {"oneOf": [{"type": "array", "contains": {"const": 1}}, {"type": "array", "contains": {"const": 2}}]},
    {"oneOf": [{"type": "array", "contains": {"type": "string"}}, {"type": "array", "items": {"type": "string"}}]},
    {"oneOf": [{"contains": {"required": ["x"]}}, {"type": "array", "maxItems": 2}]},
    {"type": "array", "items": {"type": "integer"},
     "oneOf": [{"contains": {"const": 1}, "maxContains": 1}, {"contains": {"const": 2}}]},
    {"if": {"type": "array", "minItems": 2}, "then": {"contains": {"const": 0}}, "else": {"type": "array"}},
])
def test_contains_in_branches(schema):
    """The engine accepts only valid arrays, and every valid one in the canonical domain (objects
    with names the schema mentions: overlapping oneOf branches keep to it too)."""
    dfa = automaton(schema)
    judge = validator_for(schema)
    names = _names(schema)
    pool = [0, 1, 2, "s", {"x": 1}]
    rng = random.Random(0)
    for _ in range(300):
        items = [rng.choice(pool) for _ in range(rng.randint(0, 4))]
        accepted, valid = dfa.matches(text(items).encode()), judge.is_valid(items)
        assert accepted <= valid, (schema, items)
        if _in_domain(items, names):
            assert accepted == valid, (schema, items)
    assert_walks_valid(schema, dfa)


def test_one_of_branches_that_differ_only_in_contains():
    """A oneOf whose branches overlap where both counts hold: arrays with a 1 and a 2 are in neither."""
    schema = {"oneOf": [{"contains": {"const": 1}}, {"contains": {"const": 2}}], "type": "array"}
    dfa = automaton(schema)
    assert dfa.matches(b"[1]") and dfa.matches(b"[2,3]")
    assert not dfa.matches(b"[1,2]") and not dfa.matches(b"[]")


def test_nested_contains():
    schema = {"type": "array", "contains": {"type": "array", "contains": {"const": 1}, "maxContains": 1},
              "maxContains": 1}
    dfa = automaton(schema)
    assert dfa.matches(b"[[1],[1,1]]")
    assert dfa.matches(b"[[1,2],3]")
    assert not dfa.matches(b"[[1],[1]]")
    assert not dfa.matches(b"[[1,1]]")
    assert_walks_valid(schema, dfa)


def test_enum_of_arrays_filtered_by_contains():
    schema = {"enum": [[1, 2], [2, 2], [1, 1], "x"], "contains": {"const": 1}, "maxContains": 1}
    dfa = automaton(schema)
    assert [dfa.matches(t) for t in (b"[1,2]", b"[2,2]", b"[1,1]", b'"x"')] == [True, False, False, True]


def test_contains_in_objects_under_one_of():
    """Property names met only under `contains` inside a oneOf branch: the branches stay exact."""
    schema = {"oneOf": [{"type": "array", "contains": {"type": "object", "required": ["y"],
                                                      "properties": {"y": {"const": 1}}}},
                        {"type": "array", "items": {"type": "object"}}]}
    dfa = automaton(schema)
    assert not dfa.matches(b'[{"y":1}]')  # both branches
    assert_walks_valid(schema, dfa)


def test_negated_contains_is_exact_or_refused():
    schema = {"type": "array", "not": {"contains": {"const": 1}}}
    try:
        dfa = automaton(schema)
    except UnsupportedSchemaError as error:
        assert error.keyword in ("not", "contains")
        return
    assert dfa.matches(b"[2,3]") and not dfa.matches(b"[2,1]")
    assert_walks_valid(schema, dfa)


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("schema, pointer", [
    ({"$defs": {"t": {"type": "array", "contains": {"$ref": "#/$defs/t"}}}, "$ref": "#/$defs/t"}, "/$defs/t"),
    ({"$defs": {"t": {"type": "array", "items": {"type": "array"}, "contains": {"$ref": "#/$defs/t"}}},
      "$ref": "#/$defs/t"}, "/$defs/t"),
    ({"$defs": {"n": {"type": "object", "properties": {"k": {
        "type": "array", "items": {"$ref": "#/$defs/n"}, "contains": {"type": "object", "required": ["v"]}}}}},
      "$ref": "#/$defs/n"}, "/$defs/n/properties/k"),
])
def test_recursive_items_or_contains_are_refused_by_name(schema, pointer):
    with pytest.raises(UnsupportedSchemaError) as info:
        compile_schema_ir(schema)
    assert (info.value.keyword, info.value.pointer) == ("contains", pointer)
    assert "recursive" in info.value.reason
    assert compile_schema_ir(schema, strict=False).ignored == [("contains", pointer)]


def test_too_many_states_is_refused_by_size():
    # the frame counts to 30,000: more states than the budget (the item automata fit in it)
    schema = {"type": "array", "contains": {"type": "string", "minLength": 3}, "minContains": 30_000}
    with metered(CompileBudget(max_states=20_000), "schema"):
        with pytest.raises(SchemaTooLargeError):
            compile_schema_ir(schema)


# ------------------------------------------------------------------ hypothesis

# Small pools, so that items, `contains` and the instances meet often. Every value is canonical
# (one text per value in the output form): what the counted and the uncounted items both accept.
VALUES = [0, 1, 2, 3, 5, 6, -1, 1.5, 10, "", "a", "ab", "xyz", None, True, False, [], [1], [1, "a"], {},
          {"a": 1}, {"a": "x"}, {"b": 2}]
ITEM_SCHEMAS = [True, {"type": "integer"}, {"type": ["integer", "string"]}, {"not": {"type": "null"}},
                {"type": "string", "maxLength": 2}, {"minimum": 1}, {"enum": [1, 2, "a", None]},
                {"type": "object"}, {"type": "array", "maxItems": 1}]
CONTAINS_SCHEMAS = [True, False, {}, {"const": 1}, {"type": "integer", "minimum": 2}, {"type": "string"},
                    {"minimum": 3}, {"multipleOf": 2}, {"enum": [1, "a", None]}, {"type": "null"},
                    {"type": "object", "required": ["a"]}, {"properties": {"a": {"type": "integer"}}},
                    {"type": "array", "contains": {"const": 1}}, {"anyOf": [{"const": 2}, {"type": "boolean"}]},
                    {"not": {"type": "integer"}}, {"type": "string", "pattern": "^a"}]

counts = st.integers(0, 3)


@st.composite
def array_schemas(draw):
    schema: dict = {"type": "array", "contains": draw(st.sampled_from(CONTAINS_SCHEMAS))}
    if draw(st.booleans()):
        schema["items"] = draw(st.sampled_from(ITEM_SCHEMAS))
    if draw(st.integers(0, 3)) == 0:
        schema["prefixItems"] = draw(st.lists(st.sampled_from(ITEM_SCHEMAS), min_size=1, max_size=2))
    for key in ("minContains", "maxContains", "minItems", "maxItems"):
        if draw(st.booleans()):
            schema[key] = draw(counts)
    if draw(st.integers(0, 4)) == 0:
        schema["$schema"] = DRAFT7
    return schema


@st.composite
def valid_instances(draw, schema):
    """A valid array of the schema built from the pools, or None when the pools hold none."""
    judge = validator_for(schema)
    contains = validator_for({"$schema": schema.get("$schema", DRAFT2019), **_as_schema(schema["contains"])})
    draft7 = schema.get("$schema") == DRAFT7
    prefix = [] if draft7 else schema.get("prefixItems", [])  # 2020-12's: in draft 7 `items` is for every item
    rest = schema.get("items", True)
    lo = 1 if draft7 else schema.get("minContains", 1)
    hi = None if draft7 else schema.get("maxContains")
    if schema.get("minItems", 0) > min(schema.get("maxItems", 6), 6):
        return None
    length = draw(st.integers(schema.get("minItems", 0), min(schema.get("maxItems", 6), 6)))
    items = []
    for i in range(length):
        at = validator_for(_as_schema(prefix[i] if i < len(prefix) else rest))
        fits = [v for v in VALUES if at.is_valid(v)]
        if not fits:
            return None
        items.append(draw(st.sampled_from(fits)))
    matched = sum(map(contains.is_valid, items))
    if matched < lo or (hi is not None and matched > hi):
        return None
    assert judge.is_valid(items)
    return items


def _as_schema(s):
    return s if isinstance(s, dict) else ({} if s else {"not": {}})


CASES = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                        HealthCheck.data_too_large])


def _names(schema) -> set:
    """Every property name a schema mentions (`properties`, `required`), at any depth."""
    found: set = set()
    stack = [schema]
    while stack:
        s = stack.pop()
        if isinstance(s, dict):
            found.update(s.get("properties", {}) if isinstance(s.get("properties"), dict) else ())
            found.update(s.get("required", ()))
            stack.extend(s.values())
        elif isinstance(s, list):
            stack.extend(s)
    return found


def _in_domain(value, names: set) -> bool:
    """Is `value` in the canonical domain of a schema that mentions `names` (the pools' numbers
    are canonical; objects must hold mentioned names only, in sorted order)?"""
    if isinstance(value, dict):
        return list(value) == sorted(value) and set(value) <= names and all(
            _in_domain(v, names) for v in value.values())
    if isinstance(value, list):
        return all(_in_domain(v, names) for v in value)
    return True


def _compiled_or_none(schema, **kw):
    try:
        return automaton(schema, **kw)
    except UnsatisfiableSchemaError:  # no array is valid (`type: array` leaves nothing else)
        return None


@CASES
@given(schema=array_schemas(), data=st.data())
def test_drawn_instances_and_their_mutants(schema, data):
    dfa = _compiled_or_none(schema)
    judge = validator_for(schema)
    contains = validator_for({"$schema": schema.get("$schema", DRAFT2019), **_as_schema(schema["contains"])})
    names = _names(schema)
    for _ in range(4):
        items = data.draw(valid_instances(schema))
        if items is None:
            continue
        assert dfa is not None, (schema, items)
        if _in_domain(items, names):
            assert dfa.matches(text(items).encode()), (schema, items)
        mutants = []
        matching = [i for i, v in enumerate(items) if contains.is_valid(v)]
        if matching:  # one match missing: dropped, or swapped for an item that does not match
            k = data.draw(st.sampled_from(matching))
            mutants.append(items[:k] + items[k + 1:])
            mutants += [items[:k] + [v] + items[k + 1:] for v in VALUES if not contains.is_valid(v)][:3]
        more = [v for v in VALUES if contains.is_valid(v)][:3]  # one match too many
        mutants += [items + [v] for v in more] + [[v] + items for v in more]
        if items:  # an item that breaks `items`
            k = data.draw(st.integers(0, len(items) - 1))
            mutants += [items[:k] + [v] + items[k + 1:] for v in VALUES][:8]
        for mutant in mutants:
            if not judge.is_valid(mutant):
                assert not dfa.matches(text(mutant).encode()), (schema, mutant)
    if dfa is not None:
        for out in walks(dfa, 15):
            assert judge.is_valid(json.loads(out)), (schema, out)


@CASES
@given(schema=array_schemas(), values=st.lists(st.lists(st.sampled_from(VALUES), max_size=5), max_size=8),
       flexible=st.booleans())
def test_engine_and_judge_agree_on_canonical_arrays(schema, values, flexible):
    """On arrays of canonical values the language is the judge's: every one the engine accepts is
    valid, and every valid one whose objects hold names the schema mentions is accepted."""
    dfa = _compiled_or_none(schema, whitespace="flexible" if flexible else "compact")
    judge = validator_for(schema)
    names = _names(schema)
    for items in values:
        valid = judge.is_valid(items)
        accepted = dfa is not None and dfa.matches(text(items).encode())
        assert accepted <= valid, (schema, items)
        if _in_domain(items, names):
            assert accepted == valid, (schema, items)
