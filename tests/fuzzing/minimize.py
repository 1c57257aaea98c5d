"""Greedy shrinking of a failing schema (and its text) to a minimal reproduction.

Why not hypothesis's shrinker: the campaign tallies thousands of inputs
without raising, and a finding must be reproducible from (schema, text)
alone. Deleting keys, list entries and subschemas one at a time while the
failure persists gives a one-line reproduction in a few dozen compiles.
"""

from __future__ import annotations

import json


def _smaller(node):
    """Candidate schemas one deletion smaller than `node` (any depth)."""
    if isinstance(node, dict):
        for k in list(node):
            yield {x: v for x, v in node.items() if x != k}
        for k, v in node.items():
            if isinstance(v, (dict, list)) and v:
                if isinstance(v, dict):
                    yield {**node, k: {}}
                for w in _smaller(v):
                    yield {**node, k: w}
    elif isinstance(node, list):
        for i in range(len(node)):
            if len(node) > 1:
                yield node[:i] + node[i + 1:]
            for w in _smaller(node[i]):
                yield node[:i] + [w] + node[i + 1:]


def shrink_schema(schema, still_fails, max_tries: int = 300):
    """The smallest schema found by greedy deletions for which `still_fails(schema)` stays true."""
    tries = 0
    progress = True
    while progress and tries < max_tries:
        progress = False
        for candidate in _smaller(schema):
            tries += 1
            if tries > max_tries:
                break
            if len(json.dumps(candidate)) < len(json.dumps(schema)) and _safe(still_fails, candidate):
                schema, progress = candidate, True
                break
    return schema


def _safe(predicate, arg) -> bool:
    try:
        return bool(predicate(arg))
    except Exception:  # noqa: BLE001 - a candidate that breaks differently is not the same failure
        return False


def keywords(schema) -> list[str]:
    """The keywords a (minimized) schema uses: the label of a refusal's cause."""
    out: set[str] = set()

    def visit(node, key_is_schema_map=False):
        if isinstance(node, dict):
            for k, v in node.items():
                if not key_is_schema_map:
                    out.add(k)
                if key_is_schema_map or k not in ("const", "enum", "required", "dependentRequired"):
                    maps = k in ("properties", "patternProperties", "$defs", "dependentSchemas")
                    visit(v, maps and not key_is_schema_map)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(schema)
    return sorted(out - {"$defs"})
