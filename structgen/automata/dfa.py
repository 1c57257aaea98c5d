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
from functools import lru_cache

import numpy as np

from . import ir
from .minimize import minimize

ALL_BYTES = (1 << 256) - 1

# Repeated bodies with more than this many copies are compiled to a minimal
# DFA once and copied, so the NFA grows with the body's *minimal* size.
_EMBED_REPEAT_OVER = 3


class AutomatonTooLargeError(ValueError):
    """The automaton would exceed the state budget."""


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

    def class_bits(self) -> list[int]:
        """For each class, the 256-bit mask of its bytes."""
        bits = [0] * self.trans.shape[1]
        for b in range(256):
            bits[self.byte_class[b]] |= 1 << b
        return bits


# --------------------------------------------------------------------------- NFA


class _NFA:
    """Thompson NFA under construction: epsilon lists and (byte bits, target) edges."""

    def __init__(self, max_states: int):
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[int, int]]] = []
        self.max_states = max_states

    def new(self) -> int:
        if len(self.eps) >= self.max_states:
            raise AutomatonTooLargeError(f"more than {self.max_states} automaton states")
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def fragment(self, node: ir.Node) -> tuple[int, int]:
        """Add states for `node`; return its (entry, exit) states."""
        if isinstance(node, ir.ByteSet):
            s, e = self.new(), self.new()
            self.edges[s].append((node.bits, e))
            return s, e
        if isinstance(node, ir.Seq):
            s = e = self.new()
            for part in node.parts:
                a, b = self.fragment(part)
                self.eps[e].append(a)
                e = b
            return s, e
        if isinstance(node, ir.Alt):
            s, e = self.new(), self.new()
            words = []
            for option in node.options:
                word = _as_word(option)
                if word is not None:
                    words.append(word)
                    continue
                a, b = self.fragment(option)
                self.eps[s].append(a)
                self.eps[b].append(e)
            if words:
                self._trie(words, s, e)
            return s, e
        if isinstance(node, ir.Repeat):
            return self._repeat(node)
        if isinstance(node, ir.Automaton):
            return self.embed(node.dfa)
        if isinstance(node, (ir.Intersect, ir.Complement)):
            return self.embed(_compile(node, self.max_states))
        raise TypeError(f"not an IR node: {node!r}")

    def _trie(self, words: list[bytes], s: int, e: int) -> None:
        """Literal alternatives (enums, keys) as a deterministic trie from `s` to `e`."""
        root = self.new()
        self.eps[s].append(root)
        children: dict[tuple[int, int], int] = {}
        for word in words:
            q = root
            for b in word:
                nxt = children.get((q, b))
                if nxt is None:
                    nxt = children[(q, b)] = self.new()
                    self.edges[q].append((1 << b, nxt))
                q = nxt
            if e not in self.eps[q]:
                self.eps[q].append(e)

    def _repeat(self, node: ir.Repeat) -> tuple[int, int]:
        copies = node.min if node.max is None else node.max
        body = node.node
        if copies > _EMBED_REPEAT_OVER and not isinstance(body, (ir.ByteSet, ir.Automaton)):
            body = ir.Automaton(_compile(body, self.max_states))
        s = e = self.new()
        for _ in range(node.min):
            a, b = self.fragment(body)
            self.eps[e].append(a)
            e = b
        if node.max is None:
            loop = self.new()
            self.eps[e].append(loop)
            a, b = self.fragment(body)
            self.eps[loop].append(a)
            self.eps[b].append(loop)
            return s, loop
        end = self.new()
        for _ in range(node.max - node.min):
            a, b = self.fragment(body)
            self.eps[e].append(a)
            self.eps[e].append(end)
            e = b
        self.eps[e].append(end)
        return s, end

    def embed(self, dfa: DFA) -> tuple[int, int]:
        base = len(self.eps)
        for _ in range(dfa.n_states):
            self.new()
        end = self.new()
        bits = dfa.class_bits()
        for q in range(dfa.n_states):
            row = dfa.trans[q]
            targets: dict[int, int] = {}
            for c, t in enumerate(row):
                if t >= 0:
                    targets[int(t)] = targets.get(int(t), 0) | bits[c]
            self.edges[base + q] = [(m, base + t) for t, m in targets.items()]
            if dfa.accept[q]:
                self.eps[base + q].append(end)
        return base, end


def _as_word(node: ir.Node) -> bytes | None:
    """The bytes of a node that matches exactly one string, else None."""
    parts = node.parts if isinstance(node, ir.Seq) else (node,)
    out = bytearray()
    for p in parts:
        if not isinstance(p, ir.ByteSet) or p.bits & (p.bits - 1):
            return None
        out.append(p.bits.bit_length() - 1)
    return bytes(out)


def _byte_classes(masks) -> np.ndarray:
    """Partition 0..255 so that every mask is a union of classes."""
    cls = np.zeros(256, dtype=np.int64)
    for m in masks:
        if m == ALL_BYTES or m == 0:
            continue
        member = np.array([(m >> b) & 1 for b in range(256)], dtype=np.int64)
        _, cls = np.unique(cls * 2 + member, return_inverse=True)
    return cls.astype(np.int32)


def _determinize(nfa: _NFA, start: int, accept_state: int, max_states: int) -> DFA:
    n = len(nfa.eps)
    # Epsilon closures as sorted tuples.
    closure: list[tuple[int, ...] | None] = [None] * n

    def close(q: int) -> tuple[int, ...]:
        c = closure[q]
        if c is None:
            seen = {q}
            stack = [q]
            while stack:
                x = stack.pop()
                for y in nfa.eps[x]:
                    if y not in seen:
                        seen.add(y)
                        stack.append(y)
            c = closure[q] = tuple(sorted(seen))
        return c

    masks = {m for edges in nfa.edges for m, _ in edges}
    byte_class = _byte_classes(masks)
    n_classes = int(byte_class.max()) + 1
    class_bits = [0] * n_classes
    for b in range(256):
        class_bits[int(byte_class[b])] |= 1 << b
    mask_classes: dict[int, tuple[int, ...]] = {
        m: tuple(c for c in range(n_classes) if class_bits[c] & m) for m in masks
    }
    # Per NFA state: class -> frozenset of closure of targets
    moves: list[dict[int, set[int]] | None] = [None] * n

    def move(q: int) -> dict[int, set[int]]:
        mv = moves[q]
        if mv is None:
            mv = {}
            for m, t in nfa.edges[q]:
                tc = close(t)
                for c in mask_classes[m]:
                    mv.setdefault(c, set()).update(tc)
            moves[q] = mv
        return mv

    start_set = frozenset(close(start))
    index = {start_set: 0}
    order = [start_set]
    rows: list[list[int]] = []
    accepting: list[bool] = []
    i = 0
    while i < len(order):
        members = order[i]
        i += 1
        acc: dict[int, set[int]] = {}
        for q in members:
            for c, ts in move(q).items():
                if c in acc:
                    acc[c] |= ts
                else:
                    acc[c] = set(ts)
        row = [-1] * n_classes
        for c, ts in acc.items():
            key = frozenset(ts)
            j = index.get(key)
            if j is None:
                if len(order) >= max_states:
                    raise AutomatonTooLargeError(f"more than {max_states} automaton states")
                j = index[key] = len(order)
                order.append(key)
            row[c] = j
        rows.append(row)
        accepting.append(accept_state in members)
    trans = np.array(rows, dtype=np.int32).reshape(len(rows), n_classes)
    return _minimize(trans, byte_class, np.array(accepting, dtype=bool))


def _minimize(trans: np.ndarray, byte_class: np.ndarray, accept: np.ndarray) -> DFA:
    trans, accept = minimize(trans, accept)
    return _compact_classes(trans, byte_class, accept)


def _compact_classes(trans: np.ndarray, byte_class: np.ndarray, accept: np.ndarray) -> DFA:
    """Merge byte classes whose columns are identical."""
    cols, inverse = np.unique(trans.T, axis=0, return_inverse=True)
    return DFA(
        np.ascontiguousarray(cols.T.astype(np.int32)),
        inverse.reshape(-1)[byte_class].astype(np.int32),
        accept.astype(bool),
    )


# ------------------------------------------------------------------- products


def _product(a: DFA, b: DFA) -> DFA:
    """Intersection of two DFAs via the product construction."""
    joint = np.unique(a.byte_class.astype(np.int64) * 4096 + b.byte_class, return_inverse=True)[1]
    joint = joint.reshape(-1).astype(np.int32)
    k = int(joint.max()) + 1
    rep = np.zeros(k, np.int64)
    rep[joint] = np.arange(256)
    ca, cb = a.byte_class[rep], b.byte_class[rep]
    index = {(0, 0): 0}
    order = [(0, 0)]
    rows = []
    i = 0
    while i < len(order):
        p, q = order[i]
        i += 1
        ta, tb = a.trans[p, ca], b.trans[q, cb]
        row = [-1] * k
        for c in range(k):
            x, y = int(ta[c]), int(tb[c])
            if x < 0 or y < 0:
                continue
            j = index.get((x, y))
            if j is None:
                j = index[(x, y)] = len(order)
                order.append((x, y))
            row[c] = j
        rows.append(row)
    acc = np.array([bool(a.accept[p]) and bool(b.accept[q]) for p, q in order])
    return _minimize(np.array(rows, np.int32).reshape(len(rows), k), joint, acc)


def _complement(d: DFA) -> DFA:
    """All byte strings not accepted by `d` (over the full byte alphabet)."""
    n = d.n_states
    sink = n
    trans = np.where(d.trans >= 0, d.trans, sink)
    trans = np.vstack([trans, np.full((1, trans.shape[1]), sink)]).astype(np.int32)
    accept = np.append(~d.accept, True)
    return _minimize(trans, d.byte_class, accept)


def map_bytes(dfa: DFA, replacements: dict[int, bytes], max_states: int = 200_000) -> DFA:
    """Apply a byte homomorphism: byte b becomes `replacements[b]` (others stay)."""
    nfa = _NFA(max_states)
    base, end = nfa.embed(dfa)
    for q in range(dfa.n_states):
        edges, nfa.edges[base + q] = nfa.edges[base + q], []
        for m, t in edges:
            for b, out in replacements.items():
                if m >> b & 1:
                    m &= ~(1 << b)
                    prev = base + q
                    for x in out[:-1]:
                        nxt = nfa.new()
                        nfa.edges[prev].append((1 << x, nxt))
                        prev = nxt
                    nfa.edges[prev].append((1 << out[-1], t))
            if m:
                nfa.edges[base + q].append((m, t))
    return _determinize(nfa, base, end, max_states)


# ------------------------------------------------------------------- entry point


def _compile(node: ir.Node, max_states: int) -> DFA:
    if isinstance(node, ir.Intersect):
        parts = [_compile(p, max_states) for p in node.parts]
        out = parts[0]
        for p in parts[1:]:
            out = _product(out, p)
        return out
    if isinstance(node, ir.Complement):
        return _complement(_compile(node.node, max_states))
    if isinstance(node, ir.Automaton):
        return node.dfa
    return _cached_compile(node, max_states)


@lru_cache(maxsize=4096)
def _cached_compile(node: ir.Node, max_states: int) -> DFA:
    nfa = _NFA(max_states)
    s, e = nfa.fragment(node)
    return _determinize(nfa, s, e, max_states)


def build_dfa(node: ir.Node, max_states: int = 200_000) -> DFA:
    """Compile an IR node to a trimmed, minimal DFA.

    Raises `AutomatonTooLargeError` past `max_states` states (NFA or DFA).
    """
    return _compile(node, max_states)
