"""The grammar benchmark's inputs: its whitespace writer and its Lark translation of json.gbnf.

The judge is `json.loads` (minus NaN/Infinity); llguidance is the engine
under the Lark grammar, structgen the engine under json.gbnf.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.grammar_mask import JSON_CORPUS, JSON_GBNF, JSON_WS_LARK, judge_json, mutations, random_document, spaced

llguidance = pytest.importorskip("llguidance")


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_spaced_writes_the_same_value_as_valid_json(seed):
    rng = random.Random(seed)
    value = random_document(rng)
    text = spaced(value, rng)
    assert judge_json(text)
    assert json.loads(text) == value


def test_the_lark_translation_and_json_gbnf_accept_what_the_judge_accepts(smollm2_tokenizer, smollm2_vocab):
    import llguidance.hf

    import structgen

    ll_tokenizer = llguidance.hf.from_tokenizer(smollm2_tokenizer, n_vocab=len(smollm2_vocab),
                                                eos_token=list(smollm2_vocab.eos_token_ids))
    matcher = llguidance.LLMatcher(ll_tokenizer, llguidance.grammar_from("lark", JSON_WS_LARK), log_level=0)
    assert not matcher.is_error(), matcher.get_error()
    ours = structgen.compile_grammar(JSON_GBNF.read_text(encoding="utf-8"), smollm2_vocab)
    corpus = json.loads(JSON_CORPUS.read_text(encoding="utf-8"))
    rng = random.Random(0)
    texts = corpus["valid"] + corpus["invalid"]
    texts += [t for v in (random_document(rng) for _ in range(10)) for t in mutations(spaced(v, rng), rng, 5)]
    for text in texts:
        ids = ll_tokenizer.tokenize_bytes(text.encode())
        m = matcher.deep_copy()
        ll_accepts = m.try_consume_tokens(ids) == len(ids) and m.is_accepting()
        assert ll_accepts == judge_json(text) == ours.accepts_text(text.encode()), repr(text)
