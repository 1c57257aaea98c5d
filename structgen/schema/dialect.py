"""The schema as its declared draft reads it.

Each draft has its own keywords: draft 4 has no `const`, `contains`,
`propertyNames` or `if`; drafts 6 and 7 have no `minContains`; 2020-12 has
no `dependencies` or `additionalItems` (beside `prefixItems`). A validator
ignores a keyword its draft lacks, as it ignores any unknown key. Enforcing
one anyway only narrows a plain schema's output, but inside `not` or
`oneOf` the narrowing turns over: `{"$schema": draft 4, "not": {"const": 0}}`
admits no value at all, and a compiler that enforced the `const` would
admit every value but 0.

So the document is read once, the way the judge reads it (`jsonschema`'s
validator for the root's `$schema`, 2020-12 by default, one draft for every
resource reached): each schema object loses the keywords that draft does
not apply, and the compiler never meets them. The few keywords whose
meaning changed between drafts are put in the form the rest of the
compiler reads:

* drafts 3 and 4: `exclusiveMinimum`/`exclusiveMaximum` modify `minimum`/
  `maximum` (any true value makes the bound exclusive) and mean nothing
  alone; they become booleans beside their bound, and go without one;
* draft 3: `"required": true` inside a property's schema makes the object
  require that property; it becomes a name of the object's `required`
  list (draft 3 has no list form, so a list found there goes);
* drafts 6 on: a boolean `exclusiveMinimum`/`exclusiveMaximum` is draft 4's
  form, which these drafts do not have (their judge compares the number
  against `true` as 1): an `InvalidSchemaError`, not a guess.

`items` as a list in 2020-12 (and the `additionalItems` beside it) keeps
its draft 2019-09 meaning: 2020-12's judge fails on it, and the older
reading is the only one the schema's author can have meant.
"""

from __future__ import annotations

import json

from ..errors import InvalidSchemaError
from . import keywords as kw
from .document import SUBSCHEMA_LISTS, SUBSCHEMA_MAPS, SUBSCHEMA_ONE, child

_BOUNDS = (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum"))


class Dialect:
    """The declared draft of a schema document, and its schema objects as that draft reads them.

    Parameters
    ----------
    root : dict or bool
        The loaded schema document; its `$schema` picks the draft.

    Attributes
    ----------
    name : str
        The draft: "draft 4", "draft 2020-12".
    draft3 : bool
        Whether it is draft 3 (whose formats and `required` differ).
    dropped : dict
        keyword -> JSON pointers of the schemas where the draft lacks it.
    """

    def __init__(self, root):
        import jsonschema

        cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
        number = cls.__name__.removeprefix("Draft").removesuffix("Validator")
        self.name = "draft " + (f"{number[:4]}-{number[4:]}" if len(number) > 4 else number)
        applied = set(cls.VALIDATORS) | {"definitions", "$defs"}
        self._legacy_bounds = "exclusiveMinimum" not in cls.VALIDATORS  # drafts 3 and 4
        if self._legacy_bounds:
            applied |= {name for name, _ in _BOUNDS}
        if "dependentRequired" in cls.VALIDATORS:  # 2019-09 on: the counts of `contains`
            applied |= {"minContains", "maxContains"}
        if "$recursiveRef" in cls.VALIDATORS:
            applied.add("$recursiveAnchor")
        self.draft3 = "divisibleBy" in cls.VALIDATORS
        self._lacked = (kw.HANDLED | kw.UNSUPPORTED) - applied
        self.dropped: dict[str, list[str]] = {}
        self._read: dict[int, tuple[object, object]] = {}  # id(schema) -> (schema, as read)
        self._made: set[int] = set()  # ids of the objects `read` returned

    def may_change(self, document) -> bool:
        """Whether `read` can change anything in `document`: False when its JSON text names no
        keyword the draft lacks and no exclusive bound (a property merely named like one only
        costs the walk), so that the common schema is not walked at all."""
        if self.draft3:
            return True
        try:
            text = json.dumps(document)
        except (TypeError, ValueError):  # a value JSON cannot write: the walk decides
            return True
        return any(f'"{key}"' in text for key in self._lacked | {name for name, _ in _BOUNDS})

    def is_read(self, schema) -> bool:
        """Whether `schema` is one of the objects `read` returned (or a boolean)."""
        return not isinstance(schema, dict) or id(schema) in self._made

    def read(self, schema, pointer: str):
        """`schema` (and every subschema under it) as the draft reads it: the same object for the
        same schema, and `schema` itself where nothing changes.

        Raises
        ------
        InvalidSchemaError
            A boolean `exclusiveMinimum`/`exclusiveMaximum` in draft 6 or later.
        """
        if not isinstance(schema, dict) or id(schema) in self._made:
            return schema
        done = self._read.get(id(schema))
        if done is None:
            out = {}
            for key, value in schema.items():
                if key in self._lacked and not (key == "additionalItems" and isinstance(schema.get("items"), list)):
                    if not (self.draft3 and key == "required" and isinstance(value, bool)):  # moved, not dropped
                        self.dropped.setdefault(key, []).append(pointer)
                    continue
                out[key] = self._subschemas(key, value, pointer) if isinstance(value, (dict, list)) else value
            self._bounds(out, pointer)
            if self.draft3:
                self._draft3_required(schema, out)
            changed = len(out) != len(schema) or any(out[k] is not schema.get(k, out) for k in out)
            done = self._read[id(schema)] = (schema, out if changed else schema)
            self._made.add(id(done[1]))
        return done[1]

    def _subschemas(self, key: str, value, parent: str):
        """The value of `key` (in the schema at `parent`) with the schemas in it read."""
        pointer = child(parent, key)
        if key in SUBSCHEMA_ONE and isinstance(value, dict):
            return self.read(value, pointer)
        if key in SUBSCHEMA_MAPS and isinstance(value, dict):
            out = {name: self.read(sub, child(pointer, name)) for name, sub in value.items()}
            return value if all(out[n] is value[n] for n in value) else out
        if key in SUBSCHEMA_LISTS and isinstance(value, list):
            out = [self.read(sub, child(pointer, i)) for i, sub in enumerate(value)]
            return value if all(a is b for a, b in zip(out, value)) else out
        return value

    def _bounds(self, out: dict, pointer: str) -> None:
        for exclusive, bound in _BOUNDS:
            flag = out.get(exclusive)
            if self._legacy_bounds and (isinstance(flag, bool) or kw.is_number(flag)):
                if bound in out and flag:
                    out[exclusive] = True
                else:
                    del out[exclusive]
                    if flag is not False:
                        self.dropped.setdefault(exclusive, []).append(pointer)
            elif not self._legacy_bounds and isinstance(flag, bool):
                raise InvalidSchemaError(f"{exclusive} must be a number in {self.name} (a boolean is draft 4's "
                                         "form: declare that draft with $schema)", child(pointer, exclusive))

    @staticmethod
    def _draft3_required(schema: dict, out: dict) -> None:
        """Draft 3: the names whose property schema says `"required": true` become `required`."""
        properties = schema.get("properties")
        names = [name for name, sub in properties.items() if isinstance(sub, dict) and sub.get("required") is True] \
            if isinstance(properties, dict) else []
        if names:
            out["required"] = names
