"""Regular expressions (the ECMA-262 dialect of JSON Schema) to the byte-level IR."""

from __future__ import annotations

from functools import lru_cache

from ..automata import ir
from .lowering import lower
from .parser import parse


@lru_cache(maxsize=512)
def regex_to_ir(pattern: str, *, search: bool = False) -> ir.Node:
    """The IR of an ECMA-262 pattern, over valid UTF-8 text.

    `search=False`: the strings the pattern matches as a whole (`re.fullmatch`).
    `search=True`: JSON Schema `pattern` semantics (`RegExp.prototype.test`):
    the strings that contain a match, with `^`/`$` anchored to the whole string.
    Raises `UnsupportedRegexError` or `RegexSyntaxError`.
    """
    return lower(parse(pattern), search)


__all__ = ["parse", "regex_to_ir"]
