"""The product construction (intersection of two DFAs), in numba.

Schemas intersect languages often: a `pattern` with a length bound, the
exact `oneOf` (each branch minus the others), `allOf` parts that cannot be
merged structurally. Only reachable pairs of states are built.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import types
from numba.typed import Dict

from .budget import CLOCK_EVERY, OVER_MEMORY, OVER_SECONDS, OVER_STATES, now


@nb.njit(cache=True)
def product_table(ta, aa, tb, ab, max_states, max_cells, deadline):
    """Reachable pairs of (ta, tb) over shared classes: (trans, accept, count); a negative count is the
    code of the budget that ran out (states, memory in 8-byte cells, or the clock).

    `ta[p, c]` and `tb[q, c]` must already be indexed by the joint classes.
    """
    k = ta.shape[1]
    nb_states = tb.shape[0]
    index = Dict.empty(key_type=types.int64, value_type=types.int64)
    cap = 64
    pa = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    trans = np.full((cap, k), -1, np.int32)
    pa[0] = 0
    pb[0] = 0
    index[0] = 0
    count = 1
    i = 0
    while i < count:
        if (i % CLOCK_EVERY) == CLOCK_EVERY - 1 and now() > deadline:
            return trans[:0], np.zeros(0, np.bool_), OVER_SECONDS
        p, q = pa[i], pb[i]
        for c in range(k):
            x, y = ta[p, c], tb[q, c]
            if x < 0 or y < 0:
                continue
            key = np.int64(x) * nb_states + y
            j = index.get(key, -1)
            if j < 0:
                if count >= max_states:
                    return trans[:0], np.zeros(0, np.bool_), OVER_STATES
                if count == cap:
                    # pairs, their index entry (~4 cells) and the int32 table, at the doubled capacity
                    if 2 * cap * (6 + k // 2) > max_cells:
                        return trans[:0], np.zeros(0, np.bool_), OVER_MEMORY
                    cap *= 2
                    pa2 = np.empty(cap, np.int64)
                    pa2[:count] = pa[:count]
                    pa = pa2
                    pb2 = np.empty(cap, np.int64)
                    pb2[:count] = pb[:count]
                    pb = pb2
                    t2 = np.full((cap, k), -1, np.int32)
                    t2[:count] = trans[:count]
                    trans = t2
                j = count
                index[key] = j
                pa[j] = x
                pb[j] = y
                count += 1
            trans[i, c] = j
        i += 1
    accept = np.empty(count, np.bool_)
    for s in range(count):
        accept[s] = aa[pa[s]] and ab[pb[s]]
    return trans[:count], accept, count
