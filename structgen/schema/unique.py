"""Where `uniqueItems` applies: the instance paths of the arrays whose items must be distinct.

Distinct items are not a regular (nor a context-free) language, so the
schema compiler cannot enforce `uniqueItems` in its automaton; a checked
constraint (`structgen.checks`) enforces it at run time instead, on the
arrays at the paths this module finds. A path is a tuple of tokens:

- ``("name", n)``: the member named ``n`` (`properties`);
- ``("any-name",)``: any member (`additionalProperties` of an object that
  has neither `properties` nor `patternProperties`);
- ``("pattern", p)``: every member whose name the ECMA-262 regex ``p``
  matches (`patternProperties`);
- ``("other-name", names, patterns)``: every member neither named in
  ``names`` nor matched by one of ``patterns`` (`additionalProperties`
  beside `properties` or `patternProperties`);
- ``("index", i)``: item ``i`` (`prefixItems`, or an `items` array);
- ``("from", n)``: every item from index ``n`` on (`items` after
  `prefixItems`, `additionalItems` after an `items` array, or `items`
  alone with ``n = 0``).

Only conjunctive positions are followed -- `properties`,
`patternProperties`, `additionalProperties`, `items`, `prefixItems`,
`additionalItems`, `$ref` and `allOf` -- because there the keyword applies to every instance at
the path, whatever else the schema says; and an `anyOf`/`oneOf` branch for
the paths whose container kind (an array, an object) every other branch
rejects by its `type`, `const` or `enum` (``oneOf: [{"type": "string"},
{"type": "array", "uniqueItems": true}]``: every valid array there passed
the second branch). A `uniqueItems` reachable only through another branch
(`anyOf`, `oneOf`, `not`, `if`/`then`/`else`,
`dependentSchemas`, `contains`, ...) or inside a `$ref` cycle
(recursion: unboundedly many paths) applies to *some* instances at a path
only, which a path cannot name: that is refused, never relaxed.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import InvalidSchemaError, UnsupportedSchemaError
from .document import Document, child

__all__ = ["Path", "UniqueArrays", "unique_paths", "MAX_PATHS"]

Path = tuple  # of tokens: ("name", str) | ("any-name",) | ("pattern", str) | ("other-name", names, patterns)
#              | ("index", int) | ("from", int)
MAX_PATHS = 4096  # paths of one schema (shared definitions multiply them); more is refused

class UniqueArrays(NamedTuple):
    """What `unique_paths` found."""

    paths: frozenset  # of Path: the arrays whose items must be distinct
    reached: frozenset  # pointers of every schema that applies at a named path
    checked: frozenset  # ("uniqueItems", pointer) of every schema whose uniqueItems the paths check


def _applies(schema) -> bool:
    """Does this schema object itself demand distinct items of more than one item?"""
    if not isinstance(schema, dict) or schema.get("uniqueItems") is not True:
        return False
    high = schema.get("maxItems")
    return high is None or high > 1


def _children(schema: dict, pointer: str):
    """(keyword, subschema, pointer) of every subschema under `schema`, `$ref` excluded."""
    for key, value in schema.items():
        if key in ("enum", "const", "default", "examples", "$defs", "definitions"):
            continue
        if isinstance(value, (dict, bool)) and key in ("items", "additionalItems", "additionalProperties", "not",
                                                        "if", "then", "else", "contains", "propertyNames",
                                                        "unevaluatedItems", "unevaluatedProperties"):
            yield key, value, child(pointer, key)
        elif isinstance(value, dict) and key in ("properties", "patternProperties", "dependentSchemas",
                                                 "dependencies"):
            for name, sub in value.items():
                if isinstance(sub, (dict, bool)):
                    yield key, sub, child(pointer, key, name)
        elif isinstance(value, list) and key in ("allOf", "anyOf", "oneOf", "prefixItems", "items"):
            for i, sub in enumerate(value):
                if isinstance(sub, (dict, bool)):
                    yield key, sub, child(pointer, key, i)


class _Finder:
    def __init__(self, root, registry):
        self.doc = Document(root, registry)
        self.visited: set[str] = set()  # every schema the walk reached at a named path
        self.holders: set[str] = set()  # those of them that demand distinct items
        self._reach: dict[str, str] | None = None  # pointer -> a demanding schema reachable from it
        self._paths: dict[str, frozenset] = {}
        self._open: list[str] = []  # the `$ref` targets being walked (a cycle: recursion)

    def _read(self, schema, pointer: str):
        return self.doc.ref_alone(schema, pointer) if isinstance(schema, dict) else schema

    def _ref(self, schema: dict, pointer: str):
        """The `$ref` target of `schema` and its canonical pointer, or None (also where it cannot be
        resolved: the compiler refuses that reference itself, or ignores it and all below it)."""
        if "$ref" in schema:
            try:
                return self.doc.resolve(schema["$ref"], child(pointer, "$ref"))
            except (UnsupportedSchemaError, InvalidSchemaError):
                return None
        return None

    def _graph(self) -> dict[str, str]:
        """For every schema reachable from the root by any keyword, a demanding schema it reaches (if any)."""
        edges: dict[str, list[str]] = {}
        holders, todo = [], [(self.doc.root, "")]
        while todo:
            schema, where = todo.pop()
            if where in edges:
                continue
            edges[where] = []
            schema = self._read(schema, where)
            if not isinstance(schema, dict):
                continue
            if _applies(schema):
                holders.append(where)
            steps = [(sub, at) for _, sub, at in _children(schema, where)]
            ref = self._ref(schema, where)
            if ref is not None:
                steps.append(ref)
            for sub, at in steps:
                edges[where].append(at)
                todo.append((sub, at))
        back: dict[str, list[str]] = {}
        for source, targets in edges.items():
            for target in targets:
                back.setdefault(target, []).append(source)
        reach = {h: h for h in holders}
        todo = list(holders)
        while todo:  # backwards from the demanding schemas: who reaches one
            at = todo.pop()
            for source in back.get(at, ()):
                if source not in reach:
                    reach[source] = reach[at]
                    todo.append(source)
        return reach

    def witness(self, pointer: str) -> str | None:
        """A pointer of a schema demanding distinct items that the schema at `pointer` reaches, or None."""
        if self._reach is None:
            self._reach = self._graph()
        return self._reach.get(pointer)

    def refuse_under(self, at: str, keyword: str, why: str) -> None:
        found = self.witness(at)
        if found is not None:
            raise UnsupportedSchemaError("uniqueItems", found, f"distinct items are checked only at paths that "
                                         f"properties, items and allOf name; this one is under {keyword} at "
                                         f"{at or '/'} ({why})")

    def paths(self, schema, pointer: str) -> frozenset:
        """The paths, relative to an instance of `schema`, of the arrays whose items must be distinct."""
        schema = self._read(schema, pointer)
        if not isinstance(schema, dict):
            return frozenset()
        if pointer in self._paths:
            return self._paths[pointer]
        self.visited.add(pointer)
        out: set = set()
        if _applies(schema):
            out.add(())
            self.holders.add(pointer)

        def under(token, sub, at):
            out.update((token, *p) for p in self.paths(sub, at))

        for key, sub, at in _children(schema, pointer):
            if key == "properties":
                under(("name", _last(at)), sub, at)
            elif key == "allOf":
                out.update(self.paths(sub, at))
            elif key in ("prefixItems", "items", "additionalItems", "additionalProperties", "patternProperties"):
                self._item(schema, key, sub, at, under)
            elif key in ("anyOf", "oneOf") and self.witness(at) is not None:
                out.update(self._branch(schema[key], key, sub, at, pointer))
            else:
                self.refuse_under(at, key, "it applies to some instances only")
        ref = self._ref(schema, pointer)
        if ref is not None:
            target, at = ref
            if at in self._open:
                self.refuse_under(at, "$ref", "a reference cycle: recursion has unboundedly many paths")
            else:
                self._open.append(at)
                try:
                    out.update(self.paths(target, at))
                finally:
                    self._open.pop()
        if len(out) > MAX_PATHS:
            raise UnsupportedSchemaError("uniqueItems", pointer, f"more than {MAX_PATHS} array paths to check")
        self._paths[pointer] = frozenset(out)
        return self._paths[pointer]

    def _branch(self, branches: list, key: str, sub, at: str, pointer: str) -> set:
        """The paths of an `anyOf`/`oneOf` branch that hold for every valid instance: those whose container
        kind (an array, or an object for a member path) every other branch rejects, so that any valid
        instance of that kind passed this branch. Any other path is refused."""
        others = [(b, child(pointer, key, j)) for j, b in enumerate(branches) if child(pointer, key, j) != at]
        out = set()
        for path in self.paths(sub, at):
            kind = "object" if path and path[0][0] in ("name", "any-name") else "array"
            if not all(self._rejects(b, where, kind, 0) for b, where in others):
                raise UnsupportedSchemaError("uniqueItems", self.witness(at), f"distinct items are checked only "
                                             f"at paths that hold for every instance; this one is under {key} at "
                                             f"{at}, and another branch admits {kind}s too")
            out.add(path)
        return out

    def _rejects(self, schema, pointer: str, kind: str, depth: int) -> bool:
        """Does `schema` provably reject every value of `kind` ("array" or "object") by its `type`, `const`,
        `enum`, an `allOf` member or a `$ref` target?"""
        schema = self._read(schema, pointer)
        if not isinstance(schema, dict):
            return schema is False
        shape = list if kind == "array" else dict
        types = schema.get("type")
        if isinstance(types, (str, list)) and kind not in ([types] if isinstance(types, str) else types):
            return True
        if "const" in schema and not isinstance(schema["const"], shape):
            return True
        if isinstance(schema.get("enum"), list) and not any(isinstance(v, shape) for v in schema["enum"]):
            return True
        if depth >= 8:  # a long chain of references: not proven
            return False
        if isinstance(schema.get("allOf"), list) and any(
                self._rejects(b, child(pointer, "allOf", j), kind, depth + 1) for j, b in enumerate(schema["allOf"])):
            return True
        ref = self._ref(schema, pointer)
        return ref is not None and self._rejects(ref[0], ref[1], kind, depth + 1)

    def _item(self, schema: dict, key: str, sub, at: str, under) -> None:
        """The path token of an item or member subschema, as the compiler reads the array keywords."""
        if key == "additionalProperties":
            names, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
            if isinstance(names, dict) and isinstance(patterns, dict) and (names or patterns):
                under(("other-name", tuple(sorted(names)), tuple(sorted(patterns))), sub, at)
            else:
                under(("any-name",), sub, at)
        elif key == "patternProperties":
            under(("pattern", _last(at)), sub, at)
        elif key == "prefixItems":
            under(("index", int(_last(at))), sub, at)
        elif key == "items" and isinstance(schema["items"], list):
            if "prefixItems" in schema:  # 2020-12 has no items array: the compiler ignores it too
                return
            under(("index", int(_last(at))), sub, at)
        elif key == "items":
            prefix = schema.get("prefixItems")
            under(("from", len(prefix) if isinstance(prefix, list) else 0), sub, at)
        elif isinstance(schema.get("items"), list) and "prefixItems" not in schema:  # additionalItems
            under(("from", len(schema["items"])), sub, at)


def _last(pointer: str) -> str:
    """The last reference token of a JSON pointer, unescaped."""
    return pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")


def unique_paths(root, registry=None) -> UniqueArrays:
    """The instance paths of every array that `root` (a loaded schema) requires to hold distinct items.

    Parameters
    ----------
    root : dict or bool
        The schema document (`structgen.schema.document.load_schema`).
    registry : referencing.Registry or None
        Resources that `$ref` may reach, as in `compile_json_schema`.

    Returns
    -------
    UniqueArrays
        ``paths`` (module docstring; empty when no `uniqueItems` applies);
        ``reached``, the pointers of every schema that applies at a named
        path (where the compiler may report an ignored `uniqueItems` that a
        path covers); ``checked``, the ``("uniqueItems", pointer)`` pairs the
        paths enforce (for `structgen.schema.enforcement`).

    Raises
    ------
    UnsupportedSchemaError
        ``("uniqueItems", pointer)`` for a `uniqueItems` at a position no
        path names (a branch, `patternProperties`, recursion), or for more
        than `MAX_PATHS` paths.
    """
    finder = _Finder(root, registry)
    paths = finder.paths(root, "")
    return UniqueArrays(paths, frozenset(finder.visited), frozenset(("uniqueItems", p) for p in finder.holders))
