"""`structgen.generate` over a list of prompts (batched forward passes), streaming, and honest truncation.

Judges: `jsonschema`, `re.fullmatch`, the same prompts generated one by one, and
each context computed alone from scratch (`TransformersLM` without key/value reuse).
"""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest

import structgen
from structgen.lm import tiny_random_model

SMALL = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "minimum": -5, "maximum": 5}},
    "required": ["ok", "n"],
    "additionalProperties": False,
}
PROMPTS = ["hi", "a much longer prompt, with many more tokens than the first one", "x y"]


class CountingLM:
    """Forwards to a real model and records how many contexts each call asked for."""

    def __init__(self, lm):
        self.lm, self.vocabulary, self.calls = lm, lm.vocabulary, []

    def encode_prompt(self, prompt):
        return self.lm.encode_prompt(prompt)

    def next_token_logprobs(self, contexts):
        self.calls.append(len(contexts))
        return self.lm.next_token_logprobs(contexts)


def test_contexts_of_different_lengths_in_one_pass_match_each_alone(tiny_lm, smollm2_tokenizer):
    recomputing = tiny_random_model(smollm2_tokenizer, seed=0, cache_size=0)
    tiny_lm.clear_cache()
    contexts = [tiny_lm.encode_prompt(p) for p in PROMPTS]
    for _ in range(3):  # the first call from scratch, then every row resumes from its own cached prefix
        rows = tiny_lm.next_token_logprobs(contexts)
        alone = np.stack([recomputing.next_token_logprobs([c])[0] for c in contexts])
        np.testing.assert_allclose(rows, alone, atol=1e-4)
        contexts = [c + [int(r.argmax())] for c, r in zip(contexts, rows)]


@pytest.mark.parametrize("sampler", ["lcd", "awrs", "smc"])
def test_a_batch_gives_what_each_prompt_gives_alone(tiny_lm, sampler):
    batch = structgen.generate(SMALL, PROMPTS, model=tiny_lm, temperature=0, max_tokens=30, sampler=sampler,
                               particles=2)
    alone = [structgen.generate(SMALL, p, model=tiny_lm, temperature=0, max_tokens=30, sampler=sampler,
                                particles=2) for p in PROMPTS]
    assert [r.text for r in batch] == [r.text for r in alone]
    for result in batch:
        assert result.valid, result.reason
        jsonschema.validate(result.value, SMALL)


def test_a_batch_shares_forward_passes(tiny_lm):
    counting = CountingLM(tiny_lm)
    results = structgen.generate(SMALL, PROMPTS, model=counting, max_tokens=30, seed=4)
    assert all(r.valid for r in results), [r.reason for r in results]
    assert max(counting.calls) == len(PROMPTS)  # every prompt's step in one call while all three run
    # one call per sampled step of the longest (a token, or end-of-sequence); fast-forwarded tokens need none
    assert len(counting.calls) == max(r.stats["steps"] for r in results)
    assert all(r.stats["steps"] + r.stats["forced_tokens"] == len(r.tokens) + (r.reason == "end_of_sequence")
               for r in results)


def test_a_batch_is_seeded_per_prompt(tiny_lm):
    batch = structgen.generate(regex="[a-z]{3,8}", prompt=["p", "p", "p"], model=tiny_lm, seed=7, max_tokens=10)
    alone = [structgen.generate(regex="[a-z]{3,8}", prompt="p", model=tiny_lm, seed=7 + i, max_tokens=10)
             for i in range(3)]
    assert [r.text for r in batch] == [r.text for r in alone]
    assert all(re.fullmatch("[a-z]{3,8}", r.text) for r in batch)


def test_token_ids_are_one_prompt_and_lists_of_them_a_batch(tiny_lm):
    ids = tiny_lm.encode_prompt("hi")
    one = structgen.generate(SMALL, ids, model=tiny_lm, temperature=0, max_tokens=30)
    two = structgen.generate(SMALL, [ids, ids], model=tiny_lm, temperature=0, max_tokens=30)
    assert isinstance(one, structgen.GenerationResult) and [r.text for r in two] == [one.text, one.text]
    with pytest.raises(structgen.InvalidArgumentError, match="empty list"):
        structgen.generate(SMALL, [], model=tiny_lm)


@pytest.mark.parametrize("sampler", ["lcd", "awrs"])
def test_stream_pieces_join_to_the_result(tiny_lm, sampler):
    stream = structgen.generate(SMALL, "hi", model=tiny_lm, max_tokens=30, seed=2, sampler=sampler, stream=True)
    pieces = list(stream)
    assert len(pieces) > 3 and all(pieces)
    assert "".join(pieces) == stream.result.text
    assert stream.result.valid and stream.result.text == structgen.generate(
        SMALL, "hi", model=tiny_lm, max_tokens=30, seed=2, sampler=sampler).text


def test_stream_pieces_are_whole_characters(tiny_lm):
    pattern = "(é|ü|日本|🙂){4,8}"
    for seed in range(3):
        stream = structgen.generate(regex=pattern, prompt="x", model=tiny_lm, seed=seed, max_tokens=40, stream=True)
        pieces = list(stream)
        assert all("\ufffd" not in p for p in pieces)
        assert re.fullmatch(pattern, "".join(pieces)) and stream.result.valid


def test_closing_a_stream_stops_the_generation(tiny_lm):
    counting = CountingLM(tiny_lm)
    with structgen.generate(regex="[a-z]{50}", prompt="x", model=counting, max_tokens=60, stream=True) as stream:
        next(stream)
    assert len(counting.calls) < 10


def test_stream_is_refused_where_no_output_is_final_early(tiny_lm):
    with pytest.raises(structgen.InvalidArgumentError, match="stream"):
        structgen.generate(SMALL, "x", model=tiny_lm, sampler="smc", stream=True)
    with pytest.raises(structgen.InvalidArgumentError, match="stream"):
        structgen.generate(SMALL, ["x", "y"], model=tiny_lm, stream=True)


@pytest.mark.parametrize("sampler", ["lcd", "awrs", "smc"])
def test_output_cut_at_max_tokens_is_never_complete(tiny_lm, sampler):
    """The cut falls where the number could end (the judge accepts the text), and still it is no output."""
    for seed in range(3):
        out = structgen.generate({"type": "integer"}, "x", model=tiny_lm, seed=seed, max_tokens=4, sampler=sampler)
        if len(out.tokens) == 4:
            assert re.fullmatch(r"-?(0|[1-9][0-9]*)", out.text)
            assert not out.valid and out.value is None and "max_tokens" in out.reason
        else:
            assert out.valid and json.loads(out.text) == out.value
    digits = structgen.generate(regex="[0-9]{4}", prompt="x", model=tiny_lm, max_tokens=4)
    assert digits.valid and digits.reason == "complete"  # nothing more allowed: complete, not cut
