"""structgen through its public API (DESIGN.md): Vocabulary.from_tokenizer, compile_json_schema, Constraint."""

from __future__ import annotations

from typing import Any

import numpy as np

from jsonschemabench.engines.base import Engine, EngineCompileError, EngineUnavailableError, Matcher, unpack_bitmask


# Small schemas that run every kind of automaton kernel once: lazy rows and masks, procedures,
# products and complements (an overlapping oneOf), and the pushdown (a recursive schema).
WARM_UP = (
    {"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string", "pattern": "^[a-z]+$"},
        "b": {"oneOf": [{"type": "integer"}, {"type": "number", "maximum": 3}]},
        "c": {"type": "array", "items": {"$ref": "#/$defs/p"}}, "d": {"$ref": "#/$defs/p"}},
     "$defs": {"p": {"type": "object", "properties": {k: {"type": "string"} for k in "uvwxyz"}}}},
    {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
)


class StructgenEngine(Engine):
    """structgen; any of its named errors (unsupported, unsatisfiable, too large, ...) is a compile failure.

    `vocabulary` (a `structgen.Vocabulary`) lets the harness share the model's own vocabulary, so
    structgen sees exactly the end-of-sequence ids and logit width the model has.
    """

    name = "structgen"

    def __init__(self, tokenizer, vocab_size: int | None = None, vocabulary=None):
        super().__init__(tokenizer, vocab_size if vocab_size is not None or vocabulary is None else len(vocabulary))
        try:
            import structgen
        except ImportError as error:
            raise EngineUnavailableError(f"structgen is not importable ({error})") from error
        missing = [n for n in ("Vocabulary", "compile_json_schema") if not hasattr(structgen, n)]
        if missing:
            raise EngineUnavailableError(f"structgen does not provide {', '.join(missing)} yet")
        self._structgen = structgen
        self._vocabulary = vocabulary if vocabulary is not None else structgen.Vocabulary.from_tokenizer(tokenizer)
        self._set_up()

    def _set_up(self) -> None:
        """Per-model set-up, as the peers' engines do theirs when made (xgrammar's tokenizer info and
        compiler, llguidance's tokenizer): the vocabulary's token trie, and the automaton kernels,
        which numba loads from its cache the first time each runs. Without it the first schema of
        a run is timed with ~0.5 s that belongs to the process."""
        sg = self._structgen
        sg.Compiler(self._vocabulary, cache_size=0)
        for schema in WARM_UP:
            constraint = sg.compile_json_schema(schema, self._vocabulary)
            constraint.advance(constraint.start(), int(np.flatnonzero(constraint.mask(constraint.start()))[0]))

    def compile(self, schema: Any) -> Matcher:
        try:
            constraint = self._structgen.compile_json_schema(schema, self._vocabulary)
        except self._structgen.StructgenError as error:  # too large is CompileBudgetError, one of them
            raise EngineCompileError(f"{type(error).__name__}: {error}") from error
        return StructgenMatcher(self, constraint)

    def settings(self) -> dict[str, Any]:
        return {"version": getattr(self._structgen, "__version__", "unknown")}


class StructgenMatcher(Matcher):
    def __init__(self, engine: StructgenEngine, constraint):
        super().__init__(engine.vocab_size, engine.eos_token_ids)
        self._engine = engine
        self._constraint = constraint
        self._state = constraint.start()

    def notes(self) -> list[str]:
        return list(self._constraint.info.notes)

    def _compute_native_mask(self) -> np.ndarray:
        return self._constraint.bitmask(self._state)  # the form the peers' masks are timed in

    def _native_to_bool(self, native: np.ndarray) -> np.ndarray:
        allowed = np.zeros(self.vocab_size, dtype=bool)
        native = unpack_bitmask(native, self.vocab_size)
        allowed[: len(native)] = native
        return allowed

    def _advance(self, token_id: int) -> bool:
        state = self._constraint.advance(self._state, token_id)
        if state is None:
            return False
        self._state = state
        return True

    def _is_accepting(self) -> bool:
        return bool(self._constraint.is_accepting(self._state))

    def fresh(self) -> StructgenMatcher:
        return StructgenMatcher(self._engine, self._constraint)
