"""JSON numbers and integers in their `json.dumps` output form, with exact bounds and `multipleOf`.

Output is valid for two judges: `jsonschema` applied to `json.loads(text)`
(floats) with `multipleOf` in exact decimal arithmetic (the harness judge,
`structgen.judge.validator_for`), and exact decimal arithmetic throughout,
with the schema's numbers read at their decimal value (`0.1` as one tenth).
Where the two could disagree the language keeps to what both accept:
fraction text is bounded both ways, and numbers that must not be integers
keep to 15 significant digits (`non_integral_node`).
`canonical_number_node` is the one-text-per-value domain on which they
agree entirely, for `oneOf`.

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
overflows or leaves the normal range; [1e308, MAX] is added when the
bounds reach MAX, up to 1.7976931348623157e308 (the text `json.dumps`
writes for MAX; longer texts above it but below MAX are left out). A
decade that straddles a bound is left out, as are exponent forms under
`multipleOf` (sound restrictions of the output form).

`multipleOf` is JSON Schema's: value / step is an integer, computed exactly
on the decimal values (`multiples`), so under `multipleOf: 0.01` the engine
writes `19.99`, `2.55` and `0.01`. `jsonschema` on its own divides floats and
calls `19.99` invalid (19.99 / 0.01 is 1998.9999999999998 in floats); where
the two disagree the engine follows the spec, never the float division, and
the harness judge replaces `jsonschema`'s `multipleOf` with the exact one
(reading a float at its shortest decimal, `repr`), so compliance is scored
by the spec; the harness notes each output that plain `jsonschema` would
have called invalid (`jsonschemabench.decoding.judge_output`). For that
reading to see the written value, fraction text under `multipleOf` keeps to
15 significant digits (`bounds.SAFE_SIGNIFICANT_DIGITS`: such a decimal
and its float's `repr` are the same number); integer text is exact as an
`int`. A step whose integers need a divisibility automaton past the state
budget (`{"type": "integer", "multipleOf": 0.123456789}`: the multiples of
123456789, which no automaton with fewer states tells apart) is refused
with `SchemaTooLargeError`.

An integral value spelled with a zero fraction is that integer: `const: 0`
accepts `0.0` and `enum: [1]` accepts `1.0` in every draft, and from draft
6 on `type: integer` accepts `1.0` (drafts 3 and 4 say an integer has no
fraction). Integral values are written as integer text and, within 2**53
in magnitude, also with a one-digit zero fraction (`1.0`, `-0.0`;
`integer_node` with `zero_fraction`, `number_constant_node` for
`const`/`enum`): those read as exactly that integer as floats too, so both
judges agree; beyond 2**53 integers are integer text only. One zero, as
serializers write an integral float: `1.00` is refused, an output-form
limit that keeps each value a finite set of texts (the `uniqueItems` check
enumerates an item's texts to keep every array able to finish). The
canonical domain keeps integer text alone, so that each value has one text
there.

This module holds the public languages; their parts live apart: `digits`
(digit text of exact value ranges), `bounds` (the two readings of a bound,
the finite limits, float rounding), `multiples` (`multipleOf`) and
`exponents` (exponent forms).
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from ..automata import ir
from ..automata.dfa import build_dfa
from ..errors import UnsupportedSchemaError
from .bounds import (
    EXACT_FLOAT_LIMIT, SAFE_SIGNIFICANT_DIGITS, Bounds, both_bounds, common_integer_range, rounded_bounds,
)
from .digits import (
    DIGIT, FRACTION, MINUS, NONZERO_DIGIT, UNSIGNED_DECIMAL, UNSIGNED_INTEGER, decimal_range, signed_integer_range,
    significant_at_most,
)
from .exponents import exponent_forms
from .multiples import fraction_multiples, integer_multiples


#: An integral value spelled with a zero fraction (`1.0`): one zero; see the module docstring.
_ZERO_FRACTION = ir.literal(".0")


def integer_node(*, minimum=None, maximum=None, exclusive_minimum=None, exclusive_maximum=None, multiple_of=None,
                 pointer="", zero_fraction=False) -> ir.Node:
    """JSON integers within the bounds and multiples of `multiple_of`, valid for both judges.

    Integer text `-?(0|[1-9][0-9]*)` (never `-0`), below 1e308 in magnitude
    (below 1e40 on a side with no bound; see the module docstring), and, with
    `zero_fraction`, the same values within 2**53 in magnitude spelled with a
    one-digit zero fraction (`1.0`, `-0.0`), which read as exactly that integer as
    floats too. From draft 6 on JSON Schema's integers are integral values
    and these are integers; drafts 3 and 4 say an integer has no fraction,
    so the caller decides by the schema's draft. Both readings of a float
    bound hold; `multipleOf` is exact (`multiples`).

    Returns `ir.NOTHING` for an empty range. Raises `UnsupportedSchemaError`
    for a bound at 1e308 or beyond that leaves none, or a `multipleOf` that
    is not a positive number with a decimal form; `SchemaTooLargeError` for
    one whose integer step needs too many states (`0.123456789`: the
    multiples of 123456789).
    """
    bounds, decimal_bounds = both_bounds((minimum, maximum, exclusive_minimum, exclusive_maximum), pointer)
    lo, hi = common_integer_range(bounds, decimal_bounds.finite())
    if multiple_of is None:
        integers = signed_integer_range(lo, hi)
    else:
        integers = integer_multiples(lo, hi, multiple_of, pointer)
    return _with_zero_fraction(integers) if zero_fraction else integers


def _with_zero_fraction(integers: ir.Node) -> ir.Node:
    """`integers` (integer text), and those within 2**53 in magnitude also
    spelled with a one-digit zero fraction: `7.0`, and `-0.0` for 0."""
    exact_floats = ir.intersect(integers, signed_integer_range(-EXACT_FLOAT_LIMIT, EXACT_FLOAT_LIMIT))
    negative_zero = ir.seq(MINUS, ir.intersect(integers, ir.literal("0")))
    return ir.alt(integers, ir.seq(ir.alt(exact_floats, negative_zero), _ZERO_FRACTION))


def number_node(
    *, minimum=None, maximum=None, exclusive_minimum=None, exclusive_maximum=None, multiple_of=None, pointer=""
) -> ir.Node:
    """JSON numbers in `json.dumps` form within the bounds and `multipleOf`, all finite floats.

    Unconstrained: `-?(0|[1-9][0-9]*)(\\.[0-9]+)?` below 10**40 in magnitude,
    and `-?[1-9](\\.[0-9]+)?[eE][+-]?[0-9]+` for exponents -307 to 308 (see the
    module docstring). Integer text is bounded exactly, fraction text both by the
    value `json.loads` rounds it to and by its exact value (so that the float
    judge and exact decimal arithmetic agree), and exponent forms are kept for
    the decades that lie wholly inside the bounds (`exponents.exponent_forms`).
    With `multipleOf` (exact decimal arithmetic): the integers of
    `integer_node`, fraction text with at most 15 significant digits
    (`multiples.fraction_multiples`), and no exponent forms (a sound
    restriction of the output form).

    Returns `ir.NOTHING` when no number qualifies. Raises `UnsupportedSchemaError`
    for a bound at 1e308 or beyond that leaves no plain number, and as
    `integer_node` does for `multipleOf`.
    """
    if (minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of) == (None,) * 5:
        return _any_number()
    args = (minimum, maximum, exclusive_minimum, exclusive_maximum)
    bounds, decimal_bounds = both_bounds(args, pointer)
    plain = decimal_bounds.finite()
    if bounds.empty or plain.empty:
        return ir.NOTHING
    rounded = rounded_bounds(bounds)
    exact = plain.decimal_range(ir.seq(UNSIGNED_INTEGER, FRACTION))
    if multiple_of is None:
        fractions = ir.NOTHING if rounded is None else decimal_range(*rounded, ir.seq(UNSIGNED_INTEGER, FRACTION))
        return ir.alt(signed_integer_range(*common_integer_range(bounds, plain)), ir.intersect(fractions, exact),
                      exponent_forms((bounds, decimal_bounds)))
    integers = integer_node(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                            exclusive_maximum=exclusive_maximum, multiple_of=multiple_of, pointer=pointer,
                            zero_fraction=True)
    fractions = ir.NOTHING if rounded is None else fraction_multiples(multiple_of, *rounded, pointer)
    return ir.alt(integers, ir.intersect(fractions, exact))


def integer_text(value) -> str:
    """`value` (an int or a finite float) as `json.dumps` writes it, except that an integral
    value within 2**53 in magnitude is written without a fraction (`2` for `2.0`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= EXACT_FLOAT_LIMIT:
        return str(int(value))
    return json.dumps(value)


def number_constant_node(value) -> ir.Node:
    """The texts written for one number of a `const` or `enum` (an int or a finite float).

    `json.dumps`'s text, and for an integral value within 2**53 in magnitude
    its integer text with or without a one-digit zero fraction (`-2`, `-2.0`
    for `-2.0`; `1`, `1.0` for `1`; `0`, `0.0`, `-0.0` for `0`): JSON Schema
    compares values, and these are exactly that value for both judges (one
    zero: `_ZERO_FRACTION`). Beyond 2**53 the text is `json.dumps`'s alone (`1e+20`): the
    output form's limits are kept.
    """
    text = ir.literal(json.dumps(value))
    if (isinstance(value, float) and not value.is_integer()) or abs(value) > EXACT_FLOAT_LIMIT:
        return text
    return ir.alt(text, _with_zero_fraction(ir.literal(str(int(value)))))


@lru_cache(maxsize=1)
def _any_number() -> ir.Node:
    """`number_node()`, built once: free-form values recur all over real schemas."""
    unbounded = Bounds(None, None, None, None, "")
    plain = unbounded.finite().decimal_range(UNSIGNED_DECIMAL)
    return ir.Automaton(build_dfa(ir.alt(plain, exponent_forms((unbounded,)))))


#: Numbers whose value must not be an integer are written as plain decimals
#: with at most `SAFE_SIGNIFICANT_DIGITS` significant digits and at most this
#: many fraction digits. A float keeps 15 significant decimal digits, so such
#: a decimal never rounds to an integer (`1.0000000000000000001` does, to
#: `1.0`), and it stays far above the smallest normal float (`1e-400` reads
#: as `0.0`).
SAFE_FRACTION_DIGITS = 40


def non_integral_node(canonical: bool = False) -> ir.Node:
    """Plain decimals that are not integers for the float judge and for exact
    arithmetic alike: a non-zero fraction digit, within the digit limits above.
    `canonical`: without trailing zeros, one text per value (see `canonical_number_node`)."""
    syntax = ir.seq(ir.optional(MINUS), UNSIGNED_INTEGER, ir.literal("."), ir.star(DIGIT), NONZERO_DIGIT,
                    ir.EPSILON if canonical else ir.star(DIGIT))
    short = ir.seq(ir.optional(MINUS), ir.star(DIGIT), ir.literal("."), ir.repeat(DIGIT, 1, SAFE_FRACTION_DIGITS))
    return ir.intersect(syntax, significant_at_most(SAFE_SIGNIFICANT_DIGITS), short)


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

    `multipleOf` is exact decimal arithmetic here too: the judges agree on
    it over the domain, whose non-integers keep to 15 significant digits.

    Raises `UnsupportedSchemaError` where the judges disagree on the domain:
    a float bound past 2**53 whose two readings leave different integers in
    range; and as `integer_node` does for `multipleOf`.
    """
    args = (minimum, maximum, exclusive_minimum, exclusive_maximum)
    bounds, decimal_bounds = both_bounds(args, pointer)
    if bounds.integer_range() != decimal_bounds.integer_range():
        raise UnsupportedSchemaError("oneOf", pointer, "a float bound that is a different number as a decimal, "
                                     "where branches may overlap")
    options = []
    if "integer" in kinds:
        options.append(integer_node(minimum=minimum, maximum=maximum, exclusive_minimum=exclusive_minimum,
                                    exclusive_maximum=exclusive_maximum, multiple_of=multiple_of, pointer=pointer))
    if "number" in kinds:
        b = decimal_bounds
        fractions = ir.seq(UNSIGNED_INTEGER, FRACTION)
        within = b.decimal_range(fractions) if multiple_of is None else \
            fraction_multiples(multiple_of, b.lo, b.lo_strict, b.hi, b.hi_strict, pointer)
        options.append(ir.intersect(non_integral_node(canonical=True), within))
    return ir.alt(*options)
