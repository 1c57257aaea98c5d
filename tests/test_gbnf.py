"""GBNF parsing: every construct means what it says (judge: Python's `re`), llama.cpp's
own grammars parse, errors say where, and `random_string` stays inside the language."""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.automata import ir
from structgen.automata.dfa import build_dfa
from structgen.errors import GrammarError, GrammarSyntaxError
from structgen.grammar.gbnf import parse_gbnf
from structgen.grammar.grammar import Grammar, has_refs, refs_in, substitute
from structgen.grammar.random_strings import grammar_strings, random_string


def inline(grammar: Grammar):
    """The start rule with every (non-recursive) reference substituted."""
    done: dict[str, object] = {}

    def body(name: str):
        if name not in done:
            done[name] = substitute(grammar.rules[name], lambda r: body(r.name))
        return done[name]

    return body(grammar.start)


# (GBNF text, an equivalent Python regex, characters worth trying)
CASES = [
    ('root ::= "abc"', r"abc", "abc"),
    ('root ::= ("a" | "bc")+ "d"?', r"(?:a|bc)+d?", "abcd"),
    ("root ::= [a-z0-9_]+", r"[a-z0-9_]+", "az09_A-"),
    ('root ::= "\\"" [^"\\\\]* "\\""', r'"[^"\\]*"', 'a"\\é\n'),
    ('root ::= "a"{3} "b"{2,} "c"{1,3} "d"{,2} "e"{0,1}', r"a{3}b{2,}c{1,3}d{0,2}e?", "abcde"),
    ('root ::= "\\n\\r\\t\\\\\\"\\[\\]" [\\x41-\\x43] "\\u00e9" "\\U0001F600"',
     '\n\r\t\\\\"\\[\\][A-C]\u00e9\U0001F600', '\n\r\t\\"[]ABCDé\U0001F600'),
    ("root ::= . .", r"(?s:..)", "a\n😀é"),
    ('root ::= word (" " word)*\nword ::= [a-z]+', r"[a-z]+(?: [a-z]+)*", "ab "),
    ("root ::= [ぁ-ゟ]+ [^a-z]", r"[ぁ-ゟ]+[^a-z]", "ぁゟあaZ😀"),
    ('root ::= "x" ws\nws ::= | " " | "\\n" [ \\t]{0,3}', r"x(?:| |\n[ \t]{0,3})", "x \n\t"),
    ("root ::= [-+] [a-] [+-]", r"[-+][a-][+-]", "+-a"),
    ('root ::= ( "a"\n    # comment inside\n    | "b" ) # trailing\n\n# a comment line\n', r"a|b", "abc"),
    ('root ::=\n  "a" |\n  "b" rest\nrest ::= "c"*', r"a|bc*", "abc"),
    ('root ::= ("a" "b"?)* "c"\r\n', r"(?:ab?)*c", "abc"),
    ('check-mate_2 ::= "#"\nroot ::= [KQ] check-mate_2?', r"[KQ]#?", "KQ#"),
    ("root ::= [^\\n]+ \"\\n\"", r"[^\n]+\n", "a\nb"),
    # classes written again (the parser's memo) with escaped brackets and backslashes
    ('root ::= [\\]a]+ "-" [\\]a]+ [a\\\\] [a\\\\] [\\]a]', r"[\]a]+-[\]a]+[a\\][a\\][\]a]", "]a\\-b"),
]


@pytest.mark.parametrize("text, pattern, alphabet", CASES)
def test_constructs_mean_what_they_say(text, pattern, alphabet):
    dfa = build_dfa(inline(parse_gbnf(text)))

    @settings(max_examples=150, deadline=None)
    @given(st.one_of(st.from_regex(pattern, fullmatch=True), st.text(alphabet=alphabet, max_size=8)))
    def check(s):
        assert dfa.matches(s.encode()) == (re.fullmatch(pattern, s, flags=re.DOTALL) is not None), s

    check()


@pytest.mark.parametrize("text, pattern, alphabet", CASES)
def test_random_strings_of_a_regular_grammar_match_its_regex(text, pattern, alphabet):
    grammar = parse_gbnf(text)
    rng = random.Random(0)
    for _ in range(50):
        s = random_string(grammar, rng).decode("utf-8")
        assert re.fullmatch(pattern, s, flags=re.DOTALL), s


# llama.cpp's grammars/json.gbnf, verbatim.
LLAMA_JSON = r'''root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\"" (
    [^"\\\x7F\x00-\x1F] |
    "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [0-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\n" [ \t]{0,20}
'''

# The older version, whose whitespace rule recurses.
LLAMA_JSON_OLD_WS = LLAMA_JSON.replace('ws ::= | " " | "\\n" [ \\t]{0,20}', "ws ::= ([ \\t\\n] ws)?")

# From llama.cpp's grammars/README.md (a JSON Schema converted to GBNF).
README_NAME_AGE = r'''char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
item ::= "{" space item-name-kv "," space item-age-kv "}" space
item-age ::= ([0-9] | ([1-8] [0-9] | [9] [0-9]) | "1" ([0-4] [0-9] | [5] "0")) space
item-age-kv ::= "\"age\"" space ":" space item-age
item-name ::= "\"" char{1,100} "\"" space
item-name-kv ::= "\"name\"" space ":" space item-name
root ::= "[" space item ("," space item){9,99} "]" space
space ::= | " " | "\n" [ \t]{0,20}
'''


@pytest.mark.parametrize("text", [LLAMA_JSON, LLAMA_JSON_OLD_WS])
def test_llama_cpp_json_grammar(text):
    grammar = parse_gbnf(text)
    assert set(grammar.rules) == {"root", "value", "object", "array", "string", "number", "ws"}
    rng = random.Random(1)
    for _ in range(100):
        value = json.loads(random_string(grammar, rng))
        assert isinstance(value, dict)


def test_readme_schema_grammar():
    grammar = parse_gbnf(README_NAME_AGE)
    rng = random.Random(2)
    for _ in range(20):
        items = json.loads(random_string(grammar, rng, max_repeat=2))
        assert 10 <= len(items) <= 100
        assert all(set(i) == {"name", "age"} and 0 <= i["age"] <= 150 and i["name"] for i in items)


def test_readme_chess_layout_parses():
    text = '''# `root` specifies the pattern for the overall output
root ::= (
    # it must start with the characters "1. " followed by a sequence
    "1. " move " " move "\\n"

    # it's followed by one or more subsequent moves, numbered with one or two digits
    ([1-9] [0-9]? ". " move " " move "\\n")+
)
move ::= (pawn | nonpawn | castle) [+#]?
pawn ::= [a-h] [1-8]
nonpawn ::= [NBKQR] [a-h] [1-8]
castle ::= "O-O" "-O"?
'''
    dfa = build_dfa(inline(parse_gbnf(text)))
    assert dfa.matches(b"1. e4 e5\n2. Nf3 O-O-O+\n")
    assert not dfa.matches(b"1. e4 e5\n")


@given(grammar_strings(parse_gbnf(LLAMA_JSON_OLD_WS)))
@settings(max_examples=50, deadline=None)
def test_grammar_strings_strategy_stays_in_the_language(data):
    json.loads(data)


def test_random_string_is_reproducible():
    grammar = parse_gbnf(LLAMA_JSON)
    assert random_string(grammar, random.Random(5)) == random_string(grammar, random.Random(5))


def test_random_string_terminates_on_deep_recursion():
    grammar = parse_gbnf('root ::= "(" root root ")" | "x"')
    rng = random.Random(3)
    for _ in range(200):
        s = random_string(grammar, rng, max_depth=20).decode()
        assert s.count("(") == s.count(")") and s.count("x") == s.count("(") + 1


# --- syntax errors ---------------------------------------------------------------------------

SYNTAX_ERRORS = [
    ('root ::= "abc', 1, 10, "unterminated string"),
    ("root ::= [a-z", 1, 10, "unterminated character class"),
    ('root ::= "a" )', 1, 14, "unmatched ')'"),
    ('root ::= ("a"', 1, 14, "expected ')'"),
    ('root = "a"', 1, 6, "expected '::='"),
    ('root ::= "\\q"', 1, 11, "unknown escape"),
    ('root ::= "\\x4"', 1, 11, "2 hex digits"),
    ('root ::= "\\U00110000"', 1, 11, "beyond the last Unicode code point"),
    ('root ::= * "a"', 1, 10, "nothing before it to repeat"),
    ('root ::= "a"{3,1}', 1, 13, "maximum below its minimum"),
    ('root ::= "a"{x}', 1, 14, "expected a number"),
    ('root ::= "a"\n  | "b"', 2, 3, "cannot start with '|'"),
    ('root ::= "a"\n"b"', 2, 1, "expected a rule name"),
    ("root ::= [z-a]", 1, 11, "empty range"),
    ("root ::= []", 1, 10, "empty character class"),
    ("root ::= <think> x", 1, 10, "token matches"),
    ('root ::= "a"\n\nroot ::= "b"', 3, 1, "defined twice"),
    ('root ::= x\nx ::= "a" "b" @', 2, 15, "unexpected '@'"),
    ('root ::= "\\uD800"', 1, 11, "surrogate"),
]


@pytest.mark.parametrize("text, line, column, message", SYNTAX_ERRORS)
def test_syntax_errors_say_where(text, line, column, message):
    with pytest.raises(GrammarSyntaxError) as info:
        parse_gbnf(text)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert message in str(info.value)


# --- grammar errors --------------------------------------------------------------------------


def test_undefined_rule_is_named_with_a_suggestion():
    with pytest.raises(GrammarError) as info:
        parse_gbnf('root ::= "[" itme "]"\nitem ::= [0-9]+\n')
    assert info.value.rules == ("itme",)
    assert "line 1, column 14" in str(info.value) and "did you mean 'item'" in str(info.value)


def test_missing_root():
    with pytest.raises(GrammarError) as info:
        parse_gbnf('expr ::= "x"')
    assert info.value.rules == ("root",) and "'root'" in str(info.value)


def test_unreachable_rules_are_named():
    with pytest.raises(GrammarError) as info:
        parse_gbnf('root ::= a\na ::= "x"\nb ::= "y"\nc ::= b | a\n')
    assert info.value.rules == ("b", "c")
    assert "b, c" in str(info.value)


def test_start_rule_argument():
    grammar = parse_gbnf(LLAMA_JSON, start="number")
    assert grammar.start == "number" and set(grammar.rules) == {"number", "ws"}
    dfa = build_dfa(inline(grammar))
    assert dfa.matches(b"-12.5e3 ") and not dfa.matches(b"012")
    with pytest.raises(GrammarError):
        parse_gbnf(LLAMA_JSON, start="nope")


def test_substitute_keeps_the_subtrees_it_changes_nothing_in():
    """A subtree without references comes back as the same object (rebuilding it would flatten it
    into new objects, and every later walk would see a tree as large as the unshared one)."""
    plain = ir.seq(ir.literal("ab"), ir.star(ir.literal("c")))
    node = ir.alt(ir.seq(plain, ir.ref("x")), plain)
    out = substitute(node, lambda r: ir.literal("z"))
    assert out.options[1] is plain and out.options[0].parts[0] is plain.parts[0]
    assert substitute(plain, lambda r: ir.literal("z")) is plain
    assert build_dfa(out).matches(b"abccz") and build_dfa(out).matches(b"abc")


def test_the_references_found_are_those_a_plain_walk_finds():
    """`has_refs` is kept on each node; asked of random trees that share subtrees, in any order, it and
    `refs_in` agree with a walk that keeps nothing."""
    import random

    def plain_refs(n):
        if isinstance(n, ir.Ref):
            return {n.name}
        return set().union(*map(plain_refs, ir.children(n)))

    rng = random.Random(5)
    for _ in range(50):
        pool = [ir.literal(c) for c in "abc"] + [ir.ref(r) for r in "xyz"]
        for _ in range(30):  # each new node reuses older ones: subtrees are shared
            kind = rng.choice([ir.seq, ir.alt, lambda *ps: ir.star(ps[0])])
            pool.append(kind(*rng.sample(pool, rng.randint(1, 3))))
        for n in rng.sample(pool, len(pool)):
            assert has_refs(n) == bool(plain_refs(n))
            assert refs_in(n) == plain_refs(n)


def test_a_grammar_compiled_again_reuses_its_automata(monkeypatch):
    """Its regular rules are wrapped as `ir.Automaton` afresh on each compile, around the DFAs the cache
    holds; two wrappers of one DFA are equal, so the rules built from them are found in the cache too."""
    import structgen.automata.dfa as dfa_module
    from structgen.grammar.pushdown import compile_pushdown

    text = ('root ::= item ("," item)*\nitem ::= "[" root "]" | word ":" number\n'
            'word ::= [a-z]+ ("-" [a-z]+)*\nnumber ::= [0-9]+ ("." [0-9]+)?')
    compile_pushdown(parse_gbnf(text))
    built = []
    real = dfa_module._build
    monkeypatch.setattr(dfa_module, "_build", lambda *a: built.append(a) or real(*a))
    compile_pushdown(parse_gbnf(text))
    assert built == []
    d = build_dfa(ir.literal("ab"))
    assert ir.Automaton(d) == ir.Automaton(d) and hash(ir.Automaton(d)) == hash(ir.Automaton(d))
    assert ir.Automaton(d) != ir.Automaton(build_dfa(ir.literal("abc")))
