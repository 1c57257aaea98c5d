"""Engines behind one mask-level interface (`Engine.compile(schema) -> Matcher`), each optional.

A missing package is a status (`EngineUnavailableError`, `engine_status`), never an import-time crash:
every adapter imports its engine only when constructed.
"""

from __future__ import annotations

from typing import Callable

from jsonschemabench.engines.base import (
    Engine,
    EngineCompileError,
    EngineUnavailableError,
    Matcher,
    OUTPUT_SEPARATORS,
)
from jsonschemabench.engines.llguidance_engine import LLGuidanceEngine
from jsonschemabench.engines.outlines_engine import OutlinesCoreEngine
from jsonschemabench.engines.structgen_engine import StructgenEngine
from jsonschemabench.engines.tokenizer import default_tokenizer, token_bytes
from jsonschemabench.engines.xgrammar_engine import XGrammarEngine

ENGINES: dict[str, Callable[..., Engine]] = {
    "structgen": StructgenEngine,
    "xgrammar": XGrammarEngine,
    "llguidance": LLGuidanceEngine,
    "outlines-core": OutlinesCoreEngine,
}
ALIASES = {"outlines": "outlines-core", "outlines_core": "outlines-core"}
PEERS = ("xgrammar", "llguidance", "outlines-core")


def canonical_name(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose among {', '.join(ENGINES)}")
    return name


def make_engine(name: str, tokenizer, vocab_size: int | None = None, **options) -> Engine:
    """Build an engine by name; raises EngineUnavailableError when its package is missing."""
    return ENGINES[canonical_name(name)](tokenizer, vocab_size, **options)


__all__ = [
    "ENGINES",
    "PEERS",
    "OUTPUT_SEPARATORS",
    "Engine",
    "EngineCompileError",
    "EngineUnavailableError",
    "Matcher",
    "canonical_name",
    "default_tokenizer",
    "make_engine",
    "token_bytes",
]
