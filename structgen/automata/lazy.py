"""Lazy determinization: a document's DFA built state by state, as decoding reaches it.

Why: the automaton of a whole JSON document can have millions of states,
while one generation visits a few hundred, and building (and minimising)
all of it before the first token is what made big schemas slow or
impossible to compile. `LazyDFA` keeps the NFA (whose sub-automata, such as
string patterns or number ranges, are small minimal DFAs built eagerly) and
runs the subset construction only on the rows that `mask` and `advance`
walk through (`fill_mask`, `walk_token`), keeping every row it builds.

What stays exact: the NFA is trimmed before any subset is made (NFA states
that cannot reach acceptance are left out), so every DFA state the lazy
construction hands out can still reach acceptance, as in a trimmed eager
DFA; the language is the same as `build_dfa`'s. What is given up: the
states are not minimal (two states may accept the same suffixes), which
only costs cache entries.

The bound: the states built are limited by the compile budget's
`max_states` and memory (as an eager construction would be); past them,
building a row raises `CompileBudgetError` (there is no clock after compiling).
Building rows is serialised by a lock, so one automaton can serve several
threads; readers see rows either built or `UNKNOWN`.
"""

from __future__ import annotations

import threading

import numpy as np

from . import ir
from .budget import OVER_STATES, current
from .determinize import Subsets
from .dfa import DFA
from .nfa import NFA
from .rows import UNKNOWN
from ..token_trie import plain_classes, plain_target, walk_bytes, walk_trie

__all__ = ["LazyDFA", "UNKNOWN"]

# The NFA of a lazy automaton is all that compiling builds, and it grows linearly with the
# schema (a shared definition is built once more and called, `NFA.fragment`), so it may have
# this many times the states budget; the memory budget still bounds it.
NFA_STATES_PER_STATE = 10


class LazyDFA:
    """A DFA over bytes whose rows are built on demand; quacks like `structgen.automata.dfa.DFA`.

    `trans[state, byte_class[b]]` is the next state, -1 for no transition
    and `UNKNOWN` while the state's row is not built yet (`fill_mask`, `walk_token`
    and `ensure` build rows).
    State 0 is the start. `n_states` counts the states discovered so far.
    """

    def __init__(self, subsets: Subsets | None, dfa: DFA | None = None):
        self._subsets = subsets
        self._lock = threading.Lock()
        if dfa is not None:  # an eager DFA: every row is built
            self._trans, self._accept, self.byte_class = dfa.trans, dfa.accept, dfa.byte_class
            self._n = dfa.n_states
            self.is_empty = dfa.is_empty
        else:
            self._sync()
            self.byte_class = subsets.byte_class
            self.is_empty = subsets.is_empty
            self.ensure([0], 0)
        # the classes of the plain bytes, for `walk_trie`'s and `Constraint.mask`'s shortcuts in strings
        self.plain_classes = plain_classes(self.byte_class)

    @staticmethod
    def build(node: ir.Node, max_states: int | None = None) -> "LazyDFA":
        """The lazy automaton of a reference-free IR node (only its start state is built).

        Raises
        ------
        AutomatonTooLargeError
            When the NFA (or an eagerly built sub-automaton) is over `max_states`.
        CompileBudgetError
            Past the current compile budget's memory or seconds.
        """
        from .dfa import _compile

        meter = current()
        max_states = meter.max_states if max_states is None else max_states
        nfa = NFA(NFA_STATES_PER_STATE * max_states, lambda sub, cap=max_states: _compile(sub, min(cap, max_states)))
        start, final = nfa.fragment(node)
        return LazyDFA(Subsets(nfa, start, final, max_states, meter.max_cells))

    @staticmethod
    def of(dfa: DFA) -> "LazyDFA":
        """An eager DFA seen through this interface (nothing left to build)."""
        return LazyDFA(None, dfa)

    def _sync(self) -> None:
        s = self._subsets
        # acceptance first: a reader of the new table, which may hold new states, never reads the old one
        self._accept = s.accept
        self._trans, self._n = s.trans, s.n_states

    # -- the DFA interface

    @property
    def trans(self) -> np.ndarray:
        """The transition table so far (rows past `n_states` are unused); replaced when it grows."""
        return self._trans

    @property
    def accept(self) -> np.ndarray:
        return self._accept

    @property
    def n_states(self) -> int:
        return self._n

    def ensure(self, seeds, depth: int) -> None:
        """Build the rows of every state within `depth` transitions of the states `seeds`.

        Raises
        ------
        CompileBudgetError
            When the states built would pass the compile budget's states or
            memory (the budget the automaton was compiled under).
        """
        if self._subsets is None:
            return
        with self._lock:
            status = self._subsets.expand(seeds, depth)
            self._sync()
        self._check(status)

    def fill_mask(self, state: int, trie, out: np.ndarray) -> None:
        """Set the bit in `out` (a `structgen.bitmask`) of every token of `trie` (a `TokenTrie`)
        readable from `state`, building exactly the rows the tokens pass through; raises as `ensure` does."""
        states, i = None, 0
        # Without the lock while no row can be missing; else the building kernel walks at once (a walk
        # stopped at a missing row costs a call of its own, as much as the walk)
        if self._subsets is None or self._subsets.complete:
            states = np.empty(trie.max_depth + 1, np.int64)
            states[0] = state
            i, missing = walk_trie(self._trans, self.byte_class, states, 0, trie.byte, trie.depth, trie.skip,
                                   trie.first, trie.token_ids, trie.pure_top, self.plain_classes, out)
            if missing < 0:  # every row it needed was built (always, for an eager DFA)
                return
        with self._lock:
            status = self._subsets.fill_mask(state, states, i, trie, self.plain_classes, out)
            self._sync()
        self._check(status)

    def fill_mask_or_rest(self, state: int, whole, rest, out: np.ndarray) -> bool:
        """`fill_mask` with the trie `whole`, or with `rest` (a `PlainSplit`'s, whose plain tokens the
        caller adds) where every plain byte leads from `state` to one same state; whether `whole` was
        walked. One kernel call, which builds the row of `state` first where it is not built; raises
        as `ensure` does."""
        if self._subsets is None:
            whole_walked = plain_target(self._trans, state, self.plain_classes) < 0
            self.fill_mask(state, whole if whole_walked else rest, out)
            return whole_walked
        with self._lock:
            status, walked = self._subsets.fill_mask_or_rest(state, whole, rest, self.plain_classes, out)
            self._sync()
        self._check(status)
        return walked

    def walk_token(self, state: int, flat: np.ndarray, lo: int, hi: int) -> int:
        """The state after the bytes flat[lo:hi] from `state`, or -1; raises as `ensure` does."""
        t = walk_bytes(self._trans, self.byte_class, state, flat, lo, hi)  # rows already built: no lock
        if t != UNKNOWN:  # always, for an eager DFA
            return max(int(t), -1)
        with self._lock:
            t, status = self._subsets.walk_token(state, flat, lo, hi)
            self._sync()
        self._check(status)
        return t

    def _check(self, status: int) -> None:
        if not status:
            return
        from ..errors import CompileBudgetError

        if status == OVER_STATES:
            raise CompileBudgetError("automaton", "states", self._subsets.max_states,
                                     "the states decoding reached; raise it with CompileBudget(max_states=...)")
        raise CompileBudgetError("automaton", "memory", 8 * self._subsets.max_cells,
                                 "the states decoding reached; raise it with CompileBudget(max_memory=...)")

    def step(self, state: int, byte: int) -> int:
        return self.walk(bytes((byte,)), state)

    def walk(self, data: bytes, state: int = 0) -> int:
        """State after `data` from `state`, or -1."""
        if state < 0:
            return -1
        # writable, as a token's bytes are: one kernel signature (numba compiles one per array flag)
        return self.walk_token(state, np.frombuffer(bytearray(data), np.uint8), 0, len(data))

    def matches(self, data: bytes) -> bool:
        s = self.walk(data)
        return s >= 0 and bool(self._accept[s])

    def is_built(self, state: int) -> bool:
        """Whether the row of `state` is built (always, for an eager DFA)."""
        return self._trans[state, 0] != UNKNOWN

    def row(self, state: int) -> np.ndarray:
        """The built transitions of `state` (one per byte class)."""
        if self._trans[state, 0] == UNKNOWN:
            self.ensure([state], 0)
        return self._trans[state]

