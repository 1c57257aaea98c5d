"""Mask walks with the real SmolLM2 vocabulary (quick, seeded; `make fuzz --vocab smollm2` for more).

From `start()`, random tokens among those `mask` allows: `advance` must
agree with the mask on every probed token, `is_accepting` with the mask's
end-of-sequence entry, and every finished output must be a valid instance
for the judge (float and exact values). Multi-byte tokens cross the
automaton's internal boundaries (a quote and a digit in one token, a token
ending inside a UTF-8 character), which the one-byte vocabulary never does.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing.checks import Tally, check_schema
from tests.fuzzing.schemas import schemas

pytestmark = pytest.mark.fuzz

SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8}, "n": {"type": "number"}},
     "required": ["name"]},
    {"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 500}, "maxItems": 4},
    {"type": "string", "format": "date-time"},
    {"anyOf": [{"type": "number", "multipleOf": 0.5}, {"enum": ["é", "\ufeff", "a\"b"]}]},
    {"type": "string", "pattern": "^[\\w.]{2,6}@\\d$"},
    {"$defs": {"t": {"type": "object", "properties": {"k": {"type": "array", "items": {"$ref": "#/$defs/t"}}}}},
     "$ref": "#/$defs/t"},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: str(s)[:50])
def test_real_vocabulary_walks(schema, smollm2_vocab):
    tally = Tally()
    check_schema(schema, [], smollm2_vocab, random.Random(0), tally, walks=12)
    assert tally.counts["walks"] == 12 and tally.counts["walks"] > tally.counts["walks unfinished"]
    bad = tally.failures()
    assert not bad, "\n".join(f"{f.kind}: text={f.text!r}: {f.cause}" for f in bad[:5])


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(schema=schemas(max_depth=2), rng_seed=st.integers(0, 2**32 - 1))
def test_random_schemas_real_vocabulary(schema, rng_seed, smollm2_vocab):
    tally = Tally()
    check_schema(schema, [], smollm2_vocab, random.Random(rng_seed), tally, walks=2, n_mutations=2)
    bad = tally.failures()
    assert not bad, "\n".join(f"{f.kind}: schema={schema!r} text={f.text!r}: {f.cause}" for f in bad[:5])
