"""`if`/`then`/`else` distributed into alternatives, one at a time or as a discriminated group.

One `if` is (condition and `then`) or (condition fails and `else`): two
alternatives, the second of them the few conjunctions the failing condition
rewrites into (`demorgan`). A conjunction with many `if`s, one per value of
a discriminating property (`"if": {"properties": {"type": {"const":
"aws.ec2.Vpc"}}}`, 125 of them in an `allOf` in Cloudify's blueprints),
distributed one at a time, nests one conjunction deeper per `if` (each
"fails" alternative holds the next `if`) and spends a few conjunctions per
pair of them. Where the conjunction's summaries prove that no two of the
conditions can hold together, the group distributes at once into one
alternative per condition and one where none holds:

    (C_k and then_k and else_j for every j != k), for each k,
    (C_1 fails and else_1 and ... and C_n fails and else_n).

Exact: a value of the conjunction satisfies at most one condition; if C_k,
every other condition fails, so their `if`s ask for their `else`s alone;
if none, every `if` asks for its `else`.

Dependencies ("if `a` is present, then ...") distribute as `a` absent or
`a` present and the rest, two alternatives each. Where one object has more
of them than the distribution budget allows (MongoDB Atlas' index fields:
twenty names, each allowed with some values of `type`), the output form
keeps the objects without the last names instead (a noted subset), rather
than refusing the schema.
"""

from __future__ import annotations

import itertools
import math

from ..automata import ir
from ..errors import SchemaTooLargeError
from .document import child
from .members import EXPANDED, Member, Mode
from .summaries import surely_disjoint
from .values import value_key

#: Most conjunctions the values failing an `if` are distributed into (more: one `not` instead).
MAX_IF_DISJUNCTS = 3
#: The fewest `if`s in one conjunction worth testing as a group (fewer cost no more one at a time).
MIN_IF_GROUP = 3
#: Most conjunctions the "no condition holds" alternative of a group distributes into.
MAX_NONE_HOLDS = 64


class ConditionsMixin:
    """`if`/`then`/`else` as alternatives of member tuples, for the compiler's `_transform`."""

    def _if_branches(self, m: Member, chain: frozenset) -> list[tuple] | None:
        """`if`/`then`/`else` as alternatives of member tuples, without loss: (if and then) or
        (not-if and else), which is `if` or `else` when `then` is absent (no negation needed).
        The branch with `then` keeps the condition, so that a chain of `if`s on one property
        meets contradictions early (`_surely_empty`). None for an `if` alone, which constrains
        nothing."""
        s = m.schema
        if "then" not in s and "else" not in s:
            return None
        condition = Member(s["if"], child(m.pointer, "if"), chain)
        then = Member(s.get("then", True), child(m.pointer, "then"), chain)
        otherwise = Member(s.get("else", True), child(m.pointer, "else"), chain)
        if "then" not in s:
            return [(condition,), (otherwise,)]
        # not-if as the few conjunctions it rewrites into (`demorgan`: the discriminating property
        # present with another value, ...), whose facts `_surely_empty` reads; else as one `not`
        failing = self._failing(m, chain)
        if "else" not in s:
            return [(condition, then)] + failing  # not-if or then, with the condition kept
        return [(condition, then)] + [conj + (otherwise,) for conj in failing]

    def _failing(self, m: Member, chain: frozenset) -> list[tuple]:
        """The values that fail `m`'s condition, as alternatives of member tuples."""
        at = child(m.pointer, "if")
        disjuncts = self._disjuncts(m.schema["if"], at)
        if disjuncts is not None and len(disjuncts) <= MAX_IF_DISJUNCTS:
            return [tuple(Member(d, p, chain) for d, p in conj) for conj in disjuncts]
        return [(Member(self._not_of(m.schema["if"]), at, chain),)]

    def _fewer_dependencies(self, gathered: list, combinations: int, most: int, mode: Mode,
                            error: SchemaTooLargeError) -> list:
        """`gathered`, whose `anyOf`s distribute into `combinations` conjunctions, past `most`:
        in the output form, the last dependencies' names forbidden (their "absent" alternative)
        until it fits, noted as left out (module docstring). Raises `error` in check mode (its
        languages are complemented and may not shrink) or when that does not fit."""
        if mode.names is not None:
            raise error
        out, names = list(gathered), []
        for i in reversed(range(len(out))):
            m = out[i]
            if combinations <= most:
                break
            if id(m.schema) in self._dependencies and "anyOf" not in m.skip:
                absent = m.schema["anyOf"][0]
                out[i] = Member(absent, m.pointer, m.chain)
                names += list(absent["properties"])
                combinations //= len(m.schema["anyOf"])
        if combinations > most:
            raise error
        self._leave_out(error, f"dependencies at {gathered[0].pointer or '/'}: the objects that hold "
                               f"{', '.join(repr(n) for n in reversed(names))} ({error.reason})")
        return out

    def _if_group(self, gathered: list, active: frozenset, mode: Mode) -> ir.Node | None:
        """The conjunction `gathered` with its `if`s distributed as one group (module docstring);
        None when there are too few of them, two conditions may hold together as far as the
        summaries tell, or the "none holds" alternative would distribute into too many. `if`s
        with the same condition count as one, with their `then`s (and `else`s) together."""
        at = [i for i, m in enumerate(gathered)
              if "if" in m.schema and "if" not in m.skip and ("then" in m.schema or "else" in m.schema)]
        if len(at) < MIN_IF_GROUP:
            return None
        base = tuple(Member(g.schema, g.pointer, g.chain, g.skip | EXPANDED | ({"if"} if i in at else set()))
                     for i, g in enumerate(gathered))
        ifs = [gathered[i] for i in at]
        clusters: dict = {}  # condition -> the `if`s that have it, in order
        for m in ifs:
            clusters.setdefault(_condition_key(m), []).append(m)
        group = list(clusters.values())
        if len(group) < 2:
            return None
        conditions = [Member(g[0].schema["if"], child(g[0].pointer, "if"), g[0].chain | {g[0].pointer}) for g in group]
        summaries = [self._summary((c,), active, gathered=base) for c in conditions]
        if not all(surely_disjoint(a, b) for a, b in itertools.combinations(summaries, 2)):
            return None
        failing = [self._failing(g[0], c.chain) for g, c in zip(group, conditions)]
        if math.prod(len(f) for f in failing) > MAX_NONE_HOLDS:
            return None
        # the members each alternative adds, in the order of the `if`s (the output form writes the
        # properties of a conjunction in the order its members declare them, as one at a time does)
        cluster = {id(m): k for k, g in enumerate(group) for m in g}
        options = []
        for k in range(len(group)):
            added = []
            for m in ifs:
                if cluster[id(m)] != k:
                    added += _parts(m, "else")
                else:
                    added += ([conditions[k]] if m is group[k][0] else []) + _parts(m, "then")
            options.append(base + tuple(added))
        for combination in itertools.product(*failing):
            added = []
            for m in ifs:
                k = cluster[id(m)]
                added += (list(combination[k]) if m is group[k][0] else []) + _parts(m, "else")
            options.append(base + tuple(added))
        self._spend_branches(len(options), "if", child(group[0][0].pointer, "if"))
        return ir.alt(*(self.conj(o, active, mode) for o in options))


def _parts(m: Member, keyword: str) -> list[Member]:
    """`m`'s `then` or `else` as a member, where it has one."""
    return [Member(m.schema[keyword], child(m.pointer, keyword), m.chain | {m.pointer})] if keyword in m.schema else []


def _condition_key(m: Member):
    """Equal for `if`s whose conditions are the same JSON, where no reference inside them could
    resolve differently from where each stands; else the `if`'s own identity."""
    condition = m.schema["if"]
    text = value_key(condition)
    if any(f'"{k}"' in text for k in ("$ref", "$dynamicRef", "$recursiveRef")):
        return id(m.schema)
    return text
