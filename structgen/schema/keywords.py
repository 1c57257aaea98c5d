"""Which JSON Schema keywords structgen enforces, which it ignores, and their expected types.

Three groups:

* handled keywords, validated here for type (`"required": 5` is an invalid
  schema, not something to guess about);
* annotations, which never constrain an instance (titles, defaults, ...);
* known constraining keywords that structgen cannot enforce: an
  `UnsupportedSchemaError` in strict mode, listed in `ignored` otherwise.

Any other key (`x-...` extensions, `javaType`, typos such as
`additonalProperties`) is not a keyword of any JSON Schema draft: the spec
and the judge both ignore it, so ignoring it relaxes nothing. The compiler
counts such keys in `notes` so that they are never dropped silently.
"""

from __future__ import annotations

import math
from numbers import Number

from ..errors import InvalidSchemaError
from .document import child

TYPE_NAMES = frozenset({"null", "boolean", "object", "array", "string", "number", "integer"})

ANNOTATIONS = frozenset(
    {
        "title", "description", "default", "examples", "example", "$comment", "$schema", "$id", "id",
        "$anchor", "$dynamicAnchor", "$vocabulary", "deprecated", "readOnly", "writeOnly",
        "contentMediaType", "contentEncoding", "contentSchema", "$defs", "definitions",
        # `then`/`else` without `if` have no effect; with `if` they are handled together.
        "then", "else",
    }
)

# Known constraining keywords of some draft that the compiler refuses (or ignores when not strict).
UNSUPPORTED = frozenset(
    {
        "unevaluatedProperties", "unevaluatedItems", "$recursiveRef", "$recursiveAnchor",
        "extends", "disallow", "divisibleBy",
    }
)

SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_ONE = ("additionalProperties", "additionalItems", "propertyNames", "not", "if", "contains")
COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains",
          "maxContains")
NUMBERS = ("minimum", "maximum", "multipleOf")

STRING_KEYWORDS = ("minLength", "maxLength", "pattern", "format")
NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
OBJECT_KEYWORDS = (
    "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
    "minProperties", "maxProperties",
)
ARRAY_KEYWORDS = ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
                  "minContains", "maxContains")

HANDLED = frozenset(
    {"type", "enum", "const", "required", "items", "$ref", "$dynamicRef", "pattern", "format", "uniqueItems",
     "exclusiveMinimum", "exclusiveMaximum", "dependentRequired", "dependencies"}
    | set(SCHEMA_MAPS) | set(SCHEMA_LISTS) | set(SCHEMA_ONE) | set(COUNTS) | set(NUMBERS)
)

# Format names defined by some JSON Schema draft: a format outside this list is an annotation.
# Of those only draft 3 defines, one structgen has no language for (`utc-millisec`) is an annotation in
# the other drafts, whose validators do not check it; the others it writes in every draft.
DRAFT3_FORMATS = frozenset({"host-name", "ip-address", "color", "utc-millisec"})
SPEC_FORMATS = frozenset(
    {
        "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname",
        "ipv4", "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template",
        "json-pointer", "relative-json-pointer", "regex", "host-name", "ip-address", "color",
        "utc-millisec",
    }
)


def _is_schema(value) -> bool:
    return isinstance(value, (dict, bool))


def _is_count(value) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool) and value >= 0 and value == int(value)


def is_number(value) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def _non_finite(value) -> str | None:
    """The JSON pointer (relative) of a NaN or infinity inside `value`, or None.

    Iterative, so that a deeply nested `const` cannot exhaust the stack.
    """
    stack = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where
        if isinstance(item, dict):
            stack.extend((v, child(where, k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, child(where, i)) for i, v in enumerate(item))
    return None


def _string_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def check_keywords(schema: dict, pointer: str) -> None:
    """Raise `InvalidSchemaError` where a handled keyword has a value of the wrong type."""

    def bad(key: str, what: str):
        raise InvalidSchemaError(f"{key!r} must be {what}", child(pointer, key))

    for key, value in schema.items():
        if key in ("const", "enum", *NUMBERS, "exclusiveMinimum", "exclusiveMaximum"):
            # JSON has no NaN or infinity: such a value would be written as text no parser accepts.
            where = _non_finite(value)
            if where is not None:
                raise InvalidSchemaError(f"{key!r} holds a non-finite number", child(pointer, key) + where)
        if key == "type":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) and n in TYPE_NAMES for n in names):
                bad(key, "a type name or a list of type names")
        elif key == "enum" and not isinstance(value, list):
            bad(key, "an array")
        elif key == "required" and not _string_list(value):
            bad(key, "an array of strings")
        elif key in SCHEMA_MAPS and not (isinstance(value, dict) and all(map(_is_schema, value.values()))):
            bad(key, "an object of schemas")
        elif key in SCHEMA_LISTS and not (isinstance(value, list) and all(map(_is_schema, value))):
            bad(key, "an array of schemas")
        elif key in SCHEMA_ONE and not _is_schema(value):
            bad(key, "a schema")
        elif key == "items" and not (_is_schema(value) or (isinstance(value, list) and all(map(_is_schema, value)))):
            bad(key, "a schema or an array of schemas")
        elif key in COUNTS and not _is_count(value):
            bad(key, "a non-negative integer")
        elif key in NUMBERS and not is_number(value):
            bad(key, "a number")
        elif key == "multipleOf" and value <= 0:
            bad(key, "greater than 0")
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not (is_number(value) or isinstance(value, bool)):
            bad(key, "a number (or a boolean, draft 4)")
        elif key in ("pattern", "format", "$ref", "$dynamicRef") and not isinstance(value, str):
            bad(key, "a string")
        elif key == "uniqueItems" and not isinstance(value, bool):
            bad(key, "a boolean")
        elif key == "dependentRequired" and not (
            isinstance(value, dict) and all(_string_list(v) for v in value.values())
        ):
            bad(key, "an object of string arrays")
        elif key == "dependencies" and not (
            isinstance(value, dict) and all(_string_list(v) or _is_schema(v) for v in value.values())
        ):
            bad(key, "an object of string arrays or schemas")
