"""Compile budgets (states, seconds, memory) and the meter that enforces them.

Why a meter in a context variable: compiling runs through many layers (the
schema compiler, the regex lowering, the pushdown compiler) that call
`build_dfa` dozens of times, and none of them should have to thread a budget
through every call. `compile_json_schema` / `compile_regex` /
`compile_grammar` open one `metered(budget, what)` block; every automaton
loop inside it (NFA building, subset construction, products, minimisation,
the pushdown tables) consults `current()` and stops with
`CompileBudgetError` as soon as one budget is spent. Code outside any block
(tests, direct `build_dfa` calls) gets a fresh default meter per call.

The memory budget is a deterministic *estimate*, not the process's RSS:
each loop that can grow counts the bytes of the structure it grows (NFA
edges, the stored subsets of the subset construction, product and
transition tables, the closure lists) with the per-item sizes below, so the
same input fails the same way on every machine and before the memory is
actually taken. The estimate bounds the largest structure alive, not the sum.

The seconds budget is wall-clock time since the block opened; numba kernels
read the clock every few thousand steps (`now`), Python loops through
`Meter.tick`.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numba as nb

from ..errors import CompileBudgetError, InvalidArgumentError

# Estimated bytes per item, used by the memory budget.
NFA_EDGE_BYTES = 80  # a Python (source, set, target) tuple in a list
SUBSET_MEMBER_BYTES = 8  # one NFA state of one stored DFA subset (int64)
TABLE_CELL_BYTES = 4  # one int32 transition

# Status codes the numba kernels return instead of raising.
OVER_STATES, OVER_MEMORY, OVER_SECONDS = -1, -2, -3
CLOCK_EVERY = 4096  # kernel steps between two reads of the clock

_HINTS = {  # the states budget's error is made where the state count's error is caught (structgen.compile)
    "seconds": "raise it with CompileBudget(max_seconds=...)",
    "memory": "raise it with CompileBudget(max_memory=...) (bytes, estimated from automaton sizes)",
}


@dataclass(frozen=True)
class CompileBudget:
    """Limits on one compilation (a schema, a pattern or a grammar).

    Parameters
    ----------
    max_states : int
        Most states of any one automaton (NFA, DFA, product) built on the way,
        and of the rows a lazily built document automaton makes, when
        compiling and when decoding (its NFA may have ten times as many:
        `structgen.automata.lazy.NFA_STATES_PER_STATE`).
    max_seconds : float
        Wall-clock seconds for the whole compilation (``math.inf``: no limit).
    max_memory : int
        Bytes of the largest intermediate structure, *estimated* from its size
        (NFA edges, stored subsets, transition tables), not measured: the
        same input fails the same way everywhere, before the memory is taken.

    Raises
    ------
    InvalidArgumentError
        When a limit is not positive (or `max_seconds` is NaN).

    Notes
    -----
    Going over a budget raises `structgen.CompileBudgetError`, whose
    `budget` is ``"states"``, ``"seconds"`` or ``"memory"`` and whose message
    names the keyword argument that raises it.
    """

    max_states: int = 1_000_000
    max_seconds: float = 20.0
    max_memory: int = 1 << 30

    def __post_init__(self):
        for name in ("max_states", "max_memory"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(name, f"must be a positive integer, got {value!r}")
        seconds = self.max_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
            raise InvalidArgumentError("max_seconds", f"must be a positive number of seconds, got {seconds!r}")


DEFAULT_BUDGET = CompileBudget()


class Meter:
    """One compilation's budget and its clock: what the automaton loops consult."""

    def __init__(self, budget: CompileBudget = DEFAULT_BUDGET, what: str = "automaton"):
        self.budget = budget
        self.what = what
        self.deadline = time.perf_counter() + budget.max_seconds if math.isfinite(budget.max_seconds) else math.inf
        self._ticks = 0

    @property
    def max_states(self) -> int:
        return self.budget.max_states

    @property
    def max_cells(self) -> int:
        """The memory budget in 8-byte cells (what the kernels count)."""
        return self.budget.max_memory // 8

    def error(self, budget: str) -> CompileBudgetError:
        """The error for the ``"seconds"`` or ``"memory"`` budget."""
        limit = {"seconds": self.budget.max_seconds, "memory": self.budget.max_memory}[budget]
        return CompileBudgetError(self.what, budget, limit, _HINTS[budget])

    def check(self) -> None:
        """Raise `CompileBudgetError` when the time is up."""
        if time.perf_counter() > self.deadline:
            raise self.error("seconds")

    def tick(self) -> None:
        """`check`, but reading the clock only every 256th call (for tight Python loops)."""
        self._ticks += 1
        if not self._ticks & 255:
            self.check()

    def memory(self, nbytes: int) -> None:
        """Raise `CompileBudgetError` when a structure of `nbytes` (estimated) is over budget."""
        if nbytes > self.budget.max_memory:
            raise self.error("memory")

    def status(self, code: int) -> None:
        """Turn a kernel's memory or seconds status code into the error (states are the caller's)."""
        if code == OVER_MEMORY:
            raise self.error("memory")
        if code == OVER_SECONDS:
            raise self.error("seconds")


_current: ContextVar[Meter | None] = ContextVar("structgen_compile_meter", default=None)


def current() -> Meter:
    """The meter of the enclosing `metered` block, or a fresh default one."""
    meter = _current.get()
    return meter if meter is not None else Meter()


@contextmanager
def metered(budget: CompileBudget | None, what: str):
    """Run the block under `budget` (None: the defaults); `what` is ``"schema"``, ``"pattern"`` or ``"grammar"``.

    Inside a block for the same budget and `what`, the outer meter (and its clock) goes on.
    """
    outer = _current.get()
    if outer is not None and outer.budget is budget and outer.what == what:
        yield outer
        return
    token = _current.set(Meter(budget or DEFAULT_BUDGET, what))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@nb.njit(cache=True)
def now() -> float:
    """`time.perf_counter()` from inside a numba kernel."""
    with nb.objmode(t="float64"):
        t = time.perf_counter()
    return t
