"""A judge for automata built two ways: do two DFAs accept the same language?"""

from __future__ import annotations


def same_language(a, b) -> bool:
    """Walk both DFAs together from their starts (reachable pairs only): equal languages never disagree.

    `a` and `b` need `accept` and `step(state, byte)` (-1: no move), as `DFA` and `LazyDFA` have.
    """
    seen = {(0, 0)}
    todo = [(0, 0)]
    while todo:
        p, q = todo.pop()
        if bool(a.accept[p]) != bool(b.accept[q]):
            return False
        for byte in range(256):
            x, y = a.step(p, byte), b.step(q, byte)
            if (x < 0) != (y < 0):
                return False
            if x >= 0 and (x, y) not in seen:
                seen.add((x, y))
                todo.append((x, y))
    return True
