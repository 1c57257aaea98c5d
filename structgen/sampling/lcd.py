"""Locally constrained decoding: mask the vocabulary, renormalise, pick.

This is what mask-based engines do. Each step samples exactly from the
model's next-token distribution restricted to allowed tokens (or takes its
argmax). It is not the model's distribution conditioned on the whole output
being valid — see the AWRS/SMC samplers for that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..constraint import Constraint
from .fastforward import forced_tokens


@dataclass
class Trace:
    """One decoded sequence and how it ended."""

    tokens: list[int] = field(default_factory=list)
    finished: bool = False  # ended in an accepting state (by end-of-sequence or with nothing left to add)
    reason: str = ""  # "end_of_sequence", "complete", "max_tokens" (cut off), "dead_end"
    token_times: list[float] = field(default_factory=list)  # wall time at which each token was chosen
    forced: list[int] = field(default_factory=list)  # positions of the tokens fast-forward appended unsampled
    steps: int = 0  # tokens chosen by sampling (end-of-sequence included)


def pick(ids: np.ndarray, scores: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Choose one of the tokens `ids`, whose log-probabilities (up to a constant) are `scores`:
    argmax at temperature 0, else a sample from the tempered, top-p truncated, renormalised distribution."""
    if temperature <= 0:
        return int(ids[int(np.argmax(scores))])
    scores = scores / temperature
    scores = scores - scores.max()
    probs = np.exp(scores)
    probs /= probs.sum()
    if top_p < 1.0:
        order = np.argsort(-probs)
        keep = np.cumsum(probs[order]) - probs[order] < top_p
        ids, probs = ids[order[keep]], probs[order[keep]]
        probs /= probs.sum()
    return int(ids[rng.choice(len(ids), p=probs)])


def decode_lcd(lm, constraint: Constraint, context: list[int], *, max_tokens: int = 256,
               temperature: float = 1.0, top_p: float = 1.0, seed: int | None = 0,
               on_token: Callable[[int], None] | None = None, fast_forward: bool = True) -> Trace:
    """Generate with per-step masking until end-of-sequence, completion or `max_tokens`.

    The output is "complete" when the constraint allows nothing more, and cut
    off ("max_tokens", not finished) when `max_tokens` tokens are out and it
    still allows more, even in an accepting state: the model was never asked
    whether to stop there. `on_token` is called with each output token as it
    is chosen (end-of-sequence excluded).

    With `fast_forward`, the tokens the constraint forces
    (`structgen.sampling.fastforward.forced_tokens`, through the model's
    ``encode_text`` when it has one) are appended without sampling, and the
    next model call feeds them together; they count against `max_tokens`,
    and each gets a time in ``token_times`` as it is appended.

    Raises
    ------
    AssertionError
        The constraint's mask allowed a token its ``advance`` refuses (a broken constraint).
    """
    from ..lm.base import next_token_logprobs_among  # here: structgen.lm imports torch, `import structgen` does not

    rng = np.random.default_rng(seed)
    eos = set(constraint.vocab.eos_token_ids)
    encode = getattr(lm, "encode_text", None)
    trace = Trace()
    state = constraint.start()

    def append(token: int) -> None:
        nonlocal state
        trace.tokens.append(token)
        state = constraint.advance(state, token)
        assert state is not None, "mask allowed a token that advance rejects"
        if on_token is not None:
            on_token(token)

    while len(trace.tokens) < max_tokens:
        if constraint.is_accepting(state) and not constraint.can_continue(state):
            trace.finished, trace.reason = True, "complete"
            return trace
        if fast_forward:
            forced = forced_tokens(constraint, state, trace.tokens, encode)[:max_tokens - len(trace.tokens)]
            for token in forced:
                trace.token_times.append(time.perf_counter())
                trace.forced.append(len(trace.tokens))
                append(token)
            if forced:
                continue
        allowed = constraint.mask(state)
        if not allowed.any():
            trace.reason = "dead_end"
            return trace
        ids = np.flatnonzero(allowed)
        token = pick(ids, next_token_logprobs_among(lm, context + trace.tokens, ids), temperature, top_p, rng)
        trace.token_times.append(time.perf_counter())
        trace.steps += 1
        if token in eos:
            trace.finished, trace.reason = True, "end_of_sequence"
            return trace
        append(token)
    if constraint.is_accepting(state) and not constraint.can_continue(state):
        trace.finished, trace.reason = True, "complete"
    else:
        trace.reason = "max_tokens"
    return trace
