"""The schema document: loading the user's input, JSON pointers and `$ref`.

A schema arrives as a dict, a bool, JSON text or a Pydantic model class; all
become one JSON document. References resolve inside that document and the
resources of a `referencing.Registry` the caller passes, nowhere else
(structgen never downloads or opens anything on its own).
"""

from __future__ import annotations

import json

from ..errors import InvalidSchemaError, NestingTooDeepError, UnsupportedSchemaError

#: How deeply the schema document's objects and arrays may nest. The deepest
#: schema of JSONSchemaBench nests 27 levels; every walk over the document
#: (anchors, `const` values, the compiler) recurses, and this limit keeps them
#: all far inside Python's recursion limit.
MAX_SCHEMA_DEPTH = 128


def load_schema(schema) -> dict | bool:
    """The schema as a JSON document (dict or bool), checked so that every later walk is safe.

    Accepts a dict, a bool, JSON text (str, or bytes in UTF-8) or a Pydantic
    model class.

    Raises
    ------
    InvalidSchemaError
        Bytes that are not UTF-8, text that is not JSON, a value that is not an
        object or a boolean, or a string or name holding a lone surrogate
        (which no UTF-8 output can contain; the message gives its pointer).
    NestingTooDeepError
        A document nested deeper than `MAX_SCHEMA_DEPTH` levels.
    """
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        schema = schema.model_json_schema()
    if isinstance(schema, bytes):
        try:
            schema = schema.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidSchemaError(f"schema text is not valid UTF-8 (byte offset {exc.start})") from None
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise InvalidSchemaError(f"schema is not JSON: {exc}") from None
        except RecursionError:
            raise NestingTooDeepError("the schema's JSON text", MAX_SCHEMA_DEPTH) from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidSchemaError(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    check_depth(schema)
    found = lone_surrogate(schema)
    if found is not None:
        pointer, offset, char = found
        raise InvalidSchemaError(f"lone surrogate U+{ord(char):04X} at offset {offset}", pointer or "/")
    return schema


def check_depth(document) -> None:
    """Raise `NestingTooDeepError` if `document` nests deeper than `MAX_SCHEMA_DEPTH`.

    Iterative (an explicit stack), and it stops at the first container past
    the limit, so a document of any depth is refused quickly.
    """
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_SCHEMA_DEPTH:
                raise NestingTooDeepError("the schema document", MAX_SCHEMA_DEPTH)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))


def lone_surrogate(value) -> tuple[str, int, str] | None:
    """The first lone surrogate in a string or a JSON value (every string and name): its
    JSON pointer ("" for `value` itself), its offset in that string and the character;
    None when there is none. Iterative: a value may nest as deep as the JSON parser allowed.
    """
    try:  # the common case in one C pass: the whole value encodes
        json.dumps(value, ensure_ascii=False).encode("utf-8")
        return None
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        pass  # find where (or a value json cannot write, which the walk skips)
    todo = [("", value)]
    while todo:
        pointer, item = todo.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                where = f"{pointer}/{escape(key) if isinstance(key, str) else key}"
                todo.append((where, key))
                todo.append((where, sub))
        elif isinstance(item, list):
            todo.extend((f"{pointer}/{i}", sub) for i, sub in enumerate(item))
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return pointer, exc.start, item[exc.start]
    return None


def escape(token: str) -> str:
    """One JSON-pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def child(pointer: str, *tokens) -> str:
    """`pointer` extended by `tokens` (names or indexes), escaped."""
    if len(tokens) == 1:  # the common case, without a generator (the compiler makes tens of thousands)
        token = tokens[0] if type(tokens[0]) is str else str(tokens[0])
        return pointer + "/" + (escape(token) if "~" in token or "/" in token else token)
    return pointer + "".join("/" + escape(str(t)) for t in tokens)


#: Keywords whose value is one subschema, an object of subschemas, or an array of subschemas
#: (every draft's); the walks that find `$id` scopes and schema positions follow these only,
#: so that an `$id` *property name* or an `enum` value holding "$id" never changes a scope.
SUBSCHEMA_ONE = frozenset({"items", "additionalItems", "additionalProperties", "propertyNames", "not", "if",
                           "then", "else", "contains", "unevaluatedItems", "unevaluatedProperties", "contentSchema"})
SUBSCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
                            "dependencies"})
SUBSCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
#: Keywords whose value is data, never a schema.
_VALUES = frozenset({"enum", "const", "default", "examples"})


def _location(pointer: str) -> tuple[str | None, str]:
    """(registry URI, path) of a canonical pointer; the URI is None in the root document, whose pointers
    are empty or start with "/" (and may hold "#" in a token: a property named "#") or, for a target
    that only its reference names, start with "#"."""
    if not pointer or pointer.startswith("/"):
        return None, pointer
    location, _, path = pointer.partition("#")
    return location or None, path


def subschemas(node: dict):
    """(key path, subschema) for every subschema directly under the schema `node`."""
    for key, value in node.items():
        if key in SUBSCHEMA_ONE and isinstance(value, (dict, bool)):
            yield (key,), value
        elif key in SUBSCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                if isinstance(sub, (dict, bool)):
                    yield (key, name), sub
        elif key in SUBSCHEMA_LISTS and isinstance(value, list):
            for i, sub in enumerate(value):
                if isinstance(sub, (dict, bool)):
                    yield (key, str(i)), sub


def schema_positions(root):
    """(pointer, schema) for `root` and every subschema under it (`subschemas`), in document order."""
    todo = [("", root)]
    while todo:
        pointer, node = todo.pop()
        yield pointer, node
        if isinstance(node, dict):
            todo.extend(reversed([(child(pointer, *path), sub) for path, sub in subschemas(node)]))


class Document:
    """The root schema and the references out of it, resolved the way the spec says.

    Resolution is `referencing`'s (the library `jsonschema` itself uses):
    `$id` scopes (each embedded resource its own base URI), `$anchor` and
    the legacy `"$id": "#name"`/`"id"` anchors, relative and URN references,
    JSON pointers inside any resource, and the dialect of each resource
    (draft 7 ignores an `$id` beside `$ref`, 2020-12 does not). Only the
    root document and the resources of `registry` are reachable: a
    reference to anything else is refused, never fetched.

    Every schema reached gets a canonical pointer, the compiler's name for
    it (recursion detection, rule names, error messages): a JSON pointer
    into the root document, or ``URI#pointer`` inside a registry resource.

    Every schema it hands out is read as the root's declared draft reads it
    (`dialect.Dialect`): the keywords that draft lacks are gone.

    Parameters
    ----------
    root : dict or bool
        The loaded schema (`load_schema`).
    registry : referencing.Registry or None
        Further resources that references may reach, e.g. shared
        definitions; None means none.

    Raises
    ------
    InvalidSchemaError
        From `Dialect.read`: a keyword in a form its draft does not have.
    """

    def __init__(self, root: dict | bool, registry=None):
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012, specification_with

        from .dialect import Dialect

        self.dialect = Dialect(root)
        self._root_read = not self.dialect.may_change(root)  # else every schema of the root is read here
        root = self.root = root if self._root_read else self.dialect.read(root, "")
        dialect = root.get("$schema") if isinstance(root, dict) else None
        try:
            self._spec = specification_with(dialect, default=DRAFT202012) if isinstance(dialect, str) else DRAFT202012
        except Exception:  # an unknown dialect URI: the judge falls back to 2020-12 too
            self._spec = DRAFT202012
        resource = self._spec.create_resource(root)
        self._registry = registry if registry is not None else Registry()
        self._root_resolver = self._registry.resolver_with_root(resource)
        self._where: dict[int, str] = {}  # id(object) -> canonical pointer, filled on the first lookup
        self._indexed: set[str] = set()  # the documents in `_where` ("" the root, else registry URIs)
        self._alone: dict[int, tuple[dict, dict]] = {}  # id(schema) -> (schema, as `ref_alone` reads it)
        self._single: bool | None = None  # `_single_resource()`, decided on the first reference
        self._local: dict[str, tuple[object, str]] = {}  # fragment references of a single-resource document

    def resolve(self, ref: str, pointer: str) -> tuple[object, str]:
        """The schema `ref` points to, and that schema's canonical pointer.

        Parameters
        ----------
        ref : str
            The value of a `$ref`.
        pointer : str
            The canonical pointer of that `$ref` keyword (its schema's
            pointer plus ``/$ref``); it decides the base URI.

        Raises
        ------
        InvalidSchemaError
            `ref` is not a string, or points to nothing inside a known resource.
        UnsupportedSchemaError
            `ref` leaves the root document for a resource the registry lacks.
        """
        if not isinstance(ref, str):
            raise InvalidSchemaError("$ref must be a string", pointer)
        if ref.startswith("#") and _location(pointer)[0] is None and self._single_resource():
            # one base URI for the whole document: a fragment resolves alike from anywhere in it
            if ref not in self._local:
                self._local[ref] = self._lookup(self._root_resolver, ref, pointer)
            return self._local[ref]
        return self._lookup(self._scope(pointer)[0], ref, pointer)

    def resolve_dynamic(self, ref: str, pointer: str) -> tuple[object, str]:
        """The schema a `$dynamicRef` reaches, where the schema alone decides it, and its pointer.

        A `$dynamicRef` resolves as a `$ref` first. Only when that target
        holds a `$dynamicAnchor` of the fragment's name does the dynamic
        scope matter: then the outermost schema resource entered on the way
        with an anchor of that name wins. Evaluation starts at the root, so
        when the root's resource has one, it is that; when the first target
        is the only one (in the document and the registry), it is that.
        Anything else depends on the path taken, which one automaton cannot
        follow.

        Raises
        ------
        UnsupportedSchemaError
            The target depends on the dynamic scope; as `resolve` otherwise.
        """
        target, where = self.resolve(ref, pointer)
        name = ref.partition("#")[2]
        if not (isinstance(target, dict) and target.get("$dynamicAnchor") == name) or name.startswith("/"):
            return target, where
        anchored = [(node, at, resource) for node, at, resource in self._dynamic_anchors() if
                    node.get("$dynamicAnchor") == name]
        outermost = [(node, at) for node, at, resource in anchored if resource is None]
        if outermost:
            return outermost[0]
        in_registry = any("$dynamicAnchor" in json.dumps(self._registry.contents(uri)) for uri in self._registry)
        if len(anchored) == 1 and anchored[0][0] is target and not in_registry:
            return target, where
        raise UnsupportedSchemaError("$dynamicRef", pointer, f"which ${{dynamicAnchor}} {name!r} it reaches depends "
                                     "on the path evaluation takes (the root's resource has none)")

    def _dynamic_anchors(self) -> list:
        """(schema, pointer, resource) for every schema of the root document holding a
        `$dynamicAnchor`; resource is None inside the root's own resource, else the `$id` of
        the embedded resource around it."""
        out, todo = [], [(self.root, "", None)]
        while todo:
            node, at, resource = todo.pop()
            if not isinstance(node, dict):
                continue
            if at and self._spec.create_resource(node).id() is not None:
                resource = at
            if "$dynamicAnchor" in node:
                out.append((node, at, resource))
            todo.extend((sub, child(at, *path), resource) for path, sub in subschemas(node))
        return out

    def _single_resource(self) -> bool:
        """Whether no subschema of the root document starts a resource of its own (an `$id`)."""
        if self._single is None:
            self._single = not any(pointer and isinstance(node, dict) and self._spec.create_resource(node).id()
                                   for pointer, node in schema_positions(self.root))
        return self._single

    def _lookup(self, resolver, ref: str, pointer: str) -> tuple[object, str]:
        """`resolve` through `resolver` (the one whose base URI is the `$ref`'s)."""
        from referencing.exceptions import NoSuchAnchor, PointerToNowhere, Unresolvable

        try:
            resolved = resolver.lookup(ref)
        except (PointerToNowhere, NoSuchAnchor):
            raise InvalidSchemaError(f"$ref {ref!r} points to nothing", pointer) from None
        except Unresolvable:  # the resource itself is unknown
            raise UnsupportedSchemaError("$ref", pointer, f"reference {ref!r} leaves the document for a resource "
                                         "that is not in the registry (structgen never fetches one)") from None
        except Exception as exc:  # a malformed URI or pointer
            raise InvalidSchemaError(f"$ref {ref!r} cannot be resolved: {exc}", pointer) from None
        target = resolved.contents
        if isinstance(target, bool):
            return target, ref  # a boolean never recurses: its name only has to be stable
        if not isinstance(target, dict):
            raise InvalidSchemaError(f"$ref {ref!r} points to a non-schema", pointer)
        where = self._pointer_of(target, ref, pointer)
        if not self.dialect.is_read(target) and not (self._root_read and _location(where)[0] is None):
            # outside the schema positions of the root document, or in the registry
            target = self.dialect.read(target, where)
            self._where.setdefault(id(target), where)
        return target, where

    def _pointer_of(self, target: dict, ref: str, pointer: str) -> str:
        if not self._indexed:
            self._indexed.add("")
            self._index(self.root, "")
        if id(target) not in self._where:
            for uri in list(self._registry):
                if uri not in self._indexed:
                    self._indexed.add(uri)
                    self._index(self._registry.contents(uri), uri + "#")
                    if id(target) in self._where:
                        break
        if id(target) not in self._where:  # inside no document the walks know: name it by the reference
            self._index(target, ref if "#" in ref else ref + "#")
        return self._where[id(target)]

    def _index(self, node, pointer: str) -> None:
        """Record the pointer of every object under `node` (outside values: `enum`, `const`, ...).

        The keys of a map of named schemas (`properties`, `definitions`, ...) are names, not
        keywords: a definition named "enum" is a schema like any other.
        """
        todo = [(node, pointer, False)]  # (node, its pointer, whether its keys are names)
        while todo:
            node, pointer, names = todo.pop()
            if isinstance(node, dict):
                self._where.setdefault(id(node), pointer)
                todo.extend((sub, child(pointer, key), not names and key in SUBSCHEMA_MAPS)
                            for key, sub in node.items() if names or key not in _VALUES)
            elif isinstance(node, list):
                todo.extend((sub, child(pointer, i), False) for i, sub in enumerate(node))

    @property
    def integers_with_fraction(self) -> bool:
        """Whether the root's dialect counts 1.0 as an integer (draft 6 on; draft 4 needs no fraction)."""
        return self._spec.name not in ("draft-03", "draft-04")

    def ref_alone(self, schema: dict, pointer: str) -> dict:
        """`schema` as its dialect reads it: drafts 3 to 7 ignore every keyword beside `$ref`.

        `pointer` is the schema's own canonical pointer. Returns `schema`
        itself, or (drafts 3 to 7, a `$ref` with siblings) ``{"$ref": ...}``,
        the same object for the same schema.
        """
        if "$ref" not in schema or len(schema) == 1:
            return schema
        if id(schema) not in self._alone:
            spec = self._scope(child(pointer, "$ref"))[1]
            legacy = spec.name in ("draft-03", "draft-04", "draft-06", "draft-07")
            self._alone[id(schema)] = (schema, {"$ref": schema["$ref"]} if legacy else schema)
        return self._alone[id(schema)][1]

    def _scope(self, pointer: str):
        """The resolver whose base URI is that of the schema holding the keyword at `pointer`,
        and that schema's dialect (a `referencing` specification)."""
        from referencing.jsonschema import specification_with

        location, path = _location(pointer)
        if location is not None:
            resolver = self._registry.resolver(location)
            node = self._registry.contents(location)
        else:
            resolver, node = self._root_resolver, self.root
        spec = self._spec
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:-1]] if path else []
        i = 0
        while isinstance(node, dict):
            dialect = node.get("$schema")
            if isinstance(dialect, str):
                try:
                    spec = specification_with(dialect, default=spec)
                except Exception:
                    pass
            resolver = resolver.in_subresource(spec.create_resource(node))
            step = next(((path_, sub) for path_, sub in subschemas(node) if tuple(tokens[i:i + len(path_)]) == path_),
                        None)
            if step is None:
                break
            i += len(step[0])
            node = step[1]
        return resolver, spec
