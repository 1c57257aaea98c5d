"""The grammar IR: byte-level regular expressions that every front end emits.

The regex parser, the JSON Schema compiler and (later) grammar files all
produce these nodes; `structgen.automata.dfa.build_dfa` turns a node into a
minimal deterministic automaton over bytes. Nodes are immutable and hashable
so that identical sub-expressions are compiled once.

Use the constructor functions (`literal`, `chars`, `seq`, `alt`, `repeat`,
...) rather than the classes: they simplify as they build (flatten nested
sequences, drop the empty language from alternatives, ...).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .charset import CharSet, utf8_sequences

if TYPE_CHECKING:
    from .dfa import DFA


class Node:
    """Base class of IR nodes.

    Nodes are compared and hashed by value, and a schema's IR is a deep tree
    that the DFA builder's cache hashes over and over: the hash is computed
    once per node and kept (so is whether it references a rule: `structgen.grammar.grammar.has_refs`).
    """

    def __hash__(self) -> int:
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((type(self),) + tuple(getattr(self, f) for f in self.__dataclass_fields__))
            object.__setattr__(self, "_hash", h)
        return h


@dataclass(frozen=True, eq=True)
class ByteSet(Node):
    """One byte out of a set; bit i of `bits` set means byte i is allowed."""
    __hash__ = Node.__hash__

    bits: int


@dataclass(frozen=True, eq=True)
class Seq(Node):
    """Concatenation. `Seq(())` is the empty string."""
    __hash__ = Node.__hash__

    parts: tuple[Node, ...]


@dataclass(frozen=True, eq=True)
class Alt(Node):
    """Union. `Alt(())` is the empty language (matches nothing)."""
    __hash__ = Node.__hash__

    options: tuple[Node, ...]


@dataclass(frozen=True, eq=True)
class Repeat(Node):
    """`node{min,max}`; `max=None` means unbounded."""
    __hash__ = Node.__hash__

    node: Node
    min: int
    max: int | None


@dataclass(frozen=True, eq=True)
class Intersect(Node):
    """Strings matched by every part (e.g. a `pattern` and a length bound)."""
    __hash__ = Node.__hash__

    parts: tuple[Node, ...]


@dataclass(frozen=True, eq=True)
class Complement(Node):
    """Every byte string not matched by `node`."""
    __hash__ = Node.__hash__

    node: Node


@dataclass(frozen=True, eq=True)
class Ref(Node):
    """A reference to the grammar rule `name`.

    Rule references make a language context-free: `build_dfa` refuses them,
    and `structgen.grammar` compiles grammars that contain them.
    """
    __hash__ = Node.__hash__

    name: str


@dataclass(frozen=True, eq=True)
class Members(Node):
    """One or more object members: `entries` in order (each present when required, else
    optional), then any number of `extras`, with `sep` between two members.

    Why a node of its own: as plain IR the "no separator before the first
    member written" rule repeats the members after each optional one (the
    expansion `plain()` is quadratic in the number of entries), while the
    NFA builder makes it linear by sharing each member's states between the
    "nothing written yet" and the "after a separator" paths. Its parts hold
    no rule references (grammar walkers treat it as a leaf; `plain()` is the
    same language in ordinary nodes).
    """
    __hash__ = Node.__hash__

    entries: tuple[tuple[Node, bool], ...]  # (member, required)
    extras: Node | None
    sep: Node

    def plain(self) -> Node:
        """The same language as ordinary IR nodes (quadratic in the number of optional entries)."""
        entries, extras, sep = self.entries, self.extras, self.sep
        n = len(entries)

        def tail(i):  # members from i on, after at least one member
            parts = [seq(sep, e) if req else optional(seq(sep, e)) for e, req in entries[i:]]
            if extras is not None:
                parts.append(star(seq(sep, extras)))
            return seq(*parts)

        def nonempty(i):  # members from i on, at least one, none before
            if i == n:
                return separated(extras, sep, 1, None) if extras is not None else NOTHING
            e, req = entries[i]
            first = seq(e, tail(i + 1))
            return first if req else alt(first, nonempty(i + 1))

        return nonempty(0)


@dataclass(frozen=True, eq=False)
class Automaton(Node):
    """A prebuilt DFA used as a sub-expression, compared and hashed by the DFA's identity.

    Two wrappers of one DFA are one sub-expression: a grammar's regular rule, wrapped
    afresh each time the grammar is compiled around its DFA from the cache, then leaves
    the IR that uses it equal to the last compile's, whose automata the cache holds.
    """

    dfa: "DFA"

    def __eq__(self, other) -> bool:
        return type(other) is Automaton and other.dfa is self.dfa

    __hash__ = Node.__hash__


@dataclass(frozen=True, eq=False)
class Splice(Node):
    """A frame DFA some of whose bytes are holes: reading hole byte b in the frame means matching
    the sub-expression `holes[b]` there (compared and hashed by its own identity: its frame is made per compile).

    Why: a language made of sub-languages in a small regular pattern (the items of an array
    counted by `contains`, the members of an object counted by `maxProperties`) is that
    pattern, with its counts, over one byte per sub-language. Built whole, its DFA
    holds every sub-language's automaton once per state of the pattern (an item
    automaton of 3,500 states 64 times over under `maxItems: 64`); as a splice the
    frame stays small and the NFA calls each sub-language where its byte is read, so
    the lazy construction builds only what decoding reaches. Holes are never
    bytes the frame reads literally, and hold no rule references.
    """

    frame: "DFA"
    holes: tuple[tuple[int, Node], ...]  # (hole byte, its sub-expression)


def splice(frame: "DFA", holes: dict[int, Node]) -> Node:
    """`Splice` of `frame` and `holes` (hole byte -> node); NOTHING for a frame that accepts nothing."""
    if frame.is_empty:
        return NOTHING
    return Splice(frame, tuple(sorted(holes.items(), key=lambda h: h[0])))


def children(node: Node) -> tuple[Node, ...]:
    """The sub-expressions of a node (none for byte sets, references and automata)."""
    kind = type(node)
    if kind is Seq or kind is Intersect:
        return node.parts
    if kind is Alt:
        return node.options
    if kind is Repeat or kind is Complement:
        return (node.node,)
    if kind is Members:
        return tuple(e for e, _ in node.entries) + ((node.extras,) if node.extras is not None else ()) + (node.sep,)
    if kind is Splice:
        return tuple(h for _, h in node.holes)
    return ()


EPSILON: Node = Seq(())
NOTHING: Node = Alt(())


def byte_set(values) -> Node:
    """One byte out of `values` (an iterable of ints or a bytes object)."""
    bits = 0
    for v in values:
        bits |= 1 << v
    return ByteSet(bits) if bits else NOTHING


def byte_range(lo: int, hi: int) -> Node:
    if lo > hi:
        return NOTHING
    return ByteSet(((1 << (hi + 1)) - 1) ^ ((1 << lo) - 1))


_SINGLE_BYTES = tuple(ByteSet(1 << b) for b in range(256))  # shared, so each hash is computed once


def literal(data: bytes | str) -> Node:
    """Exactly these bytes (text is UTF-8 encoded)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) == 1:
        return _SINGLE_BYTES[data[0]]
    return Seq(tuple(_SINGLE_BYTES[b] for b in data))


@functools.lru_cache(maxsize=4096)
def chars(charset: CharSet) -> Node:
    """One character out of `charset`, as its UTF-8 bytes (memoised: grammars and patterns
    repeat their classes, sql.gbnf 1,254 of them with 117 distinct)."""
    return alt(*(seq(*(byte_range(lo, hi) for lo, hi in s)) for s in utf8_sequences(charset)))


def seq(*parts: Node) -> Node:
    flat: list[Node] = []
    for p in parts:
        kind = type(p)
        if kind is Seq:
            flat.extend(p.parts)
        elif kind is Alt and not p.options:  # NOTHING (compared by kind: `==` on nodes is slow)
            return NOTHING
        else:
            flat.append(p)
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def alt(*options: Node) -> Node:
    flat: list[Node] = []
    seen: set[Node] = set()
    bits = 0
    for o in options:
        for x in o.options if isinstance(o, Alt) else (o,):
            if isinstance(x, ByteSet):
                bits |= x.bits
            elif x not in seen:
                seen.add(x)
                flat.append(x)
    if bits:
        flat.insert(0, ByteSet(bits))
    return flat[0] if len(flat) == 1 else Alt(tuple(flat))


def repeat(node: Node, lo: int, hi: int | None) -> Node:
    if hi is not None and hi < lo:
        return NOTHING
    if hi == 0 or node == EPSILON:
        return EPSILON
    if node == NOTHING:
        return EPSILON if lo == 0 else NOTHING
    if lo == hi == 1:
        return node
    return Repeat(node, lo, hi)


def members(entries, extras: Node | None, sep: Node) -> Node:
    """`Members` (one or more members, see there), simplified: members that match nothing dropped."""
    if any(req and e == NOTHING for e, req in entries):
        return NOTHING
    entries = tuple((e, bool(req)) for e, req in entries if e != NOTHING)
    if extras == NOTHING:
        extras = None
    if not entries and extras is None:
        return NOTHING
    return Members(entries, extras, sep)


def ref(name: str) -> Node:
    return Ref(name)


def optional(node: Node) -> Node:
    return repeat(node, 0, 1)


def star(node: Node) -> Node:
    return repeat(node, 0, None)


def plus(node: Node) -> Node:
    return repeat(node, 1, None)


def intersect(*parts: Node) -> Node:
    if any(p == NOTHING for p in parts):
        return NOTHING
    uniq = tuple(dict.fromkeys(parts))
    return uniq[0] if len(uniq) == 1 else Intersect(uniq)


def complement(node: Node) -> Node:
    return Complement(node)


def separated(item: Node, sep: Node, lo: int, hi: int | None) -> Node:
    """`item (sep item)*` with between `lo` and `hi` items (e.g. array elements)."""
    if hi == 0:
        return EPSILON if lo == 0 else NOTHING
    body = seq(item, repeat(seq(sep, item), max(lo - 1, 0), None if hi is None else hi - 1))
    return body if lo > 0 else optional(body)
