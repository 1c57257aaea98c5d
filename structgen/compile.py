"""Front doors of the compiler: a schema, a pattern or a grammar in, a `Constraint` out.

Every front door takes an optional `budget` (a `CompileBudget`: states,
seconds, estimated memory) and runs the whole compilation inside one
`metered` block, so every automaton loop underneath stops with
`CompileBudgetError` when a budget is spent.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from typing import Any

from .automata.budget import CompileBudget, metered
from .automata.dfa import AutomatonTooLargeError, build_dfa
from .automata.lazy import LazyDFA
from .constraint import CompileInfo, Constraint
from .errors import CompileBudgetError, UnsatisfiableSchemaError
from .grammar import Grammar

__all__ = ["CompileBudget", "MAX_STATES", "compile_grammar", "compile_json_schema", "compile_regex",
           "regex_automaton", "schema_as_dict", "schema_automaton", "schema_grammar"]

MAX_STATES = 1_000_000  # the default state budget (a module global: tests lower it)
ROOT_RULE = "$root"  # a name no JSON pointer and no GBNF rule can take


def schema_as_dict(schema: Any) -> dict | bool:
    """Accept a dict, a bool, JSON text (str or UTF-8 bytes), or a Pydantic model class.

    The schema loader's checks (`structgen.schema.document.load_schema`) run
    here, so every entry point refuses the same inputs the same way.

    Raises
    ------
    InvalidSchemaError
        Text that is not JSON, bytes that are not UTF-8, a value that is not an
        object or a boolean, or a lone surrogate (which no UTF-8 output can
        contain).
    NestingTooDeepError
        A document nested deeper than the loader's limit.
    """
    from .schema.document import load_schema

    return load_schema(schema)


def schema_automaton(schema: Any, *, whitespace: str = "compact", strict: bool = True,
                     max_any_depth: int = 3, budget: CompileBudget | None = None, registry=None):
    """The schema's DFA and its compilation record (ignored keywords, notes); no vocabulary needed.

    Where `uniqueItems` is checked at run time (`compile_json_schema`), the
    DFA is the over-approximation without it and a note in `result.notes`
    names the checked arrays.

    For a recursive schema the DFA is None and `result.rules` holds the
    grammar rules that the pushdown path compiles. `budget` and `registry`
    are as in `compile_json_schema`.
    """
    schema = schema_as_dict(schema)
    with _budget("schema", budget):
        result, checked = _schema_ir(schema, whitespace, strict, max_any_depth, registry)
        if checked is not None:
            from .checks.constraint import checked_note

            result.notes.append(checked_note(checked.paths))
        if result.rules:
            return None, result
        dfa = build_dfa(result.node)
    if dfa.is_empty:
        raise UnsatisfiableSchemaError("the schema admits no JSON value in structgen's output form")
    return dfa, result


def schema_grammar(result) -> Grammar:
    """The grammar of a recursive schema: its root value plus one rule per recursive `$ref` target."""
    return Grammar({ROOT_RULE: result.node, **result.rules}, ROOT_RULE)


def regex_automaton(pattern: str, *, budget: CompileBudget | None = None):
    """The DFA of strings that match `pattern` as a whole; `budget` as in `compile_regex`."""
    from .regex import regex_to_ir

    with _budget("pattern", budget):
        dfa = build_dfa(regex_to_ir(pattern))
    if dfa.is_empty:
        raise UnsatisfiableSchemaError(f"the pattern {pattern!r} matches no string")
    return dfa


def compile_json_schema(schema: Any, vocab, *, whitespace: str = "compact", strict: bool = True,
                        max_any_depth: int = 3, budget: CompileBudget | None = None,
                        registry=None) -> Constraint:
    """Compile a JSON Schema into a constraint over `vocab`.

    `whitespace="compact"` allows no whitespace (the output is what
    `json.dumps(..., separators=(",", ":"))` writes); `"flexible"` allows a
    bounded run of whitespace between tokens. With `strict=False`, unsupported
    keywords are ignored and listed in `constraint.info.ignored` instead of
    raising `UnsupportedSchemaError`. Free-form JSON (the empty schema, open
    `additionalProperties`) nests at most `max_any_depth` levels. A regular
    schema becomes one DFA, built lazily (`structgen.automata.lazy`: rows
    are made as decoding reaches them); a recursive one (`$ref` cycles) a pushdown
    constraint in which only the recursive rules use the stack.

    A `$ref` resolves as the spec says (`$id` scopes, anchors, relative and
    URN references) inside the schema document, and outside it only in
    `registry` (a `referencing.Registry` of further resources, e.g. shared
    definitions): structgen never fetches a schema from the network or the
    file system; a reference to anything else is an `UnsupportedSchemaError`.

    `budget` (a `CompileBudget`; None: 1,000,000 states, 20 seconds, 1 GiB
    estimated) bounds the compilation; going over it raises
    `CompileBudgetError` naming the budget. Bad schemas raise the named
    `StructgenError` subclasses (`InvalidSchemaError`,
    `UnsupportedSchemaError`, `UnsatisfiableSchemaError`, `NestingTooDeepError`).
    """
    t0 = time.perf_counter()
    if isinstance(max_any_depth, bool) or not isinstance(max_any_depth, int) or max_any_depth < 0:
        from .errors import InvalidArgumentError

        raise InvalidArgumentError("max_any_depth", f"must be a non-negative integer, not {max_any_depth!r}")
    schema = schema_as_dict(schema)
    budget = _default(budget)
    empty = UnsatisfiableSchemaError("the schema admits no JSON value in structgen's output form")
    with _budget("schema", budget):  # one clock for the schema and, if recursive, its grammar
        result, checked = _schema_ir(schema, whitespace, strict, max_any_depth, registry)
        if result.rules:
            from .grammar.constraint import compile_grammar_ir

            constraint = compile_grammar_ir(schema_grammar(result), vocab, empty_language=empty)
        else:
            automaton = LazyDFA.build(result.node)
            if automaton.is_empty:
                raise empty
            constraint = Constraint(automaton, vocab, source=schema)
    constraint.info = CompileInfo(time.perf_counter() - t0, constraint.info.n_states, tuple(result.ignored),
                                  tuple(result.notes), result.keywords)
    constraint.source = schema
    if checked is not None:
        from .checks import CheckedConstraint

        constraint = CheckedConstraint(constraint, checked.paths, checked.checked)
        start = constraint.start()
        if not constraint.is_accepting(start) and not constraint.can_continue(start):
            raise empty  # e.g. a root array that needs more distinct items than its items can be
    return constraint


def _mentions_unique(node) -> bool:
    """Does some object in the document hold ``"uniqueItems": true`` (a cheap test before the analysis)?"""
    todo = [node]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if node.get("uniqueItems") is True:
                return True
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return False


def _schema_ir(schema, whitespace: str, strict: bool, max_any_depth: int, registry):
    """The schema's IR, and the arrays whose distinct items are checked at run time (`UniqueArrays`, or None).

    `uniqueItems` over more than one item is no regular language: where
    `structgen.schema.unique` names the arrays it applies to, the compiler
    defers `uniqueItems` (the automaton then ignores it) and a
    `CheckedConstraint` enforces it; a `uniqueItems` the compiler defers at a
    schema the analysis did not reach is refused (`strict`) or ignored, with
    the compiler's own reason. Every other keyword is as `strict` says.

    Raises
    ------
    UnsupportedSchemaError
        From the analysis (a `uniqueItems` no path names) or the compiler.
    """
    from .errors import UnsupportedSchemaError
    from .schema import compile_schema_ir
    from .schema.enforcement import keyword_report

    found = None
    if _mentions_unique(schema) or (registry is not None and any(
            _mentions_unique(registry.contents(uri)) for uri in registry)):
        from .schema.unique import unique_paths

        try:
            found = unique_paths(schema, registry)
        except UnsupportedSchemaError:
            if strict:
                raise
            # lenient: the compiler lists every uniqueItems as ignored
    if found is None or not found.paths:
        return compile_schema_ir(schema, whitespace=whitespace, strict=strict, max_any_depth=max_any_depth,
                                 registry=registry), None
    result = compile_schema_ir(schema, whitespace=whitespace, strict=strict, max_any_depth=max_any_depth,
                               registry=registry, deferred=frozenset({"uniqueItems"}))
    for keyword, pointer, reason in result.deferred:
        if pointer in found.reached:
            continue
        if strict:
            raise UnsupportedSchemaError(keyword, pointer, reason)
        result.ignored.append((keyword, pointer))
    result.keywords = keyword_report(schema, result.ignored, found.checked)
    return result, found


def compile_grammar(grammar: "str | Grammar", vocab, *, start: str = "root", max_depth: int | None = None,
                    budget: CompileBudget | None = None):
    """Compile a context-free grammar (GBNF text, as llama.cpp reads it, or a `Grammar`) against `vocab`.

    `start` names the start rule of GBNF text. `max_depth` bounds how many
    rule calls may be open at once (None: unbounded nesting). Syntax errors
    raise `GrammarSyntaxError` (line, column); undefined, unreachable or
    left-recursive rules, and a start rule that matches no string, raise
    `GrammarError` naming them; parentheses or rule chains nested too deeply
    raise `NestingTooDeepError`; `budget` is as in `compile_json_schema`
    (`CompileBudgetError`).
    """
    from .grammar.constraint import compile_grammar_ir
    from .grammar.gbnf import parse_gbnf

    t0 = time.perf_counter()
    with _budget("grammar", budget):
        parsed = parse_gbnf(grammar, start=start) if isinstance(grammar, str) else grammar
        constraint = compile_grammar_ir(parsed, vocab, max_depth=max_depth, source=grammar)
    constraint.info = CompileInfo(time.perf_counter() - t0, constraint.info.n_states, (), constraint.info.notes)
    return constraint


def compile_regex(pattern: str, vocab, *, budget: CompileBudget | None = None) -> Constraint:
    """Compile a regular expression (ECMA-262 subset); the output must match it as a whole.

    `budget` is as in `compile_json_schema` (`CompileBudgetError`).
    """
    from .regex import regex_to_ir

    t0 = time.perf_counter()
    with _budget("pattern", budget):
        automaton = LazyDFA.build(regex_to_ir(pattern))
        if automaton.is_empty:
            raise UnsatisfiableSchemaError(f"the pattern {pattern!r} matches no string")
    return Constraint(automaton, vocab, CompileInfo(time.perf_counter() - t0, automaton.n_states), source=pattern)


def _default(budget: CompileBudget | None) -> CompileBudget:
    """The budget to use: the caller's, or the defaults with the module's (patchable) `MAX_STATES`."""
    if budget is not None:
        if not isinstance(budget, CompileBudget):
            from .errors import InvalidArgumentError

            raise InvalidArgumentError("budget", f"expected a CompileBudget, got {type(budget).__name__}")
        return budget
    return dataclasses.replace(CompileBudget(), max_states=MAX_STATES)


@contextmanager
def _budget(what: str, budget: CompileBudget | None):
    """Run the block under `budget` and turn the automaton builder's state overrun into the named error.
    The numba kernels are made ready first, outside the budget (`structgen.warmup`)."""
    from .warmup import ensure

    ensure()
    budget = _default(budget)
    try:
        with metered(budget, what):
            yield
    except AutomatonTooLargeError as e:
        raise CompileBudgetError(what, "states", budget.max_states,
                                 f"{e}; raise it with CompileBudget(max_states=...)") from None
