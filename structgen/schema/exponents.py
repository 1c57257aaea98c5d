"""Exponent forms (`1e-07`, `1.5e+20`) within bounds: whole decades only, kept clear of overflow.

Apart from `numbers` because exponent text needs its own reasoning (a
mantissa in [1, 10), which decades lie wholly inside the bounds, the top
decade up to the largest float); see the `numbers` module docstring.
"""

from __future__ import annotations

from fractions import Fraction

from ..automata import ir
from .bounds import MAX_FLOAT, Bounds
from .digits import FRACTION, MINUS, NONZERO_DIGIT, fraction_at_most, unsigned_integer_range

# Exponents kept clear of float overflow (to inf) and underflow (to 0 or subnormals).
_MAX_DECADE = 307
# Relative margin around a decade's ends, far wider than a float's rounding error.
_DECADE_MARGIN = Fraction(1, 10**12)
MANTISSA = ir.seq(NONZERO_DIGIT, ir.optional(FRACTION))  # [1-9](\.[0-9]+)?: in [1, 10)
# Mantissas of [1e308, MAX]'s exponent forms: 1 up to 1.7976931348623157, the digits json.dumps writes
# for MAX (the largest float, 1.7976931348623157081...e308), so that every such text reads as a finite float.
_TOP_MANTISSA = ir.seq(ir.literal("1"), fraction_at_most("7976931348623157", strict=False))


def _decades(bounds: tuple[Bounds, ...], negative: bool) -> tuple[int, int] | None:
    """The exponents E whose whole decade [10^E, 10^(E+1)] (negated if `negative`)
    lies inside all the bounds with a margin, so that any mantissa in [1, 10) qualifies.

    Each side is monotone in E (the decade moves one way as E grows), so each is found by
    bisection: a few dozen exact comparisons instead of one per exponent (1,230 of them
    cost 15 ms)."""

    def window(e: int) -> tuple[Fraction, Fraction]:
        low, high = Fraction(10) ** e * (1 - _DECADE_MARGIN), Fraction(10) ** (e + 1) * (1 + _DECADE_MARGIN)
        return (-high, -low) if negative else (low, high)

    above = _holding(lambda e: all(b.lo is None or b.lo < window(e)[0] for b in bounds))
    below = _holding(lambda e: all(b.hi is None or window(e)[1] < b.hi for b in bounds))
    if above is None or below is None:
        return None
    first, last = max(above[0], below[0]), min(above[1], below[1])
    return (first, last) if first <= last else None


def _holding(holds) -> tuple[int, int] | None:
    """The exponents in [-_MAX_DECADE, _MAX_DECADE] where `holds`, a predicate monotone in the
    exponent, is true (a prefix or a suffix of the range), or None."""
    lo, hi = -_MAX_DECADE, _MAX_DECADE
    at_lo, at_hi = holds(lo), holds(hi)
    if at_lo == at_hi:
        return (lo, hi) if at_lo else None
    a, b = lo, hi  # holds(a) == at_lo != holds(b)
    while b - a > 1:
        m = (a + b) // 2
        if holds(m) == at_lo:
            a = m
        else:
            b = m
    return (lo, a) if at_lo else (b, hi)


def _exponent_text(lo: int, hi: int) -> ir.Node:
    """`e`/`E` and an exponent in [lo, hi], as json.dumps writes it (`e+16`, `e-07`) or plainer."""
    options = []
    if hi >= 0:
        options.append(ir.seq(ir.optional(ir.literal("+")), ir.star(ir.literal("0")),
                              unsigned_integer_range(max(lo, 0), hi)))
    if lo < 0:
        options.append(ir.seq(MINUS, ir.star(ir.literal("0")), unsigned_integer_range(max(-hi, 1), -lo)))
    return ir.seq(ir.byte_set(b"eE"), ir.alt(*options))


def exponent_forms(b: tuple[Bounds, ...]) -> ir.Node:
    """Exponent-notation numbers (json.dumps writes floats below 1e-4 and from 1e16 so)
    that lie within the bounds: those whose whole decade is inside them, and
    [1e308, MAX] when the bounds reach MAX (up to MAX's shortest text). Exponent forms in a decade that
    straddles a bound are left out (a sound restriction)."""
    options = []
    for negative in (False, True):
        sign = MINUS if negative else ir.EPSILON
        span = _decades(b, negative)
        if span is not None:
            options.append(ir.seq(sign, MANTISSA, _exponent_text(*span)))
        if span is not None and span[1] == _MAX_DECADE and all(_reaches_max(x, negative) for x in b):
            options.append(ir.seq(sign, _TOP_MANTISSA, _exponent_text(_MAX_DECADE + 1, _MAX_DECADE + 1)))
    return ir.alt(*options)


def _reaches_max(b: Bounds, negative: bool) -> bool:
    """Whether MAX (-MAX if `negative`), the largest float, is within the bounds."""
    if negative:
        return b.lo is None or b.lo < -MAX_FLOAT or (b.lo == -MAX_FLOAT and not b.lo_strict)
    return b.hi is None or b.hi > MAX_FLOAT or (b.hi == MAX_FLOAT and not b.hi_strict)
