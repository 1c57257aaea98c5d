"""Numeric bounds as the two judges read them, kept finite, and as `json.loads` rounds fraction text.

`Bounds` holds one reading of `minimum`/`maximum`/`exclusive*` (binary
float values, or with `decimal=True` the schema's decimal values);
`Bounds.finite` adds the limits that keep plain text a finite float;
`rounded_bounds` turns a float bound into exact bounds on fraction text
(see the `numbers` module docstring for why). Apart from `numbers` because
this is where float semantics live; the digit automata do not know them.
"""

from __future__ import annotations

import copy
import math
import struct
from decimal import Decimal
from fractions import Fraction

from ..automata import ir
from ..errors import UnsupportedSchemaError
from .digits import decimal_range

# Floats are exact for integers (and multiples of a power of two) up to 2**53.
EXACT_FLOAT_LIMIT = 2**53
#: A float keeps this many significant decimal digits: a decimal with at most
#: 15 (within the normal range) reads as the float nearest to it, and that
#: float's shortest text (`repr`, what `json.dumps` writes) is the same decimal.
SAFE_SIGNIFICANT_DIGITS = 15
MAX_FLOAT = Fraction(1.7976931348623157e308)
_OVERFLOW = Fraction(2) ** 1024
# Plain (integer and fraction) text stays below this in magnitude: finite as a float.
_PLAIN_LIMIT = Fraction(10) ** 308
# ... and below this on a side where the schema gives no bound: a digit counter to 308
# costs 300 states, in every free-form value, which nest and recur; 40 digits
# hold every 128-bit integer, and json.dumps writes floats from 1e16 with an exponent.
_FREE_LIMIT = Fraction(10) ** 40
# Fraction text is bounded exactly up to this many fraction digits (see `_round_threshold`).
_THRESHOLD_DIGITS = 24

Bound = int | float | Decimal | Fraction | None


def exact_value(value: Bound, keyword: str, pointer: str, decimal: bool = False) -> Fraction | None:
    """The value of a schema number: a float's binary value, or with `decimal`
    its shortest decimal (`0.1` as one tenth, what the schema's text said)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        raise UnsupportedSchemaError(keyword, pointer, f"{value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise UnsupportedSchemaError(keyword, pointer, f"{value!r} is not a finite number")
    if decimal and isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


class Bounds:
    """The lower and upper bound of a numeric keyword set, exact, with strictness.

    Two judges read a float bound differently: `jsonschema` on floats
    compares with its binary value, exact decimal arithmetic with its decimal
    value (`decimal=True`). Output must satisfy both, so numbers are bounded
    by the two `Bounds` together (`both_bounds`).
    """

    def __init__(self, minimum, maximum, exclusive_minimum, exclusive_maximum, pointer, decimal=False):
        self.lo, self.lo_strict = None, False
        self.hi, self.hi_strict = None, False
        self.pointer = pointer
        for value, keyword, strict in ((minimum, "minimum", False), (exclusive_minimum, "exclusiveMinimum", True)):
            q = exact_value(value, keyword, pointer, decimal)
            if q is not None and (self.lo is None or q > self.lo or (q == self.lo and strict)):
                self.lo, self.lo_strict = q, strict
        for value, keyword, strict in ((maximum, "maximum", False), (exclusive_maximum, "exclusiveMaximum", True)):
            q = exact_value(value, keyword, pointer, decimal)
            if q is not None and (self.hi is None or q < self.hi or (q == self.hi and strict)):
                self.hi, self.hi_strict = q, strict

    def finite(self) -> Bounds:
        """These bounds within (-10**308, 10**308), where every decimal reads as a
        finite float; a side with no bound within 10**40 (see `_FREE_LIMIT`).

        Raises `UnsupportedSchemaError` for a bound that leaves no number there
        (`minimum: 10**400`): a restriction of this engine, not of the schema.
        """
        for bound, keyword, beyond in ((self.lo, "minimum", lambda q: q >= _PLAIN_LIMIT),
                                       (self.hi, "maximum", lambda q: q <= -_PLAIN_LIMIT)):
            if bound is not None and beyond(bound):
                raise UnsupportedSchemaError(keyword, self.pointer, "a bound of 1e308 or more in magnitude: numbers "
                                             "are written below 1e308 so that they read as finite floats")
        b = copy.copy(self)
        # a side the schema leaves open keeps to `_FREE_LIMIT`, unless the other bound lies beyond it
        hi_limit = _FREE_LIMIT if b.hi is None and (b.lo is None or b.lo < _FREE_LIMIT) else _PLAIN_LIMIT
        lo_limit = _FREE_LIMIT if b.lo is None and (b.hi is None or b.hi > -_FREE_LIMIT) else _PLAIN_LIMIT
        if b.hi is None or b.hi > hi_limit:
            b.hi, b.hi_strict = hi_limit, True
        if b.lo is None or b.lo < -lo_limit:
            b.lo, b.lo_strict = -lo_limit, True
        return b

    @property
    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_strict or self.hi_strict))

    def integer_range(self) -> tuple[int | None, int | None]:
        lo = hi = None
        if self.lo is not None:
            lo = math.floor(self.lo) + 1 if self.lo_strict else math.ceil(self.lo)
        if self.hi is not None:
            hi = math.ceil(self.hi) - 1 if self.hi_strict else math.floor(self.hi)
        return lo, hi

    def decimal_range(self, unsigned: ir.Node) -> ir.Node:
        """Signed decimal text within these bounds, exactly (see `decimal_range`)."""
        return decimal_range(self.lo, self.lo_strict, self.hi, self.hi_strict, unsigned)


def both_bounds(args: tuple, pointer: str) -> tuple[Bounds, Bounds]:
    """The bounds as the float judge and as exact decimal arithmetic read them."""
    return Bounds(*args, pointer), Bounds(*args, pointer, decimal=True)


def common_integer_range(fb: Bounds, db: Bounds) -> tuple[int | None, int | None]:
    """The integers within both readings of the bounds (integer text is exact for both judges)."""
    (flo, fhi), (dlo, dhi) = fb.integer_range(), db.integer_range()
    lo = flo if dlo is None else dlo if flo is None else max(flo, dlo)
    hi = fhi if dhi is None else dhi if fhi is None else min(fhi, dhi)
    return lo, hi


# ---------------------------------------------------------- float rounding


def _next_float(x: float, up: bool) -> Fraction:
    if up and x == 1.7976931348623157e308:
        return _OVERFLOW
    if not up and x == -1.7976931348623157e308:
        return -_OVERFLOW
    return Fraction(math.nextafter(x, math.inf if up else -math.inf))


def _even(x: float) -> bool:
    """Whether the float's significand is even (round-half-even picks it on a tie)."""
    return struct.unpack("<q", struct.pack("<d", x))[0] & 1 == 0


def _float_at_most(q: Fraction, strict: bool) -> float | None:
    """Largest finite float <= q (< q when strict); None when there is none."""
    if q > MAX_FLOAT:
        return 1.7976931348623157e308
    if q < -MAX_FLOAT or (strict and q == -MAX_FLOAT):
        return None
    x = float(q)
    while Fraction(x) > q or (strict and Fraction(x) == q):
        x = math.nextafter(x, -math.inf)
    return x


def _round_threshold(t: Fraction, strict: bool, up: bool) -> tuple[Fraction, bool]:
    """Move a threshold inward to at most `_THRESHOLD_DIGITS` fraction digits.

    Only text with more fraction digits than that (never `json.dumps`
    output) can fall between the exact and the rounded threshold, and the
    rounded one is stricter, so this stays sound while keeping the automata
    short (the exact threshold for `exclusiveMinimum: 0` has 1075 digits).
    """
    scaled = t * 10**_THRESHOLD_DIGITS
    if scaled.denominator == 1:
        return t, strict
    return Fraction(math.ceil(scaled) if up else math.floor(scaled), 10**_THRESHOLD_DIGITS), False


def rounded_bounds(b: Bounds) -> tuple[Fraction | None, bool, Fraction | None, bool] | None:
    """Bounds on the decimal value x that imply the bounds on float(x).

    Returns (lo, lo_strict, hi, hi_strict), or None when no finite float is
    in range. Exact for text with up to `_THRESHOLD_DIGITS` fraction digits.
    """
    lo = hi = None
    lo_strict = hi_strict = False
    if b.hi is not None:
        top = _float_at_most(b.hi, b.hi_strict)
        if top is None:
            return None
        hi, hi_strict = _round_threshold((Fraction(top) + _next_float(top, up=True)) / 2, not _even(top), up=False)
    if b.lo is not None:
        neg_bottom = _float_at_most(-b.lo, b.lo_strict)  # smallest float >= lo (> when strict), negated
        if neg_bottom is None:
            return None
        bottom = -neg_bottom
        lo, lo_strict = _round_threshold((Fraction(bottom) + _next_float(bottom, up=False)) / 2, not _even(bottom), up=True)
    return lo, lo_strict, hi, hi_strict
