"""`ConstraintProtocol`: what the samplers and `generate` ask of a constraint.

Two classes implement it: `structgen.Constraint` (a DFA, for regular
schemas and patterns) and `structgen.grammar.GrammarConstraint` (a pushdown
automaton, for grammars and recursive schemas). Anything else that has
these members (a constraint of another engine, a test double) can be
given to `structgen.sample` too. `tests/test_constraint_protocol.py` is the
conformance suite every implementation passes.
"""

from __future__ import annotations

from typing import Any, Hashable, Protocol, runtime_checkable

import numpy as np

from .constraint import CompileInfo

__all__ = ["ConstraintProtocol"]


@runtime_checkable
class ConstraintProtocol(Protocol):
    """A structure compiled over a vocabulary, walked token by token.

    States are immutable and hashable (samplers fork them freely between
    particles); ``advance`` is a function of its arguments, so the same
    state and token always give equal states.

    Attributes
    ----------
    vocab : Vocabulary
        The vocabulary the constraint was compiled against; the mask has
        ``len(vocab)`` entries.
    info : CompileInfo
        What compiling did (time, automaton size, ignored keywords, notes).

    Notes
    -----
    The contract, beyond the signatures:

    - ``mask(s)[t]`` is True exactly when ``advance(s, t)`` is not None, and
      ``bitmask(s)`` holds the same tokens;
    - an end-of-sequence token is allowed exactly in accepting states, and
      leads to a finished state, on which every ``advance`` is None;
    - a live (not finished) state reached by allowed tokens has a non-empty
      mask (except at a grammar's ``max_depth`` bound, a documented limit);
    - the bytes of a walk that ends accepting belong to the language;
    - ``forced_bytes(s)`` is non-empty only where ``s`` is not accepting and
      exactly one byte can follow, and every accepted continuation from
      ``s`` starts with it.

    ``isinstance(x, ConstraintProtocol)`` checks only that the members exist.
    """

    vocab: Any
    info: CompileInfo

    def start(self) -> Hashable:
        """The state before any token."""

    def advance(self, state: Hashable, token_id: int) -> Hashable | None:
        """The state after `token_id`, or None when the token is not allowed."""

    def mask(self, state: Hashable) -> np.ndarray:
        """Boolean array over the vocabulary: which tokens may come next (read-only)."""

    def bitmask(self, state: Hashable) -> np.ndarray:
        """`mask` as bits (`structgen.bitmask`: uint32 words, token t in bit t % 32 of word t // 32;
        read-only, may be shared)."""

    def is_accepting(self, state: Hashable) -> bool:
        """May the output end here (is end-of-sequence allowed)?"""

    def is_finished(self, state: Hashable) -> bool:
        """Has end-of-sequence been taken?"""

    def can_continue(self, state: Hashable) -> bool:
        """Is any byte allowed after this state (else only end-of-sequence is)?"""

    def advance_bytes(self, state: Hashable, data: bytes) -> Hashable | None:
        """The state after raw bytes (text that was not tokenised), or None when they are not allowed."""

    def forced_bytes(self, state: Hashable, limit: int = 256) -> bytes:
        """The longest bytes (at most `limit`) that every accepted continuation from `state` starts with:
        they stop at an accepting state or where two bytes are possible (LCD's fast-forward appends them)."""

    def accepts_text(self, data: bytes) -> bool:
        """Does the whole byte string belong to the language? (`generate` re-checks its output with it)"""
