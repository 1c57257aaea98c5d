"""Recursive references as grammar rules: one per target, or one per conjunction that holds targets.

A mixin of the schema compiler (`compiler._Compiler`). A `$ref` back to a
schema that encloses the current value (a target in `active`) cannot be
expanded again: it becomes a reference to a grammar rule, and the schema
compiles to a grammar (`structgen.grammar`). A target alone is the rule of
its own schema. A target conjoined with anything else (sibling keywords,
`allOf` members, another target) is the rule of the whole conjunction: its
body is the conjunction with the targets expanded, and the references it
meets inside meet again as rules of their own conjunctions. JSON values are
trees and these rules tree automata, closed under intersection: there are
finitely many conjunctions of a document's schemas, so this ends, with
`MAX_RULES` as the bound on how many it may take.
"""

from __future__ import annotations

from ..automata import ir
from ..errors import SchemaTooLargeError
from . import keywords as kw
from .members import EXPANDED, Member, Mode, distinct
from .values import kinds_and_values

MAX_RULES = 1000  # grammar rules of one schema (recursive targets and their conjunctions)


class RulesMixin:
    """The grammar rules of the schema compiler."""

    def _rule_ref(self, gathered: list, recursive: list, mode: Mode) -> ir.Node:
        """A reference to the grammar rule of a conjunction that holds recursive `$ref` targets.

        A target alone (beside references and the `type` it already keeps to) is the target's own
        rule. Anything else is the rule of the whole conjunction: the targets expanded beside the
        other members, whose nested references meet again as the same rule (the product of the
        rules, as tree automata intersect). Each rule is compiled once per conjunction and mode.

        Raises
        ------
        SchemaTooLargeError
            When the conjunctions need more than `MAX_RULES` rules.
        """
        targets = list({m.pointer: m for m in recursive}.values())
        others = [m for m in gathered if not m.recursive and not self._is_unconstrained(m)
                  and not (len(targets) == 1 and self._implied_by(m, targets[0]))]
        body = tuple(distinct([*(Member(t.schema, t.pointer) for t in targets),
                               *(Member(m.schema, m.pointer, frozenset(), m.skip | EXPANDED) for m in others)]))
        key = (frozenset((id(m.schema), m.pointer, m.skip) for m in body), mode)
        name = self._rule_names.get(key)
        if name is None:
            if len(self._rule_names) >= MAX_RULES:
                raise SchemaTooLargeError("$ref", (others or targets)[0].pointer,
                                          "too many conjunctions of recursive references with other constraints")
            name = " & ".join(m.pointer or "#" for m in body)
            if mode != Mode(None, self.max_any_depth):
                name += f" {mode}"
            while name in self.rules:  # the same pointers under other skipped keywords
                name += "'"
            self._rule_names[key] = name
            self._rule_members[name] = body  # keeps the members' schemas alive: the key holds their ids
            self.rules[name] = ir.NOTHING  # placeholder: the body refers back to this rule
            # The body is a value of its own (a nested one): the `not`s being compiled around the
            # reference are about other values, so none of them counts as met again inside it.
            negating, self._negating = self._negating, set()
            try:
                self.rules[name] = self.conj(body, frozenset(), mode)
            finally:
                self._negating = negating
        return ir.ref(name)

    def _drop_rules(self, names: set) -> None:
        """Forget rules (of a conjunction that was refused), so that a later one compiles them afresh."""
        for name in names:
            del self.rules[name]
            self._rule_members.pop(name, None)
        self._rule_names = {key: name for key, name in self._rule_names.items() if name not in names}

    def _implied_by(self, m: Member, target: Member) -> bool:
        """Does `m` only restrict `type`, to kinds the target's own `type` already keeps to?"""
        constraining = [k for k in m.schema if k in kw.HANDLED and k not in kw.ANNOTATIONS
                        and k not in m.skip and k not in EXPANDED]
        return (constraining == ["type"] and "type" in target.schema
                and kinds_and_values([target])[0] <= kinds_and_values([m])[0])
