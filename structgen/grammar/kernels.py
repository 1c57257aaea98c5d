"""Numba kernels of the pushdown constraint: stepping parser stacks over bytes and walking the token trie.

A parser stack is a node in a pool of (state, parent, depth) triples: the
node is the top of its stack and `parent` the node under it (`NO_PARENT` at
the bottom of the real stack, `BELOW` at the bottom of a *relative* stack —
the top few entries of a real stack, whose lower part is not known yet).
Nodes below the pool's committed count are hash-consed (equal stacks share
one id, so sets of stacks compare by id); nodes above it are scratch space
for one trie walk and are overwritten by the next.

Stepping one byte class `c` from a stack whose top is `q` takes every
tabulated expansion of `(q, c)` — the byte edge of q's rule itself, or a
chain of calls (return states pushed) ending in a byte edge of a callee —
and, if q may end its rule, pops and tries again from the parent. Results
are deduplicated by content, and more than `limit` live stacks (or
`WORK_FACTOR * limit` stacks produced for one byte) is reported as
`AMBIGUOUS` rather than allowed to grow without bound.

Rows are built lazily (`tables.py`): a state whose row is not built yet is
recorded in `miss` and read as dead for the rest of the run, which the
caller then repeats after building the rows (a run with misses can only
find fewer stacks and tokens than the full one, never more). A token
classification repeats only the subtrees of the trie nodes where a row was
missing (`redo_walks`): a whole walk of the vocabulary costs up to
milliseconds, and a new context used to take up to seven.

Tail calls: a return state that is `tail` (it may end its rule and reads
nothing more) is not pushed — returning to it would only pop again — so
right recursion runs in constant stack space (unless depth is bounded, when
the caller passes no tail states).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..bitmask import allow
from ..token_trie import mark_subtree

NO_PARENT = -1
BELOW = -2

# Negative results of the kernels.
OVERFLOW = -1  # the pool is full: grow it and call again
AMBIGUOUS = -2  # more live stacks than the caller's limit

# meta[] slots of a pool.
COMMITTED = 0  # hash-consed nodes [0, COMMITTED)
TOP = 1  # end of the scratch nodes
HASHED = 2  # entries in the hash table
WORK = 3  # stacks produced for the current byte, against WORK_FACTOR * limit
WORK_FACTOR = 16


@nb.njit(cache=True, nogil=True)
def _slot(key, mask):
    h = key ^ (key >> 29)
    h = h * 0x5BD1E995
    h = h ^ (h >> 31)
    return h & mask


@nb.njit(cache=True, nogil=True)
def _node(s, p, d, persistent, st, par, dep, meta, hkeys, hvals):
    """The node for stack `p` + [s] (depth d): hash-consed when persistent, else a scratch node."""
    cap = st.shape[0]
    if not persistent:
        n = meta[TOP]
        if n >= cap:
            return OVERFLOW
        st[n] = s
        par[n] = p
        dep[n] = d
        meta[TOP] = n + 1
        return n
    key = (np.int64(s) << 32) + np.int64(p + 2)
    mask = hkeys.shape[0] - 1
    h = _slot(key, mask)
    while hkeys[h] != -1:
        if hkeys[h] == key:
            return hvals[h]
        h = (h + 1) & mask
    n = meta[COMMITTED]
    if n >= cap or 2 * (meta[HASHED] + 1) > hkeys.shape[0]:
        return OVERFLOW
    st[n] = s
    par[n] = p
    dep[n] = d
    hkeys[h] = key
    hvals[h] = n
    meta[COMMITTED] = n + 1
    meta[HASHED] += 1
    if meta[TOP] < n + 1:
        meta[TOP] = n + 1
    return n


@nb.njit(cache=True, nogil=True)
def rehash(st, par, n, hkeys, hvals):
    """Rebuild the hash table of the committed nodes [0, n) (after the pool grew)."""
    hkeys[:] = -1
    mask = hkeys.shape[0] - 1
    for i in range(n):
        key = (np.int64(st[i]) << 32) + np.int64(par[i] + 2)
        h = _slot(key, mask)
        while hkeys[h] != -1:
            h = (h + 1) & mask
        hkeys[h] = key
        hvals[h] = i


@nb.njit(cache=True, nogil=True)
def _same(a, b, st, par, dep):
    """Do nodes a and b hold the same stack?"""
    while a != b:
        if a < 0 or b < 0 or st[a] != st[b] or dep[a] != dep[b]:
            return False
        a = par[a]
        b = par[b]
    return True


@nb.njit(cache=True, nogil=True)
def _step(n, c, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len, persistent,
          st, par, dep, meta, hkeys, hvals, out, lo, end, limit):
    """Append to out[lo:] the stacks after reading one byte of class c from stack n.

    Returns (new end or a negative error, whether the stack had to pop below a relative bottom).
    """
    below = False
    while True:
        q = st[n]
        p = par[n]
        base = dep[n] - 1
        k = q * ncls + c
        if exp_lo[k] < 0:  # q's row is not built: report it, and read nothing from here this run
            m = miss[0]
            if m < miss.shape[0] - 1:
                miss[m + 1] = q
                miss[0] = m + 1
            break
        for e in range(exp_lo[k], exp_hi[k]):
            a = chain_ptr[e]
            b = chain_ptr[e + 1]
            if base + (b - a) + 1 > max_len:
                continue
            x = p
            d = base
            for j in range(a, b):
                if tail[chain[j]]:
                    continue
                d += 1
                x = _node(chain[j], x, d, persistent, st, par, dep, meta, hkeys, hvals)
                if x < 0:
                    return OVERFLOW, below
            x = _node(exp_target[e], x, d + 1, persistent, st, par, dep, meta, hkeys, hvals)
            if x < 0:
                return OVERFLOW, below
            meta[WORK] += 1
            if meta[WORK] > WORK_FACTOR * limit:
                return AMBIGUOUS, below
            dup = False
            for j in range(lo, end):
                # Committed nodes are hash-consed: equal stacks have equal ids.
                if out[j] == x or (not persistent and _same(out[j], x, st, par, dep)):
                    dup = True
                    break
            if not dup:
                if end - lo >= limit:
                    return AMBIGUOUS, below
                out[end] = x
                end += 1
        if not accept[q]:
            break
        if p == BELOW:
            below = True
            break
        if p < 0:
            break
        n = p
    return end, below


@nb.njit(cache=True, nogil=True)
def advance_stacks(nodes, data, byte_class, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept,
                   tail, miss, max_len, st, par, dep, meta, hkeys, hvals, buf, limit):
    """Step a set of committed stacks over `data`; the survivors end up in buf[:count].

    Returns count (0: the bytes are rejected) or a negative error. `buf` holds 2 * limit.
    """
    cur = 0
    n_cur = nodes.shape[0]
    for i in range(n_cur):
        buf[i] = nodes[i]
    for j in range(data.shape[0]):
        c = byte_class[data[j]]
        nxt = limit - cur  # the other half of buf
        meta[WORK] = 0
        end = nxt
        for i in range(cur, cur + n_cur):
            end, _ = _step(buf[i], c, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss,
                           max_len, True,
                           st, par, dep, meta, hkeys, hvals, buf, nxt, end, limit)
            if end < 0:
                return end
        n_cur = end - nxt
        cur = nxt
        if n_cur == 0:
            return 0
    for i in range(n_cur):
        buf[i] = buf[cur + i]
    return n_cur


@nb.njit(cache=True, nogil=True)
def _loops_on_plain(x, plain_classes, ncls, exp_lo, exp_hi, exp_target, chain_ptr, st, dep, max_len):
    """Does stack x read every plain byte back into itself (`loops_on_plain` of its top state,
    within the depth bound)?"""
    if dep[x] > max_len:
        return False
    return loops_on_plain(st[x], plain_classes, ncls, exp_lo, exp_hi, exp_target, chain_ptr)


@nb.njit(cache=True, nogil=True)
def loops_on_plain(q, plain_classes, ncls, exp_lo, exp_hi, exp_target, chain_ptr):
    """Does state q read every plain byte (`token_trie.PLAIN_BYTES`, classes `plain_classes`) back
    into itself: an expansion that calls nothing and stays (a string's content)? False while
    q's row is not built."""
    for c in plain_classes:
        k = q * ncls + c
        if exp_lo[k] < 0:  # the row is not built: no shortcut (the walk reports the miss)
            return False
        found = False
        for e in range(exp_lo[k], exp_hi[k]):
            if chain_ptr[e] == chain_ptr[e + 1] and exp_target[e] == q:
                found = True
                break
        if not found:
            return False
    return True


@nb.njit(cache=True, nogil=True)
def _walk(i0, i_end, d0, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class, ncls, exp_lo,
          exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len, st, par, dep, meta, hkeys, hvals, lvl,
          ls, le, smark, limit, out, rec, nrec, redo):
    """Depth-first walk of trie nodes [i0, i_end) whose parents' stacks are level d0 of `lvl`.

    Sets the bit in `out` (a `structgen.bitmask`) of every token some stack reads whole. Trie nodes where a stack
    had to pop below a relative bottom go to rec[nrec:]; returns the new nrec or an error. Trie
    nodes where a stack met a row not built yet go to `redo` (redo[0] the count, -1 once full):
    their subtrees are walked again once the rows are built (`redo_walks`).
    A subtree of plain bytes only (`TokenTrie.pure_top`) entered with a stack that reads
    every plain byte back into itself is read whole, as `token_trie.walk_trie` does.
    """
    smark[d0 + 1] = meta[TOP]
    i = i0
    while i < i_end:
        d = tdepth[i]
        meta[TOP] = smark[d]
        c = byte_class[tbyte[i]]
        lo = le[d - 1]
        meta[WORK] = 0
        end = lo
        popped = False
        missed = miss[0]
        x = lvl[ls[d - 1]]
        q = st[x]
        e = exp_lo[q * ncls + c]
        if le[d - 1] - ls[d - 1] == 1 and e >= 0 and not accept[q] and exp_hi[q * ncls + c] - e <= 1 and (
                e == exp_hi[q * ncls + c] or (chain_ptr[e] == chain_ptr[e + 1] and dep[x] <= max_len)):
            # One stack whose top reads the byte within its rule, or not at all (most nodes): `_step`'s
            # outcome without its call, whose two dozen arguments cost several times the step itself
            if e < exp_hi[q * ncls + c]:
                y = meta[TOP]
                if y >= st.shape[0]:
                    return OVERFLOW
                st[y] = exp_target[e]
                par[y] = par[x]
                dep[y] = dep[x]
                meta[TOP] = y + 1
                lvl[lo] = y
                end = lo + 1
        else:
            for j in range(ls[d - 1], le[d - 1]):
                end, below = _step(lvl[j], c, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail,
                                   miss, max_len, False,
                                   st, par, dep, meta, hkeys, hvals, lvl, lo, end, limit)
                if end < 0:
                    return end
                popped = popped or below
        if miss[0] != missed and redo[0] >= 0:
            if redo[0] < redo.shape[0] - 1:
                redo[redo[0] + 1] = i
                redo[0] += 1
            else:
                redo[0] = -1
        if popped:
            rec[nrec] = i
            nrec += 1
        if end == lo:
            i = skip[i]
            continue
        if pure_top[i]:
            whole = False
            for j in range(lo, end):
                if _loops_on_plain(lvl[j], plain_classes, ncls, exp_lo, exp_hi, exp_target, chain_ptr, st, dep,
                                   max_len):
                    whole = True
                    break
            if whole:
                i = mark_subtree(i, first, skip, token_ids, out)
                continue
        ls[d] = lo
        le[d] = end
        smark[d + 1] = meta[TOP]
        for j in range(first[i], first[i + 1]):
            allow(out, token_ids[j])
        i += 1
    return nrec


@nb.njit(cache=True, nogil=True)
def classify(tops, max_len, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class, ncls, exp_lo,
             exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, st, par, dep, meta, hkeys, hvals, lvl, ls, le,
             smark, limit, out, rec, redo):
    """Classify every token against a relative stack `tops` (bottom first) whose lower part is unknown.

    The bit of `out` (a bitmask) is set for tokens some parse reads without popping below `tops`; rec receives the
    trie nodes where a parse must pop below it (their subtrees depend on the real stack).
    Returns the number of such nodes, or a negative error; `redo` as `_walk` fills it.
    """
    redo[0] = 0
    if not _root(tops, st, par, dep, meta, hkeys, hvals, lvl, ls, le):
        return OVERFLOW
    return _walk(0, skip.shape[0], 0, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class,
                 ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len, st, par, dep, meta,
                 hkeys, hvals, lvl, ls, le, smark, limit, out, rec, 0, redo)


@nb.njit(cache=True, nogil=True)
def _root(tops, st, par, dep, meta, hkeys, hvals, lvl, ls, le):
    """Level 0 of a walk: the relative stack `tops` (bottom first) in fresh scratch nodes; False
    when the pool is full."""
    meta[TOP] = meta[COMMITTED]
    x = BELOW
    for k in range(tops.shape[0]):
        x = _node(tops[k], x, k + 1, False, st, par, dep, meta, hkeys, hvals)
        if x < 0:
            return False
    lvl[0] = x
    ls[0] = 0
    le[0] = 1
    return True


@nb.njit(cache=True, nogil=True)
def redo_walks(tops, max_len, nodes, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class,
               ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, st, par, dep, meta, hkeys,
               hvals, lvl, ls, le, smark, limit, out, rec, nrec, redo):
    """Go on with a `classify` whose walk met rows not built yet, now built: walk again only the
    subtrees of the trie nodes `nodes` (none inside another), each from the stacks its path from
    the root leads to. Adds to `out`, to rec[nrec:] and to a fresh `redo` as `classify` does;
    returns the new nrec or a negative error."""
    redo[0] = 0
    path = np.empty(ls.shape[0], np.int64)  # levels: one more than the trie's depth
    for i in nodes:
        n_path = 0  # the ancestors of i, from depth 1 down
        a = 0
        while True:
            while skip[a] <= i:
                a = skip[a]
            if a == i:
                break
            path[n_path] = a
            n_path += 1
            a += 1
        if not _root(tops, st, par, dep, meta, hkeys, hvals, lvl, ls, le):
            return OVERFLOW
        smark[1] = meta[TOP]
        alive = True
        for d in range(1, n_path + 1):
            meta[TOP] = smark[d]
            c = byte_class[tbyte[path[d - 1]]]
            lo = le[d - 1]
            end = lo
            meta[WORK] = 0
            for j in range(ls[d - 1], le[d - 1]):
                end, below = _step(lvl[j], c, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail,
                                   miss, max_len, False, st, par, dep, meta, hkeys, hvals, lvl, lo, end, limit)
                if end < 0:
                    return end
            ls[d] = lo
            le[d] = end
            smark[d + 1] = meta[TOP]
            if end == lo:
                alive = False
                break
        if not alive:
            continue
        nrec = _walk(i, skip[i], n_path, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class,
                     ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len, st, par, dep,
                     meta, hkeys, hvals, lvl, ls, le, smark, limit, out, rec, nrec, redo)
        if nrec < 0:
            return nrec
    return nrec


@nb.njit(cache=True, nogil=True)
def finish_mask(base, rec, below, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class, ncls,
                exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len, st, par, dep, meta, hkeys,
                hvals, lvl, ls, le, smark, limit, out, redo):
    """out |= base (bitmasks), plus the tokens of the trie subtrees `rec` read from the committed stack `below`.

    Returns 0 or a negative error (the caller runs it again whole after rows are built: `redo`,
    which `_walk` fills, is not read).
    """
    redo[0] = 0
    for w in range(out.shape[0]):
        out[w] |= base[w]
    meta[TOP] = meta[COMMITTED]
    for r in range(rec.shape[0]):
        i = rec[r]
        d0 = tdepth[i] - 1
        ls[d0] = 0
        le[d0] = 1
        lvl[0] = below
        err = _walk(i, skip[i], d0, skip, tbyte, tdepth, first, token_ids, pure_top, plain_classes, byte_class,
                    ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len, st, par, dep,
                    meta, hkeys, hvals, lvl, ls, le, smark, limit, out, rec, 0, redo)
        if err < 0:
            return err
    return 0


@nb.njit(cache=True, nogil=True)
def can_read_byte(nodes, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss, max_len,
                  st, par, dep, meta, hkeys, hvals, buf, limit):
    """1 if some stack can read some byte, 0 if none can, or a negative error."""
    meta[TOP] = meta[COMMITTED]
    for i in range(nodes.shape[0]):
        for c in range(ncls):
            meta[WORK] = 0
            end, _ = _step(nodes[i], c, ncls, exp_lo, exp_hi, exp_target, chain_ptr, chain, accept, tail, miss,
                           max_len, False,
                           st, par, dep, meta, hkeys, hvals, buf, 0, 0, limit)
            if end < 0:
                return end
            if end > 0:
                return 1
    return 0


@nb.njit(cache=True, nogil=True)
def all_accepting(n, st, par, accept):
    """May stack n end here: can every rule on it finish, from the top down?"""
    while n >= 0:
        if not accept[st[n]]:
            return False
        n = par[n]
    return True


@nb.njit(cache=True, nogil=True)
def make_bottom(state, st, par, dep, meta, hkeys, hvals):
    """The committed one-entry stack holding `state`, or OVERFLOW."""
    return _node(state, NO_PARENT, 1, True, st, par, dep, meta, hkeys, hvals)
