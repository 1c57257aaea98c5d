"""outlines-core adapter: an `Index` over the regex `build_regex_from_schema` makes, walked by a `Guide`."""

from __future__ import annotations

import json
from importlib.metadata import version
from typing import Any

import numpy as np

from jsonschemabench.engines.base import Engine, EngineCompileError, EngineUnavailableError, Matcher, unpack_bitmask
from jsonschemabench.engines.tokenizer import token_bytes


class OutlinesCoreEngine(Engine):
    """outlines-core with whitespace pattern "" (compact output); compiling builds the whole index, so it is slow."""

    name = "outlines-core"

    def __init__(self, tokenizer, vocab_size: int | None = None, max_recursion_depth: int = 3):
        super().__init__(tokenizer, vocab_size)
        try:
            import outlines_core
        except ImportError as error:
            raise EngineUnavailableError(f"outlines-core is not installed ({error})") from error
        self._oc = outlines_core
        self.max_recursion_depth = max_recursion_depth
        token_ids: dict[bytes, list[int]] = {}
        for token_id, piece in enumerate(token_bytes(tokenizer)[: self.vocab_size]):
            if piece is not None and token_id not in self.eos_token_ids:
                token_ids.setdefault(piece, []).append(token_id)
        self._vocabulary = outlines_core.Vocabulary(self.eos_token_ids[0], token_ids)

    def compile(self, schema: Any) -> Matcher:
        try:
            regex = self._oc.json_schema.build_regex_from_schema(
                json.dumps(schema), whitespace_pattern="", max_recursion_depth=self.max_recursion_depth
            )
            index = self._oc.Index(regex, self._vocabulary)
        except Exception as error:  # outlines-core raises ValueError/TypeError for what it cannot handle
            raise EngineCompileError(f"{type(error).__name__}: {error}") from error
        return OutlinesCoreMatcher(self, index)

    def settings(self) -> dict[str, Any]:
        return {
            "version": version("outlines-core"),
            "whitespace_pattern": "",
            "max_recursion_depth": self.max_recursion_depth,
        }


class OutlinesCoreMatcher(Matcher):
    def __init__(self, engine: OutlinesCoreEngine, index):
        super().__init__(engine.vocab_size, engine.eos_token_ids)
        self._engine, self._index = engine, index
        self._guide = engine._oc.Guide(index)
        self._bitmask = np.zeros((engine.vocab_size + 31) // 32, dtype=np.int32)

    def _compute_native_mask(self) -> np.ndarray:
        self._guide.write_mask_into(self._bitmask.ctypes.data, self._bitmask.size, 4)
        return self._bitmask

    def _native_to_bool(self, native: np.ndarray) -> np.ndarray:
        return unpack_bitmask(native, self.vocab_size)

    def _advance(self, token_id: int) -> bool:
        if self._index.get_next_state(self._guide.get_state(), token_id) is None:
            return False
        self._guide.advance(token_id, return_tokens=False)
        return True

    def _is_accepting(self) -> bool:
        return bool(self._index.is_final_state(self._guide.get_state()))

    def fresh(self) -> OutlinesCoreMatcher:
        return OutlinesCoreMatcher(self._engine, self._index)
