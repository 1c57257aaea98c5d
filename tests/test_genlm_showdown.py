"""The toy task of tests/test_smc.py through structgen's SMC and genlm-control's AWRS-SMC, against enumeration.

Runs where genlm-control is installed (``make genlm``, then
``.venv-genlm/bin/python -m pytest tests/test_genlm_showdown.py``) and skips elsewhere. The task: the
bigram model over {a, b, c, ab} with two end ids, the regex (aa|b)c?, at most T = 3 tokens. The judge
is test_smc's enumeration of every token sequence (γ(y) = p(y EOS)·1[re.fullmatch], Z = Σ γ). Each engine
compiles the regex itself (structgen's `compile_regex`, genlm's `BoolFSA.from_regex`), and
`bench.genlm_showdown.toy_estimates` runs its SMC R times: the mean of exp(log_ml) is unbiased for Z, and
the mean of (1/N)·Σ w_i·1{y_i = y} for γ(y), so both must land within 4 standard errors of the exact
values; the two must also agree with each other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("genlm.control")

from bench.genlm_showdown import run_genlm_smc, toy_estimates, toy_potential  # noqa: E402
from tests.test_smc import (  # noqa: E402
    BIGRAM, EOS, LANGUAGE, PATTERN, START, TOKENS, T, _p, _p_eos, exact_target, lcd_law, total_variation,
)

ENGINES = ("structgen-smc", "genlm-smc")


def _estimates(engine, runs, particles):
    return toy_estimates(engine, runs, particles, T, table=BIGRAM, tokens=TOKENS, eos=EOS, start=START,
                         pattern=PATTERN)


@pytest.fixture(scope="module")
def estimates():
    return {engine: _estimates(engine, 800, 4) for engine in ENGINES}


def test_the_genlm_toy_model_is_the_bigram_table():
    """The genlm potential's next-token weights are test_smc's table, the end ids summed."""
    import asyncio

    lm = toy_potential(BIGRAM, TOKENS, EOS, START)
    for context, prev in (([], START), ([b"a"], 0), ([b"b", b"ab"], 3)):
        weights = asyncio.run(lm.logw_next(context))
        for t in range(4):
            assert math.exp(weights[TOKENS[t]]) == pytest.approx(_p(prev, t), abs=1e-12)
        assert math.exp(weights[lm.eos]) == pytest.approx(_p_eos(prev), abs=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_matches_the_exact_posterior(estimates, engine):
    gamma = exact_target()
    z = sum(gamma.values())
    per_text, z_hat = estimates[engine]
    assert set(per_text) <= set(gamma) == LANGUAGE
    # (per-run estimates, exact value): Z, then γ(y) for every y of the language
    pairs = {"Z": (z_hat, z), **{t: (per_text.get(t, np.zeros(len(z_hat))), g) for t, g in gamma.items()}}
    for name, (runs, exact_value) in pairs.items():
        se = runs.std() / math.sqrt(len(runs))
        assert abs(runs.mean() - exact_value) <= 4 * se + 1e-12, (name, runs.mean(), exact_value, se)
    posterior = {t: v.mean() / z_hat.mean() for t, v in per_text.items()}
    exact = {k: v / z for k, v in gamma.items()}
    assert total_variation(posterior, exact) < 0.06
    assert total_variation(lcd_law(), exact) > 0.5  # what the weights correct: the masked law is far off


def test_the_two_engines_agree(estimates):
    """Z estimates within 4 standard errors of their difference (independent runs)."""
    (_, a), (_, b) = estimates["structgen-smc"], estimates["genlm-smc"]
    se = math.sqrt(a.var() / len(a) + b.var() / len(b))
    assert abs(a.mean() - b.mean()) <= 4 * se


def test_genlm_runs_end_within_the_same_budget():
    """genlm's `max_tokens` counts the end; run_genlm_smc passes T + 1, so outputs have at most T tokens,
    and a run with one particle and no resampling is plain AWRS with a weight."""
    lm = toy_potential(BIGRAM, TOKENS, EOS, START)
    from genlm.control import BoolFSA

    condition = BoolFSA.from_regex(PATTERN).coerce(lm, f=b"".join)
    lengths = set()
    for seed in range(60):
        sequences, sampler = run_genlm_smc(lm, condition, particles=1, max_tokens=T, seed=seed)
        (context,), (log_weight,) = sequences.contexts, sequences.log_weights
        assert context[-1] is lm.eos and len(context) - 1 <= T and log_weight > -math.inf
        assert sampler.particle_steps == len(context) and len(sampler.checks) <= len(context)
        assert b"".join(context[:-1]).decode() in LANGUAGE
        lengths.add(len(context) - 1)
    assert T in lengths  # "aac" spelt a, a, c uses the whole budget


def test_genlm_sees_the_same_model_through_either_backend(tiny_lm):
    """The bench's two genlm engines (genlm's AsyncTransformer, and structgen's wrapper behind genlm's model
    interface) give the next-token weights of structgen's own call: the same ids, the end ids summed."""
    import asyncio

    from bench.genlm_showdown import GenlmEngine

    context = tiny_lm.encode_text("Write JSON: {")
    ends = sorted(tiny_lm.vocabulary.eos_token_ids)
    for model in ("hf", "structgen"):
        engine = GenlmEngine(tiny_lm, 2, model)
        engine.prepare(context)
        llm = engine.llm
        for generated in ([], [17, 42]):
            weights = asyncio.run(llm.logw_next(llm.decode_tokens(generated)))
            expected = tiny_lm.next_token_logprobs([context + generated])[0]
            got = np.array([weights[token] for token in llm.decode_tokens(range(len(expected)))
                            if token.token_id not in ends])
            want = np.delete(expected, ends)
            assert np.allclose(got, want, atol=1e-4), (model, generated, np.abs(got - want).max())
            assert weights[llm.eos] == pytest.approx(np.logaddexp.reduce(expected[ends]), abs=1e-4)
