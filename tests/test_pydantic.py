"""Pydantic types as schemas: closed objects unless `extra="allow"`, and instances out.

Judges: Pydantic itself (the instance's type, `model_validate_json` of the text) and
`jsonschema` against the schema Pydantic writes. The tiny random model knows no JSON,
so every structure in its output comes from the constraint.
"""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

import structgen
from structgen.integrations.pydantic import pydantic_schema


class Pet(BaseModel):
    name: str = Field(max_length=6)
    legs: int = Field(ge=0, le=8)


class Owner(BaseModel):
    nick: str = Field(max_length=5)
    pet: Pet


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: bool


class Forbidding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: bool


class EvenLegs(BaseModel):
    legs: int = Field(ge=0, le=9)

    @field_validator("legs")
    @classmethod
    def even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("an odd number of legs")
        return value


def test_models_are_closed_unless_extra_allows(tiny_lm):
    closed = pydantic_schema(Owner).schema
    assert closed["additionalProperties"] is False and closed["$defs"]["Pet"]["additionalProperties"] is False
    assert pydantic_schema(Forbidding).schema["additionalProperties"] is False
    assert pydantic_schema(Open).schema["additionalProperties"] is True
    # Pydantic's own schema leaves them open: an undeclared key passes its judge, not ours
    extra = {"nick": "x", "pet": {"name": "a", "legs": 1}, "color": "red"}
    jsonschema.validate(extra, Owner.model_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(extra, closed)


@pytest.mark.parametrize("seed", range(3))
def test_a_model_class_gives_an_instance(tiny_lm, seed):
    out = structgen.generate(Owner, "An owner and a pet", model=tiny_lm, seed=seed, max_tokens=60)
    assert out.valid, out.reason
    assert isinstance(out.value, Owner) and isinstance(out.value.pet, Pet)
    assert out.value == Owner.model_validate_json(out.text)
    assert set(json.loads(out.text)) == {"nick", "pet"} and set(json.loads(out.text)["pet"]) == {"name", "legs"}


def test_a_list_of_models_gives_a_list_of_instances(tiny_lm):
    kind = list[Pet]
    for seed in range(3):
        out = structgen.generate(kind, "Some pets", model=tiny_lm, seed=seed, max_tokens=80)
        assert out.valid, out.reason
        assert isinstance(out.value, list) and all(isinstance(p, Pet) for p in out.value)
        assert out.value == TypeAdapter(kind).validate_json(out.text)


def test_a_type_adapter_is_taken_as_is(tiny_lm):
    out = structgen.generate(TypeAdapter(dict[str, Pet]), "x", model=tiny_lm, seed=1, max_tokens=80)
    assert out.valid, out.reason
    assert all(isinstance(p, Pet) for p in out.value.values())


def test_undeclared_keys_pass_only_where_extra_allows(byte_vocab):
    text = b'{"a":true,"b":[1]}'
    for kind, accepted in ((Open, True), (Forbidding, False), (Pet, False)):
        constraint = structgen.compile_json_schema(pydantic_schema(kind).schema, byte_vocab)
        assert constraint.accepts_text(text) is accepted
        assert constraint.accepts_text(b'{"a":true}') is (kind is not Pet)
    assert pydantic_schema(Open).to_python(text.decode()).b == [1]  # Pydantic keeps them on the instance


def test_a_validator_beyond_the_schema_makes_the_output_invalid(tiny_lm):
    outs = [structgen.generate(EvenLegs, "x", model=tiny_lm, seed=s, max_tokens=20, fast_forward=False)
            for s in range(8)]  # seeds known to give both even and odd numbers of legs
    for out in outs:
        legs = json.loads(out.text)["legs"]
        assert out.valid == (legs % 2 == 0), out.reason
        if not out.valid:
            assert out.reason.startswith("Pydantic rejected the output") and out.value is None
    assert {o.valid for o in outs} == {True, False}


def test_a_type_pydantic_cannot_describe_is_an_invalid_schema_error(tiny_lm):
    with pytest.raises(structgen.InvalidSchemaError, match="Pydantic cannot make a JSON Schema"):
        structgen.generate(type("Opaque", (), {}), "x", model=tiny_lm)


def test_import_structgen_does_not_import_pydantic():
    code = "import structgen, sys; print('pydantic' in sys.modules, 'torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "False"]
