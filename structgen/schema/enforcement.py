"""How each keyword of a schema is enforced: exactly, by a check, or not at all.

A user who hands structgen a schema wants to know what "guaranteed" covers
for it. The compiler enforces most keywords exactly in the automaton; a few
that no automaton can hold (`uniqueItems` over unbounded items) are enforced
by a check beside it (`structgen.checks`); with ``strict=False`` the
keywords it cannot enforce are ignored and listed. `keyword_report` puts the
three together per keyword and JSON pointer, for `CompileInfo.keywords` and
`structgen check`. Annotations (`title`, `description`, `$defs`, ...) and
keys that are no keyword of any draft are left out: they constrain nothing.
"""

from __future__ import annotations

from typing import NamedTuple

from . import keywords as kw
from .document import schema_positions

EXACT, CHECKED, IGNORED = "exact", "checked", "ignored"
_DEFINITIONS = frozenset({"$defs", "definitions"})  # hold schemas for `$ref`; constrain nothing themselves


class KeywordUse(NamedTuple):
    """One constraining keyword of the schema: where it is and how it is enforced."""

    pointer: str  # of the schema object holding the keyword ("" for the root)
    keyword: str
    enforced: str  # EXACT, CHECKED or IGNORED


def keyword_report(root, ignored=(), checked=()) -> tuple[KeywordUse, ...]:
    """Every constraining keyword of the schema document `root`, in document order.

    Parameters
    ----------
    root : dict or bool
        The loaded schema (`structgen.schema.document.load_schema`).
    ignored : iterable of (keyword, pointer)
        What compiling ignored (``CompileInfo.ignored``; pointers of the
        schema object holding the keyword).
    checked : iterable of (keyword, pointer)
        What a check enforces beside the automaton.

    Returns
    -------
    tuple of KeywordUse
        Keywords of `kw.HANDLED` and `kw.UNSUPPORTED` only (not `$defs`), each once per
        schema object; schemas are found at the positions every draft
        gives them (`document.schema_positions`), including unreferenced `$defs`.
    """
    ignored, checked = set(map(tuple, ignored)), set(map(tuple, checked))
    out = []
    for pointer, node in schema_positions(root):
        for key in node if isinstance(node, dict) else ():
            if (key in kw.HANDLED or key in kw.UNSUPPORTED) and key not in _DEFINITIONS:
                how = IGNORED if (key, pointer) in ignored else CHECKED if (key, pointer) in checked else EXACT
                out.append(KeywordUse(pointer, key, how))
    return tuple(out)
