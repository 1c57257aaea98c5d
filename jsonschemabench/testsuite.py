"""The JSON Schema Test Suite as JSONSchemaBench scores it: one verdict per test case, per category.

A case passes when every valid instance is accepted token by token to an accepting state and every
invalid one is rejected. An engine that cannot compile the case's schema passes only if all of the
case's instances are invalid (refusing is right when nothing is valid). Instances are written in
the compact output form with the schema's property order; an instance the tokenizer cannot spell
exactly is left out of the verdict (and counted).
"""

from __future__ import annotations

from typing import Any

from jsonschemabench.datasets import TEST_SUITE_DRAFTS, TestCase, load_test_suite
from jsonschemabench.instances import dumps, output_form

EXCLUDED_CATEGORIES = frozenset({"format", "refRemote", "vocabulary"})
"""JSONSchemaBench's selection: the core files minus these."""


def select_cases(drafts: list[str] | None = None, categories: list[str] | None = None,
                 all_categories: bool = False) -> list[tuple[int, TestCase]]:
    """(index within its draft, case) for the chosen drafts; the paper's categories unless told otherwise."""
    chosen = []
    for draft in drafts or list(TEST_SUITE_DRAFTS):
        for index, case in enumerate(load_test_suite(draft)):
            if categories is not None and case.category not in categories:
                continue
            if categories is None and not all_categories and case.category in EXCLUDED_CATEGORIES:
                continue
            chosen.append((index, case))
    return chosen


def instance_text(instance: Any, schema: Any) -> str:
    """The instance as a compact JSON text, keys in the order the schema declares them."""
    try:
        return dumps(output_form(instance, schema))
    except Exception:  # an odd schema (unresolvable refs, non-dict parts): plain key order
        return dumps(instance)


def case_verdict(expected_valid: list[bool], compiled: bool, accepted: list[bool | None] | None) -> bool | None:
    """Whether a case passes; None when no instance could be checked (all untokenisable)."""
    if not compiled:
        return not any(expected_valid)
    checked = [(v, a) for v, a in zip(expected_valid, accepted or []) if a is not None]
    if not checked:
        return None
    return all(v == a for v, a in checked)
