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
def _closures(n, eps_ptr, eps_dst, need, max_cells, deadline):
    """Epsilon closure (sorted) of every state with need[q]; CSR, and a status (0, or a budget's code)."""
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
                if size == out.shape[0]:
                    if 2 * size > max_cells:
                        return ptr, out[:0], OVER_MEMORY
                    bigger = np.empty(2 * size, np.int64)
                    bigger[:size] = out[:size]
                    out = bigger
                out[size] = x
                size += 1
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


@nb.njit(cache=True)
def _subsets(n, k, start, final, clo_ptr, clo, edge_ptr, edge_cls, edge_dst, max_states, max_cells, deadline):
    """Returns (trans[n_dfa, k], accept[n_dfa], n_dfa), n_dfa a budget's (negative) code when over it.

    Memory counted in 8-byte cells: the stored subsets plus the table (int32).
    """
    size = clo_ptr[start + 1] - clo_ptr[start]
    mem = np.empty(max(1024, 2 * size), np.int64)
    mem_ptr = np.zeros(1025, np.int64)
    cap = 64
    trans = np.full((cap, k), -1, np.int32)
    accept = np.zeros(cap, np.bool_)
    chain = np.full(cap, -1, np.int64)
    table = Dict.empty(key_type=types.int64, value_type=types.int64)
    stamp = np.full(n, -1, np.int64)
    tmp = np.empty(max(16, n), np.int64)
    # Per-class buckets of target states for the subset being expanded.
    bucket_count = np.zeros(k, np.int64)
    bucket_ptr = np.zeros(k + 1, np.int64)
    pair_cls = np.empty(64, np.int64)
    pair_dst = np.empty(64, np.int64)
    sorted_dst = np.empty(64, np.int64)
    work = 0  # subset members gathered so far, the measure of time between clock reads
    next_clock = CLOCK_EVERY

    # The start subset.
    mem[:size] = clo[clo_ptr[start]:clo_ptr[start + 1]]
    mem_ptr[1] = size
    table[_hash(mem, 0, size)] = 0
    n_dfa = 1
    i = 0
    while i < n_dfa:
        lo, hi = mem_ptr[i], mem_ptr[i + 1]
        # Gather (class, target) pairs of all members.
        n_pairs = 0
        is_final = False
        for m in range(lo, hi):
            q = mem[m]
            if q == final:
                is_final = True
            for e in range(edge_ptr[q], edge_ptr[q + 1]):
                if n_pairs == pair_cls.shape[0]:
                    a = np.empty(2 * n_pairs, np.int64)
                    a[:n_pairs] = pair_cls[:n_pairs]
                    pair_cls = a
                    b = np.empty(2 * n_pairs, np.int64)
                    b[:n_pairs] = pair_dst[:n_pairs]
                    pair_dst = b
                pair_cls[n_pairs] = edge_cls[e]
                pair_dst[n_pairs] = edge_dst[e]
                n_pairs += 1
        accept[i] = is_final
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
            if bucket_ptr[c] == bucket_ptr[c + 1]:
                continue
            # Union of the closures of this class's targets.
            mark = i * k + c
            size = 0
            for p in range(bucket_ptr[c], bucket_ptr[c + 1]):
                t = sorted_dst[p]
                for j in range(clo_ptr[t], clo_ptr[t + 1]):
                    x = clo[j]
                    if stamp[x] != mark:
                        stamp[x] = mark
                        tmp[size] = x
                        size += 1
            tmp[:size].sort()
            work += size + bucket_ptr[c + 1] - bucket_ptr[c]
            if work > next_clock:
                next_clock = work + CLOCK_EVERY
                if now() > deadline:
                    return trans[:0], accept[:0], OVER_SECONDS
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
                    return trans[:0], accept[:0], OVER_STATES
                if mem_ptr[n_dfa] + size + (cap * k) // 2 > max_cells:
                    return trans[:0], accept[:0], OVER_MEMORY
                found = n_dfa
                if n_dfa == cap:
                    cap *= 2
                    t2 = np.full((cap, k), -1, np.int32)
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
                if h in table:
                    chain[n_dfa] = table[h]
                table[h] = n_dfa
                n_dfa += 1
            trans[i, c] = found
        i += 1
    return trans[:n_dfa], accept[:n_dfa], n_dfa


def determinize(nfa: NFA, start: int, final: int, max_states: int):
    """(trans[n, k], byte_class[256], accept[n]) of the subset construction (not yet minimal).

    Raises `AutomatonTooLargeError` past `max_states` DFA states, and
    `CompileBudgetError` past the current meter's memory or seconds budget.
    """
    meter = current()
    eps_src, eps_dst, e_src, e_set, e_dst = nfa.arrays()
    byte_class, covers = byte_classes(nfa.set_bits)
    k = covers.shape[1]
    # One edge per (edge, class it covers).
    edge_idx, cls = np.nonzero(covers[e_set]) if len(e_set) else (np.zeros(0, np.int64),) * 2
    n = nfa.n
    edge_ptr, edge_cls, edge_dst = _csr(e_src[edge_idx], cls.astype(np.int64), e_dst[edge_idx], n=n)
    eps_ptr, eps_to = _csr(eps_src, eps_dst, n=n)
    need = np.zeros(n, np.bool_)
    need[e_dst] = True
    need[start] = True
    clo_ptr, clo, status = _closures(n, eps_ptr, eps_to, need, meter.max_cells, meter.deadline)
    meter.status(status)
    trans, accept, count = _subsets(n, k, start, final, clo_ptr, clo, edge_ptr, edge_cls, edge_dst, max_states,
                                    meter.max_cells - len(clo), meter.deadline)
    meter.status(count)
    if count < 0:
        raise AutomatonTooLargeError(f"more than {max_states} automaton states")
    return trans, byte_class, accept
