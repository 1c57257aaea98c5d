"""`structgen.Compiler`: the per-vocabulary compiler and its shared LRU cache."""

from __future__ import annotations

import threading

import pytest

import structgen
from structgen import CompileBudget, CompileBudgetError, Compiler, ConstraintProtocol, InvalidArgumentError
from structgen.grammar import GrammarConstraint
from structgen.grammar.gbnf import parse_gbnf

INTEGER = {"type": "integer"}
DIGITS = 'root ::= [0-9]+ "!"'


@pytest.fixture
def compiler(byte_vocab):
    return Compiler(byte_vocab)


def test_a_hit_returns_the_same_constraint(compiler):
    first = compiler.json_schema(INTEGER)
    assert isinstance(first, ConstraintProtocol) and first.vocab is compiler.vocab
    assert compiler.json_schema('{"type": "integer"}') is first  # JSON text loads to the same schema
    assert compiler.regex("[a-c]+") is compiler.regex("[a-c]+")
    assert compiler.grammar(DIGITS) is compiler.grammar(DIGITS)
    assert compiler.cache_info() == (3, 3, 3, 128)


def test_options_are_part_of_the_key(compiler):
    c = compiler.json_schema(INTEGER)
    assert compiler.json_schema(INTEGER, whitespace="flexible") is not c
    assert compiler.json_schema(INTEGER, strict=False) is not c
    assert compiler.json_schema(INTEGER, max_any_depth=2) is not c
    assert compiler.grammar(DIGITS, max_depth=3) is not compiler.grammar(DIGITS)
    assert compiler.cache_info().misses == 6


def test_property_order_is_part_of_the_key(compiler):
    """Members come out in declared order, so reordered `properties` are another language."""
    ab = {"type": "object", "properties": {"a": {"const": 1}, "b": {"const": 2}}, "required": ["a", "b"]}
    ba = {"type": "object", "properties": {"b": {"const": 2}, "a": {"const": 1}}, "required": ["a", "b"]}
    assert compiler.json_schema(ab).accepts_text(b'{"a":1,"b":2}')
    assert compiler.json_schema(ba).accepts_text(b'{"b":2,"a":1}')
    assert compiler.cache_info().size == 2


def test_the_same_as_the_module_level_functions(compiler):
    for cached, fresh in [(compiler.json_schema(INTEGER), structgen.compile_json_schema(INTEGER, compiler.vocab)),
                          (compiler.regex("-?[0-9]+"), structgen.compile_regex("-?[0-9]+", compiler.vocab)),
                          (compiler.grammar(DIGITS), structgen.compile_grammar(DIGITS, compiler.vocab))]:
        assert type(cached) is type(fresh)
        for text in (b"12", b"-3", b"12!", b"", b"x"):
            assert cached.accepts_text(text) == fresh.accepts_text(text), text


def test_least_recently_used_goes_first(byte_vocab):
    compiler = Compiler(byte_vocab, cache_size=2)
    a = compiler.regex("a")
    compiler.regex("b")
    assert compiler.regex("a") is a  # now "b" is the least recently used
    compiler.regex("c")
    assert compiler.cache_info() == (1, 3, 2, 2)
    assert compiler.regex("a") is a
    compiler.regex("b")
    assert compiler.cache_info().misses == 4


def test_clear_and_no_cache(byte_vocab):
    compiler = Compiler(byte_vocab)
    a = compiler.regex("a")
    compiler.clear_cache()
    assert compiler.cache_info() == (0, 0, 0, 128)
    assert compiler.regex("a") is not a
    uncached = Compiler(byte_vocab, cache_size=0)
    assert uncached.regex("a") is not uncached.regex("a")
    assert uncached.cache_info() == (0, 2, 0, 0)


def test_grammar_objects_are_cached_by_identity(compiler):
    grammar = parse_gbnf(DIGITS)
    c = compiler.grammar(grammar)
    assert isinstance(c, GrammarConstraint) and compiler.grammar(grammar) is c
    assert compiler.grammar(parse_gbnf(DIGITS)) is not c


def test_recursive_schema_goes_to_the_pushdown_constraint(compiler):
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
    c = compiler.json_schema(tree)
    assert isinstance(c, GrammarConstraint) and c.accepts_text(b'{"kids":[{"kids":[]}]}')
    assert compiler.json_schema(tree) is c


def test_errors_are_raised_and_not_cached(compiler):
    for _ in range(2):
        with pytest.raises(structgen.RegexSyntaxError):
            compiler.regex("(")
        with pytest.raises(structgen.InvalidSchemaError):
            compiler.json_schema("{not json")
        with pytest.raises(structgen.GrammarSyntaxError):
            compiler.grammar("root ::= (")
    assert compiler.cache_info() == (0, 4, 0, 128)  # the bad JSON text fails before the cache is asked


def test_the_budget_applies_to_every_compilation(byte_vocab):
    compiler = Compiler(byte_vocab, budget=CompileBudget(max_states=3))
    with pytest.raises(CompileBudgetError) as error:  # the NFA alone is past ten times the budget
        compiler.regex("[a-z]{50}")
    assert error.value.budget == "states" and error.value.limit == 3
    with pytest.raises(CompileBudgetError):
        compiler.json_schema({"type": "string", "maxLength": 50})


@pytest.mark.parametrize("kwargs, name", [
    ({"vocab": ["a"]}, "vocab"), ({"budget": 100}, "budget"), ({"cache_size": -1}, "cache_size"),
    ({"cache_size": True}, "cache_size"), ({"cache_size": 2.0}, "cache_size")])
def test_bad_arguments(byte_vocab, kwargs, name):
    kwargs = {"vocab": byte_vocab, **kwargs}
    with pytest.raises(InvalidArgumentError) as error:
        Compiler(kwargs.pop("vocab"), **kwargs)
    assert error.value.name == name


def test_bad_inputs(compiler):
    with pytest.raises(InvalidArgumentError):
        compiler.regex(b"a")
    with pytest.raises(InvalidArgumentError):
        compiler.grammar(["root ::= x"])


def test_threads_share_one_constraint_per_key(compiler):
    """Many threads asking for the same few inputs at once all get the cache's one constraint per key."""
    patterns = [f"[a-{c}]+x" for c in "bcdef"]
    results: dict[int, list] = {}
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        barrier.wait()
        results[i] = [compiler.regex(p) for p in patterns * 3]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert [id(c) for c in results[i]] == [id(c) for c in results[0]]
    assert len({id(c) for c in results[0]}) == len(patterns)
    info = compiler.cache_info()
    assert info.size == len(patterns) and info.hits + info.misses == 8 * 3 * len(patterns)
