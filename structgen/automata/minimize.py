"""Trimming and Hopcroft minimisation of class-compressed DFAs, in numba.

Kept apart from the construction code because these are the two loops whose
cost grows with the automaton (O(n·k) and O(n·k·log n)); in Python they were
the bottleneck of compiling wide `minItems`/`maxItems` ranges.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .budget import CLOCK_EVERY, OVER_SECONDS, current, now

# Estimated bytes per (state, class) pair of the completed DFA that Hopcroft's
# algorithm holds: inverse transitions (int64 offsets, int32 sources), the
# worklist (two int64 entries) and its membership flags.
HOPCROFT_BYTES_PER_CELL = 29


@nb.njit(cache=True)
def _live_states(trans, accept):
    """States that are reachable from 0 and can reach an accepting state."""
    n, k = trans.shape
    # Backward reachability from accepting states, over a CSR of predecessors.
    count = np.zeros(n + 1, np.int64)
    for s in range(n):
        for c in range(k):
            t = trans[s, c]
            if t >= 0:
                count[t + 1] += 1
    for i in range(n):
        count[i + 1] += count[i]
    preds = np.empty(count[n], np.int32)
    fill = count[:-1].copy()
    for s in range(n):
        for c in range(k):
            t = trans[s, c]
            if t >= 0:
                preds[fill[t]] = s
                fill[t] += 1
    coreach = accept.copy()
    stack = np.empty(n, np.int32)
    top = 0
    for s in range(n):
        if coreach[s]:
            stack[top] = s
            top += 1
    while top > 0:
        top -= 1
        t = stack[top]
        for j in range(count[t], count[t + 1]):
            s = preds[j]
            if not coreach[s]:
                coreach[s] = True
                stack[top] = s
                top += 1
    reach = np.zeros(n, np.bool_)
    if n == 0 or not coreach[0]:
        return reach
    reach[0] = True
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        s = stack[top]
        for c in range(k):
            t = trans[s, c]
            if t >= 0 and coreach[t] and not reach[t]:
                reach[t] = True
                stack[top] = t
                top += 1
    return reach


def trim(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the states reachable from 0 that can reach acceptance.

    An empty language comes back as one rejecting start state with no moves.
    """
    keep = _live_states(np.ascontiguousarray(trans, dtype=np.int32), accept.astype(np.bool_))
    if not keep.any():
        return np.full((1, trans.shape[1]), -1, np.int32), np.zeros(1, bool)
    remap = np.full(trans.shape[0] + 1, -1, np.int32)  # index -1 maps to -1
    idx = np.nonzero(keep)[0]
    remap[idx] = np.arange(len(idx), dtype=np.int32)
    return remap[trans[idx]], accept[idx]


@nb.njit(cache=True)
def _hopcroft(trans, accept, deadline):
    """Block id of every state of the completed DFA (last state = sink), and a status (0 or OVER_SECONDS)."""
    n0, k = trans.shape
    n = n0 + 1
    sink = n0
    # Inverse transitions: for class c and target t, sources in src[start[c*n+t] : start[c*n+t+1]].
    start = np.zeros(k * n + 1, np.int64)
    for s in range(n):
        for c in range(k):
            t = sink if s == sink else trans[s, c]
            if t < 0:
                t = sink
            start[c * n + t + 1] += 1
    for i in range(k * n):
        start[i + 1] += start[i]
    src = np.empty(start[k * n], np.int32)
    fill = start[:-1].copy()
    for s in range(n):
        for c in range(k):
            t = sink if s == sink else trans[s, c]
            if t < 0:
                t = sink
            src[fill[c * n + t]] = s
            fill[c * n + t] += 1
    # Refinable partition: elems[bstart[b]:bend[b]] are the states of block b.
    elems = np.empty(n, np.int32)
    loc = np.empty(n, np.int32)
    blk = np.empty(n, np.int32)
    bstart = np.zeros(n, np.int32)
    bend = np.zeros(n, np.int32)
    pos = 0
    n_blocks = 0
    for want in (True, False):
        first = pos
        for s in range(n):
            is_acc = accept[s] if s < n0 else False
            if is_acc == want:
                elems[pos] = s
                loc[s] = pos
                blk[s] = n_blocks
                pos += 1
        if pos > first:
            bstart[n_blocks] = first
            bend[n_blocks] = pos
            n_blocks += 1
    in_work = np.zeros(n * k, np.bool_)
    work = np.empty(2 * n * k + 2, np.int64)
    top = 0
    smallest = 0
    if n_blocks == 2 and bend[1] - bstart[1] < bend[0] - bstart[0]:
        smallest = 1
    for c in range(k):
        work[top] = smallest * k + c
        top += 1
        in_work[smallest * k + c] = True
    marked = np.zeros(n, np.int32)
    touched = np.empty(n, np.int32)
    members = np.empty(n, np.int32)
    steps = 0
    while top > 0:
        steps += 1
        if steps % CLOCK_EVERY == 0 and now() > deadline:
            return blk, OVER_SECONDS
        top -= 1
        item = work[top]
        b = item // k
        c = item % k
        in_work[item] = False
        m = 0
        for i in range(bstart[b], bend[b]):
            members[m] = elems[i]
            m += 1
        n_touched = 0
        for i in range(m):
            t = members[i]
            for j in range(start[c * n + t], start[c * n + t + 1]):
                s = src[j]
                bs = blk[s]
                if marked[bs] == 0:
                    touched[n_touched] = bs
                    n_touched += 1
                # Move s into the marked prefix of its block.
                p = bstart[bs] + marked[bs]
                other = elems[p]
                q = loc[s]
                elems[p] = s
                loc[s] = p
                elems[q] = other
                loc[other] = q
                marked[bs] += 1
        for i in range(n_touched):
            bs = touched[i]
            mk = marked[bs]
            marked[bs] = 0
            if mk == bend[bs] - bstart[bs]:
                continue
            nbk = n_blocks
            n_blocks += 1
            bstart[nbk] = bstart[bs]
            bend[nbk] = bstart[bs] + mk
            bstart[bs] = bstart[bs] + mk
            for p in range(bstart[nbk], bend[nbk]):
                blk[elems[p]] = nbk
            small = nbk if mk <= bend[bs] - bstart[bs] else bs
            for cc in range(k):
                if in_work[bs * k + cc]:
                    it = nbk * k + cc
                else:
                    it = small * k + cc
                if not in_work[it]:
                    in_work[it] = True
                    work[top] = it
                    top += 1
    return blk, 0


@nb.njit(cache=True)
def _renumber(trans, blk):
    """Quotient table with blocks numbered in BFS order from state 0's block."""
    n, k = trans.shape
    order = np.full(n + 1, -1, np.int64)
    rep = np.empty(n, np.int64)
    order[blk[0]] = 0
    rep[0] = 0
    count = 1
    i = 0
    while i < count:
        s = rep[i]
        i += 1
        for c in range(k):
            t = trans[s, c]
            if t >= 0 and order[blk[t]] < 0:
                order[blk[t]] = count
                rep[count] = t
                count += 1
    out = np.full((count, k), -1, np.int32)
    for b in range(count):
        s = rep[b]
        for c in range(k):
            t = trans[s, c]
            if t >= 0:
                out[b, c] = order[blk[t]]
    return out, rep[:count]


def minimize(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trim, then merge equivalent states; state 0 stays the start, BFS order.

    Raises `CompileBudgetError` past the current meter's memory or seconds budget.
    """
    meter = current()
    trans, accept = trim(trans, accept)
    n = trans.shape[0]
    meter.memory(HOPCROFT_BYTES_PER_CELL * (n + 1) * trans.shape[1])
    trans = np.ascontiguousarray(trans, dtype=np.int32)
    blk, status = _hopcroft(trans, accept.astype(np.bool_), meter.deadline)
    meter.status(status)
    blk = blk[:n]
    new_trans, rep = _renumber(trans, blk)
    return new_trans, accept[rep]
