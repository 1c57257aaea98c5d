"""Pydantic types as schemas, and outputs as instances of them.

A Pydantic model class, a dataclass or TypedDict, or any type a
``pydantic.TypeAdapter`` takes (``list[User]``, ``dict[str, User]``,
``User | None``, a ``TypeAdapter`` itself) becomes its JSON Schema, and the
generated JSON becomes a value of that type (``TypeAdapter.validate_json``).

Objects are closed by default: Pydantic writes no ``additionalProperties``
for a model whose ``extra`` setting is "ignore" (the default), which in JSON
Schema means *any* further key is allowed, so a model could write
undeclared free-form keys until it runs out of tokens. Here every model,
dataclass and TypedDict gets ``additionalProperties: false`` unless its
configuration says ``extra="allow"`` (then undeclared keys may appear, and
Pydantic keeps them on the instance). ``extra="forbid"`` is closed by
Pydantic already.

Pydantic is imported only when the given schema is a Python type (which
means the caller has imported Pydantic): ``import structgen`` does not need
it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidSchemaError, StructgenError


class OutputValidationError(StructgenError):
    """Pydantic refused a JSON value that the JSON Schema accepted (a validator of the
    model's own, or a constraint its JSON Schema does not express)."""


@dataclass(frozen=True)
class PydanticSchema:
    """A Python type's JSON Schema (closed as described above) and its adapter."""

    schema: dict
    adapter: Any  # pydantic.TypeAdapter

    def to_python(self, text: str) -> Any:
        """The instance that the JSON ``text`` stands for.

        Raises
        ------
        OutputValidationError
            Pydantic's validation fails (its first error, on one line).
        """
        from pydantic import ValidationError

        try:
            return self.adapter.validate_json(text)
        except ValidationError as error:
            first = error.errors()[0]
            where = "/".join(str(p) for p in first.get("loc", ()))
            raise OutputValidationError(f"{first.get('msg', error)}" + (f" at /{where}" if where else "")) from None


def is_python_type(schema: Any) -> bool:
    """Is ``schema`` something for Pydantic (a type or a ``TypeAdapter``), rather than a JSON document?

    Without Pydantic imported it cannot be: the caller would have had to import it to make one.
    """
    if schema is None or isinstance(schema, (dict, bool, str, bytes, bytearray, list, int, float)):
        return False
    return "pydantic" in sys.modules


def pydantic_schema(schema: Any) -> PydanticSchema:
    """The closed JSON Schema of a Pydantic-compatible type, with the adapter that validates its outputs.

    Raises
    ------
    InvalidSchemaError
        Pydantic cannot make a JSON Schema of ``schema`` (its reason, on one line).
    """
    from pydantic import PydanticUserError, TypeAdapter
    from pydantic.errors import PydanticInvalidForJsonSchema
    from pydantic.json_schema import GenerateJsonSchema

    class Closed(GenerateJsonSchema):
        """Pydantic's JSON Schema, with objects closed unless their ``extra`` is "allow"."""

        def model_schema(self, core):
            return _close(super().model_schema(core), core["cls"].model_config)

        def dataclass_schema(self, core):
            return _close(super().dataclass_schema(core), _config(core["cls"]))

        def typed_dict_schema(self, core):
            return _close(super().typed_dict_schema(core), _config(core["cls"]))

    try:
        adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
        document = adapter.json_schema(schema_generator=Closed)
    except (PydanticUserError, PydanticInvalidForJsonSchema, TypeError, ValueError) as error:
        name = getattr(schema, "__name__", None) or repr(schema)
        reason = " ".join(str(error).split())
        raise InvalidSchemaError(f"Pydantic cannot make a JSON Schema of {name}: {reason[:300]}") from None
    return PydanticSchema(document, adapter)


def _config(cls) -> dict:
    return getattr(cls, "__pydantic_config__", None) or {}


def _close(document: dict, config) -> dict:
    if document.get("type") == "object" and "additionalProperties" not in document and config.get("extra") != "allow":
        document["additionalProperties"] = False
    return document
