"""The pushdown constraint (`structgen.grammar.constraint`) on hand-built context-free grammars.

Judges, independent of the engine: `json.loads` (plus the compact output
form) for JSON, a stack checker for balanced brackets, small recursive-
descent checkers for arithmetic and for an ambiguous grammar, `re.fullmatch`
for regular languages, and per-token `advance` (byte walk) as the brute-force
judge of `mask`.
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bench.grammar_mask import json_grammar
from structgen.automata import ir
from structgen.automata.dfa import build_dfa
from structgen.compile import CompileBudget, compile_json_schema
from structgen.errors import CompileBudgetError, GrammarError, UnsatisfiableSchemaError
from structgen.grammar import Grammar
from structgen.grammar.constraint import compile_grammar_ir
from structgen.grammar.gbnf import parse_gbnf
from structgen.grammar.tables import PushdownTables
from structgen.grammar.grammar import substitute
from structgen.vocab import Vocabulary
from tests.fuzzing.grammars import Earley, gbnf, grammars
from tests.fuzzing.vocabularies import byte_vocabulary

R = ir.ref
lit = ir.literal
BYTE_VOCAB = byte_vocabulary()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def small_vocab(alphabet: bytes, extra: list[bytes] = ()) -> Vocabulary:
    """Single bytes of `alphabet`, some multi-byte tokens, an end-of-sequence id and a special token."""
    tokens = [b""] + [bytes([b]) for b in alphabet] + list(extra) + [b"<|special|>"]
    allowed = np.ones(len(tokens), bool)
    allowed[-1] = False
    return Vocabulary(tokens, [0], allowed)


def brute_force_mask(c, state) -> np.ndarray:
    return np.array([c.advance(state, t) is not None for t in range(len(c.vocab))])


def walk_tokens(c, ids):
    s = c.start()
    for t in ids:
        s = c.advance(s, t)
        if s is None:
            return None
    return s


# ---------------------------------------------------------------- grammars and judges

DYCK = Grammar({"S": ir.star(ir.alt(ir.seq(lit("("), R("S"), lit(")")), ir.seq(lit("["), R("S"), lit("]"))))}, "S")


def dyck_ok(text: bytes) -> bool:
    stack = []
    for ch in text.decode("latin-1"):
        if ch in "([":
            stack.append(ch)
        elif ch in ")]":
            if not stack or stack.pop() != "([" [")]".index(ch)]:
                return False
        else:
            return False
    return not stack


# expr ::= expr "+" term | expr "-" term | term ; term ::= term "*" factor | factor ;
# factor ::= "(" expr ")" | [0-9]+ | "x"
ARITH = Grammar({
    "expr": ir.alt(ir.seq(R("expr"), lit("+"), R("term")), ir.seq(R("expr"), lit("-"), R("term")), R("term")),
    "term": ir.alt(ir.seq(R("term"), lit("*"), R("factor")), R("factor")),
    "factor": ir.alt(ir.seq(lit("("), R("expr"), lit(")")), ir.plus(ir.byte_range(0x30, 0x39)), lit("x")),
}, "expr")


def arith_ok(text: str) -> bool:
    """Recursive descent over the same language (iteration instead of left recursion)."""
    pos = 0

    def factor() -> bool:
        nonlocal pos
        if text[pos:pos + 1] == "(":
            pos += 1
            if not expr() or text[pos:pos + 1] != ")":
                return False
            pos += 1
            return True
        if text[pos:pos + 1] == "x":
            pos += 1
            return True
        start = pos
        while pos < len(text) and text[pos].isdigit():
            pos += 1
        return pos > start

    def term() -> bool:
        nonlocal pos
        if not factor():
            return False
        while text[pos:pos + 1] == "*":
            pos += 1
            if not factor():
                return False
        return True

    def expr() -> bool:
        nonlocal pos
        if not term():
            return False
        while text[pos:pos + 1] in ("+", "-") and pos < len(text):
            pos += 1
            if not term():
                return False
        return True

    return expr() and pos == len(text)


# S ::= S S | "a" | "(" S ")"  — ambiguous (every split of a sequence is a parse)
AMBIGUOUS = Grammar({"S": ir.alt(ir.seq(R("S"), R("S")), lit("a"), ir.seq(lit("("), R("S"), lit(")")))}, "S")


def ambiguous_ok(text: str) -> bool:
    """Non-empty sequence of items, item = "a" | "(" sequence ")"."""
    depth, items_at = 0, [0]
    for ch in text:
        if ch == "a":
            items_at[-1] += 1
        elif ch == "(":
            depth += 1
            items_at.append(0)
        elif ch == ")":
            if depth == 0 or items_at[-1] == 0:
                return False
            depth -= 1
            items_at.pop()
            items_at[-1] += 1
        else:
            return False
    return depth == 0 and items_at[0] > 0


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def json_real(smollm2_vocab):
    return compile_grammar_ir(json_grammar(), smollm2_vocab)


@pytest.fixture(scope="module")
def token_ids(smollm2_vocab):
    return {t: i for i, t in enumerate(smollm2_vocab.tokens) if t and smollm2_vocab.allowed[i]}


JSON_VOCAB = small_vocab(b'{}[]",:0123456789-+.eEtrufalsnbx\\ \xc3\xa9',
                         [b'{"', b'":', b'",', b'"}', b'[[', b']]', b'],', b'true', b'null', b'1,', b'"a"', b'\xc3'])


@pytest.fixture(scope="module")
def json_small():
    return compile_grammar_ir(json_grammar(), JSON_VOCAB)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


# ---------------------------------------------------------------- JSON

@given(json_values)
@SETTINGS
def test_json_accepts_every_compact_document(json_small, value):
    assert json_small.accepts_text(compact(value).encode())


@given(json_values, st.data())
@SETTINGS
def test_json_single_byte_mutations_that_json_rejects_are_rejected(json_small, value, data):
    text = compact(value).encode()
    pos = data.draw(st.integers(0, len(text)))
    byte = data.draw(st.sampled_from(b'{}[]",:0-.eE \\tnx\x00\xff'))
    op = data.draw(st.sampled_from(["insert", "replace", "delete"]))
    mutated = text[:pos] + bytes([byte]) * (op != "delete") + text[pos + (op != "insert"):]
    if not _valid_json(mutated) or _spaces_outside_strings(mutated):  # not JSON, or not compact
        assert not json_small.accepts_text(mutated)


def _valid_json(data: bytes) -> bool:
    try:
        json.loads(data)
        return True
    except (ValueError, UnicodeDecodeError):
        return False


def _spaces_outside_strings(data: bytes) -> bool:
    inside, escaped = False, False
    for b in data:
        if inside:
            escaped = not escaped and b == 0x5C
            if b == 0x22 and not escaped:
                inside = False
        elif b == 0x22:
            inside = True
        elif b == 0x20:
            return True
    return False


def test_json_whole_strings():
    c = compile_grammar_ir(json_grammar(), JSON_VOCAB)
    for ok in [b'{"a":[1,2,{"b":null}]}', b"[]", b"{}", b'"\xc3\xa9\\u00e9"', b"-0.5e+3", b"[[],[[]]]", b"true"]:
        assert c.accepts_text(ok), ok
    for bad in [b'{"a":1,}', b"[1 ]", b"[", b"01", b'"\x01"', b"", b"tru", b'{"a"}', b"[1]]", b"\xff"]:
        assert not c.accepts_text(bad), bad


@given(json_values, st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_json_random_tokenisations_with_the_real_vocabulary(json_real, token_ids, smollm2_vocab, value, rnd):
    text = compact(value).encode()
    ids = _random_tokenisation(text, token_ids, rnd)
    assume(ids is not None)
    assert smollm2_vocab.decode(ids) == text
    s = walk_tokens(json_real, ids)
    assert s is not None and json_real.is_accepting(s)
    eos = smollm2_vocab.eos_token_ids[0]
    assert json_real.is_finished(json_real.advance(s, eos))


def _random_tokenisation(text: bytes, token_ids: dict, rnd: random.Random) -> list[int] | None:
    """Cut `text` at random byte positions (also inside characters), cover each piece greedily."""
    cuts = sorted(rnd.sample(range(1, len(text)), min(len(text) - 1, rnd.randint(0, 6)))) if len(text) > 1 else []
    ids = []
    for a, b in zip([0] + cuts, cuts + [len(text)]):
        while a < b:
            for end in range(b, a, -1):
                if text[a:end] in token_ids:
                    ids.append(token_ids[text[a:end]])
                    a = end
                    break
            else:
                return None
    return ids


def test_json_tokenizer_encodings(json_real, smollm2_tokenizer, smollm2_vocab):
    rng = random.Random(1)
    from bench.grammar_mask import random_document

    for _ in range(10):
        text = compact(random_document(rng))
        ids = smollm2_tokenizer.encode(text, add_special_tokens=False)
        if smollm2_vocab.decode(ids) != text.encode():
            continue
        s = walk_tokens(json_real, ids)
        assert s is not None and json_real.is_accepting(s), text


def test_json_mask_equals_brute_force_real_vocabulary(json_real, smollm2_tokenizer):
    text = '{"k":[1,"a\\"b",{"z":true}],"n":-2.5}'
    ids = smollm2_tokenizer.encode(text, add_special_tokens=False)
    states = [json_real.start()]
    for t in ids:
        states.append(json_real.advance(states[-1], t))
    for s in states[1::4][:4]:  # a few states: brute force costs ~0.3 s each
        assert (json_real.mask(s) == brute_force_mask(json_real, s)).all()


def test_json_mask_random_walks_stay_valid(json_real, smollm2_vocab):
    """Follow the mask at random; whatever comes out when end-of-sequence is taken must be JSON."""
    rng = np.random.default_rng(0)
    eos = smollm2_vocab.eos_token_ids[0]
    for _ in range(5):
        s, ids = json_real.start(), []
        for step in range(60):
            m = json_real.mask(s)
            if m[eos] and (step > 20 or rng.random() < 0.2):
                break
            allowed = np.flatnonzero(m)
            allowed = allowed[allowed != eos] if len(allowed) > 1 else allowed
            t = int(rng.choice(allowed))
            s = json_real.advance(s, t)
            assert s is not None
            ids.append(t)
        if json_real.is_accepting(s):
            text = smollm2_vocab.decode(ids)
            assert compact(json.loads(text)).encode() == text or not _spaces_outside_strings(text)


def test_json_small_vocab_masks_equal_brute_force(json_small):
    rng = random.Random(0)
    for value in [{"a": [1, {"b": "x\\é"}], "n": None}, [[True], [], 1.5e3], "é"]:
        text = compact(value).encode()
        s = json_small.start()
        ids = _random_tokenisation(text, {t: i for i, t in enumerate(JSON_VOCAB.tokens[:-1]) if t}, rng)
        for t in ids:
            assert (json_small.mask(s) == brute_force_mask(json_small, s)).all()
            s = json_small.advance(s, t)
        assert json_small.is_accepting(s)


def test_unbounded_and_bounded_depth():
    c = compile_grammar_ir(json_grammar(), JSON_VOCAB)
    assert c.accepts_text(b"[" * 200 + b"1" + b"]" * 200)
    assert c.accepts_text(b'{"a":' * 200 + b"1" + b"}" * 200)
    bounded = compile_grammar_ir(json_grammar(), JSON_VOCAB, max_depth=3)
    # Each value inside a container is one nested rule call: "[[[1]]]" has three.
    assert bounded.accepts_text(b"[[[1]]]")
    assert bounded.accepts_text(b"[[[[]]]]")
    assert not bounded.accepts_text(b"[[[[1]]]]")
    s = bounded.advance_bytes(bounded.start(), b"[[[[")
    assert (bounded.mask(s) == brute_force_mask(bounded, s)).all()
    assert not bounded.mask(s)[JSON_VOCAB.tokens.index(b"1")]
    assert bounded.mask(s)[JSON_VOCAB.tokens.index(b"]")]


def test_special_tokens_never_allowed_and_eos_finishes(json_small):
    special = len(JSON_VOCAB) - 1
    s = json_small.start()
    assert not json_small.mask(s)[special] and json_small.advance(s, special) is None
    assert json_small.advance(s, 0) is None  # end-of-sequence before any value
    s = json_small.advance_bytes(s, b"[1]")
    assert json_small.mask(s)[0] and json_small.is_accepting(s) and not json_small.can_continue(s)
    done = json_small.advance(s, 0)
    assert json_small.is_finished(done) and json_small.advance(done, 1) is None
    assert json_small.can_continue(json_small.advance_bytes(json_small.start(), b"[1"))


def test_states_are_shared_ints(json_small):
    a = json_small.advance_bytes(json_small.start(), b'{"a":')
    b = json_small.advance_bytes(json_small.advance_bytes(json_small.start(), b'{"'), b'a":')
    assert isinstance(a, int) and a == b and hash(a) == hash(b)
    assert json_small.bitmask(a) is json_small.bitmask(b)  # one cache entry
    assert not json_small.bitmask(a).flags.writeable and not json_small.mask(a).flags.writeable


# ---------------------------------------------------------------- other grammars

dyck_strings = st.recursive(st.just(""), lambda inner: st.lists(
    st.tuples(st.sampled_from(["()", "[]"]), inner).map(lambda p: p[0][0] + p[1] + p[0][1]), max_size=3
).map("".join), max_leaves=20)


@given(dyck_strings, st.integers(0, 40), st.sampled_from(b"()[]x"), st.sampled_from(["insert", "replace", "delete"]))
@SETTINGS
def test_dyck(text, pos, byte, op):
    c = _dyck()
    data = text.encode()
    assert c.accepts_text(data)
    pos = min(pos, len(data))
    mutated = data[:pos] + bytes([byte]) * (op != "delete") + data[pos + (op != "insert"):]
    assert c.accepts_text(mutated) == dyck_ok(mutated)


_cache: dict = {}


def _dyck():
    if "dyck" not in _cache:
        _cache["dyck"] = compile_grammar_ir(DYCK, small_vocab(b"()[]x", [b"((", b"))", b")(", b"([", b"])", b"()"]))
    return _cache["dyck"]


def test_dyck_masks_equal_brute_force():
    c = _dyck()
    s = c.start()
    for ch in b"([()[[]]]([])":
        assert (c.mask(s) == brute_force_mask(c, s)).all()
        s = c.advance_bytes(s, bytes([ch]))
    assert s is not None


def test_arithmetic_with_left_recursion():
    c = compile_grammar_ir(ARITH, small_vocab(b"x0123456789+-*()", [b"x+", b")*", b"(x", b"+(", b"12"]))
    assert any("left recursion" in n for n in c.info.notes)
    rng = random.Random(0)
    alphabet = "x1+-*()"
    for _ in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        assert c.accepts_text(text.encode()) == arith_ok(text), text
    for text in ["x", "1+2*x", "(x-1)*(2+x)*3", "((((x))))", "x+x+x+x-x*x*x"]:
        assert c.accepts_text(text.encode()) and arith_ok(text)
    s = c.start()
    for ch in b"(x+12)*x-(":
        assert (c.mask(s) == brute_force_mask(c, s)).all()
        s = c.advance_bytes(s, bytes([ch]))


def test_ambiguous_grammar():
    c = compile_grammar_ir(AMBIGUOUS, small_vocab(b"a()", [b"aa", b"a)", b"(a", b"))"]))
    rng = random.Random(0)
    for _ in range(1500):
        text = "".join(rng.choice("a()") for _ in range(rng.randint(0, 10)))
        assert c.accepts_text(text.encode()) == ambiguous_ok(text), text
    assert c.accepts_text(b"a" * 100)
    s = c.start()
    for ch in b"aa(a(aa)a)a":
        assert (c.mask(s) == brute_force_mask(c, s)).all()
        s = c.advance_bytes(s, bytes([ch]))


def test_too_ambiguous_is_an_error_not_a_hang():
    c = compile_grammar_ir(AMBIGUOUS, small_vocab(b"a()"))
    with pytest.raises(GrammarError, match="ambiguous"):
        c.accepts_text(b"a" * 1000)


def test_nullable_rules():
    # A ::= B "x" B ; B ::= "b" B | ""   (B recursive and nullable)
    g = Grammar({"A": ir.seq(R("B"), lit("x"), R("B")), "B": ir.alt(ir.seq(lit("b"), R("B")), ir.EPSILON)}, "A")
    c = compile_grammar_ir(g, small_vocab(b"bx", [b"bb", b"xb", b"bx"]))
    rng = random.Random(0)
    for _ in range(500):
        text = "".join(rng.choice("bx") for _ in range(rng.randint(0, 8)))
        assert c.accepts_text(text.encode()) == bool(re.fullmatch("b*xb*", text)), text
    # A nullable start rule: S ::= "(" S ")" S | ""
    g = Grammar({"S": ir.alt(ir.seq(lit("("), R("S"), lit(")"), R("S")), ir.EPSILON)}, "S")
    c = compile_grammar_ir(g, small_vocab(b"()", [b"((", b"))", b"()"]))
    assert c.is_accepting(c.start())
    for _ in range(500):
        text = "".join(rng.choice("()") for _ in range(rng.randint(0, 10)))
        assert c.accepts_text(text.encode()) == dyck_ok(text.encode()), text


def test_non_recursive_grammar_matches_its_inlined_dfa():
    rules = {
        "greeting": ir.seq(R("word"), ir.star(ir.seq(lit(" "), R("word"))), ir.optional(R("punct"))),
        "word": ir.plus(ir.alt(ir.byte_range(0x61, 0x63), R("accent"))),
        "accent": lit("é"),
        "punct": ir.byte_set(b"!?"),
    }
    g = Grammar(rules, "greeting")

    def inline(node):
        return substitute(node, lambda r: inline(rules[r.name]))

    dfa = build_dfa(inline(rules["greeting"]))
    c = compile_grammar_ir(g, small_vocab(b"abc !?\xc3\xa9"))
    rng = random.Random(0)
    pieces = [b"a", b"b", b"c", b" ", b"!", b"?", "é".encode(), b"\xc3", b"d"]
    for _ in range(800):
        text = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        assert c.accepts_text(text) == dfa.matches(text), text


def test_left_recursion_through_several_rules_is_refused():
    g = Grammar({
        "A": ir.alt(ir.seq(R("B"), lit("a")), ir.seq(R("A"), lit("c")), lit("x")),
        "B": ir.alt(ir.seq(R("A"), lit("b")), ir.seq(R("B"), lit("d")), lit("y")),
    }, "A")
    with pytest.raises(GrammarError) as err:
        compile_grammar_ir(g, small_vocab(b"abcdxy"))
    assert set(err.value.rules) == {"A", "B"} and "left recursion" in str(err.value)


def test_undefined_rule_is_refused():
    with pytest.raises(GrammarError) as err:
        compile_grammar_ir(Grammar({"S": ir.seq(lit("a"), R("T"))}, "S"), small_vocab(b"a"))
    assert err.value.rules == ("T",)


def test_unproductive_rules_are_dropped():
    # T never finishes (T ::= "t" T), so S ::= "a" | "b" T only matches "a".
    g = Grammar({"S": ir.alt(lit("a"), ir.seq(lit("b"), R("T"))), "T": ir.seq(lit("t"), R("T"))}, "S")
    c = compile_grammar_ir(g, small_vocab(b"abt"))
    assert c.accepts_text(b"a") and not c.accepts_text(b"b") and not c.accepts_text(b"bt")
    assert not c.mask(c.start())[2]  # "b" leads nowhere


def test_right_recursion_runs_in_constant_stack():
    # L ::= "a" L | "a" "b"? ; deep right recursion, each return state final (a tail call)
    g = Grammar({"L": ir.alt(ir.seq(lit("a"), R("L")), ir.seq(lit("a"), ir.optional(lit("b"))))}, "L")
    c = compile_grammar_ir(g, small_vocab(b"ab", [b"aa", b"ab"]))
    assert c.accepts_text(b"a" * 5000 + b"b") and not c.accepts_text(b"a" * 50 + b"bb")
    s = c.advance_bytes(c.start(), b"a" * 5000)
    assert c._pool.dep[c._stacks[s]].max() <= 2
    bounded = compile_grammar_ir(g, small_vocab(b"ab"), max_depth=4)
    assert bounded.accepts_text(b"aaaaab") and not bounded.accepts_text(b"aaaaaab")


def test_non_recursive_start_around_recursive_rules():
    # root is not recursive; value/array/object are, and get merged into fewer rules.
    rules = dict(json_grammar().rules)
    rules["root"] = ir.seq(lit("<"), R("value"), lit(">"))
    c = compile_grammar_ir(Grammar(rules, "root"), JSON_VOCAB)
    assert len(c.tables.rule_names) <= 3
    assert c.accepts_text(b'<{"a":[1,[2]]}>') and c.accepts_text(b"<3>")
    assert not c.accepts_text(b'{"a":1}') and not c.accepts_text(b"<[1,]>")


def test_rows_are_built_as_parsing_reaches_them_and_the_order_does_not_matter():
    """Compiling builds the rules' start states only; stepping builds rows. Two constraints that
    built their rows in different orders reach the same states and masks on the same text."""
    props = {f"p{i}": {"type": "string", "maxLength": 12} for i in range(40)}
    node = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}, **props}}
    texts = [b'{"kids":[{"p7":"x"},{}],"p3":"ab"}', b'{"kids":[{"kids":[]}],"p39":""}']  # declared order
    a = compile_json_schema(node, JSON_VOCAB)
    b = compile_json_schema(node, JSON_VOCAB)
    assert a.tables.n_states <= len(a.tables.rule_names) + 1
    for first, c in ((texts[0], a), (texts[1], b)):
        assert c.accepts_text(first)
    assert a.tables.n_states > len(a.tables.rule_names) + 1
    for text in texts:
        sa, sb = a.start(), b.start()
        for byte in text:
            assert (a.mask(sa) == b.mask(sb)).all()
            sa, sb = a.advance_bytes(sa, bytes([byte])), b.advance_bytes(sb, bytes([byte]))
            assert a._stacks[sa].tolist() != [] and (a.is_accepting(sa) == b.is_accepting(sb))
        assert a.is_accepting(sa) and b.is_accepting(sb)
    for bad in (b'{"p3":"abcdefghijklm"}', b'{"kids":[{"p1":1}]}', b'{"p1":"a","p1":"b"}', b'{"kids":[{]}'):
        assert not a.accepts_text(bad)


def _rows_by_rule_state(tables) -> dict:
    """Every built row of `tables`, keyed and valued by (rule, local state, accepts) instead of the
    global ids (which depend on the order rows were built in)."""
    def name(g):
        return tables._rule_of[g], tables._local_of[g], bool(tables.accept[g])

    nc, rows = tables.n_classes, {}
    for q in range(tables.n_states):
        if tables.exp_lo[q * nc] >= 0:
            rows[name(q)] = [sorted((tuple(name(r) for r in tables.chain[tables.chain_ptr[e]:tables.chain_ptr[e + 1]]),
                                     name(tables.target[e])) for e in range(tables.exp_lo[q * nc + c],
                                                                            tables.exp_hi[q * nc + c]))
                             for c in range(nc)]
    return rows


def test_rows_built_together_are_the_rows_built_one_by_one():
    """`build_missing` builds a rerun's missing rows (and levels ahead) in batches; every row it
    builds, calls included, is the row `build` makes alone."""
    node = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}},
                                             "name": {"type": "string", "maxLength": 3}, "n": {"type": "integer"}}}
    one = compile_json_schema(node, JSON_VOCAB).tables
    # over the same rule automata: a rule's own states are numbered in the order they are reached
    together = PushdownTables(list(one.rule_names), one._rules, one.notes)
    assert (together.rule_start == one.rule_start).all()  # (no rule is called without its empty string)
    frontier = list(range(one.n_states))
    while frontier:  # every reachable row, one at a time
        for q in frontier:
            one.build(q)
        frontier = [q for q in range(one.n_states) if one.exp_lo[q * one.n_classes] < 0]
    for _ in range(100):  # the same rows, as reruns report them
        missing = [q for q in range(together.n_states) if together.exp_lo[q * together.n_classes] < 0]
        if not missing:
            break
        together.miss[0] = len(missing)
        together.miss[1:len(missing) + 1] = missing
        assert together.build_missing()
    assert len(_rows_by_rule_state(one)) > 50
    assert _rows_by_rule_state(together) == _rows_by_rule_state(one)


def test_parsing_keeps_to_the_states_budget_and_the_tables_stay_whole():
    """Parser states (over all rules) count against the states budget; past it, parsing raises,
    and every state handed out and every row written before is whole (the rows made in a batch
    stop at a row, not inside one)."""
    node = {"$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"},
                                                             "s": {"type": "string", "maxLength": 60}}}},
            "type": "object", "properties": {"t": {"type": "string", "maxLength": 60}, "a": {"$ref": "#/$defs/n"}}}
    c = compile_json_schema(node, byte_vocabulary(), budget=CompileBudget(max_states=200))
    with pytest.raises(CompileBudgetError, match="parser states") as err:
        c.advance_bytes(c.start(), b'{"t":"' + b"a" * 50 + b'","a":{"s":"' + b"b" * 50)
    assert err.value.budget == "states"
    t, nc = c.tables, c.tables.n_classes
    assert t.n_states <= 200 and len(t._local_of) == t.n_states
    built = np.flatnonzero(t.exp_lo[:t.n_states * nc:nc] >= 0)
    assert len(built) > 50
    for q in built.tolist():
        row = slice(q * nc, (q + 1) * nc)
        assert (t.exp_lo[row] >= 0).all() and (t.exp_lo[row] <= t.exp_hi[row]).all()
        for g in t.target[t.exp_lo[row].min():t.exp_hi[row].max()].tolist():  # each target handed out whole
            assert g < t.n_states and t.accept[g] == t._rules[t._rule_of[g]].accept[t._local_of[g]]
    assert c.advance_bytes(c.start(), b'{"t":"' + b"a" * 10) is not None  # what was built still parses


def test_threads_sharing_one_pushdown_see_what_one_thread_sees():
    """A compiled grammar is shared (a server's compile cache): its pool and lazily built rows grow
    while other threads step it. Eight threads walk and mask one fresh constraint at once."""
    import threading

    texts = [b'{"a":[1,{"b":[true,null]}],"c":"x"}', b'[[[[1]],{"k":{"k":[]}}]]', b'{"z":{"y":{"x":[1,2,3]}}}',
             b'[{"e":"\\u00e9"},-1.5e3,[],{}]']
    reference = compile_grammar_ir(json_grammar(), JSON_VOCAB)

    def masks(c, text):
        out, s = [], c.start()
        for i in range(len(text)):
            out.append(c.mask(s).copy())
            s = c.advance_bytes(s, text[i:i + 1])
        return out, c.is_accepting(s)

    expected = [masks(reference, t) for t in texts]
    shared = compile_grammar_ir(json_grammar(), JSON_VOCAB)
    results: dict[int, tuple] = {}

    def work(k):
        results[k] = masks(shared, texts[k % len(texts)])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 8
    for k, (got, accepting) in results.items():
        want, want_accepting = expected[k % len(texts)]
        assert accepting and want_accepting
        assert all(np.array_equal(g, w) for g, w in zip(got, want))


# ---------------------------------------------------------------- empty languages and dead ends


@pytest.mark.parametrize("text", [
    "root ::= root",
    'root ::= "a" root',
    'root ::= "a" (root)+',
    'root ::= r\nr ::= "b" r | r "c"',
])
def test_a_grammar_that_matches_no_string_is_refused(text):
    with pytest.raises(GrammarError) as err:
        compile_grammar_ir(parse_gbnf(text), BYTE_VOCAB)
    assert err.value.rules == ("root",) and "'root' matches no string" in str(err.value)


def test_a_reachable_rule_that_never_finishes_is_never_entered():
    # r ::= "z" r derives no finite string, so "y" (only ever followed by r) is a dead end.
    c = compile_grammar_ir(parse_gbnf('root ::= "x" | "y" r\nr ::= "z" r\n'), BYTE_VOCAB)
    assert np.flatnonzero(c.mask(c.start())).tolist() == [ord("x")]
    assert c.accepts_text(b"x") and not c.accepts_text(b"yz")


def test_a_recursive_schema_that_admits_no_value_is_unsatisfiable():
    # Every instance of "a" must contain another one: no finite JSON value is one.
    schema = {"$defs": {"a": {"type": "array", "items": {"$ref": "#/$defs/a"}, "minItems": 1}}, "$ref": "#/$defs/a"}
    with pytest.raises(UnsatisfiableSchemaError):
        compile_json_schema(schema, BYTE_VOCAB)


def _derives_a_string(rules) -> bool:
    """Does rule 0 of a `tests.fuzzing.grammars` structure derive a finite string? (least fixed point
    over the structure itself, independent of structgen's normalisation)"""
    done: set[int] = set()

    def item_ok(item, q):
        return q in ("?", "*") or item[0] != "ref" or item[1] in done

    changed = True
    while changed:
        changed = False
        for i, alts in enumerate(rules):
            if i not in done and any(all(item_ok(it, q) for it, q in alt) for alt in alts):
                done.add(i)
                changed = True
    return 0 in done


@given(rules=grammars(), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_random_grammars_never_reach_a_dead_end(rules, seed):
    """Empty languages are refused; otherwise every state a random mask walk reaches allows a token
    or is accepting, and a finished walk is in the language (judged by an Earley recognizer)."""
    try:
        grammar = parse_gbnf(gbnf(rules))
    except GrammarError:  # unreachable rules: refused before any compiling
        assume(False)
    if not _derives_a_string(rules):
        with pytest.raises(GrammarError, match="'root' matches no string"):
            compile_grammar_ir(grammar, BYTE_VOCAB)
        return
    try:
        c = compile_grammar_ir(grammar, BYTE_VOCAB)
    except GrammarError as e:  # left recursion through several rules, too ambiguous
        assert "matches no string" not in str(e)
        assume(False)
    rng = random.Random(seed)
    for _ in range(3):
        try:
            _walk_to_the_end(c, rules, rng)
        except GrammarError as e:  # too many parses alive at once: a named refusal, not a dead end
            assert "ambiguous" in str(e)
            return


def _walk_to_the_end(c, rules, rng: random.Random, steps: int = 30) -> None:
    state, out = c.start(), b""
    for _ in range(steps):
        choices = np.flatnonzero(c.mask(state))
        assert len(choices) > 0, f"dead end after {out!r}"
        t = int(rng.choice(choices))
        if t in BYTE_VOCAB.eos_token_ids:
            assert Earley(rules).recognizes(out.decode()), out
            return
        state = c.advance(state, t)
        out += BYTE_VOCAB.tokens[t]


EXPRESSIONS = r"""
root    ::= expr
expr    ::= and ( " OR " and )*
and     ::= not ( " AND " not )*
not     ::= "NOT "* cmp
cmp     ::= sum ( ( "=" | "<" | "<=" ) sum | " IN (" sum ( "," sum )* ")" | " BETWEEN " sum " AND " sum )?
sum     ::= prod ( [-+] prod )*
prod    ::= unary ( [*/] unary )*
unary   ::= "-"? primary
primary ::= [0-9]+ | [a-z]+ | "(" expr ")" | "f(" expr ( "," expr )* ")"
"""


def test_merging_recursive_rules_is_capped_without_changing_the_language(monkeypatch):
    """Each expression level uses the next several times: merged all into one rule it would be
    copied multiplicatively. With the cap the levels stay rules of their own; the language is
    the same as the fully merged grammar's (judged by walking both on random members and
    mutations of them)."""
    import structgen.grammar.normalise as normalise
    from structgen.grammar.random_strings import random_string

    grammar = parse_gbnf(EXPRESSIONS)
    vocab = byte_vocabulary()
    monkeypatch.setattr(normalise, "MAX_MERGED_SIZE", 60)  # this grammar is small: a small cap
    capped = compile_grammar_ir(grammar, vocab)
    monkeypatch.setattr(normalise, "MAX_MERGED_SIZE", 10**9)
    merged = compile_grammar_ir(grammar, vocab)
    assert len(capped.tables.rule_names) > len(merged.tables.rule_names)
    rng = random.Random(5)
    for _ in range(150):
        text = random_string(grammar, rng, max_length=60)
        variants = [text, text[:-1], text + b")", text.replace(b"(", b"", 1), text.replace(b" AND ", b" OR ", 1)]
        for v in variants:
            a = capped.advance_bytes(capped.start(), v)
            b = merged.advance_bytes(merged.start(), v)
            assert (a is not None and capped.is_accepting(a)) == (b is not None and merged.is_accepting(b)), v
        s = capped.advance_bytes(capped.start(), text)
        assert s is not None and capped.is_accepting(s), text


BOUNDED_STRINGS_TREE = {"$defs": {"n": {"type": "object", "additionalProperties": False, "required": ["k"],
                                        "properties": {
    "k": {"type": "string", "maxLength": 3}, "p": {"type": "string", "pattern": "^[a-f]+$"}, "s": {"type": "string"},
    "c": {"type": "array", "items": {"$ref": "#/$defs/n"}, "maxItems": 2}}}}, "$ref": "#/$defs/n"}


def test_masks_in_strings_of_a_recursive_schema_hold_only_readable_tokens(smollm2_vocab):
    """Where a string's content reads every plain byte back into the same state, a mask takes every
    plain token at once; where it does not (a bound, a pattern), it must not. Judge: `advance`, on
    tokens the mask allows and on tokens it refuses, at every state of random walks."""
    c = compile_json_schema(BOUNDED_STRINGS_TREE, smollm2_vocab)
    rng = np.random.default_rng(0)
    eos = list(smollm2_vocab.eos_token_ids)
    for _ in range(4):
        s = c.start()
        for _ in range(40):
            m = c.mask(s)
            allowed = np.setdiff1d(np.flatnonzero(m), eos)
            if not len(allowed):
                break
            for t in rng.choice(allowed, min(300, len(allowed)), replace=False).tolist():
                assert c.advance(s, t) is not None, smollm2_vocab.tokens[t]
            refused = np.flatnonzero(~m & np.asarray(smollm2_vocab.allowed, bool))
            for t in rng.choice(refused, min(200, len(refused)), replace=False).tolist():
                assert c.advance(s, t) is None, smollm2_vocab.tokens[t]
            s = c.advance(s, int(rng.choice(allowed)))
