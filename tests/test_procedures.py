"""Shared sub-expressions built once more and called (`NFA.fragment`, return stacks in `rows.py`).

The judge is the same construction with every sub-expression copied where it
is used (no procedures: `PROC_MIN_STATES` out of reach), which the rest of the
suite checks against jsonschema and `re`: with procedures forced on every
shared node, the minimal DFA must be the same automaton, and the lazy
automaton must accept the same texts.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.automata import ir, nfa
from structgen.automata.dfa import CACHE, build_dfa
from structgen.automata.lazy import LazyDFA
from tests.languages import same_language


def built(node, monkeypatch, procedures: bool):
    CACHE.clear()  # the cache is keyed by node: build afresh either way
    monkeypatch.setattr(nfa, "PROC_MIN_STATES", 1 if procedures else 10**9)
    return build_dfa(node)


def uses_procedures(node) -> bool:
    machine = nfa.NFA(10**6, lambda sub: build_dfa(sub))
    machine.fragment(node)
    return bool(machine.proc_calls)


# Random IR in which sub-expressions recur: each new node picks its parts from all earlier nodes.
LETTERS = [ir.literal(c) for c in "abc"]


@st.composite
def shared_ir(draw):
    pool = list(LETTERS) + [ir.EPSILON]
    for _ in range(draw(st.integers(3, 9))):
        kind = draw(st.sampled_from(["seq", "alt", "opt", "star", "rep", "members", "word"]))
        pick = lambda: pool[draw(st.integers(0, len(pool) - 1))]  # noqa: E731
        if kind == "seq":
            node = ir.seq(*(pick() for _ in range(draw(st.integers(2, 3)))))
        elif kind == "alt":
            node = ir.alt(*(pick() for _ in range(draw(st.integers(2, 3)))))
        elif kind == "opt":
            node = ir.optional(pick())
        elif kind == "star":
            node = ir.star(pick())
        elif kind == "rep":
            lo = draw(st.integers(0, 2))
            node = ir.repeat(pick(), lo, lo + draw(st.integers(0, 1)))
        elif kind == "members":
            entries = tuple((pick(), draw(st.booleans())) for _ in range(draw(st.integers(1, 3))))
            node = ir.members(entries, pick() if draw(st.booleans()) else None, ir.literal(","))
        else:
            node = ir.alt(ir.literal("ab"), ir.literal("ac"), pick())
        pool.append(node)
    return ir.seq(pool[-1], pool[-2], ir.literal("."), pool[-1])


@settings(max_examples=150, deadline=None)
@given(node=shared_ir())
def test_calling_shared_nodes_gives_the_automaton_copying_gives(node):
    with pytest.MonkeyPatch.context() as mp:
        copied = built(node, mp, procedures=False)
        called = built(node, mp, procedures=True)
    assert same_language(copied, called)


@settings(max_examples=60, deadline=None)
@given(node=shared_ir(), seed=st.integers(0, 2**16))
def test_the_lazy_automaton_with_procedures_accepts_what_the_copies_accept(node, seed):
    with pytest.MonkeyPatch.context() as mp:
        copied = built(node, mp, procedures=False)
        mp.setattr(nfa, "PROC_MIN_STATES", 1)
        lazy = LazyDFA.build(node)
    rng = random.Random(seed)
    for _ in range(40):
        text = bytes(rng.choice(b"abc,.") for _ in range(rng.randint(0, 12)))
        assert lazy.matches(text) == copied.matches(text), text
    assert lazy.is_empty == copied.is_empty


def test_a_definition_used_everywhere_is_built_once(monkeypatch):
    """Nested sharing: each level uses the one below four times; copied, the NFA grows as 4^depth."""
    node = ir.alt(ir.literal("x"), ir.literal("yz"))
    for depth in range(8):
        node = ir.seq(ir.literal("["), ir.members(tuple((ir.seq(ir.literal(f"k{depth}{i}:"), node), i == 0)
                                                       for i in range(4)), None, ir.literal(",")), ir.literal("]"))
    machine = nfa.NFA(10**7, lambda sub: build_dfa(sub))
    machine.fragment(node)
    assert machine.n < 2000 and uses_procedures(node)
    lazy = LazyDFA.build(node)
    inner = b"[k00:x]"
    text = inner
    for depth in range(1, 8):
        text = b"[k%d0:" % depth + text + b",k%d3:" % depth + text + b"]"
    assert lazy.matches(text) and not lazy.matches(text[:-1]) and not lazy.matches(text.replace(b"k73", b"k74"))


def test_a_nullable_procedure_at_the_start_and_the_end(monkeypatch):
    shared = ir.star(ir.alt(ir.literal("ab"), ir.literal("c")))
    node = ir.seq(shared, ir.literal("-"), shared)
    with pytest.MonkeyPatch.context() as mp:
        copied = built(node, mp, procedures=False)
        called = built(node, mp, procedures=True)
        mp.setattr(nfa, "PROC_MIN_STATES", 1)
        assert uses_procedures(node)
        lazy = LazyDFA.build(node)
    assert same_language(copied, called)
    for text in [b"-", b"ab-", b"-c", b"abcab-cc", b"a-", b"-a", b"--"]:
        assert lazy.matches(text) == copied.matches(text), text


WORD = b"abcdefghijklmnopqrstuvwxyz0123456789"


def test_the_start_state_reads_what_the_procedure_reads():
    shared = ir.alt(ir.literal(WORD), ir.star(ir.literal("xy")))  # an alternative: not flattened
    node = ir.alt(ir.seq(shared, ir.literal("1")), ir.seq(shared, ir.literal("2")))
    lazy = LazyDFA.build(node)
    assert uses_procedures(node)
    for text in [WORD + b"1", WORD + b"2", b"1", b"xyxy2"]:
        assert lazy.matches(text), text
    for text in [WORD + b"3", WORD, b"x1", WORD + b"xy1"]:
        assert not lazy.matches(text), text
    readable = {b for b in range(256) if lazy.row(0)[lazy.byte_class[b]] >= 0}
    assert readable == set(b"ax12")
