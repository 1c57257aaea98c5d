"""Front doors of the compiler: a schema, a pattern or a grammar in, a `Constraint` out."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Any

from .automata.dfa import AutomatonTooLargeError, build_dfa
from .constraint import CompileInfo, Constraint
from .errors import InvalidSchemaError, SchemaTooLargeError, UnsatisfiableSchemaError
from .grammar import Grammar

MAX_STATES = 200_000
ROOT_RULE = "$root"  # a name no JSON pointer and no GBNF rule can take


def schema_as_dict(schema: Any) -> dict | bool:
    """Accept a dict, a bool, JSON text, or a Pydantic model class."""
    if isinstance(schema, (dict, bool)):
        return schema
    if isinstance(schema, (str, bytes)):
        try:
            return json.loads(schema)
        except json.JSONDecodeError as e:
            raise InvalidSchemaError(f"schema is not valid JSON: {e}") from None
    to_schema = getattr(schema, "model_json_schema", None)
    if callable(to_schema):
        return to_schema()
    raise InvalidSchemaError(f"expected a JSON Schema (dict, JSON text or Pydantic model), got {type(schema).__name__}")


def schema_automaton(schema: Any, *, whitespace: str = "compact", strict: bool = True,
                     max_any_depth: int = 3):
    """The schema's DFA and its compilation record (ignored keywords, notes); no vocabulary needed.

    For a recursive schema the DFA is None and `result.rules` holds the
    grammar rules that the pushdown path compiles.
    """
    from .schema import compile_schema_ir

    schema = schema_as_dict(schema)
    with _state_budget("schema"):
        result = compile_schema_ir(schema, whitespace=whitespace, strict=strict, max_any_depth=max_any_depth)
        if result.rules:
            return None, result
        dfa = build_dfa(result.node, max_states=MAX_STATES)
    if dfa.is_empty:
        raise UnsatisfiableSchemaError("the schema admits no JSON value in structgen's output form")
    return dfa, result


def schema_grammar(result) -> Grammar:
    """The grammar of a recursive schema: its root value plus one rule per recursive `$ref` target."""
    return Grammar({ROOT_RULE: result.node, **result.rules}, ROOT_RULE)


def regex_automaton(pattern: str):
    """The DFA of strings that match `pattern` as a whole."""
    from .regex import regex_to_ir

    with _state_budget("pattern"):
        dfa = build_dfa(regex_to_ir(pattern), max_states=MAX_STATES)
    if dfa.is_empty:
        raise UnsatisfiableSchemaError(f"the pattern {pattern!r} matches no string")
    return dfa


def compile_json_schema(schema: Any, vocab, *, whitespace: str = "compact", strict: bool = True,
                        max_any_depth: int = 3) -> Constraint:
    """Compile a JSON Schema into a constraint over `vocab`.

    `whitespace="compact"` allows no whitespace (the output is what
    `json.dumps(..., separators=(",", ":"))` writes); `"flexible"` allows a
    bounded run of whitespace between tokens. With `strict=False`, unsupported
    keywords are ignored and listed in `constraint.info.ignored` instead of
    raising `UnsupportedSchemaError`. Free-form JSON (the empty schema, open
    `additionalProperties`) nests at most `max_any_depth` levels. A regular
    schema becomes one DFA; a recursive one (`$ref` cycles) a pushdown
    constraint in which only the recursive rules use the stack.
    """
    t0 = time.perf_counter()
    schema = schema_as_dict(schema)
    dfa, result = schema_automaton(schema, whitespace=whitespace, strict=strict, max_any_depth=max_any_depth)
    if dfa is None:
        from .grammar.constraint import compile_grammar_ir

        with _state_budget("schema"):
            constraint = compile_grammar_ir(schema_grammar(result), vocab)
        constraint.info = CompileInfo(time.perf_counter() - t0, constraint.info.n_states, tuple(result.ignored),
                                      tuple(result.notes))
        constraint.source = schema
        return constraint
    info = CompileInfo(time.perf_counter() - t0, dfa.n_states, tuple(result.ignored), tuple(result.notes))
    return Constraint(dfa, vocab, info, source=schema)


def compile_grammar(grammar: "str | Grammar", vocab, *, start: str = "root", max_depth: int | None = None):
    """Compile a context-free grammar (GBNF text, as llama.cpp reads it, or a `Grammar`) against `vocab`.

    `start` names the start rule of GBNF text. `max_depth` bounds how many
    rule calls may be open at once (None: unbounded nesting). Syntax errors
    raise `GrammarSyntaxError` (line, column); undefined, unreachable or
    left-recursive rules raise `GrammarError` naming them.
    """
    from .grammar.constraint import compile_grammar_ir
    from .grammar.gbnf import parse_gbnf

    t0 = time.perf_counter()
    parsed = parse_gbnf(grammar, start=start) if isinstance(grammar, str) else grammar
    with _state_budget("grammar"):
        constraint = compile_grammar_ir(parsed, vocab, max_depth=max_depth, source=grammar)
    constraint.info = CompileInfo(time.perf_counter() - t0, constraint.info.n_states, (), constraint.info.notes)
    return constraint


def compile_regex(pattern: str, vocab) -> Constraint:
    """Compile a regular expression (ECMA-262 subset); the output must match it as a whole."""
    t0 = time.perf_counter()
    dfa = regex_automaton(pattern)
    return Constraint(dfa, vocab, CompileInfo(time.perf_counter() - t0, dfa.n_states), source=pattern)


@contextmanager
def _state_budget(what: str):
    """Turn the automaton builder's budget overrun into the named, user-facing error."""
    try:
        yield
    except AutomatonTooLargeError as e:
        raise SchemaTooLargeError(what, "", str(e)) from None
