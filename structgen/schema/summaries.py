"""Cheap facts about a `oneOf` branch, and the disjointness they prove without automata.

A `Summary` holds what a branch allows as far as it can be read off its
keywords: kinds, listed values, values its `not` lists, required properties
and property counts, and (looked up on demand, a few levels down) what it
asks of a property's value and the alternatives of its first `anyOf`/`oneOf`.
`surely_disjoint` tells two branches apart from their summaries alone; it
only ever answers "disjoint" when no value can satisfy both (every fact is
a necessary condition of the branch), so a wrong "maybe" costs an automaton
check (`exclusive`), never soundness. Apart from `exclusive` because it needs
no automata and is read on its own.
"""

from __future__ import annotations

import functools
import math
import re

from .document import child
from .members import EXPANDED, RECURSIVE, Member
from .values import json_equal, kind_of_value, listed_values


class Summary:
    """What a branch allows, known without automata: its kinds, its allowed values (None:
    unrestricted), the properties it requires and how many it may hold, and (looked up on demand,
    `depth` levels down) what it asks of a property's value when the property is present and
    the alternatives of its first `anyOf`/`oneOf`."""

    def __init__(self, compiler, kinds: frozenset, values, gathered: tuple, active: frozenset, depth: int):
        self.kinds, self.values, self.depth = kinds, values, depth
        self._compiler, self._gathered, self._active = compiler, gathered, active
        self.required = frozenset(n for m in gathered for n in m.schema.get("required", ()))
        self.min_properties = max([len(self.required)] + [_count(m.schema.get("minProperties"), 0) for m in gathered])
        self.max_properties = min(_count(m.schema.get("maxProperties"), math.inf) for m in gathered) if gathered \
            else math.inf
        self.min_items = max([0] + [_count(m.schema.get("minItems"), 0) for m in gathered])
        self.max_items = min([math.inf] + [_count(m.schema.get("maxItems"), math.inf) for m in gathered])
        self._props: dict[str, Summary | None] = {}
        self._alternatives: list | None = None
        closed = [frozenset(m.schema.get("properties", {})) for m in gathered
                  if m.schema.get("additionalProperties") is False and "patternProperties" not in m.schema
                  and "additionalProperties" not in m.skip]
        #: The names an object of the branch may hold (None: any).
        self.closed_names = frozenset.intersection(*closed) if closed else None
        #: The schemas (by id) every value of the branch satisfies, and those it fails (`not`).
        self.satisfied = frozenset(id(m.schema) for m in gathered if m.skip <= EXPANDED | RECURSIVE)
        self.failed = frozenset(id(compiler._looked_through(m.schema["not"], m.pointer)[0]) for m in gathered
                                if "not" in m.schema and "not" not in m.skip)
        #: Values the branch excludes by a `not` that lists them (`not: {enum: [...]}`, `not: {const: x}`).
        self.excluded = [v for m in gathered if "not" not in m.skip for v in listed_values(m.schema.get("not")) or ()]
        #: The patterns every string of the branch matches, and what they start with where anchored
        #: (`^pkg:npm/.+` -> `pkg:npm/`).
        self.patterns = [m.schema["pattern"] for m in gathered if isinstance(m.schema.get("pattern"), str)]
        self.prefixes = [p for pattern in self.patterns if (p := pattern_prefix(pattern))]
        #: The property names the branch lists or requires.
        self.listed_names = frozenset(n for m in gathered for n in (*m.schema.get("properties", {}), *self.required)
                                      if isinstance(n, str))

    @functools.cached_property
    def allowed_names(self) -> "tuple[frozenset, tuple] | None":
        """(names, prefixes): every property name an object of the branch may hold is one of
        `names` or starts with one of `prefixes`, read off one member that is closed
        (`additionalProperties: false`) and whose patterns are all anchored with a literal prefix
        (`pattern_prefix`); None where no member is."""
        for m in self._gathered:
            if m.schema.get("additionalProperties") is not False or "additionalProperties" in m.skip:
                continue
            prefixes = tuple(pattern_prefix(p) for p in m.schema.get("patternProperties", {}))
            if None not in prefixes:
                return frozenset(m.schema.get("properties", {})), prefixes
        return None

    def names_apart(self, s) -> bool:
        """Does the schema `s` forbid every property name an object of the branch may hold
        (`allowed_names`): `s` is closed, its patterns anchored with literal prefixes, and no name
        or prefix of the branch's agrees with one of its own?"""
        mine = self.allowed_names
        if mine is None or "object" not in self.kinds or not isinstance(s, dict) \
                or s.get("additionalProperties") is not False:
            return False
        listed = frozenset(s.get("properties", {}))
        prefixes = [pattern_prefix(p) for p in s.get("patternProperties", {})]
        if None in prefixes:
            return False
        names, starts = mine
        return (not names & listed and not any(n.startswith(q) for n in names for q in prefixes)
                and not any(n.startswith(p) for n in listed for p in starts)
                and not any(p.startswith(q) or q.startswith(p) for p in starts for q in prefixes))

    def prop(self, name: str) -> "Summary | None":
        """The summary of `name`'s value when present; None when unknown or unrestricted. It is
        what `properties` and the `patternProperties` whose patterns surely match the name ask of
        it; where no pattern may match, `additionalProperties` instead, and a `false` there forbids
        the name (a summary with no kinds). A pattern the compiler cannot read settles nothing."""
        if name not in self._props:
            subs, forbidden = [], False
            for m in self._gathered:
                chain = m.chain | {m.pointer}
                listed = m.schema.get("properties", {})
                patterns = m.schema.get("patternProperties", {})
                verdicts = {p: _pattern_verdict(p, name) for p in patterns}
                if name in listed:
                    subs.append(Member(listed[name], child(m.pointer, "properties", name), chain))
                subs += [Member(patterns[p], child(m.pointer, "patternProperties", p), chain)
                         for p, matched in verdicts.items() if matched]
                if name in listed or any(v is not False for v in verdicts.values()):
                    continue  # `additionalProperties` does not apply, or may not
                additional = m.schema.get("additionalProperties")
                if additional is False:
                    forbidden = True
                elif isinstance(additional, dict):
                    subs.append(Member(additional, child(m.pointer, "additionalProperties"), chain))
            if forbidden:
                self._props[name] = Summary(self._compiler, frozenset(), None, (), self._active, 0)
            else:
                self._props[name] = (self._compiler._summary(tuple(subs), self._active, self.depth - 1)
                                     if subs and self.depth > 0 else None)
        return self._props[name]

    @functools.cached_property
    def item(self) -> "Summary | None":
        """The summary of every item of an array; None when unknown (an `items` list, `prefixItems`)
        or unrestricted."""
        subs = []
        for m in self._gathered:
            items = m.schema.get("items", True)
            if isinstance(items, list) or "prefixItems" in m.schema:
                return None
            if items is not True:
                subs.append(Member(items, child(m.pointer, "items"), m.chain | {m.pointer}))
        return self._compiler._summary(tuple(subs), self._active, self.depth - 1) if subs and self.depth > 0 else None

    def alternatives(self) -> list:
        """The summaries of the branch with each alternative of its first `anyOf`/`oneOf` (a value
        of the branch is a value of one of them); none when it has no such keyword or depth is spent."""
        if self._alternatives is None:
            self._alternatives = []
            for i, m in enumerate(self._gathered if self.depth > 0 else ()):
                keyword = next((k for k in ("anyOf", "oneOf") if k in m.schema and k not in m.skip), None)
                if keyword is None:
                    continue
                rest = self._gathered[:i] + (Member(m.schema, m.pointer, m.chain, m.skip | {keyword}),) \
                    + self._gathered[i + 1:]
                chain = m.chain | {m.pointer}
                self._alternatives = [
                    self._compiler._summary((Member(sub, child(m.pointer, keyword, j), chain),), self._active,
                                            self.depth - 1, rest)
                    for j, sub in enumerate(m.schema[keyword])]
                break
        return self._alternatives


_LISTING_PATTERN = re.compile(r"\^\(?((?:[A-Za-z0-9_ -]+\|)*[A-Za-z0-9_ -]+)\)?\$")


def pattern_strings(pattern) -> list | None:
    """The strings a `pattern` that only lists them matches (`^success$`, `^(get|put)$`), each
    also with a final newline (Python's `$` matches before one; ECMA's does not); None for any
    other pattern."""
    found = _LISTING_PATTERN.fullmatch(pattern) if isinstance(pattern, str) else None
    grouped = found is not None and pattern[1] == "("
    if found is None or grouped != (pattern[-2] == ")") or ("|" in pattern and not grouped):  # ^a|b$: a... or ...b
        return None
    return [v + end for v in found.group(1).split("|") for end in ("", "\n")]


_SYNTAX = frozenset("\\^$.|?*+()[]{}")


def pattern_prefix(pattern) -> str | None:
    """The text every string that `pattern` matches starts with: the literal characters after a
    leading `^` (`^pkg:npm/.+` -> `pkg:npm/`; an escaped punctuation character is literal, and
    one a `*`, `?` or `{` may repeat zero times does not count); None where the pattern is not
    anchored at its start or has a `|` anywhere (which may end the anchored alternative)."""
    if not isinstance(pattern, str) or not pattern.startswith("^") or "|" in pattern:
        return None
    literal, i = [], 1
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            literal.append(pattern[i + 1])
            i += 2
        elif pattern[i] not in _SYNTAX:
            literal.append(pattern[i])
            i += 1
        else:
            break
    if literal and pattern[i:i + 1] in ("*", "?", "{"):
        literal.pop()  # nothing is left unread before a quantifier but a literal character
    return "".join(literal) or None


def _apart(a: list, b: list) -> bool:
    """Can no string start with a prefix of `a` and one of `b` (neither extends the other)?"""
    return any(not (p.startswith(q) or q.startswith(p)) for p in a for q in b)


#: Most states of a pattern's automaton that `_pattern_verdict` builds to read a listed string.
MAX_PATTERN_STATES = 10_000


@functools.lru_cache(maxsize=256)
def _pattern_dfa(pattern: str):
    """The automaton of the strings that contain a match of `pattern`, as the compiler reads it;
    None where it cannot (unsupported, invalid, or past `MAX_PATTERN_STATES`)."""
    from ..automata.dfa import AutomatonTooLargeError, build_dfa
    from ..errors import CompileBudgetError, StructgenError
    from .strings import _pattern_language

    try:
        return build_dfa(_pattern_language(pattern, ""), MAX_PATTERN_STATES)
    except CompileBudgetError:  # the compilation's own budget: not an answer to keep
        raise
    except (StructgenError, AutomatonTooLargeError):
        return None


def _pattern_verdict(pattern: str, value: str) -> bool | None:
    """Does the string `value` match `pattern` (the compiler's own reading of it); None where
    that reading has no automaton (`_pattern_dfa`) or the string no UTF-8 text (a lone surrogate)."""
    dfa = _pattern_dfa(pattern) if isinstance(pattern, str) else None
    try:
        return None if dfa is None else dfa.matches(value.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _surely_fails(s: Summary, value) -> bool:
    """Does `value` fail the branch that `s` summarises, by its summary: a kind or a value it
    does not allow, a value its `not` lists, a string its patterns do not match, an array with
    too few or too many items or one that surely fails its `items`, or (an object) a required
    property it lacks or a property whose value surely fails what the branch asks of it."""
    if kind_of_value(value) not in s.kinds or any(json_equal(value, e) for e in s.excluded):
        return True
    if isinstance(value, str) and (any(not value.startswith(p) for p in s.prefixes)
                                   or any(_pattern_verdict(p, value) is False for p in s.patterns)):
        return True
    if s.values is not None and not any(json_equal(value, v) for v in s.values):
        return True
    if isinstance(value, dict):
        if not s.required <= value.keys() or not s.min_properties <= len(value) <= s.max_properties:
            return True
        for name, v in value.items():
            prop = s.prop(name)
            if prop is not None and _surely_fails(prop, v):
                return True
    if isinstance(value, list):
        if not s.min_items <= len(value) <= s.max_items:
            return True
        item = s.item if value else None
        if item is not None and any(_surely_fails(item, v) for v in value):
            return True
    return False


def _count(value, default):
    """A `minProperties`/`maxProperties`/`minItems`/`maxItems` value as a count (`default` when absent or
    not one)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def surely_empty(s: Summary) -> bool:
    """Does the branch that `s` summarises surely hold no value: no kind, or every value it
    lists excluded by a `not` it has?"""
    return not s.kinds or (s.values is not None and all(_surely_fails(s, v) for v in s.values))


def surely_disjoint(a: Summary, b: Summary) -> bool:
    """Value-level disjointness from summaries, without automata: no common kind, no common
    allowed value, every allowed value of one failing the other (`_surely_fails`), (both strings
    only) prefixes that cannot agree, (both arrays only) item counts that cannot agree or items
    told apart where one holds at least one, every alternative of one disjoint from the other,
    or (both objects only) property counts that cannot agree or a property one requires whose
    value the other forbids or constrains disjointly."""
    if not (a.kinds & b.kinds):
        return True
    if a.values is not None and b.values is not None:
        if not any(json_equal(x, y) for x in a.values for y in b.values):
            return True
    for x, y in ((a, b), (b, a)):
        if x.values is not None and all(_surely_fails(y, v) for v in x.values):
            return True
    if a.kinds & b.kinds <= {"string"} and _apart(a.prefixes, b.prefixes):
        return True
    if a.kinds & b.kinds <= {"array"}:
        if a.min_items > b.max_items or b.min_items > a.max_items:
            return True
        if max(a.min_items, b.min_items) >= 1:  # an item both judge
            ia, ib = a.item, b.item
            if (ia is not None and not ia.kinds) or (ib is not None and not ib.kinds):
                return True
            if ia is not None and ib is not None and surely_disjoint(ia, ib):
                return True
    if a.kinds & b.kinds <= {"object"}:
        if a.min_properties > b.max_properties or b.min_properties > a.max_properties:
            return True
        for x, y in ((a, b), (b, a)):
            for name in x.required:
                px, py = x.prop(name), y.prop(name)
                if (px is not None and not px.kinds) or (py is not None and not py.kinds):
                    return True
                if px is not None and py is not None and surely_disjoint(px, py):
                    return True
    if a.failed & b.satisfied or b.failed & a.satisfied:
        return True
    for x, y in ((a, b), (b, a)):
        alternatives = x.alternatives()
        if alternatives and all(surely_disjoint(alt, y) for alt in alternatives):
            return True
    return False
