"""Hypothesis strategies for random JSON Schemas over every keyword structgen compiles.

Why small shared pools: soundness bugs live where keywords interact (a
declared property that a `patternProperties` entry also matches, a `oneOf`
whose branches meet on `1.0`, a `not` around a bound). Drawing property
names, patterns and numbers from small pools makes such meetings frequent;
drawing them freely would make them vanishingly rare. `$defs` are drawn
first and referenced by `$ref` from the root and from each other (a
definition may refer to itself below a property or an item: a recursive
schema, compiled by the pushdown path). `contains` is drawn in the array
family, and so are `minContains`/`maxContains`, which without `contains`
must change nothing.
"""

from __future__ import annotations

from hypothesis import strategies as st

from structgen.schema.formats import SUPPORTED_FORMATS
from structgen.schema.keywords import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE

NAMES = ["a", "b", "c", "xa", "x", "é", "a b", "", "k\"", "😀"]
PATTERNS = [
    "^x", "a", "^a$", "^[a-c]+$", "^.{2}$", "\\d", "^\\W$", "^\\D$", "^\\s*$", "^\\w+$", "é", "^(a|xa)$",
    "[^a]", "^$", "^[0-9]{2,3}$", ".", "^x.*a$", "^😀$", "^[ab]{64,70}$",
]
NUMBERS = [0, 1, 2, 3, 10, -1, -2, 0.5, 1.5, -0.5, 2.5, 0.1, 1e2, 1e-2, 9007199254740993, 255, 1.0, -0.0]
MULTIPLES = [1, 2, 3, 0.5, 0.25, 0.1, 0.01, 1.5, 10]
FORMATS = sorted(SUPPORTED_FORMATS) + ["not-a-format"]
TYPES = ["null", "boolean", "object", "array", "string", "number", "integer"]

# Keyword families, repeated by weight: objects and combinators meet other keywords most.
FAMILIES = ["type", "const", "enum", "string", "string", "number", "number", "object", "object", "object",
            "array", "array", "comb", "comb", "comb", "not", "if", "ref", "ref"]

# Seeds where keywords meet (the issue's reproductions and their neighbours): the interaction tests fuzz
# around each, and random schemas embed them as leaves, at any depth.
SEEDS = [
    {"oneOf": [{"type": "integer"}, {"type": "number"}]},
    {"oneOf": [{"const": 0}, {"type": "number"}]},
    {"type": "number", "not": {"type": "integer"}},
    {"not": {"enum": ["a", None, True]}},
    {"type": "object", "properties": {"xa": {"type": "integer"}}, "patternProperties": {"^x": {"type": "string"}}},
    {"type": "object", "minProperties": 2},
    {"type": "object", "maxProperties": 1, "additionalProperties": {"type": "integer"}},
    {"type": "string", "pattern": "^\\W$"},
    {"type": "string", "pattern": "^\\s$"},
    {"type": "array", "uniqueItems": True, "maxItems": 1, "prefixItems": [{"type": "number"}]},
    {"type": "integer", "multipleOf": 0.5, "maximum": 3},
    {"enum": [1, 1.5, "1"]},
    {"anyOf": [{"type": "integer", "minimum": 2}, {"type": "string", "maxLength": 1}]},
    {"if": {"type": "integer"}, "then": {"minimum": 5}, "else": {"type": "string"}},
    {"type": "object", "dependentRequired": {"a": ["b"]}, "properties": {"a": {"type": "integer"}}},
    {"$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}, "v": {"type": "number"}}}},
     "$ref": "#/$defs/n"},
    {"$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}, "v": {"type": "number"},
                                                      "w": {"type": "string"}},
                     "oneOf": [{"required": ["v"]}, {"required": ["w"]}, {"required": ["v", "c"]}]}},
     "$ref": "#/$defs/n"},
    {"type": "array", "contains": {"const": 1}, "minContains": 2, "maxContains": 3, "maxItems": 5},
    {"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "number"},
     "contains": {"type": "integer", "minimum": 2}, "maxContains": 1},
    {"oneOf": [{"contains": {"type": "integer"}}, {"contains": {"minimum": 1}, "minContains": 0, "maxContains": 1}]},
    {"type": "array", "allOf": [{"contains": {"type": "string"}}, {"contains": {"required": ["a"]}, "maxContains": 1}]},
    {"oneOf": [{"required": ["a", "b"], "properties": {"a": {"enum": [1, 2]}}}, {"required": ["a"],
                                                                                "properties": {"a": {"const": 3}}}]},
    {"oneOf": [{"required": ["a"]}, {"type": ["string", "object"], "maxProperties": 1}]},
    {"type": "object", "oneOf": [{"properties": {"a": {}, "b": {}}, "additionalProperties": False, "required": ["a"]},
                                 {"properties": {"a": {}, "c": {}}, "additionalProperties": False}]},
]
LEAF_SEEDS = [s for s in SEEDS if "$ref" not in s]  # a nested "$ref" would point at the root's $defs

DRAFT_4, DRAFT_7 = "http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-07/schema#"

counts = st.integers(0, 4)
# Upper bounds long enough that a repetition becomes a chain of called blocks (`automata.nfa`).
upper_counts = counts | st.sampled_from([64, 130])
names = st.sampled_from(NAMES)


def json_literals(max_leaves: int = 6) -> st.SearchStrategy:
    """Small JSON values for `const`/`enum`: the pools' names and numbers, nested a little."""
    leaves = (
        st.none() | st.booleans() | st.sampled_from(NUMBERS) | st.integers(-20, 20) | names
        | st.sampled_from([9007199254740993, 2 ** 64, 1e300, 0.30000000000000004, "1", "é\u00e9", "\ufeff",
                           float("inf"), float("nan")])  # non-finite: not JSON, the compiler must refuse them
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
        max_leaves=max_leaves,
    )


def _type() -> st.SearchStrategy:
    return st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)


@st.composite
def _keywords(draw, sub, refs: tuple[str, ...]):
    """One schema object: a few keywords of one or two families."""
    out: dict = {}
    families = draw(st.lists(st.sampled_from(FAMILIES), min_size=1, max_size=2, unique=True))
    for fam in families:
        if fam == "type":
            out["type"] = draw(_type())
        elif fam == "const":
            out["const"] = draw(json_literals())
        elif fam == "enum":
            out["enum"] = draw(st.lists(json_literals(3), min_size=1, max_size=4))
        elif fam == "string":
            out.setdefault("type", "string")
            for key in draw(st.lists(st.sampled_from(["minLength", "maxLength", "pattern", "format"]),
                                     min_size=1, max_size=2, unique=True)):
                out[key] = draw({"pattern": st.sampled_from(PATTERNS), "format": st.sampled_from(FORMATS),
                                 "maxLength": upper_counts}.get(key, counts))
        elif fam == "number":
            out.setdefault("type", draw(st.sampled_from(["number", "integer"])))
            for key in draw(st.lists(st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                                                      "multipleOf"]), min_size=1, max_size=3, unique=True)):
                out[key] = draw(st.sampled_from(MULTIPLES if key == "multipleOf" else NUMBERS))
        elif fam == "object":
            out.setdefault("type", "object")
            for key in draw(st.lists(st.sampled_from(
                    ["properties", "required", "additionalProperties", "patternProperties", "propertyNames",
                     "minProperties", "maxProperties", "dependentRequired", "dependentSchemas"]),
                    min_size=1, max_size=4, unique=True)):
                if key == "properties":
                    out[key] = draw(st.dictionaries(names, sub, max_size=3))
                elif key == "required":
                    out[key] = draw(st.lists(names, max_size=3, unique=True))
                elif key == "additionalProperties":
                    out[key] = draw(st.booleans() | sub)
                elif key == "patternProperties":
                    out[key] = draw(st.dictionaries(st.sampled_from(PATTERNS), sub, min_size=1, max_size=2))
                elif key == "propertyNames":
                    out[key] = draw(st.fixed_dictionaries({}, optional={
                        "pattern": st.sampled_from(PATTERNS), "maxLength": counts, "minLength": counts,
                        "enum": st.lists(names, min_size=1, max_size=3, unique=True)}))
                elif key == "dependentRequired":
                    out[key] = draw(st.dictionaries(names, st.lists(names, max_size=2, unique=True), max_size=2))
                elif key == "dependentSchemas":
                    out[key] = draw(st.dictionaries(names, sub, max_size=2))
                else:
                    out[key] = draw(counts)
        elif fam == "array":
            out.setdefault("type", "array")
            for key in draw(st.lists(st.sampled_from(["items", "prefixItems", "minItems", "maxItems", "uniqueItems",
                                                      "contains", "contains", "minContains", "maxContains"]),
                                     min_size=1, max_size=3, unique=True)):
                if key in ("items", "contains"):
                    out[key] = draw(st.booleans() | sub)
                elif key == "prefixItems":
                    out[key] = draw(st.lists(sub, min_size=1, max_size=3))
                elif key == "uniqueItems":
                    out[key] = draw(st.booleans())
                else:
                    out[key] = draw(upper_counts if key == "maxItems" else counts)
        elif fam == "comb":
            key = draw(st.sampled_from(["allOf", "anyOf", "oneOf"]))
            out[key] = draw(st.lists(sub, min_size=1, max_size=3))
        elif fam == "not":
            out["not"] = draw(sub)
        elif fam == "if":
            out["if"] = draw(sub)
            out.update(draw(st.fixed_dictionaries({}, optional={"then": sub, "else": sub})))
        elif fam == "ref" and refs:
            out["$ref"] = "#/$defs/" + draw(st.sampled_from(refs))
    return out


def subschemas(depth: int, refs: tuple[str, ...] = (), self_ref: str | None = None) -> st.SearchStrategy:
    """Schemas nested at most `depth` levels; `refs` are `$defs` names that may be referenced.

    `self_ref` names a definition that may refer to itself one level down
    (below a value, where the recursion nests, or below a combinator, where
    the compiler must refuse the cycle by name).
    """
    leaf = st.booleans() | st.just({}) | st.builds(dict, type=_type()) | st.sampled_from(LEAF_SEEDS)
    if depth <= 0:
        return leaf
    nested_refs = refs + ((self_ref,) if self_ref else ())
    sub = st.deferred(lambda: subschemas(depth - 1, nested_refs, self_ref))
    return st.one_of(leaf, _keywords(sub, refs))


@st.composite
def schemas(draw, max_depth: int = 3, max_defs: int = 2):
    """A root schema with up to `max_defs` definitions referenced by `$ref`."""
    defs: dict = {}
    used = []  # definitions the root refers to whatever it draws
    for i in range(draw(st.integers(0, max_defs))):
        name = f"d{i}"
        recursive = draw(st.booleans()) and draw(st.booleans())
        if recursive and draw(st.booleans()):
            defs[name] = draw(_recursive_one_of(name, max_depth - 1, tuple(defs)))
            used.append(name)
        else:
            defs[name] = draw(subschemas(max_depth - 1, tuple(defs), name if recursive else None))
    if draw(st.integers(0, 9)):
        root = draw(subschemas(max_depth, tuple(defs)))
    else:  # one in ten: a oneOf that summaries and kind profiles decide, or leave to negation
        root = draw(_discriminated_one_of(max_depth, tuple(defs)))
    if used:
        root = {"allOf": [root, *({"$ref": f"#/$defs/{name}"} for name in used)]}
    if defs:
        if not isinstance(root, dict):
            root = {"allOf": [root]}
        root = {**root, "$defs": defs}
    # One in five in an older dialect, which lacks some keywords (`contains` before draft 6): the
    # judge ignores them there, and so must every rewrite the compiler makes.
    dialect = draw(st.sampled_from([None] * 8 + [DRAFT_7, DRAFT_4]))
    if dialect == DRAFT_4:  # boolean schemas came with draft 6: the same languages as objects
        root = _without_booleans(root)
    if dialect is not None:
        root = {"$schema": dialect, **(root if isinstance(root, dict) else {"allOf": [root]})}
    return root


def _without_booleans(schema):
    """`schema` with each boolean subschema written as an object: `true` as `{}`, `false` as `{"not": {}}`."""
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in SCHEMA_ONE + ("then", "else") or (key == "items" and not isinstance(value, list)):
            value = _without_booleans(value)
        elif key in SCHEMA_LISTS + ("items",) and isinstance(value, list):
            value = [_without_booleans(v) for v in value]
        elif key in SCHEMA_MAPS + ("dependencies",) and isinstance(value, dict):
            value = {k: v if isinstance(v, list) else _without_booleans(v) for k, v in value.items()}
        out[key] = value
    return out


@st.composite
def _discriminated_one_of(draw, depth: int, refs: tuple[str, ...]):
    """A `oneOf` of object-like branches over a few names (or arrays of them): with or without
    `type`, telling one another apart (or not) by a required property's values, property counts,
    `additionalProperties` (false or a schema) or an `anyOf` of required lists, the facts that
    `oneOf` summaries and kind profiles read before any automaton (`structgen.schema.exclusive`)."""
    sub = subschemas(max(depth - 1, 0), refs)
    value = st.sampled_from([{"const": 1}, {"const": 2}, {"enum": [1, 2]}, {"enum": ["a", 3]}, {"type": "string"},
                             {"type": "boolean"}, {}]) | sub
    few = st.sampled_from(["a", "b", "c"])

    @st.composite
    def branch(draw):
        out: dict = {}
        if draw(st.booleans()):
            out["type"] = draw(st.sampled_from(["object", ["object", "string"], ["object", "null"]]))
        out["properties"] = draw(st.dictionaries(few, value, max_size=3))
        out["required"] = draw(st.lists(few, max_size=2, unique=True))
        extra = draw(st.sampled_from(["additionalProperties", "maxProperties", "minProperties", "anyOf", None]))
        if extra == "additionalProperties":
            out[extra] = draw(st.just(False) | value)
        elif extra == "anyOf":
            out[extra] = draw(st.lists(st.lists(few, min_size=1, max_size=2, unique=True).map(
                lambda r: {"required": r}), min_size=1, max_size=2))
        elif extra is not None:
            out[extra] = draw(st.integers(0, 2))
        return out

    # or an array of such objects: a branch without `type` holds every array, so the oneOf then
    # keeps the arrays that fail the other branch's `items`
    array_of = branch().map(lambda b: {"type": "array", "items": b})
    return {"oneOf": draw(st.lists(branch() | array_of, min_size=2, max_size=3))}


@st.composite
def _recursive_one_of(draw, name: str, depth: int, refs: tuple[str, ...]):
    """An object definition that holds itself below a property (or in an array there), beside a
    `oneOf` of required lists: overlapping branches with recursive references, made exclusive by
    negating the others (`structgen.schema.exclusive`)."""
    sub = subschemas(max(depth - 1, 0), refs)
    itself = {"$ref": f"#/$defs/{name}"}
    props = {"v": draw(sub), "w": draw(sub), "c": draw(st.sampled_from([itself, {"type": "array", "items": itself}]))}
    required = st.lists(st.sampled_from(sorted(props)), min_size=1, max_size=2, unique=True)
    return {"type": "object", "properties": props,
            "oneOf": draw(st.lists(required.map(lambda r: {"required": r}), min_size=2, max_size=3))}
