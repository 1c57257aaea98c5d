"""`Compiler`: one vocabulary, its token trie, and a cache of the constraints compiled against it.

The module-level front doors (`compile_json_schema`, `compile_regex`,
`compile_grammar`) compile afresh on every call. A server that constrains
one model with many requests wants the same schema compiled once and the
constraint shared, like xgrammar's ``GrammarCompiler``::

    compiler = structgen.Compiler(vocab)
    c = compiler.json_schema({"type": "integer"})
    assert compiler.json_schema({"type": "integer"}) is c  # a cache hit

The cache is a bounded LRU keyed on the canonical text of the input plus
the options; it is shared safely between threads (one lock around an
`OrderedDict`; compiling itself runs outside the lock, so threads that
compile different inputs do not wait on each other).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from . import compile as _compile
from .automata.budget import CompileBudget
from .errors import InvalidArgumentError

__all__ = ["CacheInfo", "Compiler"]

DEFAULT_CACHE_SIZE = 128


class CacheInfo(NamedTuple):
    """Counters of a `Compiler`'s cache, as `Compiler.cache_info` returns them."""

    hits: int
    misses: int
    size: int
    max_size: int


class Compiler:
    """A per-model compiler: constraints over one vocabulary, compiled once and shared.

    Parameters
    ----------
    vocab : Vocabulary
        The model's vocabulary; its token trie is built (or found in the
        per-vocabulary cache) when the compiler is made.
    budget : CompileBudget or None
        The limits every compilation runs under; None means the defaults
        of the module-level compile functions (1,000,000 states, 20 seconds,
        1 GiB estimated).
    cache_size : int
        The most constraints kept; the least recently used one goes first.
        0 disables caching.

    Raises
    ------
    InvalidArgumentError
        `vocab` is not a `Vocabulary`, `budget` is not a `CompileBudget`, or
        `cache_size` is not a non-negative integer.

    Notes
    -----
    A cache hit returns the very constraint object compiled before:
    constraints are immutable from the outside (their states are plain
    values, their mask caches are internal) and meant to be shared between
    requests. The cache key of a JSON Schema is its JSON text after loading
    (`structgen.compile.schema_as_dict`), with object keys in their given
    order: the order of ``properties`` is the order of the output's members,
    so two schemas that differ only in key order can compile differently.
    Errors are not cached: compiling a refused input again raises again.
    """

    def __init__(self, vocab, *, budget: CompileBudget | None = None, cache_size: int = DEFAULT_CACHE_SIZE):
        from .token_trie import trie_for
        from .vocab import Vocabulary

        if not isinstance(vocab, Vocabulary):
            raise InvalidArgumentError("vocab", f"expected a structgen.Vocabulary, got {type(vocab).__name__}")
        if budget is not None and not isinstance(budget, CompileBudget):
            raise InvalidArgumentError("budget", f"expected a CompileBudget, got {type(budget).__name__}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise InvalidArgumentError("cache_size", f"must be a non-negative integer, got {cache_size!r}")
        self.vocab = vocab
        self.budget = budget
        self.trie = trie_for(vocab)
        self._max_size = cache_size
        self._cache: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()  # key -> (pinned input, constraint)
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    # -- front doors --------------------------------------------------------------------------

    def json_schema(self, schema: Any, *, whitespace: str = "compact", strict: bool = True, max_any_depth: int = 3,
                    registry=None):
        """The constraint of a JSON Schema (cached); see `structgen.compile_json_schema`.

        Parameters
        ----------
        schema : dict, bool, str, bytes or Pydantic model class
            The schema, or its JSON text.
        whitespace : {"compact", "flexible"}
            "compact": no whitespace; "flexible": bounded runs between tokens.
        strict : bool
            False: ignore unsupported keywords (listed in ``info.ignored``).
        max_any_depth : int
            How deep free-form JSON may nest.
        registry : referencing.Registry or None
            The resources a `$ref` leaving the schema may reach. The cache
            tells registries apart by identity: pass the same object to hit.

        Returns
        -------
        Constraint or GrammarConstraint
            A DFA constraint for a regular schema, a pushdown one for a
            recursive schema (``$ref`` cycles).

        Raises
        ------
        InvalidSchemaError
            Not a schema (not JSON, not UTF-8, not an object or a boolean,
            a lone surrogate, an invalid keyword value).
        UnsupportedSchemaError
            A keyword structgen cannot enforce (only with ``strict=True``).
        UnsatisfiableSchemaError
            The schema admits no value in structgen's output form.
        NestingTooDeepError
            The schema nests deeper than the loader's limit.
        CompileBudgetError
            Compiling went over the compiler's budget (states, seconds, memory).
        """
        loaded = _compile.schema_as_dict(schema)
        text = json.dumps(loaded, ensure_ascii=False)
        key = ("json_schema", text, whitespace, strict, max_any_depth, id(registry))
        # the entry pins the registry, so its id cannot be reused by another while the entry lives
        return self._cached(key, (loaded, registry), lambda: _compile.compile_json_schema(
            loaded, self.vocab, whitespace=whitespace, strict=strict, max_any_depth=max_any_depth,
            budget=self.budget, registry=registry))

    def regex(self, pattern: str):
        """The constraint of a regular expression (cached); see `structgen.compile_regex`.

        Parameters
        ----------
        pattern : str
            An ECMA-262 pattern; the output must match it as a whole.

        Returns
        -------
        Constraint

        Raises
        ------
        InvalidArgumentError
            `pattern` is not a str.
        RegexSyntaxError
            The pattern is not a regular expression.
        UnsupportedRegexError
            A construct outside the supported subset (backreferences, lookaround, ...).
        UnsatisfiableSchemaError
            The pattern matches no string.
        NestingTooDeepError
            Groups nested deeper than the limit.
        CompileBudgetError
            Compiling went over the compiler's budget.
        """
        if not isinstance(pattern, str):
            raise InvalidArgumentError("pattern", f"expected a str, got {type(pattern).__name__}")
        return self._cached(("regex", pattern), pattern,
                            lambda: _compile.compile_regex(pattern, self.vocab, budget=self.budget))

    def grammar(self, grammar, *, start: str = "root", max_depth: int | None = None):
        """The constraint of a context-free grammar (cached); see `structgen.compile_grammar`.

        Parameters
        ----------
        grammar : str or Grammar
            GBNF text (as llama.cpp reads it) or a parsed `Grammar`. GBNF text
            is cached by its text; a `Grammar` object by identity.
        start : str
            The start rule of GBNF text.
        max_depth : int or None
            How many rule calls may be open at once (None: unbounded).

        Returns
        -------
        GrammarConstraint

        Raises
        ------
        InvalidArgumentError
            `grammar` is neither a str nor a `Grammar`.
        GrammarSyntaxError
            The text does not parse (with line and column).
        GrammarError
            Undefined, unreachable or left-recursive rules, a start rule that
            matches no string, or a grammar too ambiguous to follow.
        NestingTooDeepError
            Parentheses or rule chains nested too deeply.
        CompileBudgetError
            Compiling went over the compiler's budget.
        """
        from .grammar import Grammar

        if isinstance(grammar, str):
            key = ("grammar", grammar, start, max_depth)
        elif isinstance(grammar, Grammar):
            key = ("grammar-object", id(grammar), start, max_depth)  # the entry pins the object: no id reuse
        else:
            raise InvalidArgumentError("grammar", f"expected GBNF text or a Grammar, got {type(grammar).__name__}")
        return self._cached(key, grammar, lambda: _compile.compile_grammar(
            grammar, self.vocab, start=start, max_depth=max_depth, budget=self.budget))

    # -- the cache ----------------------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        """Hits, misses, current size and maximum size of the cache."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache), self._max_size)

    def clear_cache(self) -> None:
        """Drop every cached constraint and reset the counters."""
        with self._lock:
            self._cache.clear()
            self._hits = self._misses = 0

    def _cached(self, key: tuple, pin: Any, build):
        """The cached constraint for `key`, or `build()`'s, stored (with `pin`, the input it came from)."""
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return entry[1]
            self._misses += 1
        constraint = build()  # outside the lock: other threads go on compiling and hitting meanwhile
        if self._max_size == 0:
            return constraint
        with self._lock:
            entry = self._cache.setdefault(key, (pin, constraint))  # a racing thread's may have landed first
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_size:
                self._cache.popitem(last=False)
            return entry[1]

    def __repr__(self) -> str:
        info = self.cache_info()
        return f"Compiler(vocab={len(self.vocab)} tokens, cached={info.size}/{info.max_size})"
