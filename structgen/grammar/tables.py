"""The pushdown automaton's tables, built one state at a time as parsing reaches them.

A parser state is a global id for a state of one rule's automaton (a
`LazyDFA` whose reference markers mark the calls, see `pushdown.py`). What
the kernels (`kernels.py`) read of a state q is its *row*: for every byte
class c, the expansions of (q, c) — the byte edge of q's own rule, or a
chain of calls (return states pushed, outermost first) ending in a byte edge
of a callee's start. `exp_lo[q * n_classes + c]` to `exp_hi[...]` index
them; expansion e pushes `chain[chain_ptr[e]:chain_ptr[e + 1]]` and then
`target[e]`.

Why lazily: a rule's automaton (the whole regular part of a recursive JSON
Schema, say) can have a hundred thousand states, while one generation
visits a few hundred; building them all, and every call chain, before the
first token was what made recursive schemas take seconds to compile. Here
a global id is handed out when a state is first seen as a target or a
return state (its acceptance is known then), and its row is built when a
kernel first steps it. A kernel that meets a state without a row records it
in `miss` and treats it as dead for that run; the caller builds the missing
rows (`build_missing`) and runs the kernel again. A run with misses only
under-approximates (every stack it produces or token it allows is real), so
reruns converge, one frontier of states per run.

Rows are appended in the order they are built, so the arrays only grow; a
kernel must be given the arrays afresh (`kernel_args`) after a build.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..automata.budget import current
from ..automata.lazy import UNKNOWN, LazyDFA
from ..errors import CompileBudgetError

MARK = 0xFF  # starts a rule reference inside a rule body's DFA
DIGIT0 = 0xF5  # digit bytes 0xF5..0xFE encode the rule index
N_DIGITS = 4
MISS_SLOTS = 4096  # states one kernel run can report missing (the rest are found by the next run)
CELL_BYTES = 4  # int32 table cells
# Levels of rows built past the states a kernel run missed: each level is a rerun saved (a trie walk
# reads tokens many bytes deep); on the bench's recursive schemas 4 levels took a fifth off the masks'
# time (1 level, as before: 12% off, the batched building; more than 4: no further gain).
AHEAD = 4


class PushdownTables:
    """The lazily built pushdown automaton of a normalised grammar (see the module docstring).

    Parameters
    ----------
    names : list of str
        The rules; rule 0 is the start rule, the outermost context (it is never pushed).
    rules : list of LazyDFA
        Each rule's automaton over bytes, with reference markers.
    notes : tuple of str
        What compiling changed, for `CompileInfo`.
    without_empty : frozenset of int
        Rules whose automaton accepts the empty string but which are called as the rule minus the
        empty string (so that every pushed rule reads a byte before it returns): their calls enter
        through a copy of the start state that does not accept.
    """

    def __init__(self, names: list[str], rules: list[LazyDFA], notes: tuple[str, ...],
                 without_empty: frozenset[int] = frozenset()):
        meter = current()
        self.rule_names = tuple(names)
        self.notes = notes
        self._rules = rules
        self._max_states = meter.max_states
        self._max_cells = meter.max_cells
        # Joint byte classes over all rules; bytes 0xF5..0xFF (markers) read nothing.
        columns = np.array([[int(r.byte_class[b]) if b < DIGIT0 else -1 for b in range(256)] for r in rules],
                           np.int64)
        _, byte_class = np.unique(columns.T, axis=0, return_inverse=True)
        self.byte_class = byte_class.reshape(-1).astype(np.int32)
        self.n_classes = int(self.byte_class.max()) + 1
        rep = np.zeros(self.n_classes, np.int64)
        rep[self.byte_class[::-1]] = np.arange(255, -1, -1)  # the smallest byte of each class
        self._local_class = [np.where(rep < DIGIT0, r.byte_class[rep], -1).astype(np.int64) for r in rules]
        self._global = [np.full(max(r.n_states, 16), -1, np.int64) for r in rules]  # local -> global id
        self._rule_of: list[int] = []
        self._local_of: list[int] = []
        self.accept = np.zeros(64, np.bool_)
        self.tail = np.zeros(64, np.bool_)  # accepts and reads nothing more: never pushed (see kernels.py)
        self.no_tail = np.zeros(64, np.bool_)  # for constraints that count depth
        self.exp_lo = np.full(64 * self.n_classes, -1, np.int32)  # -1: the row is not built yet
        self.exp_hi = np.zeros(64 * self.n_classes, np.int32)
        self.target = np.zeros(1024, np.int32)
        self.chain_ptr = np.zeros(1025, np.int32)
        self.chain = np.zeros(1024, np.int32)
        self.miss = np.zeros(MISS_SLOTS + 1, np.int32)  # miss[0] = count, then the states
        self._n_exp = 0
        self._rows: dict[int, list] = {}  # rule start -> its row, as `_row_expansions` reads it
        self._start_calls = [calls_from(r, 0) for r in rules]
        self.rule_start = np.array([self._entry(i) if i in without_empty else self._id(i, 0)
                                    for i in range(len(rules))], np.int32)
        self.max_chain = 1 + self._longest_left_path()

    # -- what the constraint reads

    @property
    def n_states(self) -> int:
        """The states discovered so far."""
        return len(self._rule_of)

    def kernel_args(self, use_tail: bool) -> tuple:
        """(n_classes, exp_lo, exp_hi, target, chain_ptr, chain, accept, tail, miss), current arrays."""
        return (self.n_classes, self.exp_lo, self.exp_hi, self.target, self.chain_ptr, self.chain,
                self.accept, self.tail if use_tail else self.no_tail, self.miss)

    def build_missing(self) -> bool:
        """Build the rows the last kernel run reported missing; False when none were. While under
        half the states budget, the rows of the states they lead to are built too, `AHEAD` levels
        of them: a trie walk reads tokens many bytes deep, and each rerun found one more level missing.

        Raises
        ------
        CompileBudgetError
            When the states or table memory would pass the budget the grammar was compiled under.
        """
        n = int(self.miss[0])
        if n == 0:
            return False
        first, missing = self._n_exp, np.unique(self.miss[1:n + 1])
        self.miss[0] = 0  # (before building: after a budget error, the next run reports its own misses)
        self._build_rows(missing)
        try:  # levels ahead too: the rerun would report those next
            for _ in range(AHEAD):
                if first == self._n_exp or 2 * len(self._rule_of) > self._max_states:  # (near the budget,
                    break  # only what parses need)
                done = self._n_exp
                self._build_rows(np.unique(self.target[first:done]))
                first = done
        except CompileBudgetError:  # best effort: a row past the budget is refused when a parse needs it
            pass
        return True

    # -- ids and rows

    def _id(self, rule: int, local: int) -> int:
        """The global id of a rule's local state, handed out on first sight."""
        table = self._global[rule]
        if local >= table.shape[0]:
            table = self._global[rule] = _grown(table, max(2 * table.shape[0], local + 1), -1)
        g = int(table[local])
        if g < 0:
            g = table[local] = self._new(rule, local, bool(self._rules[rule].accept[local]))
        return g

    def _entry(self, rule: int) -> int:
        """A copy of the rule's start state that does not accept: the rule minus the empty string."""
        return self._new(rule, 0, False)

    def _new(self, rule: int, local: int, accept: bool) -> int:
        g = len(self._rule_of)
        if g >= self._max_states:
            raise self._over_states()
        self._rule_of.append(rule)
        self._local_of.append(local)
        if g >= self.accept.shape[0]:
            self._grow_states()
        self.accept[g] = accept
        return g

    def _over_states(self) -> CompileBudgetError:
        return CompileBudgetError("automaton", "states", self._max_states,
                                  "the parser states decoding reached; raise it with CompileBudget(max_states=...)")

    def _ids(self, rule: int, locals_: np.ndarray) -> np.ndarray:
        """The global ids of a rule's local states (-1 stays -1), handed out to those seen for the first time."""
        live = locals_ >= 0
        if not live.any():
            return np.full(locals_.shape, -1, np.int64)
        table = self._global[rule]
        if locals_.max() >= table.shape[0]:
            table = self._global[rule] = _grown(table, max(2 * table.shape[0], int(locals_.max()) + 1), -1)
        ids = np.where(live, table[np.where(live, locals_, 0)], -1)
        for i in np.flatnonzero(live & (ids < 0)).tolist():
            ids[i] = self._id(rule, int(locals_[i]))
        return ids

    def _longest_left_path(self) -> int:
        """The most rules a chain of leftmost calls can pass through (they form a DAG: see `pushdown.py`)."""
        memo: dict[int, int] = {}

        def depth(rule: int) -> int:
            if rule not in memo:
                memo[rule] = 0
                memo[rule] = max((1 + depth(v) for v, _ in self._start_calls[rule]), default=0)
            return memo[rule]

        return max((depth(i) for i in range(len(self._rules))), default=0)

    def _span(self, q: int) -> tuple[int, int]:
        """The expansions of built state q, all classes: `_append` writes a row's expansions together."""
        row = slice(q * self.n_classes, (q + 1) * self.n_classes)
        return int(self.exp_lo[row].min()), int(self.exp_hi[row].max())

    def _row_expansions(self, q: int) -> list[list[tuple[tuple[int, ...], int]]]:
        """State q's built row, per byte class: its (chain, target) expansions. Kept per state: a rule's
        start is read again by every state that calls the rule, and a built row never changes."""
        row = self._rows.get(q)
        if row is None:
            nc = self.n_classes
            lo = self.exp_lo[q * nc:(q + 1) * nc].tolist()
            hi = self.exp_hi[q * nc:(q + 1) * nc].tolist()
            first, end = self._span(q)
            ptr = self.chain_ptr[first:end + 1].tolist()
            chain = self.chain[ptr[0]:ptr[-1]].tolist()
            target = self.target[first:end].tolist()
            base = ptr[0]
            row = self._rows[q] = [[(tuple(chain[ptr[e - first] - base:ptr[e - first + 1] - base]), target[e - first])
                                    for e in range(a, b)] for a, b in zip(lo, hi)]
        return row

    def build(self, q: int) -> None:
        """Build state q's row (nothing when it is built): its byte edges, and the call chains that end
        in a callee's byte edge; raises as `build_missing` does."""
        if self.exp_lo[q * self.n_classes] >= 0:
            return
        rule, local = self._rule_of[q], self._local_of[q]
        calls = calls_from(self._rules[rule], local)  # (builds the local row)
        if not calls:  # most states: byte edges only, one expansion per live class
            self._append_plain(rule, np.array([q], np.int64), np.array([local], np.int64))
            return
        cols, row = self._local_class[rule], _row(self._rules[rule], local)
        targets = self._ids(rule, np.where(cols >= 0, row[np.maximum(cols, 0)], -1))
        per_class: list[list[tuple[tuple[int, ...], int]]] = [[((), t)] if t >= 0 else [] for t in targets.tolist()]
        for callee, ret in calls:
            start = int(self.rule_start[callee])
            self.build(start)  # leftmost calls form a DAG: this ends
            r = self._id(rule, ret)
            self._mark_tail(rule, ret, r)
            for mine, theirs in zip(per_class, self._row_expansions(start)):
                mine.extend(((r,) + chain, t) for chain, t in theirs)
        flat = [exp for exps in per_class for exp in exps]
        self._append(q, [len(exps) for exps in per_class], [t for _, t in flat], [c for c, _ in flat])

    def _build_rows(self, qs: np.ndarray) -> None:
        """`build` each state of `qs`: those of a rule whose rows make no call (most) together, in one
        kernel run (the levels ahead of a rerun's misses hold up to hundreds of states, and one by one
        each cost tens of microseconds of Python); raises as `build_missing` does."""
        nc = self.n_classes
        qs = qs.astype(np.int64)
        qs = qs[self.exp_lo[qs * nc] < 0]
        if len(qs) <= 1:  # (most batches: the array work of a batch costs more than `build`)
            if len(qs):
                self.build(int(qs[0]))
            return
        rule_of = np.array([self._rule_of[q] for q in qs.tolist()], np.int64)
        local_of = np.array([self._local_of[q] for q in qs.tolist()], np.int64)
        for rule in np.unique(rule_of).tolist():
            lazy, mine, locals_ = self._rules[rule], qs[rule_of == rule], local_of[rule_of == rule]
            unbuilt = locals_[lazy.trans[locals_, 0] == UNKNOWN]
            if len(unbuilt):
                lazy.ensure(unbuilt, 0)
            calls = lazy.trans[locals_, lazy.byte_class[MARK]] >= 0
            for q in mine[calls].tolist():
                self.build(q)  # (may build a callee's start among `mine`)
            plain = ~calls & (self.exp_lo[mine * nc] < 0)
            if plain.any():
                self._append_plain(rule, mine[plain], locals_[plain])

    def _append_plain(self, rule: int, qs: np.ndarray, locals_: np.ndarray) -> None:
        """Append the rows of states `qs` (local states `locals_` of `rule`, rows built) that make no
        call: one expansion per class with a move, pushing nothing (`_plain_rows`, ids handed out
        to the targets seen for the first time); raises as `build_missing` does."""
        lazy = self._rules[rule]
        if lazy.n_states > self._global[rule].shape[0]:
            self._global[rule] = _grown(self._global[rule], max(2 * self._global[rule].shape[0], lazy.n_states), -1)
        fresh = np.empty(qs.shape[0] * self.n_classes, np.int64)  # (at most one new state per class)
        i = 0
        while i < qs.shape[0]:
            before = len(self._rule_of)
            i, self._n_exp, n_new, room = _plain_rows(
                i, qs, locals_, lazy.trans, self._local_class[rule], self._global[rule], before,
                min(self.accept.shape[0], self._max_states), self.exp_lo, self.exp_hi, self.target,
                self.chain_ptr, self._n_exp, fresh)
            self._rule_of.extend([rule] * n_new)
            self._local_of.extend(fresh[:n_new].tolist())
            self.accept[before:before + n_new] = lazy.accept[fresh[:n_new]]
            if room == ROOM_STATES:
                if len(self._rule_of) >= self._max_states:
                    raise self._over_states()
                self._grow_states()
            elif room == ROOM_EXPANSIONS:
                self._reserve(self._n_exp + self.n_classes, int(self.chain_ptr[self._n_exp]))

    def _append(self, q: int, counts, targets, chains: list[tuple[int, ...]] | None = None) -> None:
        """Append q's row: `counts[c]` expansions for class c, in class order, with their targets and
        chains (None: no expansion pushes anything)."""
        e0, p0 = self._n_exp, int(self.chain_ptr[self._n_exp])
        e1 = e0 + len(targets)
        pushes = [r for chain in chains for r in chain] if chains else []
        self._reserve(e1, p0 + len(pushes))
        self.target[e0:e1] = targets
        if pushes:
            self.chain[p0:p0 + len(pushes)] = pushes
            self.chain_ptr[e0 + 1:e1 + 1] = p0 + np.cumsum([len(chain) for chain in chains], dtype=np.int64)
        else:
            self.chain_ptr[e0 + 1:e1 + 1] = p0
        counts = np.asarray(counts, np.int64)
        ends = e0 + np.cumsum(counts)
        base = q * self.n_classes
        self.exp_hi[base:base + self.n_classes] = ends
        self.exp_lo[base:base + self.n_classes] = ends - counts
        self._n_exp = e1

    def _mark_tail(self, rule: int, local: int, g: int) -> None:
        """Set `tail` for a return state before anything pushes it. From its own rule's row only, so
        that it never depends on which rows happen to be built (equal parses, equal stacks)."""
        if self.accept[g]:
            row = _row(self._rules[rule], local)
            self.tail[g] = not (row[self._local_class[rule][self._local_class[rule] >= 0]] >= 0).any() \
                and row[self._rules[rule].byte_class[MARK]] < 0

    # -- growth and budget

    def _grow_states(self) -> None:
        n = 2 * self.accept.shape[0]
        for name in ("accept", "tail", "no_tail"):
            setattr(self, name, _grown(getattr(self, name), n, False))
        self.exp_lo = _grown(self.exp_lo, n * self.n_classes, -1)
        self.exp_hi = _grown(self.exp_hi, n * self.n_classes, 0)
        self._check_memory()

    def _reserve(self, n_exp: int, n_chain: int) -> None:
        if n_exp + 1 > self.target.shape[0]:
            size = max(2 * self.target.shape[0], n_exp + 1)
            self.target = _grown(self.target, size, 0)
            self.chain_ptr = _grown(self.chain_ptr, size + 1, 0)
        if n_chain > self.chain.shape[0]:
            self.chain = _grown(self.chain, max(2 * self.chain.shape[0], n_chain), 0)
        self._check_memory()

    def _check_memory(self) -> None:
        cells = 2 * self.exp_lo.shape[0] + 2 * self.target.shape[0] + self.chain.shape[0]
        if cells > self._max_cells * 2:  # max_cells counts 8-byte cells, these are 4-byte ones
            raise CompileBudgetError("automaton", "memory", 8 * self._max_cells,
                                     "the parser states decoding reached; raise it with "
                                     "CompileBudget(max_memory=...)")


def calls_from(lazy: LazyDFA, local: int) -> list[tuple[int, int]]:
    """The (callee, return state) pairs of the reference markers leaving a state of a rule's automaton."""
    bc = lazy.byte_class
    first = int(_row(lazy, local)[bc[MARK]])
    if first < 0:
        return []
    paths = [(first, 0)]
    for _ in range(N_DIGITS):
        paths = [(int(t), 10 * v + d) for s, v in paths for d in range(10)
                 if (t := _row(lazy, s)[bc[DIGIT0 + d]]) >= 0]
    return [(v, s) for s, v in paths]


def _row(lazy: LazyDFA, local: int) -> np.ndarray:
    if lazy.trans[local, 0] == UNKNOWN:
        lazy.ensure([local], 0)
    return lazy.trans[local]


def _grown(a: np.ndarray, size: int, fill) -> np.ndarray:
    """`a` extended to `size` entries, the new ones `fill`."""
    out = np.full(size, fill, a.dtype)
    out[: a.shape[0]] = a
    return out


ROOM_STATES, ROOM_EXPANSIONS = 1, 2  # `_plain_rows` stopped: the arrays must grow first


@nb.njit(cache=True)
def _plain_rows(i, qs, locals_, trans, cols, glob, n_ids, max_ids, exp_lo, exp_hi, target, chain_ptr, n_exp, fresh):
    """Rows qs[i:] of `PushdownTables._append_plain`, each written whole; stops at a row that needs
    a state id past `max_ids` (ROOM_STATES) or more expansions than `target` holds (ROOM_EXPANSIONS).
    Returns (the next row, n_exp, the states handed out, 0 or the room lacking); the handed-out
    states' local ids go to `fresh`."""
    nc = cols.shape[0]
    p0 = chain_ptr[n_exp]
    first = n_ids
    while i < qs.shape[0]:
        if n_exp + nc + 1 > target.shape[0]:
            return i, n_exp, n_ids - first, ROOM_EXPANSIONS
        for c in range(nc):  # ids for the targets seen for the first time
            t = trans[locals_[i], cols[c]] if cols[c] >= 0 else -1
            if t >= 0 and glob[t] < 0:
                if n_ids >= max_ids:
                    return i, n_exp, n_ids - first, ROOM_STATES
                glob[t] = n_ids
                fresh[n_ids - first] = t
                n_ids += 1
        base = qs[i] * nc
        for c in range(nc):
            exp_lo[base + c] = n_exp
            t = trans[locals_[i], cols[c]] if cols[c] >= 0 else -1
            if t >= 0:
                target[n_exp] = glob[t]
                n_exp += 1
                chain_ptr[n_exp] = p0
            exp_hi[base + c] = n_exp
        i += 1
    return i, n_exp, n_ids - first, 0
