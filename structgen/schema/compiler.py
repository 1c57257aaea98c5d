"""JSON Schema -> one IR node for the whole JSON document.

The compiler works on *conjunctions*: the list of schema objects that all
apply at one place of the instance (a schema, its `$ref` targets, its
`allOf` parts). A conjunction is compiled in three steps:

1. gather: follow `$ref` and `allOf` (refusing cycles: a regular language
   cannot nest without bound) and rewrite dependency keywords as `anyOf`;
2. distribute: an `anyOf`/`oneOf` anywhere in the conjunction becomes an
   alternative of conjunctions, one per branch (exact: A and (B or C) is
   (A and B) or (A and C));
3. merge: the remaining plain keywords are merged structurally, per kind of
   value - property sets, required names, bounds, enums - and each kind
   emits its language. Merging (rather than intersecting two languages) is
   what keeps `allOf` exact for objects, whose text order is fixed by the
   merged property order.

`oneOf` needs its branches to be exclusive. Branches that the cheap
summaries (kinds, listed values, discriminator tags) cannot separate are
compiled again in a *check mode*, over a canonical domain in which every
value has exactly one text: objects hold only the property names reachable
from the branches, in sorted order (so no repeated keys and no key order
variants); numbers are integers or plain decimals without trailing zeros of
at most 15 significant digits (where the float judge and exact arithmetic
agree, and `1.0`, `1e0` and `-0` are not separate texts of 1 and 0); values
nest at most a fixed absolute depth. On that domain a text is in a check
language exactly when its value is valid, so text intersection and
complement are value intersection and complement. Keywords that compile to
a subset of their language (`format`) are left out of the languages that
get complemented (`upper` mode), which can only shrink the result. The
output of such a `oneOf` keeps to the domain, even when the branches turn
out disjoint on it: values outside it might satisfy two branches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from ..automata import ir
from ..automata.dfa import AutomatonTooLargeError, build_dfa, map_bytes
from ..grammar.grammar import refs_in
from ..errors import NestingTooDeepError, SchemaTooLargeError, UnsatisfiableSchemaError, UnsupportedSchemaError
from . import keywords as kw
from .document import Document, child, load_schema
from .layout import Layout, any_json, compact_text, dumps

MAX_DISTRIBUTED_BRANCHES = 256
MAX_PATTERN_PROPERTIES = 4
MAX_DIRECT_OPTIONAL_PREFIX = 4
MAX_ONE_OF_CHECK_STATES = 100_000
#: How deeply conjunctions may nest while compiling: one level per nested
#: value (property, item) and per combinator branch, and one per `$ref`/`allOf`
#: hop. `$ref` chains can nest far deeper than the document itself; each level
#: costs a handful of Python frames, and this keeps them well inside the
#: recursion limit.
MAX_COMPILE_DEPTH = 100


@dataclass
class SchemaIR:
    """A compiled schema: the document language and what was relaxed or restricted on the way."""

    node: ir.Node
    ignored: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rules: dict[str, ir.Node] = field(default_factory=dict)  # recursive parts, referenced by ir.Ref from `node`


def compile_schema_ir(
    schema,
    *,
    whitespace: str = "compact",
    strict: bool = True,
    max_any_depth: int = 3,
    max_whitespace: int = 8,
) -> SchemaIR:
    """Compile `schema` (dict, bool, JSON text or Pydantic model class) to one IR node.

    A recursive schema (a `$ref` cycle through nested objects or arrays)
    compiles to a node with `ir.Ref` references to the entries of `rules`:
    a context-free grammar. Everything else stays one regular language.

    `whitespace="flexible"` allows up to `max_whitespace` JSON whitespace
    bytes around structural tokens. Free-form values (`{}`, `true`, absent
    `items`/`additionalProperties`) nest at most `max_any_depth` levels.
    With `strict=False`, keywords that cannot be enforced are ignored and
    listed in `ignored` instead of raising `UnsupportedSchemaError`.
    """
    root = load_schema(schema)
    compiler = _Compiler(Document(root), Layout(whitespace, max_whitespace), strict, max_any_depth)
    node = compiler.compile_root()
    return SchemaIR(node, compiler.ignored, compiler.finish_notes(), dict(compiler.rules))


@dataclass(frozen=True)
class _Member:
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
        return self.skip is _RECURSIVE


class _Mode(NamedTuple):
    """`names`: in check mode, the property names every object declares (sorted); None otherwise.
    `upper`: in check mode, languages that may grow but never shrink (formats,
    which compile to subsets of what their checker accepts, are left out):
    what the complement of a `oneOf` branch needs."""

    names: tuple | None
    any_depth: int
    upper: bool = False


_EXPANDED = frozenset({"$ref", "allOf"})
_RECURSIVE = frozenset({"$ref (recursive)"})
_TRANSFORMS = ("anyOf", "oneOf", "dependentRequired", "dependencies", "dependentSchemas", "if")
_KIND_OF_TYPE = {
    "null": {"null"}, "boolean": {"boolean"}, "object": {"object"}, "array": {"array"},
    "string": {"string"}, "integer": {"integer"}, "number": {"integer", "number"},
}
_ALL_KINDS = frozenset({"null", "boolean", "object", "array", "string", "integer", "number"})
_STRING_TYPE = {"type": "string"}
# Placeholder bytes of `_counted_object`, which JSON text never holds raw:
# the first member, another member; declared properties, additional ones.
_FIRST_DECLARED, _NEXT_DECLARED, _FIRST_EXTRA, _NEXT_EXTRA = 2, 1, 4, 3
_PLACEHOLDERS = (_FIRST_DECLARED, _NEXT_DECLARED, _FIRST_EXTRA, _NEXT_EXTRA)
_NOT_PLACEHOLDER = ir.byte_set(b for b in range(256) if b not in _PLACEHOLDERS)


def _kind_of_value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _json_equal(a, b) -> bool:
    """Equality as JSON Schema defines it (1 == 1.0, but true != 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_json_equal, a, b))
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b
    return type(a) is type(b) and a == b


class _Compiler:
    def __init__(self, doc: Document, layout: Layout, strict: bool, max_any_depth: int):
        self.doc = doc
        self.layout = layout
        self.strict = strict
        self.max_any_depth = max_any_depth
        self.ignored: list[tuple[str, str]] = []
        self.notes: dict[str, None] = {}
        self.unknown: dict[str, int] = {}
        self._checked: set[int] = set()
        self._cache: dict = {}
        self._synthetic: dict = {}  # (id(schema), keyword) -> rewritten schemas, kept alive for id()-keyed caches
        self._pattern_dfas: dict = {}
        self.rules: dict[str, ir.Node] = {}
        self._depth = 0  # nesting of `conj` calls in progress
        self._saw_format = False  # set by `_reachable_names`
        self._emptied_one_of: list[str] = []  # oneOf pointers that only the canonical domain left empty

    # ------------------------------------------------------------------ entry

    def compile_root(self) -> ir.Node:
        root = self.doc.root
        node = self.schema_node([(root, "")], frozenset(), _Mode(None, self.max_any_depth))
        if node == ir.NOTHING:
            if self._emptied_one_of:
                raise UnsupportedSchemaError("oneOf", self._emptied_one_of[0], "no value of the canonical domain "
                                             "(see the module docstring) satisfies exactly one branch; "
                                             "the schema may admit none at all")
            raise UnsatisfiableSchemaError("the schema admits no JSON value")
        return node

    def finish_notes(self) -> list[str]:
        notes = list(self.notes)
        if self.unknown:
            listed = ", ".join(f"{k} ({n})" for k, n in sorted(self.unknown.items()))
            notes.append(f"keys that are no JSON Schema keyword were ignored as annotations: {listed}")
        return notes

    def unsupported(self, keyword: str, pointer: str, reason: str = "") -> None:
        """Refuse in strict mode; otherwise record that the keyword is ignored."""
        if self.strict:
            raise UnsupportedSchemaError(keyword, pointer, reason)
        if (keyword, pointer) not in self.ignored:
            self.ignored.append((keyword, pointer))

    # ------------------------------------------------------------ conjunctions

    def schema_node(self, items, active: frozenset, mode: _Mode) -> ir.Node:
        """The language of the conjunction of `items` ((schema, pointer) pairs)."""
        if not items:
            return self.free_form(mode, None)
        return self.conj(tuple(_Member(s, p) for s, p in items), active, mode)

    def conj(self, members: tuple, active: frozenset, mode: _Mode) -> ir.Node:
        key = (tuple((id(m.schema), m.skip) for m in members), mode)
        node = self._cache.get(key)
        if node is None:
            if self._depth >= MAX_COMPILE_DEPTH:
                raise NestingTooDeepError(f"the schema at {members[0].pointer or '/'}", MAX_COMPILE_DEPTH)
            self._depth += 1
            try:
                node = self._cache[key] = self._conj(members, active, mode)
            finally:
                self._depth -= 1
        return node

    def _conj(self, members: tuple, active: frozenset, mode: _Mode) -> ir.Node:
        gathered: list[_Member] = []
        for m in members:
            if not self._gather(m, active, gathered):
                return ir.NOTHING
        recursive = [m for m in gathered if m.recursive]
        if recursive:
            return self._rule_ref(gathered, recursive, mode)
        if not gathered or all(self._is_unconstrained(m) for m in gathered):
            return self.free_form(mode, gathered[0].pointer if gathered else None)
        combinations = 1
        for m in gathered:
            for keyword in ("anyOf", "oneOf"):
                if keyword in m.schema and keyword not in m.skip:
                    combinations *= len(m.schema[keyword])
        if combinations > MAX_DISTRIBUTED_BRANCHES:
            raise SchemaTooLargeError("anyOf", gathered[0].pointer, "too many combinations of anyOf/oneOf branches")
        for i, m in enumerate(gathered):
            for keyword in _TRANSFORMS:
                if keyword in m.schema and keyword not in m.skip:
                    return self._transform(gathered, i, keyword, active, mode)
        return self._emit(gathered, active, mode)

    def _gather(self, m: _Member, active: frozenset, out: list) -> bool:
        """Append `m` and what it pulls in via `$ref`/`allOf`; False when one of them is `false`."""
        s = m.schema
        if s is True:
            return True
        if s is False:
            return False
        if id(s) not in self._checked:
            self._check(s, m.pointer)
        out.append(m)
        if len(m.chain) >= MAX_COMPILE_DEPTH:
            raise NestingTooDeepError(f"the $ref/allOf chain at {m.pointer or '/'}", MAX_COMPILE_DEPTH)
        chain = m.chain | {m.pointer}
        if "$ref" in s and "$ref" not in m.skip:
            target, pointer = self.doc.resolve(s["$ref"], child(m.pointer, "$ref"))
            if pointer in chain:
                raise UnsupportedSchemaError("$ref", child(m.pointer, "$ref"), "reference cycle that never nests a value")
            if pointer in active:
                out.append(_Member(target, pointer, chain, _RECURSIVE))
                return True
            if not self._gather(_Member(target, pointer, chain), active, out):
                return False
        if "allOf" in s and "allOf" not in m.skip:
            for i, sub in enumerate(s["allOf"]):
                if not self._gather(_Member(sub, child(m.pointer, "allOf", i), chain), active, out):
                    return False
        return True

    def _rule_ref(self, gathered: list, recursive: list, mode: _Mode) -> ir.Node:
        """A reference to the grammar rule for a recursive `$ref` target (compiled once per target and mode)."""
        target = recursive[0]
        if any(m.pointer != target.pointer for m in recursive) or not all(
            m.recursive or self._is_unconstrained(m) or self._implied_by(m, target) for m in gathered
        ):
            where = next(m.pointer for m in gathered if not m.recursive)
            raise UnsupportedSchemaError("$ref", where, "recursive reference combined with other constraints")
        name = target.pointer or "#"
        if mode != _Mode(None, self.max_any_depth):
            name += f" {mode}"
        if name not in self.rules:
            self.rules[name] = ir.NOTHING  # placeholder: the body refers back to this rule
            self.rules[name] = self.conj((_Member(target.schema, target.pointer),), frozenset(), mode)
        return ir.ref(name)

    def _implied_by(self, m: _Member, target: _Member) -> bool:
        """Does `m` only restrict `type`, to kinds the target's own `type` already keeps to?"""
        constraining = [k for k in m.schema if k in kw.HANDLED and k not in kw.ANNOTATIONS
                        and k not in m.skip and k not in _EXPANDED]
        return (constraining == ["type"] and "type" in target.schema
                and _kinds_and_values([target])[0] <= _kinds_and_values([m])[0])

    def _check(self, s: dict, pointer: str) -> None:
        self._checked.add(id(s))
        kw.check_keywords(s, pointer)
        for key in s:
            if key in kw.HANDLED or key in kw.ANNOTATIONS:
                continue
            if key in kw.UNSUPPORTED:
                self.unsupported(key, pointer)
            else:
                self.unknown[key] = self.unknown.get(key, 0) + 1

    def _is_unconstrained(self, m: _Member) -> bool:
        return all(k in kw.ANNOTATIONS or k in m.skip or k in _EXPANDED or k not in kw.HANDLED for k in m.schema) and not (
            "if" in m.schema and "if" not in m.skip
        )

    def free_form(self, mode: _Mode, pointer: str | None) -> ir.Node:
        """Any JSON value, nested at most `mode.any_depth` levels (an unbounded one needs a stack).

        In check mode, any value of the canonical domain (`_check_any`).
        """
        if mode.names is not None:
            return self._check_any(mode.any_depth, mode.names)
        if pointer is not None:
            self.notes[f"free-form JSON at {pointer or '/'} limited to nesting depth {mode.any_depth}"] = None
        return any_json(mode.any_depth, self.layout.key)

    def _check_any(self, depth: int, names: tuple) -> ir.Node:
        """Any value of check mode's canonical domain nested at most `depth` levels:
        canonical numbers, objects with names from `names` only, in sorted order."""
        from .numbers import canonical_number_node
        from .strings import string_node

        key = ("check any", depth, names)
        if key not in self._cache:
            scalars = ir.alt(ir.literal("null"), ir.literal("true"), ir.literal("false"), string_node(),
                             canonical_number_node())
            if depth <= 0:
                self._cache[key] = ir.Automaton(build_dfa(scalars))
            else:
                inner = self._check_any(depth - 1, names)
                layout = self.layout
                entries = [(layout.member(ir.literal(dumps(n)), inner), False) for n in names]
                obj = self._object_layout(entries, None, 0, None, "")
                arr = layout.container("[", ir.separated(inner, layout.comma, 1, None), "]", True)
                self._cache[key] = ir.Automaton(build_dfa(ir.alt(scalars, obj, arr)))
        return self._cache[key]

    @staticmethod
    def _inner(mode: _Mode) -> _Mode:
        """The mode for the values nested in an object or array: check mode
        bounds the absolute depth, so one level less is left."""
        return mode if mode.names is None else mode._replace(any_depth=mode.any_depth - 1)

    # ----------------------------------------------------- combinators, rewrites

    def _transform(self, gathered: list, i: int, keyword: str, active: frozenset, mode: _Mode) -> ir.Node:
        m = gathered[i]
        base = [_Member(g.schema, g.pointer, g.chain, g.skip | _EXPANDED) for g in gathered]
        base[i] = _Member(m.schema, m.pointer, m.chain, base[i].skip | {keyword})
        pointer = child(m.pointer, keyword)
        chain = m.chain | {m.pointer}
        if keyword in ("anyOf", "oneOf"):
            branches = [_Member(b, child(pointer, j), chain) for j, b in enumerate(m.schema[keyword])]
        elif keyword == "if":
            branches = self._if_branches(m, chain)
            if branches is None:
                return self.conj(tuple(base), active, mode)
        else:
            return self.conj(tuple(base) + tuple(self._dependency_rewrites(m, keyword, chain)), active, mode)
        nodes = [self.conj(tuple(base) + (b,), active, mode) for b in branches]
        if keyword == "oneOf":
            return self._exclusive(nodes, [tuple(base) + (b,) for b in branches], pointer, active, mode)
        return ir.alt(*nodes)

    def _synthetic_schema(self, m: _Member, keyword: str, make):
        key = (id(m.schema), keyword)
        if key not in self._synthetic:
            self._synthetic[key] = make()
        return self._synthetic[key]

    def _dependency_rewrites(self, m: _Member, keyword: str, chain: frozenset) -> list[_Member]:
        """`a` present implies names/schema: anyOf[a absent, a present and ...] per dependency."""

        def make():
            out = []
            for name, dep in m.schema[keyword].items():
                absent = {"properties": {name: False}}
                if isinstance(dep, list):
                    present = {"required": [name, *dep]}
                else:
                    present = {"required": [name], "allOf": [dep]}
                out.append({"anyOf": [absent, present]})
            return out

        pointer = child(m.pointer, keyword)
        return [_Member(s, pointer, chain) for s in self._synthetic_schema(m, keyword, make)]

    def _if_branches(self, m: _Member, chain: frozenset):
        """`if`/`then`/`else` as (if and then) or (not-if and else); exact only where `not` is."""
        s = m.schema
        if "then" not in s and "else" not in s:
            return None

        def make():
            return [
                {"allOf": [s["if"], s.get("then", True)]},
                {"not": s["if"], "allOf": [s.get("else", True)]},
            ]

        pointer = child(m.pointer, "if")
        return [_Member(x, pointer, chain) for x in self._synthetic_schema(m, "if", make)]

    def _exclusive(self, nodes: list, branches: list, pointer: str, active: frozenset, mode: _Mode) -> ir.Node:
        """`oneOf`: the union when no value satisfies two branches, else each branch minus the others."""
        live = [i for i, n in enumerate(nodes) if n != ir.NOTHING]
        if len(live) <= 1:
            return nodes[live[0]] if live else ir.NOTHING
        summaries = [self._summary(branches[i], active) for i in live]
        pairs = [(a, b) for a in range(len(live)) for b in range(a + 1, len(live))]
        undecided = [(a, b) for a, b in pairs if not _surely_disjoint(summaries[a], summaries[b])]
        if not undecided:
            return ir.alt(*(nodes[i] for i in live))
        if any(refs_in(nodes[i]) for i in live):
            raise UnsupportedSchemaError("oneOf", pointer, "branches that may overlap and contain recursive references")
        check_mode, approximate = self._check_mode(branches, mode)
        upper_mode = check_mode._replace(upper=True) if approximate else check_mode
        try:
            dfas = {}

            def check_dfa(k, m):
                if (k, m) not in dfas:
                    dfas[k, m] = build_dfa(self.conj(branches[live[k]], active, m), MAX_ONE_OF_CHECK_STATES)
                return ir.Automaton(dfas[k, m])

            overlapping = any(
                not build_dfa(ir.intersect(check_dfa(a, upper_mode), check_dfa(b, upper_mode)),
                              MAX_ONE_OF_CHECK_STATES).is_empty
                for a, b in undecided
            )
            # Disjoint on the canonical domain is not disjoint on every value
            # (values outside it can satisfy both), so even then the output
            # keeps to the domain: the check languages themselves.
            lower = [check_dfa(k, check_mode) for k in range(len(live))]
            if overlapping:
                upper = [check_dfa(k, upper_mode) for k in range(len(live))]
                lower = [
                    ir.intersect(lower[k], ir.complement(ir.alt(*(upper[j] for j in range(len(live)) if j != k))))
                    for k in range(len(live))
                ]
            dfa = build_dfa(ir.alt(*lower), MAX_ONE_OF_CHECK_STATES)
            node = ir.NOTHING if dfa.is_empty else ir.Automaton(dfa)
            if dfa.is_empty:
                self._emptied_one_of.append(pointer)
        except AutomatonTooLargeError:
            raise SchemaTooLargeError("oneOf", pointer, "deciding whether the branches overlap needs too many states") from None
        if mode.names is None:
            self.notes[
                f"oneOf at {pointer or '/'}: branches that may overlap made exclusive on canonical values: objects "
                "list their properties in sorted order and no others, numbers are integers or plain decimals with "
                "at most 15 significant digits"
            ] = None
        return node

    def _check_mode(self, branches: list, mode: _Mode) -> tuple[_Mode, bool]:
        """Check mode for `branches`, and whether a keyword in them compiles to a
        subset of its language (`format`), so that complements need `upper` mode."""
        names: set[str] = set()
        depth = 0
        self._saw_format = False
        for members in branches:
            for m in members:
                depth = max(depth, self._reachable_names(m.schema, names, {}))
        if mode.names is not None:
            return mode, self._saw_format or mode.upper
        return _Mode(tuple(sorted(names)), self.max_any_depth + depth + 1), self._saw_format

    def _reachable_names(self, s, names: set, seen: dict, level: int = 0) -> int:
        """Add the property names reachable from `s` to `names`; return its nesting depth bound.

        `level` counts the schemas walked through to get here (`$ref` included),
        bounded by `MAX_COMPILE_DEPTH` like the compilation itself.
        """
        if not isinstance(s, dict):
            return 0
        if level >= MAX_COMPILE_DEPTH:
            raise NestingTooDeepError("the schemas under oneOf", MAX_COMPILE_DEPTH)
        if id(s) in seen:
            return seen[id(s)]
        seen[id(s)] = 0
        depth = 0
        for key, value in s.items():
            if key == "$ref" and isinstance(value, str):
                try:
                    target, _ = self.doc.resolve(value, "")
                except Exception:
                    continue
                depth = max(depth, self._reachable_names(target, names, seen, level + 1))
            elif key in ("properties", "patternProperties"):
                names.update(value if key == "properties" else ())
                for sub in value.values():
                    depth = max(depth, 1 + self._reachable_names(sub, names, seen, level + 1))
            elif key in ("required",):
                names.update(value)
            elif key in ("additionalProperties", "items", "additionalItems", "propertyNames"):
                subs = value if isinstance(value, list) else [value]
                for sub in subs:
                    depth = max(depth, 1 + self._reachable_names(sub, names, seen, level + 1))
            elif key in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(value, list):
                extra = 1 if key == "prefixItems" else 0
                for sub in value:
                    depth = max(depth, extra + self._reachable_names(sub, names, seen, level + 1))
            elif key in ("not", "if", "then", "else"):
                depth = max(depth, self._reachable_names(value, names, seen, level + 1))
            elif key == "format":
                self._saw_format = True
            elif key in ("const", "enum"):
                for listed in [value] if key == "const" else value if isinstance(value, list) else ():
                    depth = max(depth, _value_names(listed, names))
            elif key in ("dependentSchemas", "dependencies") and isinstance(value, dict):
                for sub in value.values():
                    depth = max(depth, self._reachable_names(sub, names, seen, level + 1))
        seen[id(s)] = depth
        return depth

    def _summary(self, members: tuple, active: frozenset):
        """Cheap facts about a branch (kinds, allowed values, required discriminators) for oneOf."""
        gathered: list[_Member] = []
        try:
            for m in members:
                if not self._gather(m, active, gathered):
                    return (frozenset(), None, {})
        except UnsupportedSchemaError:
            return (_ALL_KINDS, None, {})
        kinds, values = _kinds_and_values(gathered)
        if values is not None:
            kinds = frozenset(_kind_of_value(v) for v in values) & kinds
        tags: dict[str, list] = {}
        required = {n for m in gathered for n in m.schema.get("required", ())}
        for m in gathered:
            for name, sub in m.schema.get("properties", {}).items():
                if name in required and isinstance(sub, dict):
                    if "const" in sub:
                        tags[name] = [sub["const"]]
                    elif "enum" in sub:
                        tags[name] = list(sub["enum"])
        return (kinds, values, tags)

    # ------------------------------------------------------------------ merge

    def _emit(self, gathered: list, active: frozenset, mode: _Mode) -> ir.Node:
        kinds, values = _kinds_and_values(gathered)
        excluded: list = []
        for m in gathered:
            if "not" in m.schema and "not" not in m.skip:
                outcome = self._apply_not(m, kinds, excluded)
                if outcome is None:
                    return ir.NOTHING
                kinds = outcome
        if values is not None:
            return self._values(gathered, kinds, values, excluded, active, mode)
        options = []
        if "null" in kinds:
            options.append(ir.literal("null"))
        if "boolean" in kinds:
            options += [ir.literal("true"), ir.literal("false")]
        if "string" in kinds:
            options.append(self._string(gathered, mode))
        if mode.names is not None and kinds & {"integer", "number"}:
            options.append(self._number(gathered, integer=False, check_kinds=kinds))
        elif "integer" in kinds:
            options.append(self._number(gathered, integer="number" not in kinds))
        elif "number" in kinds:  # numbers that are not integers (`not: {type: integer}`)
            from .numbers import SAFE_FRACTION_DIGITS, SAFE_SIGNIFICANT_DIGITS, non_integral_node

            options.append(ir.intersect(self._number(gathered, integer=False), non_integral_node()))
            self.notes[
                f"non-integral numbers at {gathered[0].pointer or '/'} are written as plain decimals with at most "
                f"{SAFE_SIGNIFICANT_DIGITS} significant and {SAFE_FRACTION_DIGITS} fraction digits"
            ] = None
        if mode.names is not None and mode.any_depth <= 0:  # check mode: no room left to nest
            kinds -= {"object", "array"}
        if "object" in kinds:
            options.append(self._object(gathered, active, mode))
        if "array" in kinds:
            options.append(self._array(gathered, active, mode))
        node = ir.alt(*options)
        if excluded and refs_in(node):
            raise UnsupportedSchemaError("not", gathered[0].pointer, "excluded values of a recursive schema")
        if excluded:
            node = ir.intersect(node, ir.complement(ir.alt(*(self.layout.value(v) for v in excluded))))
        return node

    def _apply_not(self, m: _Member, kinds: frozenset, excluded: list) -> frozenset | None:
        """Kinds left after `not`; None when nothing is left. Only the exact forms are accepted."""
        pointer = child(m.pointer, "not")
        sub = m.schema["not"]
        if sub is False:
            return kinds
        if sub is True:
            return None
        if id(sub) not in self._checked:
            self._check(sub, pointer)
        constraining = [k for k in sub if k in kw.HANDLED]
        if constraining == ["type"]:
            removed: set[str] = set()
            for t in [sub["type"]] if isinstance(sub["type"], str) else sub["type"]:
                removed |= _KIND_OF_TYPE[t]
            return frozenset(kinds - removed) or None
        if not constraining:
            return None
        if set(constraining) <= {"enum", "const"}:
            values = list(sub.get("enum", [])) + ([sub["const"]] if "const" in sub else [])
            if "enum" in sub and "const" in sub:
                values = [v for v in sub["enum"] if _json_equal(v, sub["const"])]
            if all(isinstance(v, (str, bool)) or v is None for v in values):
                excluded.extend(values)
                return kinds
        self.unsupported("not", pointer, "only 'not' with type, or with string/boolean/null enum or const, is exact")
        return kinds

    def _values(self, gathered, kinds, values, excluded, active, mode) -> ir.Node:
        """`enum`/`const`: the listed values that satisfy every other keyword, written in the output form
        (in check mode, those of the canonical domain, written in its one text)."""
        excluded_keys = {_value_key(x) for x in excluded}
        keep = [v for v in values if _kind_of_value(v) in kinds and _value_key(v) not in excluded_keys]
        names = self._declared_names(gathered)

        def declared_first(keys):
            return [k for k in names if k in keys] + [k for k in keys if k not in names]

        order, number_text = declared_first, dumps
        if mode.names is not None:  # check mode: only values of the canonical domain, in its one text
            from .numbers import canonical_number_text

            order, number_text = sorted, canonical_number_text
            keep = [v for v in keep if _in_check_domain(v, mode.any_depth, set(mode.names))]

        constraining = {
            k for m in gathered for k in m.schema
            if k in kw.HANDLED and k not in ("type", "enum", "const", "not") and k not in m.skip and k not in _EXPANDED
        }
        if constraining and keep:
            rest = self._emit_kinds_without_values(gathered, frozenset(_kind_of_value(v) for v in keep), active, mode)
            _require_regular(rest, "enum", gathered[0].pointer)
            dfa = build_dfa(rest)
            keep = [v for v in keep if dfa.matches(compact_text(v, order, number_text).encode())]
        return ir.alt(*(self.layout.value(v, order, number_text) for v in keep))

    def _emit_kinds_without_values(self, gathered, kinds, active, mode) -> ir.Node:
        options = []
        if "null" in kinds:
            options.append(ir.literal("null"))
        if "boolean" in kinds:
            options += [ir.literal("true"), ir.literal("false")]
        if "string" in kinds:
            options.append(self._string(gathered, mode))
        if kinds & {"integer", "number"}:
            check_kinds = {"integer", "number"} if mode.names is not None else None
            options.append(self._number(gathered, integer=False, check_kinds=check_kinds))
        if mode.names is not None and mode.any_depth <= 0:
            kinds -= {"object", "array"}
        if "object" in kinds:
            options.append(self._object(gathered, active, mode))
        if "array" in kinds:
            options.append(self._array(gathered, active, mode))
        return ir.alt(*options)

    # ---------------------------------------------------------------- leaves

    def _string(self, gathered, mode: _Mode) -> ir.Node:
        from . import formats as formats_module
        from .strings import string_node

        min_len, max_len, patterns, formats = 0, None, [], []
        pointer = gathered[0].pointer
        for m in gathered:
            s = m.schema
            if any(k in s for k in kw.STRING_KEYWORDS):
                pointer = m.pointer
            min_len = max(min_len, int(s.get("minLength", 0)))
            if "maxLength" in s:
                max_len = int(s["maxLength"]) if max_len is None else min(max_len, int(s["maxLength"]))
            if "pattern" in s:
                patterns.append((s["pattern"], child(m.pointer, "pattern")))
            name = s.get("format")
            if name is not None and not mode.upper:
                if name in formats_module.SUPPORTED_FORMATS:
                    formats.append((name, child(m.pointer, "format")))
                elif name in kw.SPEC_FORMATS:
                    self.unsupported("format", child(m.pointer, "format"), f"format {name!r} is not supported")
                else:
                    self.notes[f"unknown format {name!r} at {child(m.pointer, 'format')} ignored as an annotation"] = None
        if max_len is not None and max_len < min_len:
            return ir.NOTHING
        first_pattern = patterns[0] if patterns else (None, pointer)
        first_format = formats[0] if formats else (None, pointer)
        node = string_node(
            min_length=min_len, max_length=max_len, pattern=first_pattern[0], format=first_format[0], pointer=pointer
        )
        extra = [string_node(pattern=p, pointer=pp) for p, pp in patterns[1:]]
        extra += [string_node(format=f, pointer=fp) for f, fp in formats[1:]]
        return ir.intersect(node, *extra) if extra else node

    def _number(self, gathered, integer: bool, check_kinds=None) -> ir.Node:
        """The numbers the members allow: integers only when `integer`; in check
        mode (`check_kinds`: which of "integer" and "number" the type allows),
        those of the canonical domain (`canonical_number_node`)."""
        from .numbers import canonical_number_node, integer_node, number_node

        lower = upper = None  # (value, exclusive)
        steps = []
        pointer = gathered[0].pointer
        for m in gathered:
            s = m.schema
            if any(k in s for k in kw.NUMBER_KEYWORDS):
                pointer = m.pointer
            if "minimum" in s:
                lower = _tighter(lower, (s["minimum"], s.get("exclusiveMinimum") is True), 1)
            if "maximum" in s:
                upper = _tighter(upper, (s["maximum"], s.get("exclusiveMaximum") is True), -1)
            if kw.is_number(s.get("exclusiveMinimum")):
                lower = _tighter(lower, (s["exclusiveMinimum"], True), 1)
            if kw.is_number(s.get("exclusiveMaximum")):
                upper = _tighter(upper, (s["exclusiveMaximum"], True), -1)
            if "multipleOf" in s:
                steps.append(s["multipleOf"])
        if check_kinds is not None:
            make = lambda **kw: canonical_number_node(kinds=tuple(check_kinds), **kw)  # noqa: E731
        else:
            make = integer_node if integer else number_node
        bounds = {}
        if lower is not None:
            bounds["exclusive_minimum" if lower[1] else "minimum"] = lower[0]
        if upper is not None:
            bounds["exclusive_maximum" if upper[1] else "maximum"] = upper[0]
        node = make(**bounds, multiple_of=steps[0] if steps else None, pointer=pointer)
        extra = [make(**bounds, multiple_of=step, pointer=pointer) for step in steps[1:]]
        return ir.intersect(node, *extra) if extra else node

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

    def _object(self, gathered, active: frozenset, mode: _Mode) -> ir.Node:
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
        entries = []
        for name in names:
            key_text = dumps(name)
            if key_filter_dfa is not None and not key_filter_dfa.matches(key_text.encode()):
                value = ir.NOTHING
            else:
                value = self.schema_node(self._property_items(gathered, name), inner_active, self._inner(mode))
            entries.append((layout.member(ir.literal(key_text), value), name in required))
        patterns = [
            (p, sub, child(m.pointer, "patternProperties", p), i)
            for i, m in enumerate(gathered)
            for p, sub in m.schema.get("patternProperties", {}).items()
        ]
        if mode.names is not None:  # check mode: every name is declared
            patterns = []
        elif len(patterns) > MAX_PATTERN_PROPERTIES:
            self.unsupported("patternProperties", pointer, f"more than {MAX_PATTERN_PROPERTIES} patterns in one object")
            patterns = []
        key_any = string_node()
        if names:
            key_any = ir.intersect(key_any, ir.complement(ir.alt(*(ir.literal(dumps(n)) for n in names))))
        if key_filter is not None:
            key_any = ir.intersect(key_any, key_filter)
        regions = []
        for mask in range(1 << len(patterns)) if mode.names is None else ():  # check mode: no other names
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
        lo = max([int(m.schema.get("minProperties", 0)) for m in gathered])
        highs = [int(m.schema["maxProperties"]) for m in gathered if "maxProperties" in m.schema]
        hi = min(highs) if highs else None
        return self._object_layout(entries, extras, lo, hi, pointer)

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
        return self.schema_node(items + [(_STRING_TYPE, "")], active, _Mode(None, 0, mode.upper))

    def _object_layout(self, entries: list, extras, lo: int, hi: int | None, pointer: str) -> ir.Node:
        """`{` members `}`: declared properties in order (required ones present), then extras."""
        layout = self.layout
        if any(req and node == ir.NOTHING for node, req in entries):
            return ir.NOTHING
        entries = [(node, req) for node, req in entries if node != ir.NOTHING]
        n_required = sum(req for _, req in entries)
        if hi is not None and (n_required > hi or lo > hi):
            return ir.NOTHING
        may_be_empty = n_required == 0 and lo == 0
        first_required = next((i for i, (_, req) in enumerate(entries) if req), len(entries))
        # The direct form repeats the members after each optional leading one
        # (quadratic); the counted form needs automata, so not for recursive values.
        if lo == 0 and hi is None and (first_required <= MAX_DIRECT_OPTIONAL_PREFIX
                                       or any(refs_in(e) for e, _ in entries)
                                       or (extras is not None and refs_in(extras))):
            sep = layout.comma
            n = len(entries)

            def tail(i):  # members from i on, after at least one member
                parts = [ir.seq(sep, e) if req else ir.optional(ir.seq(sep, e)) for e, req in entries[i:]]
                if extras is not None:
                    parts.append(ir.star(ir.seq(sep, extras)))
                return ir.seq(*parts)

            def nonempty(i):  # members from i on, at least one, none before
                if i == n:
                    return ir.separated(extras, sep, 1, None) if extras is not None else ir.NOTHING
                e, req = entries[i]
                first = ir.seq(e, tail(i + 1))
                return first if req else ir.alt(first, nonempty(i + 1))

            return layout.container("{", nonempty(0), "}", may_be_empty)
        return self._counted_object(entries, extras, lo, hi, may_be_empty, pointer)

    def _counted_object(self, entries, extras, lo, hi, may_be_empty, pointer) -> ir.Node:
        """Objects with many optional leading members or min/maxProperties.

        Every member is written after a placeholder byte (`_PLACEHOLDERS`:
        one for the first member and one for the others, each for declared
        and for additional properties). The placeholders make the member
        count and the first-member rule regular checks; a byte map then turns
        them into `{` and `,`. This keeps the automaton linear in the number
        of properties.

        The judge counts distinct names, and an automaton cannot tell whether
        two additional names differ, so additional members count at most once
        toward `minProperties` (declared names are distinct and never
        additional). Past that a repeated key could be counted twice.
        """
        layout = self.layout
        ws = layout.ws

        def placed(e, marks):
            return ir.seq(ir.byte_set(marks), ws, e, ws)

        declared, extra = [_FIRST_DECLARED, _NEXT_DECLARED], [_FIRST_EXTRA, _NEXT_EXTRA]
        parts = [placed(e, declared) if req else ir.optional(placed(e, declared)) for e, req in entries]
        if extras is not None:
            parts.append(ir.star(placed(extras, extra)))
            if lo > len(entries) + 1:
                self.unsupported("minProperties", pointer, f"{lo} properties need distinct additional names, "
                                 "which an automaton cannot tell from repeated keys")
                lo = len(entries) + 1
            if lo > 0:
                self.notes[f"additional properties at {pointer or '/'} count once toward minProperties"] = None
        _require_regular(ir.seq(*parts), "maxProperties" if hi is not None else "minProperties", pointer)
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
            dfa = build_dfa(ir.intersect(ir.seq(*parts), first, at_most, at_least))
            body = map_bytes(dfa, {_FIRST_DECLARED: b"{", _FIRST_EXTRA: b"{", _NEXT_DECLARED: b",", _NEXT_EXTRA: b","})
        except AutomatonTooLargeError:
            raise SchemaTooLargeError("properties", pointer, "the object's automaton is too large") from None
        node = ir.seq(ir.Automaton(body), ir.literal("}")) if not body.is_empty else ir.NOTHING
        if may_be_empty:
            node = ir.alt(node, ir.seq(ir.literal("{"), ws, ir.literal("}")))
        return node

    # ----------------------------------------------------------------- arrays

    def _array(self, gathered, active: frozenset, mode: _Mode) -> ir.Node:
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
        if hi is not None and lo > hi:
            return ir.NOTHING
        if any(m.schema.get("uniqueItems") is True for m in gathered) and (hi is None or hi > 1):
            self.unsupported("uniqueItems", pointer, "distinct items are not a regular language unless maxItems <= 1")
        width = max(len(p) for p in prefixes)

        def item_node(i):
            items = []
            for prefix, rest in zip(prefixes, rests):
                if i < len(prefix):
                    items.append(prefix[i])
                elif rest is not None:
                    items.append(rest)
            where = child(pointer, "items") if i >= width else child(pointer, "prefixItems", i)
            inner = self._inner(mode)
            return self.schema_node(items, inner_active, inner) if items else self.free_form(inner, where)

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


def _require_regular(node: ir.Node, keyword: str, pointer: str) -> None:
    """Refuse a check that needs the automaton of a node holding recursive references."""
    if refs_in(node):
        raise UnsupportedSchemaError(keyword, pointer, "checked over values that hold recursive references")


def _tighter(current, candidate, direction: int):
    """The tighter of two bounds (value, exclusive); `direction` 1 for lower bounds, -1 for upper."""
    if current is None:
        return candidate
    if candidate[0] * direction > current[0] * direction:
        return candidate
    if candidate[0] == current[0]:
        return (current[0], current[1] or candidate[1])
    return current


def _value_key(value) -> str:
    """A key equal for JSON-equal values (1 and 1.0 alike, true and 1 not), for hashing."""

    def norm(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True)


def _kinds_and_values(gathered) -> tuple[frozenset, list | None]:
    """The kinds every member's `type` allows and the values every `enum`/`const` allows (None: unrestricted)."""
    kinds = _ALL_KINDS
    values: dict | None = None
    for m in gathered:
        s = m.schema
        if "type" in s:
            allowed: set[str] = set()
            for t in [s["type"]] if isinstance(s["type"], str) else s["type"]:
                allowed |= _KIND_OF_TYPE[t]
            kinds = kinds & allowed
        for listed in ([s["const"]] if "const" in s else None, s.get("enum")):
            if listed is None:
                continue
            keyed = {}
            for v in listed:
                keyed.setdefault(_value_key(v), v)
            values = keyed if values is None else {k: v for k, v in values.items() if k in keyed}
    return frozenset(kinds), None if values is None else list(values.values())


def _surely_disjoint(a, b) -> bool:
    """Value-level disjointness from summaries (kinds, values, required tags), without automata."""
    kinds_a, values_a, tags_a = a
    kinds_b, values_b, tags_b = b
    if not (kinds_a & kinds_b):
        return True
    if values_a is not None and values_b is not None:
        if not any(_json_equal(x, y) for x in values_a for y in values_b):
            return True
    if kinds_a & kinds_b <= {"object"}:
        for name in tags_a.keys() & tags_b.keys():
            if not any(_json_equal(x, y) for x in tags_a[name] for y in tags_b[name]):
                return True
    return False


def _value_names(value, names: set) -> int:
    """Add the object keys inside a `const`/`enum` value to `names`; return its nesting depth."""
    if isinstance(value, dict):
        names.update(value)
        return 1 + max((_value_names(v, names) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_value_names(v, names) for v in value), default=0)
    return 0


def _in_check_domain(value, depth: int, names: set) -> bool:
    """Is `value` in check mode's canonical domain: nested at most `depth`
    levels, object keys among `names`, numbers with a canonical text?"""
    from .numbers import canonical_number_text

    if isinstance(value, dict):
        return depth > 0 and value.keys() <= names and all(
            _in_check_domain(v, depth - 1, names) for v in value.values())
    if isinstance(value, list):
        return depth > 0 and all(_in_check_domain(v, depth - 1, names) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return canonical_number_text(value) is not None
    return True
