"""The IR -> DFA builder against Python's `re` (the judge) and UTF-8 encoding."""

import re
from math import isqrt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structgen.automata import ir
from structgen.automata.charset import ANY_CHAR, CharSet
from structgen.automata.dfa import AutomatonTooLargeError, _compile, build_dfa, map_bytes
from structgen.automata.nfa import NFA

ALPHABET = "abc"


@st.composite
def expressions(draw, depth=3):
    """An IR node together with an equivalent Python regex."""
    kind = draw(st.sampled_from(["lit", "set"] if depth == 0 else ["lit", "set", "seq", "alt", "rep", "rep"]))
    if kind == "lit":
        c = draw(st.sampled_from(ALPHABET))
        return ir.literal(c), re.escape(c)
    if kind == "set":
        cs = draw(st.sets(st.sampled_from(ALPHABET), min_size=1))
        return ir.chars(CharSet.of("".join(cs))), "[" + "".join(sorted(cs)) + "]"
    if kind in ("seq", "alt"):
        (a, ra), (b, rb) = draw(expressions(depth - 1)), draw(expressions(depth - 1))
        return (ir.seq(a, b), ra + rb) if kind == "seq" else (ir.alt(a, b), f"(?:{ra}|{rb})")
    a, ra = draw(expressions(depth - 1))
    lo = draw(st.integers(0, 2))
    hi = draw(st.one_of(st.none(), st.integers(lo, lo + 2)))
    return ir.repeat(a, lo, hi), f"(?:{ra}){{{lo},{'' if hi is None else hi}}}"


words = st.text(alphabet=ALPHABET, max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.lists(words, min_size=10, max_size=10))
def test_dfa_agrees_with_re(expr, samples):
    node, pattern = expr
    dfa = build_dfa(node)
    for s in samples:
        assert dfa.matches(s.encode()) == bool(re.fullmatch(pattern, s)), (pattern, s)


@settings(max_examples=100, deadline=None)
@given(expressions(depth=2), expressions(depth=2), st.lists(words, min_size=10, max_size=10))
def test_intersection_and_complement(e1, e2, samples):
    (a, ra), (b, rb) = e1, e2
    both, neither = build_dfa(ir.intersect(a, b)), build_dfa(ir.complement(a))
    for s in samples:
        in_a, in_b = bool(re.fullmatch(ra, s)), bool(re.fullmatch(rb, s))
        assert both.matches(s.encode()) == (in_a and in_b)
        assert neither.matches(s.encode()) == (not in_a)


@settings(max_examples=200, deadline=None)
@given(expressions(depth=3), st.lists(words, max_size=6), st.lists(words, min_size=10, max_size=10))
def test_a_language_less_a_set_of_words(expr, removed, samples):
    """`Intersect(A, Complement(words))` is built from the words' trie (`dfa._without_words`), not by
    complement and product: judged by `re`, on the words themselves, their prefixes and random strings."""
    a, ra = expr
    listed = ir.alt(*(ir.literal(w) for w in removed))
    dfa = build_dfa(ir.intersect(a, ir.complement(listed)))
    for s in samples + removed + [w[:i] for w in removed for i in range(len(w))] + [w + "a" for w in removed]:
        assert dfa.matches(s.encode()) == (bool(re.fullmatch(ra, s)) and s not in removed), (ra, removed, s)
    assert all(state_can_finish for state_can_finish in _live(dfa))


def _live(dfa) -> list[bool]:
    """For each state, whether acceptance is reachable from it (a trimmed DFA: all, or an empty language)."""
    can = dfa.accept.copy()
    for _ in range(dfa.n_states):
        can = can | ((dfa.trans >= 0) & can[np.maximum(dfa.trans, 0)]).any(axis=1)
    return list(can) if not dfa.is_empty else [True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0x10FFFF), st.integers(0, 0x3000)), min_size=1, max_size=4),
       st.lists(st.characters(codec="utf-8"), min_size=20, max_size=20))
def test_utf8_lowering_matches_exactly_the_members(ranges, probes):
    cs = CharSet.of(*((lo, min(lo + w, 0x10FFFF)) for lo, w in ranges))
    dfa = build_dfa(ir.chars(cs))
    for lo, hi in cs.ranges:
        probes += [chr(c) for c in (lo, hi, lo - 1, hi + 1) if 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF]
    for ch in probes:
        assert dfa.matches(ch.encode("utf-8")) == (ch in cs and not 0xD800 <= ord(ch) <= 0xDFFF), hex(ord(ch))


def test_utf8_lowering_rejects_invalid_utf8():
    dfa = build_dfa(ir.star(ir.chars(ANY_CHAR)))
    assert dfa.matches("añ€😀".encode())
    for bad in (b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x80"):
        assert not dfa.matches(bad), bad


def test_every_live_state_can_finish():
    # `a(b|c*d)` with a dead branch `ae` that can never finish: trimming removes it.
    dfa = build_dfa(ir.seq(ir.literal("a"), ir.alt(ir.literal("b"), ir.seq(ir.star(ir.literal("c")),
                                                                          ir.literal("d")),
                                                  ir.seq(ir.literal("e"), ir.NOTHING))))
    assert dfa.walk(b"ae") == -1
    assert dfa.matches(b"accd") and dfa.matches(b"ab") and not dfa.matches(b"ae")


def test_minimal_size_of_counted_repetition():
    # [0-9]{2,5} needs exactly 6 states: start, one per digit count 1..5.
    dfa = build_dfa(ir.repeat(ir.chars(CharSet.of(("0", "9"))), 2, 5))
    assert dfa.n_states == 6


@pytest.mark.parametrize("lo, hi", [(0, 30000), (100, 1000), (4097, 4100), (150, None)])
def test_long_counted_repetitions_are_chains_of_called_blocks(lo, hi):
    """Thousands of copies become blocks of about sqrt(count) copies, each a call of one DFA: an
    NFA of a few hundred states where copies took two per copy, with the same language (the
    counts at the block boundaries included)."""
    x = ir.chars(CharSet.of(("a", "c")))
    node = ir.seq(ir.repeat(x, lo, hi), ir.literal("!"))
    nfa = NFA(10**6, lambda sub, cap=10**6: _compile(sub, cap))
    nfa.fragment(node)
    assert nfa.n < 1000
    dfa = build_dfa(node)
    a, top = isqrt(hi or lo), hi or 2 * lo
    for n in {0, 1, a - 1, a, a + 1, 2 * a - 1, 2 * a, 2 * a + 1, lo - 1, lo, lo + 1, top - 1, top, top + 1}:
        if n >= 0:
            assert dfa.matches(b"b" * n + b"!") == (lo <= n and (hi is None or n <= hi)), n


def test_wide_array_bounds_stay_linear():
    item = ir.alt(ir.literal("0"), ir.seq(ir.chars(CharSet.of(("1", "9"))), ir.star(ir.chars(CharSet.of(("0", "9"))))))
    dfa = build_dfa(ir.seq(ir.literal("["), ir.separated(item, ir.literal(","), 10, 1000), ir.literal("]")))
    assert dfa.n_states < 3 * 1000 + 10
    ok = "[" + ",".join(str(i) for i in range(1000)) + "]"
    assert dfa.matches(ok.encode())
    assert not dfa.matches(("[" + ",".join(str(i) for i in range(1001)) + "]").encode())
    assert not dfa.matches(("[" + ",".join(str(i) for i in range(9)) + "]").encode())


def test_large_enum_is_a_trie():
    words = [f'"item-{i * 7919 % 100003}"' for i in range(3000)]
    dfa = build_dfa(ir.alt(*(ir.literal(w) for w in words)))
    assert all(dfa.matches(w.encode()) for w in words)
    assert not dfa.matches(b'"item-"') and not dfa.matches(b'"item-1"')


def test_map_bytes_applies_a_homomorphism():
    text = ir.star(ir.chars(CharSet.of(("a", "c"), '"')))
    escaped = map_bytes(build_dfa(text), {ord('"'): b'\\"'})
    assert escaped.matches(b'ab\\"c') and not escaped.matches(b'ab"c') and not escaped.matches(b"\\")


def test_state_budget_is_enforced():
    with pytest.raises(AutomatonTooLargeError):
        build_dfa(ir.repeat(ir.chars(CharSet.of(("a", "z"))), 0, 5000), max_states=1000)


def test_start_state_with_a_large_closure():
    # 3,000 branches that are not plain words: the start subset alone holds
    # thousands of NFA states.
    dfa = build_dfa(ir.alt(*(ir.seq(ir.literal(f"<{i}>"), ir.star(ir.literal("x"))) for i in range(3000))))
    assert dfa.matches(b"<0>") and dfa.matches(b"<2999>xx") and not dfa.matches(b"<3000>")


def test_the_dfa_cache_is_bounded_by_bytes_and_keeps_the_recently_used():
    from structgen.automata.dfa import _Cache

    dfas = [build_dfa(ir.repeat(ir.literal("a"), 0, n)) for n in range(1, 40)]
    cache = _Cache(max_bytes=sum(d.trans.nbytes + d.accept.nbytes for d in dfas[-8:]))
    for i, d in enumerate(dfas):
        cache.put(i, d)
        cache.get(0)  # kept in use: never the one pushed out
    kept = [i for i in range(len(dfas)) if cache.get(i) is not None]
    assert 0 in kept and len(kept) < len(dfas)
    assert sum(dfas[i].trans.nbytes + dfas[i].accept.nbytes for i in kept) <= cache.max_bytes
    assert all(cache.get(i) is dfas[i] for i in kept)


@given(st.integers(1, 12).flatmap(lambda n: st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n + 1)),
                                                     max_size=30).map(lambda edges: (n, edges))))
@settings(max_examples=200, deadline=None)
def test_strongly_connected_components_against_reachability(graph):
    """Judge: mutual reachability by brute force; each component comes after the ones it leads to. Edges to
    nodes outside the graph (n, n + 1) are ignored."""
    from structgen.automata.components import strongly_connected

    n, edges = graph
    succ = {v: [w for u, w in edges if u == v] for v in range(n)}
    reach = {v: {v} for v in range(n)}
    for _ in range(n):
        for v in range(n):
            reach[v] |= {x for w in succ[v] if w < n for x in reach[w]}
    components = list(strongly_connected(range(n), succ.__getitem__))
    assert sorted(v for c in components for v in c) == list(range(n))
    for c in components:
        assert all(set(c) <= reach[v] and all(v in reach[u] for u in c) for v in c)
        assert not any(u in reach[v] and v in reach[u] for v in c for u in range(n) if u not in c)
    position = {v: i for i, c in enumerate(components) for v in c}
    assert all(position[w] <= position[v] for v in range(n) for w in succ[v] if w < n)


def test_most_states_bounds_the_construction_of_the_node_itself():
    """`most_states` refuses a node whose own DFA passes it (again at once, from the cache), while
    its parts and its NFA keep to `max_states`: a long alternation of words has a large NFA and a
    small DFA."""
    words = ir.alt(*(ir.literal("w" * 40 + str(i)) for i in range(200)))
    assert build_dfa(words, most_states=400).matches(b"w" * 40 + b"7")
    counted = ir.repeat(ir.alt(ir.literal("a"), ir.literal("b")), 0, 600)
    for _ in range(2):
        with pytest.raises(AutomatonTooLargeError):
            build_dfa(ir.seq(counted, ir.literal("c")), most_states=500)
    assert build_dfa(ir.seq(counted, ir.literal("c"))).n_states > 500


# a run of up to 41 bytes from a start byte (cut at 255)
_BYTE_RANGE = st.tuples(st.integers(0, 255), st.integers(0, 40)).map(
    lambda r: ((1 << r[1] + 1) - 1) << r[0] & (1 << 256) - 1)


@given(st.lists(st.one_of(_BYTE_RANGE, st.integers(1, (1 << 256) - 1)), max_size=40))
def test_byte_classes_partition_the_bytes_as_the_sets_do(set_bits):
    """Two bytes share a class exactly when every set holds both or neither; every set is the union
    of the classes `covers` marks; classes are numbered in the order of their lowest byte."""
    from structgen.automata.determinize import byte_classes

    byte_class, covers = byte_classes(set_bits)
    sets_of = [tuple(bits >> b & 1 for bits in set_bits) for b in range(256)]
    for b in range(256):
        for c in (0, b // 2, 255):
            assert (byte_class[b] == byte_class[c]) == (sets_of[b] == sets_of[c])
    for j, bits in enumerate(set_bits):
        assert all(bool(bits >> b & 1) == covers[j, byte_class[b]] for b in range(256))
    firsts = [int(byte_class[b]) for b in range(256) if byte_class[b] not in byte_class[:b]]
    assert firsts == list(range(int(byte_class.max()) + 1))
