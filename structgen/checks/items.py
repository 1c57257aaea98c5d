"""Liveness of checked arrays: can the array still finish with every item new?

Refusing duplicates alone can strand a walk: under
``{"items": {"enum": [1, 2]}, "uniqueItems": true}`` the automaton lets
``[1,2,`` through, and then every item is a duplicate. And what strands an
array may lie beyond its current item: under ``prefixItems: [true,
{"type": "string"}, {"type": "null"}]`` with a `contains` that only a
fourth item can meet, ``[null`` is stranded, since the third item must be
``null`` again. A state is kept only while every open checked array can
still finish: its current item can end as a new value, and the items the
automaton then demands -- the rest of the array, as the items so far left
it (`contains`, `minItems`, later `prefixItems`) -- can be new too.

The search. An item ends at an *exit*: the ``,`` or ``]`` after it and the
inner state after that byte (`structgen.checks.graph`). The ways an item
can end are, per exit, the values that reach it where fewer than `MANY`
texts do (enumerated with the scanner, which checks nested arrays on the
way), and otherwise only how many texts do. `_reach` goes on from item
start to item start, depth first, until an exit closes the array: an
enumerated item must be new (its keys join the seen ones); an item of
many texts is taken as some new value, which it can be while the array
holds no more items than its texts (the *floor*; `ENDLESS` behind a
cycle, so that ``minItems: 100`` of strings is fine). States it proves
dead or live are remembered.

The current item is decided by what is written of it: an item language
small enough to enumerate from the item's start (`MAX_ITEMS` items,
`MAX_NODES` states, `MAX_ITEM_BYTES` per item) by its items that begin as
written; a determined item (closed strings and containers, literals from
their first byte) by its value; a string or number being written whose
endings are few (`_rest`, `MAX_REST_NODES`) by each ending (``10`` under
integers up to 100 once 10 and 100 were written); anything else by the
exits its position reaches. Masks check every allowed token where a token
that ends no value may still change the verdict (`check_all`).

The gap left: a count of texts stands for as many values, so an exit
reached only by spellings of a few values (``1``, ``1.0``, ``1.00``), or
by texts a nested checked array refuses, counts as many; an item graph
over `MAX_GRAPH` nodes (deep free-form or recursive items), an
enumeration over its budget and a search over `MAX_SEARCH` tries are
taken as able to finish; and a required checked array nested in the
document that can never be completed (a root one is an
`UnsatisfiableSchemaError` at compile time). There a walk can still reach
a state from which every way on is a duplicate.

Enumerations and exits are cached per (start state, path position), so
each costs once per schema position, not once per item.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .graph import ENDLESS, LEX_ESCAPE, LEX_NUMBER, LEX_OUT, LEX_STRING, MANY, ItemGraph, step
from .scanner import KEY, KEY_ESC, NUM, NUMBER_BYTES, STR, STR_ESC, WHITESPACE
from .values import item_keys

__all__ = ["Items", "MAX_ITEMS", "MAX_NODES", "MAX_ITEM_BYTES"]

MAX_ITEMS = 64  # items enumerated from one start state before the language counts as large
MAX_NODES = 2000  # states visited by one enumeration
MAX_ITEM_BYTES = 200  # an item longer than this counts as a large language
MAX_REST_NODES = 256  # states visited to enumerate how one string or number item can end; more: many ways
MAX_SEARCH = 2000  # items one liveness question may try (runs of items, e.g. under minItems); more: live
CACHE = 4096  # enumerations and liveness answers kept (least recently used out)
_ORDER = tuple(b'"]},') + tuple(b for b in range(256) if b not in b'"]},')  # closing bytes first
_ORDERED = np.array(_ORDER, np.int64)
_IN_STRING = (STR, STR_ESC, KEY, KEY_ESC)
_LEXICAL = (LEX_OUT, LEX_OUT, LEX_STRING, LEX_ESCAPE, LEX_STRING, LEX_ESCAPE, LEX_NUMBER, LEX_OUT)  # by scanner mode
_CLOSE = ord("]")
LIVE = "live"  # what `Items._steps` yields where the array can close
_QUOTE, _BACKSLASH = ord('"'), ord("\\")


class Items:
    """Enumerates the items of checked arrays over an inner constraint, and decides liveness.

    Parameters
    ----------
    inner : ConstraintProtocol
        The automaton's constraint (over-approximating: it ignores `uniqueItems`).
    scanner : Scanner
        The checking scanner of the same paths.
    """

    def __init__(self, inner, scanner):
        self.inner = inner
        self.scanner = scanner
        self._enumerated: OrderedDict = OrderedDict()
        self._live: OrderedDict = OrderedDict()
        self._lock = threading.RLock()  # the caches and the search budget, for constraints shared by threads
        dfa = getattr(inner, "dfa", None)
        self._rows = dfa if dfa is not None and hasattr(dfa, "row") and hasattr(dfa, "byte_class") else None
        self.graph = ItemGraph(inner, self.bytes_after)
        # item indices from here on match the same paths (no path names one by its index)
        self._horizon = 1 + max((t[1] for p in scanner.paths for t in p if t[0] in ("index", "from")), default=0)

    def bytes_after(self, q) -> list[int]:
        """The bytes the inner constraint allows after state `q`, closing bytes first."""
        if self._rows is not None:
            return _ORDERED[self._rows.row(q)[self._rows.byte_class[_ORDERED]] >= 0].tolist()
        step = self.inner.advance_bytes
        return [b for b in _ORDER if step(q, bytes((b,))) is not None]

    def _small(self, start, cur: tuple, depth: int):
        """The items (as `_enumerate` gives them) of an item language small enough to enumerate from the item
        start state `start`, else None. Where the item's exits count `MAX_ITEMS` texts or more, enumerating
        could only give up and is not tried: the search meets a start state per required item (``minItems:
        100`` of strings: a hundred), and each enumeration that gives up costs thousands of steps."""
        exits = self.graph.exits((start, (0, LEX_OUT)))
        if exits is not None and sum(exits.values()) >= MAX_ITEMS:
            return None
        items, complete = self._enumerate(start, cur, depth)
        return items if complete else None

    def _enumerate(self, start, cur: tuple, depth: int) -> tuple[tuple, bool]:
        """The items from the item start state `start` of an array at `depth` whose item paths are `cur`.

        Returns
        -------
        items : tuple of (text, keys, end, next)
            Each item's text (without whitespace between tokens), its keys
            (None for the empty item of ``[]``), the byte that ended it, and
            the inner state after that byte.
        complete : bool
            False when the enumeration gave up (a large language).
        """
        key = (start, cur, depth)
        found = self._enumerated.get(key)
        if found is not None:
            self._enumerated.move_to_end(key)
            return found
        frame = (True, (), depth, cur, 0, (frozenset(), 0, None, None))
        root = ((frame,), 0, b"", None)
        items, todo, nodes, complete = [], [(start, root)], 0, True
        while todo:
            q, tr = todo.pop()
            nodes += 1
            if nodes > MAX_NODES or len(items) >= MAX_ITEMS or len(tr[2] or b"") > MAX_ITEM_BYTES:
                complete = False
                break
            at_item = len(tr[0]) == 1 and tr[1] not in _IN_STRING
            for b in reversed(self.bytes_after(q)):  # pushed in reverse: popped closing bytes first
                if b in WHITESPACE and tr[1] not in _IN_STRING:
                    continue
                nq = self.inner.advance_bytes(q, bytes((b,)))
                nt = self.scanner.feed(tr, bytes((b,)))
                if nq is None or nt is None:
                    continue
                ended = at_item and (not nt[0] or nt[0][0][4] == 1)  # popped by ``]`` or moved on by ``,``
                if ended:
                    text = tr[2]
                    items.append((text, item_keys(text) if text else None, b, nq))
                else:
                    todo.append((nq, nt))
        found = (tuple(items), complete)
        self._remember(key, found)
        return found

    def check_all(self, tr, q, numbers: int, strings: int) -> bool:
        """Must a mask run the check on every allowed token at scanner state `tr` and inner state `q`, not only
        on those that end or determine a value? So where some open checked array has a small item language
        (any prefix may strand it), or where a token of at most `numbers` number bytes or `strings` string bytes
        can reach a string or number with few endings or exits from which the array cannot finish
        (`ItemGraph.landings`)."""
        frames = tr[0]
        with self._lock:
            for k, frame in self.scanner.checked(tr):
                start, depth = frame[5][2], frame[2]
                if self._small(start, frame[3], depth) is not None:
                    return True
                if self.graph.exits((start, (0, LEX_OUT))) is None:
                    continue  # unknown: every position of the item is taken as able to finish
                found = self.graph.landings((q, (len(frames) - 1 - k, _LEXICAL[tr[1]])), numbers, strings)
                if found is None:
                    continue
                few, profiles = found
                if few:
                    return True
                self._tries = MAX_SEARCH
                for profile in profiles:
                    branches = tuple((end, nxt, count) for (end, nxt), count in profile)
                    if not any(s is LIVE or self._reach(s, frame[1], depth)
                               for s in self._steps(branches, frame[4], frame[5][0], ENDLESS)):
                        return True
        return False

    def can_finish(self, tr, k: int, q) -> bool:
        """Can the checked array of frame `k` of the scanner state `tr` still finish: its current item end as a
        new value, and the items the rest of the array then needs be new too? `q` is the inner state now."""
        frame = tr[0][k]
        live, depth, index, seen = frame[1], frame[2], frame[4], frame[5][0]
        with self._lock:
            self._tries = MAX_SEARCH
            branches = self._current(tr, k, q)
            if branches is None:
                return True  # an item language too large to explore: taken as able to end anywhere
            return any(s is LIVE or self._reach(s, live, depth)
                       for s in self._steps(branches, index, seen, ENDLESS))

    def _current(self, tr, k: int, q):
        """The ways the current item of frame `k` can end, as `_transitions` gives them, or None (unknown)."""
        frames, mode, buf, _ = tr
        depth, (_, off, start, keys) = frames[k][2], frames[k][5]
        text = buf[off:]
        items = self._small(start, frames[k][3], depth)
        if items is not None:  # a small item language: its items that begin as written
            return _grouped((end, nxt, keys) for item_text, keys, end, nxt in items if item_text.startswith(text))
        if self.graph.exits((start, (0, LEX_OUT))) is None:
            return None
        node = (q, (len(frames) - 1 - k, _LEXICAL[mode]))
        if keys is not None:  # determined: every exit is reached by this one value
            exits = self.graph.exits(node)
            return None if exits is None else tuple((end, nxt, (keys,)) for end, nxt in exits)
        if k == len(frames) - 1 and mode in (STR, STR_ESC, NUM):
            rests, few = self._rest(q, mode)
            if few:  # a string or number with few endings left: each ending is one value
                ends = [(exit, item_keys(text + r)) for r in rests for exit in self._scalar_exits(q, r, mode)]
                return None if any(e is None for e, _ in ends) else _grouped((*e, keys) for e, keys in ends)
        exits = self.graph.exits(node)
        if exits is None:
            return None
        return tuple((end, nxt, self._values_to(q, tr, k, node[1], (end, nxt), count))
                     for (end, nxt), count in exits.items())

    def _scalar_exits(self, q, rest: bytes, mode):
        """The exits of a string or number item that ends after `rest` (written from inner state `q`); a None
        among them where they are unknown."""
        qr = self.inner.advance_bytes(q, rest) if rest else q
        if mode != NUM:
            exits = self.graph.exits((qr, (0, LEX_OUT)))
            return [None] if exits is None else list(exits)
        out = []
        for b in self.bytes_after(qr):
            if b in NUMBER_BYTES:
                continue
            nq = self.inner.advance_bytes(qr, bytes((b,)))
            if step((0, LEX_NUMBER), b) == "exit":
                out.append((b, nq))
            else:  # whitespace after the number
                exits = self.graph.exits((nq, (0, LEX_OUT)))
                out += [None] if exits is None else list(exits)
        return out

    def _transitions(self, start, cur: tuple, depth: int):
        """The ways an item that starts at inner state `start` can end: ``(byte, inner state after it, values)``
        per exit, where values is a tuple of the items' keys (None for the empty item of ``[]``) where they are
        few, else how many texts lead there (`ENDLESS`: more than any array needs); None where unknown."""
        key = ("exits", start, cur, depth)
        cached = self._enumerated.get(key)
        if cached is not None:
            self._enumerated.move_to_end(key)
            return cached[0]
        items = self._small(start, cur, depth)
        if items is not None:
            found = _grouped((end, nxt, keys) for _, keys, end, nxt in items)
        else:
            exits = self.graph.exits((start, (0, LEX_OUT)))
            frame = (True, (), depth, cur, 0, (frozenset(), 0, None, None))
            root = ((frame,), 0, b"", None)
            found = None if exits is None else tuple(
                (end, nxt, self._values_to(start, root, 0, (0, LEX_OUT), (end, nxt), count))
                for (end, nxt), count in sorted(exits.items(), key=lambda e: e[0][0] != _CLOSE))
        self._remember(key, (found,))
        return found

    def _values_to(self, q, tr, k: int, lex: tuple, exit: tuple, count: int):
        """The keys of the items (of frame `k` of scanner state `tr`, at inner state `q` and lexical position
        `lex`) that end through `exit`, where fewer than `MANY` texts do (`count`); else `count`."""
        if count >= MANY:
            return count
        off = tr[0][k][5][1]
        found, todo, nodes = [], [(q, tr, lex)], 0
        while todo:
            q0, t0, lx = todo.pop()
            nodes += 1
            if nodes > MAX_NODES:
                return count
            for b in self.bytes_after(q0):
                after = step(lx, b)
                if after is None:
                    continue
                nq = self.inner.advance_bytes(q0, bytes((b,)))
                if after == "exit":
                    if (b, nq) == exit:
                        text = t0[2][off:]
                        found.append(item_keys(text) if text else None)
                    continue
                reach = self.graph.exits((nq, after))
                if reach is None:
                    return count
                if exit in reach:
                    nt = self.scanner.feed(t0, bytes((b,)))
                    if nt is not None:
                        todo.append((nq, nt, after))
        return tuple(found)

    def _steps(self, branches, index: int, seen: frozenset, floor: int):
        """What the array may do after the item at `index` ends one of the ways `branches` names: LIVE where it
        can close there, else the next item's ``(start, index, seen, floor)``. `floor` is the fewest texts of
        the items taken without enumerating them: each must differ from all other items, so the array may
        hold at most `floor` items."""
        for end, nxt, values in branches:
            self._tries -= 1
            if isinstance(values, tuple):
                for keys in values:
                    if keys is None:  # ``[]``
                        yield LIVE
                    elif keys.isdisjoint(seen):
                        if end != _CLOSE:
                            yield nxt, index + 1, seen | keys, floor
                        elif floor > index:
                            yield LIVE
            elif min(floor, values) > index:
                yield LIVE if end == _CLOSE else (nxt, index + 1, seen, min(floor, values))

    def _reach(self, state, live: tuple, depth: int) -> bool:
        """Can the array, at the start of an item (`state`: ``(inner state, index, seen, floor)``), finish?
        A depth-first search over the items the array may go on with. A state is passed over where one with
        the same start, seen items and path position and no less room (a floor as high, an index as low) was
        entered before: item runs that add no seen value (a cycle of large item languages) end there. The
        states it proves dead and the paths it proves live are remembered."""
        path, visited, entered = [], {}, []

        def enter(s):
            start, index, seen, floor = s
            at = (start, live, depth, min(index, self._horizon), seen)
            key = at + ((floor, index) if floor < ENDLESS else (ENDLESS, 0))
            known = self._live.get(key)
            if known is not None:
                return known
            if any(f >= key[-2] and i <= key[-1] for f, i in visited.get(at, ())):
                return False
            visited.setdefault(at, []).append(key[-2:])
            entered.append(key)
            if floor <= index:
                return False
            branches = self._transitions(start, self.scanner.child(live, depth, index), depth)
            path.append((key, iter((LIVE,)) if branches is None else self._steps(branches, index, seen, floor)))
            return False

        if enter(state):
            return True
        while path:
            s = next(path[-1][1], None)
            if s is None:
                path.pop()
            elif self._tries < 0 or s is LIVE or enter(s):
                if self._tries >= 0:  # a proof, not the search budget running out
                    for key, _ in path:
                        self._remember_live(key, True)
                return True
        for key in entered:
            self._remember_live(key, False)
        return False

    def _rest(self, q, mode) -> tuple[tuple, bool]:
        """The ways the string or number being written can end from inner state `q` (scanner `mode`):
        the bytes up to its closing quote, or up to where a number may stop; and whether that is all."""
        key = ("rest", q, mode)
        found = self._enumerated.get(key)
        if found is not None:
            return found
        rests, nodes, complete = [], 0, True
        stack = [(q, mode, b"", iter(self.bytes_after(q)))]
        if mode == NUM and any(b not in NUMBER_BYTES for b in self.bytes_after(q)):
            rests.append(b"")
        while stack:  # depth first, each state's bytes taken one at a time (most are never expanded)
            q0, m, text, bytes_left = stack[-1]
            b = next(bytes_left, None)
            if b is None:
                stack.pop()
                continue
            if m == NUM and b not in NUMBER_BYTES:
                continue
            if m == STR and b == _QUOTE:
                rests.append(text + b'"')
            else:
                nodes += 1
                if nodes > MAX_REST_NODES or len(rests) >= MAX_ITEMS or len(text) >= MAX_ITEM_BYTES:
                    complete = False
                    break
                nq = self.inner.advance_bytes(q0, bytes((b,)))
                nm = STR if m == STR_ESC else STR_ESC if m == STR and b == _BACKSLASH else m
                after = self.bytes_after(nq)
                if nm == NUM and any(c not in NUMBER_BYTES for c in after):
                    rests.append(text + bytes((b,)))
                stack.append((nq, nm, text + bytes((b,)), iter(after)))
        complete = complete and len(rests) < MAX_ITEMS
        found = (tuple(rests), complete)
        self._remember(key, found)
        return found

    def _remember(self, key, value) -> None:
        self._enumerated[key] = value
        if len(self._enumerated) > CACHE:
            self._enumerated.popitem(last=False)

    def _remember_live(self, key, value: bool) -> None:
        self._live[key] = value
        if len(self._live) > CACHE:
            self._live.popitem(last=False)


def _grouped(ends) -> tuple:
    """``(byte, next state, keys)`` triples as `_transitions` branches: the keys gathered per exit, closing
    exits first."""
    out: dict = {}
    for end, nxt, keys in ends:
        out.setdefault((end, nxt), []).append(keys)
    return tuple((end, nxt, tuple(keys)) for (end, nxt), keys in sorted(out.items(), key=lambda e: e[0][0] != _CLOSE))
