"""`contains`, `minContains`, `maxContains`: arrays that count the items matching a schema.

A mixin of the schema compiler, used by the array emitter (`containers`).
An array is valid when the number of its items that match the `contains`
schema C lies between `minContains` (default 1) and `maxContains` (when
present); each item must also satisfy `items`/`prefixItems`. `minContains`
and `maxContains` belong to the schema object that holds `contains` (the
judge reads them there) and exist from draft 2019-09 on; drafts 6 and 7
have `contains` alone, drafts 3 and 4 none of the three.

The language is compiled by counting. At each item position the item
language P splits into the items that match C, which are counted, and the
items that do not, which are not: P and C, merged as one conjunction (so
objects keep their declared order), and P and not C. The complement is
taken at the text level, so it must be exact there. Texts and values part
ways (`1.0` is 1; `{"b":1,"a":2}` and `{"a":2,"b":1}` are one value), so it
is taken in check mode over the canonical domain, as `oneOf` takes its
complements (see the compiler's module docstring): P and C compiled in check
mode hold exactly the canonical texts of their values, and their difference
holds exactly the canonical texts of the values of P that C rejects. Only
the kinds of value that C can match in part need the complement: an item
of another kind (a string where C asks for a number) is never counted, one
of a kind C matches whatever its value (every string, for `minimum`) is
always counted, and both are written in every form P allows. Inside check
mode (a `oneOf` or `not` being complemented) the array keeps to that
mode's domain and flips `upper` for the complemented side.

With k `contains` in one conjunction (up to `MAX_CONTAINS`), every item
falls in one of 2**k classes (which of them it matches). The array is a
frame, `[` items `]`, over one hole byte per class (and per position where
`prefixItems` gives positions their own items): the counts are regular
checks on those bytes, intersected with the frame, and `minItems`,
`maxItems` and `prefixItems` (2020-12; before it `items` applies to every
item) shape the sequence they are checked on. The frame is small (the
positions times the counters, max(minContains, maxContains + 1) states
each); an `ir.Splice` puts each class's item language where its byte is
read, so the item automata are never multiplied by the frame's states (a
whole DFA of a `maxItems: 64` array of free-form items took 7 s and 1 GB).

Exactness has limits, and each is refused rather than relaxed: items or a
`contains` schema that hold recursive references (no automaton to
complement), more than `MAX_CONTAINS` counted schemas in one conjunction,
and automata past the size budget (`SchemaTooLargeError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from ..automata import ir
from ..automata.dfa import AutomatonTooLargeError, build_dfa
from ..errors import SchemaTooLargeError
from ..grammar.grammar import has_refs
from . import keywords as kw
from .document import child
from .members import Member, Mode

#: The most `contains` schemas counted at once in one conjunction (2**k item classes).
MAX_CONTAINS = 3

# The kinds of value as `type` names; "number" holds the integers.
_COARSE = ("null", "boolean", "string", "number", "object", "array")
_COARSE_OF_KIND = {"null": "null", "boolean": "boolean", "string": "string", "integer": "number",
                   "number": "number", "object": "object", "array": "array"}
_KIND_OF_KEYWORD = {
    **dict.fromkeys(kw.STRING_KEYWORDS, "string"),
    **dict.fromkeys(kw.NUMBER_KEYWORDS, "number"),
    **dict.fromkeys((*kw.OBJECT_KEYWORDS, "dependentRequired", "dependentSchemas", "dependencies"), "object"),
    **dict.fromkeys(kw.ARRAY_KEYWORDS, "array"),
}
# Synthetic `{"type": [...]}` members that restrict an item to some kinds; kept alive for ever,
# since the compiler's caches key on `id(schema)`.
_TYPE_SCHEMAS: dict[tuple, dict] = {}

# Hole bytes: any byte the frame of a counted array does not read itself (`[`, `]`, `,`, whitespace).
_HOLE_BYTES = tuple(b for b in range(256) if b not in b"[],\t\n\r ")


@dataclass(frozen=True)
class Counter:
    """One `contains` to count: its schema, where it stands, and the count it allows."""

    schema: object
    pointer: str  # the `contains` keyword's pointer
    owner: str  # the pointer of the schema object that holds it
    lo: int
    hi: int | None
    keywords: tuple = ("contains",)  # those of the three the owner holds (what a lenient refusal ignores)


def _type_schema(types: tuple) -> dict:
    if types not in _TYPE_SCHEMAS:
        _TYPE_SCHEMAS[types] = {"type": list(types)}
    return _TYPE_SCHEMAS[types]


class ContainsMixin:
    """The `contains` part of the array emitter (`containers.ContainersMixin._array`)."""

    def _contains_counters(self, gathered) -> list[Counter] | None:
        """The `contains` of the members, one `Counter` per distinct schema (the bounds of
        one schema counted twice meet); None when no array can satisfy them."""
        found: dict[int, Counter] = {}
        for m in gathered:
            s = m.schema
            if not isinstance(s, dict) or "contains" not in s or "contains" in m.skip:
                continue
            lo = int(s.get("minContains", 1))
            hi = int(s["maxContains"]) if "maxContains" in s else None
            c = found.get(id(s["contains"]))
            if c is not None:
                lo = max(lo, c.lo)
                hi = c.hi if hi is None else hi if c.hi is None else min(hi, c.hi)
            held = tuple(k for k in ("contains", "minContains", "maxContains") if k in s)
            found[id(s["contains"])] = Counter(s["contains"], child(m.pointer, "contains"), m.pointer, lo, hi, held)
        counters = []
        for c in found.values():
            if c.hi is not None and c.lo > c.hi:
                return None
            if c.schema is False:
                if c.lo > 0:
                    return None
                continue  # no item matches: zero matches, within any maxContains
            if c.lo == 0 and c.hi is None:
                continue
            counters.append(c)
        return counters

    @staticmethod
    def _contains_always(schema) -> bool:
        """Does every value match `schema` (true, or only annotations and unknown keys)?"""
        return schema is True or (isinstance(schema, dict) and not any(
            k in kw.HANDLED and k not in kw.ANNOTATIONS for k in schema))

    def _contains_kinds(self, c: Counter, active: frozenset) -> tuple[frozenset, frozenset]:
        """The kinds of value (`_COARSE`) that `c.schema` may match, and those it matches
        wholly: the kinds its `type` allows in full that none of its other keywords is about
        (`{"minimum": 3}` matches every string). Only a plain schema object has the second."""
        summary = self._summary((Member(c.schema, c.pointer),), active)
        possible = frozenset(_COARSE_OF_KIND[x] for x in summary.kinds)
        s = c.schema
        if not isinstance(s, dict):
            return possible, possible  # true (false has no counter)
        touched = set()
        for key in s:
            if key in kw.ANNOTATIONS or key not in kw.HANDLED or key == "type":
                continue
            about = _KIND_OF_KEYWORD.get(key)
            if about is None:  # enum, const, $ref, combinators, not, if: about every kind
                return possible, frozenset()
            touched.add(about)
        allowed = summary.kinds
        full = {t for t in _COARSE if t != "number" and t in allowed}
        if {"integer", "number"} <= allowed:
            full.add("number")
        return possible, frozenset(full - touched)

    def _contains_domain(self, schemas: list) -> tuple[set, int, bool]:
        """The property names reachable from `schemas`, a nesting depth bound, and whether a
        `format` was met (`exclusive._reachable_names`, which walks into `contains` too)."""
        names: set[str] = set()
        seen: dict = {}
        self._saw_format = False
        depth = max((self._reachable_names(s, names, seen) for s in schemas), default=0)
        return names, depth, self._saw_format

    def _contains_refuse(self, counters: list, reason: str) -> None:
        """Refuse `counters` (strict), or list their keywords as ignored."""
        for c in counters:
            for keyword in c.keywords:
                self.unsupported(keyword, c.owner, reason)

    def _counted_array(self, counters: list, item_items, width: int, lo: int, hi: int | None,
                       pointer: str, inner_active: frozenset, mode: Mode) -> ir.Node | None:
        """Arrays whose items `counters` count (see the module docstring); None when a
        counter cannot be compiled exactly and was ignored (not strict): the caller then
        builds the array without them.

        `item_items(i)` lists the (schema, pointer) pairs item `i` must satisfy; items
        from `width` on all have the same list.
        """
        if len(counters) > MAX_CONTAINS:
            self._contains_refuse(counters[MAX_CONTAINS:], f"more than {MAX_CONTAINS} 'contains' schemas in one "
                                  "conjunction (counting them at once needs 2**k classes of items)")
            counters = counters[:MAX_CONTAINS]
        layout = self.layout
        k = len(counters)
        inner = self._inner(mode)
        positions = range(min(width, hi if hi is not None else width) + 1)  # the item lists that differ
        item_lists = {i: item_items(i) for i in positions}
        schemas = [s for items in item_lists.values() for s, _ in items] + [c.schema for c in counters]
        profiles = [self._contains_kinds(c, inner_active) for c in counters]
        kinds = [possible for possible, _ in profiles]
        wholly = [every for _, every in profiles]

        # Modes: `check` for the sides that meet a complement, `flip` for the complemented `contains`
        # (upper where the array is a lower language, and the other way round: see `Mode`).
        restrict = None
        if mode.names is None:
            names, depth, approximate = self._contains_domain(schemas)
            check = Mode(tuple(sorted(names)), self.max_any_depth + depth)
            flip = check._replace(upper=True) if approximate else check
        else:
            names, _, _ = self._contains_domain(schemas)
            check = inner
            flip = inner._replace(upper=not inner.upper)
            if not names <= set(mode.names):
                # Names outside the enclosing domain (whose walk did not reach these schemas): keep
                # to that domain, where every other language of the check is exact.
                restrict = self._check_any(inner.any_depth, mode.names)
        used_check = False

        def contains_node(j, m):
            c = counters[j]
            return self.schema_node([(c.schema, c.pointer)], inner_active, m)

        # Each node alone first: one holding recursive references leaves the check below no automaton.
        plain = [self.schema_node(item_lists[i], inner_active, inner) for i in positions if item_lists[i]]
        if any(has_refs(node) for node in plain + [contains_node(j, inner) for j in range(k)]):
            self._contains_refuse(counters, "the items or the 'contains' schema hold recursive references: "
                                  "telling matching items from the others needs their automata")
            return None

        def class_node(i, sigma):
            nonlocal used_check
            items = item_lists[i]
            where = child(pointer, "items") if i >= width else child(pointer, "prefixItems", i)
            ins = [j for j in range(k) if sigma[j]]
            outs = [j for j in range(k) if not sigma[j]]
            groups: dict[frozenset, list] = {}
            for t in _COARSE:
                if all(t in kinds[j] for j in ins) and not any(t in wholly[j] for j in outs):
                    groups.setdefault(frozenset(j for j in outs if t in kinds[j]), []).append(t)
            pieces = []
            for needs, types in groups.items():
                members = list(items) + [(counters[j].schema, counters[j].pointer) for j in ins]
                if len(types) < len(_COARSE):
                    members.append((_type_schema(tuple(types)), where))
                if not needs:
                    node = self.schema_node(members, inner_active, inner)
                else:
                    used_check = True
                    node = self.schema_node(members, inner_active, check)
                    if node != ir.NOTHING:
                        node = ir.intersect(node, ir.complement(ir.alt(*(contains_node(j, flip)
                                                                         for j in sorted(needs)))))
                if restrict is not None:
                    node = ir.intersect(node, restrict)
                pieces.append(node)
            return ir.alt(*pieces)

        classes = list(product((1, 0), repeat=k))
        nodes = {(i, sigma): class_node(i, sigma) for i in positions for sigma in classes}
        if used_check and mode.names is None:
            self.notes[
                f"contains at {counters[0].owner or '/'}: items that 'contains' does not match are written as "
                "canonical values where it might: objects list only the properties the schemas name, in sorted "
                "order, and numbers are integers or plain decimals with at most 15 significant digits"
            ] = None

        # The frame: `[` the items `]`, each item one hole byte that names its class and its
        # position's item list, and the counts regular checks on those bytes (module docstring).
        holes: dict[int, ir.Node] = {}
        hole_of: dict[tuple, int] = {}
        free = iter(_HOLE_BYTES)
        for key, item in nodes.items():
            if item != ir.NOTHING:
                b = next(free, None)
                if b is None:
                    raise SchemaTooLargeError("contains", counters[0].owner, f"more than {len(_HOLE_BYTES)} "
                                              "classes of item (prefixItems times 'contains' classes) to count")
                hole_of[key] = b
                holes[b] = item
        close = ir.seq(layout.ws, ir.literal("]"))

        def item(i):  # one item at position i, of any class
            i = min(i, width)
            return ir.byte_set(hole_of[i, s] for s in classes if (i, s) in hole_of)

        def items_from(i):  # the items from position i on, at least one, and the `]`
            if i >= width:
                fewest, most = max(lo - i, 1), None if hi is None else hi - i
                return ir.seq(ir.separated(item(i), layout.comma, fewest, most), close)
            options = [ir.seq(item(i), close)] if i + 1 >= lo else []
            if hi is None or i + 1 < hi:
                options.append(ir.seq(item(i), layout.comma, items_from(i + 1)))
            return ir.alt(*options)

        counts = []
        for j, c in enumerate(counters):
            matched = [b for (_, s), b in hole_of.items() if s[j]]
            other = ir.star(ir.byte_set(b for b in range(256) if b not in matched))
            counts.append(ir.seq(ir.repeat(ir.seq(other, ir.byte_set(matched)), c.lo, c.hi), other))
        node = ir.NOTHING
        if hi is None or hi > 0:
            try:
                frame = build_dfa(ir.intersect(ir.seq(ir.literal("["), layout.ws, items_from(0)), *counts))
            except AutomatonTooLargeError:
                raise SchemaTooLargeError("contains", counters[0].owner,
                                          "counting the items that match 'contains' needs too many "
                                          "automaton states") from None
            node = ir.splice(frame, holes)
        if lo == 0 and all(c.lo == 0 for c in counters):
            node = ir.alt(node, layout.empty("[", "]"))
        return node
