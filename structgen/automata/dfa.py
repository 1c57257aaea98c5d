"""Minimal deterministic automata over bytes, built from the IR.

`build_dfa(node)` compiles an IR node in three steps:

1. a Thompson NFA whose edges are labelled with byte sets; sub-expressions
   that an NFA cannot express directly (intersection, complement) and large
   repeated bodies are compiled to DFAs first and embedded;
2. the byte alphabet is split into equivalence classes (bytes that every edge
   treats alike), and the subset construction runs over classes, not bytes;
3. states that cannot reach acceptance are dropped (so a live state always
   has a way to finish: the samplers can never paint themselves into a
   corner), and the rest is minimised by partition refinement.

The result stores transitions as `trans[state, byte_class[byte]]`, `-1`
meaning "no transition"; state 0 is the start. `dense()` gives the
`int32[n_states, 256]` table for kernels that want one.
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from collections import OrderedDict
from functools import cached_property

import numpy as np

from . import ir
from .budget import current
from .determinize import determinize
from .minimize import minimize
from .nfa import NFA, AutomatonTooLargeError, as_word
from .product import product_table

__all__ = ["DFA", "AutomatonTooLargeError", "build_dfa", "map_bytes", "minimal_dfa"]


@dataclass(frozen=True, eq=False)
class DFA:
    """A trimmed, minimal DFA. State 0 starts; every state can reach acceptance
    unless the language is empty (then state 0 is the only state and rejects)."""

    trans: np.ndarray  # int32[n_states, n_classes]; -1 = no transition
    byte_class: np.ndarray  # int32[256]
    accept: np.ndarray  # bool[n_states]

    @property
    def n_states(self) -> int:
        return self.trans.shape[0]

    @property
    def is_empty(self) -> bool:
        return not self.accept.any()

    def step(self, state: int, byte: int) -> int:
        return int(self.trans[state, self.byte_class[byte]])

    def walk(self, data: bytes, state: int = 0) -> int:
        """State after `data` from `state`, or -1."""
        for b in data:
            if state < 0:
                return -1
            state = int(self.trans[state, self.byte_class[b]])
        return state

    def matches(self, data: bytes) -> bool:
        s = self.walk(data)
        return s >= 0 and bool(self.accept[s])

    def dense(self) -> np.ndarray:
        return np.ascontiguousarray(self.trans[:, self.byte_class])

    @cached_property
    def class_bits(self) -> tuple[int, ...]:
        """For each class, the 256-bit mask of its bytes."""
        member = self.byte_class[None, :] == np.arange(self.trans.shape[1])[:, None]
        packed = np.packbits(member, axis=1, bitorder="little")
        return tuple(int.from_bytes(row.tobytes(), "little") for row in packed)


def _determinized(nfa: NFA, start: int, final: int, most: int | None = None) -> DFA:
    cap = nfa.max_states if most is None else min(most, nfa.max_states)
    trans, byte_class, accept = determinize(nfa, start, final, cap)
    return minimal_dfa(trans, byte_class, accept)


def minimal_dfa(trans: np.ndarray, byte_class: np.ndarray, accept: np.ndarray) -> DFA:
    """The trimmed, minimal DFA of a raw transition table (start state 0, -1 = no move)."""
    trans, accept = minimize(trans, accept)
    return _compact_classes(trans, byte_class, accept)


def _compact_classes(trans: np.ndarray, byte_class: np.ndarray, accept: np.ndarray) -> DFA:
    """Merge byte classes whose columns are identical (used classes only)."""
    used = np.unique(byte_class)
    first_of: dict[bytes, int] = {}
    keep: list[int] = []
    new_id = np.full(trans.shape[1], -1, np.int32)
    columns = np.ascontiguousarray(trans.T)
    for c in used.tolist():
        key = columns[c].tobytes()
        if key not in first_of:
            first_of[key] = len(keep)
            keep.append(c)
        new_id[c] = first_of[key]
    return DFA(np.ascontiguousarray(trans[:, keep]), new_id[byte_class], accept.astype(bool))


# ------------------------------------------------------------------- products


def _product(a: DFA, b: DFA, max_states: int) -> DFA:
    """Intersection of two DFAs via the product construction."""
    joint = np.unique(a.byte_class.astype(np.int64) * 4096 + b.byte_class, return_inverse=True)[1]
    joint = joint.reshape(-1).astype(np.int32)
    rep = np.zeros(int(joint.max()) + 1, np.int64)
    rep[joint] = np.arange(256)
    meter = current()
    trans, accept, count = product_table(
        np.ascontiguousarray(a.trans[:, a.byte_class[rep]]), a.accept,
        np.ascontiguousarray(b.trans[:, b.byte_class[rep]]), b.accept, max_states, meter.max_cells, meter.deadline)
    meter.status(count)
    if count < 0:
        raise AutomatonTooLargeError(f"more than {max_states} automaton states")
    return minimal_dfa(trans, joint, accept)


def _complement(d: DFA) -> DFA:
    """All byte strings not accepted by `d` (over the full byte alphabet)."""
    n = d.n_states
    sink = n
    trans = np.where(d.trans >= 0, d.trans, sink)
    trans = np.vstack([trans, np.full((1, trans.shape[1]), sink)]).astype(np.int32)
    accept = np.append(~d.accept, True)
    return minimal_dfa(trans, d.byte_class, accept)


def _complemented_words(node: ir.Node) -> list[bytes] | None:
    """The words of `Complement(word)` or `Complement(Alt(words...))`; None for any other node."""
    if not isinstance(node, ir.Complement):
        return None
    options = node.node.options if isinstance(node.node, ir.Alt) else (node.node,)
    words = [as_word(o) for o in options]
    return None if any(w is None for w in words) else words


def _without_words(d: DFA, words: list[bytes], max_states: int) -> DFA:
    """`d` less a finite set of words, built directly: one state per prefix of a word that `d`
    reads (accepting where `d` accepts, unless the prefix is one of the words), and `d`'s own
    states once a string has left every word. It replaces the complement of the words' automaton
    and a product, three minimisations in all: the schema compiler asks for "a JSON string
    other than the declared names" at every object open to other names."""
    table = d.dense()  # states x 256
    at = [0]  # d's state at each prefix
    children: list[dict[int, int]] = [{}]
    ends = []
    for word in words:
        node = 0
        for b in word:
            child = children[node].get(b)
            if child is None:
                moved = int(table[at[node], b])
                if moved < 0:  # d does not read the word: nothing to take out
                    break
                child = len(at)
                at.append(moved)
                children.append({})
                children[node][b] = child
            node = child
        else:
            ends.append(node)
    t = len(at)
    if t + d.n_states > max_states:
        raise AutomatonTooLargeError(f"more than {max_states} automaton states")
    # d's byte classes, each byte a word moves on in a class of its own
    key = d.byte_class.astype(np.int64) * 257 + 256
    word_bytes = np.array(sorted({b for kids in children for b in kids}), np.int64)
    key[word_bytes] = d.byte_class[word_bytes] * 257 + word_bytes
    _, first, byte_class = np.unique(key, return_index=True, return_inverse=True)
    byte_class = byte_class.reshape(-1).astype(np.int32)
    trans = np.empty((t + d.n_states, len(first)), np.int32)
    trans[t:] = np.where(table[:, first] >= 0, table[:, first] + t, -1)
    trans[:t] = trans[t + np.array(at)]  # off the words, each prefix moves as d's state does
    for node, kids in enumerate(children):
        for b, child in kids.items():
            trans[node, byte_class[b]] = child
    accept = np.concatenate([d.accept[at], d.accept])
    accept[ends] = False
    return minimal_dfa(trans, byte_class, accept)


def map_bytes(dfa: DFA, replacements: dict[int, bytes], max_states: int | None = None) -> DFA:
    """Apply a byte homomorphism: byte b becomes `replacements[b]` (others stay).

    `max_states` and the errors are as in `build_dfa`.
    """
    max_states = current().max_states if max_states is None else max_states
    nfa = NFA(max_states, lambda node, cap=max_states: _compile(node, min(cap, max_states)))
    skip = sum(1 << b for b in replacements)
    base, end = nfa.embed(dfa, skip_bytes=skip)
    for b, out in replacements.items():
        column = dfa.trans[:, dfa.byte_class[b]]
        for q in np.flatnonzero(column >= 0).tolist():
            prev = base + q
            for x in out[:-1]:
                nxt = nfa.new()
                nfa.edge(prev, 1 << x, nxt)
                prev = nxt
            nfa.edge(prev, 1 << out[-1], base + int(column[q]))
    return _determinized(nfa, base, end)


# ------------------------------------------------------------------- entry point


class _Cache:
    """Built DFAs by (node, states budget), least recently used first out, bounded by the bytes
    of their tables (not their number: one table can be a thousand times another); safe to
    share between threads (a lock around each lookup and insertion)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            dfa = self._items.get(key)
            if dfa is not None:
                self._items.move_to_end(key)
            return dfa

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def put(self, key, dfa) -> None:
        """Keep `dfa` (or `_TOO_LARGE`: the node passes that states budget) under `key`."""
        size = _size(dfa)
        if size > self.max_bytes // 8:
            return  # one huge automaton would push out everything else
        with self._lock:
            if key in self._items:
                return
            self._items[key] = dfa
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= _size(old)


_TOO_LARGE = object()  # in `CACHE`: the node's automaton passes that states budget


def _size(dfa) -> int:
    return 64 if dfa is _TOO_LARGE else dfa.trans.nbytes + dfa.accept.nbytes


CACHE = _Cache(max_bytes=256 << 20)  # minimal DFAs kept across compilations (a process-wide bound)


def _compile(node: ir.Node, max_states: int, most: int | None = None) -> DFA:
    """`build_dfa`: `most` bounds the subset construction of `node` itself (not its parts)."""
    if isinstance(node, ir.Automaton):
        return node.dfa
    dfa = CACHE.get((node, max_states))
    if dfa is None:
        if CACHE.get((node, max_states, most)) is _TOO_LARGE:  # found before: it would only be found again
            raise AutomatonTooLargeError(f"more than {max_states if most is None else most} automaton states")
        try:
            dfa = _build(node, max_states, most)
        except AutomatonTooLargeError:
            CACHE.put((node, max_states, most), _TOO_LARGE)
            raise
        CACHE.put((node, max_states), dfa)
    if most is not None and dfa.n_states > most:
        raise AutomatonTooLargeError(f"more than {most} automaton states")
    return dfa


def _build(node: ir.Node, max_states: int, most: int | None = None) -> DFA:
    """The minimal DFA of `node` (kept in `CACHE` by `_compile` for the next compilation that
    builds the same node: nodes compare by value, and a key language or a number range recurs
    across schemas)."""
    if isinstance(node, ir.Intersect):
        listed = [_complemented_words(p) for p in node.parts]  # "none of these words": no automaton needed
        kept = [p for p, words in zip(node.parts, listed) if words is None]
        if not kept:  # only complements of words: the first one as an automaton
            kept, listed = [node.parts[0]], [None] + listed[1:]
        parts = [_compile(p, max_states) for p in kept]
        out = parts[0]
        for p in parts[1:]:
            out = _product(out, p, max_states)
        for words in listed:
            if words is not None:
                out = _without_words(out, words, max_states)
        return out
    if isinstance(node, ir.Complement):
        return _complement(_compile(node.node, max_states))
    nfa = NFA(max_states, lambda sub, cap=max_states: _compile(sub, min(cap, max_states)))
    s, e = nfa.fragment(node)
    return _determinized(nfa, s, e, most)


def build_dfa(node: ir.Node, max_states: int | None = None, most_states: int | None = None) -> DFA:
    """Compile an IR node to a trimmed, minimal DFA.

    Parameters
    ----------
    node : ir.Node
        A reference-free IR node.
    max_states : int, optional
        Most states of any automaton built on the way; None takes the current
        compile budget's (`structgen.automata.budget`, 1,000,000 by default).
    most_states : int, optional
        Most states of the subset construction of `node` itself (its NFA and
        its parts keep to `max_states`): a quick refusal for an automaton
        better built lazily than whole.

    Raises
    ------
    AutomatonTooLargeError
        Past `max_states` states (NFA or DFA), or `most_states`.
    CompileBudgetError
        Past the current compile budget's memory or seconds.
    """
    return _compile(node, current().max_states if max_states is None else max_states, most_states)
