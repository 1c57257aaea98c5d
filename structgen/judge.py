"""The judge: `jsonschema` with ECMA-262 regular expressions.

A *valid instance* is one that the `jsonschema` validator for the schema's
declared draft (default 2020-12, format checking on) accepts. JSON Schema says
its regular expressions are ECMA-262's, but `jsonschema` matches them with
Python's `re`, which differs where it matters (`\\W` rejects `é`, `\\d`
accepts `٣`, `\\s` misses U+FEFF, `\\p{L}` does not compile). The compiler
follows ECMA-262, so a judge with Python's dialect would contradict it. This
judge therefore matches every regex that `jsonschema` evaluates -- `pattern`,
`patternProperties`, the names `additionalProperties` and
`unevaluatedProperties` leave out, and the `regex` format (`u` reading only,
as the JSON Schema Test Suite has it) -- with `regress`, an ECMA-262 engine.

`multipleOf` is JSON Schema's, in exact decimal arithmetic: a number is a
multiple when value / step is an integer, with a float read at its
shortest decimal (`repr`, the text `json.dumps` writes: `19.99` is nineteen
and 99 hundredths) and the step likewise. `jsonschema` divides floats
instead (19.99 / 0.01 is 1998.9999999999998, so it calls `19.99` invalid
under `multipleOf: 0.01`), and the engine follows the spec; a judge with
float division would count the engine's (and every spec-following
engine's) correct output as wrong. `validator_for(schema,
multiple_of="float")` is `jsonschema`'s own reading, for counting where the
two disagree (the harness notes it on each output).

The dialect: a pattern is read with the `u` flag (code points, `\\u{...}`,
`\\p{...}`; JSON Schema's own test suite assumes it), and, when that reading
is a syntax error, without it (the Annex B web-compatibility grammar, where
`a{`, `]` and `[\\w-.]` are literals). This is the dialect the regex front end
(`structgen.regex`) implements; where the two readings would disagree it
refuses the pattern. Text is matched code point by code point.

API (small and stable; tests, the harness and the fuzzers use it)::

    validator_for(schema)    # a jsonschema validator: .is_valid(v), .iter_errors(v)
    validator_for(schema, multiple_of="float")  # the same with jsonschema's float multipleOf
    exact_multiple_of        # the exact `multipleOf` keyword, for validators.extend
    ecma_regex(pattern)      # the compiled regress.Regex (cached)
    ecma_search(pattern, s)  # JSON Schema `pattern` semantics: s contains a match
    ecma_fullmatch(pattern, s)

All raise `JudgeRegexError` (a `StructgenError`) for a pattern that neither
reading compiles, a pattern or text with a lone surrogate, which UTF-8
(and therefore the engine's output) cannot hold, or a match that runs out of
memory or time (patterns that can backtrack catastrophically are matched in
a child process: `structgen.regex_sandbox`).
"""

from __future__ import annotations

import contextvars
import math
import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import jsonschema
import jsonschema._legacy_keywords
import jsonschema._utils
import regress

from .errors import InvalidArgumentError, StructgenError
from .regex_sandbox import SandboxError, may_backtrack, sandboxed_find


class JudgeRegexError(StructgenError):
    """The judge cannot decide a regular expression: the pattern is not
    ECMA-262 (`regress` rejects it in both readings) or the pattern or the
    text holds a lone surrogate. `pattern` is the pattern, `reason` why."""

    def __init__(self, pattern: str, reason: str):
        self.pattern = pattern
        self.reason = reason
        super().__init__(f"the ECMA-262 judge cannot use pattern {pattern!r}: {reason}")


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> tuple[regress.Regex, str | None] | JudgeRegexError:
    """The compiled pattern and the flags it was read with ("u", or None: Annex B), or the error."""
    if _has_lone_surrogate(pattern):
        return JudgeRegexError(pattern, "it holds a lone surrogate")
    try:
        return regress.Regex(pattern, "u"), "u"
    except regress.RegressError as unicode_error:
        try:
            return regress.Regex(pattern), None
        except regress.RegressError:
            return JudgeRegexError(pattern, f"not an ECMA-262 regular expression ({unicode_error})")


def _compiled(pattern: str) -> tuple[regress.Regex, str | None]:
    compiled = _compile(pattern)
    if isinstance(compiled, JudgeRegexError):
        raise compiled
    return compiled


def ecma_regex(pattern: str) -> regress.Regex:
    """The compiled ECMA-262 regex for `pattern` (cached).

    Parameters
    ----------
    pattern : str
        An ECMA-262 pattern, without delimiters or flags.

    Returns
    -------
    regress.Regex
        Read with the `u` flag, or without it when that reading does not compile.

    Raises
    ------
    JudgeRegexError
        When neither reading compiles, or `pattern` holds a lone surrogate.
    """
    return _compiled(pattern)[0]


def ecma_search(pattern: str, text: str) -> bool:
    """Whether `text` contains a match of `pattern` (JSON Schema's `pattern`).

    Raises
    ------
    JudgeRegexError
        See `ecma_regex`; also when `text` holds a lone surrogate.
    """
    compiled, flags = _compiled(pattern)
    if _has_lone_surrogate(text):
        raise JudgeRegexError(pattern, f"the text {text!r} holds a lone surrogate")
    if may_backtrack(pattern):  # regress may need exponential memory: match where a blow-up cannot kill us
        try:
            return sandboxed_find(pattern, flags, text)
        except SandboxError as e:
            raise JudgeRegexError(pattern, f"{e} on {text[:40]!r}") from None
    return compiled.find(text) is not None


def ecma_fullmatch(pattern: str, text: str) -> bool:
    """Whether `pattern` matches all of `text` (`^(?:pattern)$`).

    Raises
    ------
    JudgeRegexError
        See `ecma_search`.
    """
    ecma_regex(pattern)  # the error names the pattern as written
    return ecma_search(f"^(?:{pattern})$", text)


def _has_lone_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


# --------------------------------------------------------------------------- the validator


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for name, value in instance.items():
            if ecma_search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = [
        name for name in instance
        if name not in declared and not any(ecma_search(p, name) for p in patterns)
    ]
    if validator.is_type(additional, "object"):
        for name in extras:
            yield from validator.descend(instance[name], additional, path=name)
    elif not additional and extras:
        listed = ", ".join(repr(name) for name in sorted(extras))
        yield jsonschema.ValidationError(f"Additional properties are not allowed ({listed} unexpected)")


_ECMA = contextvars.ContextVar("structgen_judge_ecma", default=False)


class _SwitchedRe:
    """`re` for jsonschema's helpers that find the names `patternProperties`
    evaluates (for `unevaluatedProperties`): ECMA-262 inside this judge,
    Python's `re` for every other validator in the process.

    Those helpers are not keywords that `extend` can replace, and copying
    them would fork jsonschema; the switch keeps one copy of the logic.
    """

    def __getattr__(self, name):
        return getattr(re, name)

    @staticmethod
    def search(pattern, string, flags=0):
        if _ECMA.get():
            return ecma_search(pattern, string) or None
        return re.search(pattern, string, flags)


for _module in (jsonschema._utils, jsonschema._legacy_keywords):
    if _module.re is re:
        _module.re = _SwitchedRe()


def _in_ecma(keyword):
    """`keyword` run with the switch on (errors collected eagerly, so the
    switch never stays on across a suspended generator)."""

    def run(validator, value, instance, schema):
        token = _ECMA.set(True)
        try:
            errors = list(keyword(validator, value, instance, schema))
        finally:
            _ECMA.reset(token)
        yield from errors

    return run


def _regex_format(instance) -> bool:
    """The `regex` format: an ECMA-262 pattern in the `u` reading only, as the
    JSON Schema Test Suite has it (`\\a` is not a regex); `pattern` values
    are read more leniently (see the module docstring)."""
    return not isinstance(instance, str) or _is_unicode_regex(instance)


@lru_cache(maxsize=1024)
def _is_unicode_regex(instance: str) -> bool:
    if _has_lone_surrogate(instance):
        raise JudgeRegexError(instance, "it holds a lone surrogate")
    try:
        regress.Regex(instance, "u")
    except regress.RegressError:
        return False
    return True


def _decimal_value(number) -> Fraction | None:
    """A JSON number's decimal value: a float at its shortest decimal (`repr`),
    an int, `Decimal` or `Fraction` exactly; None for a float that is not finite."""
    if isinstance(number, float):
        return Fraction(Decimal(repr(number))) if math.isfinite(number) else None
    return Fraction(number)


def exact_multiple_of(validator, step, instance, schema):
    """`multipleOf` as JSON Schema defines it: `instance / step` is an integer,
    computed exactly on the decimal values (see the module docstring). A
    number that is not finite (`NaN`, which `json.loads` reads) is no multiple."""
    if not validator.is_type(instance, "number"):
        return
    value, divisor = _decimal_value(instance), _decimal_value(step)
    if value is None or divisor is None or divisor <= 0 or (value / divisor).denominator != 1:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {step!r}")


@lru_cache(maxsize=None)
def _judge_class(cls: type, exact: bool = True) -> tuple[type, jsonschema.FormatChecker]:
    keywords = {"pattern": _pattern, "patternProperties": _pattern_properties,
                "additionalProperties": _additional_properties}
    if exact and "multipleOf" in cls.VALIDATORS:
        keywords["multipleOf"] = exact_multiple_of
    if "unevaluatedProperties" in cls.VALIDATORS:
        keywords["unevaluatedProperties"] = _in_ecma(cls.VALIDATORS["unevaluatedProperties"])
    judge = jsonschema.validators.extend(cls, keywords)
    formats = jsonschema.FormatChecker(())
    formats.checkers = dict(cls.FORMAT_CHECKER.checkers, regex=(_regex_format, ()))
    return judge, formats


def validator_for(schema: Any, multiple_of: str = "exact"):
    """The judge for `schema`: a `jsonschema` validator with ECMA-262 regexes
    and exact decimal `multipleOf`.

    Parameters
    ----------
    schema : dict or bool
        A JSON Schema; `$schema` picks the draft, 2020-12 by default.
    multiple_of : {"exact", "float"}
        "exact": `multipleOf` in exact decimal arithmetic (`exact_multiple_of`,
        JSON Schema's definition); "float": `jsonschema`'s float division.

    Returns
    -------
    jsonschema.protocols.Validator
        The draft's validator class, extended so that every regex is matched
        by `regress`, with format checking on. Use `.is_valid(instance)` or
        `.iter_errors(instance)`.

    Raises
    ------
    InvalidArgumentError
        For a `multiple_of` other than "exact" and "float".
    JudgeRegexError
        Later, from `is_valid`/`iter_errors`, when the instance meets a pattern
        the judge cannot compile or a string with a lone surrogate.
    """
    if multiple_of not in ("exact", "float"):
        raise InvalidArgumentError("multiple_of", f"must be 'exact' or 'float', not {multiple_of!r}")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    judge, formats = _judge_class(cls, multiple_of == "exact")
    return judge(schema, format_checker=formats)


__all__ = ["JudgeRegexError", "ecma_fullmatch", "ecma_regex", "ecma_search", "exact_multiple_of", "validator_for"]
