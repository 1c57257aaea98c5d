"""`oneOf` whose branches only say which property names an object holds, decided by truth table.

A branch made of `required`, `properties` whose values are `false` (or
`true`/`{}`), and `not`/`allOf`/`anyOf`/`oneOf` of such branches holds or
fails a value by which of the names it mentions the value holds (a value
that is no object satisfies every `required` and `properties`). With few
names, every combination of them is tried and the `oneOf` becomes the
alternative of the combinations under which exactly one branch holds, each
an object that holds exactly those of the names (`required` and
`properties: false`), plus the kinds of value other than objects where
exactly one branch holds those. Exact, at the value level: no negation is
distributed and no overlap is decided by automata. TSON says "at most one of
min, minimum, min frequency" as a `oneOf` of three `required` and the `not`
of a `oneOf` of six, twice in one object; negating those took past the
negation budget (`negation.MAX_NEGATION_BRANCHES`).
"""

from __future__ import annotations

from itertools import combinations

from . import keywords as kw

#: Most names the branches may mention together (2**n combinations are tried).
MAX_PRESENCE_NAMES = 6
_MAX_LEVELS = 8
_NOT_OBJECTS = ["null", "boolean", "string", "number", "array"]


def _formula(s, names: set, level: int = 0):
    """A function of the names a value holds (None: not an object) to whether it satisfies `s`;
    None where `s` says anything else (the compiler then takes the oneOf as usual)."""
    if s is True or s is False:
        return lambda present, s=s: s
    if not isinstance(s, dict) or level > _MAX_LEVELS:
        return None
    parts = []
    for key, value in s.items():
        if key in kw.ANNOTATIONS and key not in kw.HANDLED:
            continue
        if key == "required":
            if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
                return None
            needed = frozenset(value)
            names.update(needed)
            parts.append(lambda present, needed=needed: present is None or needed <= present)
        elif key == "properties":
            if not isinstance(value, dict) or not all(v is False or v is True or v == {} for v in value.values()):
                return None
            absent = frozenset(n for n, v in value.items() if v is False)
            names.update(absent)
            parts.append(lambda present, absent=absent: present is None or not absent & present)
        elif key == "not":
            inner = _formula(value, names, level + 1)
            if inner is None:
                return None
            parts.append(lambda present, inner=inner: not inner(present))
        elif key in ("allOf", "anyOf", "oneOf"):
            if not isinstance(value, list) or not value:
                return None
            subs = [_formula(v, names, level + 1) for v in value]
            if any(f is None for f in subs):
                return None
            count = {"allOf": lambda n, t: n == t, "anyOf": lambda n, t: n >= 1, "oneOf": lambda n, t: n == 1}[key]
            parts.append(lambda present, subs=subs, count=count: count(sum(f(present) for f in subs), len(subs)))
        else:  # any other keyword, or a key the compiler would check or count
            return None
    return lambda present: all(f(present) for f in parts)


def presence_one_of(branches: list) -> list[dict] | None:
    """The schemas whose alternative is exactly the `oneOf` of `branches` where each only says
    which names an object holds (see the module docstring); None otherwise, or past
    `MAX_PRESENCE_NAMES` names."""
    names: set = set()
    formulas = [_formula(b, names) for b in branches]
    if any(f is None for f in formulas) or len(names) > MAX_PRESENCE_NAMES:
        return None
    names = sorted(names)
    out = []
    if sum(f(None) for f in formulas) == 1:
        out.append({"type": list(_NOT_OBJECTS)})
    for k in range(len(names) + 1):
        for held in combinations(names, k):
            present = frozenset(held)
            if sum(f(present) for f in formulas) == 1:
                out.append({"type": "object", "required": list(held),
                            "properties": {n: False for n in names if n not in present}})
    return out
