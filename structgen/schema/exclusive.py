"""`oneOf` made exclusive: branch summaries, check mode over the canonical domain, overlap by automata.

The compiler's module docstring says what check mode and its canonical
domain are and why they make text intersection and complement exact. This
mixin of the compiler holds that machinery: cheap summaries that separate
most branches without automata (`_summary`, and `summaries`), the check mode a set
of branches needs (`_check_mode`, `_reachable_names`), the canonical
free-form value (`_check_any`), and `_exclusive` itself. It first takes out
the kinds that two branches accept wholly (JSON Patch's operations say no
`type`, so every string satisfies all of them), then tries each branch with
the negations of the others it may overlap, as they act on that branch's
values (`_negating_the_others`, `_on_values_of`: exact, in the output form;
the only way for branches with recursive references, `_negating_recursive`).
Where deciding overlap in check mode passes `MAX_ONE_OF_CHECK_STATES`, it is
decided again on a domain of shallower values (`_check_modes`); past that too,
the output form keeps to the branches that surely overlap no other (a subset,
noted); check mode refuses. It is apart from the compiler because only `oneOf` with possibly
overlapping branches and the complement of `not` (`negation`) ever enter it.
"""

from __future__ import annotations

from ..automata import ir
from ..automata.dfa import AutomatonTooLargeError, build_dfa
from ..errors import CompileBudgetError, NestingTooDeepError, SchemaTooLargeError, UnsupportedSchemaError
from ..grammar.grammar import has_refs
from .document import child
from .layout import dumps
from .members import MAX_COMPILE_DEPTH, Member, Mode
from .parting import parting_members
from .summaries import Summary, pattern_strings, surely_disjoint
from .values import ALL_KINDS, KIND_OF_TYPE, kind_of_value, kinds_and_values

MAX_ONE_OF_CHECK_STATES = 100_000
#: Most conjunctions the `not`s of overlapping branches may distribute into, all branches together.
MAX_NEGATED_COMBINATIONS = 256
#: Most conjunctions so far whose summaries `_pruned_negations` reads, all branches together.
MAX_PRUNING_STEPS = 4096
SUMMARY_DEPTH = 3  # levels of required properties a branch summary looks into


class ExclusiveMixin:
    """The `oneOf` part of the schema compiler (`compiler._Compiler`)."""

    def _check_any(self, depth: int, names: tuple) -> ir.Node:
        """Any value of check mode's canonical domain nested at most `depth` levels:
        canonical numbers, objects with names from `names` only, in sorted order.

        Raises `AutomatonTooLargeError` past `MAX_ONE_OF_CHECK_STATES` states (it grows as
        the number of names to the power of the depth), which every check language using
        it would exceed too, so as soon as it is known.
        """
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
                self._cache[key] = ir.Automaton(build_dfa(ir.alt(scalars, obj, arr), MAX_ONE_OF_CHECK_STATES))
        return self._cache[key]

    def _exclusive(self, branches: list, pointer: str, active: frozenset, mode: Mode,
                   parted: bool = False) -> ir.Node:
        """`oneOf` of `branches` (member tuples): the union when no value satisfies two branches,
        else each branch minus the others (`parted`: the kinds that two branches accept wholly are
        taken out already). A branch whose output left a part out (`_compiled_whole`) stays live
        even when nothing of it is left: its values still satisfy it, so the others must exclude them."""
        compiled = [self._compiled_whole(b, active, mode) for b in branches]
        nodes = [node for node, _ in compiled]
        live = [i for i, (node, whole) in enumerate(compiled) if node != ir.NOTHING or not whole]
        if len(live) <= 1 and all(compiled[i][1] for i in live):
            return nodes[live[0]] if live else ir.NOTHING
        summaries = [self._summary(branches[i], active) for i in live]
        pairs = [(a, b) for a in range(len(live)) for b in range(a + 1, len(live))]
        undecided = [(a, b) for a, b in pairs if not surely_disjoint(summaries[a], summaries[b])]
        if not undecided:
            return ir.alt(*(nodes[i] for i in live))
        shared = frozenset() if parted else self._wholly_shared_kinds([branches[i] for i in live])
        if shared:
            # Every value of these kinds satisfies two branches: the oneOf holds none of them, and
            # without them the branches may part (a `required` of each is then about objects only).
            kept = [branches[i][:-1] + self._kinds_member(ALL_KINDS - shared, ALL_KINDS, branches[i][-1])
                    + branches[i][-1:] for i in live]
            return self._exclusive(kept, pointer, active, mode, True)
        if any(has_refs(nodes[i]) for i in live):
            return self._negating_recursive(branches, live, summaries, undecided, pointer, active, mode)
        try:
            negated = self._negating_the_others(branches, live, summaries, undecided, pointer, active, mode,
                                                pruned=True)
        except SchemaTooLargeError as error:
            return self._parted(branches, live, summaries, undecided, pointer, active, mode, error)
        if negated is not None:
            return negated
        attempts = self._check_modes(branches, mode)
        for n, (check_mode, formats, domain) in enumerate(attempts, 1):
            try:
                node = self._exclusive_on_domain(branches, live, undecided, pointer, active, check_mode, formats)
                break
            except SchemaTooLargeError as error:  # a check inside these languages, past its budget on this domain
                if n < len(attempts):
                    continue
                return self._parted(branches, live, summaries, undecided, pointer, active, mode, error)
            except AutomatonTooLargeError:
                if n < len(attempts):
                    continue
                error = SchemaTooLargeError("oneOf", pointer,
                                            "deciding whether the branches overlap needs too many states")
                return self._parted(branches, live, summaries, undecided, pointer, active, mode, error)
        if mode.names is None:
            self.notes[f"oneOf at {pointer or '/'}: branches that may overlap made exclusive on canonical values: "
                       + domain] = None
        return node

    def _parted(self, branches: list, live: list, summaries: list, undecided: list, pointer: str,
                active: frozenset, mode: Mode, error: UnsupportedSchemaError) -> ir.Node:
        """`_exclusive` where telling the branches apart needs too large an automaton, or a complement
        of recursive languages (`error` says which): the subset
        `parting` proves exclusive (each branch that may overlap another holds or lacks the
        property names that part it from the others; those of a pair no name parts are left out),
        noted. Raises `error` in check mode (its languages get complemented and may not shrink),
        where no branch is left, and where it is the compilation's own budget (time, memory)."""
        if mode.names is not None or isinstance(error, CompileBudgetError):
            raise error from None
        added, said = parting_members(self, branches, live, summaries, undecided, pointer, active)
        if not added:
            raise error from None
        but = f", but those that {' or '.join(said)}," if said else ""
        self._leave_out(error, f"oneOf at {pointer or '/'}: the values of the branches that may overlap another{but} "
                               f"({error.reason})")
        return ir.alt(*(self.conj(branches[live[k]] + tuple(members), active, mode) for k, members in added.items()))

    def _exclusive_on_domain(self, branches: list, live: list, undecided: list, pointer: str, active: frozenset,
                             check_mode: Mode, formats: bool) -> ir.Node:
        """`_exclusive`'s check: each of the `live` branches minus the others on `check_mode`'s canonical
        domain, or their union where no `undecided` pair overlaps there. Raises `AutomatonTooLargeError`
        past `MAX_ONE_OF_CHECK_STATES`."""
        # Overlap is decided on languages that may only grow; the branches taken away from a
        # branch are complemented, so they are compiled in the opposite mode to it (the
        # complement of a language that may grow may only shrink, and the other way round).
        upper_mode = check_mode._replace(upper=True) if formats else check_mode
        other_mode = check_mode._replace(upper=not check_mode.upper) if formats else check_mode
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
            other = [check_dfa(k, other_mode) for k in range(len(live))]
            lower = [
                ir.intersect(lower[k], ir.complement(ir.alt(*(other[j] for j in range(len(live)) if j != k))))
                for k in range(len(live))
            ]
        dfa = build_dfa(ir.alt(*lower), MAX_ONE_OF_CHECK_STATES)
        if dfa.is_empty:
            self._emptied.append(("oneOf", pointer))
            return ir.NOTHING
        return ir.Automaton(dfa)

    def _wholly_shared_kinds(self, branches: list) -> frozenset:
        """The kinds every value of which satisfies at least two of the oneOf `branches` (their last
        members, the oneOf's own subschemas), by kind profiles (`negation`): a `required` or a
        `properties` of each accepts every value that is not an object."""
        counts: dict[str, int] = {}
        for members in branches:
            every, _ = self._kind_profile(members[-1].schema, members[-1].pointer)
            for kind in every:
                counts[kind] = counts.get(kind, 0) + 1
        return frozenset(kind for kind, n in counts.items() if n >= 2)

    def _negating_recursive(self, branches: list, live: list, summaries: list, undecided: list, pointer: str,
                            active: frozenset, mode: Mode) -> ir.Node:
        """`_negating_the_others` for branches with recursive references, where a grammar holds them
        and check mode has no automaton to complement: exact where every `not` it takes rewrites
        into disjuncts down to what needs no complement (`required: [a]` into `a` absent: the usual
        `oneOf` of required properties); otherwise (in strict mode or not: those `not`s are this
        `oneOf`'s, not the schema's, and ignoring one would let overlapping values through) the
        subset `_parted` keeps, or refused as a whole."""
        refusal = UnsupportedSchemaError("oneOf", pointer, "branches that may overlap and contain recursive "
                                         "references, whose negations need a complement (or more than "
                                         f"{MAX_NEGATED_COMBINATIONS} conjunctions)")
        ignored = len(self.ignored)
        try:  # not pruned: conjunctions left over may each need seconds to refuse a complement
            negated = self._negating_the_others(branches, live, summaries, undecided, pointer, active, mode)
        except SchemaTooLargeError as error:  # a negation past its budget
            return self._parted(branches, live, summaries, undecided, pointer, active, mode, error)
        except UnsupportedSchemaError as e:
            if e.keyword != "not":
                raise
            negated = None
        if negated is None or any(keyword == "not" for keyword, _ in self.ignored[ignored:]):
            return self._parted(branches, live, summaries, undecided, pointer, active, mode, refusal)
        return negated

    def _negating_the_others(self, branches: list, live: list, summaries: list, undecided: list, pointer: str,
                             active: frozenset, mode: Mode, pruned: bool = False) -> ir.Node | None:
        """`oneOf` as each branch and the `not` of every branch it may overlap (`negation`), where
        each of those has disjuncts (`demorgan`): exact, and in the output form rather than on
        the canonical domain. None where one has none, or past `MAX_NEGATED_COMBINATIONS`
        conjunctions (`pruned`: as many as the summaries do not prove empty, `_pruned_negations`):
        then the check mode decides."""
        key = (pointer, mode)  # a oneOf met again (another reference to it): its negations fail again
        if key not in self._negations_too_large:
            try:
                return self._negated_others(branches, live, summaries, undecided, pointer, active, mode, pruned)
            except SchemaTooLargeError as error:
                self._negations_too_large[key] = error
        raise self._negations_too_large[key]

    def _negated_others(self, branches: list, live: list, summaries: list, undecided: list, pointer: str,
                        active: frozenset, mode: Mode, pruned: bool) -> ir.Node | None:
        """`_negating_the_others`, each time."""
        overlapping: dict[int, list[int]] = {k: [] for k in range(len(live))}
        for a, b in undecided:
            overlapping[a].append(b)
            overlapping[b].append(a)
        negated = {}  # (k, j): branch j as it acts on the values of branch k, and its pointer
        work = 0
        for k, others in overlapping.items():
            combinations = 1
            for j in others:
                branch = branches[live[j]][-1]
                negated[k, j] = self._on_values_of(branch.schema, branch.pointer, summaries[k])
                if isinstance(negated[k, j][0], dict):
                    disjuncts = self._disjuncts(*negated[k, j])
                    if disjuncts is None:
                        return None
                    combinations *= max(len(disjuncts), 1)
            work += combinations
        if work > MAX_NEGATED_COMBINATIONS:
            return self._pruned_negations(branches, live, overlapping, negated, pointer, active, mode) if pruned \
                else None
        conjunctions = []
        for k, others in overlapping.items():
            own = branches[live[k]]
            conjunctions.append((own + tuple(Member(self._not_of(negated[k, j][0]), negated[k, j][1], own[-1].chain)
                                             for j in others), set()))
        return self._exclusive_alternative(conjunctions, pointer, active, mode)

    def _exclusive_alternative(self, conjunctions: list, pointer: str, active: frozenset, mode: Mode) -> ir.Node:
        """The alternative of `conjunctions`, each (members, the `not`s they already fail: see
        `negation._negation`'s guard), for the `oneOf` at `pointer`; a negation past its budget
        is this `oneOf`'s."""
        nodes = []
        emptied = len(self._emptied)
        for members, failed in conjunctions:
            failed = failed - self._negating
            self._negating |= failed
            try:
                nodes.append(self.conj(members, active, mode))
            except SchemaTooLargeError as e:  # the branches compiled already: only their negations can be
                if e.keyword != "not":
                    raise
                raise SchemaTooLargeError("oneOf", pointer, f"making the branches exclusive: {e.reason} (the not "
                                          f"of the branch at {e.pointer or '/'})") from None
            finally:
                self._negating -= failed
        # A complement that the canonical domain left empty belongs to this oneOf.
        self._emptied[emptied:] = [("oneOf", pointer)] * (len(self._emptied) > emptied)
        if mode.names is None:
            note = f"oneOf at {pointer or '/'}: branches that may overlap made exclusive by negating the others"
            self.notes[note] = None
        return ir.alt(*nodes)

    def _pruned_negations(self, branches: list, live: list, overlapping: dict, negated: dict, pointer: str,
                          active: frozenset, mode: Mode) -> ir.Node | None:
        """`_negated_others` past `MAX_NEGATED_COMBINATIONS` conjunctions as multiplied: each branch with
        one disjunct of the negation of every branch it may overlap, chosen one branch at a time and
        dropped as soon as the summaries prove the conjunction so far empty (`surely_disjoint` of its
        summary with itself: every fact is a necessary condition, so no value is lost). Under
        `maxProperties: 1` each disjunct "name present" excludes every other name (RoadRunner's
        config: seven open branches, 16 to the power of 6 as multiplied, a few dozen left). Exact,
        in the output form; None (the check mode decides) past the budget still, in conjunctions
        kept or in summaries read (`MAX_PRUNING_STEPS`)."""
        steps, kept = 0, []  # kept: (k, the members of one conjunction)
        for k, others in overlapping.items():
            own = branches[live[k]]
            chain = own[-1].chain
            choices = []
            for j in others:
                operand, where = negated[k, j]
                disjuncts = self._disjuncts(operand, where) if isinstance(operand, dict) else None
                if operand is True or disjuncts == []:
                    choices = None  # branch j holds every value: nothing of branch k is kept
                    break
                if operand is False:
                    continue
                if where in active:  # a recursive operand: `negation` refuses it, as the multiplied form does
                    return None
                choices.append([tuple(Member(d, p, chain | {where}) for d, p in conj) for conj in disjuncts])
            if choices is None:
                continue
            choices.sort(key=len)
            partial = [()]
            for options in choices:
                grown = []
                for done in partial:
                    for option in options:
                        steps += 1
                        if steps > MAX_PRUNING_STEPS:
                            return None
                        summary = self._summary(own + done + option, active)
                        if not surely_disjoint(summary, summary):
                            grown.append(done + option)
                partial = grown
                if len(kept) + len(partial) > MAX_NEGATED_COMBINATIONS:
                    return None
            kept += [(k, done) for done in partial]
        self._spend_branches(len(kept), "oneOf", pointer)
        # every value compiled here fails the negated branches (`negation._negation`'s guard)
        return self._exclusive_alternative(
            [(branches[live[k]] + done, {(id(negated[k, j][0]), active, mode) for j in overlapping[k]})
             for k, done in kept], pointer, active, mode)

    def _looked_through(self, s, pointer: str) -> tuple:
        """(`s`, its pointer), or the schema its `$ref` names where that is all it says (as the
        dialect reads it)."""
        seen = set()
        while isinstance(s, dict) and "$ref" in s and set(self.doc.ref_alone(s, pointer)) == {"$ref"} \
                and id(s) not in seen:  # a cycle of references names no schema
            seen.add(id(s))
            s, pointer = self.doc.resolve(s["$ref"], child(pointer, "$ref"))
        return s, pointer

    def _on_values_of(self, s, pointer: str, own: "Summary") -> tuple:
        """(`s` as it acts on the values of a branch that `own` summarises, its pointer): the
        same verdict on each of them, in fewer disjuncts for `demorgan` to distribute. A `type`
        that all of them have goes; where their objects hold only `own.closed_names`, so do the
        properties of `s`, and an `additionalProperties: false` without patterns becomes `false`
        for each of those names that `s` does not list (the name is present, which `demorgan`
        rewrites, where some name outside the list is present, which it cannot). (A `required`
        name they never hold would have told the branches apart already: `surely_disjoint`.)
        A `$ref` is looked through only where that makes a target with no disjuncts negatable:
        as it is, it counts as one disjunct in `_negating_the_others`' budget, its target as many."""
        target, where = self._looked_through(s, pointer)
        out = self._rewritten(target, own)
        if target is not s:
            after = self._disjuncts(out, where) if out is not target and isinstance(target, dict) else None
            if after is None:
                return s, pointer
            before = self._disjuncts(target, where)
            # the rewrite also where the target's disjuncts need a complement and its own do not
            if before is not None and (not self._complemented(before) or self._complemented(after)):
                return s, pointer
        return out, where

    def _complemented(self, disjuncts: list) -> bool:
        """Does one of `disjuncts` (`demorgan`) negate a group of keywords with no rewrite, which
        `negation` complements in check mode?"""
        return any(len(d) == 1 and id(d[0][0]) in self._negations and isinstance(d[0][0]["not"], dict)
                   and self._disjuncts(d[0][0]["not"], d[0][1]) is None for d in disjuncts)

    def _rewritten(self, s, own: "Summary"):
        """`_on_values_of` for a schema that is no lone `$ref`: `s` itself where nothing changes."""
        if not isinstance(s, dict):
            return s
        out = dict(s)
        if "type" in s and own.kinds <= frozenset().union(*(KIND_OF_TYPE.get(t, ()) for t in (
                [s["type"]] if isinstance(s["type"], str) else s["type"]))):
            del out["type"]
        names = own.closed_names
        apart = own.names_apart(s)
        if apart and (names is None or "patternProperties" in s):
            # no name an object of the branch may hold is one `s` allows: on those objects, `s`'s
            # properties say "no property" (and nothing of the values of the names it lists)
            for key in ("properties", "patternProperties", "additionalProperties"):
                out.pop(key, None)
            out["maxProperties"] = 0
        elif names is not None and "patternProperties" not in s:
            listed = s.get("properties", {})
            kept = {n: v for n, v in listed.items() if n in names}
            if s.get("additionalProperties") is False:
                del out["additionalProperties"]
                kept.update((n, False) for n in sorted(names) if n not in listed)
            if kept != listed:
                out["properties"] = kept
        if out == s:
            return s
        key = ("on values of", id(s), own.kinds, names, apart)
        if key not in self._synthetic:  # kept alive: the caches key on id(schema)
            self._synthetic[key] = out
        return self._synthetic[key]

    def _check_modes(self, branches: list, mode: Mode) -> list[tuple[Mode, bool, str]]:
        """The check modes to try for `branches`, each with `_check_mode`'s `formats` and what a note
        says of its canonical domain: first the domain whose free-form values nest `max_any_depth`
        levels below the branches' own structure, then (its automata past their budget) one whose
        values nest no deeper than that structure. Both are exact on their domain; the second leaves
        deeper values out of the output. Inside check mode the domain is the enclosing one's: one mode."""
        check_mode, formats = self._check_mode(branches, mode)
        text = ("objects list their properties in sorted order and no others, numbers are integers or plain "
                "decimals with at most 15 significant digits")
        attempts = [(check_mode, formats, text)]
        if mode.names is None and self.max_any_depth > 0:
            shallow = check_mode._replace(any_depth=check_mode.any_depth - self.max_any_depth)
            attempts.append((shallow, formats, f"{text}, values nest at most {shallow.any_depth} levels"))
        return attempts

    def _check_mode(self, branches: list, mode: Mode) -> tuple[Mode, bool]:
        """Check mode for `branches` (`mode` itself when it is check mode already), and whether
        a keyword in them compiles to a subset of its language (`format`), so that a language
        that gets complemented needs the opposite `upper` mode."""
        names: set[str] = set()
        depth = 0
        self._saw_format = False
        for members in branches:
            for m in members:
                depth = max(depth, self._reachable_names(m.schema, names, {}))
        if mode.names is not None:
            return mode, self._saw_format
        return Mode(tuple(sorted(names)), self.max_any_depth + depth + 1), self._saw_format

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
            elif key in ("additionalProperties", "items", "additionalItems", "propertyNames", "contains"):
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
            elif key in ("dependentSchemas", "dependentRequired", "dependencies") and isinstance(value, dict):
                names.update(value)  # a dependency's trigger is a name an object may hold
                for sub in value.values():
                    if isinstance(sub, list):  # dependentRequired, or dependencies' array form
                        names.update(n for n in sub if isinstance(n, str))
                    else:
                        depth = max(depth, self._reachable_names(sub, names, seen, level + 1))
        seen[id(s)] = depth
        return depth

    def _summary(self, members: tuple, active: frozenset, depth: int = SUMMARY_DEPTH,
                 gathered: tuple = ()) -> "Summary":
        """Cheap facts about a branch for oneOf (see `Summary`): `members` with those `gathered` already."""
        gathered = list(gathered)
        try:
            for m in members:
                if not self._gather(m, active, gathered):
                    return Summary(self, frozenset(), None, (), active, 0)
        except UnsupportedSchemaError:
            return Summary(self, ALL_KINDS, None, (), active, 0)
        kinds, values = kinds_and_values(gathered)
        if kinds <= {"string"}:  # a pattern that lists its strings (`^(a|b)$`) lists the values
            for m in gathered:
                listed = pattern_strings(m.schema.get("pattern"))
                if listed is not None:
                    values = [v for v in values if v in listed] if values is not None else listed
        if values is not None:
            kinds = frozenset(kind_of_value(v) for v in values) & kinds
        return Summary(self, kinds, values, tuple(gathered), active, depth)


def _value_names(value, names: set) -> int:
    """Add the object keys inside a `const`/`enum` value to `names`; return its nesting depth."""
    if isinstance(value, dict):
        names.update(value)
        return 1 + max((_value_names(v, names) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_value_names(v, names) for v in value), default=0)
    return 0


def in_check_domain(value, depth: int, names: set) -> bool:
    """Is `value` in check mode's canonical domain: nested at most `depth`
    levels, object keys among `names`, numbers with a canonical text?"""
    from .numbers import canonical_number_text

    if isinstance(value, dict):
        return depth > 0 and value.keys() <= names and all(
            in_check_domain(v, depth - 1, names) for v in value.values())
    if isinstance(value, list):
        return depth > 0 and all(in_check_domain(v, depth - 1, names) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return canonical_number_text(value) is not None
    return True
