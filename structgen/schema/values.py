"""JSON values as JSON Schema compares them: kinds, equality, hashing keys, `type`/`enum`/`const` summaries.

Apart from the compiler because they are plain functions of values (no
automata), shared by the merge step and the `oneOf` summaries.
"""

from __future__ import annotations

import json

from . import keywords as kw

KIND_OF_TYPE = {
    "null": {"null"}, "boolean": {"boolean"}, "object": {"object"}, "array": {"array"},
    "string": {"string"}, "integer": {"integer"}, "number": {"integer", "number"},
}
ALL_KINDS = frozenset({"null", "boolean", "object", "array", "string", "integer", "number"})


def kind_of_value(value) -> str:
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


def json_equal(a, b) -> bool:
    """Equality as JSON Schema defines it (1 == 1.0, but true != 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(json_equal, a, b))
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b
    return type(a) is type(b) and a == b


def value_key(value) -> str:
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


def listed_union(branches: list, exactly_one: bool, handled: frozenset) -> list | None:
    """The values an `anyOf` (or, `exactly_one`, a `oneOf`) of `branches` admits, when every branch
    only lists values (`enum` or `const`, beside keys outside `handled`): the values of any branch,
    or of exactly one. None when a branch says more. One `enum` then stands for the combinator,
    so a conjunction meets it once instead of once per branch."""
    counts: dict[str, int] = {}
    first: dict[str, object] = {}
    for branch in branches:
        keys = [k for k in branch if k in handled] if isinstance(branch, dict) else None
        if keys == ["enum"] and isinstance(branch["enum"], list):
            listed = branch["enum"]
        elif keys == ["const"]:
            listed = [branch["const"]]
        else:
            return None
        keyed = {}
        for v in listed:
            keyed.setdefault(value_key(v), v)
        for key, v in keyed.items():  # a value listed twice in one branch counts once
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, v)
    return [v for key, v in first.items() if not exactly_one or counts[key] == 1]


def kinds_of_type(value) -> frozenset:
    """The kinds a `type` value allows (a name or a list of names, each a key of `KIND_OF_TYPE`)."""
    return frozenset().union(*(KIND_OF_TYPE[t] for t in ([value] if isinstance(value, str) else value)))


def listed_values(s) -> list | None:
    """The values a schema lists where `enum`/`const` is all it constrains (annotations aside);
    None for any other schema."""
    if not isinstance(s, dict):
        return None
    constraining = {k for k in s if k in kw.HANDLED and k not in kw.ANNOTATIONS}
    if not constraining or not constraining <= {"enum", "const"} or not isinstance(s.get("enum", []), list):
        return None
    if "enum" in s and "const" in s:
        return [v for v in s["enum"] if json_equal(v, s["const"])]
    return list(s.get("enum", [])) + ([s["const"]] if "const" in s else [])


def kinds_and_values(gathered) -> tuple[frozenset, list | None]:
    """The kinds every member's `type` allows and the values every `enum`/`const` allows (None: unrestricted)."""
    kinds = ALL_KINDS
    values: dict | None = None
    for m in gathered:
        s = m.schema
        if "type" in s:
            kinds = kinds & kinds_of_type(s["type"])
        for listed in ([s["const"]] if "const" in s else None, s.get("enum")):
            if listed is None:
                continue
            keyed = {}
            for v in listed:
                keyed.setdefault(value_key(v), v)
            values = keyed if values is None else {k: v for k, v in values.items() if k in keyed}
    return frozenset(kinds), None if values is None else list(values.values())
