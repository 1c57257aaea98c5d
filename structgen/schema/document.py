"""The schema document: loading the user's input, JSON pointers and local `$ref`.

A schema arrives as a dict, a bool, JSON text or a Pydantic model class; all
become one JSON document. References are resolved inside that document only
(structgen never downloads anything), so a `$ref` is a JSON pointer or an
anchor, optionally prefixed with the root's own `$id`.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

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
    return pointer + "".join("/" + escape(str(t)) for t in tokens)


class Document:
    """The root schema with pointer and anchor lookup for local references."""

    def __init__(self, root: dict | bool):
        self.root = root
        base = root.get("$id", root.get("id")) if isinstance(root, dict) else None
        self.base = base.split("#")[0] if isinstance(base, str) else ""
        self._anchors: dict[str, tuple[object, str]] | None = None

    def resolve(self, ref: str, pointer: str) -> tuple[object, str]:
        """The schema `ref` points to, and that schema's canonical pointer."""
        if not isinstance(ref, str):
            raise InvalidSchemaError("$ref must be a string", pointer)
        location, _, fragment = ref.partition("#")
        if location and location != self.base:
            raise UnsupportedSchemaError("$ref", pointer, f"remote reference {ref!r}; only local references resolve")
        fragment = unquote(fragment)
        if fragment == "" or fragment.startswith("/"):
            return self._walk(fragment, ref, pointer)
        return self._anchor(fragment, ref, pointer)

    def _walk(self, fragment: str, ref: str, pointer: str) -> tuple[object, str]:
        node = self.root
        tokens = fragment.split("/")[1:] if fragment else []
        path = []
        for raw in tokens:
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise InvalidSchemaError(f"$ref {ref!r} points to nothing", pointer)
            path.append(token)
        if not isinstance(node, (dict, bool)):
            raise InvalidSchemaError(f"$ref {ref!r} points to a non-schema", pointer)
        return node, child("", *path)

    def _anchor(self, name: str, ref: str, pointer: str) -> tuple[object, str]:
        if self._anchors is None:
            self._anchors = {}
            self._index(self.root, "")
        if name not in self._anchors:
            raise InvalidSchemaError(f"$ref {ref!r}: no such anchor", pointer)
        return self._anchors[name]

    def _index(self, node, pointer: str) -> None:
        if isinstance(node, dict):
            anchor = node.get("$anchor")
            legacy = node.get("$id", node.get("id"))
            if isinstance(anchor, str):
                self._anchors.setdefault(anchor, (node, pointer))
            if isinstance(legacy, str) and legacy.startswith("#"):
                self._anchors.setdefault(legacy[1:], (node, pointer))
            for key, value in node.items():
                if key not in ("enum", "const", "default", "examples"):
                    self._index(value, child(pointer, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                self._index(value, child(pointer, i))
