"""JSON numbers and integers in their `json.dumps` output form, with exact bounds and `multipleOf`.

Output is valid for two judges: `jsonschema` applied to `json.loads(text)`
(floats), and exact decimal arithmetic with the schema's numbers read at
their decimal value (`0.1` as one tenth). Where the two could disagree the
language keeps to what both accept: fraction text is bounded both ways, and
numbers that must not be integers keep to 15 significant digits
(`non_integral_node`). `canonical_number_node` is the one-text-per-value
domain on which they agree entirely, for `oneOf`.

For the float judge two kinds of number text behave differently:

* integer text (`-?(0|[1-9][0-9]*)`) loads as a Python `int`, and Python
  compares ints with ints and floats exactly, so bounds are integer ranges;
* fraction text (`-?(0|[1-9][0-9]*)\\.[0-9]+`) loads as a `float`, rounded to
  nearest-even. Its bounds are decided on the rounded value: `float(x) <= h`
  holds exactly when the decimal `x` lies below the midpoint between the
  largest float `<= h` and the next float up (ties by the parity of the
  significand). Those midpoints are dyadic rationals, i.e. finite decimals,
  so the bounded language is a digit comparison; it is exact for text with
  up to 24 fraction digits (all of `json.dumps`'s) and stricter beyond.

Every number is finite for both judges: `json.loads` turns decimal text
past the largest float into `inf` (`1e400`, or 400 digits and `.5`), which
no user wants and on which `jsonschema` can crash (`OverflowError` under a
float `multipleOf`). So plain text (integer and fraction) is kept below
10**308 in magnitude, an extra exact decimal bound (`_Bounds.finite`):
integer text then has at most 308 digits (far below Python's 4300-digit
limit on `int`). Plain text in [10**308, MAX] (MAX the largest float) is the
sliver given up for this, as `json.dumps` writes such floats with an
exponent; the bound is a plain digit count, cheaper than MAX's 309 digits.
On a side where the schema sets no bound (free-form values, `{"type":
"integer"}`, `minimum: 0` upwards), plain text keeps to 40 integer digits
(`_FREE_LIMIT`), so that these automata stay small.

Exponent forms (`1e-07`, `1.5e+20`) are written with a mantissa in [1, 10)
and take the exponents whose whole decade [10^E, 10^(E+1)] lies inside the
bounds (then every mantissa qualifies), E in [-307, 307] so that no float
overflows or leaves the normal range; [1e308, 1.7e308] is added when the
bounds reach MAX; (1.7e308, MAX] is the sliver given up to keep it small. A
decade that straddles a bound is left out, as are exponent forms under
`multipleOf` (sound restrictions of the output form).

`multipleOf` follows the judge too: an integer `multipleOf` is checked with
exact `%`; a float one with float division (`instance / multipleOf` must be
integral), which is exact only for some values - see `_float_step`.
"""

from __future__ import annotations

import copy
import math
import struct
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

import numpy as np

from ..automata import ir
from ..automata.dfa import DFA, build_dfa
from ..errors import SchemaTooLargeError, UnsupportedSchemaError

DIGIT = ir.byte_range(0x30, 0x39)
NONZERO_DIGIT = ir.byte_range(0x31, 0x39)
MINUS = ir.literal("-")
UNSIGNED_INTEGER = ir.alt(ir.literal("0"), ir.seq(NONZERO_DIGIT, ir.star(DIGIT)))
FRACTION = ir.seq(ir.literal("."), ir.plus(DIGIT))

# Floats are exact for integers (and multiples of a power of two) up to 2**53.
_EXACT_FLOAT_LIMIT = 2**53
_MAX_FLOAT = Fraction(1.7976931348623157e308)
_OVERFLOW = Fraction(2) ** 1024
# Plain (integer and fraction) text stays below this in magnitude: finite as a float.
_PLAIN_LIMIT = Fraction(10) ** 308
# ... and below this on a side where the schema gives no bound: a digit counter to 308
# costs 300 states, in every free-form value, which nest and recur; 40 digits
# hold every 128-bit integer, and json.dumps writes floats from 1e16 with an exponent.
_FREE_LIMIT = Fraction(10) ** 40
# Largest modulus (times the number of fraction digits tracked) we build a
# divisibility automaton for.
_MAX_DIVISIBILITY_STATES = 20_000
# Fraction text is bounded exactly up to this many fraction digits (see `_round_threshold`).
_THRESHOLD_DIGITS = 24

Bound = int | float | Decimal | Fraction | None


# ----------------------------------------------------------------- integers


def _digit_range(lo: int, hi: int) -> ir.Node:
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
    language has the 308-digit ranges below 1e308 (`_Bounds.finite`).
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


def _exact(value: Bound, keyword: str, pointer: str, decimal: bool = False) -> Fraction | None:
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


class _Bounds:
    """The lower and upper bound of a numeric keyword set, exact, with strictness.

    Two judges read a float bound differently: `jsonschema` on floats
    compares with its binary value, exact decimal arithmetic with its decimal
    value (`decimal=True`). Output must satisfy both, so numbers are bounded
    by the two `_Bounds` together (`_both`).
    """

    def __init__(self, minimum, maximum, exclusive_minimum, exclusive_maximum, pointer, decimal=False):
        self.lo, self.lo_strict = None, False
        self.hi, self.hi_strict = None, False
        self.pointer = pointer
        for value, keyword, strict in ((minimum, "minimum", False), (exclusive_minimum, "exclusiveMinimum", True)):
            q = _exact(value, keyword, pointer, decimal)
            if q is not None and (self.lo is None or q > self.lo or (q == self.lo and strict)):
                self.lo, self.lo_strict = q, strict
        for value, keyword, strict in ((maximum, "maximum", False), (exclusive_maximum, "exclusiveMaximum", True)):
            q = _exact(value, keyword, pointer, decimal)
            if q is not None and (self.hi is None or q < self.hi or (q == self.hi and strict)):
                self.hi, self.hi_strict = q, strict

    def finite(self) -> _Bounds:
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
        """Signed decimal text within these bounds, exactly (see `_decimal_range`)."""
        return _decimal_range(self.lo, self.lo_strict, self.hi, self.hi_strict, unsigned)


def _both(args: tuple, pointer: str) -> tuple[_Bounds, _Bounds]:
    """The bounds as the float judge and as exact decimal arithmetic read them."""
    return _Bounds(*args, pointer), _Bounds(*args, pointer, decimal=True)


def _integer_range(fb: _Bounds, db: _Bounds) -> tuple[int | None, int | None]:
    """The integers within both readings of the bounds (integer text is exact for both judges)."""
    (flo, fhi), (dlo, dhi) = fb.integer_range(), db.integer_range()
    lo = flo if dlo is None else dlo if flo is None else max(flo, dlo)
    hi = fhi if dhi is None else dhi if fhi is None else min(fhi, dhi)
    return lo, hi


# ------------------------------------------------------------ divisibility


def _divisibility_dfa(modulus: int, scale: int) -> DFA:
    """Digits, optionally `.` and fraction digits, whose value times 10**scale
    is an integer divisible by `modulus`.

    States track the value modulo `modulus` of the digits read so far; after
    `scale` fraction digits only zeros may follow. Syntax (leading zeros, a
    digit after the point) is left to the languages it is intersected with,
    which also minimise the product.
    """
    n_frac = scale + 1 if scale else 0  # fraction states: digits read 0..scale
    n = modulus * (1 + n_frac)
    if n > _MAX_DIVISIBILITY_STATES:
        raise ValueError(n)
    trans = np.full((n, 12), -1, np.int32)
    accept = np.zeros(n, bool)
    r = np.arange(modulus)
    for c in range(10):
        trans[:modulus, c] = (10 * r + c) % modulus
    accept[:modulus] = (r * pow(10, scale, modulus)) % modulus == 0
    for f in range(n_frac):
        base = modulus * (1 + f)
        if f == 0:
            trans[:modulus, 10] = base + r
        if f < scale:
            for c in range(10):
                trans[base : base + modulus, c] = modulus * (2 + f) + (10 * r + c) % modulus
        else:
            trans[base : base + modulus, 0] = base + r
        if f > 0:
            accept[base : base + modulus] = (r * pow(10, scale - f, modulus)) % modulus == 0
    byte_class = np.full(256, 11, np.int32)
    byte_class[0x30:0x3A] = np.arange(10)
    byte_class[ord(".")] = 10
    return DFA(trans, byte_class, accept)


def _unsigned_integer_multiples(step: int, keyword_pointer: str) -> ir.Node:
    """Canonical unsigned integers divisible by `step` (trailing zeros of the step cost no states)."""
    zeros = len(str(step)) - len(str(step).rstrip("0"))
    core = step // 10**zeros
    try:
        divisible = ir.Automaton(_divisibility_dfa(core, 0)) if core > 1 else ir.plus(DIGIT)
    except ValueError:
        raise SchemaTooLargeError("multipleOf", keyword_pointer, f"multipleOf {step} needs too many states")
    head = ir.intersect(ir.seq(NONZERO_DIGIT, ir.star(DIGIT)), divisible)
    return ir.alt(ir.literal("0"), ir.seq(head, ir.repeat(ir.literal("0"), zeros, zeros)))


def _float_step(multiple_of: float, pointer: str) -> tuple[Fraction, int]:
    """For a float `multipleOf`, its decimal value and the power of two below
    which its multiples are checked exactly by float division.

    `jsonschema` tests `int(q) == q` for `q = instance / multipleOf` in floats.
    When `multipleOf` is a dyadic rational, multiples n * multipleOf with
    |n * 2**j| <= 2**53 are exact floats and the division is exact. Otherwise
    the float differs from its decimal m by a relative error e; integer
    instances x = Q * m with |x|, |Q| <= 2**53 still divide to exactly Q when
    |e| <= 2**-54 (the error is below half an ulp of Q). Anything else is
    refused rather than approximated.
    """
    decimal_value = Fraction(Decimal(repr(multiple_of)))
    exact = Fraction(multiple_of)
    if exact != decimal_value and abs(exact - decimal_value) / exact > Fraction(1, 2**54):
        raise UnsupportedSchemaError(
            "multipleOf", pointer, f"float division by {multiple_of!r} is not exact enough to enforce"
        )
    return decimal_value, exact.denominator  # denominator is a power of two


def _scale(value: Fraction) -> tuple[int, int]:
    """(M, d) with value == M / 10**d, d minimal (value has a finite decimal form)."""
    d = 0
    while (value * 10**d).denominator != 1:
        d += 1
    return int(value * 10**d), d


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


def _fraction_below(f: str, strict: bool) -> ir.Node:
    """Optional fraction `(\\.[0-9]+)?` whose value 0.F is <= 0.f (< when strict)."""
    options = []
    if not strict or f:
        options.append(ir.EPSILON)  # no fraction: value 0
    digits = []
    for i, ch in enumerate(f):
        if ch != "0":
            digits.append(ir.seq(ir.literal(f[:i]), _digit_range(0, int(ch) - 1), ir.star(DIGIT)))
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
            digits.append(ir.seq(ir.literal(f[:i]), _digit_range(int(ch) + 1, 9), ir.star(DIGIT)))
    digits.append(ir.seq(ir.literal(f), ir.star(ir.literal("0")), NONZERO_DIGIT, ir.star(DIGIT)))
    if not strict:
        digits.append(ir.seq(ir.literal(f), ir.star(ir.literal("0"))) if f else ir.plus(ir.literal("0")))
    options.append(ir.seq(ir.literal("."), ir.alt(*digits)))
    return ir.alt(*options)


_UNSIGNED_DECIMAL = ir.seq(UNSIGNED_INTEGER, ir.optional(FRACTION))


def _unsigned_at_most(bound: Fraction, strict: bool) -> ir.Node:
    """Unsigned decimal text `(0|[1-9][0-9]*)(\\.[0-9]+)?` with exact value <= bound (< when strict)."""
    if bound < 0 or (bound == 0 and strict):
        return ir.NOTHING
    whole, f = _decimal_digits(bound)
    options = [ir.seq(ir.literal(str(whole)), _fraction_below(f, strict))]
    if whole > 0:
        options.append(ir.seq(unsigned_integer_range(0, whole - 1), ir.optional(FRACTION)))
    return ir.alt(*options)


def _unsigned_at_least(bound: Fraction, strict: bool) -> ir.Node:
    """Unsigned decimal text with exact value >= bound (> when strict)."""
    if bound < 0 or (bound == 0 and not strict):
        return _UNSIGNED_DECIMAL
    whole, f = _decimal_digits(bound)
    return ir.alt(
        ir.seq(ir.literal(str(whole)), _fraction_above(f, strict)),
        ir.seq(unsigned_integer_range(whole + 1, None), ir.optional(FRACTION)),
    )


def _decimal_range(lo: Fraction | None, lo_strict: bool, hi: Fraction | None, hi_strict: bool, unsigned: ir.Node):
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
    if q > _MAX_FLOAT:
        return 1.7976931348623157e308
    if q < -_MAX_FLOAT or (strict and q == -_MAX_FLOAT):
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


def _rounded_bounds(b: _Bounds) -> tuple[Fraction | None, bool, Fraction | None, bool] | None:
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


# ------------------------------------------------------------------- public


def integer_node(
    *, minimum=None, maximum=None, exclusive_minimum=None, exclusive_maximum=None, multiple_of=None, pointer=""
) -> ir.Node:
    """JSON integers `-?(0|[1-9][0-9]*)` (never `-0`) within the bounds and
    divisible by `multiple_of`, exactly as `jsonschema` decides for ints
    (and exact arithmetic with the schema's decimal values: both readings of
    a float bound hold).

    Integers are kept below 1e308 in magnitude (below 1e40 on a side with no
    bound; see the module docstring). Returns `ir.NOTHING` for an empty range; raises
    `UnsupportedSchemaError` for a bound at 1e308 or beyond that leaves none.
    """
    bounds, decimal_bounds = _both((minimum, maximum, exclusive_minimum, exclusive_maximum), pointer)
    lo, hi = _integer_range(bounds, decimal_bounds.finite())
    if multiple_of is None:
        return signed_integer_range(lo, hi)
    step, cap = _integer_step(multiple_of, pointer)
    if cap is not None:
        lo = -cap if lo is None else max(lo, -cap)
        hi = cap if hi is None else min(hi, cap)
    return _integer_multiples(lo, hi, step, pointer)


def _integer_step(multiple_of, pointer: str) -> tuple[int, int | None]:
    """The integer step of the multiples of `multiple_of`, and the magnitude up
    to which the judge's check of them is exact (None: always exact)."""
    value = _exact(multiple_of, "multipleOf", pointer)
    if value is None or value <= 0:
        raise UnsupportedSchemaError("multipleOf", pointer, f"{multiple_of!r} is not a positive number")
    if not isinstance(multiple_of, float):
        if value.denominator != 1:
            raise UnsupportedSchemaError("multipleOf", pointer, "only int and float multipleOf values are supported")
        return int(value), None
    decimal_value, _ = _float_step(multiple_of, pointer)
    m, d = _scale(decimal_value)
    step = m // math.gcd(m, 10**d)
    return step, int(min(Fraction(_EXACT_FLOAT_LIMIT), _EXACT_FLOAT_LIMIT * decimal_value))


def _integer_multiples(lo: int | None, hi: int | None, step: int, pointer: str) -> ir.Node:
    if lo is not None and hi is not None and lo > hi:
        return ir.NOTHING
    multiples = _unsigned_integer_multiples(step, pointer)
    options = []
    if hi is None or hi >= 0:
        options.append(ir.intersect(unsigned_integer_range(max(lo or 0, 0), hi), multiples))
    if lo is None or lo < 0:
        neg = unsigned_integer_range(1 if hi is None or hi >= 0 else -hi, None if lo is None else -lo)
        options.append(ir.seq(MINUS, ir.intersect(neg, multiples)))
    return ir.alt(*options)


def number_node(
    *, minimum=None, maximum=None, exclusive_minimum=None, exclusive_maximum=None, multiple_of=None, pointer=""
) -> ir.Node:
    """JSON numbers in `json.dumps` form within the bounds and `multipleOf`, all finite floats.

    Unconstrained: `-?(0|[1-9][0-9]*)(\\.[0-9]+)?` below 10**40 in magnitude,
    and `-?[1-9](\\.[0-9]+)?[eE][+-]?[0-9]+` for exponents -307 to 308 (see the
    module docstring). Integer text is bounded exactly, fraction text both by the
    value `json.loads` rounds it to and by its exact value (so that the float
    judge and exact decimal arithmetic agree), and exponent forms are kept for
    the decades that lie wholly inside the bounds (`_exponent_forms`). With
    `multipleOf`, exponent forms are left out (a sound restriction of the
    output form).
    Returns `ir.NOTHING` when no number qualifies; raises `UnsupportedSchemaError`
    for a bound at 1e308 or beyond that leaves no plain number.
    """
    if (minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of) == (None,) * 5:
        return _any_number()
    bounds, decimal_bounds = _both((minimum, maximum, exclusive_minimum, exclusive_maximum), pointer)
    plain = decimal_bounds.finite()
    if bounds.empty or plain.empty:
        return ir.NOTHING
    lo, hi = _integer_range(bounds, plain)
    rounded = _rounded_bounds(bounds)
    exact = plain.decimal_range(ir.seq(UNSIGNED_INTEGER, FRACTION))
    if multiple_of is None:
        fractions = ir.NOTHING if rounded is None else _decimal_range(*rounded, ir.seq(UNSIGNED_INTEGER, FRACTION))
        return ir.alt(signed_integer_range(lo, hi), ir.intersect(fractions, exact),
                      _exponent_forms((bounds, decimal_bounds)))
    step, cap = _integer_step(multiple_of, pointer)
    ilo, ihi = lo, hi
    if cap is not None:
        ilo = -cap if lo is None else max(lo, -cap)
        ihi = cap if hi is None else min(hi, cap)
    integers = _integer_multiples(ilo, ihi, step, pointer)
    fractions = ir.NOTHING if rounded is None else _fraction_multiples(multiple_of, *rounded, pointer)
    return ir.alt(integers, ir.intersect(fractions, exact))


@lru_cache(maxsize=1)
def _any_number() -> ir.Node:
    """`number_node()`, built once: free-form values recur all over real schemas."""
    unbounded = _Bounds(None, None, None, None, "")
    plain = unbounded.finite().decimal_range(_UNSIGNED_DECIMAL)
    return ir.Automaton(build_dfa(ir.alt(plain, _exponent_forms((unbounded,)))))


#: Numbers whose value must not be an integer are written as plain decimals
#: with at most this many significant digits (counted from the first non-zero
#: digit to the end of the text) and at most `SAFE_FRACTION_DIGITS` fraction
#: digits. A float keeps 15 significant decimal digits, so such a decimal
#: never rounds to an integer (`1.0000000000000000001` does, to `1.0`), and
#: it stays far above the smallest normal float (`1e-400` reads as `0.0`).
SAFE_SIGNIFICANT_DIGITS = 15
SAFE_FRACTION_DIGITS = 40


def non_integral_node(canonical: bool = False) -> ir.Node:
    """Plain decimals that are not integers for the float judge and for exact
    arithmetic alike: a non-zero fraction digit, within the digit limits above.
    `canonical`: without trailing zeros, one text per value (see `canonical_number_node`)."""
    syntax = ir.seq(ir.optional(MINUS), UNSIGNED_INTEGER, ir.literal("."), ir.star(DIGIT), NONZERO_DIGIT,
                    ir.EPSILON if canonical else ir.star(DIGIT))
    point = ir.star(ir.literal("."))
    significant = ir.seq(ir.optional(MINUS), ir.star(ir.byte_set(b"0.")), NONZERO_DIGIT,
                         ir.repeat(ir.seq(point, DIGIT), 0, SAFE_SIGNIFICANT_DIGITS - 1), point)
    short = ir.seq(ir.optional(MINUS), ir.star(DIGIT), ir.literal("."), ir.repeat(DIGIT, 1, SAFE_FRACTION_DIGITS))
    return ir.intersect(syntax, significant, short)


def canonical_number_text(value) -> str | None:
    """The one text of a schema's number in the canonical domain of
    `canonical_number_node`, or None when the value has none there (a float
    with more significant digits than a float keeps; no text in the domain
    equals it for either judge).

    Raises `UnsupportedSchemaError` for an integral float past 2**53 whose
    binary and decimal values differ (`1e23`): the two judges disagree on
    which integer equals it.
    """
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        if abs(value) >= _EXACT_FLOAT_LIMIT and Fraction(value) != Fraction(Decimal(repr(value))):
            raise UnsupportedSchemaError("oneOf", "", f"{value!r} is a different integer for a float and for a decimal")
        return str(int(value))
    exact = Decimal(repr(value))
    sign, digits, exponent = exact.as_tuple()
    if len(digits) > SAFE_SIGNIFICANT_DIGITS or -exponent > SAFE_FRACTION_DIGITS:
        return None
    return f"{exact:f}"


def canonical_number_node(*, minimum=None, maximum=None, exclusive_minimum=None, exclusive_maximum=None,
                          multiple_of=None, kinds=("integer", "number"), pointer="") -> ir.Node:
    """Numbers of the canonical domain, exactly those valid for both judges.

    The domain: integers as `integer_node` writes them (never `-0`), and
    non-integers as `non_integral_node(canonical=True)` writes them. Every
    value in it has one text, and on it the float judge and exact decimal
    arithmetic agree (15 significant digits survive a float's rounding), so
    languages over it can be intersected and complemented value by value, as
    `oneOf` needs. `kinds`: "integer" for the integers, "number" for the
    non-integers.

    Raises `UnsupportedSchemaError` where the judges disagree on the domain:
    a float `multipleOf`, or a float bound past 2**53 whose two readings
    leave different integers in range.
    """
    args = (minimum, maximum, exclusive_minimum, exclusive_maximum)
    bounds, decimal_bounds = _both(args, pointer)
    if multiple_of is not None and (isinstance(multiple_of, float) or _integer_step(multiple_of, pointer)[1]):
        raise UnsupportedSchemaError("multipleOf", pointer, "a float multipleOf where oneOf branches may overlap")
    if bounds.integer_range() != decimal_bounds.integer_range():
        raise UnsupportedSchemaError("oneOf", pointer, "a float bound that is a different number as a decimal, "
                                     "where branches may overlap")
    options = []
    if "integer" in kinds:
        options.append(integer_node(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                                    exclusive_maximum=exclusive_maximum, multiple_of=multiple_of, pointer=pointer))
    if "number" in kinds and multiple_of is None:  # an integer step has no non-integral multiples
        options.append(ir.intersect(non_integral_node(canonical=True),
                                    decimal_bounds.decimal_range(ir.seq(UNSIGNED_INTEGER, FRACTION))))
    return ir.alt(*options)


# Exponents kept clear of float overflow (to inf) and underflow (to 0 or subnormals).
_MAX_DECADE = 307
# Relative margin around a decade's ends, far wider than a float's rounding error.
_DECADE_MARGIN = Fraction(1, 10**12)
MANTISSA = ir.seq(NONZERO_DIGIT, ir.optional(FRACTION))  # [1-9](\.[0-9]+)?: in [1, 10)
# Mantissas of [1e308, 1.7e308], below MAX = 1.797...e308: the exact [1, 1.7976931348623157]
# costs 20 states more in every free-form value.
_TOP_MANTISSA = ir.seq(ir.literal("1"), ir.optional(ir.alt(ir.seq(ir.literal("."), _digit_range(0, 6), ir.star(DIGIT)),
                                                            ir.seq(ir.literal(".7"), ir.star(ir.literal("0"))))))


def _decades(bounds: tuple[_Bounds, ...], negative: bool) -> tuple[int, int] | None:
    """The exponents E whose whole decade [10^E, 10^(E+1)] (negated if `negative`)
    lies inside all the bounds with a margin, so that any mantissa in [1, 10) qualifies."""

    def inside(e: int) -> bool:
        low, high = Fraction(10) ** e * (1 - _DECADE_MARGIN), Fraction(10) ** (e + 1) * (1 + _DECADE_MARGIN)
        if negative:
            low, high = -high, -low
        return all((b.lo is None or b.lo < low) and (b.hi is None or high < b.hi) for b in bounds)

    exponents = [e for e in range(-_MAX_DECADE, _MAX_DECADE + 1) if inside(e)]
    return (exponents[0], exponents[-1]) if exponents else None


def _exponent_text(lo: int, hi: int) -> ir.Node:
    """`e`/`E` and an exponent in [lo, hi], as json.dumps writes it (`e+16`, `e-07`) or plainer."""
    options = []
    if hi >= 0:
        options.append(ir.seq(ir.optional(ir.literal("+")), ir.star(ir.literal("0")),
                              unsigned_integer_range(max(lo, 0), hi)))
    if lo < 0:
        options.append(ir.seq(MINUS, ir.star(ir.literal("0")), unsigned_integer_range(max(-hi, 1), -lo)))
    return ir.seq(ir.byte_set(b"eE"), ir.alt(*options))


def _exponent_forms(b: tuple[_Bounds, ...]) -> ir.Node:
    """Exponent-notation numbers (json.dumps writes floats below 1e-4 and from 1e16 so)
    that lie within the bounds: those whose whole decade is inside them, and
    [1e308, 1.7e308] when the bounds reach MAX. Exponent forms in a decade that
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


def _reaches_max(b: _Bounds, negative: bool) -> bool:
    """Whether MAX (-MAX if `negative`), the largest float, is within the bounds."""
    if negative:
        return b.lo is None or b.lo < -_MAX_FLOAT or (b.lo == -_MAX_FLOAT and not b.lo_strict)
    return b.hi is None or b.hi > _MAX_FLOAT or (b.hi == _MAX_FLOAT and not b.hi_strict)


def _fraction_multiples(multiple_of, lo, lo_strict, hi, hi_strict, pointer) -> ir.Node:
    """Fraction text that the judge accepts as a multiple: exact multiples
    that are exact floats, so that float division and `%` are exact too.

    For a float `multipleOf` that is not a dyadic rational only integral
    values (`10.0`) qualify, as for integers (see `_float_step`).
    """
    if isinstance(multiple_of, float):
        decimal_value, power_of_two = _float_step(multiple_of, pointer)
        if Fraction(multiple_of) != decimal_value:
            step, cap = _integer_step(multiple_of, pointer)
            decimal_value, cap = Fraction(step), Fraction(cap)
        else:
            cap = Fraction(_EXACT_FLOAT_LIMIT, power_of_two)
    else:
        decimal_value, cap = Fraction(multiple_of), Fraction(_EXACT_FLOAT_LIMIT)
    m, d = _scale(decimal_value)
    if d == 0:
        multiples = ir.seq(_unsigned_integer_multiples(m, pointer), ir.literal("."), ir.plus(ir.literal("0")))
    else:
        try:
            multiples = ir.intersect(ir.seq(UNSIGNED_INTEGER, FRACTION), ir.Automaton(_divisibility_dfa(m, d)))
        except ValueError:
            raise SchemaTooLargeError("multipleOf", pointer, f"multipleOf {multiple_of!r} needs too many states")
    if lo is None or lo < -cap:
        lo, lo_strict = -cap, False
    if hi is None or hi > cap:
        hi, hi_strict = cap, False
    return _decimal_range(lo, lo_strict, hi, hi_strict, multiples)
