"""Sequence level: SMC against the exact posterior of a tiny bigram model, and soundness on real schemas.

The exact task (notes/awrs.md §8.2): tokens {a, b, c, ab} and two
end-of-sequence ids, a bigram model that likes a first `a` (0.7) but not a
second one (0.05), and the regex (aa|b)c?. The judge enumerates every token
sequence of at most T tokens: γ(y) = p(y EOS)·1[re.fullmatch], Z = Σ γ, and
π = γ/Z merged by text. The masked (LCD) law is computed by exact recursion
with Python's `re` prefixes as the viability check.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import jsonschema
import numpy as np
import pytest

import structgen
from structgen.compile import compile_json_schema, compile_regex
from structgen.sampling import sample
from structgen.sampling.awrs import RaceOrders
from structgen.vocab import Vocabulary

TOKENS = [b"a", b"b", b"c", b"ab", b"", b""]
EOS = (4, 5)
VOCAB = Vocabulary(TOKENS, EOS)
START = -1
# next-token probabilities after the previous token (START: empty context); columns follow TOKENS
BIGRAM = {
    START: [0.70, 0.10, 0.05, 0.10, 0.03, 0.02],
    0: [0.05, 0.30, 0.30, 0.20, 0.10, 0.05],
    1: [0.20, 0.20, 0.30, 0.10, 0.10, 0.10],
    2: [0.30, 0.20, 0.20, 0.10, 0.15, 0.05],
    3: [0.25, 0.25, 0.20, 0.10, 0.10, 0.10],
}
PATTERN = "(aa|b)c?"
LANGUAGE = {"aa", "aac", "b", "bc"}  # what (aa|b)c? matches, to check the judge below
T = 3  # at most T tokens before end-of-sequence


class BigramLM:
    """A hand-written model: no tokenizer, no encode_prompt."""

    vocabulary = VOCAB

    def __init__(self, table=BIGRAM):
        self.table = {k: np.log(np.asarray(v, dtype=np.float64)) for k, v in table.items()}
        self.calls = 0

    def next_token_logprobs(self, contexts):
        self.calls += 1
        return np.stack([self.table[c[-1] if c else START] for c in contexts])


def _p(prev, token):
    return BIGRAM[prev][token]


def _p_eos(prev):
    return sum(BIGRAM[prev][e] for e in EOS)  # end-of-sequence ids add up to one event


def _text(tokens):
    return b"".join(TOKENS[t] for t in tokens).decode()


def exact_target(pattern=PATTERN, max_tokens=T):
    """γ by text (p(y EOS) summed over token sequences y with |y| ≤ max_tokens that fully match)."""
    gamma: dict[str, float] = {}
    for n in range(max_tokens + 1):
        for seq in itertools.product(range(4), repeat=n):
            if re.fullmatch(pattern, _text(seq)):
                prob, prev = 1.0, START
                for t in seq:
                    prob, prev = prob * _p(prev, t), t
                gamma[_text(seq)] = gamma.get(_text(seq), 0.0) + prob * _p_eos(prev)
    return gamma


def lcd_law():
    """The masked law over texts, by recursion; viable = a prefix of some string of the language."""
    assert {s for s in ("", "a", "aa", "aac", "b", "bc", "c", "ab", "ba") if re.fullmatch(PATTERN, s)} == LANGUAGE
    prefixes = {w[:i] for w in LANGUAGE for i in range(len(w) + 1)}
    law: dict[str, float] = {}

    def walk(tokens, prob):
        text, prev = _text(tokens), tokens[-1] if tokens else START
        options = {t: _p(prev, t) for t in range(4) if text + TOKENS[t].decode() in prefixes}
        end = _p_eos(prev) if text in LANGUAGE else 0.0
        z = sum(options.values()) + end
        if end:
            law[text] = law.get(text, 0.0) + prob * end / z
        for t, q in options.items():
            walk(tokens + [t], prob * q / z)

    walk([], 1.0)
    return law


def total_variation(a: dict, b: dict) -> float:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


@pytest.fixture(scope="module")
def toy():
    return BigramLM(), compile_regex(PATTERN, VOCAB)


def test_lcd_is_measurably_biased():
    gamma = exact_target()
    z = sum(gamma.values())
    posterior = {k: v / z for k, v in gamma.items()}
    assert total_variation(lcd_law(), posterior) > 0.5


def test_lcd_sampler_follows_the_masked_law(toy):
    lm, constraint = toy
    law, n = lcd_law(), 3000
    counts: dict[str, int] = {}
    for seed in range(n):
        text = sample(lm, constraint, sampler="awrs", estimator="none", max_tokens=T, seed=seed).best().text
        counts[text] = counts.get(text, 0) + 1
    for text, q in law.items():
        assert abs(counts.get(text, 0) - n * q) <= 4 * math.sqrt(n * q * (1 - q)) + 1e-9, text


def _smc_estimates(lm, constraint, runs, **options):
    """Per run: (1/N)·Σ w_i 1{text_i = y} for every y (unbiased for γ(y)), and exp(log_ml) (unbiased for Z)."""
    per_text: dict[str, np.ndarray] = {}
    z_hat = np.zeros(runs)
    for r in range(runs):
        s = sample(lm, constraint, max_tokens=T, seed=1000 + r, **options)
        z_hat[r] = math.exp(s.log_ml)
        n = len(s.particles)
        for p in s.particles:
            if p.finished:
                assert re.fullmatch(PATTERN, p.text)
                per_text.setdefault(p.text, np.zeros(runs))[r] += math.exp(p.log_weight) / n
    return per_text, z_hat


@pytest.mark.parametrize("runs, options", [
    (1500, dict(particles=4, resampling="multinomial")),
    (800, dict(particles=4, resampling="stratified", ess_threshold=0.9)),
    (800, dict(particles=3, resampling="systematic", ess_threshold=0.9)),
    (800, dict(particles=4, estimator="paper")),
    (800, dict(particles=4, estimator="geometric")),
    (800, dict(particles=4, max_rejects=0)),  # every step from the mask: exact Z_t
    (800, dict(particles=1, sampler="awrs")),
])
def test_smc_matches_the_exact_posterior(toy, runs, options):
    lm, constraint = toy
    gamma = exact_target()
    z = sum(gamma.values())
    per_text, z_hat = _smc_estimates(lm, constraint, runs, **options)
    assert set(per_text) <= set(gamma)
    se_z = z_hat.std() / math.sqrt(runs)
    assert abs(z_hat.mean() - z) <= 4 * se_z, (z_hat.mean(), z, se_z)
    for text, g in gamma.items():
        est = per_text.get(text, np.zeros(runs))
        se = est.std() / math.sqrt(runs)
        assert abs(est.mean() - g) <= 4 * se + 1e-12, (text, est.mean(), g, se)
    estimate = {t: v.mean() / z_hat.mean() for t, v in per_text.items()}
    assert total_variation(estimate, {k: v / z for k, v in gamma.items()}) < 0.05


def test_smc_is_reproducible_and_reports_statistics(toy):
    lm, constraint = toy
    a = sample(lm, constraint, particles=6, max_tokens=T, seed=5)
    b = sample(lm, constraint, particles=6, max_tokens=T, seed=5)
    assert [p.tokens for p in a.particles] == [p.tokens for p in b.particles]
    assert np.array_equal(a.log_weights, b.log_weights) and a.log_ml == b.log_ml
    s = a.stats
    assert s["particles"] == 6 and s["lm_calls"] == len(s["step_times"]) == s["steps"] == len(s["ess_history"])
    assert s["checks_per_token"]["p50"] >= 1 and s["checks_per_token"]["max"] >= s["checks_per_token"]["p99"]
    assert s["constraint_checks"] >= s["drawn_tokens"]
    assert sorted(s["step_times"]) == s["step_times"] and s["step_times"][0] >= s["start_time"]
    post = a.posterior()
    assert post and abs(sum(post.values()) - 1) < 1e-12 and set(post) <= LANGUAGE
    best = a.best()
    assert best.finished and best.log_weight == max(p.log_weight for p in a.particles if p.finished)


def test_complete_particles_end_with_the_weight_of_end_of_sequence(toy):
    """After "bc" nothing may follow: the particle ends and its weight takes p(EOS | c)."""
    lm, constraint = toy
    for seed in range(200):
        s = sample(lm, constraint, sampler="awrs", estimator="none", max_tokens=T, seed=seed)
        p = s.particles[0]
        if p.text == "bc" and p.tokens == [1, 2]:
            assert p.reason == "complete"
            assert p.log_weight == pytest.approx(math.log(_p_eos(2)), abs=1e-12)
            return
    pytest.fail("no particle ended with 'bc'")


# ----------------------------------------------------------------- always-true constraint


CHATTY_END = {  # ends often, so that the length budget (60) is practically never reached
    START: [0.20, 0.10, 0.10, 0.10, 0.30, 0.20],
    0: [0.10, 0.20, 0.10, 0.10, 0.25, 0.25],
    1: [0.15, 0.05, 0.20, 0.10, 0.40, 0.10],
    2: [0.10, 0.10, 0.10, 0.20, 0.30, 0.20],
    3: [0.25, 0.10, 0.10, 0.05, 0.20, 0.30],
}


def test_always_true_constraint_is_ancestral_sampling():
    lm, constraint = BigramLM(CHATTY_END), compile_regex("[abc]*", VOCAB)
    rng = np.random.default_rng(42)
    for seed in range(30):
        s = sample(lm, constraint, sampler="awrs", max_tokens=60, seed=seed)
        p = s.particles[0]
        assert p.log_weight == 0.0 and s.log_ml == 0.0 and p.reason == "end_of_sequence"
        # the same draws as unconstrained ancestral sampling with the same random order
        rng, tokens = np.random.default_rng(seed), []
        while True:
            t = RaceOrders(lm.next_token_logprobs([tokens])[0], rng).order().next()
            if t in EOS:
                break
            tokens.append(t)
        assert p.tokens == tokens
    multi = sample(lm, constraint, particles=5, max_tokens=60, seed=1)
    assert np.all(multi.log_weights == 0.0) and multi.stats["resampling_events"] == 0


def test_always_true_constraint_has_the_model_law():
    lm, constraint = BigramLM(CHATTY_END), compile_regex("[abc]*", VOCAB)
    n = 3000
    counts: dict[str, int] = {}
    for seed in range(n):
        text = sample(lm, constraint, sampler="awrs", max_tokens=60, seed=seed).particles[0].text
        counts[text] = counts.get(text, 0) + 1
    exact: dict[str, float] = {}
    for length in range(3):
        for seq in itertools.product(range(4), repeat=length):
            prob, prev = 1.0, START
            for t in seq:
                prob, prev = prob * CHATTY_END[prev][t], t
            exact[_text(seq)] = exact.get(_text(seq), 0.0) + prob * sum(CHATTY_END[prev][e] for e in EOS)
    for text, q in exact.items():
        if len(text) <= 2:  # every tokenisation of these has at most 2 tokens, so q is their whole probability
            assert abs(counts.get(text, 0) - n * q) <= 4 * math.sqrt(n * q * (1 - q)) + 1e-9, text


# ----------------------------------------------------------------- soundness on real schemas


def _schemas():
    from jsonschemabench.datasets import load_dataset

    wanted = {"o10018", "o10021", "o10082"}
    picked = [r.schema for r in load_dataset("Github_trivial") if r.id in wanted]
    small = {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "minimum": -5,
             "maximum": 5}}, "required": ["ok", "n"], "additionalProperties": False}
    return [small, {"enum": ["red", "green", "blue"]}, *picked]


@pytest.mark.parametrize("index", range(5))
def test_every_finished_particle_is_valid(tiny_lm, index):
    schema = _schemas()[index]
    constraint = compile_json_schema(schema, tiny_lm.vocabulary)
    s = sample(tiny_lm, constraint, "Give me JSON", particles=4, max_tokens=24, seed=index)
    for p in s.particles:
        if p.finished:
            value = json.loads(p.text)
            jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        else:
            assert p.log_weight == -math.inf
    assert s.stats["lm_calls"] == s.stats["steps"] <= 25


def test_generate_with_smc_returns_the_best_particle_and_the_set(tiny_lm):
    schema = _schemas()[0]
    out = structgen.generate(schema, "x", model=tiny_lm, sampler="smc", particles=3, max_tokens=24, seed=2)
    assert out.samples is not None and len(out.samples.particles) == 3
    d = out.to_dict()
    assert len(d["particles"]) == 3 and "log_ml" in d
    json.dumps(d, allow_nan=False)
    if out.valid:
        jsonschema.validate(out.value, schema)
        assert out.text == out.samples.best().text
    assert out.stats["sampler"] == "smc" and "checks_per_token" in out.stats


@pytest.mark.parametrize("sampler", ["lcd", "awrs"])
def test_generate_other_samplers(tiny_lm, sampler):
    schema = _schemas()[1]
    out = structgen.generate(schema, "x", model=tiny_lm, sampler=sampler, max_tokens=24, seed=0)
    assert out.valid and out.value in ("red", "green", "blue")
    assert out.stats["sampler"] == sampler and out.stats["time_to_first_token_s"] > 0
