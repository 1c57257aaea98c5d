"""Validation of the sampling arguments, before any model is loaded or schema compiled.

Why here and first: a NaN temperature or zero particles is found in
microseconds, while loading the model takes seconds and a bad value found
inside the sampling loop surfaces as a numpy warning, a silent greedy
decode or a traceback. `structgen.generate`, `structgen.sample` and the
command line all call `check_sampling_arguments`, so library users and
the CLI get the same named `InvalidArgumentError`.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from ..errors import InvalidArgumentError
from .awrs import ESTIMATORS, check_max_rejects
from .smc import RESAMPLING

SAMPLERS = ("lcd", "awrs", "smc")


def check_sampling_arguments(*, sampler: str = "lcd", particles: int = 4, max_tokens: int = 256,
                             temperature: float = 1.0, top_p: float = 1.0, seed: int | None = 0,
                             ess_threshold: float = 0.5, resampling: str = "multinomial",
                             estimator: str = "recursive", max_rejects: int | None = None) -> None:
    """Refuse any argument outside its domain.

    Raises
    ------
    InvalidArgumentError
        Naming the first bad argument: an unknown sampler, resampling scheme
        or estimator; ``particles`` or ``max_tokens`` not a positive integer;
        ``seed`` or ``max_rejects`` negative; ``temperature`` negative or not
        finite; ``top_p`` outside (0, 1]; ``ess_threshold`` outside [0, 1];
        ``max_rejects`` with an estimator it would bias; ``top_p`` below 1
        with a sampler other than "lcd".
    """
    _choice("sampler", sampler, SAMPLERS)
    _choice("resampling", resampling, RESAMPLING)
    _choice("estimator", estimator, ESTIMATORS)
    _integer("particles", particles, minimum=1)
    _integer("max_tokens", max_tokens, minimum=1)
    if max_rejects is not None:
        _integer("max_rejects", max_rejects, minimum=0)  # 0: the full mask at once
    if seed is not None:
        _integer("seed", seed, minimum=0)
    _real("temperature", temperature, 0.0, math.inf, "must be a finite number >= 0 (0 = greedy)")
    _real("top_p", top_p, 0.0, 1.0, "must be in (0, 1] (1 = off)", open_low=True)
    _real("ess_threshold", ess_threshold, 0.0, 1.0, "must be in [0, 1]")
    check_max_rejects(estimator, max_rejects)
    if top_p != 1.0 and sampler != "lcd":
        raise InvalidArgumentError("top_p", "applies to the 'lcd' sampler only (AWRS weights are for the full "
                                            "distribution)")


def _choice(name: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidArgumentError(name, f"unknown value {value!r}; choose from {', '.join(choices)}")


def _integer(name: str, value, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidArgumentError(name, f"must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidArgumentError(name, f"must be >= {minimum}, got {value}")


def _real(name: str, value, low: float, high: float, domain: str, *, open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidArgumentError(name, f"{domain}, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < low or value > high or (open_low and value == low):
        raise InvalidArgumentError(name, f"{domain}, got {value!r}")
