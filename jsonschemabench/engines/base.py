"""The one interface the benchmark drives every engine through: compile a schema, then mask/advance.

Why a common interface: compile time, mask time and acceptance of valid instances are measured the
same way for structgen and each peer, in our own decoding loop, with one tokenizer.

End of sequence is handled here, once, for all engines: it is in the mask exactly when the matcher
accepts, advancing it ends the matcher, and nothing is allowed afterwards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

OUTPUT_SEPARATORS = (",", ":")
"""The engines are configured for the compact output form (no whitespace), like structgen."""


class EngineUnavailableError(RuntimeError):
    """The engine's package is not installed (or not usable yet); a status, not a crash."""


class EngineCompileError(RuntimeError):
    """The engine cannot compile this schema (declared coverage fails); the message says why."""


class Matcher(ABC):
    """A constraint state that moves forward token by token."""

    def __init__(self, vocab_size: int, eos_token_ids: tuple[int, ...]):
        self.vocab_size = vocab_size
        self.eos_token_ids = eos_token_ids
        self._ended = False

    # --- what each engine provides -------------------------------------------------------
    @abstractmethod
    def _compute_native_mask(self) -> Any:
        """The engine's own mask for the current state, in its own representation (not copied)."""

    @abstractmethod
    def _native_to_bool(self, native: Any) -> np.ndarray:
        """Convert a native mask to a bool array over the vocabulary (EOS handled by the caller)."""

    @abstractmethod
    def _advance(self, token_id: int) -> bool:
        """Consume a non-EOS token; return False and keep the state when it is not allowed."""

    @abstractmethod
    def _is_accepting(self) -> bool:
        """Whether the text so far is complete (end of sequence allowed)."""

    @abstractmethod
    def fresh(self) -> "Matcher":
        """A new matcher at the start of the same compiled schema, without compiling again."""

    # --- the interface -------------------------------------------------------------------
    def notes(self) -> list[str]:
        """What the engine says it changed about the schema (structgen's `notes`); none by default."""
        return []

    def compute_mask(self) -> Any:
        """The engine's own mask computation, without conversion: what the speed benchmark times.

        The result may be a buffer the next call overwrites; pass it to `to_bool` before that.
        """
        return None if self._ended else self._compute_native_mask()

    def to_bool(self, native: Any) -> np.ndarray:
        """A `compute_mask` result as allowed tokens (bool, one per token id), EOS set exactly when accepting."""
        if self._ended:
            return np.zeros(self.vocab_size, dtype=bool)
        allowed = np.array(self._native_to_bool(native), dtype=bool, copy=True)
        allowed[list(self.eos_token_ids)] = self._is_accepting()
        return allowed

    def mask(self) -> np.ndarray:
        """Allowed next tokens (bool, one per token id), EOS included exactly when accepting."""
        return self.to_bool(self.compute_mask())

    def advance(self, token_id: int) -> bool:
        """Consume one token; False means it is rejected and the state is unchanged."""
        token_id = int(token_id)
        if self._ended or not 0 <= token_id < self.vocab_size:
            return False
        if token_id in self.eos_token_ids:
            if not self._is_accepting():
                return False
            self._ended = True
            return True
        return self._advance(token_id)

    def is_accepting(self) -> bool:
        """Whether the output may end here."""
        return not self._ended and self._is_accepting()


class Engine(ABC):
    """A compiler from JSON Schema to matchers over one tokenizer's vocabulary."""

    name: str

    def __init__(self, tokenizer, vocab_size: int | None = None):
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size if vocab_size is not None else len(tokenizer)
        eos = tokenizer.eos_token_id
        self.eos_token_ids: tuple[int, ...] = tuple(eos) if isinstance(eos, (list, tuple)) else (int(eos),)

    @abstractmethod
    def compile(self, schema: Any) -> Matcher:
        """Compile a schema (dict or bool) and return a matcher at the start; raises EngineCompileError."""

    def settings(self) -> dict[str, Any]:
        """The options the engine was built with, recorded in benchmark results."""
        return {}


def unpack_bitmask(words: np.ndarray, vocab_size: int) -> np.ndarray:
    """Bit i of a little-endian int32 bitmask (token i) as bool; the layout xgrammar, llguidance and outlines share."""
    return np.unpackbits(words.view(np.uint8), bitorder="little")[:vocab_size].astype(bool)
