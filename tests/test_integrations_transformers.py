"""`structgen.integrations.transformers.LogitsProcessor` inside a real `model.generate`.

Judges: `jsonschema` and `re.fullmatch` on the decoded rows; transformers itself
runs the decoding loop (left-padded batches, greedy and sampling). The fast tests
use the tiny random Llama (it knows no JSON, so the processor does all the work);
the slow ones the real default model.
"""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import torch

import structgen
from structgen.integrations.transformers import LogitsProcessor, UnsupportedGenerationError, vocabulary

RECORD = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0,
                                                                       "maximum": 120}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
DATE = r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])-[0-2][0-9]"
PROMPTS = ["Give a person as JSON.", "Hi", "Write, as a JSON object, a person: an old sailor from Brittany, "
                                           "with his name and his age in years."]


def left_padded(tokenizer, prompts, device):
    texts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                           tokenize=False) for p in prompts]
    tokenizer.padding_side = "left"
    return tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)


def generated(tokenizer, batch, out):
    return [tokenizer.decode(row, skip_special_tokens=True) for row in out[:, batch["input_ids"].shape[1]:]]


def run(lm, constraint, prompts, **options):
    batch = left_padded(lm.tokenizer, prompts, lm.model.device)
    processor = LogitsProcessor(constraint)
    torch.manual_seed(options.pop("seed", 0))
    out = lm.model.generate(**batch, logits_processor=[processor], pad_token_id=lm.tokenizer.pad_token_id,
                            **options)
    return generated(lm.tokenizer, batch, out), processor.accepted(out)


@pytest.fixture(scope="module")
def record_constraint(tiny_lm):
    return structgen.compile_json_schema(RECORD, vocabulary(tiny_lm.model, tiny_lm.tokenizer))


def test_prompts_of_different_lengths_are_padded_on_the_left(tiny_lm):
    batch = left_padded(tiny_lm.tokenizer, PROMPTS, "cpu")
    lengths = batch["attention_mask"].sum(1).tolist()
    assert len(set(lengths)) == 3 and batch["attention_mask"][:, 0].tolist().count(0) == 2


@pytest.mark.parametrize("options", [{"do_sample": False}, {"do_sample": True, "temperature": 1.0, "seed": 1},
                                     {"do_sample": True, "top_k": 0, "seed": 2}])
def test_every_row_of_a_batch_matches_the_schema(tiny_lm, record_constraint, options):
    texts, accepted = run(tiny_lm, record_constraint, PROMPTS, max_new_tokens=40, **options)
    assert len(texts) == 3
    for text, ok in zip(texts, accepted):
        if ok:
            jsonschema.validate(json.loads(text), RECORD)
        else:  # cut off by max_new_tokens: a prefix of a record, never a different one
            assert record_constraint.advance_bytes(record_constraint.start(), text.encode()) is not None
    assert any(accepted)


def test_a_regex_constraint_in_sampling(tiny_lm):
    constraint = structgen.compile_regex(DATE, vocabulary(tiny_lm.model, tiny_lm.tokenizer))
    for seed in range(3):
        texts, accepted = run(tiny_lm, constraint, PROMPTS[:2], max_new_tokens=20, do_sample=True, seed=seed)
        assert accepted == [True, True]
        assert all(re.fullmatch(DATE, t) for t in texts), texts


def test_rows_cut_by_max_new_tokens_are_not_accepted(tiny_lm):
    constraint = structgen.compile_regex("[0-9]+", vocabulary(tiny_lm.model, tiny_lm.tokenizer))
    texts, accepted = run(tiny_lm, constraint, PROMPTS[:2], max_new_tokens=3, do_sample=False)
    for text, ok in zip(texts, accepted):  # digits are single tokens
        assert re.fullmatch("[0-9]+", text)  # the text so far would be accepted, ...
        assert ok == (len(text) < 3)  # ... but a row cut at 3 tokens did not end


def test_the_processor_serves_a_second_generate_call(tiny_lm, record_constraint):
    batch = left_padded(tiny_lm.tokenizer, PROMPTS, "cpu")
    processor = LogitsProcessor(record_constraint)
    first = tiny_lm.model.generate(**batch, logits_processor=[processor], max_new_tokens=40, do_sample=False)
    again = tiny_lm.model.generate(**batch, logits_processor=[processor], max_new_tokens=40, do_sample=False)
    assert torch.equal(first, again)
    assert processor.accepted(again) == processor.accepted(first)


@pytest.mark.parametrize("options", [{"num_beams": 2}, {"num_beams": 2, "do_sample": True}])
def test_beam_search_is_refused(tiny_lm, record_constraint, options):
    batch = left_padded(tiny_lm.tokenizer, PROMPTS[:2], "cpu")
    with pytest.raises(UnsupportedGenerationError, match="greedy decoding"):
        tiny_lm.model.generate(**batch, logits_processor=[LogitsProcessor(record_constraint)], max_new_tokens=5,
                               **options)


def test_rows_that_do_not_extend_the_previous_rows_are_refused(tiny_lm, record_constraint):
    processor = LogitsProcessor(record_constraint)
    scores = torch.zeros(2, len(record_constraint.vocab))
    ids = torch.tensor([[5, 6], [7, 8]])
    processor(ids, scores)
    token = int(record_constraint.mask(record_constraint.start()).nonzero()[0][0])
    with pytest.raises(UnsupportedGenerationError, match="extended by one token"):
        processor(torch.tensor([[7, 8, token], [5, 6, token]]), scores)  # rows swapped, as beam search does


def test_masked_scores_allow_eos_exactly_in_accepting_states(tiny_lm):
    constraint = structgen.compile_regex("ab?", vocabulary(tiny_lm.model, tiny_lm.tokenizer))
    eos = list(constraint.vocab.eos_token_ids)
    processor = LogitsProcessor(constraint)
    scores = torch.zeros(1, len(constraint.vocab))
    assert torch.isinf(processor(torch.tensor([[1]]), scores)[0, eos]).all()  # nothing yet: "" is not accepted
    a = tiny_lm.tokenizer.convert_tokens_to_ids("a")
    after_a = processor(torch.tensor([[1, a]]), scores)[0]
    assert not torch.isinf(after_a[eos]).any()
    assert torch.isfinite(after_a).sum() == int(constraint.mask(constraint.advance(0, a)).sum())
    after_eos = processor(torch.tensor([[1, a, eos[0]]]), scores)[0]  # finished: end-of-sequence or padding only
    assert set(torch.isfinite(after_eos).nonzero().flatten().tolist()) <= set(eos) | {tiny_lm.tokenizer.pad_token_id}


# ------------------------------------------------------------------ the real model


@pytest.fixture(scope="module")
def default_lm():
    from structgen.lm import load_model

    return load_model()


@pytest.mark.slow
@pytest.mark.parametrize("options", [{"do_sample": False}, {"do_sample": True, "temperature": 0.7, "seed": 3}])
def test_default_model_writes_valid_records_in_a_batch(default_lm, options):
    constraint = structgen.compile_json_schema(RECORD, vocabulary(default_lm.model, default_lm.tokenizer))
    texts, accepted = run(default_lm, constraint, PROMPTS, max_new_tokens=60, **options)
    assert accepted == [True, True, True], texts
    for text in texts:
        jsonschema.validate(json.loads(text), RECORD)


@pytest.mark.slow
def test_default_model_writes_dates_in_a_batch(default_lm):
    constraint = structgen.compile_regex(DATE, vocabulary(default_lm.model, default_lm.tokenizer))
    texts, accepted = run(default_lm, constraint, ["When did the Berlin wall fall?", "A date, please."],
                          max_new_tokens=20, do_sample=False)
    assert accepted == [True, True] and all(re.fullmatch(DATE, t) for t in texts), texts
