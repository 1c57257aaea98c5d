"""Subset construction, NFA -> DFA over byte classes, in numba.

Bytes that every edge treats alike form one class, so the construction
works on tens of classes instead of 256 bytes. A DFA state is a sorted set
of NFA states; sets are interned through a hash table. This loop is the
bulk of compile time, which is why it is compiled.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import types
from numba.typed import Dict

from .budget import CLOCK_EVERY, OVER_MEMORY, OVER_SECONDS, OVER_STATES, current, now
from .nfa import NFA, AutomatonTooLargeError


def byte_classes(set_bits: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Partition 0..255 so that every byte set is a union of classes.

    Returns `byte_class[256]` and `covers[n_sets, n_classes]` (bool).
    """
    if not set_bits:
        return np.zeros(256, np.int32), np.zeros((0, 1), bool)
    raw = np.frombuffer(b"".join(b.to_bytes(32, "little") for b in set_bits), np.uint8)
    member = np.unpackbits(raw.reshape(len(set_bits), 32), axis=1, bitorder="little").astype(bool)
    columns = np.ascontiguousarray(member.T)
    ids: dict[bytes, int] = {}
    byte_class = np.empty(256, np.int32)
    first: list[int] = []
    for b in range(256):
        c = ids.setdefault(columns[b].tobytes(), len(ids))
        if c == len(first):
            first.append(b)
        byte_class[b] = c
    return byte_class, member[:, first]


def _csr(src: np.ndarray, *cols: np.ndarray, n: int):
    order = np.argsort(src, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, src + 1, 1)
    return (np.cumsum(ptr),) + tuple(c[order] for c in cols)


@nb.njit(cache=True)
def _closures(n, eps_ptr, eps_dst, call_start, call_exit, leaf_accept, need, max_cells, deadline):
    """Epsilon closure (sorted) of every state with need[q]; CSR, and a status (0, or a budget's code).

    A call's entry state x (call_start[x] >= 0: the global id of the called
    DFA's start) adds the element "that start, returning to call_exit[x]"
    (code `n + start * n + exit`), and its exit too when the DFA accepts
    the empty string.
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
                if size + 2 > out.shape[0]:
                    if 2 * size > max_cells:
                        return ptr, out[:0], OVER_MEMORY
                    bigger = np.empty(2 * size + 16, np.int64)
                    bigger[:size] = out[:size]
                    out = bigger
                out[size] = x
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
def _hash(arr, lo, hi):
    h = np.uint64(1469598103934665603)
    for i in range(lo, hi):
        h = (h ^ np.uint64(arr[i])) * np.uint64(1099511628211)
    return np.int64(h & np.uint64(0x7FFFFFFFFFFFFFFF))


UNKNOWN = -3  # a transition of a state whose row is not built yet (lazy automata)


@nb.njit(cache=True)
def _expand(seeds, depth, k, final, live, clo_ptr, clo, edge_ptr, edge_cls, edge_dst, leaf_trans, leaf_accept,
            stamp, tmp, trans, accept, chain, mem, mem_ptr, table, meta, max_states, max_cells, deadline):
    """Build the rows of the DFA states within `depth` transitions of `seeds` that are not built yet.

    The construction is resumable: the DFA so far lives in the arrays passed
    in (`trans` rows of states not built yet hold `UNKNOWN`; `meta[0]` is the
    number of states, `meta[1]` the work counter of the clock) and `table`
    (hash of a subset -> newest state with that hash; `chain` links the
    older ones). Arrays that must grow are reallocated and returned:
    (trans, accept, chain, mem, mem_ptr, status), status 0 or a budget's code.
    NFA states that cannot reach `final` (`live` false) are left out of every
    subset, so every DFA state but an empty start can reach acceptance.
    A subset member `n + g * n + r` (n NFA states) is state g of a called
    DFA (`leaf_trans[g]` over the NFA's byte classes) that returns to r.
    Memory is counted in 8-byte cells: the stored subsets plus the table.
    `stamp` (int64[n], -1 at first) and `tmp` (int64[n]) are scratch kept
    between calls: a stamp is the (state, class) being built, never reused.
    """
    n_dfa = meta[0]
    cap = trans.shape[0]
    n = live.shape[0]
    bucket_count = np.zeros(k, np.int64)
    bucket_ptr = np.zeros(k + 1, np.int64)
    pair_cls = np.empty(64, np.int64)
    pair_dst = np.empty(64, np.int64)
    sorted_dst = np.empty(64, np.int64)
    next_clock = meta[1] + CLOCK_EVERY
    queue = np.empty(max(16, 2 * seeds.shape[0]), np.int64)
    level = np.empty(queue.shape[0], np.int64)
    seen = Dict.empty(key_type=types.int64, value_type=types.boolean)
    n_queue = 0
    for s in seeds:
        if s not in seen:
            seen[s] = True
            queue[n_queue] = s
            level[n_queue] = 0
            n_queue += 1
    head = 0
    while head < n_queue:
        i = queue[head]
        lev = level[head]
        head += 1
        if trans[i, 0] == UNKNOWN:
            lo, hi = mem_ptr[i], mem_ptr[i + 1]
            # Gather (class, target) pairs of all members.
            n_pairs = 0
            for m in range(lo, hi):
                q = mem[m]
                if q < n:
                    n_out = edge_ptr[q + 1] - edge_ptr[q]
                else:
                    g = (q - n) // n
                    n_out = k
                if n_pairs + n_out > pair_cls.shape[0]:
                    size = 2 * (n_pairs + n_out)
                    a = np.empty(size, np.int64)
                    a[:n_pairs] = pair_cls[:n_pairs]
                    pair_cls = a
                    b = np.empty(size, np.int64)
                    b[:n_pairs] = pair_dst[:n_pairs]
                    pair_dst = b
                if q < n:
                    for e in range(edge_ptr[q], edge_ptr[q + 1]):
                        pair_cls[n_pairs] = edge_cls[e]
                        pair_dst[n_pairs] = edge_dst[e]
                        n_pairs += 1
                else:
                    r = (q - n) % n
                    for c in range(k):
                        t = leaf_trans[g, c]
                        if t >= 0:
                            pair_cls[n_pairs] = c
                            pair_dst[n_pairs] = n + t * n + r
                            n_pairs += 1
            # Counting sort of the pairs by class.
            bucket_count[:] = 0
            for p in range(n_pairs):
                bucket_count[pair_cls[p]] += 1
            bucket_ptr[0] = 0
            for c in range(k):
                bucket_ptr[c + 1] = bucket_ptr[c] + bucket_count[c]
            if sorted_dst.shape[0] < n_pairs:
                sorted_dst = np.empty(pair_cls.shape[0], np.int64)
            fill = bucket_ptr[:k].copy()
            for p in range(n_pairs):
                c = pair_cls[p]
                sorted_dst[fill[c]] = pair_dst[p]
                fill[c] += 1
            for c in range(k):
                trans[i, c] = -1
                if bucket_ptr[c] == bucket_ptr[c + 1]:
                    continue
                # Union of the closures of this class's targets (live members only).
                mark = i * k + c
                size = 0
                for p in range(bucket_ptr[c], bucket_ptr[c + 1]):
                    t = sorted_dst[p]
                    if t >= n:  # a step inside a called DFA: the pair, and its return if it may end
                        g = (t - n) // n
                        r = (t - n) % n
                        if not live[r]:
                            continue
                        if size == tmp.shape[0]:
                            tmp = _grown(tmp, size)
                        tmp[size] = t
                        size += 1
                        if not leaf_accept[g]:
                            continue
                        t = r
                    for j in range(clo_ptr[t], clo_ptr[t + 1]):
                        x = clo[j]
                        if x < n:
                            if stamp[x] == mark or not live[x]:
                                continue
                            stamp[x] = mark
                        elif not live[(x - n) % n]:
                            continue
                        if size == tmp.shape[0]:
                            tmp = _grown(tmp, size)
                        tmp[size] = x
                        size += 1
                if size == 0:
                    continue
                tmp[:size].sort()
                unique = 1  # pairs may come twice (plain states are stamped)
                for j in range(1, size):
                    if tmp[j] != tmp[unique - 1]:
                        tmp[unique] = tmp[j]
                        unique += 1
                size = unique
                meta[1] += size + bucket_ptr[c + 1] - bucket_ptr[c]
                if meta[1] > next_clock:
                    next_clock = meta[1] + CLOCK_EVERY
                    if now() > deadline:
                        meta[0] = n_dfa
                        return trans, accept, chain, mem, mem_ptr, OVER_SECONDS
                h = _hash(tmp, 0, size)
                found = -1
                if h in table:
                    cand = table[h]
                    while cand >= 0:
                        clo_lo, clo_hi = mem_ptr[cand], mem_ptr[cand + 1]
                        if clo_hi - clo_lo == size:
                            same = True
                            for j in range(size):
                                if mem[clo_lo + j] != tmp[j]:
                                    same = False
                                    break
                            if same:
                                found = cand
                                break
                        cand = chain[cand]
                if found < 0:
                    if n_dfa >= max_states:
                        meta[0] = n_dfa
                        return trans, accept, chain, mem, mem_ptr, OVER_STATES
                    if mem_ptr[n_dfa] + size + (cap * k) // 2 > max_cells:
                        meta[0] = n_dfa
                        return trans, accept, chain, mem, mem_ptr, OVER_MEMORY
                    found = n_dfa
                    if n_dfa == cap:
                        cap *= 2
                        t2 = np.full((cap, k), UNKNOWN, np.int32)
                        t2[:n_dfa] = trans[:n_dfa]
                        trans = t2
                        a2 = np.zeros(cap, np.bool_)
                        a2[:n_dfa] = accept[:n_dfa]
                        accept = a2
                        c2 = np.full(cap, -1, np.int64)
                        c2[:n_dfa] = chain[:n_dfa]
                        chain = c2
                    end = mem_ptr[n_dfa]
                    if end + size > mem.shape[0]:
                        m2 = np.empty(2 * (end + size), np.int64)
                        m2[:end] = mem[:end]
                        mem = m2
                    if n_dfa + 2 > mem_ptr.shape[0]:
                        p2 = np.zeros(2 * mem_ptr.shape[0], np.int64)
                        p2[:n_dfa + 1] = mem_ptr[:n_dfa + 1]
                        mem_ptr = p2
                    mem[end:end + size] = tmp[:size]
                    mem_ptr[n_dfa + 1] = end + size
                    is_final = False
                    for j in range(size):
                        if tmp[j] == final:
                            is_final = True
                    accept[n_dfa] = is_final
                    if h in table:
                        chain[n_dfa] = table[h]
                    table[h] = n_dfa
                    n_dfa += 1
                trans[i, c] = found
        if lev < depth:
            for c in range(k):
                t = trans[i, c]
                if t >= 0 and t not in seen:
                    seen[t] = True
                    if n_queue == queue.shape[0]:
                        q2 = np.empty(2 * n_queue, np.int64)
                        q2[:n_queue] = queue[:n_queue]
                        queue = q2
                        l2 = np.empty(2 * n_queue, np.int64)
                        l2[:n_queue] = level[:n_queue]
                        level = l2
                    queue[n_queue] = t
                    level[n_queue] = lev + 1
                    n_queue += 1
    meta[0] = n_dfa
    return trans, accept, chain, mem, mem_ptr, 0


@nb.njit(cache=True)
def _grown(a, size):
    b = np.empty(2 * a.shape[0], a.dtype)
    b[:size] = a[:size]
    return b


@nb.njit(cache=True)
def _coreachable(n, final, src, dst):
    """live[q]: some path of edges (`src` -> `dst`, epsilon or not) leads from q to `final`."""
    order = np.argsort(dst, kind="mergesort")
    ptr = np.zeros(n + 1, np.int64)
    for j in range(dst.shape[0]):
        ptr[dst[j] + 1] += 1
    for q in range(n):
        ptr[q + 1] += ptr[q]
    live = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    live[final] = True
    stack[0] = final
    top = 1
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


class Subsets:
    """A subset construction that can go on later: the NFA's tables and the DFA built so far.

    `expand(seeds, depth)` builds the rows of the states within `depth`
    transitions of `seeds`; the eager `determinize` expands everything from
    the start, a lazy automaton (`structgen.automata.lazy`) only what
    decoding reaches. State 0 is the start. The tables are replaced when
    they grow: read `trans`, `accept` and `n_states` after each `expand`.
    """

    def __init__(self, nfa: NFA, start: int, final: int, max_states: int, max_cells: int):
        meter = current()
        eps_src, eps_dst, e_src, e_set, e_dst = nfa.arrays()
        self.byte_class, covers = byte_classes(nfa.set_bits)
        k = self.k = covers.shape[1]
        n = nfa.n
        leaf_trans, leaf_accept, call_start, call_exit = _leaf_tables(nfa, self.byte_class, k)
        callers = np.flatnonzero(call_start >= 0)
        callers = callers[leaf_accept[call_start[callers]] | (leaf_trans[call_start[callers]] >= 0).any(axis=1)]
        live = _coreachable(n, final, np.concatenate([eps_src, e_src, callers]),
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
        clo_ptr, clo, status = _closures(n, eps_ptr, eps_to, call_start, call_exit, leaf_accept, need,
                                         meter.max_cells, meter.deadline)
        meter.status(status)
        self._nfa = (k, final, live, clo_ptr, clo, edge_ptr, edge_cls, edge_dst, leaf_trans, leaf_accept,
                     np.full(n, -1, np.int64), np.empty(max(16, n), np.int64))
        first = clo[clo_ptr[start]:clo_ptr[start + 1]]
        first = first[live[np.where(first < n, first, (first - n) % max(n, 1))]]
        self.mem = np.empty(max(1024, 2 * len(first)), np.int64)
        self.mem[:len(first)] = first
        self.mem_ptr = np.zeros(1025, np.int64)
        self.mem_ptr[1] = len(first)
        self.trans = np.full((64, k), UNKNOWN, np.int32)
        self.accept = np.zeros(64, np.bool_)
        self.accept[0] = bool((first == final).any())
        self.chain = np.full(64, -1, np.int64)
        self.table = Dict.empty(key_type=types.int64, value_type=types.int64)
        self.table[_hash(first, 0, len(first))] = 0
        self.meta = np.array([1, 0], np.int64)
        self.max_states = max_states
        self.max_cells = max_cells - len(clo)
        self.is_empty = not live[start]

    @property
    def n_states(self) -> int:
        return int(self.meta[0])

    def expand(self, seeds: np.ndarray, depth: int, deadline: float) -> int:
        """Build rows around `seeds` (see the class docstring); return 0 or a budget's status code."""
        self.trans, self.accept, self.chain, self.mem, self.mem_ptr, status = _expand(
            seeds, depth, *self._nfa, self.trans, self.accept, self.chain, self.mem, self.mem_ptr, self.table,
            self.meta, self.max_states, self.max_cells, deadline)
        return status


def _leaf_tables(nfa: NFA, byte_class: np.ndarray, k: int):
    """The called DFAs as one table over the NFA's byte classes (global state ids), and per NFA
    state the global start of the DFA it calls (-1: none) and the state the call returns to."""
    first_byte = np.zeros(k, np.int64)
    first_byte[byte_class[::-1]] = np.arange(255, -1, -1)
    blocks, accepts, base = [np.zeros((0, k), np.int32)], [np.zeros(0, bool)], []
    offset = 0
    for dfa in nfa.leaves:
        t = dfa.trans[:, dfa.byte_class[first_byte]]
        blocks.append(np.where(t >= 0, t + offset, -1).astype(np.int32))
        accepts.append(dfa.accept.astype(bool))
        base.append(offset)
        offset += dfa.n_states
    call_start = np.full(nfa.n, -1, np.int64)
    call_exit = np.zeros(nfa.n, np.int64)
    if nfa.calls:
        calls = np.array(nfa.calls, np.int64)
        call_start[calls[:, 0]] = np.array(base, np.int64)[calls[:, 1]]
        call_exit[calls[:, 0]] = calls[:, 2]
    return np.ascontiguousarray(np.vstack(blocks)), np.concatenate(accepts), call_start, call_exit


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
