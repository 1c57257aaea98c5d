"""Differential fuzzing of patterns and grammars (quick, seeded; `make fuzz` runs the long campaign).

Patterns: the compiled automaton matches a string exactly when `regress`
(an ECMA-262 engine, through `structgen.judge`) full-matches it, and mask
walks end in matching strings. Grammars: mask walks of the shipped GBNF
grammars end in text that the grammar's independent judge
(tests/test_grammar_corpora.py: `json.loads`, `ast`, `csv`, SQLite) accepts;
random small grammars agree with an Earley recognizer (tests/fuzzing/grammars.py)
on random strings both ways, and their mask walks never reach a dead end.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing.checks import Tally, check_grammar, check_random_grammar, check_regex
from tests.fuzzing.grammars import CHARS, Earley, grammars
from tests.fuzzing.regexes import patterns, strings
from tests.fuzzing.vocabularies import byte_vocabulary
from tests.test_grammar_corpora import SYNTAX_JUDGES, load

pytestmark = pytest.mark.fuzz

VOCAB = byte_vocabulary()


def _assert_clean(tally: Tally, *kinds):
    bad = tally.failures(*kinds)
    assert not bad, "\n".join(f"{f.kind}: {f.subject!r} text={f.text!r}: {f.cause}" for f in bad[:5])


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), rng_seed=st.integers(0, 2**32 - 1))
def test_patterns_agree_with_ecma262(data, rng_seed):
    pattern = data.draw(patterns(), label="pattern")
    texts = data.draw(st.lists(strings(pattern), max_size=12), label="strings")
    tally = Tally()
    check_regex(pattern, texts, VOCAB, random.Random(rng_seed), tally, walks=1)
    # incompleteness is a failure too: a pattern compiles to exactly its language
    _assert_clean(tally, "unsound", "crash", "inconsistent", "refused")


@pytest.mark.parametrize("pattern, text, matches", [
    ("^\\W$", "é", True), ("^\\D$", "\u0663", True), ("^\\s$", "\ufeff", True), ("\\w+", "ab_9", True),
    ("a{2,3}", "aaaa", False), (".", "😀", True), ("[^a]", "😀", True),
])
def test_pattern_check_sees_the_dialect(pattern, text, matches):
    """The check reports a disagreement when the engine and ECMA-262 differ; here they must agree."""
    tally = Tally()
    check_regex(pattern, [text], VOCAB, random.Random(0), tally, walks=0)
    assert tally.counts["strings"] == 1
    _assert_clean(tally, "unsound", "crash", "refused")


@pytest.mark.parametrize("name", sorted(SYNTAX_JUDGES))
def test_grammar_walks_satisfy_the_judge(name):
    tally = Tally()
    check_grammar(name, load(name), SYNTAX_JUDGES[name], VOCAB, random.Random(0), tally, walks=15)
    assert tally.counts["walks"] == 15
    _assert_clean(tally)


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rules=grammars(), texts=st.lists(st.text(st.sampled_from(CHARS), max_size=6), max_size=10),
       rng_seed=st.integers(0, 2**32 - 1))
def test_random_grammars_agree_with_earley(rules, texts, rng_seed):
    tally = Tally()
    check_random_grammar(rules, texts, VOCAB, random.Random(rng_seed), tally, walks=2)
    _assert_clean(tally, "unsound", "crash", "inconsistent", "refused")


@pytest.mark.parametrize("rules, member, outsider", [
    ([[[(("lit", "a"), ""), (("ref", 0), "")], []]], "aaa", "ab"),  # root ::= "a" root | ""
    ([[[(("ref", 0), ""), (("lit", "a"), "")], [(("cls", "b("), "+")]]], "b(aa", "a"),  # left recursion
    ([[[(("ref", 1), "*")]], [[(("lit", "é"), "?"), (("lit", "b"), "")]]], "béb", "é"),
])
def test_earley_recognizer(rules, member, outsider):
    """The judge itself: members in, outsiders out."""
    e = Earley(rules)
    assert e.recognizes(member) and not e.recognizes(outsider)
