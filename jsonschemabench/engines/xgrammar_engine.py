"""xgrammar adapter: GrammarCompiler.compile_json_schema + GrammarMatcher with a token bitmask."""

from __future__ import annotations

import json
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


class XGrammarEngine(Engine):
    """xgrammar in the compact output form.

    `strict_mode=False` by default so that properties and items the schema allows but does not
    list stay allowed (xgrammar's default forbids them, which would reject valid instances);
    the compile cache is off so every compile is timed for real.
    """

    name = "xgrammar"

    def __init__(self, tokenizer, vocab_size: int | None = None, strict_mode: bool = False, max_threads: int = 8):
        super().__init__(tokenizer, vocab_size)
        try:
            import xgrammar
        except ImportError as error:
            raise EngineUnavailableError(f"xgrammar is not installed ({error})") from error
        self._xgr = xgrammar
        self.strict_mode = strict_mode
        self.max_threads = max_threads
        info = xgrammar.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=self.vocab_size, stop_token_ids=list(self.eos_token_ids)
        )
        self._compiler = xgrammar.GrammarCompiler(info, max_threads=max_threads, cache_enabled=False)

    def compile(self, schema: Any) -> Matcher:
        try:
            compiled = self._compiler.compile_json_schema(
                json.dumps(schema),
                any_whitespace=False,
                separators=OUTPUT_SEPARATORS,
                strict_mode=self.strict_mode,
            )
        except Exception as error:  # xgrammar reports unsupported schemas as RuntimeError/ValueError
            raise EngineCompileError(f"{type(error).__name__}: {error}") from error
        return XGrammarMatcher(self, compiled)

    def settings(self) -> dict[str, Any]:
        return {
            "version": version("xgrammar"),
            "any_whitespace": False,
            "separators": OUTPUT_SEPARATORS,
            "strict_mode": self.strict_mode,
            "max_threads": self.max_threads,
            "cache_enabled": False,
        }


class XGrammarMatcher(Matcher):
    def __init__(self, engine: XGrammarEngine, compiled):
        super().__init__(engine.vocab_size, engine.eos_token_ids)
        self._engine, self._compiled = engine, compiled
        self._matcher = engine._xgr.GrammarMatcher(compiled)
        self._bitmask = np.full(((engine.vocab_size + 31) // 32,), -1, dtype=np.int32)
        self._bitmask_2d = self._bitmask.reshape(1, -1)

    def _compute_native_mask(self) -> np.ndarray:
        self._matcher.fill_next_token_bitmask(self._bitmask_2d)
        return self._bitmask

    def _native_to_bool(self, native: np.ndarray) -> np.ndarray:
        return unpack_bitmask(native, self.vocab_size)

    def _advance(self, token_id: int) -> bool:
        return bool(self._matcher.accept_token(token_id))

    def _is_accepting(self) -> bool:
        return bool(self._matcher.is_completed())

    def fresh(self) -> XGrammarMatcher:
        return XGrammarMatcher(self._engine, self._compiled)
