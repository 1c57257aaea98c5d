"""`multipleOf`: divisibility automata for integer and fraction text, and what the float judge checks exactly.

An integer `multipleOf` is checked with exact `%`, a float one with float
division; `_float_step` says for which values that division is exact, and
the languages here keep to those. Apart from `numbers` because divisibility
is its own automaton construction, independent of bounds.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np

from ..automata import ir
from ..automata.dfa import DFA
from ..errors import SchemaTooLargeError, UnsupportedSchemaError
from .bounds import EXACT_FLOAT_LIMIT, exact_value
from .digits import DIGIT, FRACTION, MINUS, NONZERO_DIGIT, UNSIGNED_INTEGER, decimal_range, unsigned_integer_range

# Largest modulus (times the number of fraction digits tracked) we build a
# divisibility automaton for.
_MAX_DIVISIBILITY_STATES = 20_000


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


def integer_step(multiple_of, pointer: str) -> tuple[int, int | None]:
    """The integer step of the multiples of `multiple_of`, and the magnitude up
    to which the judge's check of them is exact (None: always exact)."""
    value = exact_value(multiple_of, "multipleOf", pointer)
    if value is None or value <= 0:
        raise UnsupportedSchemaError("multipleOf", pointer, f"{multiple_of!r} is not a positive number")
    if not isinstance(multiple_of, float):
        if value.denominator != 1:
            raise UnsupportedSchemaError("multipleOf", pointer, "only int and float multipleOf values are supported")
        return int(value), None
    decimal_value, _ = _float_step(multiple_of, pointer)
    m, d = _scale(decimal_value)
    step = m // math.gcd(m, 10**d)
    return step, int(min(Fraction(EXACT_FLOAT_LIMIT), EXACT_FLOAT_LIMIT * decimal_value))


def integer_multiples(lo: int | None, hi: int | None, step: int, pointer: str) -> ir.Node:
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


def fraction_multiples(multiple_of, lo, lo_strict, hi, hi_strict, pointer) -> ir.Node:
    """Fraction text that the judge accepts as a multiple: exact multiples
    that are exact floats, so that float division and `%` are exact too.

    For a float `multipleOf` that is not a dyadic rational only integral
    values (`10.0`) qualify, as for integers (see `_float_step`).
    """
    if isinstance(multiple_of, float):
        decimal_value, power_of_two = _float_step(multiple_of, pointer)
        if Fraction(multiple_of) != decimal_value:
            step, cap = integer_step(multiple_of, pointer)
            decimal_value, cap = Fraction(step), Fraction(cap)
        else:
            cap = Fraction(EXACT_FLOAT_LIMIT, power_of_two)
    else:
        decimal_value, cap = Fraction(multiple_of), Fraction(EXACT_FLOAT_LIMIT)
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
    return decimal_range(lo, lo_strict, hi, hi_strict, multiples)
