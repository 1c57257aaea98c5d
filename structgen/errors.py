"""Named errors. Every refusal says what was refused and where."""

from __future__ import annotations


class StructgenError(Exception):
    """Base class of structgen's errors."""


class UnsupportedSchemaError(StructgenError):
    """A JSON Schema keyword or construct that structgen cannot enforce.

    `keyword` names it and `pointer` is the JSON pointer (RFC 6901) of the
    schema object where it stands, e.g. ``/properties/tags/items``.
    """

    def __init__(self, keyword: str, pointer: str, reason: str = ""):
        self.keyword = keyword
        self.pointer = pointer or ""
        self.reason = reason
        where = pointer or "/"
        super().__init__(f"unsupported {keyword!r} at {where}" + (f": {reason}" if reason else ""))


class InvalidSchemaError(StructgenError):
    """The input is not a valid JSON Schema (or not JSON at all)."""

    def __init__(self, message: str, pointer: str = ""):
        self.pointer = pointer
        super().__init__(f"{message} at {pointer or '/'}" if pointer else message)


class UnsatisfiableSchemaError(StructgenError):
    """The schema admits no instance at all, so nothing can be generated."""


class SchemaTooLargeError(UnsupportedSchemaError):
    """Compiling would exceed the automaton state budget."""


class UnsupportedRegexError(StructgenError):
    """A regular-expression construct outside the supported ECMA-262 subset
    (backreferences, lookaround, ...). `construct` names it, `position` is
    the character offset in the pattern."""

    def __init__(self, construct: str, pattern: str, position: int):
        self.construct = construct
        self.pattern = pattern
        self.position = position
        super().__init__(f"unsupported regex construct {construct} at offset {position} in {pattern!r}")


class RegexSyntaxError(StructgenError):
    """The pattern is not a valid regular expression."""

    def __init__(self, message: str, pattern: str, position: int):
        self.pattern = pattern
        self.position = position
        super().__init__(f"{message} at offset {position} in {pattern!r}")


class GrammarSyntaxError(StructgenError):
    """A grammar file that does not parse; `line` and `column` are 1-based."""

    def __init__(self, message: str, line: int, column: int):
        self.line = line
        self.column = column
        super().__init__(f"{message} at line {line}, column {column}")


class GrammarError(StructgenError):
    """A grammar that parses but cannot be compiled: undefined or unreachable
    rules, left recursion that cannot be removed, ... `rules` names them."""

    def __init__(self, message: str, rules: tuple[str, ...] = ()):
        self.rules = tuple(rules)
        super().__init__(message)


class CompileBudgetError(SchemaTooLargeError):
    """Compiling would exceed one of the compiler's budgets.

    `budget` names it (``"states"``, ``"seconds"``, ``"memory"``, ...),
    `limit` is its value; the message says how to raise it. A subclass of
    `SchemaTooLargeError`, so code that caught the state budget's error
    catches every budget.
    """

    def __init__(self, what: str, budget: str, limit, hint: str = ""):
        self.budget = budget
        self.limit = limit
        reason = f"exceeds the {budget} budget ({limit})" + (f"; {hint}" if hint else "")
        super().__init__(what, "", reason)
        Exception.__init__(self, f"compiling the {what} {reason}")  # not "unsupported ...": nothing is


class NestingTooDeepError(StructgenError):
    """The input nests deeper than structgen handles (schemas, JSON text,
    regex groups, grammar expressions); `limit` is the named limit and
    `where` says what nested too deeply."""

    def __init__(self, where: str, limit: int):
        self.where = where
        self.limit = limit
        super().__init__(f"{where} nests deeper than the limit of {limit} levels")


class InvalidArgumentError(StructgenError, ValueError):
    """An argument out of its domain (a temperature that is NaN, zero
    particles, ...); `name` is the argument's name."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}")


class ModelLoadError(StructgenError):
    """A language model that cannot be loaded from the given path."""
