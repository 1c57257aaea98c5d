"""The fuzzers' judge: the project's judge (`structgen.judge`) on the float value and on the exact value.

Why two values: a model writes number *text*; `json.loads` rounds it to a
float, so `9007199254740993.5` becomes an integer and `1.0000000000000000001`
becomes `1.0`. An accepted text must be valid both as the float a user's
`json.loads` sees and as the exact decimal it spells (parsed here into
`fractions.Fraction`, with the schema's numbers read the same way). Both
use `structgen.judge`: `jsonschema` with ECMA-262 patterns (via `regress`).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import jsonschema

from structgen.judge import JudgeRegexError, validator_for


class NotJSON(ValueError):
    """Text that is not one JSON document (bad UTF-8, NaN, Infinity, syntax)."""


def _refuse_constant(name: str):
    raise NotJSON(f"{name} is not JSON")


MAX_EXACT_EXPONENT = 4000


class TooLarge(ValueError):
    """A number whose exact value would need more than `MAX_EXACT_EXPONENT` digits (judged as a float only)."""


def _fraction(s: str) -> Fraction:
    try:
        d = Decimal(s)
    except InvalidOperation:  # an exponent beyond Decimal's own limits
        raise TooLarge(s[:40]) from None
    if abs(d.adjusted()) > MAX_EXACT_EXPONENT:
        raise TooLarge(s[:40])
    return Fraction(d)


def parse(text: bytes, exact: bool = False):
    """The JSON value of `text` (duplicate keys: the last wins, as `json.loads` does).

    With `exact`, numbers with a fraction or exponent become `Fraction`s.

    Raises
    ------
    NotJSON
        When `text` is not UTF-8 or not one JSON document (NaN and Infinity included).
    TooLarge
        With `exact`, for a number with an exponent beyond `MAX_EXACT_EXPONENT`; always, for an
        integer with more digits than Python converts.
    """
    try:
        s = text.decode("utf-8")
        if exact:
            return json.loads(s, parse_float=_fraction, parse_constant=_refuse_constant)
        return json.loads(s, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise NotJSON(str(e)) from None
    except NotJSON:
        raise
    except ValueError as e:  # an integer past Python's 4300-digit conversion limit: JSON, but not judgeable
        raise TooLarge(str(e)[:60]) from None


def _is_integer(checker, instance) -> bool:
    if isinstance(instance, Fraction):
        return instance.denominator == 1
    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer")


def _exact_schema(schema):
    """The schema with every float replaced by the exact decimal its shortest repr spells."""
    if isinstance(schema, float):
        return Fraction(repr(schema)) if math.isfinite(schema) else schema
    if isinstance(schema, dict):
        return {k: _exact_schema(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_exact_schema(v) for v in schema]
    return schema


class Judge:
    """Validity of one schema's instances, on the float value and on the exact value."""

    def __init__(self, schema):
        """Raises `jsonschema.SchemaError` for a schema its own draft's metaschema rejects (a boolean
        where draft 4 wants a schema: `jsonschema` crashes on such a schema's instances)."""
        self._float = validator_for(schema)
        cls = type(self._float)
        cls.check_schema(schema, format_checker=None)  # (formats unchecked: `pattern`s are ECMA-262, not `re`)
        exact = jsonschema.validators.extend(cls, type_checker=cls.TYPE_CHECKER.redefine("integer", _is_integer))
        self._exact = exact(_exact_schema(schema), format_checker=self._float.format_checker)

    def is_valid(self, value) -> bool:
        """Judge an already-parsed (float) value."""
        return self._float.is_valid(value)

    def verdict(self, text: bytes) -> str | None:
        """None when `text` is a valid instance both ways, else why not (one line)."""
        try:
            return self._verdict(text)
        except JudgeRegexError as e:  # a lone surrogate escaped in the text: no Unicode string holds it
            return f"judge cannot decide: {e}"

    def _verdict(self, text: bytes) -> str | None:
        try:
            value = parse(text)
        except NotJSON as e:
            return f"not JSON: {e}"
        except TooLarge:
            return None  # beyond what the judge can read: not counted either way
        error = jsonschema.exceptions.best_match(self._float.iter_errors(value))
        if error is not None:
            return f"judge (float value): {error.message}"
        try:
            exact = parse(text, exact=True)
        except TooLarge:
            return None  # the float judge has spoken; the exact value is out of reach
        error = jsonschema.exceptions.best_match(self._exact.iter_errors(exact))
        if error is not None:
            return f"judge (exact value): {error.message}"
        return None
