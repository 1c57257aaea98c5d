"""`ir.Members`: the linear NFA of object members has exactly the language of its plain (quadratic) form.

The judge is the plain form itself, compiled the ordinary way; languages are
compared as minimal DFAs by a simultaneous walk (equal languages have
isomorphic minimal DFAs). Emptiness and nullability as the pushdown
compiler decides them on `Members` are compared with the plain form too.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from structgen.automata import ir
from structgen.automata.dfa import build_dfa
from structgen.grammar.normalise import _holds
from tests.languages import same_language

MEMBER = st.sampled_from([ir.literal("a"), ir.literal("bb"), ir.alt(ir.literal("a"), ir.literal("c")),
                          ir.star(ir.literal("d")), ir.NOTHING])
SEP = st.sampled_from([ir.literal(","), ir.EPSILON, ir.optional(ir.literal(";"))])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(MEMBER, st.booleans()), max_size=5), st.one_of(st.none(), MEMBER), SEP)
def test_members_language_is_its_plain_form(entries, extras, sep):
    node = ir.members(entries, extras, sep)
    plain = node.plain() if isinstance(node, ir.Members) else node
    assert same_language(build_dfa(node), build_dfa(plain))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("pqrs"), st.booleans()), max_size=6),
       st.one_of(st.none(), st.sampled_from("pqrs")), st.sampled_from("pqrs"), st.sets(st.sampled_from("pqrs")),
       st.booleans())
def test_members_emptiness_and_nullability_follow_the_plain_form(entries, extras, sep, rules, byte_set):
    node = ir.Members(tuple((ir.ref(r), req) for r, req in entries), None if extras is None else ir.ref(extras),
                      ir.ref(sep))
    assert _holds(node, rules, byte_set, None) == _holds(node.plain(), rules, byte_set, None)
