"""`Constraint` over the real SmolLM2 vocabulary.

Judges: the mask must equal the set of tokens whose bytes, fed one by one
through the automaton, keep it alive (an independent per-token walk in
Python), and the automaton itself is checked against `re` in
test_automata.py / test_regex.py.
"""

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from structgen.automata import ir
from structgen.automata.charset import ANY_CHAR, CharSet
from structgen.automata.dfa import build_dfa
from structgen.constraint import Constraint

STRING = ir.seq(ir.literal('"'), ir.star(ir.chars(ANY_CHAR - CharSet.of('"\\', (0, 31)))), ir.literal('"'))
DIGITS = ir.plus(ir.chars(CharSet.of(("0", "9"))))
RECORD = ir.seq(ir.literal('{"name":'), STRING, ir.literal(',"age":'), DIGITS, ir.literal("}"))
RECORD_RE = r'\{"name":"[^"\\\x00-\x1f]*","age":[0-9]+\}'


@pytest.fixture(scope="module")
def record(smollm2_vocab):
    return Constraint(build_dfa(RECORD), smollm2_vocab)


def _reference_mask(c: Constraint, state: int) -> np.ndarray:
    vocab = c.vocab
    out = np.zeros(len(vocab), bool)
    for t, data in enumerate(vocab.tokens):
        if vocab.allowed[t] and data and t not in vocab.eos_token_ids:
            s = state
            for b in data:
                s = c.dfa.step(s, b)
                if s < 0:
                    break
            out[t] = s >= 0
    out[list(vocab.eos_token_ids)] = c.is_accepting(state)
    return out


def test_mask_equals_per_token_walk_in_every_state(record):
    for state in range(record.dfa.n_states):
        assert np.array_equal(record.mask(state), _reference_mask(record, state)), state


STRINGS = {"type": "object", "properties": {"s": {"type": "string"}, "p": {"type": "string", "pattern": "^[a-z ]*$"},
                                             "e": {"enum": ["ab", "a b", 3]},
                                             "m": {"type": "string", "minLength": 2, "maxLength": 5},
                                             "q": {"type": "string", "pattern": "^[ a-y]*$"}}}


def test_mask_equals_per_token_walk_in_strings_of_a_lazy_schema(smollm2_vocab):
    """In a string's content the plain tokens up to the room left are readable and `mask` walks only
    the others (`token_trie.PlainSplit`), and the trie walk reads a subtree of plain bytes whole where
    its state loops on them (`token_trie.walk_trie`; "q" loops on space and letters but not on z): in
    free and bounded strings, escapes, patterns and enums the mask must still equal the per-token walk."""
    import structgen

    c = structgen.compile_json_schema(STRINGS, smollm2_vocab)
    text = '{"s":"a\\"b\\u001f é c","p":"x y","e":"a b","m":"a é.","q":"ab y"}'.encode()
    state = c.start()
    for i in range(len(text)):
        assert np.array_equal(c.mask(state), _reference_mask(c, state)), text[:i]
        state = c.advance_bytes(state, text[i:i + 1])
        assert state is not None, text[:i + 1]
    assert c.is_accepting(state)


@settings(max_examples=40, deadline=None)
@given(name=st.text(st.characters(codec="utf-8", exclude_characters='"\\',
                                  exclude_categories=("Cc", "Cs")), max_size=20),
       age=st.integers(0, 10**6))
def test_tokenised_valid_text_is_accepted_token_by_token(record, smollm2_tokenizer, name, age):
    text = f'{{"name":"{name}","age":{age}}}'
    assert re.fullmatch(RECORD_RE, text)
    ids = smollm2_tokenizer.encode(text, add_special_tokens=False)
    # SmolLM2's byte alphabet lacks a few lead bytes (e.g. 0xF1): such text has no tokenisation at all.
    assume(record.vocab.decode(ids) == text.encode())
    state = record.start()
    for t in ids:
        assert record.mask(state)[t]
        state = record.advance(state, t)
        assert state is not None
    assert record.is_accepting(state)
    eos = record.vocab.eos_token_ids[0]
    assert record.advance(state, eos) == Constraint.FINISHED


def test_end_of_sequence_only_when_accepting(record):
    eos = record.vocab.eos_token_ids[0]
    assert record.advance(record.start(), eos) is None
    assert not record.mask(record.start())[eos]


def test_special_tokens_are_never_allowed(record):
    vocab = record.vocab
    specials = [t for t in range(len(vocab)) if not vocab.allowed[t] and t not in vocab.eos_token_ids]
    assert specials
    inside_string = record.dfa.walk(b'{"name":"')
    for t in specials:
        assert record.advance(inside_string, t) is None
        assert not record.mask(inside_string)[t]


def test_rejected_token_gives_none(record, smollm2_tokenizer):
    bad = smollm2_tokenizer.encode("[", add_special_tokens=False)[0]
    assert record.advance(record.start(), bad) is None


def test_mask_equals_per_token_advance_in_strings_of_a_recursive_schema(smollm2_vocab):
    """The pushdown constraint's trie walk takes a subtree of plain bytes whole where a stack reads every
    plain byte back into itself (`grammar.kernels._loops_on_plain`): inside free and bounded strings,
    patterns and enums of a recursive schema, its mask must equal advancing each token on its own."""
    import structgen

    schema = {**STRINGS, "properties": {**STRINGS["properties"], "c": {"$ref": "#"}}}
    c = structgen.compile_json_schema(schema, smollm2_vocab)
    assert type(c).__name__ == "GrammarConstraint"
    text = '{"s":"","c":{"s":"a b","p":"x y","e":"a b","m":"ab","q":"ab y"}}'.encode()
    inside = [text.index(part) + len(part) for part in (b'"s":"a', b'"m":"a', b'"m":"ab', b'"q":"a', b'"p":"x',
                                                         b'"e":"a')]
    state = c.start()
    for i in range(len(text)):
        if i in inside:
            expected = np.array([c.advance(state, t) is not None for t in range(len(smollm2_vocab))])
            assert np.array_equal(c.mask(state), expected), text[:i]
        state = c.advance_bytes(state, text[i:i + 1])
        assert state is not None, text[:i + 1]
    assert c.is_accepting(state)
