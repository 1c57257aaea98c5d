"""llguidance adapter: LLMatcher on the grammar from `grammar_from_json_schema`, compact separators."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np

from jsonschemabench.engines.base import (
    OUTPUT_SEPARATORS,
    Engine,
    EngineCompileError,
    EngineUnavailableError,
    Matcher,
    unpack_bitmask,
)

JSON_OPTIONS = {
    "item_separator": OUTPUT_SEPARATORS[0],
    "key_separator": OUTPUT_SEPARATORS[1],
    "whitespace_flexible": False,
}


class LLGuidanceEngine(Engine):
    """llguidance in the compact output form; errors are read from the matcher (it never raises)."""

    name = "llguidance"

    def __init__(self, tokenizer, vocab_size: int | None = None):
        super().__init__(tokenizer, vocab_size)
        try:
            import llguidance
            import llguidance.hf
            import llguidance.numpy
        except ImportError as error:
            raise EngineUnavailableError(f"llguidance is not installed ({error})") from error
        self._llg = llguidance
        self._tokenizer = llguidance.hf.from_tokenizer(
            tokenizer, n_vocab=self.vocab_size, eos_token=list(self.eos_token_ids)
        )

    def compile(self, schema: Any) -> Matcher:
        try:
            grammar = self._llg.LLMatcher.grammar_from_json_schema(schema, overrides=JSON_OPTIONS)
        except ValueError as error:
            raise EngineCompileError(f"ValueError: {error}") from error
        matcher = self._llg.LLMatcher(self._tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise EngineCompileError(matcher.get_error())
        return LLGuidanceMatcher(self, matcher)

    def settings(self) -> dict[str, Any]:
        return {"version": version("llguidance"), **JSON_OPTIONS}


class LLGuidanceMatcher(Matcher):
    def __init__(self, engine: LLGuidanceEngine, matcher):
        super().__init__(engine.vocab_size, engine.eos_token_ids)
        self._engine, self._pristine = engine, matcher.deep_copy()
        self._matcher = matcher
        self._fill = engine._llg.numpy.fill_next_token_bitmask
        self._bitmask_2d = np.full((1, (engine.vocab_size + 31) // 32), -1, dtype=np.int32)

    def _check(self, when: str) -> None:
        if self._matcher.is_error():
            raise RuntimeError(f"llguidance failed {when}: {self._matcher.get_error()}")

    def _compute_native_mask(self) -> np.ndarray:
        self._fill(self._matcher, self._bitmask_2d)
        self._check("computing a mask")
        return self._bitmask_2d[0]

    def _native_to_bool(self, native: np.ndarray) -> np.ndarray:
        return unpack_bitmask(native, self.vocab_size)

    def _advance(self, token_id: int) -> bool:
        # consume_token puts the matcher in a permanent error state on a bad token: check first.
        if self._matcher.validate_tokens([token_id]) != 1:
            return False
        ok = self._matcher.consume_token(token_id)
        self._check(f"consuming token {token_id}")
        return bool(ok)

    def _is_accepting(self) -> bool:
        return bool(self._matcher.is_accepting())

    def fresh(self) -> LLGuidanceMatcher:
        return LLGuidanceMatcher(self._engine, self._pristine.deep_copy())
