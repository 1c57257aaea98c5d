"""Where the items of a checked array can end: the exits of an item, and how many texts reach each.

Why: whether a checked array can still finish depends on the rest of the
array, not only on its current item. Under ``prefixItems: [true, {"type":
"string"}, {"type": "null"}]`` with a `contains` that the first items
cannot meet, ``[null`` is already stranded: the array needs a fourth item,
so its third must be ``null`` again. The automaton (which ignores
`uniqueItems`) decides what the rest of an array may be from the state it
is in after an item -- its *exit*: the byte that ends the item (``,`` or
``]``) and the inner state after it. An item language too large to
enumerate can still lead to only some exits (only arrays meet that
`contains`), so the liveness search (`structgen.checks.items`) needs, for
a position inside an item, the exits it can reach and how many item texts
reach each.

A *node* is an inner state with the lexical position in the item that the
inner state alone does not spell out for a pushdown constraint: the
nesting depth below the item and whether a string, an escape or a number
is being written. The graph of nodes is explored once from an item's start
(whitespace between tokens skipped: it never changes a value or, being
optional, an exit; bytes that step alike taken together by byte class
where the automaton has classes), and every node's exits are counted:
the number of texts from the node to each exit, capped at `ENDLESS`, which
also stands for the endless count of an exit that a cycle leads to. An exploration passing `MAX_GRAPH` nodes
gives up: its nodes' exits are unknown (None), and the caller takes such
an item as able to end anywhere, as a large language always was.

`landings` tells `CheckedConstraint.mask` where a token that neither ends
nor determines a value (digits, a string's content) can take the item: to
a string or number with few ways to an exit (where the prefix decides), or
to exits other than the current ones (where the rest of the array
decides), the mask checks every allowed token.
"""

from __future__ import annotations

import numpy as np

from ..automata.components import strongly_connected
from .scanner import NUMBER_BYTES, WHITESPACE

__all__ = ["ItemGraph", "MANY", "ENDLESS", "MAX_GRAPH", "LEX_OUT", "LEX_STRING", "LEX_ESCAPE", "LEX_NUMBER", "step"]

MANY = 64  # fewer texts than this from a node to an exit are few: enumerated, and `sensitive` in a string or number
ENDLESS = 1 << 16  # the cap of a count (more items than a liveness search places), and that of an exit behind a cycle
MAX_GRAPH = 20000  # nodes one exploration may add; more: the item's exits are unknown
MAX_MEMO = 100000  # nodes remembered in all; more: the memory is cleared

LEX_OUT, LEX_STRING, LEX_ESCAPE, LEX_NUMBER = range(4)  # the lexical modes of a node
_SKIP, _COMMA, _CLOSE, _OPEN, _QUOTE, _BACKSLASH, _DIGIT, _PLAIN = range(8)  # what a byte does to the lexer
_NUMBER_START = frozenset(b"-0123456789")
_SPECIAL = frozenset(b',]}[{"\\')  # bytes that step on their own (an exit names its byte)


def _kind(mode: int, b: int) -> int:
    """What byte `b` does to the lexical position in `mode`."""
    if mode == LEX_ESCAPE:
        return _PLAIN
    if mode == LEX_STRING:
        return _QUOTE if b == 0x22 else _BACKSLASH if b == 0x5C else _PLAIN
    if b in WHITESPACE:
        return _SKIP
    if mode == LEX_NUMBER and b in NUMBER_BYTES:
        return _DIGIT
    return {0x2C: _COMMA, 0x5D: _CLOSE, 0x7D: _CLOSE, 0x5B: _OPEN, 0x7B: _OPEN, 0x22: _QUOTE}.get(
        b, _DIGIT if b in _NUMBER_START else _PLAIN)


def step(lex: tuple, b: int):
    """The lexical position (depth below the item, mode) after byte `b`; "exit" where `b` ends the item;
    None for whitespace between tokens (skipped)."""
    depth, mode = lex
    kind = _kind(mode, b)
    if kind == _SKIP:
        return None
    if kind == _COMMA:
        return "exit" if depth == 0 else (depth, LEX_OUT)
    if kind == _CLOSE:
        return "exit" if depth == 0 else (depth - 1, LEX_OUT)
    if kind == _OPEN:
        return depth + 1, LEX_OUT
    if kind == _QUOTE:
        return depth, LEX_OUT if mode == LEX_STRING else LEX_STRING
    if kind == _BACKSLASH:
        return depth, LEX_ESCAPE
    if kind == _DIGIT:
        return depth, LEX_NUMBER
    return depth, LEX_STRING if mode in (LEX_STRING, LEX_ESCAPE) else LEX_OUT


class ItemGraph:
    """The exits of item positions over an inner constraint, explored on demand and remembered.

    Parameters
    ----------
    inner : ConstraintProtocol
        The automaton's constraint (it ignores `uniqueItems`).
    bytes_after : callable
        ``bytes_after(q)``: the bytes the inner constraint allows after state `q`.
    """

    def __init__(self, inner, bytes_after):
        self.inner = inner
        self.bytes_after = bytes_after
        self._exits: dict = {}  # node -> {exit: count}, or None where unknown
        self._succ: dict = {}  # node -> the nodes one byte on
        self._landings: dict = {}
        dfa = getattr(inner, "dfa", None)
        self._dfa = dfa if dfa is not None and hasattr(dfa, "row") and hasattr(dfa, "byte_class") else None
        if self._dfa is not None:  # per lexical mode: (byte class, how many bytes step alike, one of them)
            classes = np.asarray(self._dfa.byte_class)
            self._groups = {}
            for mode in (LEX_OUT, LEX_STRING, LEX_ESCAPE, LEX_NUMBER):
                groups: dict = {}
                for b in range(256):
                    key = (int(classes[b]), _kind(mode, b), b if b in _SPECIAL else -1)
                    n, rep = groups.get(key, (0, b))
                    groups[key] = (n + 1, rep)
                self._groups[mode] = [(c, n, rep) for (c, _, _), (n, rep) in groups.items()]

    def exits(self, node):
        """``{(byte, inner state after it): count}`` for the exits reachable from `node`, or None (unknown)."""
        if node not in self._exits:
            if len(self._exits) > MAX_MEMO:
                self._exits.clear()
                self._succ.clear()
                self._landings.clear()
            self._explore(node)
        return self._exits[node]

    def landings(self, node, numbers: int, strings: int):
        """Where a token that neither ends nor determines a value can take the item from `node`: a token
        of at most `numbers` number bytes, or of at most `strings` bytes of a string (its opening quote
        included, no closing one). Returns ``(few, profiles)``: whether one of those nodes is in a string or
        number with fewer than `MANY` texts to an exit, and the distinct ``{exit: count}`` of the others
        (as frozensets of items); None where some of them are unknown."""
        key = (node, numbers, strings)
        found = self._landings.get(key)
        if found is None:
            found = self._landings[key] = self._land(node, numbers, strings)
        return found[0]

    def _land(self, node, numbers: int, strings: int) -> tuple:
        if self.exits(node) is None:
            return (None,)
        depth, mode = node[1]
        reached, layer, d = {node}, [node], 0
        while layer:
            d += 1
            nxt = []
            for v in layer:
                for w in self._succ.get(v, ()):
                    if w in reached or w[1][0] != depth or not _content(v[1][1], w[1][1]):
                        continue
                    if d <= (numbers if w[1][1] == LEX_NUMBER else strings):
                        reached.add(w)
                        nxt.append(w)
            layer = nxt
        few, profiles = False, set()
        for w in reached - {node}:
            counts = self._exits.get(w)
            if counts is None:
                return (None,)
            few = few or min(counts.values(), default=ENDLESS) < MANY
            profiles.add(frozenset(counts.items()))
        return ((few, frozenset(profiles)),)

    # -- exploring

    def _edges(self, node) -> tuple[list, dict]:
        """(successor nodes with how many bytes lead there, {exit: how many bytes}) of `node`."""
        q, lex = node
        edges: dict = {}
        direct: dict = {}
        if self._dfa is not None:
            row = self._dfa.row(q)
            moves = [(int(row[c]), n, rep) for c, n, rep in self._groups[lex[1]] if row[c] >= 0]
        else:
            moves = [(self.inner.advance_bytes(q, bytes((b,))), 1, b) for b in self.bytes_after(q)]
        for nq, n, rep in moves:
            nxt = step(lex, rep)
            if nxt is None:
                continue
            if nxt == "exit":
                direct[(rep, nq)] = direct.get((rep, nq), 0) + n
            else:
                edges[(nq, nxt)] = edges.get((nq, nxt), 0) + n
        return list(edges.items()), direct

    def _explore(self, root) -> None:
        new: dict = {}
        todo = [root]
        while todo:
            node = todo.pop()
            if node in new or node in self._exits:
                continue
            if len(new) >= MAX_GRAPH:
                for v in new:
                    self._exits[v] = None
                self._exits[root] = None
                return
            new[node] = self._edges(node)
            todo.extend(w for w, _ in new[node][0] if w not in new and w not in self._exits)
        for node, (edges, _) in new.items():
            self._succ[node] = tuple(w for w, _ in edges)
        for scc in strongly_connected(new, lambda v: (w for w, _ in new[v][0])):
            self._settle(scc, new)

    def _settle(self, scc: list, new: dict) -> None:
        """Count the exits of one strongly connected component (those it leads to are counted)."""
        members = set(scc)
        cyclic = len(scc) > 1 or any(w == scc[0] for w, _ in new[scc[0]][0])
        counts: dict = {}
        for v in scc:
            edges, direct = new[v]
            for e, n in direct.items():
                counts[e] = min(ENDLESS, counts.get(e, 0) + n)
            for w, n in edges:
                if w in members:
                    continue
                after = self._exits[w]
                if after is None:
                    for u in scc:
                        self._exits[u] = None
                    return
                for e, c in after.items():
                    counts[e] = min(ENDLESS, counts.get(e, 0) + n * c)
        if cyclic:
            counts = {e: ENDLESS for e in counts}
        for v in scc:
            self._exits[v] = counts


def _content(before: int, after: int) -> bool:
    """Is a step from lexical mode `before` to `after` (at one depth) one that writes a string's or a number's
    content, or starts one?"""
    if before == LEX_NUMBER:
        return after == LEX_NUMBER
    if before in (LEX_STRING, LEX_ESCAPE):
        return after in (LEX_STRING, LEX_ESCAPE)
    return after in (LEX_STRING, LEX_NUMBER)
