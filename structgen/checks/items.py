"""Liveness of checked arrays: can the current item still end as a value not yet seen?

Refusing duplicates alone can strand a walk: under
``{"items": {"enum": [1, 2]}, "uniqueItems": true}`` the automaton lets
``[1,2,`` through, and then every item is a duplicate. A state is kept only
while every open checked array can still finish: its current item can end
as a new value (and, where the automaton then demands another item, that one
too, and so on, until the array may close).

The items an automaton state can still write are found by enumeration: a
depth-first walk of the bytes the inner automaton allows from the item's
start state (the scanner checking nested arrays on the way, closing bytes
tried first, whitespace between tokens skipped since it never changes a
value), which stops at the byte that ends the item at the array's level.
It gives up after `MAX_ITEMS` items, `MAX_NODES` states or items longer
than `MAX_ITEM_BYTES`: the item language is then large, and the item is
taken to hold a new value whatever the array has seen -- except where the
item is a string or a number being written: there the ways it can still
end are enumerated from the current state (`MAX_REST_NODES`), so that a
prefix narrowing a large language to seen values (``10`` under integers
up to 100 once 10 and 100 were written; ``"}`` under a one-character
pattern) is refused too; a mask then checks every allowed token wherever
such narrowing is reachable (`may_narrow`). The gap left: a finite item
language with more than `MAX_ITEMS` texts that is exhausted, a prefix
*inside* an item's containers that narrows to seen values, runs of items
beyond `MAX_SEARCH` tries, and a required checked array nested in the
document that can never be completed (a root one is an
`UnsatisfiableSchemaError` at compile time): a walk can still reach a state
from which every way on is a duplicate. Determined items (closed strings
and containers, literals from their first byte) are checked by the scanner
itself, so the common case of a free-form item (``t``, which can only be
``true``) never strands.

Enumerations are cached per (start state, path position), so each costs
once per schema position, not once per item.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .scanner import KEY, KEY_ESC, NUM, NUMBER_BYTES, OUT, STR, STR_ESC, WHITESPACE
from .values import item_keys

__all__ = ["Items", "MAX_ITEMS", "MAX_NODES", "MAX_ITEM_BYTES"]

MAX_ITEMS = 64  # items enumerated from one start state before the language counts as large
MAX_NODES = 2000  # states visited by one enumeration
MAX_ITEM_BYTES = 200  # an item longer than this counts as a large language
MAX_REST_NODES = 256  # states visited to enumerate how one string or number item can end; more: many ways
MAX_NARROW = 512  # inner states of one string or number item classified by `may_narrow`; more: check all tokens
MAX_SEARCH = 2000  # items one liveness question may try (runs of items, e.g. under minItems); more: live
CACHE = 4096  # enumerations and liveness answers kept (least recently used out)
_ORDER = tuple(b'"]},') + tuple(b for b in range(256) if b not in b'"]},')  # closing bytes first
_ORDERED = np.array(_ORDER, np.int64)
_IN_STRING = (STR, STR_ESC, KEY, KEY_ESC)
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

    def bytes_after(self, q) -> list[int]:
        """The bytes the inner constraint allows after state `q`, closing bytes first."""
        if self._rows is not None:
            return _ORDERED[self._rows.row(q)[self._rows.byte_class[_ORDERED]] >= 0].tolist()
        step = self.inner.advance_bytes
        return [b for b in _ORDER if step(q, bytes((b,))) is not None]

    def enumerate(self, start, cur: tuple, depth: int) -> tuple[tuple, bool]:
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
        with self._lock:
            return self._enumerate(start, cur, depth)

    def _enumerate(self, start, cur: tuple, depth: int) -> tuple[tuple, bool]:
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

    def can_finish(self, frame: tuple, text: bytes, q, scalar) -> bool:
        """Can the current item of the checked array `frame`, begun as `text`, end as a new value,
        and the array then close? `q` is the inner state now; `scalar` the scanner's mode where the
        item itself is a string or number being written (STR, STR_ESC or NUM), else None."""
        live, depth, index, (seen, _, start, _) = frame[1], frame[2], frame[4], frame[5]
        with self._lock:
            self._tries = MAX_SEARCH
            if not self._finishes(start, live, depth, index, seen, text):
                return False
            if scalar is None or self._enumerate(start, self.scanner.child(live, depth, index), depth)[1]:
                return True  # a small item language was decided exactly above
            rests, complete = self._rest(q, scalar)
            return not complete or any(item_keys(text + r).isdisjoint(seen) for r in rests)

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

    def may_narrow(self, q, mode) -> bool:
        """Can a string or number item, written on from inner state `q` (mode STR, STR_ESC, NUM, or OUT for
        one not begun yet), reach a state from which it has few enough endings to enumerate? (Then every
        token may strand it, and a mask checks them all.)"""
        key = ("narrow", q, mode)
        with self._lock:
            found = self._enumerated.get(key)
            if found is None:
                found = self._narrow(q, mode)
                self._remember(key, found)
            return found

    def _narrow(self, q, mode) -> bool:
        if mode == OUT:
            starts = [(self.inner.advance_bytes(q, bytes((b,))), STR if b == _QUOTE else NUM)
                      for b in self.bytes_after(q) if b == _QUOTE or b in NUMBER_BYTES]
        else:
            starts = [(q, mode)]
        seen, todo = set(starts), list(starts)
        while todo:
            if len(seen) > MAX_NARROW:
                return True  # too many states to classify: every token is checked
            q0, m = todo.pop()
            if self._rest(q0, m)[1]:
                return True
            for b in self.bytes_after(q0):
                if (m == NUM and b not in NUMBER_BYTES) or (m == STR and b == _QUOTE):
                    continue
                nxt = (self.inner.advance_bytes(q0, bytes((b,))),
                       STR if m == STR_ESC else STR_ESC if m == STR and b == _BACKSLASH else m)
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    def _remember(self, key, value) -> None:
        self._enumerated[key] = value
        if len(self._enumerated) > CACHE:
            self._enumerated.popitem(last=False)

    def _finishes(self, start, live, depth, index, seen, text) -> bool:
        key = (start, live, depth, index, seen, text)
        answer = self._live.get(key)
        if answer is None:
            answer = self._search(start, live, depth, index, seen, text)
            self._live[key] = answer
            if len(self._live) > CACHE:
                self._live.popitem(last=False)
        return answer

    def _search(self, start, live, depth, index, seen, text) -> bool:
        items, complete = self._enumerate(start, self.scanner.child(live, depth, index), depth)
        if not complete:
            return True  # a large language: taken to hold a new value (the gap the module docstring names)
        for item_text, keys, end, nxt in items:
            if not item_text.startswith(text):
                continue
            self._tries -= 1
            if self._tries < 0:
                return True  # too many runs of items to try: taken as live (the same gap)
            if keys is None:  # ``[]``
                return True
            if not keys.isdisjoint(seen):
                continue
            if end == ord("]") or self._finishes(nxt, live, depth, index + 1, seen | keys, b""):
                return True
        return False
