"""Subset construction, NFA -> DFA over byte classes: the NFA's tables, and the construction's state.

Bytes that every edge treats alike form one class, so the construction
works on tens of classes instead of 256 bytes. Before any subset is made,
the NFA is trimmed (`_live`) and the epsilon closures the construction
needs are listed (`_closures`, calls into shared DFAs and procedures
included). `Subsets` holds that and the DFA built so far; its rows are
built by the kernels of `rows.py`, all at once (`determinize`) or as
decoding reaches them (`structgen.automata.lazy`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from . import rows
from .budget import CLOCK_EVERY, OVER_MEMORY, OVER_SECONDS, OVER_STATES, current, now
from .nfa import NFA, AutomatonTooLargeError
from .rows import UNKNOWN, hash_members


def byte_classes(set_bits: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Partition 0..255 so that every byte set is a union of classes.

    Returns `byte_class[256]` and `covers[n_sets, n_classes]` (bool).
    """
    if not set_bits:
        return np.zeros(256, np.int32), np.zeros((0, 1), bool)
    raw = np.frombuffer(b"".join(b.to_bytes(32, "little") for b in set_bits), np.uint8)
    member = np.unpackbits(raw.reshape(len(set_bits), 32), axis=1, bitorder="little").astype(bool)
    # Each byte's signature (which sets hold it) as one opaque row, sorted by numpy; classes numbered
    # in the order of their first byte (a loop over the 256 bytes took twice as long).
    columns = np.ascontiguousarray(member.T)
    keys = columns.view(np.dtype((np.void, columns.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(first), np.int32)
    rank[order] = np.arange(len(first), dtype=np.int32)
    return rank[inverse.ravel()], member[:, first[order]]


def _csr(src: np.ndarray, *cols: np.ndarray, n: int):
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, src + 1, 1)
    return (np.cumsum(ptr),) + tuple(c[order] for c in cols)


@nb.njit(cache=True)
def _closures(n, eps_ptr, eps_dst, call_start, call_exit, leaf_accept, proc_entry, is_exit, need, kept, max_cells,
              deadline):
    """Epsilon closure (sorted) of every state with need[q], within its procedure; CSR, and a
    status (0, or a budget's code).

    Only states with kept[x] are listed (the ones that read a byte, and the
    final state): the others only lead on through epsilon moves, so leaving
    them out of every subset changes no transition and merges subsets that
    differ only in them. A call's entry state x (call_start[x] >= 0: the
    global id of the called DFA's start) adds the element "that start,
    returning to call_exit[x]" (code `n + start * n + exit`), and its exit
    too when the DFA accepts the empty string. A procedure call state x
    (proc_entry[x] >= 0) adds `-(2 + x)`, and a procedure's exit `rows.POP`:
    what they lead to depends on the return stack (`rows._close`).
    """
    ptr = np.zeros(n + 1, np.int64)
    next_clock = CLOCK_EVERY
    out = np.empty(max(16, n), np.int64)
    size = 0
    stamp = np.full(n, -1, np.int64)
    stack = np.empty(n, np.int64)
    for q in range(n):
        if need[q]:
            top = 1
            stack[0] = q
            stamp[q] = q
            start = size
            while top > 0:
                top -= 1
                x = stack[top]
                if size + 4 > out.shape[0]:
                    if 2 * size > max_cells:
                        return ptr, out[:0], OVER_MEMORY
                    bigger = np.empty(2 * size + 16, np.int64)
                    bigger[:size] = out[:size]
                    out = bigger
                if kept[x]:
                    out[size] = x
                    size += 1
                if proc_entry[x] >= 0:
                    out[size] = -(2 + x)
                    size += 1
                if is_exit[x]:
                    out[size] = rows.POP
                    size += 1
                g = call_start[x]
                if g >= 0:
                    out[size] = n + g * n + call_exit[x]
                    size += 1
                    y = call_exit[x]
                    if leaf_accept[g] and stamp[y] != q:
                        stamp[y] = q
                        stack[top] = y
                        top += 1
                for j in range(eps_ptr[x], eps_ptr[x + 1]):
                    y = eps_dst[j]
                    if stamp[y] != q:
                        stamp[y] = q
                        stack[top] = y
                        top += 1
            out[start:size].sort()
            if size > next_clock:
                next_clock = size + CLOCK_EVERY
                if now() > deadline:
                    return ptr, out[:0], OVER_SECONDS
        ptr[q + 1] = size
    return ptr, out[:size], 0


@nb.njit(cache=True)
def _coreachable(n, finals, src, dst):
    """live[q]: some path of edges (`src` -> `dst`, epsilon or not) leads from q to one of `finals`."""
    order = np.argsort(dst, kind="mergesort")
    ptr = np.zeros(n + 1, np.int64)
    for j in range(dst.shape[0]):
        ptr[dst[j] + 1] += 1
    for q in range(n):
        ptr[q + 1] += ptr[q]
    live = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    top = 0
    for f in finals:
        if not live[f]:
            live[f] = True
            stack[top] = f
            top += 1
    while top > 0:
        top -= 1
        y = stack[top]
        for j in range(ptr[y], ptr[y + 1]):
            x = src[order[j]]
            if not live[x]:
                live[x] = True
                stack[top] = x
                top += 1
    return live


def _live(n: int, final: int, exits: list[int], procs: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """live[q]: q can reach `final`, or the exit of its procedure, where a procedure call counts as
    a move from the call state to its return state when the procedure can finish (its entry is live);
    computed until no more procedures become finishable (they call one another without cycles)."""
    finals = np.array([final, *exits], np.int64)
    usable = np.zeros(len(procs), bool)
    while True:
        live = _coreachable(n, finals, np.concatenate([src, procs[usable, 0]]),
                            np.concatenate([dst, procs[usable, 2]]))
        now_usable = live[procs[:, 1]]
        if (now_usable == usable).all():
            return live
        usable = now_usable


class Subsets:
    """A subset construction that can go on later: the NFA's tables and the DFA built so far.

    State 0 is the start. `expand(seeds, depth)` builds the rows of the
    states within `depth` transitions of `seeds` (the eager `determinize`
    expands everything from the start); `fill_mask` and `walk_token` walk
    the token trie or one token and build the rows they pass (a lazy
    automaton, `structgen.automata.lazy`). The kernels are in `rows.py`; they
    keep the construction on their side (`rows.Construction`).
    The tables are replaced when they grow: read `trans`, `accept` and
    `n_states` after each call.
    """

    def __init__(self, nfa: NFA, start: int, final: int, max_states: int, max_cells: int):
        meter = current()
        eps_src, eps_dst, e_src, e_set, e_dst = nfa.arrays()
        self.byte_class, covers = byte_classes(nfa.set_bits)
        k = covers.shape[1]
        n = nfa.n
        leaf_trans, leaf_accept, call_start, call_exit = _leaf_tables(nfa, self.byte_class, k)
        callers = np.flatnonzero(call_start >= 0)
        callers = callers[leaf_accept[call_start[callers]] | (leaf_trans[call_start[callers]] >= 0).any(axis=1)]
        procs = np.array(nfa.proc_calls, np.int64).reshape(-1, 3)  # (call state, entry, return state)
        proc_entry = np.full(n, -1, np.int64)
        proc_entry[procs[:, 0]] = procs[:, 1]
        proc_ret = np.full(n, -1, np.int64)
        proc_ret[procs[:, 0]] = procs[:, 2]
        is_exit = np.zeros(n, np.bool_)
        is_exit[np.array(nfa.proc_exits, np.int64)] = True
        live = _live(n, final, nfa.proc_exits, procs, np.concatenate([eps_src, e_src, callers]),
                     np.concatenate([eps_dst, e_dst, call_exit[callers]]))
        # One edge per (edge into a live state, class it covers).
        keep = live[e_dst] if len(e_dst) else np.zeros(0, bool)
        e_src, e_set, e_dst = e_src[keep], e_set[keep], e_dst[keep]
        edge_idx, cls = np.nonzero(covers[e_set]) if len(e_set) else (np.zeros(0, np.int64),) * 2
        edge_ptr, edge_cls, edge_dst = _csr(e_src[edge_idx], cls.astype(np.int64), e_dst[edge_idx], n=n)
        eps_ptr, eps_to = _csr(eps_src, eps_dst, n=n)
        need = np.zeros(n, np.bool_)
        need[e_dst] = True
        need[start] = True
        need[call_exit[callers]] = True
        need[procs[:, 1]] = True
        need[procs[:, 2]] = True
        kept = np.diff(edge_ptr) > 0
        kept[final] = True
        clo_ptr, clo, status = _closures(n, eps_ptr, eps_to, call_start, call_exit, leaf_accept, proc_entry, is_exit,
                                         need, kept, meter.max_cells, meter.deadline)
        meter.status(status)
        span = max(n, 1) * (1 + leaf_trans.shape[0])  # members: base + span * return stack
        if span >= rows.MAX_MEMBER:
            raise AutomatonTooLargeError(f"more than {max_states} automaton states")
        calls_before = np.concatenate([[0], np.cumsum(clo < 0)])  # closures' calls and returns are negative
        plain_closure = calls_before[clo_ptr[1:]] == calls_before[clo_ptr[:-1]]
        nfa_tuple = (k, final, live, clo_ptr, clo, edge_ptr, edge_cls, edge_dst, leaf_trans, leaf_accept,
                     np.full(n, -1, np.int64), proc_entry, proc_ret, span, plain_closure)
        stacks = (np.zeros(16, np.int64), np.zeros(16, np.int64), np.full(64, -1, np.int64), np.empty(64, np.int64))
        self.meta = np.array([1, 0, 1, 1, 0, 0], np.int64)  # stack 0: the empty return stack
        dfa = (np.full((64, k), UNKNOWN, np.int32), np.zeros(64, np.bool_), np.full(64, -1, np.int64),
               np.empty(1024, np.int64), np.zeros(1025, np.int64), np.empty(max(16, n), np.int64),
               np.full(64, -1, np.int64), np.empty(64, np.int64)) + stacks
        first, dfa, ok = rows.start_members(start, nfa_tuple, dfa, self.meta)
        if not ok:
            meter.status(OVER_MEMORY)
        mem = np.empty(max(1024, 2 * len(first)), np.int64)
        mem[:len(first)] = first
        mem_ptr = np.zeros(1025, np.int64)
        mem_ptr[1] = len(first)
        accept = np.zeros(64, np.bool_)
        accept[0] = bool((first == final).any())
        hkeys = np.full(64, -1, np.int64)
        hvals = np.empty(64, np.int64)
        h = hash_members(first, 0, len(first))
        hkeys[h & 63], hvals[h & 63] = h, 0
        self._trans, self._accept = np.full((64, k), UNKNOWN, np.int32), accept
        self._construction = rows.construction(nfa_tuple, (self._trans, accept, np.full(64, -1, np.int64), mem, mem_ptr,
                                                           np.empty(max(16, n), np.int64), hkeys, hvals) + dfa[8:])
        self.max_states = int(max_states)
        self.max_cells = int(max_cells - len(clo))
        self._decoding = self._limits(math.inf)  # the limits once compiled: no clock (kept: a cold mask pays each call)
        self._states = np.empty(64, np.int64)  # `_scratch`
        self._walks: dict[tuple[int, int], tuple] = {}  # `fill_mask_or_rest`'s `MaskWalk`, per pair of tries
        self.is_empty = not live[start]

    @property
    def n_states(self) -> int:
        return int(self.meta[0])

    @property
    def complete(self) -> bool:
        """Whether every state discovered so far has its row (a walk over the table then finds no gap)."""
        return self.meta[5] == self.meta[0]

    @property
    def trans(self) -> np.ndarray:
        return self._trans

    @property
    def accept(self) -> np.ndarray:
        return self._accept

    def _limits(self, deadline: float) -> tuple:
        return self.max_states, self.max_cells, float(deadline)

    def expand(self, seeds: np.ndarray, depth: int, deadline: float = math.inf) -> int:
        """Build rows around `seeds`; return 0 or a budget's status code."""
        status, grown = rows.expand(np.asarray(seeds, np.int64), depth, self._construction, self.meta,
                                    self._limits(deadline))
        return self._grown(status, grown)

    def fill_mask(self, state: int, states: np.ndarray | None, i: int, trie, plain_classes: np.ndarray,
                  out: np.ndarray) -> int:
        """Go on with a walk of `trie` from `state` stopped at node i (see `rows.fill_mask`; `plain_classes`
        as `token_trie.walk_trie` takes them), or start one where `states` is None (in a scratch array the
        callers' lock guards); return 0 or a budget's status code."""
        if states is None:
            states = self._scratch(trie.max_depth)
            states[0] = state
        status, grown = rows.fill_mask(states, i, self.byte_class, trie.arrays, plain_classes, out,
                                       self._construction, self.meta, self._decoding)
        return self._grown(status, grown)

    def fill_mask_or_rest(self, state: int, whole, rest, plain_classes: np.ndarray,
                          out: np.ndarray) -> tuple[int, bool]:
        """(status, whether `whole` was walked) of `rows.fill_mask_or_rest`: the mask of `state`
        (`plain_classes` the same for every call with these tries)."""
        kept = self._walks.get((id(whole), id(rest)))
        if kept is None:
            states = np.empty(max(whole.max_depth, rest.max_depth) + 1, np.int64)
            walk = rows.mask_walk(self._construction, states, self.byte_class, whole.arrays, rest.arrays,
                                  plain_classes, self.meta, self._decoding)
            kept = self._walks[id(whole), id(rest)] = (walk, whole, rest)  # (the tries kept: their ids stay theirs)
        status, grown, walked = rows.fill_mask_or_rest(state, kept[0], out)
        return self._grown(status, grown), walked

    def _scratch(self, depth: int) -> np.ndarray:
        """The trie walks' states per depth, kept from call to call (callers hold the automaton's lock)."""
        if depth >= len(self._states):
            self._states = np.empty(depth + 1, np.int64)
        return self._states

    def walk_token(self, state: int, flat: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
        """(state after flat[lo:hi] from `state` or -1, 0 or a budget's status code)."""
        state, status, grown = rows.walk_token(state, self.byte_class, flat, lo, hi, self._construction,
                                               self.meta, self._decoding)
        return int(state), self._grown(status, grown)

    def _grown(self, status: int, grown: bool) -> int:
        """After a kernel: read the tables again when they were reallocated; pass `status` on."""
        if grown:
            self._trans, self._accept = rows.tables(self._construction)
        return status


def _leaf_tables(nfa: NFA, byte_class: np.ndarray, k: int):
    """The called DFAs as one table over the NFA's byte classes (global state ids), and per NFA
    state the global start of the DFA it calls (-1: none) and the state the call returns to."""
    first_byte = np.zeros(k, np.int64)
    first_byte[byte_class[::-1]] = np.arange(255, -1, -1)
    sizes = [dfa.n_states for dfa in nfa.leaves]
    base = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])[:-1]
    trans = np.empty((sum(sizes), k), np.int32)
    for dfa, row in zip(nfa.leaves, base.tolist()):
        _copy_leaf(trans, row, dfa.trans, dfa.byte_class[first_byte])
    accept = np.concatenate([dfa.accept for dfa in nfa.leaves]).astype(bool) if nfa.leaves else np.zeros(0, bool)
    call_start = np.full(nfa.n, -1, np.int64)
    call_exit = np.zeros(nfa.n, np.int64)
    if nfa.calls:
        calls = np.array(nfa.calls, np.int64)
        call_start[calls[:, 0]] = base[calls[:, 1]]
        call_exit[calls[:, 0]] = calls[:, 2]
    return trans, accept, call_start, call_exit


@nb.njit(cache=True)
def _copy_leaf(out, row, trans, columns):
    """`out[row + i, c] = trans[i, columns[c]]`, its state ids made global (+ `row`); -1 stays."""
    for i in range(trans.shape[0]):
        for c in range(columns.shape[0]):
            t = trans[i, columns[c]]
            out[row + i, c] = t + row if t >= 0 else -1


def determinize(nfa: NFA, start: int, final: int, max_states: int):
    """(trans[n, k], byte_class[256], accept[n]) of the subset construction (trimmed, not yet minimal).

    Raises `AutomatonTooLargeError` past `max_states` DFA states, and
    `CompileBudgetError` past the current meter's memory or seconds budget.
    """
    meter = current()
    subsets = Subsets(nfa, start, final, max_states, meter.max_cells)
    status = subsets.expand(np.zeros(1, np.int64), 1 << 62, meter.deadline)
    if status == OVER_STATES:
        raise AutomatonTooLargeError(f"more than {max_states} automaton states")
    meter.status(status)
    n = subsets.n_states
    return subsets.trans[:n], subsets.byte_class, subsets.accept[:n]
