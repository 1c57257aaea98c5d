"""Models from what the user has: their own transformers objects, folders laid out as structgen's
cache lays them, GGUF files; schema errors before any weights load.

Judges: the same weights' numbers through another route, `jsonschema`, and the named errors.
"""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

import structgen
from structgen import generation
from structgen.errors import ModelLoadError
from structgen.lm import load_model, locate_model

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["n"],
          "additionalProperties": False}


@pytest.fixture(scope="module")
def cache_layout(tiny_lm, tmp_path_factory):
    """The tiny model saved the way structgen caches the default one: model/ and tokenizer/ side by side."""
    root = tmp_path_factory.mktemp("cached")
    tiny_lm.model.save_pretrained(root / "model")
    tiny_lm.tokenizer.save_pretrained(root / "tokenizer")
    return root


def test_own_model_and_tokenizer_objects(tiny_lm):
    for seed in range(2):
        out = structgen.generate(SCHEMA, "a digit", model=tiny_lm.model, tokenizer=tiny_lm.tokenizer, seed=seed,
                                 max_tokens=20)
        assert out.valid, out.reason
        jsonschema.validate(out.value, SCHEMA)
        assert out.text == structgen.generate(SCHEMA, "a digit", model=tiny_lm, seed=seed, max_tokens=20).text
    samples = structgen.sample(tiny_lm.model, structgen.compile_regex("[a-z]{4}", tiny_lm.vocabulary), "x",
                               tokenizer=tiny_lm.tokenizer, sampler="awrs")
    assert samples.best().finished and len(samples.best().text) == 4


def test_a_model_object_without_tokenizer_is_a_named_error(tiny_lm):
    with pytest.raises(ModelLoadError, match="pass tokenizer="):
        structgen.generate(SCHEMA, "x", model=tiny_lm.model)
    with pytest.raises(ModelLoadError, match="not int"):
        structgen.generate(SCHEMA, "x", model=3)
    with pytest.raises(structgen.InvalidArgumentError, match="tokenizer"):
        structgen.generate(SCHEMA, "x", model=tiny_lm, tokenizer=tiny_lm.tokenizer)


@pytest.mark.parametrize("where", ["model", "."])
def test_the_cache_layout_loads_from_the_model_folder_or_its_root(tiny_lm, cache_layout, where):
    files = locate_model(cache_layout / where)
    assert files.model_dir == cache_layout / "model" and files.tokenizer_dir == cache_layout / "tokenizer"
    loaded = load_model(cache_layout / where, device="cpu")
    context = tiny_lm.encode_prompt("hi")
    tiny_lm.clear_cache()
    np.testing.assert_allclose(loaded.next_token_logprobs([context]), tiny_lm.next_token_logprobs([context]),
                               atol=1e-4)


def test_a_model_folder_without_tokenizer_is_a_named_error(tiny_lm, tmp_path):
    tiny_lm.model.save_pretrained(tmp_path / "weights")
    with pytest.raises(ModelLoadError, match="no tokenizer") as caught:
        structgen.generate(SCHEMA, "x", model=str(tmp_path / "weights"))
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_gguf_is_a_named_error(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not gguf")
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        structgen.generate(SCHEMA, "x", model=fake)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(b"GGUF\x03\x00\x00\x00")
    with pytest.raises(ModelLoadError, match="cannot load a model from") as caught:
        load_model(truncated)
    assert "\n" not in str(caught.value)


def test_schema_errors_come_before_the_weights_load(cache_layout, monkeypatch):
    def load(*args, **kwargs):
        pytest.fail("the weights were loaded before the schema was refused")

    monkeypatch.setattr(generation, "default_model", load)
    with pytest.raises(structgen.UnsatisfiableSchemaError):
        structgen.generate({"type": "integer", "minimum": 5, "maximum": 4}, "x", model=cache_layout)
    with pytest.raises(structgen.RegexSyntaxError):
        structgen.generate(regex="(", prompt="x", model=cache_layout / "model")


def test_a_folder_is_loaded_once_per_process(cache_layout, monkeypatch):
    monkeypatch.setattr(generation, "_models", {})
    first = structgen.generate(SCHEMA, "x", model=cache_layout, max_tokens=20)
    lm = generation._models[str(cache_layout)]
    second = structgen.generate(SCHEMA, "x", model=cache_layout, max_tokens=20)
    assert generation._models == {str(cache_layout): lm} and first.text == second.text and first.valid


# ------------------------------------------------------------------ the real model


@pytest.mark.slow
def test_the_default_models_cached_folder_and_its_gguf_file():
    from structgen.lm.default import cache_dir, gguf_path

    prompt = "Give me a digit as JSON."
    for model in (cache_dir() / "model", gguf_path()):
        out = structgen.generate(SCHEMA, prompt, model=model, temperature=0, max_tokens=20)
        assert out.valid, out.reason
        jsonschema.validate(json.loads(out.text), SCHEMA)
