"""The numba kernels of the subset construction, one DFA row at a time.

A DFA state is a sorted set of NFA "members" (interned through a hash
table of plain arrays: numba's typed dict costs more than the rest of a
row); its row is built the first time something needs it: the eager
construction (`expand` from the start, to any depth), a lazy automaton
around the states decoding reaches, and the token-trie walks of a lazy
constraint (`fill_mask`, `walk_token`), which build exactly the rows the
vocabulary's tokens pass through, in the same pass.

The construction's state travels in three tuples, so every kernel takes
and returns the same things:

- `nfa` = (k, final, live, clo_ptr, clo, edge_ptr, edge_cls, edge_dst,
  leaf_trans, leaf_accept, stamp, proc_entry, proc_ret, span, plain_closure):
  the NFA over k byte classes (CSR edges, sorted epsilon closures), which
  states can reach `final` (or their procedure's exit), the called DFAs'
  table, a scratch stamp per NFA state, per procedure call state the
  procedure's entry and the state it returns to (-1: not a call), and
  whether a state's closure makes no call and no return;
- `dfa` = (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par,
  ckeys, cvals): the rows so far (`UNKNOWN` where not built), acceptance,
  the hash chains, the subsets back to back, scratch, and the subset table
  (open addressing: hash -> newest state with that hash, -1 keys empty;
  `chain` links the older ones); then the return stacks (below); arrays
  that must grow are reallocated, so the tuple is returned;
- `meta` = int64[6]: the number of states, the work counter of the clock,
  the number of hashes in the table, the number of return stacks and of
  their hashes, the number of rows built; `limits` = (max_states, max_cells, deadline).

Members: `base + span * s`, where s is a return stack and base an NFA
state q < n or `n + g * n + r` (state g of a called DFA returning to NFA
state r). Return stacks are interned: stack 0 is empty, stack s returns to
NFA state `ret[s]` and then to stack `par[s]` (the table `ckeys`/`cvals`
finds the id of a (ret, par) pair). A closure (`_close`) follows epsilon
moves; at a procedure call it pushes the return state and enters the
procedure, at the procedure's exit it pops. NFA states that cannot reach
`final` or their procedure's exit (`live` false) are left out, and a call
is entered only when its return state and the procedure's entry are live,
so every DFA state but an empty start can reach acceptance. Memory is
counted in 8-byte cells: the stored subsets plus the table.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.core import types
from numba.experimental import structref

from ..token_trie import plain_target, walk_trie
from .budget import CLOCK_EVERY, OVER_MEMORY, OVER_SECONDS, OVER_STATES, now

UNKNOWN = -3  # a transition of a state whose row is not built yet


class _Fields(types.StructRef):
    """A struct type whose fields take the types of the values stored, not of literals."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


@structref.register
class ConstructionType(_Fields):
    """numba's type of a `Construction`."""


class Construction(structref.StructRefProxy):
    """The `nfa` and `dfa` tuples of one subset construction, held on numba's side as one object.

    Why: a kernel call unboxes every array it is handed and boxes every array it
    returns, some thirty here, which cost about 4 us a call: as much as building
    a typical row, and paid by every cold mask. Handed this one object, the entry
    kernels (`expand`, `fill_mask`, `fill_mask_or_rest`, `walk_token`) read and replace the tuples
    themselves and tell Python only whether the tables grew (`tables` then gives
    the new ones).
    """


structref.define_proxy(Construction, ConstructionType, ["nfa", "dfa"])


@nb.njit(cache=True)
def construction(nfa, dfa):
    """A `Construction` of the two tuples (made by a cached kernel: the proxy's own constructor
    would be compiled again in every process)."""
    return Construction(nfa, dfa)


@structref.register
class MaskWalkType(_Fields):
    """numba's type of a `MaskWalk`."""


class MaskWalk(structref.StructRefProxy):
    """What the masks of one construction over one pair of token tries need besides the state and
    the bitmask, held on numba's side as one object (`fill_mask_or_rest`'s other arguments).

    Why: numba types every argument of a call before it runs it; for the ten of a cold
    mask (two tuples of six arrays among them) that took about 1.5 us of an 8 us mask.
    """


structref.define_proxy(MaskWalk, MaskWalkType,
                       ["c", "states", "byte_class", "whole", "rest", "plain_classes", "meta", "limits"])


@nb.njit(cache=True)
def mask_walk(c, states, byte_class, whole, rest, plain_classes, meta, limits):
    """A `MaskWalk` (made by a cached kernel, as `construction`): the construction `c`, a scratch
    array of trie depth, its byte classes, the tries (`TokenTrie.arrays`), the plain classes
    as `token_trie.walk_trie` takes them, its counters and its limits."""
    return MaskWalk(c, states, byte_class, whole, rest, plain_classes, meta, limits)


@nb.njit(cache=True)
def tables(c):
    """(trans, accept) of a construction: the arrays Python reads, fetched again after they grew."""
    return c.dfa[0], c.dfa[1]


@nb.njit(cache=True)
def hash_members(arr, lo, hi):
    h = np.uint64(1469598103934665603)
    for i in range(lo, hi):
        h = (h ^ np.uint64(arr[i])) * np.uint64(1099511628211)
    return np.int64(h & np.uint64(0x7FFFFFFFFFFFFFFF))


@nb.njit(cache=True)
def _grown(a, size):
    b = np.empty(2 * a.shape[0], a.dtype)
    b[:size] = a[:size]
    return b


@nb.njit(cache=True)
def _slot(hkeys, h):
    """The slot of hash h in the table: where it is, or the empty slot where it goes."""
    mask = hkeys.shape[0] - 1
    j = h & mask
    while hkeys[j] != -1 and hkeys[j] != h:
        j = (j + 1) & mask
    return j


@nb.njit(cache=True)
def _rehash(hkeys, hvals):
    keys = np.full(2 * hkeys.shape[0], -1, np.int64)
    vals = np.empty(2 * hkeys.shape[0], np.int64)
    for j in range(hkeys.shape[0]):
        if hkeys[j] != -1:
            slot = _slot(keys, hkeys[j])
            keys[slot] = hkeys[j]
            vals[slot] = hvals[j]
    return keys, vals


POP = -1  # a closure entry: the state is its procedure's exit
MAX_MEMBER = 1 << 62  # members (base + span * stack) stay below this


@nb.njit(cache=True)
def _find(table, key):
    """The slot of key >= 0 in an open-addressing table of keys (-1 empty): where it is, or the
    empty slot where it goes. The keys are not hashes already (unlike `_slot`'s), so they are mixed."""
    mask = table.shape[0] - 1
    j = ((key * 0x5BD1E995) ^ (key >> 29)) & mask
    while table[j] != -1 and table[j] != key:
        j = (j + 1) & mask
    return j


@nb.njit(cache=True)
def _push(r, p, ret, par, ckeys, cvals, meta, span):
    """The id of the return stack "return to NFA state r, then stack p" (interned); -1 when
    members of that stack would overflow their encoding."""
    key = p * span + r
    j = _find(ckeys, key)
    if ckeys[j] == key:
        return cvals[j], ret, par, ckeys, cvals
    s = meta[3]
    if (s + 1) > MAX_MEMBER // span:
        return -1, ret, par, ckeys, cvals
    if s == ret.shape[0]:
        ret = _grown(ret, s)
        par = _grown(par, s)
    ret[s] = r
    par[s] = p
    meta[3] = s + 1
    ckeys[j] = key
    cvals[j] = s
    meta[4] += 1
    if 2 * meta[4] > ckeys.shape[0]:
        keys = np.full(2 * ckeys.shape[0], -1, np.int64)
        vals = np.empty(2 * ckeys.shape[0], np.int64)
        for x in range(ckeys.shape[0]):
            if ckeys[x] != -1:
                y = _find(keys, ckeys[x])
                keys[y] = ckeys[x]
                vals[y] = cvals[x]
        ckeys, cvals = keys, vals
    return s, ret, par, ckeys, cvals


@nb.njit(cache=True)
def _add(table, key):
    """Add key >= 0 to an open-addressing set (-1 empty); False when it was there."""
    j = _find(table, key)
    if table[j] == key:
        return False
    table[j] = key
    return True


@nb.njit(cache=True)
def _regrown(table):
    bigger = np.full(2 * table.shape[0], -1, np.int64)
    for key in table:
        if key != -1:
            _add(bigger, key)
    return bigger


@nb.njit(cache=True)
def _close(b, stack, mark, tmp, size, nfa, dfa, meta):
    """Append to tmp[size:] the closure of NFA state b under return stack `stack` (live members
    only), entering procedures and returning from them; (tmp, size, dfa, ok).

    Plain states of the empty stack are stamped with `mark` so that they are added once; the
    rest may come twice (the caller sorts and deduplicates). ok is False when the return stacks
    would overflow the members' encoding.
    """
    live, clo_ptr, clo, stamp, proc_entry, proc_ret, span = nfa[2], nfa[3], nfa[4], nfa[10], nfa[11], nfa[12], nfa[13]
    trans, accept, chain, mem, mem_ptr, tmp0, hkeys, hvals, ret, par, ckeys, cvals = dfa
    n = live.shape[0]
    work = np.empty(16, np.int64)
    work[0] = b
    work[1] = stack
    top = 2
    ok = True
    # (state, stack) pairs already closed: a nullable procedure inside a loop returns to where it
    # is called again. A set (open addressing) made at the first call or return; most closures have none.
    seen = np.full(0, -1, np.int64)
    n_seen = 0
    while top > 0:
        top -= 2
        b = work[top]
        stack = work[top + 1]
        for j in range(clo_ptr[b], clo_ptr[b + 1]):
            x = clo[j]
            if x >= 0:
                tmp, size = _member(x, stack, mark, tmp, size, live, stamp, span)
                continue
            if x == POP:
                if stack == 0:
                    continue
                nb_, ns = ret[stack], par[stack]
            else:  # a procedure call at state -(x + 2)
                call = -(x + 2)
                nb_ = proc_entry[call]
                if not (live[nb_] and live[proc_ret[call]]):
                    continue
                ns, ret, par, ckeys, cvals = _push(proc_ret[call], stack, ret, par, ckeys, cvals, meta, span)
                if ns < 0:
                    ok = False
                    continue
            if n_seen == 0:
                seen = np.full(64, -1, np.int64)
                _add(seen, b + n * stack)  # the pair being closed (the first one, or one pushed)
                n_seen = 1
            if not _add(seen, nb_ + n * ns):
                continue
            n_seen += 1
            if 2 * n_seen > seen.shape[0]:
                seen = _regrown(seen)
            if top + 2 > work.shape[0]:
                work = _grown(work, top)
            work[top] = nb_
            work[top + 1] = ns
            top += 2
    return tmp, size, (trans, accept, chain, mem, mem_ptr, tmp0, hkeys, hvals, ret, par, ckeys, cvals), ok


@nb.njit(cache=True, inline="always")
def _close_plain(b, stack, mark, tmp, size, live, clo_ptr, clo, stamp, span):
    """`_close` of a state whose closure makes no call and no return (most of them: `nfa[14]`),
    without the set-up that a call or a return needs; (tmp, size)."""
    for j in range(clo_ptr[b], clo_ptr[b + 1]):
        tmp, size = _member(clo[j], stack, mark, tmp, size, live, stamp, span)
    return tmp, size


@nb.njit(cache=True, inline="always")
def _member(x, stack, mark, tmp, size, live, stamp, span):
    """Append x >= 0, an entry of a closure under return stack `stack`, to tmp[size:] as a member when
    it is live (a plain state of the empty stack once: stamped with `mark`); (tmp, size)."""
    n = live.shape[0]
    if x < n:
        if not live[x]:
            return tmp, size
        if stack == 0:
            if stamp[x] == mark:
                return tmp, size
            stamp[x] = mark
    elif not live[(x - n) % n]:
        return tmp, size
    if size == tmp.shape[0]:
        tmp = _grown(tmp, size)
    tmp[size] = x + span * stack
    return tmp, size + 1


@nb.njit(cache=True)
def start_members(start, nfa, dfa, meta):
    """The members of the start state, sorted; (members, dfa, ok)."""
    tmp = np.empty(16, np.int64)
    tmp, size, dfa, ok = _close(start, 0, -2, tmp, 0, nfa, dfa, meta)
    out = np.unique(tmp[:size])
    return out, dfa, ok


@nb.njit(cache=True, inline="always")
def build_row(i, nfa, dfa, meta, limits):
    """Build the row of DFA state i; returns (dfa, status), status 0 or a budget's code.

    Inlined where it is called (as the helpers of its inner loop are): a call that hands over
    the construction's tuples pays an atomic reference count for each array in them, which cost
    more than a typical row's own work."""
    k, final, live, leaf_trans, leaf_accept, span = nfa[0], nfa[1], nfa[2], nfa[8], nfa[9], nfa[13]
    plain_closure = nfa[14]
    edge_ptr, edge_cls, edge_dst = nfa[5], nfa[6], nfa[7]
    max_states, max_cells, deadline = limits
    n = live.shape[0]
    n_dfa = meta[0]
    trans, mem, mem_ptr = dfa[0], dfa[3], dfa[4]
    # Gather (class, target) pairs of all members.
    lo, hi = mem_ptr[i], mem_ptr[i + 1]
    n_out = 0
    for m in range(lo, hi):
        q = mem[m] % span
        n_out += edge_ptr[q + 1] - edge_ptr[q] if q < n else k
    pair_cls = np.empty(max(n_out, k), np.int64)  # (then the row, once the pairs are sorted by class)
    pair_dst = np.empty(n_out, np.int64)
    n_pairs = 0
    for m in range(lo, hi):
        stack = mem[m] // span
        q = mem[m] - span * stack
        if q < n:
            for e in range(edge_ptr[q], edge_ptr[q + 1]):
                pair_cls[n_pairs] = edge_cls[e]
                pair_dst[n_pairs] = edge_dst[e] + span * stack
                n_pairs += 1
        else:
            g = (q - n) // n
            r = (q - n) % n
            for c in range(k):
                t = leaf_trans[g, c]
                if t >= 0:
                    pair_cls[n_pairs] = c
                    pair_dst[n_pairs] = n + t * n + r + span * stack
                    n_pairs += 1
    trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals = dfa
    cap = trans.shape[0]
    if n_pairs <= 1:  # most rows a mask builds (one move, or none): no sort, and the one class only
        bucket_ptr, sorted_dst = pair_cls, pair_dst  # (bucket_ptr unread)
        c_lo = pair_cls[0] if n_pairs else 0
        c_hi = c_lo + n_pairs
    else:  # a counting sort of the pairs by class
        bucket_ptr = np.zeros(k + 1, np.int64)
        for p in range(n_pairs):
            bucket_ptr[pair_cls[p] + 1] += 1
        for c in range(k):
            bucket_ptr[c + 1] += bucket_ptr[c]
        sorted_dst = np.empty(n_pairs, np.int64)
        fill = bucket_ptr[:k].copy()
        for p in range(n_pairs):
            c = pair_cls[p]
            sorted_dst[fill[c]] = pair_dst[p]
            fill[c] += 1
        c_lo, c_hi = 0, k
    row = pair_cls  # the row, written to the table once built (see the end)
    row[:k] = -1
    prev, prev_lo, prev_hi = -1, 0, 0  # the last class with targets: a class with the same targets goes alike
    for c in range(c_lo, c_hi):
        lo, hi = (0, n_pairs) if n_pairs <= 1 else (bucket_ptr[c], bucket_ptr[c + 1])
        if lo == hi:
            continue
        if prev >= 0 and hi - lo == prev_hi - prev_lo:
            same = True
            for j in range(hi - lo):
                if sorted_dst[lo + j] != sorted_dst[prev_lo + j]:
                    same = False
                    break
            if same:
                row[c] = row[prev]
                continue
        prev, prev_lo, prev_hi = c, lo, hi
        # Union of the closures of this class's targets (live members only).
        mark = i * k + c
        size = 0
        for p in range(lo, hi):
            t = sorted_dst[p]
            stack = t // span
            t -= span * stack
            if t >= n:  # a step inside a called DFA: the pair, and its return if it may end
                g = (t - n) // n
                r = (t - n) % n
                if not live[r]:
                    continue
                if size == tmp.shape[0]:
                    tmp = _grown(tmp, size)
                tmp[size] = t + span * stack
                size += 1
                if not leaf_accept[g]:
                    continue
                t = r
            if plain_closure[t]:
                tmp, size = _close_plain(t, stack, mark, tmp, size, live, nfa[3], nfa[4], nfa[10], span)
                continue
            dfa = (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals)
            tmp, size, dfa, ok = _close(t, stack, mark, tmp, size, nfa, dfa, meta)
            ret, par, ckeys, cvals = dfa[8], dfa[9], dfa[10], dfa[11]
            if not ok:
                return (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals), OVER_MEMORY
        if size == 0:
            continue
        tmp[:size].sort()
        unique = 1  # pairs may come twice (plain states are stamped)
        for j in range(1, size):
            if tmp[j] != tmp[unique - 1]:
                tmp[unique] = tmp[j]
                unique += 1
        size = unique
        meta[1] += size + hi - lo
        if meta[1] > CLOCK_EVERY:
            meta[1] = 0
            if now() > deadline:
                return (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals), OVER_SECONDS
        h = hash_members(tmp, 0, size)
        found = -1
        slot = _slot(hkeys, h)
        if hkeys[slot] == h:
            cand = hvals[slot]
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
                return (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals), OVER_STATES
            if mem_ptr[n_dfa] + size + (cap * k) // 2 > max_cells:
                return (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals), OVER_MEMORY
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
            if hkeys[slot] == h:
                chain[n_dfa] = hvals[slot]
            else:
                hkeys[slot] = h
                meta[2] += 1
            hvals[slot] = n_dfa
            if 2 * meta[2] > hkeys.shape[0]:
                hkeys, hvals = _rehash(hkeys, hvals)
            n_dfa += 1
            meta[0] = n_dfa
        row[c] = found
    # Column 0 last: a row whose column 0 is not UNKNOWN is whole (`LazyDFA.is_built`, read without the
    # lock), and a walk without the lock meets each cell UNKNOWN or final, never a class not yet filled
    # in read as "no move"; a row stopped by a budget stays UNKNOWN.
    for c in range(k - 1, -1, -1):
        trans[i, c] = row[c]
    meta[5] += 1
    return (trans, accept, chain, mem, mem_ptr, tmp, hkeys, hvals, ret, par, ckeys, cvals), 0


@nb.njit(cache=True, inline="always")
def _keep(c, dfa):
    """Store `dfa` in the construction `c`; whether the tables Python reads were reallocated (they only grow)."""
    grown = dfa[0].shape[0] != c.dfa[0].shape[0]
    c.dfa = dfa
    return grown


@nb.njit(cache=True)
def expand(seeds, depth, c, meta, limits):
    """Build the rows of the states within `depth` transitions of `seeds` in the construction `c`;
    (status, whether the tables grew)."""
    dfa, status = _expand(seeds, depth, c.nfa, c.dfa, meta, limits)
    return status, _keep(c, dfa)


@nb.njit(cache=True)
def _expand(seeds, depth, nfa, dfa, meta, limits):
    """`expand` inside the kernels: (dfa, status)."""
    k = nfa[0]
    seen = np.zeros(dfa[0].shape[0], np.bool_)
    queue = np.empty(max(16, 2 * seeds.shape[0]), np.int64)
    level = np.empty(queue.shape[0], np.int64)
    n_queue = 0
    for s in seeds:
        if not seen[s]:
            seen[s] = True
            queue[n_queue] = s
            level[n_queue] = 0
            n_queue += 1
    head = 0
    while head < n_queue:
        i = queue[head]
        lev = level[head]
        head += 1
        if dfa[0][i, 0] == UNKNOWN:
            dfa, status = build_row(i, nfa, dfa, meta, limits)
            if status != 0:
                return dfa, status
        if lev >= depth:
            continue
        trans = dfa[0]
        if seen.shape[0] < trans.shape[0]:
            s2 = np.zeros(trans.shape[0], np.bool_)
            s2[:seen.shape[0]] = seen
            seen = s2
        for c in range(k):
            t = trans[i, c]
            if t >= 0 and not seen[t]:
                seen[t] = True
                if n_queue == queue.shape[0]:
                    queue = _grown(queue, n_queue)
                    level = _grown(level, n_queue)
                queue[n_queue] = t
                level[n_queue] = lev + 1
                n_queue += 1
    return dfa, 0


@nb.njit(cache=True)
def fill_mask(states, i, byte_class, trie, plain_classes, out, c, meta, limits):
    """Go on with a `token_trie.walk_trie` of `trie` (`TokenTrie.arrays`) stopped at node i (`states`
    as it left them), building the rows it passes: set the bit in `out` (a bitmask) of every trie token readable;
    (status, grown) as `expand`."""
    dfa, status = _fill(states, i, byte_class, trie, plain_classes, out, c.nfa, c.dfa, meta, limits)
    return status, _keep(c, dfa)


@nb.njit(cache=True)
def fill_mask_or_rest(state, w, out):
    """The mask of `state` with the `MaskWalk` `w`: build its row where it is not built, then walk the
    trie `w.whole`, or only `w.rest` (the tokens with a byte that is not plain: the caller adds the
    others) where every plain byte leads to one same state (a string's content), building the rows
    the walk passes. One call where a look at the row, a walk of `rest` and then one of `whole` took
    three; (status, grown, whether `whole` was walked)."""
    c, meta, limits, plain_classes = w.c, w.meta, w.limits, w.plain_classes
    nfa, dfa = c.nfa, c.dfa
    if dfa[0][state, 0] == UNKNOWN:
        dfa, status = build_row(state, nfa, dfa, meta, limits)
        if status != 0:
            return status, _keep(c, dfa), False
    walk_whole = plain_target(dfa[0], state, plain_classes) < 0  # no plain byte read, or they part ways
    states = w.states
    states[0] = state
    dfa, status = _fill(states, 0, w.byte_class, w.whole if walk_whole else w.rest, plain_classes, out, nfa, dfa,
                        meta, limits)
    return status, _keep(c, dfa), walk_whole


@nb.njit(cache=True, inline="always")
def _fill(states, i, byte_class, trie, plain_classes, out, nfa, dfa, meta, limits):
    """`fill_mask` inside the kernels: (dfa, status).

    The walk itself is `walk_trie` on plain arrays (the hot loop); it stops at
    a row not built yet, the row is built, and it resumes there. Inlined, as `_keep` is, for the
    reason `build_row` is: handing the tuples over in a call cost 0.6 us of every cold mask.
    """
    byte, depth, skip, first, token_ids, pure_top = trie
    while True:
        i, missing = walk_trie(dfa[0], byte_class, states, i, byte, depth, skip, first, token_ids, pure_top,
                               plain_classes, out)
        if missing < 0:
            return dfa, 0
        dfa, status = build_row(missing, nfa, dfa, meta, limits)
        if status != 0:
            return dfa, status


@nb.njit(cache=True)
def walk_token(state, byte_class, flat, lo, hi, c, meta, limits):
    """The state after bytes flat[lo:hi] from `state` (-1: not allowed) in the construction `c`,
    building rows; (state, status, grown) with `grown` as `expand`'s."""
    nfa, dfa = c.nfa, c.dfa
    trans = dfa[0]
    for j in range(lo, hi):
        cls = byte_class[flat[j]]
        t = trans[state, cls]
        if t == UNKNOWN:
            dfa, status = build_row(state, nfa, dfa, meta, limits)
            if status != 0:
                return -1, status, _keep(c, dfa)
            trans = dfa[0]
            t = trans[state, cls]
        if t < 0:
            return -1, 0, _keep(c, dfa)
        state = t
    return state, 0, _keep(c, dfa)
