"""Sequential Monte Carlo with AWRS proposals: weighted samples from the model conditioned on the constraint.

Locally constrained decoding samples each token from the masked distribution,
which over whole strings is *not* the model's distribution conditioned on the
output being valid: it drops, at every step, the factor Z_t (the probability
mass the constraint left), so prefixes heading into near dead ends are
over-sampled. SMC runs N particles, multiplies each particle's weight by its
AWRS estimate of Z_t at every step, and resamples when the weights degenerate
(effective sample size below τ·N), so that particles in unlikely prefixes die
early. The target is π(y) ∝ p(y EOS)·1[y valid] over outputs of at most
``max_tokens`` tokens; the mean final weight estimates, without bias,
Z = P(the model's output is valid) under that length limit (`log_ml`).

Every end-of-sequence id ends a particle the same way, so their probabilities
add up as one event. At the length budget the end is forced and the weight
takes the factor p(EOS)·1[accepting]; a particle whose constraint state
accepts and allows nothing more ends the same way (EOS is then the only
allowed token).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..constraint import Constraint
from ..errors import InvalidArgumentError
from .awrs import ESTIMATORS, sample_token, tempered

RESAMPLING = ("multinomial", "stratified", "systematic")


@dataclass
class Particle:
    """One weighted output. ``reason``: "end_of_sequence", "complete" (nothing
    more allowed), "max_tokens" (ended at the budget, or cut off there when not
    accepting), "dead_end" (no allowed token had probability)."""

    tokens: list[int]
    data: bytes
    text: str
    log_weight: float
    finished: bool
    reason: str


@dataclass
class Samples:
    """Weighted outputs of a sampler, with the estimate of log P(valid) and statistics."""

    particles: list[Particle]
    log_ml: float  # log of the mean final weight (nan: the sampler makes no estimate, e.g. "lcd")
    stats: dict = field(default_factory=dict)

    @property
    def log_weights(self) -> np.ndarray:
        return np.array([p.log_weight for p in self.particles], dtype=np.float64)

    def posterior(self) -> dict[str, float]:
        """Finished outputs and their normalised weights, identical texts merged."""
        done = [p for p in self.particles if p.finished and p.log_weight > -math.inf]
        if not done:
            return {}
        top = max(p.log_weight for p in done)
        mass: dict[str, float] = {}
        for p in done:
            mass[p.text] = mass.get(p.text, 0.0) + math.exp(p.log_weight - top)
        total = sum(mass.values())
        return {text: m / total for text, m in sorted(mass.items(), key=lambda kv: -kv[1])}

    def best(self) -> Particle:
        """The finished particle with the highest weight, preferring those that ended on
        their own over those ended at the length budget ("max_tokens"); else the first."""
        done = [p for p in self.particles if p.finished]
        own = [p for p in done if p.reason != "max_tokens"]
        return max(own or done, key=lambda p: p.log_weight) if done else self.particles[0]


@dataclass
class _Walker:
    tokens: list[int]
    state: object
    log_weight: float = 0.0
    done: bool = False
    finished: bool = False
    reason: str = ""

    def fork(self) -> "_Walker":
        return _Walker(list(self.tokens), self.state, self.log_weight, self.done, self.finished, self.reason)


class _Counters:
    def __init__(self):
        self.checks: list[int] = []  # constraint checks per drawn token
        self.rejections = 0
        self.fallbacks = 0
        self.dead_ends = 0
        self.lm_calls = 0
        self.lm_contexts = 0
        self.resampling_events = 0
        self.ess: list[float] = []
        self.step_times: list[float] = []


def run_smc(lm, constraint: Constraint, context: list[int], *, particles: int = 4, max_tokens: int = 256,
            temperature: float = 1.0, seed: int | None = 0, ess_threshold: float = 0.5,
            resampling: str = "multinomial", estimator: str = "recursive",
            max_rejects: int | None = None, on_token: Callable[[int], None] | None = None) -> Samples:
    """N particles from ``context``; see the module docstring. ``ess_threshold=0``
    never resamples (importance sampling); with one particle this is AWRS.
    ``on_token`` is called with each token a particle appends (end-of-sequence
    excluded): a stream of the output only with one particle.

    Raises
    ------
    InvalidArgumentError
        ``particles`` below 1, ``max_tokens`` negative, an unknown
        ``resampling`` scheme or ``estimator``.
    """
    if particles < 1:
        raise InvalidArgumentError("particles", f"must be >= 1, got {particles}")
    if max_tokens < 0:
        raise InvalidArgumentError("max_tokens", f"must be >= 0, got {max_tokens}")
    if resampling not in RESAMPLING:
        raise InvalidArgumentError("resampling", f"unknown value {resampling!r}; choose from "
                                                 f"{', '.join(RESAMPLING)}")
    if estimator not in ESTIMATORS:
        raise InvalidArgumentError("estimator", f"unknown value {estimator!r}; choose from "
                                                f"{', '.join(ESTIMATORS)}")
    rng = np.random.default_rng(seed)
    eos = np.array(sorted(constraint.vocab.eos_token_ids), np.int64)
    eos_set = frozenset(int(e) for e in eos)
    counters = _Counters()
    start = time.perf_counter()
    walkers = [_Walker([], constraint.start()) for _ in range(particles)]

    while True:
        # Which particles need the model this step; dead ends need nothing.
        asking = []
        for w in walkers:
            if w.done:
                continue
            if not constraint.can_continue(w.state) and not constraint.is_accepting(w.state):
                w.done, w.log_weight, w.reason = True, -math.inf, "dead_end"
                counters.dead_ends += 1
                continue
            asking.append(w)
        if not asking:
            break
        logprobs = lm.next_token_logprobs([context + w.tokens for w in asking])
        counters.lm_calls += 1
        counters.lm_contexts += len(asking)
        for w, row in zip(asking, logprobs):
            length = len(w.tokens)
            _step(w, row, constraint, eos, eos_set, rng, counters, max_tokens=max_tokens,
                  temperature=temperature, estimator=estimator, max_rejects=max_rejects)
            if on_token is not None and len(w.tokens) > length:
                on_token(w.tokens[-1])
        counters.step_times.append(time.perf_counter())
        log_w = np.array([w.log_weight for w in walkers])
        ess = _ess(log_w)
        counters.ess.append(ess)
        if ess < ess_threshold * particles and any(not w.done for w in walkers) and ess > 0:
            ancestors = _resample(log_w, particles, rng, resampling)
            log_mean = _log_mean_exp(log_w)
            walkers = [walkers[a].fork() for a in ancestors]
            for w in walkers:
                w.log_weight = log_mean
            counters.resampling_events += 1

    final = np.array([w.log_weight for w in walkers])
    samples = Samples([_particle(w, constraint) for w in walkers], _log_mean_exp(final))
    samples.stats = _stats(counters, walkers, start, samples.log_ml)
    samples.stats.update(sampler="smc", particles=particles, estimator=estimator,
                         resampling=resampling, ess_threshold=ess_threshold)
    return samples


def _step(w: _Walker, row: np.ndarray, constraint: Constraint, eos: np.ndarray, eos_set: frozenset, rng,
          counters: _Counters, *, max_tokens: int, temperature: float, estimator: str,
          max_rejects: int | None) -> None:
    """Extend one particle by a token (or end it), multiplying its weight."""
    state = w.state
    if len(w.tokens) >= max_tokens or not constraint.can_continue(state):
        # End of sequence is forced (budget) or the only allowed token (complete).
        accepting = constraint.is_accepting(state)
        if not accepting:
            w.log_weight = -math.inf
        elif temperature > 0:  # greedy decoding (temperature 0) carries no weights
            w.log_weight += float(np.logaddexp.reduce(tempered(row, temperature)[eos]))
        w.done, w.finished = True, accepting
        w.reason = "max_tokens" if len(w.tokens) >= max_tokens else "complete"
        return
    advanced: dict[int, object] = {}

    def check(token: int) -> bool:
        nxt = constraint.advance(state, token)
        if nxt is None:
            return False
        advanced[token] = nxt
        return True

    draw = sample_token(row, check, rng, estimator=estimator, temperature=temperature, max_rejects=max_rejects,
                        mask=lambda: constraint.mask(state))
    counters.checks.append(draw.checks)
    counters.rejections += draw.rejections
    counters.fallbacks += draw.fallback
    w.log_weight += draw.log_weight
    if draw.token is None or w.log_weight == -math.inf:
        w.done, w.log_weight, w.reason = True, -math.inf, "dead_end"
        counters.dead_ends += 1
        return
    if draw.token in eos_set:
        w.done, w.finished, w.reason = True, True, "end_of_sequence"
        return
    w.tokens.append(draw.token)
    w.state = advanced[draw.token] if draw.token in advanced else constraint.advance(state, draw.token)


def _particle(w: _Walker, constraint: Constraint) -> Particle:
    data = constraint.vocab.decode(w.tokens)
    return Particle(list(w.tokens), data, data.decode("utf-8", errors="replace"), w.log_weight, w.finished,
                    w.reason)


def _log_mean_exp(log_w: np.ndarray) -> float:
    top = float(np.max(log_w))
    if top == -math.inf:
        return -math.inf
    return top + math.log(float(np.mean(np.exp(log_w - top))))


def _ess(log_w: np.ndarray) -> float:
    """Effective sample size 1 / Σ w̄² of the normalised weights (0 when all are zero)."""
    top = float(np.max(log_w))
    if top == -math.inf:
        return 0.0
    w = np.exp(log_w - top)
    return float(w.sum() ** 2 / np.sum(w * w))


def _resample(log_w: np.ndarray, n: int, rng: np.random.Generator, scheme: str) -> np.ndarray:
    """Ancestor indices, drawn in proportion to the weights."""
    w = np.exp(log_w - np.max(log_w))
    cumulative = np.cumsum(w / w.sum())
    cumulative[-1] = 1.0
    if scheme == "multinomial":
        u = rng.random(n)
    elif scheme == "stratified":
        u = (np.arange(n) + rng.random(n)) / n
    else:  # systematic
        u = (np.arange(n) + rng.random()) / n
    return np.searchsorted(cumulative, u, side="right")


def _stats(c: _Counters, walkers: list[_Walker], start: float, log_ml: float) -> dict:
    checks = np.array(c.checks, dtype=np.float64)
    per_token = ({"mean": float(checks.mean()), "p50": float(np.percentile(checks, 50)),
                  "p99": float(np.percentile(checks, 99)), "max": int(checks.max())} if checks.size else
                 {"mean": None, "p50": None, "p99": None, "max": None})
    return {
        "log_ml": log_ml,
        "steps": len(c.step_times),
        "tokens": sum(len(w.tokens) for w in walkers),
        "drawn_tokens": len(c.checks),
        "finished": sum(w.finished for w in walkers),
        "constraint_checks": int(checks.sum()),
        "checks_per_token": per_token,
        "checks_history": c.checks,
        "rejections": c.rejections,
        "fallbacks": c.fallbacks,
        "dead_ends": c.dead_ends,
        "resampling_events": c.resampling_events,
        "ess_history": c.ess,
        "lm_calls": c.lm_calls,
        "lm_contexts": c.lm_contexts,
        "start_time": start,
        "step_times": c.step_times,
    }
