"""Adaptive weighted rejection sampling (AWRS): one constrained token, checking only the tokens drawn.

Masking evaluates the constraint on every token of the vocabulary. AWRS
instead walks the tokens in a random order that *is* a sample without
replacement from the model's distribution p (a Plackett–Luce order), and
checks them one by one; the first allowed token is an exact draw from the
masked distribution ℓ(x) = p(x)c(x)/Z. That is adaptive rejection sampling
(ARS): it costs one check when the model already wants an allowed token, many
only where model and constraint disagree.

Sequential Monte Carlo also needs the local normaliser Z = Σ p(x)c(x) (the
factor by which masking distorts the model's law over whole strings). The
estimators here return, with the token X, a weight W that is *properly
weighted*: E[W · 1{X = x}] = p(x)c(x) for every x, so E[W] = Z. Weights are
returned as log W.

- ``"recursive"`` (default): ARS plus exactly one more check, of the token Y
  that follows X in the same order: W = p(X) + (1 − M − p(X))·c(Y), where M is
  the mass rejected before X. Given X (and the rejected set), E[W] = Z.
- ``"geometric"``: reconstructs with-replacement rejection sampling from the
  walk (phantom re-draws of rejected tokens are geometric counts) up to a
  second acceptance, and uses W = 1/(n + 1) with n rejections. When p(X) is
  large the second acceptance is usually X again, so it costs fewer checks
  than "recursive" on peaked distributions.
- ``"paper"``: the two-trace estimator of Lipkin et al. (2025): a second,
  fresh walk over the support minus the rejected tokens, W = (1 − ψ)/(n + 1)
  with ψ the mass rejected by the first walk and n all rejections. Kept as a
  reference.
- ``"none"``: ARS only, weight 1: the masked (LCD) law, no correction.

The functions work on a log-probability vector and a ``check(token) -> bool``
callable, so they can be verified by exact enumeration on small vocabularies;
the random order comes from an `OrderSource`, which tests may replace.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import InvalidArgumentError

ESTIMATORS = ("recursive", "geometric", "paper", "none")

#: With ``max_rejects=None`` the "recursive" and "none" estimators give up
#: walking after this many rejections and use the constraint's (cached) mask:
#: past that point one mask is cheaper than more single checks.
AUTO_MAX_REJECTS = 64

#: Tokens produced one by one (by arg-min) before the order switches to
#: partial sorts: most steps need only one or two tokens.
_EAGER = 8
_FIRST_CHUNK = 64


class Order(Protocol):
    """One random order of tokens, consumed lazily."""

    def next(self) -> int | None:
        """The next token (with p > 0), or None when the support is exhausted."""

    def first_in(self, allowed: np.ndarray) -> int | None:
        """Continue the order to its first token inside ``allowed`` (None if there is none)."""


class OrderSource(Protocol):
    """Fresh Plackett–Luce orders over the support of one distribution."""

    rng: np.random.Generator

    def order(self, excluded: Collection[int] = ()) -> Order: ...


class RaceOrder:
    """Tokens in ascending order of their arrival ``times`` (inf: never), lazily.

    With times E_x / p(x), E_x ~ Exp(1) (an exponential race; equivalently
    descending log p + Gumbel keys), this order is Plackett–Luce: a sample
    without replacement from p. Only the head is sorted: first by repeated
    arg-min, then by partial sorts of growing chunks.
    """

    def __init__(self, times: np.ndarray):
        self._times = times  # owned: visited entries are set to inf
        self._queue: list[int] = []
        self._taken = 0
        self._chunk = _FIRST_CHUNK

    def next(self) -> int | None:
        if self._queue:
            return self._queue.pop()
        times = self._times
        if self._taken < _EAGER:
            i = int(np.argmin(times))
            if times[i] == math.inf:
                return None
            times[i] = math.inf
            self._taken += 1
            return i
        k = min(self._chunk, times.size)
        self._chunk *= 4
        head = np.argpartition(times, k - 1)[:k] if k < times.size else np.arange(times.size)
        head = head[np.argsort(times[head], kind="stable")]
        head = head[times[head] < math.inf]
        if head.size == 0:
            return None
        times[head] = math.inf
        self._queue = head[::-1].tolist()  # pop() from the end yields ascending times
        return self._queue.pop()

    def first_in(self, allowed: np.ndarray) -> int | None:
        candidates = [t for t in self._queue if allowed[t]]
        if candidates:  # the queue holds the earliest remaining arrivals, in order
            return candidates[-1]
        i = int(np.argmin(np.where(allowed, self._times, math.inf)))
        return i if allowed[i] and self._times[i] < math.inf else None


class RaceOrders:
    """Fresh exponential-race orders for log-probabilities ``logp`` (normalised)."""

    def __init__(self, logp: np.ndarray, rng: np.random.Generator):
        self.rng = rng
        self._p = np.exp(logp)

    def order(self, excluded: Collection[int] = ()) -> RaceOrder:
        with np.errstate(divide="ignore"):
            times = self.rng.standard_exponential(self._p.size) / self._p
        if len(excluded):
            times[np.fromiter(excluded, np.int64, len(excluded))] = math.inf
        return RaceOrder(times)


@dataclass(frozen=True)
class TokenDraw:
    """One constrained token and its weight.

    ``token`` is None when no allowed token has positive probability (Z = 0);
    ``log_weight`` is then −inf. ``fallback`` says the mask was used (after
    ``max_rejects`` rejections) and ``log_weight`` is the exact log Z.
    """

    token: int | None
    log_weight: float
    checks: int
    rejections: int
    fallback: bool = False


def tempered(logprobs: np.ndarray, temperature: float) -> np.ndarray:
    """log of p^(1/T), renormalised (T = 1: the input, assumed normalised)."""
    logp = np.asarray(logprobs, dtype=np.float64)
    if temperature == 1.0:
        return logp
    scaled = logp / temperature
    return scaled - _logsumexp(scaled)


def sample_token(logprobs: np.ndarray, check: Callable[[int], bool], rng: np.random.Generator | None = None, *,
                 estimator: str = "recursive", temperature: float = 1.0, max_rejects: int | None = None,
                 mask: Callable[[], np.ndarray] | None = None, orders: OrderSource | None = None) -> TokenDraw:
    """Draw a token from the model's distribution restricted to ``check``, with a weight.

    ``logprobs`` is the next-token log-probability vector; with ``temperature``
    T the draw is from p^(1/T) renormalised and the weight estimates that
    tempered distribution's Z. T = 0 is greedy: the allowed token with the
    highest log-probability (weight 1, no estimate). ``mask()`` returns the
    full boolean mask of allowed tokens; after ``max_rejects`` rejections
    ("recursive" and "none" only, where giving up keeps the weights proper)
    the token comes from it and the weight is the exact Z. ``orders``
    replaces the random order (tests inject enumerated orders).
    """
    if estimator not in ESTIMATORS:
        raise InvalidArgumentError("estimator", f"unknown value {estimator!r}; choose from "
                                                f"{', '.join(ESTIMATORS)}")
    if temperature < 0:
        raise InvalidArgumentError("temperature", f"must be >= 0, got {temperature}")
    counted = _CountedCheck(check)
    bound = None if mask is None else AUTO_MAX_REJECTS if max_rejects is None else max_rejects
    if temperature == 0:
        return _greedy(np.asarray(logprobs, dtype=np.float64), counted, bound, mask)
    logp = tempered(logprobs, temperature)
    if orders is None:
        orders = RaceOrders(logp, rng if rng is not None else np.random.default_rng())
    if estimator in ("recursive", "none"):
        return _ars_family(logp, counted, orders, bound, mask, weighted=estimator == "recursive")
    check_max_rejects(estimator, max_rejects)
    if estimator == "geometric":
        return _geometric(logp, counted, orders)
    return _paper(logp, counted, orders)


def check_max_rejects(estimator: str, max_rejects: int | None) -> None:
    """Raises `InvalidArgumentError` when `max_rejects` would bias `estimator`'s weights
    (giving up after a bound keeps them proper for "recursive" and "none" only)."""
    if max_rejects is not None and estimator in ("geometric", "paper"):
        raise InvalidArgumentError("max_rejects", f"cannot bound the {estimator!r} estimator without biasing its "
                                                  "weights; use estimator='recursive'")


class _CountedCheck:
    def __init__(self, check: Callable[[int], bool]):
        self._check = check
        self.calls = 0

    def __call__(self, token: int) -> bool:
        self.calls += 1
        return bool(self._check(token))


def _greedy(logp: np.ndarray, check: _CountedCheck, bound: int | None, mask) -> TokenDraw:
    order = RaceOrder(np.where(np.isfinite(logp), -logp, math.inf))
    rejections = 0
    while bound is None or rejections < bound:
        x = order.next()
        if x is None:
            return TokenDraw(None, -math.inf, check.calls, rejections)
        if check(x):
            return TokenDraw(x, 0.0, check.calls, rejections)
        rejections += 1
    x = order.first_in(mask())
    return TokenDraw(x, 0.0 if x is not None else -math.inf, check.calls, rejections, fallback=True)


def _ars_family(logp: np.ndarray, check: _CountedCheck, orders: OrderSource, bound: int | None, mask,
                weighted: bool) -> TokenDraw:
    """ARS; with ``weighted``, the recursive estimate from one more check."""
    order = orders.order()
    rejected: list[int] = []
    rejected_mass = 0.0
    while True:
        if bound is not None and len(rejected) >= bound:
            allowed = mask()
            x = order.first_in(allowed)
            if x is None:
                return TokenDraw(None, -math.inf, check.calls, len(rejected), fallback=True)
            log_z = _logsumexp(logp[allowed]) if weighted else 0.0
            return TokenDraw(x, log_z, check.calls, len(rejected), fallback=True)
        x = order.next()
        if x is None:
            return TokenDraw(None, -math.inf, check.calls, len(rejected))
        if check(x):
            break
        rejected.append(x)
        rejected_mass += math.exp(logp[x])
    if not weighted:
        return TokenDraw(x, 0.0, check.calls, len(rejected))
    y = order.next()
    if y is not None and check(y):
        log_w = _log_mass_left(logp, rejected, rejected_mass)  # p(X) + everything not yet visited
    else:
        log_w = float(logp[x])
    return TokenDraw(x, log_w, check.calls, len(rejected))


def _geometric(logp: np.ndarray, check: _CountedCheck, orders: OrderSource) -> TokenDraw:
    """With-replacement rejection sampling until two acceptances, rebuilt from one walk; W = 1/(n+1).

    Between new tokens of the walk, a with-replacement sampler re-draws
    already rejected tokens a Geometric(1 − M) − 1 number of times (M: their
    mass); after X is accepted, each non-rejected draw is X again with
    probability p(X)/(1 − M), else the next new token.
    """
    rng = orders.rng
    order = orders.order()
    rejected: list[int] = []
    mass = 0.0
    n = 0
    while True:
        x = order.next()
        if x is None:
            return TokenDraw(None, -math.inf, check.calls, len(rejected))
        if rejected:  # re-draws of rejected tokens before this new one (mass left >= p(x) > 0)
            n += int(rng.geometric(_mass_left(logp, rejected, mass))) - 1
        if check(x):
            break
        n += 1
        rejected.append(x)
        mass += math.exp(logp[x])
    rejected_before_x = len(rejected)
    p_x = math.exp(logp[x])
    while True:
        left = _mass_left(logp, rejected, mass) if rejected else 1.0
        if rejected:
            n += int(rng.geometric(left)) - 1
        if rng.random() * left < p_x:
            break  # X drawn again
        y = order.next()
        if y is None or check(y):
            break
        n += 1
        rejected.append(y)
        mass += math.exp(logp[y])
    return TokenDraw(x, -math.log1p(n), check.calls, rejected_before_x)


def _paper(logp: np.ndarray, check: _CountedCheck, orders: OrderSource) -> TokenDraw:
    """Two traces: ARS, then a fresh walk over the support minus its rejections; W = (1 − ψ)/(n + 1)."""
    order = orders.order()
    rejected: list[int] = []
    psi = 0.0
    while True:
        x = order.next()
        if x is None:
            return TokenDraw(None, -math.inf, check.calls, len(rejected))
        if check(x):
            break
        rejected.append(x)
        psi += math.exp(logp[x])
    log_left = _log_mass_left(logp, rejected, psi)
    n = len(rejected)
    second = orders.order(excluded=rejected)
    while True:
        y = second.next()
        if y is None or check(y):  # X is still in the support, so the walk accepts
            break
        n += 1
    return TokenDraw(x, log_left - math.log1p(n), check.calls, len(rejected))


def _log_mass_left(logp: np.ndarray, removed: list[int], removed_mass: float) -> float:
    """log(1 − mass of ``removed``), exactly 0 when nothing was removed; summed
    over what is left when the subtraction would lose precision."""
    if removed_mass < 0.5:
        return math.log1p(-removed_mass)
    rest = logp.copy()
    rest[removed] = -math.inf
    return _logsumexp(rest)


def _mass_left(logp: np.ndarray, removed: list[int], removed_mass: float) -> float:
    return math.exp(_log_mass_left(logp, removed, removed_mass))


def _logsumexp(values: np.ndarray) -> float:
    if values.size == 0:
        return -math.inf
    top = float(np.max(values))
    if top == -math.inf:
        return -math.inf
    return top + math.log(float(np.sum(np.exp(values - top))))
