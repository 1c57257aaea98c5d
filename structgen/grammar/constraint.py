"""`GrammarConstraint`: the `Constraint` interface over a pushdown automaton.

A parser state is a set of stacks (more than one only where the grammar is
ambiguous), each stack a hash-consed node of a growing pool (see
`kernels.py`); the set is interned to a small int, which is the state the
samplers see — immutable, hashable, free to share between SMC particles.

Masks: the tokens a stack may read depend mostly on its top entries. For
the top `CONTEXT` states of a stack (and how many more pushes `max_depth`
leaves), every token is classified once by a trie walk: readable without
looking further down the stack, unreadable, or "must pop below": those trie
nodes are finished against the real stack at run time, which only touches
the few subtrees where a rule really ends inside the token. Masks are then
cached per interned state (a bounded cache: states are unbounded).

`max_depth` bounds the number of nested rule calls open at once. Known
limit: at that bound a parse whose only way forward is a deeper call is a
dead end (the mask is empty there), unlike the DFA constraint, whose every
state can finish.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict

import numpy as np

from ..bitmask import n_words, positions, unpack
from ..constraint import CompileInfo
from ..errors import GrammarError, StructgenError
from ..token_trie import plain_classes, plain_split_for, trie_for
from . import kernels as k
from .grammar import Grammar
from .pushdown import PushdownTables, compile_pushdown
from .tables import MISS_SLOTS

CONTEXT = 2  # stack entries a token classification is keyed on
MAX_STACKS = 1024  # live parses per byte before the grammar counts as too ambiguous
MASK_CACHE = 1024  # masks kept per constraint


def compile_grammar_ir(grammar: Grammar, vocab, *, max_depth: int | None = None, source=None,
                       empty_language: StructgenError | None = None) -> "GrammarConstraint":
    """Compile a context-free grammar (rules in IR) against a vocabulary.

    `max_depth` bounds the number of nested rule calls open at once (the start
    rule is not counted); None leaves nesting unbounded.

    Raises
    ------
    GrammarError
        When the grammar cannot be compiled (see `compile_pushdown`), among
        others when its start rule matches no string.
    StructgenError
        `empty_language`, when given, instead of that `GrammarError`.
    """
    t0 = time.perf_counter()
    tables = compile_pushdown(grammar, empty_language=empty_language)
    constraint = GrammarConstraint(tables, vocab, max_depth=max_depth, source=source if source is not None else grammar)
    notes = tables.notes + ((f"nesting depth at most {max_depth}",) if max_depth is not None else ())
    constraint.info = CompileInfo(time.perf_counter() - t0, tables.n_states, (), notes)
    return constraint


class _Pool:
    """The node pool of the kernels (growing arrays and their hash table)."""

    def __init__(self, capacity: int = 1 << 14):
        self.st = np.zeros(capacity, np.int32)
        self.par = np.zeros(capacity, np.int32)
        self.dep = np.zeros(capacity, np.int32)
        self.meta = np.zeros(4, np.int64)
        self.hkeys = np.full(4 * capacity, -1, np.int64)
        self.hvals = np.zeros(4 * capacity, np.int32)

    def grow(self) -> None:
        cap = 2 * self.st.shape[0]
        for name in ("st", "par", "dep"):
            old = getattr(self, name)
            new = np.zeros(cap, np.int32)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        self.hkeys = np.full(4 * cap, -1, np.int64)
        self.hvals = np.zeros(4 * cap, np.int32)
        k.rehash(self.st, self.par, int(self.meta[k.COMMITTED]), self.hkeys, self.hvals)

    def args(self) -> tuple:
        return self.st, self.par, self.dep, self.meta, self.hkeys, self.hvals


def _serialised(method):
    """Run the method under the constraint's lock: the node pool, the interned states and the lazily
    built tables are shared, growing state (one compiled constraint may serve several threads)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


class GrammarConstraint:
    """A context-free grammar over a vocabulary: start / advance / mask / is_accepting, as `Constraint`.

    Safe to share between threads: the methods that step parsers are serialised (`_serialised`).
    """

    FINISHED = -2

    def __init__(self, tables: PushdownTables, vocab, *, max_depth: int | None = None, source=None):
        if max_depth is not None and max_depth < 0:
            raise ValueError("max_depth must be at least 0")
        self.tables = tables
        self.vocab = vocab
        self._lock = threading.RLock()
        self.source = source
        self.info = CompileInfo(n_states=tables.n_states, notes=tables.notes)
        self.max_depth = max_depth
        self._trie = trie_for(vocab)
        self._split = plain_split_for(vocab)
        # the classes of the plain bytes, for the trie walk's shortcut in strings (`kernels._walk`)
        self._plain_classes = plain_classes(tables.byte_class)
        self._eos_bits = positions(vocab.eos_token_ids)
        self._eos_set = frozenset(int(e) for e in vocab.eos_token_ids)
        self._allowed = np.asarray(vocab.allowed, bool)
        self._max_len = np.int64(2**31 - 1 if max_depth is None else max_depth + 1)
        t = tables
        # Return states that can only pop again are not pushed (tail calls), unless depth is counted.
        self._use_tail = max_depth is None
        self._pool = _Pool()
        self._buf = np.zeros(2 * MAX_STACKS, np.int32)
        levels = self._trie.max_depth + 2
        self._lvl = np.zeros(levels * MAX_STACKS, np.int32)
        self._ls = np.zeros(levels, np.int64)
        self._le = np.zeros(levels, np.int64)
        self._smark = np.zeros(levels + 1, np.int64)
        # trie nodes a classification walks again (`kernels.redo_walks`), as many as rows it may miss
        self._redo = np.zeros(MISS_SLOTS + 1, np.int32)
        # Pushes one token can make, past which a depth budget no longer matters.
        self._budget_cap = CONTEXT + self._trie.max_depth * max(t.max_chain, 1) + 1
        self._stacks: list[np.ndarray] = []  # interned state -> its stack nodes
        self._ids: dict[tuple[int, ...], int] = {}
        self._classes: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._masks: OrderedDict[int, np.ndarray] = OrderedDict()
        while (bottom := k.make_bottom(np.int32(tables.rule_start[0]), *self._pool.args())) < 0:
            self._pool.grow()
        self._start = self._intern(np.array([bottom], np.int32))

    # -- plumbing ---------------------------------------------------------------------------

    def _tab(self) -> tuple:
        # Afresh for every kernel run: building rows replaces the tables' arrays.
        return self.tables.kernel_args(self._use_tail)

    def _walked(self, t) -> tuple:
        """The trie `t` and the byte classes, as the kernels that walk it take them (`kernels._walk`)."""
        return t.skip, t.byte, t.depth, t.first, t.token_ids, t.pure_top, self._plain_classes, self.tables.byte_class

    def _retry(self, r: int) -> bool:
        """After a kernel run that returned `r`: should it run again (the pool grew, or rows it
        needed were built)? Raises when the grammar is too ambiguous."""
        if r == k.OVERFLOW:
            self._pool.grow()
            return True
        if self.tables.build_missing():
            return True
        if r == k.AMBIGUOUS:
            raise _too_ambiguous()
        return False

    def _step(self, nodes: np.ndarray, data: np.ndarray) -> np.ndarray | None:
        """The stacks after reading `data` from `nodes` (sorted node ids), or None when none survive."""
        while True:
            n = k.advance_stacks(nodes, data, self.tables.byte_class, *self._tab(), self._max_len,
                                 *self._pool.args(), self._buf, MAX_STACKS)
            if not self._retry(n):
                return np.sort(self._buf[:n]) if n > 0 else None

    def _intern(self, nodes: np.ndarray) -> int:
        key = tuple(nodes.tolist())
        sid = self._ids.get(key)
        if sid is None:
            sid = self._ids[key] = len(self._stacks)
            nodes.flags.writeable = False
            self._stacks.append(nodes)
        return sid

    # -- the Constraint interface -----------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.vocab.tokens)

    def start(self) -> int:
        return self._start

    def is_finished(self, state: int) -> bool:
        return state == self.FINISHED

    @_serialised
    def is_accepting(self, state: int) -> bool:
        """May the output end here (is end-of-sequence allowed)?"""
        if state < 0:
            return False
        p = self._pool
        return any(k.all_accepting(int(n), p.st, p.par, self.tables.accept) for n in self._stacks[state])

    @_serialised
    def can_continue(self, state: int) -> bool:
        """Is any byte allowed after this state (else only end-of-sequence is)?"""
        if state < 0:
            return False
        while True:
            r = k.can_read_byte(self._stacks[state], *self._tab(), self._max_len, *self._pool.args(),
                                self._buf, MAX_STACKS)
            if not self._retry(r):
                return r == 1

    @_serialised
    def advance(self, state: int, token_id: int) -> int | None:
        """The state after `token_id`, or None when the token is not allowed."""
        if state < 0:
            return None
        if token_id in self._eos_set:
            return self.FINISHED if self.is_accepting(state) else None
        t = self._trie
        lo, hi = t.offset[token_id], t.offset[token_id + 1]
        if lo == hi or not self._allowed[token_id]:
            return None
        nodes = self._step(self._stacks[state], t.flat[lo:hi])
        return None if nodes is None else self._intern(nodes)

    @_serialised
    def advance_bytes(self, state: int, data: bytes) -> int | None:
        """The state after raw bytes (for checking text that was not tokenised)."""
        if state < 0:
            return None
        if not data:
            return state
        # writable, as a token's bytes are: one kernel signature (numba compiles one per array flag)
        nodes = self._step(self._stacks[state], np.frombuffer(bytearray(data), np.uint8))
        return None if nodes is None else self._intern(nodes)

    @_serialised
    def forced_bytes(self, state: int, limit: int = 256) -> bytes:
        """The longest bytes (at most `limit`) that every accepted continuation from `state` starts with.

        Steps the stacks one byte at a time while they are not accepting and
        exactly one byte class, of a single byte, can be read: one trial step
        per byte class, stopping at the second class that reads. Empty for a
        finished state.

        Raises
        ------
        GrammarError
            The grammar is too ambiguous (as `advance`).
        """
        out = bytearray()
        if state < 0:
            return bytes(out)
        classes = self.tables.byte_class
        size = np.bincount(classes)
        first = np.zeros(len(size), np.uint8)
        found, where = np.unique(classes, return_index=True)
        first[found] = where
        nodes = self._stacks[state]
        p = self._pool
        while len(out) < limit and not any(k.all_accepting(int(n), p.st, p.par, self.tables.accept) for n in nodes):
            readable = []
            for c in range(len(size)):
                after = self._step(nodes, first[c:c + 1])
                if after is not None:
                    readable.append((c, after))
                    if len(readable) > 1 or size[c] > 1:
                        break
            if len(readable) != 1 or size[readable[0][0]] > 1:
                break
            out.append(int(first[readable[0][0]]))
            nodes = readable[0][1]
        return bytes(out)

    def accepts_text(self, data: bytes) -> bool:
        """Does the whole byte string belong to the language? (no tokenisation involved)"""
        s = self.advance_bytes(self.start(), data)
        return s is not None and self.is_accepting(s)

    def mask(self, state: int) -> np.ndarray:
        """Boolean mask over the vocabulary: which tokens may come next (read-only; `bitmask` unpacked)."""
        out = unpack(self.bitmask(state), self.vocab_size)
        out.flags.writeable = False
        return out

    @_serialised
    def bitmask(self, state: int) -> np.ndarray:
        """`mask` as bits (`structgen.bitmask`): token t may come next when bit t % 32 of word t // 32 is set.

        The returned array is shared by the cache (read-only); copy it before writing.
        """
        cached = self._masks.get(state)
        if cached is not None:
            self._masks.move_to_end(state)
            return cached
        out = np.zeros(n_words(self.vocab_size), np.uint32)
        if state >= 0:
            for n in self._stacks[state].tolist():
                self._mask_of_stack(n, out)
            if self.is_accepting(state):
                for word, bit in self._eos_bits:
                    out[word] |= bit
        out.flags.writeable = False
        self._masks[state] = out
        if len(self._masks) > MASK_CACHE:
            self._masks.popitem(last=False)
        return out

    # -- masks ------------------------------------------------------------------------------

    def _mask_of_stack(self, n: int, out: np.ndarray) -> None:
        p = self._pool
        tops: list[int] = []
        x = n
        while x >= 0 and len(tops) < CONTEXT:
            tops.append(int(p.st[x]))
            x = int(p.par[x])
        tops.reverse()
        below = x  # the committed stack under the top entries, or -1
        budget = min(int(self._max_len) - (int(p.dep[n]) - len(tops)), self._budget_cap)
        base, records, t = self._classification(tuple(tops), budget)
        while True:
            r = k.finish_mask(base, records if below >= 0 else records[:0], below, *self._walked(t), *self._tab(),
                              self._max_len,
                              *p.args(), self._lvl, self._ls, self._le, self._smark, MAX_STACKS, out, self._redo)
            if not self._retry(r):  # a rerun only adds tokens: every token a run allows is allowed
                return

    def _classification(self, tops: tuple[int, ...], budget: int) -> tuple[np.ndarray, np.ndarray, object]:
        """Tokens readable from a stack topped by `tops` without looking below it, the trie nodes
        where a parse pops below it, and the trie those nodes index (cached).

        Where the top state reads every plain byte back into itself (a string's content), every
        plain token is readable and stays there, and only the other tokens are walked (the
        `PlainSplit`'s `rest`): a new string context no longer reads the whole vocabulary.
        """
        key = (tops, budget)
        found = self._classes.get(key)
        if found is not None:
            return found
        t, plain = self._trie, None
        if len(tops) <= budget:
            self.tables.build(tops[-1])
            if k.loops_on_plain(np.int32(tops[-1]), self._plain_classes, *self._tab()[:5]):
                t, plain = self._split.rest, self._split.up_to(self._split.longest)
        p = self._pool
        tops_arr = np.array(tops, np.int32)
        trie = self._walked(t)
        redo = self._redo
        r = k.OVERFLOW  # nothing walked yet
        while True:
            if r < 0 or redo[0] <= 0:  # the whole walk (again)
                acc = np.zeros(n_words(self.vocab_size), np.uint32)
                rec = np.zeros(max(len(t.skip), 1), np.int32)
                r = k.classify(tops_arr, np.int64(budget), *trie, *self._tab(), *p.args(), self._lvl, self._ls,
                               self._le, self._smark, MAX_STACKS, acc, rec, redo)
            else:  # only the subtrees where rows were missing, now built
                nodes = _outermost(redo, t.skip)
                room = r + int((t.skip[nodes] - nodes).sum())  # each node of them recorded once at most
                if room > len(rec):
                    rec = np.concatenate([rec, np.zeros(room - len(rec), np.int32)])
                r = k.redo_walks(tops_arr, np.int64(budget), nodes, *trie, *self._tab(), *p.args(), self._lvl,
                                 self._ls, self._le, self._smark, MAX_STACKS, acc, rec, r, redo)
            if self.tables.miss[0] >= len(self.tables.miss) - 1:
                redo[0] = -1  # misses went unreported: only a whole walk finds them
            if not self._retry(r):
                break
        if plain is not None:
            acc |= plain
        found = self._classes[key] = (acc, np.unique(rec[:r]), t)  # a node walked again may come twice
        return found

    def __repr__(self) -> str:
        t = self.tables
        return f"GrammarConstraint(rules={len(t.rule_names)}, states={t.n_states}, vocab={self.vocab_size})"


def _outermost(redo: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """The trie nodes of redo[1:redo[0] + 1] that are not inside another one's subtree, in order."""
    nodes = np.unique(redo[1:redo[0] + 1])
    keep, end = [], -1
    for i in nodes.tolist():
        if i >= end:
            keep.append(i)
            end = int(skip[i])
    return np.array(keep, np.int64)


def _too_ambiguous() -> GrammarError:
    return GrammarError(f"the grammar is too ambiguous: more than {MAX_STACKS} parses alive at once, "
                        f"or more than {k.WORK_FACTOR * MAX_STACKS} parse steps for one byte")
