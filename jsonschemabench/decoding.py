"""Our decoding loop, the same for every engine, and the judge of what comes out.

Why one loop: the benchmark compares constraint engines, so the model, the prompt, the way a token
is chosen (argmax by default) and the timing points are ours and identical; an engine only supplies
the mask (`Matcher.mask`) and follows the chosen token (`Matcher.advance`). structgen's weighted
samplers (AWRS, SMC) choose tokens differently by design, so they run through `structgen.sample`
with the same model and prompt.

Times are `time.perf_counter()` values: one when each token is chosen (end-of-sequence included).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jsonschemabench.instances import validator_for
from structgen import judge
from structgen import time_per_output_token
from structgen.lm import next_token_logprobs_among


@dataclass
class Decoded:
    """One generation: the tokens (end-of-sequence excluded), their bytes, and how it went."""

    tokens: list[int]
    data: bytes
    finished: bool  # ended by end-of-sequence (or the sampler says the particle finished)
    reason: str  # "end_of_sequence" | "max_tokens" | "dead_end" | "rejected_choice"
    token_times: list[float] = field(default_factory=list)
    stats: dict = field(default_factory=dict)  # sampler statistics (checks per token, log_ml, ...)
    forced: list[int] = field(default_factory=list)  # positions of tokens appended without a model call

    def tpot(self) -> float | None:
        """Seconds per output token from the model's first choice on (`structgen.time_per_output_token`)."""
        return time_per_output_token(self.token_times, self.forced)


def choose(ids: np.ndarray, scores: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """One of the tokens `ids`, whose log-probabilities (up to a constant) are `scores`:
    the argmax at temperature 0, else a sample from the tempered distribution."""
    if temperature <= 0:
        return int(ids[int(np.argmax(scores))])
    scores = scores / temperature
    probs = np.exp(scores - scores.max())
    return int(ids[rng.choice(len(probs), p=probs / probs.sum())])


def decode_with_matcher(lm, context: list[int], matcher, *, max_tokens: int, temperature: float = 0.0,
                        seed: int = 0) -> Decoded:
    """Generate under `matcher` (a `jsonschemabench.engines.Matcher`), or unconstrained when it is None.

    The output ends at any of the model's end-of-sequence tokens (for a matcher: only when it
    accepts, since its mask allows end-of-sequence exactly then). The mask comes before the model
    call, so the model computes the logits of the allowed tokens only where it can
    (`structgen.lm.next_token_logprobs_among`), for every engine alike.
    """
    rng = np.random.default_rng(seed)
    eos = set(lm.vocabulary.eos_token_ids)
    if matcher is not None:
        eos |= set(matcher.eos_token_ids)
    everything = np.arange(len(lm.vocabulary))
    tokens: list[int] = []
    times: list[float] = []
    reason = "max_tokens"
    for _ in range(max_tokens):
        if matcher is None:
            ids, scores = everything, lm.next_token_logprobs([context + tokens])[0]
        else:
            ids = np.flatnonzero(matcher.mask()[:len(everything)])
            if not len(ids):
                reason = "dead_end"
                break
            scores = next_token_logprobs_among(lm, context + tokens, ids)
        token = choose(ids, scores, temperature, rng)
        times.append(time.perf_counter())
        if token in eos:
            reason = "end_of_sequence"
            break
        if matcher is not None and not matcher.advance(token):
            reason = "rejected_choice"  # the mask allowed a token that advance refuses: an engine bug
            break
        tokens.append(token)
    return Decoded(tokens, lm.vocabulary.decode(tokens), reason == "end_of_sequence", reason, times)


def decode_with_sampler(lm, context: list[int], constraint, *, sampler: str, particles: int, max_tokens: int,
                        temperature: float, seed: int, fast_forward: bool = False) -> Decoded:
    """structgen's LCD, AWRS or SMC sampler (`fast_forward`: LCD only); the best particle is the output."""
    import structgen

    samples = structgen.sample(lm, constraint, prompt=list(context), sampler=sampler, particles=particles,
                               max_tokens=max_tokens, temperature=temperature, seed=seed, fast_forward=fast_forward)
    best = samples.best()
    tokens = [int(t) for t in best.tokens if t not in lm.vocabulary.eos_token_ids]
    data = getattr(best, "data", None)
    if not isinstance(data, (bytes, bytearray)):
        data = lm.vocabulary.decode(tokens)
    stats = dict(getattr(samples, "stats", {}) or {})
    step_times = [float(t) for t in stats.pop("step_times", [])]
    forced = [int(i) for i in stats.pop("forced_positions", [])]
    keep = {k: v for k, v in stats.items() if isinstance(v, (int, float, str, bool, dict, type(None)))}
    keep["log_ml"] = _finite_or_none(getattr(samples, "log_ml", None))
    keep["best_log_weight"] = _finite_or_none(getattr(best, "log_weight", None))
    finished = bool(getattr(best, "finished", False))
    return Decoded(tokens, bytes(data), finished, "end_of_sequence" if finished else "max_tokens", step_times, keep,
                   forced)


def _finite_or_none(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


@dataclass(frozen=True)
class Verdict:
    """What the judge says about one output: valid, or why not (`syntax` or `schema`).

    For a valid output `message` is None, or `FLOAT_MULTIPLE_OF_NOTE` and the
    reason when `jsonschema`'s own float `multipleOf` would have rejected it
    (see `judge_output`): those outputs are counted valid, and can be counted
    apart by that prefix.
    """

    valid: bool
    error_kind: str | None = None  # "syntax" (not one JSON value) | "schema" (the validator rejects it)
    message: str | None = None


FLOAT_MULTIPLE_OF_NOTE = "valid, but jsonschema's float multipleOf rejects it: "


def judge_output(data: bytes, schema: Any) -> Verdict:
    """Parse the output as one JSON value (surrounding whitespace allowed) and validate it.

    The judge is `structgen.judge.validator_for`: `jsonschema` for the schema's declared draft
    (2020-12 by default), format checking on, ECMA-262 regexes, and `multipleOf` in exact decimal
    arithmetic as JSON Schema defines it (`19.99` is a multiple of `0.01`; `jsonschema` alone,
    dividing floats, says it is not). A valid output that the float division rejects is noted in
    the verdict's message (`FLOAT_MULTIPLE_OF_NOTE`), so the disagreement is counted, not hidden.
    A schema the validator cannot use counts against the output, never for it.
    """
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Verdict(False, "syntax", f"{type(error).__name__}: {error}"[:300])
    try:
        errors = list(validator_for(schema).iter_errors(value))
    except Exception as error:  # an unresolvable $ref, a malformed schema: no valid output exists to judge
        return Verdict(False, "schema", f"validator failed: {type(error).__name__}: {error}"[:300])
    if errors:
        return Verdict(False, "schema", errors[0].message[:300])
    try:
        float_errors = [e for e in judge.validator_for(schema, multiple_of="float").iter_errors(value)
                        if e.validator == "multipleOf"]
    except Exception as error:  # jsonschema's float division failing on its own (NaN): disagreement too
        return Verdict(True, None, f"{FLOAT_MULTIPLE_OF_NOTE}{type(error).__name__}: {error}"[:300])
    if float_errors:
        return Verdict(True, None, (FLOAT_MULTIPLE_OF_NOTE + float_errors[0].message)[:300])
    return Verdict(True)
