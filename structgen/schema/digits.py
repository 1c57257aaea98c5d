"""Digit text of exact value ranges: integers in [lo, hi], decimals between two bounds.

These automata compare decimal text with exact bounds digit by digit, with
no float in sight; `numbers` combines them with the float judge's reading
of the bounds (`bounds`). Apart from `numbers` because they are plain
text-versus-value constructions, used by the multiples and exponent forms
too.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..automata import ir
from ..automata.dfa import DFA, build_dfa

DIGIT = ir.byte_range(0x30, 0x39)
NONZERO_DIGIT = ir.byte_range(0x31, 0x39)
MINUS = ir.literal("-")
UNSIGNED_INTEGER = ir.alt(ir.literal("0"), ir.seq(NONZERO_DIGIT, ir.star(DIGIT)))
FRACTION = ir.seq(ir.literal("."), ir.plus(DIGIT))


# ----------------------------------------------------------------- integers


def digit_range(lo: int, hi: int) -> ir.Node:
    return ir.byte_range(0x30 + lo, 0x30 + hi)


_ALL_TEXT = ir.star(ir.byte_range(0, 255))


def table_automaton(transitions: dict[int, dict[int, int]], accept: set[int]) -> ir.Node:
    """An IR node for a hand-built automaton: `transitions[state][byte] = state`, start 0.

    The table need not be minimal or trimmed; intersecting it with all text
    runs it through the minimiser, so the embedded DFA keeps `build_dfa`'s
    guarantees (trimmed, minimal).
    """
    n = max([0, *transitions, *accept, *(t for row in transitions.values() for t in row.values())]) + 1
    dense = np.full((n, 256), -1, np.int32)
    for state, row in transitions.items():
        for byte, target in row.items():
            dense[state, byte] = target
    columns, byte_class = np.unique(dense.T, axis=0, return_inverse=True)
    raw = DFA(
        np.ascontiguousarray(columns.T.astype(np.int32)),
        byte_class.reshape(-1).astype(np.int32),
        np.isin(np.arange(n), sorted(accept)),
    )
    return ir.Automaton(build_dfa(ir.intersect(ir.Automaton(raw), _ALL_TEXT)))


@lru_cache(maxsize=1024)
def unsigned_integer_range(lo: int, hi: int | None) -> ir.Node:
    """Canonical decimal text (no leading zeros) of the integers in [lo, hi], 0 <= lo; hi None = unbounded.

    Built as a table automaton that reads digits while tracking how many were
    read and how the prefix compares with `lo` and `hi`: linear in the number
    of digits of the bounds, however large they are. Cached: every bounded number
    language has the 308-digit ranges below 1e308 (`bounds.Bounds.finite`).
    """
    lo = max(lo, 0)
    if hi is not None and lo > hi:
        return ir.NOTHING
    low = str(lo)
    high = None if hi is None else str(hi)
    index: dict[tuple, int] = {("start",): 0}
    transitions: dict[int, dict[int, int]] = {}
    accept: set[int] = set()

    def state(key: tuple) -> int:
        if key not in index:
            index[key] = len(index)
        return index[key]

    def compare(digit: int, bound: str, k: int, so_far: int) -> int:
        """Sign of (prefix + digit) - bound[:k+1], given the sign of prefix - bound[:k]."""
        if so_far or k >= len(bound):
            return so_far
        return (digit > int(bound[k])) - (digit < int(bound[k]))

    if lo == 0:
        accept.add(state(("zero",)))
        transitions[0] = {0x30: index[("zero",)]}
    todo = [(0, 0, 0)]  # (digits read, sign of prefix vs low, sign of prefix vs high)
    seen = set()
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        k, c_lo, c_hi = key
        src = 0 if k == 0 else state(key)
        at_least_low = k > len(low) or (k == len(low) and c_lo >= 0)
        if k > 0 and at_least_low and (high is None or k < len(high) or c_hi <= 0):
            accept.add(src)
        if high is not None and k == len(high):
            continue  # one more digit would exceed hi
        for d in range(0 if k else 1, 10):
            n_lo = 1 if k >= len(low) else compare(d, low, k, c_lo)
            n_hi = 0 if high is None else compare(d, high, k, c_hi)
            nk = k + 1
            if high is None and nk > len(low):
                nk = len(low) + 1  # longer than lo and no hi: every continuation qualifies
            nxt = (nk, n_lo, n_hi)
            transitions.setdefault(src, {})[0x30 + d] = state(nxt)
            todo.append(nxt)
    return table_automaton(transitions, accept)


def signed_integer_range(lo: int | None, hi: int | None) -> ir.Node:
    """`-?(0|[1-9][0-9]*)` text of the integers in [lo, hi] (None = unbounded), never `-0`."""
    if lo is not None and hi is not None and lo > hi:
        return ir.NOTHING
    options = []
    if hi is None or hi >= 0:
        options.append(unsigned_integer_range(max(lo, 0) if lo is not None else 0, hi))
    if lo is None or lo < 0:
        neg_lo = 1 if hi is None or hi >= 0 else -hi
        options.append(ir.seq(MINUS, unsigned_integer_range(neg_lo, None if lo is None else -lo)))
    return ir.alt(*options)


# ------------------------------------------------------- decimal comparison


def _decimal_digits(q: Fraction) -> tuple[int, str]:
    """Integer part and fraction digits (no trailing zeros) of a non-negative finite decimal."""
    whole, rest = divmod(q.numerator, q.denominator)
    digits = []
    while rest:
        rest *= 10
        digit, rest = divmod(rest, q.denominator)
        digits.append(str(digit))
    return whole, "".join(digits)


def fraction_at_most(f: str, strict: bool) -> ir.Node:
    """Optional fraction `(\\.[0-9]+)?` whose value 0.F is <= 0.f (< when strict)."""
    options = []
    if not strict or f:
        options.append(ir.EPSILON)  # no fraction: value 0
    digits = []
    for i, ch in enumerate(f):
        if ch != "0":
            digits.append(ir.seq(ir.literal(f[:i]), digit_range(0, int(ch) - 1), ir.star(DIGIT)))
        if i:
            digits.append(ir.literal(f[:i]))  # a proper prefix is smaller: f ends in a non-zero digit
    if not strict:
        digits.append(ir.seq(ir.literal(f), ir.star(ir.literal("0"))) if f else ir.plus(ir.literal("0")))
    options.append(ir.seq(ir.literal("."), ir.alt(*digits)))
    return ir.alt(*options)


def _fraction_above(f: str, strict: bool) -> ir.Node:
    """Optional fraction whose value 0.F is >= 0.f (> when strict)."""
    options = []
    if not strict and not f:
        options.append(ir.EPSILON)
    digits = []
    for i, ch in enumerate(f):
        if ch != "9":
            digits.append(ir.seq(ir.literal(f[:i]), digit_range(int(ch) + 1, 9), ir.star(DIGIT)))
    digits.append(ir.seq(ir.literal(f), ir.star(ir.literal("0")), NONZERO_DIGIT, ir.star(DIGIT)))
    if not strict:
        digits.append(ir.seq(ir.literal(f), ir.star(ir.literal("0"))) if f else ir.plus(ir.literal("0")))
    options.append(ir.seq(ir.literal("."), ir.alt(*digits)))
    return ir.alt(*options)


UNSIGNED_DECIMAL = ir.seq(UNSIGNED_INTEGER, ir.optional(FRACTION))


def significant_at_most(n: int) -> ir.Node:
    """Number text (`-`, digits and points; the syntax is left to the languages it
    is intersected with) whose value has at most `n` significant digits: at most
    `n` digits from the first non-zero digit to the last (`0.0120`, `1200`: two)."""
    zeros = ir.star(ir.byte_set(b"0."))
    significant = ir.seq(NONZERO_DIGIT, ir.repeat(ir.seq(ir.star(ir.literal(".")), DIGIT), 0, n - 1), zeros)
    return ir.seq(ir.optional(MINUS), zeros, ir.optional(significant))


def _unsigned_at_most(bound: Fraction, strict: bool) -> ir.Node:
    """Unsigned decimal text `(0|[1-9][0-9]*)(\\.[0-9]+)?` with exact value <= bound (< when strict)."""
    if bound < 0 or (bound == 0 and strict):
        return ir.NOTHING
    whole, f = _decimal_digits(bound)
    options = [ir.seq(ir.literal(str(whole)), fraction_at_most(f, strict))]
    if whole > 0:
        options.append(ir.seq(unsigned_integer_range(0, whole - 1), ir.optional(FRACTION)))
    return ir.alt(*options)


def _unsigned_at_least(bound: Fraction, strict: bool) -> ir.Node:
    """Unsigned decimal text with exact value >= bound (> when strict)."""
    if bound < 0 or (bound == 0 and not strict):
        return UNSIGNED_DECIMAL
    whole, f = _decimal_digits(bound)
    return ir.alt(
        ir.seq(ir.literal(str(whole)), _fraction_above(f, strict)),
        ir.seq(unsigned_integer_range(whole + 1, None), ir.optional(FRACTION)),
    )


def decimal_range(lo: Fraction | None, lo_strict: bool, hi: Fraction | None, hi_strict: bool, unsigned: ir.Node):
    """Signed decimal text whose exact value lies between the bounds; the
    unsigned part is further restricted to `unsigned` (a syntax or a multiples language)."""

    def side(at_least, at_most):
        parts = [unsigned]
        if at_least is not None:
            parts.append(_unsigned_at_least(*at_least))
        if at_most is not None:
            parts.append(_unsigned_at_most(*at_most))
        return ir.intersect(*parts)

    positive = side(None if lo is None else (lo, lo_strict), None if hi is None else (hi, hi_strict))
    negative = side(None if hi is None else (-hi, hi_strict), None if lo is None else (-lo, lo_strict))
    return ir.alt(positive, ir.seq(MINUS, negative))
