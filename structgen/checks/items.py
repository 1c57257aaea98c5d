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
than `MAX_ITEM_BYTES`: the item language is then taken to be large, i.e.
to hold a new value whatever the array has seen. That is exact when the
language really is large, and the documented gap otherwise: a finite item
language with more than `MAX_ITEMS` texts, or a large language with a
prefix that narrows it to a few values (``"a"`` under a ``maxLength: 1``
string after every one-character string was written) can still reach a
state where every way on is a duplicate. Determined items (closed strings
and containers, literals from their first byte) are checked by the scanner
itself, so the common case of a free-form item (``t``, which can only be
``true``) never strands.

Enumerations are cached per (start state, path position), so each costs
once per schema position, not once per item.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .scanner import KEY, KEY_ESC, STR, STR_ESC, WHITESPACE
from .values import item_keys

__all__ = ["Items", "MAX_ITEMS", "MAX_NODES", "MAX_ITEM_BYTES"]

MAX_ITEMS = 64  # items enumerated from one start state before the language counts as large
MAX_NODES = 2000  # states visited by one enumeration
MAX_ITEM_BYTES = 200  # an item longer than this counts as a large language
MAX_SEARCH = 2000  # items one liveness question may try (runs of items, e.g. under minItems); more: live
CACHE = 4096  # enumerations and liveness answers kept (least recently used out)
_ORDER = tuple(b'"]},') + tuple(b for b in range(256) if b not in b'"]},')  # closing bytes first
_IN_STRING = (STR, STR_ESC, KEY, KEY_ESC)


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
            row, cls = self._rows.row(q), self._rows.byte_class
            return [b for b in _ORDER if row[cls[b]] >= 0]
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
        self._enumerated[key] = found
        if len(self._enumerated) > CACHE:
            self._enumerated.popitem(last=False)
        return found

    def can_finish(self, start, frame: tuple, text: bytes) -> bool:
        """Can the current item of the checked array `frame`, begun as `text`, end as a new value,
        and the array then close?"""
        live, depth, index, (seen, _, _, _) = frame[1], frame[2], frame[4], frame[5]
        with self._lock:
            self._tries = MAX_SEARCH
            return self._finishes(start, live, depth, index, seen, text)

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
