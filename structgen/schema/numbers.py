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
10**308 in magnitude, an extra exact decimal bound (`bounds.Bounds.finite`):
integer text then has at most 308 digits (far below Python's 4300-digit
limit on `int`). Plain text in [10**308, MAX] (MAX the largest float) is the
sliver given up for this, as `json.dumps` writes such floats with an
exponent; the bound is a plain digit count, cheaper than MAX's 309 digits.
On a side where the schema sets no bound (free-form values, `{"type":
"integer"}`, `minimum: 0` upwards), plain text keeps to 40 integer digits
(`bounds._FREE_LIMIT`), so that these automata stay small.

Exponent forms (`1e-07`, `1.5e+20`) are written with a mantissa in [1, 10)
and take the exponents whose whole decade [10^E, 10^(E+1)] lies inside the
bounds (then every mantissa qualifies), E in [-307, 307] so that no float
overflows or leaves the normal range; [1e308, 1.7e308] is added when the
bounds reach MAX; (1.7e308, MAX] is the sliver given up to keep it small. A
decade that straddles a bound is left out, as are exponent forms under
`multipleOf` (sound restrictions of the output form).

`multipleOf` follows the judge too: an integer `multipleOf` is checked with
exact `%`; a float one with float division (`instance / multipleOf` must be
integral), which is exact only for some values - see `multiples._float_step`.

This module holds the public languages; their parts live apart: `digits`
(digit text of exact value ranges), `bounds` (the two readings of a bound,
the finite limits, float rounding), `multiples` (`multipleOf`) and
`exponents` (exponent forms).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from ..automata import ir
from ..automata.dfa import build_dfa
from ..errors import UnsupportedSchemaError
from .bounds import EXACT_FLOAT_LIMIT, Bounds, both_bounds, common_integer_range, rounded_bounds
from .digits import (
    DIGIT, FRACTION, MINUS, NONZERO_DIGIT, UNSIGNED_DECIMAL, UNSIGNED_INTEGER, decimal_range, signed_integer_range,
)
from .exponents import exponent_forms
from .multiples import fraction_multiples, integer_multiples, integer_step


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
    bounds, decimal_bounds = both_bounds((minimum, maximum, exclusive_minimum, exclusive_maximum), pointer)
    lo, hi = common_integer_range(bounds, decimal_bounds.finite())
    if multiple_of is None:
        return signed_integer_range(lo, hi)
    step, cap = integer_step(multiple_of, pointer)
    if cap is not None:
        lo = -cap if lo is None else max(lo, -cap)
        hi = cap if hi is None else min(hi, cap)
    return integer_multiples(lo, hi, step, pointer)


def number_node(
    *, minimum=None, maximum=None, exclusive_minimum=None, exclusive_maximum=None, multiple_of=None, pointer=""
) -> ir.Node:
    """JSON numbers in `json.dumps` form within the bounds and `multipleOf`, all finite floats.

    Unconstrained: `-?(0|[1-9][0-9]*)(\\.[0-9]+)?` below 10**40 in magnitude,
    and `-?[1-9](\\.[0-9]+)?[eE][+-]?[0-9]+` for exponents -307 to 308 (see the
    module docstring). Integer text is bounded exactly, fraction text both by the
    value `json.loads` rounds it to and by its exact value (so that the float
    judge and exact decimal arithmetic agree), and exponent forms are kept for
    the decades that lie wholly inside the bounds (`exponents.exponent_forms`). With
    `multipleOf`, exponent forms are left out (a sound restriction of the
    output form).
    Returns `ir.NOTHING` when no number qualifies; raises `UnsupportedSchemaError`
    for a bound at 1e308 or beyond that leaves no plain number.
    """
    if (minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of) == (None,) * 5:
        return _any_number()
    bounds, decimal_bounds = both_bounds((minimum, maximum, exclusive_minimum, exclusive_maximum), pointer)
    plain = decimal_bounds.finite()
    if bounds.empty or plain.empty:
        return ir.NOTHING
    lo, hi = common_integer_range(bounds, plain)
    rounded = rounded_bounds(bounds)
    exact = plain.decimal_range(ir.seq(UNSIGNED_INTEGER, FRACTION))
    if multiple_of is None:
        fractions = ir.NOTHING if rounded is None else decimal_range(*rounded, ir.seq(UNSIGNED_INTEGER, FRACTION))
        return ir.alt(signed_integer_range(lo, hi), ir.intersect(fractions, exact),
                      exponent_forms((bounds, decimal_bounds)))
    step, cap = integer_step(multiple_of, pointer)
    ilo, ihi = lo, hi
    if cap is not None:
        ilo = -cap if lo is None else max(lo, -cap)
        ihi = cap if hi is None else min(hi, cap)
    integers = integer_multiples(ilo, ihi, step, pointer)
    fractions = ir.NOTHING if rounded is None else fraction_multiples(multiple_of, *rounded, pointer)
    return ir.alt(integers, ir.intersect(fractions, exact))


@lru_cache(maxsize=1)
def _any_number() -> ir.Node:
    """`number_node()`, built once: free-form values recur all over real schemas."""
    unbounded = Bounds(None, None, None, None, "")
    plain = unbounded.finite().decimal_range(UNSIGNED_DECIMAL)
    return ir.Automaton(build_dfa(ir.alt(plain, exponent_forms((unbounded,)))))


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
        if abs(value) >= EXACT_FLOAT_LIMIT and Fraction(value) != Fraction(Decimal(repr(value))):
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
    bounds, decimal_bounds = both_bounds(args, pointer)
    if multiple_of is not None and (isinstance(multiple_of, float) or integer_step(multiple_of, pointer)[1]):
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
