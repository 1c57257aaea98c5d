"""Objects and arrays: property items, key languages, member layouts, counted members, array items.

A mixin of the schema compiler (`compiler._Compiler`): the emitters for the
two container kinds of the merge step. Apart from the compiler because
their layout questions (member order, optional prefixes, counting members
with placeholder bytes) are their own and take most of the lines.
"""

from __future__ import annotations

from ..automata import ir
from ..automata.dfa import AutomatonTooLargeError, build_dfa, map_bytes
from ..errors import SchemaTooLargeError
from . import keywords as kw
from .contains import ContainsMixin
from .document import child
from .layout import dumps
from .member_order import MAX_ANY_ORDER, shuffled, with_declared
from .members import Mode, require_regular

MAX_PATTERN_REGIONS = 64  # sets of `patternProperties` patterns one name may match together, a region each
_STRING_TYPE = {"type": "string"}
# Placeholder bytes of `_counted_object`, which JSON text never holds raw:
# the first member, another member; declared properties, additional ones.
_FIRST_DECLARED, _NEXT_DECLARED, _FIRST_EXTRA, _NEXT_EXTRA = 2, 1, 4, 3
_PLACEHOLDERS = (_FIRST_DECLARED, _NEXT_DECLARED, _FIRST_EXTRA, _NEXT_EXTRA)
_NOT_PLACEHOLDER = ir.byte_set(b for b in range(256) if b not in _PLACEHOLDERS)
# Hole bytes of `_counted_object`'s frame (`ir.Splice`): one per member, none that the frame reads itself.
_HOLE_BYTES = tuple(b for b in range(256) if b not in _PLACEHOLDERS and b not in b"{},\t\n\r ")


class ContainersMixin(ContainsMixin):
    """The object and array emitters of the schema compiler (`contains` counting from `ContainsMixin`)."""

    # ---------------------------------------------------------------- objects

    def _declared_names(self, gathered) -> list[str]:
        names: dict[str, None] = {}
        for m in gathered:
            names.update(dict.fromkeys(m.schema.get("properties", {})))
        for m in gathered:
            names.update(dict.fromkeys(m.schema.get("required", ())))
        return list(names)

    def _pattern_dfa(self, pattern: str, pointer: str):
        from .strings import string_node

        if pattern not in self._pattern_dfas:
            self._pattern_dfas[pattern] = build_dfa(string_node(pattern=pattern, pointer=pointer))
        return self._pattern_dfas[pattern]

    def _pattern_combinations(self, patterns: list) -> list[int] | None:
        """The sets of `patterns` (bit masks) whose members overlap pairwise, the empty set included;
        None past `MAX_PATTERN_REGIONS`. Every name matches exactly one such set (the names matching
        a set that does not overlap pairwise are none), so one region per set is exact, where one per
        subset was 2^k regions: mostly disjoint patterns (literal names, distinct prefixes) give k + 1."""
        dfas = [ir.Automaton(self._pattern_dfa(p, pp)) for p, _, pp, _ in patterns]
        k = len(dfas)
        overlap = [[i == j or not build_dfa(ir.intersect(dfas[i], dfas[j])).is_empty for j in range(k)]
                   for i in range(k)]
        found = [0]
        todo = [(0, 0)]  # (a set, the first pattern that may join it)
        while todo:
            mask, first = todo.pop()
            for i in range(first, k):
                if all(overlap[i][j] for j in range(k) if mask >> j & 1):
                    if len(found) == MAX_PATTERN_REGIONS:
                        return None
                    found.append(mask | 1 << i)
                    todo.append((mask | 1 << i, i + 1))
        return sorted(found)

    def _object(self, gathered, active: frozenset, mode: Mode) -> ir.Node:
        from .strings import string_node

        layout = self.layout
        pointer = next((m.pointer for m in gathered if any(k in m.schema for k in kw.OBJECT_KEYWORDS)), gathered[0].pointer)
        names = self._declared_names(gathered)
        if mode.names is not None:
            names = sorted(set(names) | set(mode.names))
        required = {n for m in gathered for n in m.schema.get("required", ())}
        inner_active = active | frozenset(p for m in gathered for p in m.chain | {m.pointer})
        key_filter = self._property_names(gathered, active, mode)
        key_filter_dfa = build_dfa(key_filter) if key_filter is not None else None
        lo = max([int(m.schema.get("minProperties", 0)) for m in gathered])
        highs = [int(m.schema["maxProperties"]) for m in gathered if "maxProperties" in m.schema]
        hi = min(highs) if highs else None
        floating = self._floating_names(gathered, names, lo, hi, mode, pointer)
        entries, floating_members = [], []
        for name in names:
            key_text = dumps(name)
            if key_filter_dfa is not None and not key_filter_dfa.matches(key_text.encode()):
                value = ir.NOTHING
            else:
                value = self.schema_node(self._property_items(gathered, name), inner_active, self._inner(mode))
            member = layout.member(ir.literal(key_text), value)
            if name in floating:
                floating_members.append(member)
            else:
                entries.append((member, name in required))
        patterns = [
            (p, sub, child(m.pointer, "patternProperties", p), i)
            for i, m in enumerate(gathered)
            for p, sub in m.schema.get("patternProperties", {}).items()
        ]
        combinations = [0]  # the sets of patterns (bit masks) a name may match together: one region each
        if mode.names is not None:  # check mode: every name is declared, no region
            patterns, combinations = [], []
        elif patterns:
            combinations = self._pattern_combinations(patterns)
            if combinations is None:
                self.unsupported("patternProperties", pointer, f"more than {MAX_PATTERN_REGIONS} combinations of "
                                 "patterns that one name can match together")
                patterns, combinations = [], [0]
        key_any = string_node()
        if names:
            key_any = ir.intersect(key_any, ir.complement(ir.alt(*(ir.literal(dumps(n)) for n in names))))
        if key_filter is not None:
            key_any = ir.intersect(key_any, key_filter)
        regions = []
        for mask in combinations:
            inside = [patterns[k] for k in range(len(patterns)) if mask >> k & 1]
            outside = [patterns[k] for k in range(len(patterns)) if not mask >> k & 1]
            items = [(sub, pp) for _, sub, pp, _ in inside]
            covered = {i for *_, i in inside}
            items += [
                (m.schema["additionalProperties"], child(m.pointer, "additionalProperties"))
                for i, m in enumerate(gathered)
                if i not in covered and "additionalProperties" in m.schema
            ]
            value = (self.schema_node(items, inner_active, self._inner(mode)) if items
                     else self.free_form(self._inner(mode), child(pointer, "additionalProperties")))
            if value == ir.NOTHING:
                continue
            key = key_any
            if patterns:
                key = ir.intersect(
                    key_any,
                    *(ir.Automaton(self._pattern_dfa(p, pp)) for p, _, pp, _ in inside),
                    *(ir.complement(ir.Automaton(self._pattern_dfa(p, pp))) for p, _, pp, _ in outside),
                )
            regions.append(layout.member(key, value))
        extras = ir.alt(*regions) if regions and mode.names is None else None
        return self._object_layout(entries, extras, lo, hi, pointer, floating_members)

    def _floating_names(self, gathered, names: list, lo: int, hi: int | None, mode: Mode, pointer: str) -> list:
        """The required names no member declares in `properties`, which the output form takes in any
        order among the additional members (`member_order`); none in check mode, in a counted object,
        or past `MAX_ANY_ORDER` (then the order `required` lists them in, noted)."""
        if mode.names is not None:
            return []
        declared = {n for m in gathered for n in m.schema.get("properties", {})}
        floating = [n for n in names if n not in declared]
        if floating and (lo > 1 or hi is not None):
            return []
        if len(floating) > MAX_ANY_ORDER:
            self.notes[f"the {len(floating)} names only 'required' lists at {pointer or '/'} are written in the "
                       f"order it lists them (any order for at most {MAX_ANY_ORDER})"] = None
            return []
        return floating

    def _property_items(self, gathered, name: str) -> list:
        """The schemas a property called `name` must satisfy, one or more per member.

        Within one member, `properties` and every `patternProperties` entry
        whose pattern matches the name all apply; `additionalProperties`
        applies only when neither does.
        """
        items = []
        for m in gathered:
            s = m.schema
            props = s.get("properties", {})
            if name in props:
                items.append((props[name], child(m.pointer, "properties", name)))
            matched = [
                (sub, child(m.pointer, "patternProperties", p))
                for p, sub in s.get("patternProperties", {}).items()
                if self._pattern_dfa(p, child(m.pointer, "patternProperties", p)).matches(dumps(name).encode())
            ]
            items += matched
            if not matched and name not in props and "additionalProperties" in s:
                items.append((s["additionalProperties"], child(m.pointer, "additionalProperties")))
        return items

    def _property_names(self, gathered, active, mode) -> ir.Node | None:
        """The key language from `propertyNames` (a schema applied to each key as a string)."""
        items = [(m.schema["propertyNames"], child(m.pointer, "propertyNames")) for m in gathered if "propertyNames" in m.schema]
        if not items:
            return None
        return self.schema_node(items + [(_STRING_TYPE, "")], active, Mode(None, 0, mode.upper))

    def _object_layout(self, entries: list, extras, lo: int, hi: int | None, pointer: str,
                       floating: list = ()) -> ir.Node:
        """`{` members `}`: declared properties in order (required ones present), then extras,
        and the `floating` members (all required) in any order among the extras."""
        layout = self.layout
        if any(req and node == ir.NOTHING for node, req in entries) or ir.NOTHING in floating:
            return ir.NOTHING
        entries = [(node, req) for node, req in entries if node != ir.NOTHING]
        if floating:
            declared = ir.members(entries, None, layout.comma)
            body = (shuffled(list(floating), extras, layout.comma) if declared == ir.NOTHING else
                    with_declared(declared, any(req for _, req in entries), list(floating), extras, layout.comma))
            return layout.container("{", body, "}", False)
        n_required = sum(req for _, req in entries)
        if hi is not None and (n_required > hi or lo > hi):
            return ir.NOTHING
        may_be_empty = n_required == 0 and lo == 0
        if lo <= 1 and hi is None:  # no counting: one or more members, or none when allowed
            return layout.container("{", ir.members(entries, extras, layout.comma), "}", may_be_empty)
        if not entries and extras is not None and lo <= 1 and hi > 0:
            # additional members only, at most `hi`: a counted repetition (chains of called blocks,
            # `nfa.NFA._chain`) instead of a product with a counter of `hi` states
            return layout.container("{", ir.separated(extras, layout.comma, 1, hi), "}", may_be_empty)
        return self._counted_object(entries, extras, lo, hi, may_be_empty, pointer)

    def _counted_object(self, entries, extras, lo, hi, may_be_empty, pointer) -> ir.Node:
        """Objects that count their members: `minProperties` of 2 or more, or `maxProperties`.

        Every member is written after a placeholder byte (`_PLACEHOLDERS`:
        one for the first member and one for the others, each for declared
        and for additional properties). The placeholders make the member
        count and the first-member rule regular checks; a byte map then turns
        them into `{` and `,`. The checks run on a frame where each member is
        one hole byte, and an `ir.Splice` puts the members in: the frame is
        linear in the number of properties, and the members' automata are
        not multiplied by the counts (a member that is an array of 224,000
        states under `maxProperties: 1` took seconds and a gigabyte).

        The judge counts distinct names, and an automaton cannot tell whether
        two additional names differ, so additional members count at most once
        toward `minProperties` (declared names are distinct and never
        additional). Past that a repeated key could be counted twice.
        """
        layout = self.layout
        ws = layout.ws

        def placed(e, marks):
            return ir.seq(ir.byte_set(marks), ws, e, ws)

        members = [e for e, _ in entries] + ([extras] if extras is not None else [])
        require_regular(ir.seq(*members), "maxProperties" if hi is not None else "minProperties", pointer)
        if len(members) > len(_HOLE_BYTES):
            raise SchemaTooLargeError("properties", pointer, f"more than {len(_HOLE_BYTES)} kinds of member to count")
        holes = dict(zip(_HOLE_BYTES, members))
        hole = [ir.byte_set([b]) for b in holes]
        declared, extra = [_FIRST_DECLARED, _NEXT_DECLARED], [_FIRST_EXTRA, _NEXT_EXTRA]
        parts = [placed(h, declared) if req else ir.optional(placed(h, declared)) for h, (_, req) in zip(hole, entries)]
        if extras is not None:
            parts.append(ir.star(placed(hole[-1], extra)))
            if lo > len(entries) + 1:
                self.unsupported("minProperties", pointer, f"{lo} properties need distinct additional names, "
                                 "which an automaton cannot tell from repeated keys")
                lo = len(entries) + 1
            if lo > 0:
                self.notes[f"additional properties at {pointer or '/'} count once toward minProperties"] = None
        rest = ir.star(_NOT_PLACEHOLDER)
        anything = ir.star(ir.byte_range(0, 255))
        first = ir.seq(rest, ir.byte_set([_FIRST_DECLARED, _FIRST_EXTRA]), rest,
                       ir.star(ir.seq(ir.byte_set([_NEXT_DECLARED, _NEXT_EXTRA]), rest)))
        at_most = ir.seq(ir.repeat(ir.seq(rest, ir.byte_set(_PLACEHOLDERS)), 1, hi), rest)

        def declared_at_least(k):
            not_declared = ir.star(ir.byte_set(b for b in range(256) if b not in declared))
            return ir.seq(ir.repeat(ir.seq(not_declared, ir.byte_set(declared)), k, k), anything)

        some_extra = ir.seq(anything, ir.byte_set(extra), anything)
        at_least = ir.alt(declared_at_least(lo), ir.intersect(declared_at_least(max(lo - 1, 0)), some_extra))
        try:
            frame = build_dfa(ir.intersect(ir.seq(*parts), first, at_most, at_least))
            frame = map_bytes(frame, {_FIRST_DECLARED: b"{", _FIRST_EXTRA: b"{", _NEXT_DECLARED: b",",
                                      _NEXT_EXTRA: b","})
        except AutomatonTooLargeError:
            raise SchemaTooLargeError("properties", pointer, "the object's automaton is too large") from None
        body = ir.splice(frame, holes)
        node = ir.seq(body, ir.literal("}"))
        if may_be_empty:
            node = ir.alt(node, layout.empty("{", "}"))
        return node
    # ----------------------------------------------------------------- arrays

    def _array(self, gathered, active: frozenset, mode: Mode) -> ir.Node:
        layout = self.layout
        pointer = next((m.pointer for m in gathered if any(k in m.schema for k in kw.ARRAY_KEYWORDS)), gathered[0].pointer)
        inner_active = active | frozenset(p for m in gathered for p in m.chain | {m.pointer})
        lo = max(int(m.schema.get("minItems", 0)) for m in gathered)
        highs = [int(m.schema["maxItems"]) for m in gathered if "maxItems" in m.schema]
        hi = min(highs) if highs else None
        prefixes, rests = [], []
        for m in gathered:
            s = m.schema
            if "prefixItems" in s:
                prefix = [(x, child(m.pointer, "prefixItems", i)) for i, x in enumerate(s["prefixItems"])]
                rest = (s["items"], child(m.pointer, "items")) if "items" in s else None
            elif isinstance(s.get("items"), list):
                prefix = [(x, child(m.pointer, "items", i)) for i, x in enumerate(s["items"])]
                rest = (s["additionalItems"], child(m.pointer, "additionalItems")) if "additionalItems" in s else None
            else:
                prefix = []
                rest = (s["items"], child(m.pointer, "items")) if "items" in s else None
            if rest is not None and rest[0] is False:
                hi = len(prefix) if hi is None else min(hi, len(prefix))
            prefixes.append(prefix)
            rests.append(rest)
        counters = self._contains_counters(gathered)
        if counters is None:
            return ir.NOTHING
        for c in [c for c in counters if self._contains_always(c.schema)]:  # every item matches: a count of items
            lo = max(lo, c.lo)
            hi = c.hi if hi is None else hi if c.hi is None else min(hi, c.hi)
            counters.remove(c)
        if hi is not None and lo > hi:
            return ir.NOTHING
        if any(m.schema.get("uniqueItems") is True for m in gathered) and (hi is None or hi > 1):
            self.unsupported("uniqueItems", pointer, "distinct items are not a regular language unless maxItems <= 1")
        width = max(len(p) for p in prefixes)

        def item_items(i):
            items = []
            for prefix, rest in zip(prefixes, rests):
                if i < len(prefix):
                    items.append(prefix[i])
                elif rest is not None:
                    items.append(rest)
            return items

        def item_node(i):
            items = item_items(i)
            where = child(pointer, "items") if i >= width else child(pointer, "prefixItems", i)
            inner = self._inner(mode)
            return self.schema_node(items, inner_active, inner) if items else self.free_form(inner, where)

        if counters:
            node = self._counted_array(counters, item_items, width, lo, hi, pointer, inner_active, mode)
            if node is not None:
                return node
        rest_node = item_node(width)
        sep = layout.comma

        def tail(i):  # elements from position i on, after at least one element
            if hi is not None and i >= hi:
                return ir.EPSILON
            if i >= width:
                return ir.repeat(ir.seq(sep, rest_node), max(lo - i, 0), None if hi is None else hi - i)
            t = ir.seq(sep, item_node(i), tail(i + 1))
            return t if i < lo else ir.optional(t)

        if hi == 0:
            body = ir.NOTHING
        elif width > 0:
            body = ir.seq(item_node(0), tail(1))
        else:
            body = ir.separated(rest_node, sep, max(lo, 1), hi)
        return layout.container("[", body, "]", lo == 0)
