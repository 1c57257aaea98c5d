"""The pieces every part of the schema compiler shares: conjunction members and compile modes.

Apart from `compiler` so that the mixins holding the object/array
emitters (`containers`) and the `oneOf` machinery (`exclusive`) can name
them without importing the compiler itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from ..automata import ir
from ..errors import UnsupportedSchemaError
from ..grammar.grammar import has_refs

#: How deeply conjunctions may nest while compiling: one level per nested
#: value (property, item) and per combinator branch, and one per `$ref`/`allOf`
#: hop. `$ref` chains can nest far deeper than the document itself; each level
#: costs a handful of Python frames, and this keeps them well inside the
#: recursion limit.
MAX_COMPILE_DEPTH = 100


@dataclass(frozen=True)
class Member:
    """One schema object of a conjunction.

    `chain` holds the pointers through which it was reached inside the
    conjunction (for cycle detection); `skip` names keywords already dealt
    with (expanded references, distributed combinators).
    """

    schema: object
    pointer: str
    chain: frozenset = frozenset()
    skip: frozenset = frozenset()

    @property
    def recursive(self) -> bool:
        """A `$ref` target met again inside itself: it stands for a grammar rule, not an expansion."""
        return self.skip is RECURSIVE


def distinct(members) -> list:
    """Each schema of a conjunction once (conjunction is idempotent), reached by the union of its chains:
    a schema met through several members would otherwise multiply the branches of its `anyOf`s."""
    seen: dict[tuple, Member] = {}
    for m in members:
        key = (id(m.schema), m.skip)
        first = seen.get(key)
        seen[key] = m if first is None else replace(first, chain=first.chain | m.chain)
    return list(seen.values())


class Mode(NamedTuple):
    """`names`: in check mode, the property names every object declares (sorted); None otherwise.
    `upper`: in check mode, languages that may grow but never shrink (formats,
    which compile to subsets of what their checker accepts, are left out):
    what the complement of a `oneOf` branch needs."""

    names: tuple | None
    any_depth: int
    upper: bool = False

EXPANDED = frozenset({"$ref", "$dynamicRef", "allOf"})
RECURSIVE = frozenset({"$ref (recursive)"})


def require_regular(node: ir.Node, keyword: str, pointer: str) -> None:
    """Refuse a check that needs the automaton of a node holding recursive references."""
    if has_refs(node):
        raise UnsupportedSchemaError(keyword, pointer, "checked over values that hold recursive references")
