"""`not` pushed into its operand: conjunctions whose union is the operand's complement.

A value fails a schema exactly when it fails one of its keywords, and most
keywords fail in a way that another schema states: `required: [a]` fails
when `a` is absent (`properties: {a: false}`), `properties: {a: S}` when
`a` is present and its value fails S (a `not` one level down), `minimum: 5`
on a number below 5 (`exclusiveMaximum: 5`), `anyOf` when every branch
fails, `if`/`then`/`else` when the condition holds and `then` fails or it
does not and `else` fails. These rewrites speak of values, not texts, so
they stay exact in the output form, and the conjunctions they give keep
every text the compiler writes for them (declared member order, every
number spelling): no canonical domain is needed. That is why `negation`
tries them before the complement in check mode, which keeps to that domain
and grows with every property name in reach.

Keywords that act together are negated together (`properties` with
`patternProperties`/`additionalProperties`, the array item keywords, a
bound with its draft-4 boolean `exclusive` flag, `if`/`then`/`else`). A
group with no rewrite (a `pattern`, a `multipleOf`, listed numbers, items,
additional properties) becomes the `not` of that group alone, which
`negation` complements on its own, over the few names it reaches. An
operand that is one such group has no disjuncts (`None`): `negation`
complements it whole.
"""

from __future__ import annotations

from . import keywords as kw
from .document import child

#: The most `oneOf` branches negated by rewriting (none holds, or two hold: a conjunction per pair).
MAX_ONE_OF_PAIRS_BRANCHES = 6

_GROUPS = (
    ("properties", "patternProperties", "additionalProperties"),
    ("items", "prefixItems", "additionalItems"),
    ("contains", "minContains", "maxContains"),
    ("minimum", "exclusiveMinimum"),
    ("maximum", "exclusiveMaximum"),
    ("if",),
)
_GROUP_OF = {k: g for g in _GROUPS for k in g}
_OBJECT, _ARRAY, _STRING, _NUMBER = "object", "array", "string", "number"


class DeMorganMixin:
    """The rewrites of `not` into disjuncts, for `negation.NegationMixin`."""

    def _not_of(self, s) -> dict:
        """The synthetic schema `{"not": s}`, once per `s`; its member's pointer is the pointer of `s`."""
        key = ("not of", id(s))
        if key not in self._synthetic:  # kept alive: the caches key on id(schema)
            self._synthetic[key] = {"not": s}
            self._negations.add(id(self._synthetic[key]))
        return self._synthetic[key]

    def _disjuncts(self, s, pointer: str) -> list[tuple] | None:
        """Conjunctions, each a tuple of (schema, pointer), whose union holds exactly the
        values that fail `s`; None when `s` is one group of keywords with no rewrite."""
        if not isinstance(s, dict):
            return None
        s = self.doc.ref_alone(s, pointer)  # drafts 3 to 7: the keywords beside `$ref` are not part of it
        key = ("disjuncts", id(s), pointer)
        if key not in self._synthetic:
            groups: dict[tuple, None] = {}
            for k in s:
                if k in kw.HANDLED and k not in kw.ANNOTATIONS:
                    groups[_GROUP_OF.get(k, (k,))] = None
            out: list | None = []
            for group in groups:
                found = self._group_disjuncts(s, group, pointer)
                if found is None:
                    if len(groups) == 1:
                        out = None
                        break
                    part = {k: s[k] for k in group if k in s}
                    self._synthetic[("group", id(s), group)] = part
                    found = [((self._not_of(part), pointer),)]
                out += found
            self._synthetic[key] = out
        return self._synthetic[key]

    def _group_disjuncts(self, s: dict, group: tuple, pointer: str) -> list[tuple] | None:
        """The disjuncts of one group of keywords of `s` (see the module docstring)."""
        k = group[0]
        value = s.get(k)
        at = child(pointer, k)
        if k == "type":
            return [((self._not_of({"type": value}), at),)]
        if k == "required":
            return [(({"type": _OBJECT, "properties": {n: False}}, pointer),) for n in value]
        if k == "properties":
            if "patternProperties" in s or s.get("additionalProperties", True) not in (True, {}):
                return None
            # `additionalProperties` alone (true or {}) groups here too, with no `properties` to fail
            return [self._present_and_failing(n, sub, pointer) for n, sub in (value or {}).items()
                    if sub not in (True, {})]
        if k == "maxProperties" and value == 0:  # some property is present: one member counts it exactly
            return [(({"type": _OBJECT, "minProperties": 1}, pointer),)]
        if k in ("minProperties", "minItems", "maxItems", "minLength", "maxLength"):
            return _count_disjuncts(k, int(value), pointer)
        if k in ("dependentRequired", "dependentSchemas", "dependencies"):
            out = []
            for name, dep in value.items():
                if isinstance(dep, list):
                    out += [(({"type": _OBJECT, "required": [name], "properties": {b: False}}, pointer),)
                            for b in dep if b != name]
                else:
                    out.append((({"type": _OBJECT, "required": [name]}, pointer),
                                (self._not_of(dep), child(at, name))))
            return out
        if k in ("minimum", "maximum"):
            return _bound_disjuncts(s, k, pointer)
        if k == "allOf":
            return [((self._not_of(sub), child(at, j)),) for j, sub in enumerate(value)]
        if k == "anyOf":
            return [tuple((self._not_of(sub), child(at, j)) for j, sub in enumerate(value))]
        if k == "oneOf" and len(value) <= MAX_ONE_OF_PAIRS_BRANCHES:
            none_holds = tuple((self._not_of(sub), child(at, j)) for j, sub in enumerate(value))
            pairs = [((value[a], child(at, a)), (value[b], child(at, b)))
                     for a in range(len(value)) for b in range(a + 1, len(value))]
            return [none_holds, *pairs]
        if k == "not":
            return [((value, at),)]
        if k == "if":
            return self._if_disjuncts(s, pointer)
        if k == "$ref":
            target, where = self.doc.resolve(value, at)
            return [((self._not_of(target), where),)]
        # enum, const, pattern, format, multipleOf, propertyNames, items, ...: complemented; and
        # maxProperties, whose rewrite (minProperties) counts additional names it cannot tell apart
        return None

    def _present_and_failing(self, name: str, sub, pointer: str) -> tuple:
        """Objects where property `name` is present and its value fails `sub`."""
        if sub is False:
            return (({"type": _OBJECT, "required": [name]}, pointer),)
        key = ("present and failing", id(sub), name)
        if key not in self._synthetic:
            self._synthetic[key] = {"type": _OBJECT, "required": [name], "properties": {name: self._not_of(sub)}}
        return ((self._synthetic[key], pointer),)  # the property's pointer is then that of `sub`

    def _if_disjuncts(self, s: dict, pointer: str) -> list[tuple]:
        """`if`/`then`/`else` fails where the condition holds and `then` fails, or where it
        does not and `else` fails; an `if` alone never fails."""
        condition = (s["if"], child(pointer, "if"))
        out = []
        if "then" in s:
            out.append((condition, (self._not_of(s["then"]), child(pointer, "then"))))
        if "else" in s:
            out.append(((self._not_of(s["if"]), child(pointer, "if")),
                        (self._not_of(s["else"]), child(pointer, "else"))))
        return out


def _count_disjuncts(k: str, n: int, pointer: str) -> list[tuple]:
    """A count bound fails below (above) it: the opposite bound, on that kind of value."""
    kind = _OBJECT if "Properties" in k else _ARRAY if "Items" in k else _STRING
    if k.startswith("min"):
        return [(({"type": kind, k.replace("min", "max"): n - 1}, pointer),)] if n > 0 else []
    return [(({"type": kind, k.replace("max", "min"): n + 1}, pointer),)]


def _bound_disjuncts(s: dict, k: str, pointer: str) -> list[tuple]:
    """A number bound fails on the other side of it: `minimum` below (at, when draft 4's
    `exclusiveMinimum: true` stands beside it), `exclusiveMinimum` at or below."""
    low = k == "minimum"
    exclusive_key = "exclusiveMinimum" if low else "exclusiveMaximum"
    flag = s.get(exclusive_key)
    out = []
    if k in s:
        fails = ("maximum" if low else "minimum") if flag is True else ("exclusiveMaximum" if low else "exclusiveMinimum")
        out.append((({"type": _NUMBER, fails: s[k]}, pointer),))
    if kw.is_number(flag):
        out.append((({"type": _NUMBER, "maximum" if low else "minimum": flag}, pointer),))
    return out
