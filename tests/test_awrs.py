"""AWRS token sampler: exact enumeration over small vocabularies is the judge.

Every estimator must be properly weighted, E[W·1{X=x}] = p(x)c(x), and ARS must
draw exactly from the masked law p(x)c(x)/Z. The random order is a
Plackett–Luce order; the enumerator below replaces it with every possible
order prefix (each next token is a choice point with probability
p(i)/Σ remaining), so the implementation itself runs on every random path and
the path probabilities are multiplied out. The geometric estimator also draws
phantom counts, so it is checked by Monte Carlo (fixed seed, 4σ).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from structgen.sampling.awrs import RaceOrder, RaceOrders, sample_token

TOL = 1e-12


# ----------------------------------------------------------------- enumerator


class _Chooser:
    """Replays a prefix of choices, then takes option 0 and records how many options there were."""

    def __init__(self, prefix: list[int]):
        self.prefix, self.taken, self.options, self.prob = prefix, [], [], 1.0

    def choose(self, weights: list[float]) -> int:
        depth = len(self.taken)
        i = self.prefix[depth] if depth < len(self.prefix) else 0
        self.taken.append(i)
        self.options.append(len(weights))
        self.prob *= weights[i] / sum(weights)
        return i


class _EnumeratedOrder:
    def __init__(self, p, excluded, chooser):
        self._remaining = [i for i in range(len(p)) if p[i] > 0 and i not in excluded]
        self._p, self._chooser = p, chooser

    def next(self):
        if not self._remaining:
            return None
        i = self._chooser.choose([self._p[r] for r in self._remaining])
        return self._remaining.pop(i)

    def first_in(self, allowed):
        while (x := self.next()) is not None:
            if allowed[x]:
                return x
        return None


class _EnumeratedOrders:
    rng = None

    def __init__(self, p, chooser):
        self._p, self._chooser = p, chooser

    def order(self, excluded=()):
        return _EnumeratedOrder(self._p, set(excluded), self._chooser)


def _log(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p, where=p > 0, out=np.full(p.size, -np.inf))


def enumerate_paths(run):
    """All (probability, result) pairs of ``run(chooser)`` over every sequence of choices."""
    pending, out = [[]], []
    while pending:
        prefix = pending.pop()
        chooser = _Chooser(prefix)
        result = run(chooser)
        for depth in range(len(prefix), len(chooser.taken)):
            pending.extend(chooser.taken[:depth] + [alt] for alt in range(1, chooser.options[depth]))
        out.append((chooser.prob, result))
    return out


def exact_moments(p, valid, estimator, temperature=1.0, **options):
    """P(X = x) and E[W·1{X=x}] per token, and P(no token), by enumeration of the implementation."""
    p = np.asarray(p, dtype=np.float64)
    logp = _log(p)
    target = p if temperature == 1.0 else p ** (1 / temperature) / np.sum(p ** (1 / temperature))
    mask = np.asarray(valid, dtype=bool)

    def run(chooser):
        return sample_token(logp, lambda t: bool(mask[t]), estimator=estimator, temperature=temperature,
                            orders=_EnumeratedOrders(target, chooser), mask=lambda: mask, **options)

    paths = enumerate_paths(run)
    law, weighted, none = np.zeros(p.size), np.zeros(p.size), 0.0
    for prob, draw in paths:
        if draw.token is None:
            assert draw.log_weight == -math.inf
            none += prob
        else:
            law[draw.token] += prob
            weighted[draw.token] += prob * math.exp(draw.log_weight)
    assert sum(prob for prob, _ in paths) == pytest.approx(1.0, abs=TOL)
    return law, weighted, none, target


# ----------------------------------------------------------------- problems


@st.composite
def problems(draw, peaked=False):
    n = draw(st.integers(1, 6))
    raw = draw(st.lists(st.one_of(st.just(0.0), st.floats(0.01, 1.0)), min_size=n, max_size=n))
    if peaked:
        top = draw(st.integers(0, n - 1))
        raw[top] = 2.0 * (sum(raw) - raw[top]) + draw(st.floats(0.01, 1.0))  # top >= 2/3 after normalising
    assume(sum(raw) > 0)
    p = [r / sum(raw) for r in raw]
    valid = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return p, valid


def _masked(p, valid):
    return np.asarray(p) * np.asarray(valid, dtype=float)


SPECIAL = [
    ([0.5, 0.3, 0.2], [False, True, False]),  # one valid token
    ([0.5, 0.3, 0.2], [True, True, True]),  # all valid
    ([0.5, 0.3, 0.2], [False, False, False]),  # none valid
    ([0.9, 0.05, 0.05, 0.0], [False, False, False, True]),  # the only valid token has p = 0
    ([0.8, 0.1, 0.05, 0.05], [True, False, True, False]),  # peaked, top valid
    ([0.8, 0.1, 0.05, 0.05], [False, True, False, True]),  # peaked, top invalid
    ([0.2, 0.2, 0.2, 0.2, 0.1, 0.1], [False, True, False, False, True, False]),
]


# ----------------------------------------------------------------- exact properties


def _assert_properly_weighted(p, valid, estimator, **options):
    law, weighted, none, target = exact_moments(p, valid, estimator, **options)
    gamma = _masked(target, valid)
    z = gamma.sum()
    np.testing.assert_allclose(weighted if estimator != "none" else law * z, gamma, rtol=0, atol=TOL)
    if z > 0:
        np.testing.assert_allclose(law, gamma / z, rtol=0, atol=TOL)  # the drawn token's law is ℓ
        assert none == pytest.approx(0.0, abs=TOL)
    else:
        assert none == pytest.approx(1.0, abs=TOL)


@pytest.mark.parametrize("estimator", ["none", "recursive", "paper"])
@pytest.mark.parametrize("p, valid", SPECIAL)
def test_special_cases_exactly(p, valid, estimator):
    _assert_properly_weighted(p, valid, estimator)


@pytest.mark.parametrize("estimator", ["none", "recursive", "paper"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_properly_weighted_by_enumeration(problem, estimator):
    _assert_properly_weighted(*problem, estimator)


@pytest.mark.parametrize("estimator", ["none", "recursive", "paper"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(peaked=True))
def test_properly_weighted_on_peaked_distributions(problem, estimator):
    _assert_properly_weighted(*problem, estimator)


@pytest.mark.parametrize("estimator", ["none", "recursive"])
@pytest.mark.parametrize("max_rejects", [0, 1, 2])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_mask_fallback_after_max_rejects_stays_properly_weighted(problem, estimator, max_rejects):
    _assert_properly_weighted(*problem, estimator, max_rejects=max_rejects)


@pytest.mark.parametrize("estimator", ["recursive", "paper"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_tempered_weights_are_for_the_tempered_distribution(problem, estimator):
    _assert_properly_weighted(*problem, estimator, temperature=0.5)


def test_always_true_constraint_gives_weight_exactly_one():
    for p in ([0.5, 0.3, 0.2], [1.0], [0.7, 0.0, 0.3]):
        for _, draw in enumerate_paths(lambda ch: sample_token(
                _log(p), lambda t: True, orders=_EnumeratedOrders(np.array(p), ch))):
            assert draw.log_weight == 0.0 and draw.checks <= 2


@settings(max_examples=40, deadline=None)
@given(problem=problems())
def test_temperature_zero_is_the_best_allowed_token(problem):
    p, valid = problem
    allowed = [i for i in range(len(p)) if valid[i] and p[i] > 0]
    assume(allowed and len({p[i] for i in allowed}) == len(allowed))
    logp = _log(p)
    for max_rejects in (None, 0, 1):
        draw = sample_token(logp, lambda t: valid[t], np.random.default_rng(0), temperature=0,
                            max_rejects=max_rejects, mask=lambda: np.array(valid))
        assert draw.token == max(allowed, key=lambda i: p[i])


# ----------------------------------------------------------------- the implementation on given orders


class _GivenOrders:
    """Hands out the given permutations, one per call of order() (minus excluded and p = 0 tokens)."""

    rng = None

    def __init__(self, p, perms):
        self._p, self._perms = p, list(perms)

    def order(self, excluded=()):
        return _GivenOrder([t for t in self._perms.pop(0) if t not in excluded and self._p[t] > 0])


class _GivenOrder:
    def __init__(self, perm):
        self._it = iter(perm)

    def next(self):
        return next(self._it, None)


def _run_fixed(p, valid, estimator, *perms):
    return sample_token(_log(p), lambda t: valid[t], estimator=estimator, orders=_GivenOrders(p, perms))


def test_recursive_weights_of_the_worked_example():
    p, valid = [0.6, 0.3, 0.1], [False, True, True]  # a invalid, b and c valid: Z = 0.4
    cases = {(0, 1, 2): 0.4, (1, 0, 2): 0.3, (1, 2, 0): 1.0}
    for perm, w in cases.items():
        draw = _run_fixed(p, valid, "recursive", perm)
        assert draw.token == 1 and math.exp(draw.log_weight) == pytest.approx(w, abs=TOL)


def _reference(p, valid, estimator, perm, second=None):
    """The estimators' definitions on full permutations (independent of the implementation)."""
    rejected = list(itertools.takewhile(lambda t: not valid[t], perm))
    if len(rejected) == len(perm):
        return None, 0.0
    x = perm[len(rejected)]
    mass = sum(p[t] for t in rejected)
    if estimator == "none":
        return x, 1.0
    if estimator == "recursive":
        rest = perm[len(rejected) + 1:]
        return x, p[x] + (1 - mass - p[x]) * (bool(rest) and valid[rest[0]])
    walk = [t for t in second if t not in rejected]
    n = len(rejected) + len(list(itertools.takewhile(lambda t: not valid[t], walk)))
    return x, (1 - mass) / (n + 1)


@pytest.mark.parametrize("estimator", ["none", "recursive", "paper"])
@settings(max_examples=25, deadline=None)
@given(problem=problems())
def test_implementation_agrees_with_the_definitions_on_every_order(problem, estimator):
    p, valid = problem
    support = [i for i in range(len(p)) if p[i] > 0]
    seconds = list(itertools.permutations(support)) if estimator == "paper" else [None]
    for perm in itertools.permutations(support):
        for second in seconds[:24]:
            draw = _run_fixed(p, valid, estimator, perm, *([second] if second else []))
            x, w = _reference(p, valid, estimator, list(perm), second)
            assert draw.token == x
            assert math.exp(draw.log_weight) == pytest.approx(w, abs=TOL)


# ----------------------------------------------------------------- the random order


def test_race_order_is_plackett_luce():
    """Frequencies of the first two positions match p(i)·p(j)/(1 − p(i)) within 4σ."""
    p = np.array([0.4, 0.25, 0.2, 0.1, 0.05, 0.0])
    rng = np.random.default_rng(7)
    orders = RaceOrders(_log(p), rng)
    n = 20000
    counts = np.zeros((6, 6))
    for _ in range(n):
        o = orders.order()
        counts[o.next(), o.next()] += 1
    for i, j in itertools.permutations(range(6), 2):
        expected = p[i] * p[j] / (1 - p[i]) if p[i] < 1 else 0.0
        sigma = math.sqrt(n * expected * (1 - expected))
        assert abs(counts[i, j] - n * expected) <= 4 * sigma + 1e-9, (i, j)
    assert counts[5].sum() == counts[:, 5].sum() == 0  # p = 0 never appears


def test_race_order_yields_ascending_times_lazily():
    rng = np.random.default_rng(3)
    times = rng.standard_exponential(5000)
    times[rng.random(5000) < 0.1] = np.inf
    expected = [int(i) for i in np.argsort(times, kind="stable") if np.isfinite(times[i])]
    order = RaceOrder(times.copy())
    got = []
    while (t := order.next()) is not None:
        got.append(t)
        if len(got) in (5, 100):  # first_in continues the same order
            allowed = rng.random(5000) < 0.05
            rest = [i for i in expected[len(got):] if allowed[i]]
            assert order.first_in(allowed) == (rest[0] if rest else None)
    assert got == expected


# ----------------------------------------------------------------- geometric (Monte Carlo)


@pytest.mark.parametrize("p, valid", [
    ([0.8, 0.1, 0.05, 0.05], [True, False, True, False]),
    ([0.7, 0.2, 0.1], [False, True, True]),
    ([0.4, 0.3, 0.2, 0.1], [False, True, False, True]),
    ([0.9, 0.1], [False, False]),
])
def test_geometric_is_properly_weighted_by_monte_carlo(p, valid):
    rng = np.random.default_rng(11)
    logp = np.log(p)
    n = 20000
    hits = np.zeros((n, len(p)))
    for k in range(n):
        draw = sample_token(logp, lambda t: valid[t], rng, estimator="geometric")
        if draw.token is not None:
            hits[k, draw.token] = math.exp(draw.log_weight)
    gamma = _masked(p, valid)
    mean, se = hits.mean(axis=0), hits.std(axis=0) / math.sqrt(n)
    assert np.all(np.abs(mean - gamma) <= 4 * se + TOL), (mean, gamma, se)


def test_estimators_that_cannot_be_bounded_refuse_max_rejects():
    for estimator in ("geometric", "paper"):
        with pytest.raises(ValueError, match="max_rejects"):
            sample_token(np.log([0.5, 0.5]), lambda t: True, np.random.default_rng(0), estimator=estimator,
                         max_rejects=3)
