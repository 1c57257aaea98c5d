"""LCD's fast-forward: forced tokens appended without sampling.

Judges: `jsonschema` for the outputs, the tokenizer itself for the forced
tokens (re-tokenising a forced run in its context gives the run back), the
constraint's `forced_bytes` and mask for where forcing may happen, and the
same decoding with fast-forward off for what greedy LCD outputs.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import structgen
from structgen.judge import validator_for
from structgen.sampling.lcd import decode_lcd

SCHEMA = {"type": "object", "additionalProperties": False,
          "required": ["identifier", "favourite_colour", "is_active", "tags"],
          "properties": {"identifier": {"type": "integer"},
                         "favourite_colour": {"enum": ["dark blue", "light green", "red"]},
                         "is_active": {"type": "boolean"},
                         "tags": {"type": "array", "items": {"const": "structured-generation"}, "maxItems": 2}}}


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Maximal runs [i, j) of consecutive positions."""
    runs = []
    for p in positions:
        if runs and runs[-1][1] == p:
            runs[-1] = (runs[-1][0], p + 1)
        else:
            runs.append((p, p + 1))
    return runs


@pytest.mark.parametrize("seed", range(4))
def test_forced_runs_are_valid_and_the_tokenizers_own(tiny_lm, smollm2_tokenizer, seed):
    c = structgen.compile_json_schema(SCHEMA, tiny_lm.vocabulary)
    context = tiny_lm.encode_prompt("Some JSON please.")
    trace = decode_lcd(tiny_lm, c, context, max_tokens=120, temperature=1.0, seed=seed)
    vocab = tiny_lm.vocabulary
    data = vocab.decode(trace.tokens)
    assert trace.finished, data
    assert validator_for(SCHEMA).is_valid(json.loads(data))
    assert len(trace.forced) >= 5  # property names, punctuation and the enum's rest are forced
    assert len(trace.token_times) == len(trace.tokens) + (trace.reason == "end_of_sequence")
    states = [c.start()]
    for t in trace.tokens:
        states.append(c.advance(states[-1], t))
    for i, j in _runs(trace.forced):
        while i < j and np.flatnonzero(c.mask(states[i])).tolist() == trace.tokens[i:i + 1]:
            i += 1  # the only token the mask allows: LCD picks it whatever the model says
        if i == j:
            continue
        run = trace.tokens[i:j]  # from forced bytes: the tokenizer's own tokens for them, in their context
        assert c.forced_bytes(states[i]).startswith(vocab.decode(run))
        before = vocab.decode(trace.tokens[max(0, i - 4):i])
        again = smollm2_tokenizer.encode((before + vocab.decode(run)).decode(), add_special_tokens=False)
        assert again[len(again) - len(run):] == run and vocab.decode(again[:len(again) - len(run)]) == before, \
            (before, run, again)
        # ... and the whole output keeps a token boundary where the run ends
        text = vocab.decode(trace.tokens[max(0, i - 4):])
        ends, position = set(), 0
        for t in smollm2_tokenizer.encode(text.decode(), add_special_tokens=False):
            position += len(vocab.tokens[t])
            ends.add(position)
        assert len(before) + len(vocab.decode(run)) in ends, (before, run, text)


@pytest.mark.parametrize(("value", "last"), [({"type": "boolean"}, b'":'), ({"enum": ["dark blue", "red"]}, b'":"'),
                                             ({"type": "string"}, b"name")])
def test_the_last_forced_token_is_kept_when_no_allowed_token_reads_past_it(smollm2_vocab, smollm2_tokenizer,
                                                                           value, last):
    """`{"name":` is forced whole before a boolean, `{"name":"` before an enum of strings; before any string it
    stops at `name`, since `""` (an empty string) would read past `":"`."""
    from structgen.sampling.fastforward import forced_tokens

    schema = {"type": "object", "required": ["name", "x"], "additionalProperties": False,
              "properties": {"name": value, "x": {"type": "integer"}}}
    c = structgen.compile_json_schema(schema, smollm2_vocab)
    encode = lambda text: smollm2_tokenizer.encode(text, add_special_tokens=False)  # noqa: E731
    state, out = c.start(), []
    while run := forced_tokens(c, state, out, encode):
        for t in run:
            state = c.advance(state, t)
        out += run
    assert smollm2_vocab.tokens[out[-1]] == last, [smollm2_vocab.tokens[t] for t in out]


def test_off_forces_nothing_and_stats_count_forced_tokens(tiny_lm):
    on = structgen.generate(SCHEMA, "Some JSON please.", model=tiny_lm, temperature=0, max_tokens=120)
    off = structgen.generate(SCHEMA, "Some JSON please.", model=tiny_lm, temperature=0, max_tokens=120,
                             fast_forward=False)
    assert on.valid and off.valid, (on.text, off.text)
    assert off.stats["forced_tokens"] == 0 and on.stats["forced_tokens"] > 0
    assert on.stats["steps"] + on.stats["forced_tokens"] == on.stats["tokens"] + (on.reason == "end_of_sequence")
    assert on.stats["lm_calls"] < off.stats["lm_calls"]


class _HashLM:
    """A deterministic model over a vocabulary without a tokenizer: logits from a hash of the context."""

    def __init__(self, vocabulary):
        self.vocabulary = vocabulary
        self.calls = 0

    def next_token_logprobs(self, contexts):
        self.calls += 1
        rows = []
        for ctx in contexts:
            logits = np.random.default_rng(hash(tuple(ctx)) % 2**32).normal(0, 3, len(self.vocabulary))
            rows.append(logits - np.logaddexp.reduce(logits))
        return np.array(rows)


@pytest.mark.parametrize("pattern", [r"id-[0-9]{2}(ab|cd)xyz", r"(true|false)qq[a-z]{1,3}!!"])
def test_forced_tokens_leave_greedy_output_unchanged(byte_vocab, pattern):
    """Without a tokenizer only tokens the mask forces are appended: greedy LCD outputs the same text in
    fewer model calls."""
    c = structgen.compile_regex(pattern, byte_vocab)
    runs = {}
    for ff in (True, False):
        lm = _HashLM(byte_vocab)
        trace = decode_lcd(lm, c, [0], max_tokens=40, temperature=0, fast_forward=ff)
        runs[ff] = (trace.tokens, trace.forced, lm.calls)
    assert runs[True][0] == runs[False][0]
    assert re.fullmatch(pattern, byte_vocab.decode(runs[True][0]).decode())
    assert runs[True][1] and not runs[False][1]
    assert runs[True][2] == runs[False][2] - len(runs[True][1])


def test_time_per_output_token_starts_at_the_models_first_choice(tiny_lm):
    """Tokens forced before the model's first choice come out before the prompt is read (5 s here): the time
    per token leaves them out and counts every token after that choice, forced or not."""
    from structgen.sampling import time_per_output_token

    times = [0.0, 5.0, 5.1, 5.2, 5.3]
    assert time_per_output_token(times, [0, 3]) == pytest.approx(0.1)
    assert time_per_output_token(times) == pytest.approx(5.3 / 4)
    assert time_per_output_token([0.0, 5.0], [0]) is None
    result = structgen.generate(SCHEMA, "Some JSON please.", model=tiny_lm, temperature=0, max_tokens=120)
    stats = result.stats
    assert stats["forced_positions"][0] == 0  # `{"identifier":` before the prompt is read
    assert stats["time_per_output_token_s"] == time_per_output_token(stats["step_times"], stats["forced_positions"])
