"""`CheckedConstraint`: an automaton that over-approximates, and an exact check at value boundaries.

Some JSON Schema keywords are not context-free -- `uniqueItems` over
unboundedly many items is the one that matters -- so no automaton states
them. The schema is compiled without them (an over-approximation), and this
wrapper checks them on the bytes the automaton allows: a state is
``(inner state, scanner state)``, the scanner (`structgen.checks.scanner`)
refusing the byte at which an item of a checked array is determined to
repeat a seen one, and `structgen.checks.items` refusing the token after
which some open checked array could no longer finish.

Costs. `advance` walks the token through the inner automaton and the
scanner: AWRS, which checks only the tokens it draws, pays that and nothing
more. `mask` starts from the inner mask and runs `advance` on the allowed
tokens that could change the verdict: none while no checked array is open
and none can open below (the mask is the inner one); those holding a ``[``
while none is open; inside one, the tokens that can end a string (a ``"``)
while in a string, that can end a number while in a number, and otherwise
the allowed tokens that do more than start a string or a number; all
allowed tokens where an item language is small enough to enumerate (the
allowed tokens are then few), and where a token of the others -- digits, a
string's content, as long as the vocabulary's longest such token -- can
reach a string or number with few endings, or exits from which the array
cannot finish (`Items.check_all`). The tokens left out need no check: they
end and determine no value, and `check_all` found every position they can
reach live. Masks are cached per state (the `MASK_CACHE` most recent).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace

import numpy as np

from ..bitmask import pack
from .items import Items
from .scanner import KEY, KEY_ESC, LIT, NUM, NUMBER_BYTES, STR, STR_ESC, Scanner

__all__ = ["CheckedConstraint", "MASK_CACHE", "checked_note"]

MASK_CACHE = 1024


class CheckedConstraint:
    """A constraint (`ConstraintProtocol`) whose checked arrays must hold distinct items.

    Parameters
    ----------
    inner : ConstraintProtocol
        The compiled schema without `uniqueItems` (every live state of it can finish).
    paths : iterable of tuple
        The paths of the arrays to check (`structgen.schema.unique.unique_paths`).
    checked : iterable of (keyword, pointer)
        The schema's keywords the check enforces (``UniqueArrays.checked``), kept
        as `checked` for reports (`structgen.schema.enforcement`).
    """

    def __init__(self, inner, paths, checked=()):
        self.inner = inner
        self.checked = frozenset(checked)
        self.vocab = inner.vocab
        self.paths = tuple(sorted(paths, key=repr))
        self.scanner = Scanner(self.paths)
        self.items = Items(inner, self.scanner)
        self.info = replace(inner.info, notes=tuple(inner.info.notes) + (checked_note(self.paths),))
        self.source = getattr(inner, "source", None)
        tokens = self.vocab.tokens
        self._eos = frozenset(int(e) for e in self.vocab.eos_token_ids)
        self._eos_ids = np.array(sorted(self._eos), np.int64)
        self._opens = np.fromiter((b"[" in t for t in tokens), np.bool_, len(tokens))
        self._quotes = np.fromiter((b'"' in t for t in tokens), np.bool_, len(tokens))
        numeric = np.fromiter((bool(t) and all(b in NUMBER_BYTES for b in t) for t in tokens), np.bool_, len(tokens))
        string_only = np.fromiter((t[:1] == b'"' and b'"' not in t[1:] for t in tokens), np.bool_, len(tokens))
        self._ends_number = ~numeric
        self._does_more = ~(numeric | string_only)
        # the longest tokens that neither end nor determine a value: within a number, within or opening a string
        self._reach_number = max((len(t) for t, n in zip(tokens, numeric) if n), default=0)
        self._reach_string = max((len(t) for t in tokens if b'"' not in t[1:]), default=0)
        self._masks: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # -- states

    def start(self):
        return self.inner.start(), self.scanner.start

    def is_finished(self, state) -> bool:
        return self.inner.is_finished(state[0])

    def is_accepting(self, state) -> bool:
        """May the output end here? (The inner automaton accepts only once every array has closed.)"""
        return self.inner.is_accepting(state[0])

    def can_continue(self, state) -> bool:
        """Is a token other than end-of-sequence allowed?"""
        m = self.mask(state)
        return int(m.sum()) > int(m[self._eos_ids].sum())

    def _after(self, q, tr, data: bytes, nq):
        """The combined state after `data` (which the inner constraint takes from `q` to `nq`), or None."""
        last = len(data) - 1
        nt = self.scanner.feed(tr, data, lambda i: nq if i == last else self.inner.advance_bytes(q, data[:i + 1]))
        if nt is None:
            return None
        for k, _ in self.scanner.checked(nt):
            if not self.items.can_finish(nt, k, nq):
                return None
        return nq, nt

    def advance(self, state, token_id: int):
        """The state after `token_id`, or None when the inner constraint or the check refuses it."""
        q, tr = state
        nq = self.inner.advance(q, token_id)
        if nq is None or token_id in self._eos:
            return None if nq is None else (nq, tr)
        return self._after(q, tr, self.vocab.tokens[token_id], nq)

    def advance_bytes(self, state, data: bytes):
        q, tr = state
        nq = self.inner.advance_bytes(q, data)
        if nq is None or not data:
            return None if nq is None else (nq, tr)
        return self._after(q, tr, data, nq)

    def accepts_text(self, data: bytes) -> bool:
        end = self.advance_bytes(self.start(), data)
        return end is not None and self.is_accepting(end)

    # -- masks

    def _candidates(self, state, base: np.ndarray) -> np.ndarray:
        """The allowed tokens whose verdict the check may change (module docstring)."""
        q, tr = state
        _, mode, buf, _ = tr
        if buf is None:
            select = self._opens
        elif self.items.check_all(tr, q, self._reach_number, self._reach_string):
            return np.flatnonzero(base)
        elif mode in (STR, STR_ESC, KEY, KEY_ESC):
            select = self._quotes
        elif mode == NUM:
            select = self._ends_number
        elif mode == LIT:
            return np.flatnonzero(base)
        else:
            select = self._does_more
        return np.flatnonzero(base & select)

    def mask(self, state) -> np.ndarray:
        """Boolean mask over the vocabulary (read-only, shared by the cache): the inner mask less what the check refuses."""
        with self._lock:
            cached = self._masks.get(state)
            if cached is not None:
                self._masks.move_to_end(state)
                return cached
        q, tr = state
        out = self.inner.mask(q)
        if not self.inner.is_finished(q) and not self.scanner.dormant(tr):
            refused = [t for t in self._candidates(state, out).tolist() if self.advance(state, t) is None]
            if refused:
                out = out.copy()
                out[refused] = False
                out.flags.writeable = False
        with self._lock:
            self._masks[state] = out
            if len(self._masks) > MASK_CACHE:
                self._masks.popitem(last=False)
        return out

    def bitmask(self, state) -> np.ndarray:
        """`mask` as bits (`structgen.bitmask`), packed from it (read-only)."""
        out = pack(self.mask(state))
        out.flags.writeable = False
        return out

    def forced_bytes(self, state, limit: int = 256) -> bytes:
        """The bytes every accepted continuation starts with: the inner constraint's, except where the check
        leaves one of several bytes (or refuses the one the inner constraint forces)."""
        out = bytearray()
        while len(out) < limit and not self.is_finished(state) and not self.is_accepting(state):
            q, tr = state
            forced = self.inner.forced_bytes(q, 1)
            if not forced and self.scanner.dormant(tr):
                break
            options = list(forced) if forced else self.items.bytes_after(q)
            nexts = [(b, n) for b in options if (n := self.advance_bytes(state, bytes((b,)))) is not None]
            if len(nexts) != 1:
                break
            out.append(nexts[0][0])
            state = nexts[0][1]
        return bytes(out)

    def __repr__(self) -> str:
        return f"CheckedConstraint({self.inner!r}, paths={len(self.paths)})"


def checked_note(paths) -> str:
    """The compile note that names the checked arrays and what checking them costs."""
    listed = ", ".join("/" + "/".join(_token(t) for t in p) for p in sorted(paths, key=repr))
    return (f"uniqueItems is checked, not compiled: the arrays at {listed} (a path: '*' any member, '~p~' the "
            "members matching p, '*-others' the members no property or pattern names, 'n+' every item from index "
            "n on) refuse a duplicate item; masking inside them runs the check on the allowed "
            "tokens that can end an item or a value")


def _token(t: tuple) -> str:
    return {"name": lambda: str(t[1]), "any-name": lambda: "*", "index": lambda: str(t[1]),
            "from": lambda: f"{t[1]}+", "pattern": lambda: f"~{t[1]}~", "other-name": lambda: "*-others"}[t[0]]()
