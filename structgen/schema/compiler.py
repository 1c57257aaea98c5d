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
nest at most a fixed absolute depth (free-form values `max_any_depth` levels
below the branches' own structure, or none where those automata pass their
budget: `exclusive._check_modes`). On that domain a text is in a check
language exactly when its value is valid, so text intersection and
complement are value intersection and complement. Keywords that compile to
a subset of their language (`format`) are left out of the languages that
get complemented (`upper` mode), which can only shrink the result. The
output of such a `oneOf` keeps to the domain, even when the branches turn
out disjoint on it: values outside it might satisfy two branches. Where
the check passes its budget (or branches with recursive references have no
automaton to complement), `parting` keeps each branch to the values that
hold or lack the property names parting it from the others, which the
summaries then prove exclusive: a subset, noted.

`not` is exact (`negation`): it removes the kinds of value its operand
accepts wholly (`type`, `not: {}`, double negation) and the texts of listed
strings, booleans and null; for the kinds its operand accepts in part, it
is pushed into the operand where a value-level rewrite exists (`demorgan`:
`not required` is `properties: false`, `not properties` a `not` one level
down, bounds flip, `not anyOf` is `allOf` of `not`s, ...), which keeps the
output form, and otherwise the conjunction and the operand are compiled in
check mode and the second is complemented, so those values keep to the
canonical domain. It refuses recursive operands (no automaton to
complement) and, in check mode, complements past `MAX_NOT_STATES` states
(`SchemaTooLargeError`; the output form leaves their values out instead,
noted). `if`/`then`/`else` is rewritten without loss: `if`
or `else` when `then` is absent, `if and then` or `not if` when `else` is,
else `if and then` or `not if and else`; `if` alone, or in a draft before
7, is no constraint. Several `if`s whose conditions no two values share
(one per value of a discriminating property) distribute at once, into one
alternative per condition and one where none holds (`conditions`).

This module holds the entry point and the conjunction steps (gather,
distribute, merge); the kinds of value are emitted by mixins of the
compiler: `containers` (objects, arrays), `leaves` (strings, numbers),
`exclusive` (`oneOf` and check mode, with `summaries` and `parting`),
`negation` and `demorgan` (`not`), `conditions` (`if`). `members` and `values` hold what they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..automata import ir
from ..automata.dfa import build_dfa
from ..grammar.grammar import has_refs
from ..errors import NestingTooDeepError, SchemaTooLargeError, UnsatisfiableSchemaError, UnsupportedSchemaError
from . import keywords as kw
from .conditions import ConditionsMixin
from .containers import ContainersMixin
from .document import Document, child, load_schema
from .enforcement import keyword_report
from .exclusive import ExclusiveMixin, in_check_domain
from .layout import Layout, any_json, compact_text, dumps
from .leaves import LeavesMixin
from .members import EXPANDED, MAX_COMPILE_DEPTH, RECURSIVE, Member, Mode, distinct, require_regular
from .numbers import integer_text, number_constant_node
from .presence import presence_one_of
from .demorgan import DeMorganMixin
from .negation import NegationMixin
from .rules import RulesMixin
from .summaries import surely_empty
from .values import KIND_OF_TYPE, kind_of_value, kinds_and_values, kinds_of_type, listed_union, value_key

#: Most conjunctions the `anyOf`s and `oneOf`s of one conjunction may distribute into.
MAX_DISTRIBUTED_BRANCHES = 1024


@dataclass
class SchemaIR:
    """A compiled schema: the document language and what was relaxed or restricted on the way."""

    node: ir.Node
    ignored: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rules: dict[str, ir.Node] = field(default_factory=dict)  # recursive parts, referenced by ir.Ref from `node`
    keywords: tuple = ()  # every constraining keyword and how it is enforced (`enforcement.keyword_report`)
    deferred: list[tuple[str, str, str]] = field(default_factory=list)  # (keyword, pointer, reason): see `deferred=`


def compile_schema_ir(
    schema,
    *,
    whitespace: str = "compact",
    strict: bool = True,
    max_any_depth: int = 3,
    max_whitespace: int = 8,
    registry=None,
    deferred: frozenset = frozenset(),
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
    `registry` (a `referencing.Registry`) holds the resources that a `$ref`
    leaving the schema document may reach; nothing else is ever fetched.
    `deferred` names keywords the caller enforces beside the automaton
    (`uniqueItems`, by `structgen.checks`): where the compiler would refuse
    one, it records (keyword, pointer, reason) in `deferred` and goes on
    without it, in either mode; the caller decides.
    """
    root = load_schema(schema)
    compiler = _Compiler(Document(root, registry), Layout(whitespace, max_whitespace), strict, max_any_depth,
                         deferred)
    node = compiler.compile_root()
    return SchemaIR(node, compiler.ignored, compiler.finish_notes(), dict(compiler.rules),
                    keyword_report(root, compiler.ignored), compiler.deferred)


_TRANSFORMS = ("anyOf", "oneOf", "dependentRequired", "dependencies", "dependentSchemas", "if")


class _Compiler(ExclusiveMixin, NegationMixin, DeMorganMixin, ConditionsMixin, ContainersMixin, LeavesMixin,
                RulesMixin):
    """Compiles conjunctions (see the module docstring); objects, arrays, strings, numbers,
    exclusive `oneOf` and `not` come from the mixins."""

    def __init__(self, doc: Document, layout: Layout, strict: bool, max_any_depth: int,
                 deferred: frozenset = frozenset()):
        self.doc = doc
        self.deferred_keywords = deferred
        self.deferred: list[tuple[str, str, str]] = []
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
        self._rule_names: dict[tuple, str] = {}  # (the members of a conjunction, mode) -> its rule (`rules.py`)
        self._rule_members: dict[str, tuple] = {}
        self._depth = 0  # nesting of `conj` calls in progress
        self._saw_format = False  # set by `_reachable_names`
        self._emptied: list[tuple[str, str]] = []  # (oneOf or not, pointer) that the canonical domain left empty
        self._shrunk: list[SchemaTooLargeError] = []  # output-form languages left out as too large (a subset)
        self._partial: dict = {}  # conj cache keys whose language left a part out -> the first such error
        self._negations: set[int] = set()  # ids of the synthetic `{"not": s}` of `demorgan._not_of`
        self._negating: set[tuple] = set()  # (id(operand), active, mode) of the `not`s being compiled
        self._negation_branches = 0  # conjunctions distributed by `if` and `not` (`_spend_branches`)
        self._negations_too_large: dict = {}  # (pointer, mode) of a oneOf -> its negations' SchemaTooLargeError
        self._dependencies: set[int] = set()  # ids of the `anyOf`s that `_dependency_rewrites` makes

    # ------------------------------------------------------------------ entry

    def compile_root(self) -> ir.Node:
        root = self.doc.root
        node = self.schema_node([(root, "")], frozenset(), Mode(None, self.max_any_depth))
        if node == ir.NOTHING:
            if self._shrunk:  # nothing is left of the output once what was too large is left out
                raise self._shrunk[0]
            if self._emptied:
                keyword, pointer = self._emptied[0]
                what = "satisfies exactly one branch" if keyword == "oneOf" else "fails the operand"
                raise UnsupportedSchemaError(keyword, pointer, f"no value of the canonical domain (see the module "
                                             f"docstring) {what}; the schema may admit none at all")
            raise UnsatisfiableSchemaError("the schema admits no JSON value")
        return node

    def finish_notes(self) -> list[str]:
        notes = list(self.notes)
        if self.doc.dialect.dropped:
            listed = ", ".join(f"{k} at {p[0] or '/'}" + (f" and {len(p) - 1} more" if len(p) > 1 else "")
                               for k, p in sorted(self.doc.dialect.dropped.items()))
            notes.append(f"keywords that {self.doc.dialect.name} (the schema's $schema, 2020-12 by default) does not "
                         f"have were ignored, as its validators ignore them: {listed}")
        if self.unknown:
            listed = ", ".join(f"{k} ({n})" for k, n in sorted(self.unknown.items()))
            notes.append(f"keys that are no JSON Schema keyword were ignored as annotations: {listed}")
        return notes

    def unsupported(self, keyword: str, pointer: str, reason: str = "") -> None:
        """Refuse in strict mode; otherwise record that the keyword is ignored (a deferred keyword:
        recorded for the caller in either mode)."""
        if keyword in self.deferred_keywords:
            if not any(d[:2] == (keyword, pointer) for d in self.deferred):
                self.deferred.append((keyword, pointer, reason))
            return
        if self.strict:
            raise UnsupportedSchemaError(keyword, pointer, reason)
        if (keyword, pointer) not in self.ignored:
            self.ignored.append((keyword, pointer))

    # ------------------------------------------------------------ conjunctions

    def schema_node(self, items, active: frozenset, mode: Mode) -> ir.Node:
        """The language of the conjunction of `items` ((schema, pointer) pairs)."""
        if not items:
            return self.free_form(mode, None)
        return self.conj(tuple(Member(s, p) for s, p in items), active, mode)

    def conj(self, members: tuple, active: frozenset, mode: Mode) -> ir.Node:
        """The language of the conjunction `members`, compiled once per (members, mode). Where a
        part of it was left out as too large (`_shrunk`, the output form only), meeting it again
        (cached) records that again, so that whoever compiles it can tell (`_compiled_whole`)."""
        key = (tuple((id(m.schema), m.skip) for m in members), mode)
        node = self._cache.get(key)
        if node is None:
            if self._depth >= MAX_COMPILE_DEPTH:
                raise NestingTooDeepError(f"the schema at {members[0].pointer or '/'}", MAX_COMPILE_DEPTH)
            self._depth += 1
            shrunk = len(self._shrunk)
            try:
                node = self._cache[key] = self._conj(members, active, mode)
            finally:
                self._depth -= 1
            if len(self._shrunk) > shrunk:
                self._partial[key] = self._shrunk[shrunk]
        elif key in self._partial:
            self._shrunk.append(self._partial[key])
        return node

    def _leave_out(self, error: SchemaTooLargeError, what: str) -> None:
        """Record that the output form leaves out a language past its budget (`error`, raised
        after all if nothing is left): `what` says which, the note adds that the output is a subset.
        Only the output form may shrink: it is never complemented, a check-mode language may be."""
        self._shrunk.append(error)
        self.notes[f"{what}; the output leaves them out (it writes a subset of the valid values)"] = None

    def _compiled_whole(self, members: tuple, active: frozenset, mode: Mode) -> tuple[ir.Node, bool]:
        """`conj`, and whether its language is whole: False where a part was left out as too large
        (then an empty node does not mean that no value satisfies `members`)."""
        shrunk = len(self._shrunk)
        node = self.conj(members, active, mode)
        return node, len(self._shrunk) == shrunk

    def _conj(self, members: tuple, active: frozenset, mode: Mode) -> ir.Node:
        gathered: list[Member] = []
        for m in members:
            if not self._gather(m, active, gathered):
                return ir.NOTHING
        gathered = self._without_repeated_combinators(distinct(gathered))
        recursive = [m for m in gathered if m.recursive]
        if recursive:
            return self._rule_ref(gathered, recursive, mode)
        if not gathered or all(self._is_unconstrained(m) for m in gathered):
            return self.free_form(mode, (gathered or members)[0].pointer)  # `true` gathers nothing
        if self._surely_empty(gathered, active):
            return ir.NOTHING
        combinations = 1
        for m in gathered:
            for keyword in ("anyOf", "oneOf"):
                if keyword in m.schema and keyword not in m.skip:
                    combinations *= len(m.schema[keyword])
        if combinations > MAX_DISTRIBUTED_BRANCHES:
            error = SchemaTooLargeError("anyOf", gathered[0].pointer, "too many combinations of anyOf/oneOf branches")
            gathered = self._fewer_dependencies(gathered, combinations, MAX_DISTRIBUTED_BRANCHES, mode, error)
        for i, m in enumerate(gathered):
            for keyword in _TRANSFORMS:
                if keyword in m.schema and keyword not in m.skip:
                    return self._transform(gathered, i, keyword, active, mode)
        kinds, values = kinds_and_values(gathered)
        if values is not None:
            kinds &= frozenset(kind_of_value(v) for v in values)
        for i, m in enumerate(gathered):
            if "not" in m.schema and "not" not in m.skip and self._needs_negation(m, kinds):
                return self._negation(gathered, i, active, mode)
        return self._emit(gathered, active, mode)

    def _without_repeated_combinators(self, gathered: list) -> list:
        """`gathered` with each `anyOf`/`oneOf` whose branches (looked through lone `$ref`s) are
        those of an earlier member's same keyword skipped: A and A is A. Minecraft's recipes
        say `anyOf` of the same three definitions in the `then` of four `if`s, which all hold
        where the discriminating property is absent (3**4 conjunctions distributed, else)."""
        seen, out = set(), []
        for m in gathered:
            for keyword in ("anyOf", "oneOf"):
                branches = m.schema.get(keyword)
                if keyword in m.skip or not isinstance(branches, list):
                    continue
                key = (keyword, tuple(id(self._looked_through(b, child(m.pointer, keyword, j))[0])
                                      for j, b in enumerate(branches)))
                if key in seen:
                    m = Member(m.schema, m.pointer, m.chain, m.skip | {keyword})
                seen.add(key)
            out.append(m)
        return out

    def _surely_empty(self, gathered: list, active: frozenset) -> bool:
        """Do the listed facts alone leave the conjunction no value: no kind left (`type`, `enum`,
        `const`, a `not` of a `type`), or objects only with a required property whose declared schemas
        leave its value none (no kind, or only values a `not` lists)? A cut before the combinators
        are distributed: a chain of `if`s on one discriminating property holds two conditions at
        once only where that property is absent, and fails one of them only where it is present
        with another value (`_if_branches`), so the chain distributes into about one conjunction
        per condition, not two to the power of their number."""
        kinds, values = kinds_and_values(gathered)
        if values is not None:
            kinds &= frozenset(kind_of_value(v) for v in values)
        for m in gathered:  # `not: {type: ...}` (a failed `if`'s "no object") takes its kinds away
            operand = m.schema.get("not") if "not" not in m.skip else None
            types = operand.get("type") if isinstance(operand, dict) and operand.keys() == {"type"} else None
            types = [types] if isinstance(types, str) else types
            if isinstance(types, list) and all(t in KIND_OF_TYPE for t in types):
                kinds -= kinds_of_type(types)
        if kinds != {"object"}:
            return not kinds
        required = {n for m in gathered if "required" not in m.skip for n in m.schema.get("required", ())}
        for name in required:
            subs = tuple(Member(m.schema["properties"][name], child(m.pointer, "properties", name), m.chain | {m.pointer})
                         for m in gathered if name in m.schema.get("properties", {}))
            if subs and surely_empty(self._summary(subs, active, 0)):
                return True
        return False

    def _gather(self, m: Member, active: frozenset, out: list) -> bool:
        """Append `m` and what it pulls in via `$ref`/`allOf`; False when one of them is `false`."""
        s = m.schema
        if s is True:
            return True
        if s is False:
            return False
        if "$ref" in s:
            alone = self.doc.ref_alone(s, m.pointer)
            if alone is not s:  # drafts 3 to 7: the keywords beside `$ref` are not part of the schema
                s = alone
                m = Member(s, m.pointer, m.chain, m.skip)
        if id(s) not in self._checked:
            self._check(s, m.pointer)
        out.append(m)
        if len(m.chain) >= MAX_COMPILE_DEPTH:
            raise NestingTooDeepError(f"the $ref/allOf chain at {m.pointer or '/'}", MAX_COMPILE_DEPTH)
        chain = m.chain | {m.pointer}
        for keyword, resolve in (("$ref", self.doc.resolve), ("$dynamicRef", self.doc.resolve_dynamic)):
            if keyword not in s or keyword in m.skip:
                continue
            where = child(m.pointer, keyword)
            target, pointer = resolve(s[keyword], where)
            if pointer in chain:
                raise UnsupportedSchemaError(keyword, where, "reference cycle that never nests a value")
            if pointer in active:  # the schema's other keywords (2019-09 on: `allOf` beside `$ref`) still apply
                out.append(Member(target, pointer, chain, RECURSIVE))
                continue
            if not self._gather(Member(target, pointer, chain), active, out):
                return False
        if "allOf" in s and "allOf" not in m.skip:
            for i, sub in enumerate(s["allOf"]):
                if not self._gather(Member(sub, child(m.pointer, "allOf", i), chain), active, out):
                    return False
        return True

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

    def _is_unconstrained(self, m: Member) -> bool:
        return all(k in kw.ANNOTATIONS or k in m.skip or k in EXPANDED or k not in kw.HANDLED
                   for k in m.schema) and not (
            "if" in m.schema and "if" not in m.skip
        )

    def free_form(self, mode: Mode, pointer: str | None) -> ir.Node:
        """Any JSON value, nested at most `mode.any_depth` levels (an unbounded one needs a stack).

        In check mode, any value of the canonical domain (`_check_any`).
        """
        if mode.names is not None:
            return self._check_any(mode.any_depth, mode.names)
        if pointer is not None:
            self.notes[f"free-form JSON at {pointer or '/'} limited to nesting depth {mode.any_depth}"] = None
        return any_json(mode.any_depth, self.layout.key)

    @staticmethod
    def _inner(mode: Mode) -> Mode:
        """The mode for the values nested in an object or array: check mode
        bounds the absolute depth, so one level less is left."""
        return mode if mode.names is None else mode._replace(any_depth=mode.any_depth - 1)

    # ----------------------------------------------------- combinators, rewrites

    def _transform(self, gathered: list, i: int, keyword: str, active: frozenset, mode: Mode) -> ir.Node:
        m = gathered[i]
        base = [Member(g.schema, g.pointer, g.chain, g.skip | EXPANDED) for g in gathered]
        base[i] = Member(m.schema, m.pointer, m.chain, base[i].skip | {keyword})
        pointer = child(m.pointer, keyword)
        chain = m.chain | {m.pointer}
        if keyword in ("anyOf", "oneOf"):
            union = listed_union(m.schema[keyword], keyword == "oneOf", kw.HANDLED)
            if union is not None:  # branches that only list values: one enum (exact)
                listed = self._synthetic_schema(m, keyword, lambda: {"enum": union})
                return self.conj(tuple(base) + (Member(listed, pointer, chain),), active, mode)
            if keyword == "oneOf":  # branches that only say which names an object holds: by truth table (exact)
                held = self._synthetic_schema(m, "presence", lambda: presence_one_of(m.schema[keyword]))
                if held is not None:
                    return ir.alt(*(self.conj(tuple(base) + (Member(h, pointer, chain),), active, mode) for h in held))
            branches = [(Member(b, child(pointer, j), chain),) for j, b in enumerate(m.schema[keyword])]
        elif keyword == "if":
            grouped = self._if_group(gathered, active, mode)
            if grouped is not None:
                return grouped
            branches = self._if_branches(m, chain)
            if branches is None:
                return self.conj(tuple(base), active, mode)
            self._spend_branches(len(branches), "if", pointer)
        else:
            return self.conj(tuple(base) + tuple(self._dependency_rewrites(m, keyword, chain)), active, mode)
        members = [tuple(base) + b for b in branches]
        if keyword == "oneOf":
            return self._exclusive(members, pointer, active, mode)
        return ir.alt(*(self.conj(b, active, mode) for b in members))

    def _synthetic_schema(self, m: Member, keyword: str, make):
        key = (id(m.schema), keyword)
        if key not in self._synthetic:
            self._synthetic[key] = make()
        return self._synthetic[key]

    def _dependency_rewrites(self, m: Member, keyword: str, chain: frozenset) -> list[Member]:
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
                self._dependencies.add(id(out[-1]))
            return out

        pointer = child(m.pointer, keyword)
        return [Member(s, pointer, chain) for s in self._synthetic_schema(m, keyword, make)]

    # ------------------------------------------------------------------ merge

    def _emit(self, gathered: list, active: frozenset, mode: Mode) -> ir.Node:
        kinds, values = kinds_and_values(gathered)
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
        if excluded and has_refs(node):
            raise UnsupportedSchemaError("not", gathered[0].pointer, "excluded values of a recursive schema")
        if excluded:
            node = ir.intersect(node, ir.complement(ir.alt(*(self.layout.value(v) for v in excluded))))
        return node

    def _values(self, gathered, kinds, values, excluded, active, mode) -> ir.Node:
        """`enum`/`const`: the listed values that satisfy every other keyword, written in the output form
        (in check mode, those of the canonical domain, written in its one text)."""
        excluded_keys = {value_key(x) for x in excluded}
        keep = [v for v in values if kind_of_value(v) in kinds and value_key(v) not in excluded_keys]
        names = self._declared_names(gathered)

        def declared_first(keys):
            return [k for k in names if k in keys] + [k for k in keys if k not in names]

        order, number_text = declared_first, dumps
        if mode.names is not None:  # check mode: only values of the canonical domain, in its one text
            from .numbers import canonical_number_text

            order, number_text = sorted, canonical_number_text
            keep = [v for v in keep if in_check_domain(v, mode.any_depth, set(mode.names))]

        constraining = {
            k for m in gathered for k in m.schema
            if k in kw.HANDLED and k not in ("type", "enum", "const", "not") and k not in m.skip and k not in EXPANDED
        }
        if constraining and keep:
            rest = self._emit_kinds_without_values(gathered, frozenset(kind_of_value(v) for v in keep), active, mode)
            require_regular(rest, "enum", gathered[0].pointer)
            dfa = build_dfa(rest)
            keep = [v for v in keep if dfa.matches(compact_text(v, order, number_text).encode())]
        if mode.names is not None:  # one text per value
            number = lambda n: ir.literal(number_text(n))  # noqa: E731
        elif self.doc.integers_with_fraction:  # every spelling of the value: `-2` and `-2.0`
            number = number_constant_node
        else:  # drafts 3 and 4: `2.0` is no integer, so an integral value is written `2`
            number = lambda n: ir.literal(integer_text(n))  # noqa: E731
        return ir.alt(*(self.layout.value(v, order, number, any_order=mode.names is None) for v in keep))

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
