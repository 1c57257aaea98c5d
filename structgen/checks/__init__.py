"""Checked constraints: what no automaton states exactly, checked at value boundaries instead.

`CheckedConstraint` wraps a compiled constraint (which over-approximates
the schema) with an exact incremental check; today the check is
`uniqueItems` (`structgen.schema.unique` finds the arrays it applies to).
"""

from .constraint import CheckedConstraint

__all__ = ["CheckedConstraint"]
