"""Compile budgets (states, seconds, estimated memory) and nesting limits: each fires with its named error.

Budgets here are tiny so the tests stay fast; nothing is timed. The judge for
the grammars that must still compile is Python's `re` (full match).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import structgen
from structgen.automata import ir
from structgen.automata.budget import CompileBudget, metered
from structgen.automata.dfa import build_dfa
from structgen.compile import compile_grammar, compile_regex, regex_automaton, schema_as_dict, schema_automaton
from structgen.errors import (CompileBudgetError, GrammarError, InvalidArgumentError, InvalidSchemaError,
                              NestingTooDeepError)
from structgen.grammar.gbnf import MAX_NESTING, parse_gbnf
from structgen.grammar.grammar import MAX_IR_DEPTH
from structgen.judge import validator_for
from structgen.vocab import Vocabulary

GRAMMARS = sorted((Path(__file__).parent.parent / "grammars").glob("*.gbnf"))
BYTES = Vocabulary([bytes([b]) for b in range(256)] + [b""], eos_token_ids=[256])


def _raises_budget(budget: str, what: str, call):
    with pytest.raises(CompileBudgetError) as err:
        call()
    assert err.value.budget == budget
    message = str(err.value)
    assert f"{budget} budget" in message and f"max_{budget}=" in message and what in message
    return err.value


# ------------------------------------------------------------------ each budget fires


def test_state_budget_names_states_and_the_keyword():
    error = _raises_budget("states", "pattern", lambda: regex_automaton("[a-z]{0,300}x", budget=CompileBudget(
        max_states=100)))
    assert error.limit == 100
    assert isinstance(error, structgen.SchemaTooLargeError)


def test_memory_budget_fires_in_the_subset_construction():
    # Searching for 400 non-'a' characters keeps hundreds of NFA states per DFA subset.
    _raises_budget("memory", "schema", lambda: schema_automaton(
        {"type": "string", "pattern": "[^a]{400}"}, budget=CompileBudget(max_memory=1_000_000)))


def test_memory_budget_fires_while_unrolling_a_repetition():
    node = ir.repeat(ir.seq(ir.literal("ab"), ir.optional(ir.literal("c"))), 50_000, 50_000)
    with metered(CompileBudget(max_memory=200_000), "pattern"), pytest.raises(CompileBudgetError) as err:
        build_dfa(node)
    assert err.value.budget == "memory"


def test_seconds_budget_fires():
    _raises_budget("seconds", "pattern", lambda: compile_regex(
        "(ab|cd)" * 2_000, BYTES, budget=CompileBudget(max_seconds=1e-9)))


def test_seconds_budget_fires_for_a_grammar():
    text = "root ::= r0\n" + "".join(f"r{i} ::= \"{i}\" r{i + 1} | \"x\"\n" for i in range(2000)) + "r2000 ::= \"e\"\n"
    _raises_budget("seconds", "grammar", lambda: compile_grammar(text, BYTES, budget=CompileBudget(
        max_seconds=1e-9)))


@pytest.mark.parametrize("kwargs", [{"max_states": 0}, {"max_memory": -1}, {"max_seconds": float("nan")},
                                    {"max_seconds": 0}, {"max_states": 1.5}])
def test_a_budget_out_of_its_domain_is_an_invalid_argument(kwargs):
    with pytest.raises(InvalidArgumentError):
        CompileBudget(**kwargs)


def test_budgets_are_immutable():
    with pytest.raises(AttributeError):
        CompileBudget().max_states = 1


# ------------------------------------------------------------------ the defaults do not fire on ordinary inputs


@pytest.mark.parametrize("path", GRAMMARS, ids=lambda p: p.stem)
def test_defaults_compile_the_shipped_grammars(path):
    compile_grammar(path.read_text(encoding="utf-8"), BYTES)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 40},
                                      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
                                      "age": {"type": "integer", "minimum": 0, "maximum": 150}},
     "required": ["name"]},
    {"type": "string", "pattern": "^[A-Z]{2}-\\d{4}$"},
    {"enum": ["red", "green", "blue"]},
    {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 50},
])
def test_defaults_compile_typical_schemas(schema):
    dfa, _ = schema_automaton(schema)
    assert not dfa.is_empty


def test_a_long_literal_compiles_under_the_defaults():
    pattern = "ab" * 30_000
    dfa = regex_automaton(pattern)
    assert dfa.matches(pattern.encode()) and not dfa.matches(pattern[:-1].encode())


def test_a_long_repetition_compiles_under_the_defaults():
    dfa = regex_automaton("[^a]{5000}")
    text = "é" * 5000
    assert re.fullmatch("[^a]{5000}", text) and dfa.matches(text.encode())
    assert not dfa.matches(("é" * 4999).encode())


def test_an_array_of_objects_with_long_strings_compiles_without_building_the_item_whole():
    """An array's item is repeated; its DFA (two strings of up to 20,000 characters) is too big to
    build whole, so the copies call its NFA as a procedure and decoding builds what it visits."""
    item = {"type": "object", "properties": {c: {"type": "string", "maxLength": 20_000} for c in "ab"}}
    c = structgen.compile_json_schema({"type": "array", "maxItems": 10, "items": item}, BYTES,
                                      budget=CompileBudget(max_memory=128 << 20))
    long = b'[{"a":"' + b"x" * 20_000
    assert c.is_accepting(c.advance_bytes(c.start(), long + b'"},{"b":"y"}]'))
    assert c.advance_bytes(c.start(), long + b"x") is None


def test_an_object_of_many_additional_members_is_a_counted_repetition():
    """`maxProperties` over additional members only is a repetition (chains of called blocks), not
    a product of the member with a counter of 10,000 states (JsonSchemaStore's tokenlist: past the
    memory budget before). The judge decides every count around the bounds."""
    value = {"type": "object", "properties": {"v": {"type": "string", "maxLength": 300}}, "required": ["v"]}
    for lo, hi in ((0, 10_000), (1, 70)):
        schema = {"type": "object", "minProperties": lo, "maxProperties": hi, "additionalProperties": value}
        c = structgen.compile_json_schema(schema, BYTES, budget=CompileBudget(max_memory=256 << 20))
        judge = validator_for(schema)
        for n in (0, 1, 2, 69, 70, 71):
            instance = {f"k{i}": {"v": "x"} for i in range(n)}
            text = json.dumps(instance, separators=(",", ":")).encode()
            assert c.accepts_text(text) == judge.is_valid(instance), (lo, hi, n)


def test_a_large_regular_rule_of_a_recursive_schema_is_built_lazily():
    """A rule whose body is regular (here `T` with no `child`, met as `T & ...` inside `T`) stays IR
    when its eager DFA would pass `LEAF_STATES` (JsonSchemaStore's theme: past the memory budget
    before); decoding builds what it visits. The judge decides each text."""
    strings = {c: {"type": "string", "maxLength": 5000} for c in "abcdefgh"}
    schema = {"$defs": {"T": {"type": "object", "properties": dict(strings, child={
        "$ref": "#/$defs/T", "properties": {"child": False}})}}, "$ref": "#/$defs/T"}
    c = structgen.compile_json_schema(schema, BYTES, budget=CompileBudget(max_memory=48 << 20))
    judge = validator_for(schema)
    for instance in ({"a": "x", "child": {"h": "y" * 5000}}, {"child": {"h": "y" * 5001}},
                     {"child": {"child": {}}}, {"b": "z", "child": {"a": "x"}}):  # schema order
        text = json.dumps(instance, separators=(",", ":")).encode()
        assert c.accepts_text(text) == judge.is_valid(instance), instance


# ------------------------------------------------------------------ nesting and size of grammars


def test_deep_parentheses_are_a_named_error():
    for depth in (MAX_NESTING + 1, 500, 10_000):
        with pytest.raises(NestingTooDeepError) as err:
            parse_gbnf("root ::= " + "(" * depth + '"a"' + ")" * depth + "\n")
        assert err.value.limit == MAX_NESTING and "line 1" in str(err.value)


def test_parentheses_up_to_the_limit_compile():
    text = "root ::= " + '("a" | "b" ' * MAX_NESTING + ")" * MAX_NESTING + "\n"
    constraint = compile_grammar(text, BYTES)
    judge = "b{0,%d}a|b{%d}" % (MAX_NESTING - 1, MAX_NESTING)
    for sample in ("a", "b" * (MAX_NESTING - 1) + "a", "b" * MAX_NESTING + "a", "b" * MAX_NESTING, "bb"):
        assert constraint.accepts_text(sample.encode()) == bool(re.fullmatch(judge, sample))


@pytest.mark.parametrize("n", [141, 100_000])
def test_a_long_chain_of_rules_compiles(n):
    text = "root ::= r0\n" + "".join(f"r{i} ::= r{i + 1}\n" for i in range(n)) + f'r{n} ::= "x"\n'
    constraint = compile_grammar(text, BYTES)
    assert constraint.accepts_text(b"x") and not constraint.accepts_text(b"xx")


def test_a_chain_that_nests_when_inlined_is_a_named_error():
    n = 2 * MAX_IR_DEPTH  # the chain ends in a recursive rule, so its rules are inlined, not called
    text = ("root ::= r0\n" + "".join(f'r{i} ::= "a" r{i + 1} | "b"\n' for i in range(n))
            + f'r{n} ::= "x" s\ns ::= "(" s ")" | "y"\n')
    with pytest.raises(NestingTooDeepError) as err:
        compile_grammar(text, BYTES)
    assert err.value.limit == MAX_IR_DEPTH


def test_a_long_regular_chain_compiles_with_each_rule_called_not_inlined():
    n = 2 * MAX_IR_DEPTH
    text = "root ::= r0\n" + "".join(f'r{i} ::= "a" r{i + 1} | "b"\n' for i in range(n)) + f'r{n} ::= "x"\n'
    constraint = compile_grammar(text, BYTES)
    judge = "a{0,%d}b|a{%d}x" % (n - 1, n)
    for sample in ("b", "a" * (n - 1) + "b", "a" * n + "b", "a" * n + "x", "a" * (n + 1) + "x", "x", ""):
        assert constraint.accepts_text(sample.encode()) == bool(re.fullmatch(judge, sample)), sample


def test_a_long_cycle_of_rules_compiles_without_merging_it():
    n = 2 * MAX_IR_DEPTH  # merged into one rule, the cycle would nest too deeply
    text = "root ::= r0\n" + "".join(f'r{i} ::= "a" r{i + 1} | "b"\n' for i in range(n)) + f'r{n} ::= "x" r0 | "y"\n'
    constraint = compile_grammar(text, BYTES)
    judge = "(a{%d}x)*(a{0,%d}b|a{%d}y)" % (n, n - 1, n)
    for sample in ("b", "a" * (n - 1) + "b", "a" * n + "b", "a" * n + "y", "a" * n + "x" + "ab",
                   "a" * n + "x", "a" * n + "xa" + "b" * 2, "a" * n + "x" + "a" * n + "y"):
        assert constraint.accepts_text(sample.encode()) == bool(re.fullmatch(judge, sample)), sample


@pytest.mark.parametrize("recursive", [False, True])
def test_a_grammar_that_doubles_per_rule_hits_a_budget(recursive):
    """The doubling rules are regular: each becomes an automaton called by the next while its DFA
    keeps within `LEAF_STATES`; past that a rule stays IR (built lazily), and the doubling shows in
    the IR's memory."""
    head = 'root ::= "(" root ")" | x0\n' if recursive else "root ::= x0\n"
    text = head + "".join(f"x{i} ::= x{i + 1} x{i + 1}\n" for i in range(60)) + 'x60 ::= "z" | "y"\n'
    _raises_budget("memory", "grammar", lambda: compile_grammar(text, BYTES, budget=CompileBudget(
        max_states=200_000, max_memory=10_000_000)))


def test_inlining_that_doubles_per_rule_hits_the_memory_budget():
    """Rules that use a recursive rule are inlined into their users, not called: a doubling
    chain of them shows as IR memory."""
    text = ("root ::= x0\n" + "".join(f"x{i} ::= x{i + 1} x{i + 1}\n" for i in range(60))
            + 'x60 ::= "z" | s\ns ::= "(" s ")" | "y"\n')
    _raises_budget("memory", "grammar", lambda: compile_grammar(text, BYTES, budget=CompileBudget(
        max_memory=10_000_000)))


def test_a_wide_alternation_of_rules_compiles():
    n = 5000
    words = [f"w{i}z" for i in range(n)]
    text = "root ::= " + " | ".join(f"r{i}" for i in range(n)) + "\n" + "".join(
        f'r{i} ::= "{w}"\n' for i, w in enumerate(words))
    constraint = compile_grammar(text, BYTES)
    for sample in ("w0z", "w4999z", "w5000z", "w01z", "w12"):
        assert constraint.accepts_text(sample.encode()) == (sample in set(words))


def test_a_misspelt_rule_in_a_big_grammar_still_names_its_line():
    text = "".join(f'r{i} ::= "x"\n' for i in range(3000)) + "root ::= r1 r2999 rr\n"
    with pytest.raises(GrammarError) as err:
        parse_gbnf(text)
    assert "line 3001" in str(err.value)


# ------------------------------------------------------------------ schema text


def test_deeply_nested_json_text_is_a_named_error():
    with pytest.raises(NestingTooDeepError):
        schema_as_dict("[" * 100_000 + "]" * 100_000)


def test_schema_bytes_that_are_not_utf8_are_an_invalid_schema():
    with pytest.raises(InvalidSchemaError) as err:
        schema_as_dict(b'{"const": "\xff"}')
    assert "UTF-8" in str(err.value)


def test_schema_text_with_a_lone_surrogate_is_an_invalid_schema():
    with pytest.raises(InvalidSchemaError) as err:
        schema_as_dict('{"const": "a\ud800"}')
    assert "U+D800" in str(err.value)


def test_schema_bytes_in_utf8_parse():
    assert schema_as_dict(json.dumps({"const": "é"}).encode()) == {"const": "é"}


@pytest.mark.parametrize("kwargs", [{"whitespace": "tabs"}, {"max_any_depth": -1}, {"max_any_depth": "3"},
                                    {"max_any_depth": True}])
def test_a_compile_option_out_of_its_domain_is_an_invalid_argument(kwargs):
    with pytest.raises(InvalidArgumentError) as err:
        structgen.compile_json_schema({"type": "object"}, BYTES, **kwargs)
    assert err.value.name == next(iter(kwargs))
