"""`structgen.integrations.vllm.VLLMLanguageModel`: structgen's samplers on a real vLLM engine (the CPU build).

The reference is the in-process `TransformersLM` on the same model (the default SmolLM2-135M-Instruct,
float32), and the judge of the outputs is jsonschema (`structgen.judge.validator_for`). One engine serves
the module (starting one takes a minute or two on two cores). Run with `make test-vllm`.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from structgen.judge import validator_for

pytestmark = pytest.mark.vllm

PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                           "age": {"type": "integer", "minimum": 0, "maximum": 120}},
          "required": ["name", "age"], "additionalProperties": False}
PROMPT = "Give a person as JSON."

#: How far a vLLM row may be from TransformersLM's, per token with log-probability above -20. Measured on
#: this model: at most 8e-5 (vLLM's CPU kernels and transformers' sum in other orders over 30 layers).
#: A row shifted by one id, another context's row or an unnormalised row is off by whole nats.
ROW_TOLERANCE = 5e-4


@pytest.fixture(scope="module")
def llm():
    """A float32 engine on the default model, every token's logprob available, prefix caching on, with
    32-token KV blocks (the CPU build's default of 128 would leave these short contexts nothing to share)."""
    from vllm import LLM

    from structgen.lm.loading import locate_model

    files = locate_model(None)
    llm = LLM(model=str(files.model_dir), tokenizer=str(files.tokenizer_dir), dtype="float32", max_model_len=1024,
              max_logprobs=-1, enable_prefix_caching=True, block_size=32, kv_cache_memory_bytes=512 * 2**20,
              seed=0)
    yield llm
    llm.llm_engine.engine_core.shutdown()


@pytest.fixture(scope="module")
def lm(llm):
    from structgen.integrations.vllm import VLLMLanguageModel

    return VLLMLanguageModel(llm)


@pytest.fixture(scope="module")
def reference():
    from structgen.lm import load_model

    return load_model(None, device="cpu")  # float32


def test_the_vocabulary_and_prompts_are_transformers_ones(lm, reference):
    assert lm.vocabulary.tokens == reference.vocabulary.tokens
    assert lm.vocabulary.eos_token_ids == reference.vocabulary.eos_token_ids
    assert lm.encode_prompt(PROMPT) == reference.encode_prompt(PROMPT)
    assert lm.encode_prompt(None) == reference.encode_prompt(None)


def test_rows_agree_with_transformers(lm, reference):
    prompt = reference.encode_prompt(PROMPT)
    answer = reference.encode_text('{"name": "Ada Lovelace", "age": 36}')
    contexts = [prompt, prompt + answer[:3], prompt + answer, reference.encode_prompt(None), prompt]  # one twice
    rows = lm.next_token_logprobs(contexts)
    expected = reference.next_token_logprobs(contexts)
    assert rows.shape == (len(contexts), len(lm.vocabulary)) and rows.dtype == np.float64
    np.testing.assert_allclose(np.logaddexp.reduce(rows, axis=1), 0.0, atol=1e-9)
    for row, want in zip(rows, expected):
        likely = want > -20
        assert np.max(np.abs(row[likely] - want[likely])) < ROW_TOLERANCE
        assert row.argmax() == want.argmax()


def test_contexts_the_engine_cannot_take_are_refused(lm):
    from structgen import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="at least one token"):
        lm.next_token_logprobs([[1], []])
    with pytest.raises(InvalidArgumentError, match="max_model_len"):
        lm.next_token_logprobs([[1] * 1024])


def test_a_vocabulary_of_another_width_is_refused(llm):
    from structgen import InvalidArgumentError, Vocabulary
    from structgen.integrations.vllm import VLLMLanguageModel

    with pytest.raises(InvalidArgumentError, match="49152"):
        VLLMLanguageModel(llm, vocabulary=Vocabulary([b"a", b""], [1]))


def valid(text: str) -> bool:
    try:
        return validator_for(PERSON).is_valid(json.loads(text))
    except json.JSONDecodeError:
        return False


@pytest.mark.parametrize("sampler, particles", [("smc", 4), ("awrs", 1)])
def test_sampling_on_vllm_matches_transformers(lm, reference, sampler, particles):
    """Every finished output is valid, and the run is TransformersLM's run on the same seed.

    Both runs draw the same random numbers (same seed, common random numbers), so their sampling error
    against each other is zero and only the models' numerics differ. Rows that agree within ROW_TOLERANCE
    do not change a draw unless a uniform falls within about that much of a boundary (it did not here:
    the paths are asserted equal), and along equal paths a weight is a sum over steps of logs of
    probability masses, each moved by at most ROW_TOLERANCE: hence |Δ log w| <= steps · ROW_TOLERANCE.
    """
    import structgen

    constraint = structgen.compile_json_schema(PERSON, lm.vocabulary)
    options = dict(sampler=sampler, particles=particles, max_tokens=64, seed=3)
    before = lm.cached_tokens
    got = structgen.sample(lm, constraint, PROMPT, **options)
    want = structgen.sample(reference, constraint, PROMPT, **options)
    finished = [p for p in got.particles if p.finished]
    assert finished and all(valid(p.text) for p in finished), [p.text for p in got.particles]
    assert [p.tokens for p in got.particles] == [p.tokens for p in want.particles]
    bound = got.stats["steps"] * ROW_TOLERANCE
    np.testing.assert_allclose(got.log_weights, want.log_weights, rtol=0, atol=bound)
    assert math.isfinite(got.log_ml) and abs(got.log_ml - want.log_ml) <= bound
    assert lm.cached_tokens > before  # the steps reused the prompt's (and earlier steps') key/values
