"""`not`: the values of a conjunction that fail the operand, exactly.

A mixin of the schema compiler (`compiler._Compiler`); `if`/`then`/`else`
reaches it too, through the rewrite that negates the `if` schema. Text and
value part ways (`1.0` is 1, `{"b":1,"a":2}` is `{"a":2,"b":1}`, and the
output form fixes member order and number spellings), so the complement of
a text language would keep texts whose values satisfy the operand. `not` is
therefore taken in three forms, cheapest first:

1. kinds: where the operand accepts every value of some kinds and none of
   the others (`type`, `not: {}`, a double negation, a `oneOf` of types),
   `not` removes the kinds it accepts and leaves the rest as they are.
   `_kind_profile` finds them without automata, looking through `$ref`,
   `allOf`, `anyOf`, `oneOf`, `not` and `if`/`then`/`else`.
2. listed scalars: an operand that only lists strings, booleans and null
   (`enum`/`const`) removes their texts; each of these values has one text
   in the output form.
3. for the kinds on which the operand is neither all nor nothing: its
   disjuncts (`demorgan`: `required` fails where a name is absent,
   `properties` where a value fails one level down, ...), each compiled
   with the conjunction in the output form; and where the operand has no
   such rewrite (a `pattern`, listed numbers, additional properties), its
   complement: the conjunction and the operand are compiled in check mode
   (the canonical domain of the compiler's module docstring, as `oneOf`
   uses it) and the language is the first minus the second. On the domain
   a text is in a check language exactly when its value is valid, so the
   difference holds exactly the canonical texts of the values that satisfy
   the conjunction and fail the operand; those keep to the domain (sorted
   names, no others, canonical numbers). Kinds the operand rejects wholly
   keep every form the conjunction allows.

Complementing turns a language that may shrink into one that may grow. A
`format` compiles to a subset of what its checker accepts, so the operand
of a `not` is compiled in the opposite `upper` mode to the conjunction
(`Mode.upper`): the complement of a superset is a subset. Nested negations
flip it again.

Refused, never relaxed: an operand that holds the value it applies to (a
recursive schema, rewritten down its properties until it meets itself) or
a complement over recursive references (no automaton to complement), both
`UnsupportedSchemaError` naming `not`; a complement past `MAX_NOT_STATES`
states in check mode, or where leaving it out leaves nothing
(`SchemaTooLargeError` naming `not` and the operand's pointer, after a
second try on a domain of shallower values, `exclusive._check_modes`); and what
check mode refuses (float `multipleOf`, ...). In the output form, which is
never complemented, a complement past `MAX_NOT_STATES` is left out instead:
the values it would give are not written (a subset of the valid values,
noted). An operand met again inside its own negation at the same value (a
`$ref` cycle, the same target twice) is already failed by every value
compiled there, and is dropped; a grammar rule's body is another value, so
it starts with no negation in progress (`rules.py`).
"""

from __future__ import annotations

from ..automata import ir
from ..automata.dfa import AutomatonTooLargeError, build_dfa
from ..errors import SchemaTooLargeError
from ..grammar.grammar import has_refs
from . import keywords as kw
from .document import child
from .members import EXPANDED, MAX_COMPILE_DEPTH, Member, Mode
from .values import ALL_KINDS, kind_of_value, kinds_and_values, kinds_of_type, listed_values

#: Most states of the automaton of one complemented `not` (and of the check languages on the way).
MAX_NOT_STATES = 100_000
#: Most conjunctions that `not` and `if` may distribute into, over one whole schema: each
#: `if` doubles the conjunctions after it and each rewritten `not` multiplies them, so a
#: chain of them is refused by name before it runs for minutes.
MAX_NEGATION_BRANCHES = 4096
_RECURSIVE = ("the operand holds recursive references (or the value it applies to does), whose language has "
              "no automaton to complement")

_NONE = frozenset()
_OF_KEYWORD = {
    **dict.fromkeys(kw.STRING_KEYWORDS, frozenset({"string"})),
    **dict.fromkeys(kw.NUMBER_KEYWORDS, frozenset({"integer", "number"})),
    **dict.fromkeys((*kw.OBJECT_KEYWORDS, "dependentRequired", "dependentSchemas", "dependencies"),
                    frozenset({"object"})),
    **dict.fromkeys(kw.ARRAY_KEYWORDS, frozenset({"array"})),
}


class NegationMixin:
    """The `not` part of the schema compiler."""

    # ------------------------------------------------------------ the forms

    def _negated_pointer(self, m: Member) -> str:
        """The pointer of `m`'s `not` operand (that of `m` itself for a synthetic `not`)."""
        return m.pointer if id(m.schema) in self._negations else child(m.pointer, "not")

    def _needs_negation(self, m: Member, kinds: frozenset) -> bool:
        """Does `m`'s `not` need form 3 (`_negation`: disjuncts or complement) for some of `kinds`?"""
        sub = m.schema["not"]
        if _listed_scalars(sub) is not None:
            return False
        every, nothing = self._kind_profile(sub, self._negated_pointer(m))
        return bool(kinds - every - nothing)

    def _apply_not(self, m: Member, kinds: frozenset, excluded: list) -> frozenset | None:
        """Kinds left after a `not` of forms 1 and 2 (None when nothing is left); listed
        scalars go to `excluded`. The conjunction took the complement of the others already."""
        sub = m.schema["not"]
        listed = _listed_scalars(sub)
        if listed is not None:
            excluded.extend(listed)
            return kinds
        every, _ = self._kind_profile(sub, self._negated_pointer(m))
        return frozenset(kinds - every) or None

    def _negation(self, gathered: list, i: int, active: frozenset, mode: Mode) -> ir.Node:
        """The conjunction `gathered` whose member `i` holds a `not` that needs form 3: the kinds
        the operand rejects wholly as they are; for the others, the operand's disjuncts
        (`demorgan`) or, where it has none, its complement in check mode."""
        m = gathered[i]
        pointer = self._negated_pointer(m)
        operand = m.schema["not"]
        base = [Member(g.schema, g.pointer, g.chain, g.skip | EXPANDED) for g in gathered]
        base[i] = Member(m.schema, m.pointer, m.chain, base[i].skip | {"not"})
        if pointer in active:  # the operand holds the value it applies to: a recursive schema
            self.unsupported("not", pointer, _RECURSIVE)
            return self.conj(tuple(base), active, mode)
        negating = (id(operand), active, mode)
        if negating in self._negating:
            # Met again inside its own negation at this value (the same `$ref` target twice, or a
            # `$ref` cycle): every value compiled there already fails the operand.
            return self.conj(tuple(base), active, mode)
        self._negating.add(negating)
        try:
            return self._negated(m, base, gathered, pointer, active, mode)
        finally:
            self._negating.discard(negating)

    def _negated(self, m: Member, base: list, gathered: list, pointer: str, active: frozenset, mode: Mode) -> ir.Node:
        kinds, values = kinds_and_values(gathered)
        if values is not None:
            kinds &= frozenset(kind_of_value(v) for v in values)
        every, nothing = self._kind_profile(m.schema["not"], pointer)
        kept, mixed = kinds & nothing, kinds - every - nothing
        options = []
        if kept:
            options.append(self.conj(tuple(base) + self._kinds_member(kept, kinds, m), active, mode))
        restricted = tuple(base) + self._kinds_member(mixed, kinds, m)
        chain = m.chain | {m.pointer}
        disjuncts = self._disjuncts(m.schema["not"], pointer)
        self._spend_branches(len(disjuncts or ()), "not", pointer)
        if disjuncts is None:
            options.append(self._complement(restricted, mixed, Member(m.schema["not"], pointer, chain), active, mode))
        else:
            options += [self.conj(restricted + tuple(Member(s, p, chain) for s, p in d), active, mode)
                        for d in disjuncts]
        return ir.alt(*options)

    def _spend_branches(self, n: int, keyword: str, pointer: str) -> None:
        """Count `n` conjunctions distributed by `keyword`; `SchemaTooLargeError` past
        `MAX_NEGATION_BRANCHES` in the whole schema."""
        self._negation_branches += n
        if self._negation_branches > MAX_NEGATION_BRANCHES:
            raise SchemaTooLargeError(keyword, pointer, "too many combinations of if/then/else and not branches")

    def _kinds_member(self, part: frozenset, kinds: frozenset, m: Member) -> tuple:
        """A synthetic member that keeps a conjunction of `kinds` to `part` (none when they agree)."""
        if part == kinds:
            return ()
        types = [t for t in ("null", "boolean", "string", "object", "array") if t in part]
        number = {"integer", "number"} & part
        types += ["number"] if len(number) == 2 else sorted(number)
        key = ("kinds", part)
        if key not in self._synthetic:  # kept alive: the caches key on id(schema)
            s = {"type": types}
            if number == {"number"}:  # numbers that are not integers
                s["not"] = {"type": "integer"}
            self._synthetic[key] = s
        return (Member(self._synthetic[key], m.pointer, m.chain),)

    def _complement(self, members: tuple, kinds: frozenset, operand: Member, active: frozenset, mode: Mode) -> ir.Node:
        """The values of `members` (all of `kinds`) that fail `operand`, over check mode's canonical
        domain. The operand is compiled for `kinds` only: what it holds of other kinds (every object,
        for a `pattern` without `type`) could only grow the automaton."""
        pointer = operand.pointer
        attempts = self._check_modes([members, (operand,)], mode)
        for n, (check_mode, formats, domain) in enumerate(attempts, 1):
            operand_mode = check_mode._replace(upper=not check_mode.upper) if formats else check_mode
            rules, cached = set(self.rules), set(self._cache)

            def forget():  # no rule of a refused complement stays behind, nor a language that calls one
                self._drop_rules(set(self.rules) - rules)
                for key in set(self._cache) - cached:
                    del self._cache[key]

            try:
                kept = self.conj(members, active, check_mode)
                removed = self.conj((operand,) + self._kinds_member(kinds, ALL_KINDS, operand), active, operand_mode)
                if has_refs(kept) or has_refs(removed):
                    forget()
                    if n > 1:  # the first domain was too large, and this one has no automaton to complement
                        raise AutomatonTooLargeError("a complement over recursive references")
                    self.unsupported("not", pointer, _RECURSIVE)
                    return self.conj(members, active, mode)
                dfa = build_dfa(ir.intersect(kept, ir.complement(removed)), MAX_NOT_STATES)
                break
            except SchemaTooLargeError:  # a check inside these languages, past its budget on this domain
                if n < len(attempts):
                    forget()
                    continue
                raise
            except AutomatonTooLargeError:
                if n < len(attempts):
                    forget()
                    continue
                error = SchemaTooLargeError("not", pointer, "the complement of the operand needs too many states")
                if mode.names is not None:  # check mode: this language may be complemented, so it may not shrink
                    raise error from None
                self._leave_out(error, f"not at {pointer or '/'}: the values that fail it where only a complement "
                                       "tells them apart need too large an automaton")
                return ir.NOTHING
        if dfa.is_empty:
            self._emptied.append(("not", pointer))
            return ir.NOTHING
        if mode.names is None:
            self.notes[f"not at {pointer or '/'}: the values that fail it are written on canonical values: "
                       + domain] = None
        return ir.Automaton(dfa)

    # ------------------------------------------------------------ kind profiles

    def _kind_profile(self, s, pointer: str, path: frozenset = frozenset()) -> tuple[frozenset, frozenset]:
        """(the kinds every value of which satisfies `s`, the kinds no value of which does).

        Without automata, and conservative: a kind in neither set may be
        partly accepted. `path` holds the schemas being looked through, so a
        `$ref` cycle answers "unknown" (neither set) instead of looping.
        Checks the keywords of every schema object it reads, as compiling
        them would.
        """
        if s is True:
            return ALL_KINDS, _NONE
        if s is False:
            return _NONE, ALL_KINDS
        s = self.doc.ref_alone(s, pointer)  # drafts 3 to 7: the keywords beside `$ref` are not part of it
        if id(s) in path or len(path) >= MAX_COMPILE_DEPTH:
            return _NONE, _NONE
        key = ("kind profile", id(s))  # a profile cut short by a cycle is only less precise: kept too
        if key not in self._cache:
            self._cache[key] = self._walk_profile(s, pointer, path | {id(s)})
        return self._cache[key]

    def _walk_profile(self, s: dict, pointer: str, path: frozenset) -> tuple[frozenset, frozenset]:
        if id(s) not in self._checked:
            self._check(s, pointer)
        every, nothing = ALL_KINDS, _NONE
        for key, value in s.items():
            if key in kw.ANNOTATIONS or key not in kw.HANDLED:
                continue
            where = child(pointer, key)
            if key == "type":
                allowed = kinds_of_type(value)
                part = allowed, ALL_KINDS - allowed
            elif key in ("enum", "const"):
                part = _listed_profile([value] if key == "const" else value)
            elif key in _OF_KEYWORD:
                part = ALL_KINDS - _OF_KEYWORD[key], _NONE
            elif key == "$ref":
                part = self._kind_profile(*self.doc.resolve(value, where), path)
            elif key in ("allOf", "anyOf", "oneOf"):
                part = _combined(key, [self._kind_profile(x, child(where, j), path) for j, x in enumerate(value)])
            elif key == "not":
                part = self._kind_profile(value, where, path)[::-1]
            elif key == "if":
                part = self._if_profile(s, pointer, path)
            else:  # a keyword this table does not know: nothing is known of it
                part = _NONE, _NONE
            every, nothing = every & part[0], nothing | part[1]
        return every - nothing, nothing

    def _if_profile(self, s: dict, pointer: str, path: frozenset) -> tuple[frozenset, frozenset]:
        """The profile of `if`/`then`/`else`: per kind, the branch that the `if` decides,
        or what both branches agree on."""
        if "then" not in s and "else" not in s:
            return ALL_KINDS, _NONE
        c_all, c_none = self._kind_profile(s["if"], child(pointer, "if"), path)
        t_all, t_none = self._kind_profile(s.get("then", True), child(pointer, "then"), path)
        e_all, e_none = self._kind_profile(s.get("else", True), child(pointer, "else"), path)
        every = (c_all & t_all) | (c_none & e_all) | (t_all & e_all)
        nothing = (c_all & t_none) | (c_none & e_none) | (t_none & e_none)
        return every, nothing


def _combined(keyword: str, parts: list) -> tuple[frozenset, frozenset]:
    """The profile of `allOf`/`anyOf`/`oneOf` from the profiles of its branches."""
    alls, nones = [p[0] for p in parts], [p[1] for p in parts]
    if keyword == "allOf":
        return frozenset(ALL_KINDS).intersection(*alls), frozenset().union(*nones)
    nothing = frozenset(ALL_KINDS).intersection(*nones)
    if keyword == "anyOf":
        return frozenset().union(*alls), nothing
    # oneOf: a kind that one branch accepts wholly and every other rejects wholly
    every = frozenset().union(*(
        alls[i].intersection(*(nones[j] for j in range(len(parts)) if j != i)) for i in range(len(parts))
    ))
    return every, nothing


def _listed_profile(listed: list) -> tuple[frozenset, frozenset]:
    """The profile of `enum`/`const`: the kinds of no listed value are rejected; null, and
    boolean when both are listed, are accepted wholly."""
    present = frozenset(kind_of_value(v) for v in listed)
    every = set()
    if any(v is None for v in listed):
        every.add("null")
    if any(v is True for v in listed) and any(v is False for v in listed):
        every.add("boolean")
    return frozenset(every), ALL_KINDS - present


def _listed_scalars(sub) -> list | None:
    """The values of an operand that only lists strings, booleans and null (`enum`/`const`);
    None for any other operand."""
    values = listed_values(sub)
    if values is not None and all(isinstance(v, (str, bool)) or v is None for v in values):
        return values
    return None
