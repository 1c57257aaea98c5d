"""JSON equality as hashable keys: what "distinct items" means.

Two JSON values are equal (JSON Schema, `uniqueItems`) when they are the
same kind and equal as that kind: numbers by mathematical value (``1`` is
``1.0``), objects by their members whatever their order, arrays item by
item, and ``true`` is not ``1``. A value's key is built so that equal values
have equal keys, and it is hashable, so the items an array has seen are a
frozenset of keys.

Each item gets two keys, one per reading of its numbers: exact decimals
(the spec's arithmetic) and Python's (`json.loads`: integers exact, other
numbers rounded to a float, which is what `jsonschema`, the judge, compares).
An item is a duplicate when either key was seen, so the check refuses what
either reading calls equal (``1.0000000000000001`` and ``1`` are equal as
floats only): it never lets through an array that one of them calls invalid.
"""

from __future__ import annotations

import json
from decimal import Decimal

__all__ = ["item_keys"]


def _key(value):
    if isinstance(value, dict):
        return "o", frozenset((k, _key(v)) for k, v in value.items())
    if isinstance(value, list):
        return "a", tuple(_key(v) for v in value)
    if isinstance(value, bool):
        return "b", value
    if value is None:
        return ("z",)
    if isinstance(value, str):
        return "s", value
    return "n", value  # int, float or Decimal: equal numbers hash equal


def item_keys(text: bytes) -> frozenset:
    """The keys of the JSON value `text` (valid JSON, as the automaton wrote it) under both readings.

    Raises
    ------
    ValueError
        `text` is not one JSON value.
    """
    keys = {("exact", _key(json.loads(text, parse_float=Decimal, parse_int=Decimal)))}
    try:
        keys.add(("float", _key(json.loads(text))))
    except ValueError:  # an integer too long for Python's int parser: the exact reading decides alone
        pass
    return frozenset(keys)
