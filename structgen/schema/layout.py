"""How JSON text is laid out: structural tokens, whitespace, literal values, any-JSON.

The output form is compact JSON (`json.dumps(..., ensure_ascii=False,
separators=(",", ":"))`); the flexible layout allows a bounded run of JSON
whitespace around each structural token. It is bounded because a model left
free to emit unbounded whitespace can loop on it forever.
"""

from __future__ import annotations

import json
from functools import lru_cache

from ..automata import ir
from ..automata.dfa import build_dfa
from ..errors import InvalidArgumentError
from .member_order import MAX_ANY_ORDER, shuffled

WHITESPACE_BYTES = b" \t\n\r"


class Layout:
    """Structural tokens of one whitespace policy."""

    def __init__(self, whitespace: str = "compact", max_whitespace: int = 8):
        if whitespace not in ("compact", "flexible"):
            raise InvalidArgumentError("whitespace", f"must be 'compact' or 'flexible', not {whitespace!r}")
        if max_whitespace < 0:
            raise InvalidArgumentError("max_whitespace", "must be >= 0")
        self.key = (whitespace, max_whitespace)
        self.ws = ir.EPSILON if whitespace == "compact" else ir.repeat(ir.byte_set(WHITESPACE_BYTES), 0, max_whitespace)
        self.comma = ir.seq(self.ws, ir.literal(","), self.ws)
        self.colon = ir.seq(self.ws, ir.literal(":"), self.ws)

    def container(self, open_: str, body: ir.Node, close: str, may_be_empty: bool) -> ir.Node:
        """`open_ ws body ws close` for a `body` that is never empty; an empty container is `empty`."""
        full = ir.seq(ir.literal(open_), self.ws, body, self.ws, ir.literal(close))
        if not may_be_empty:
            return full
        return ir.alt(full, self.empty(open_, close))

    def empty(self, open_: str, close: str) -> ir.Node:
        """An empty container: `open_ ws close`, one run of whitespace wherever it is compiled from
        (a complement taken across two forms of it must see one language)."""
        return ir.seq(ir.literal(open_), self.ws, ir.literal(close))

    def member(self, key: ir.Node, value: ir.Node) -> ir.Node:
        return ir.seq(key, self.colon, value)

    def value(self, value, key_order=None, number=None, any_order: bool = False) -> ir.Node:
        """A literal JSON value in this layout; object keys follow `key_order(keys)`, and
        numbers are the texts of `number(n)` (an IR node) when given, else `json.dumps`'s.
        With `any_order`, an object of at most `MAX_ANY_ORDER` members is written in
        every order (`member_order`), a larger one in `key_order`."""
        if isinstance(value, dict):
            keys = key_order(list(value)) if key_order else list(value)
            if not keys:
                return self.empty("{", "}")
            members = [self.member(ir.literal(dumps(k)), self.value(value[k], key_order, number, any_order))
                       for k in keys]
            if any_order and 1 < len(members) <= MAX_ANY_ORDER:
                return self.container("{", shuffled(members, None, self.comma), "}", False)
            return self.container("{", _joined(members, self.comma), "}", False)
        if isinstance(value, list):
            if not value:
                return self.empty("[", "]")
            items = [self.value(v, key_order, number, any_order) for v in value]
            return self.container("[", _joined(items, self.comma), "]", False)
        if number is not None and _is_number(value):
            return number(value)
        return ir.literal(dumps(value))


def _joined(items: list[ir.Node], sep: ir.Node) -> ir.Node:
    parts = [items[0]]
    for item in items[1:]:
        parts += [sep, item]
    return ir.seq(*parts)


def dumps(value) -> str:
    """The output form of a JSON value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compact_text(value, key_order, number_text) -> str:
    """The compact text of `value` as `Layout.value` writes it with the same arguments."""
    if isinstance(value, dict):
        return "{" + ",".join(dumps(k) + ":" + compact_text(value[k], key_order, number_text)
                              for k in key_order(list(value))) + "}"
    if isinstance(value, list):
        return "[" + ",".join(compact_text(v, key_order, number_text) for v in value) + "]"
    return number_text(value) if _is_number(value) else dumps(value)


@lru_cache(maxsize=64)
def any_json(depth: int, layout_key: tuple[str, int]) -> ir.Node:
    """Any JSON value whose containers nest at most `depth` levels, as an embedded minimal DFA.

    Each level embeds the previous level's minimal automaton (used twice:
    object values and array items), so the work grows linearly with depth,
    and free-form values, which recur all over real schemas, embed cheaply.
    """
    from .numbers import number_node
    from .strings import string_node

    layout = Layout(*layout_key)
    scalars = ir.alt(ir.literal("null"), ir.literal("true"), ir.literal("false"), string_node(), number_node())
    if depth <= 0:
        return ir.Automaton(build_dfa(scalars))
    inner = any_json(depth - 1, layout_key)
    obj = layout.container("{", ir.separated(layout.member(string_node(), inner), layout.comma, 1, None), "}", True)
    arr = layout.container("[", ir.separated(inner, layout.comma, 1, None), "]", True)
    return ir.Automaton(build_dfa(ir.alt(scalars, obj, arr)))
