"""Conformance suite of `structgen.ConstraintProtocol`: every implementation, one set of properties.

Constraints are built through the public compile functions (a regex, two
regular schemas, a recursive schema, a schema with `uniqueItems` and a GBNF
grammar: the DFA `Constraint`, the pushdown `GrammarConstraint` and the
`CheckedConstraint` that checks distinct items) over the hand-written
`byte_vocab` (conftest.py), in which every byte is a token, so any text has a
tokenisation and "some byte may follow" is "some non-end token is allowed".

States are reached by seeded random walks: each step draws a byte that an
allowed token starts with, then such a token (end-of-sequence one time in
ten where it is allowed), then the
walk is finished by a breadth-first search over single-byte tokens for an
accepting state. Every property is checked on every state a walk passed
through; the texts of the walks are checked by independent judges:
`re.fullmatch` for the pattern, `jsonschema` (`structgen.judge`) for the
schemas, Python's own expression parser for the arithmetic grammar.
"""

from __future__ import annotations

import ast
import json
import random
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import structgen
from structgen import ConstraintProtocol
from structgen.judge import validator_for

PATTERN = r"(café|[a-z]{1,6})(\.[a-z]{1,6})*@[a-z]{2,8}\.(com|org|net)( #[0-9]{1,3})?"

RECORD = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}

OPTIONAL = {"type": "object", "additionalProperties": False, "properties": {
    "a": {"type": "boolean"}, "b": {"type": "integer", "minimum": 0, "maximum": 99}, "c": {"enum": ["x", "yz", 7]},
    "d": {"type": "null"}, "e": {"type": "string", "maxLength": 3}, "f": {"type": "array", "items": {"type": "boolean"},
                                                                        "maxItems": 2},
    "g": {"const": "café"}, "h": {"type": "number"}}}

TREE = {"$defs": {"node": {"type": "object", "additionalProperties": False, "required": ["value"], "properties": {
    "value": {"type": "integer"},
    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}}}},
    "$ref": "#/$defs/node"}

UNIQUE = {"type": "object", "additionalProperties": False, "required": ["xs"], "properties": {
    "tags": {"type": "array", "items": {"enum": ["a", "b", 1, 1.5]}, "uniqueItems": True},
    "xs": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 3}, "uniqueItems": True,
           "minItems": 2},
    "pairs": {"type": "array", "items": {"type": "array", "items": {"type": "boolean"}, "maxItems": 2},
              "uniqueItems": True}}}

ARITHMETIC = (Path(__file__).parent.parent / "grammars" / "arithmetic.gbnf").read_text()


def _schema_judge(schema):
    validator = validator_for(schema)
    return lambda text: validator.is_valid(json.loads(text))


def _arithmetic_judge(text: bytes) -> bool:
    """A Python expression once ``^`` is ``**`` (the grammar's language is a subset of Python's)."""
    source = text.decode()
    if source != source.strip() or not source:
        return False
    try:
        ast.parse(source.replace("^", "**"), mode="eval")
    except SyntaxError:
        return False
    return True


CASES = {  # name -> (build(vocab), judge(text bytes) -> bool)
    "regex": (lambda v: structgen.compile_regex(PATTERN, v), lambda t: re.fullmatch(PATTERN, t.decode()) is not None),
    "record-schema": (lambda v: structgen.compile_json_schema(RECORD, v), _schema_judge(RECORD)),
    "optional-schema": (lambda v: structgen.compile_json_schema(OPTIONAL, v), _schema_judge(OPTIONAL)),
    "recursive-schema": (lambda v: structgen.compile_json_schema(TREE, v), _schema_judge(TREE)),
    "checked-schema": (lambda v: structgen.compile_json_schema(UNIQUE, v), _schema_judge(UNIQUE)),
    "gbnf": (lambda v: structgen.compile_grammar(ARITHMETIC, v), _arithmetic_judge),
}

WALKS = 16  # random walks per constraint
STEPS = 30  # random steps per walk, before the breadth-first finish
FINISH_NODES = 3000  # states the finishing search may expand
END_CHANCE = 0.1  # how often a walk ends where it may


@dataclass
class Walks:
    """What the random walks saw: the states (in order of discovery), the steps taken, the finished texts."""

    constraint: object
    states: list = field(default_factory=list)
    steps: list = field(default_factory=list)  # (state, token, next state)
    texts: list = field(default_factory=list)  # (tokens, bytes) of walks that ended with end-of-sequence
    finished: list = field(default_factory=list)  # finished states reached


def eos_id(c) -> int:
    return c.vocab.eos_token_ids[0]


def finish(c, state) -> list[int]:
    """The single-byte tokens of a shortest way from `state` to an accepting state.

    Raises AssertionError when none is found within `FINISH_NODES` expanded states: a live state that
    cannot finish (the automaton is not trimmed, or the mask lets a walk into a dead end).
    """
    back = {state: None}
    queue = deque([state])
    for _ in range(FINISH_NODES):
        if not queue:
            break
        s = queue.popleft()
        if c.is_accepting(s):
            path = []
            while back[s] is not None:
                s, b = back[s]
                path.append(b)
            return path[::-1]
        for b in np.flatnonzero(c.mask(s)[:256]).tolist():
            nxt = c.advance(s, b)
            assert nxt is not None, f"byte token {b} is in the mask of {s!r} but advance refuses it"
            if nxt not in back:
                back[nxt] = (s, b)
                queue.append(nxt)
    raise AssertionError(f"no accepting state reachable from live state {state!r} "
                         f"(searched {len(back)} states)")


def walk(c, rng: random.Random, record: Walks) -> None:
    """One random walk from the start state, finished by `finish` and end-of-sequence; recorded in `record`."""
    eos = eos_id(c)
    state, tokens = c.start(), []
    seen = set(record.states)

    def step(token: int) -> None:
        nonlocal state
        nxt = c.advance(state, token)
        assert nxt is not None, f"token {token} ({c.vocab.tokens[token]!r}) refused in state {state!r}"
        record.steps.append((state, token, nxt))
        tokens.append(token)
        state = nxt
        if nxt not in seen and not c.is_finished(nxt):
            seen.add(nxt)
            record.states.append(nxt)

    if state not in seen:
        seen.add(state)
        record.states.append(state)
    for _ in range(STEPS):
        allowed = np.flatnonzero(c.mask(state)).tolist()
        assert allowed, f"live state {state!r} has an empty mask"
        if eos in allowed and (len(allowed) == 1 or rng.random() < END_CHANCE):
            break
        by_first = {}  # a byte, then a token that starts with it: structure is not drowned by digits and letters
        for t in allowed:
            if t != eos:
                by_first.setdefault(c.vocab.tokens[t][0], []).append(t)
        step(rng.choice(by_first[rng.choice(sorted(by_first))]))
    for b in finish(c, state):
        step(b)
    step(eos)
    assert c.is_finished(state)
    record.finished.append(state)
    record.texts.append((tokens[:-1], c.vocab.decode(tokens[:-1])))


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, byte_vocab):
    """(name, constraint, judge, walks) for one constraint of `CASES`."""
    build, judge = CASES[request.param]
    c = build(byte_vocab)
    record = Walks(c)
    rng = random.Random(f"protocol-{request.param}")
    for _ in range(WALKS):
        walk(c, rng, record)
    return request.param, c, judge, record


# -- the properties (each a function, so that a broken implementation can be run through them) --


def check_shape(c, record: Walks) -> None:
    assert isinstance(c, ConstraintProtocol)
    assert c.vocab is not None and isinstance(c.info, structgen.CompileInfo)
    for s in record.states:
        m = c.mask(s)
        assert m.dtype == np.bool_ and m.shape == (len(c.vocab),)
        assert not m.flags.writeable  # shared by the cache: callers must copy before writing
        bits = c.bitmask(s)
        assert bits.dtype == np.uint32 and bits.shape == ((len(c.vocab) + 31) // 32,)
        assert not bits.flags.writeable


def check_mask_matches_advance(c, record: Walks) -> None:
    """mask(s)[t] is True exactly when advance(s, t) is not None, for every token id; bitmask(s) has
    token t's bit (bit t % 32 of word t // 32) set exactly when mask(s)[t] is True, and no bit past the vocabulary."""
    for s in record.states:
        m = c.mask(s)
        by_advance = np.array([c.advance(s, t) is not None for t in range(len(c.vocab))])
        differ = np.flatnonzero(m != by_advance)
        assert not differ.size, f"state {s!r}: mask and advance disagree on tokens {differ[:10].tolist()}"
        special = np.flatnonzero(~np.asarray(c.vocab.allowed))
        assert not m[special].any(), "a token the vocabulary never allows is in the mask"
        words = [int(w) for w in c.bitmask(s)]
        by_bits = np.array([words[t // 32] >> (t % 32) & 1 for t in range(32 * len(words))], bool)
        assert (by_bits[:len(m)] == m).all() and not by_bits[len(m):].any(), f"state {s!r}: bitmask and mask differ"


def check_end_exactly_when_accepting(c, record: Walks) -> None:
    """End-of-sequence is allowed exactly in accepting states, and leads to a finished state."""
    eos = eos_id(c)
    for s in record.states:
        accepting = c.is_accepting(s)
        assert bool(c.mask(s)[eos]) == accepting, s
        after = c.advance(s, eos)
        assert (after is not None and c.is_finished(after)) == accepting, s
        assert not c.is_finished(s)


def check_live_states_can_continue(c, record: Walks) -> None:
    """can_continue says whether a non-end token is allowed; a live state that cannot go on must accept."""
    eos = eos_id(c)
    for s in record.states:
        m = c.mask(s).copy()
        m[eos] = False
        assert c.can_continue(s) == bool(m.any()), s
        assert c.can_continue(s) or c.is_accepting(s), f"live state {s!r} can neither go on nor end"


def check_finished_is_final(c, record: Walks) -> None:
    """Nothing follows a finished state."""
    assert record.finished
    for s in record.finished:
        assert c.is_finished(s) and not c.is_accepting(s) and not c.can_continue(s)
        assert not c.mask(s).any()
        assert all(c.advance(s, t) is None for t in range(len(c.vocab)))
        assert c.advance_bytes(s, b"0") is None


def check_deterministic(c, record: Walks) -> None:
    """States are hashable; the same state and token give an equal state; bytes and tokens agree."""
    for s, t, nxt in record.steps:
        hash(s)
        again = c.advance(s, t)
        assert again == nxt and hash(again) == hash(nxt), (s, t)
        data = c.vocab.tokens[t]
        if data:
            assert c.advance_bytes(s, data) == nxt, (s, t)


def check_texts_judged_valid(c, judge, record: Walks) -> None:
    """Every finished walk's text is in the language: the independent judge and a fresh byte walk say so."""
    assert record.texts
    for tokens, text in record.texts:
        assert judge(text), f"the judge rejects {text!r}"
        assert c.accepts_text(text), text
        end = c.advance_bytes(c.start(), text)
        assert end is not None and c.is_accepting(end), text


def check_forced_bytes(c, record: Walks) -> None:
    """forced_bytes(s), judged byte by byte over the whole byte vocabulary: along it exactly one byte token is
    allowed and no state accepts; where it stops (short of the limit) the state accepts or two bytes may follow."""
    eos = eos_id(c)
    for s in record.states:
        forced = c.forced_bytes(s)
        state = s
        for byte in forced:
            allowed = np.flatnonzero(c.mask(state)[:256]).tolist()
            assert allowed == [byte] and not c.mask(state)[eos], (s, forced, allowed)
            state = c.advance(state, byte)
        m = c.mask(state).copy()
        m[eos] = False
        assert c.is_accepting(state) or m.sum() >= 2, f"{s!r}: forced {forced!r} stops before a forced byte"
        assert c.forced_bytes(s, limit=1) == forced[:1]
    for f in record.finished:
        assert c.forced_bytes(f) == b""


def check_texts_start_with_forced_bytes(c, record: Walks) -> None:
    """The rest of every judged text, from every state its walk passed, starts with that state's forced bytes."""
    for tokens, text in record.texts:
        state, done = c.start(), b""
        for t in tokens:
            assert text[len(done):].startswith(c.forced_bytes(state)), (text, done)
            state, done = c.advance(state, t), done + c.vocab.tokens[t]


PROPERTIES = [check_shape, check_mask_matches_advance, check_end_exactly_when_accepting,
              check_live_states_can_continue, check_finished_is_final, check_deterministic, check_forced_bytes,
              check_texts_start_with_forced_bytes]


@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda p: p.__name__.removeprefix("check_"))
def test_property(case, prop):
    _, c, _, record = case
    prop(c, record)


def test_walk_texts_are_valid(case):
    _, c, judge, record = case
    check_texts_judged_valid(c, judge, record)


def test_walks_cover_enough(case):
    """The suite sees more than the start state: many states, accepting and not, several texts."""
    _, c, _, record = case
    accepting = sum(map(c.is_accepting, record.states))
    assert len(record.states) >= 10 and 0 < accepting < len(record.states)
    assert len({text for _, text in record.texts}) >= 3


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_seeded_walk_keeps_the_contract(case, seed):
    """Fresh walks (seeds drawn by hypothesis) reach states the fixture's walks did not, and keep the contract."""
    _, c, judge, _ = case
    record = Walks(c)
    walk(c, random.Random(seed), record)
    for prop in (check_end_exactly_when_accepting, check_live_states_can_continue, check_deterministic):
        prop(c, record)
    check_texts_judged_valid(c, judge, record)
