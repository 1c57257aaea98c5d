"""Differential fuzzing of compiled JSON Schemas (quick, seeded; `make fuzz` runs the long campaign).

Every text the constraint accepts, in every spelling a model can write, and
every finished mask walk must be a valid instance for `jsonschema` (with
ECMA-262 patterns) as a float value *and* as the exact decimal value; no
input may raise anything but a `StructgenError`. The judge is independent of
the engine; see tests/fuzzing/.
"""

from __future__ import annotations

import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzzing.checks import Tally, check_schema
from tests.fuzzing.judge import Judge
from tests.fuzzing.schemas import SEEDS, schemas
from tests.fuzzing.texts import json_values, number_spellings
from tests.fuzzing.vocabularies import byte_vocabulary

pytestmark = pytest.mark.fuzz

# CI (`CI=true`) draws 1,500 schemas; a local `make test` 600, to keep it within its time (`make fuzz`: the long run)
QUICK = settings(max_examples=1500 if os.environ.get("CI") else 600, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

VOCAB = byte_vocabulary()

def _assert_clean(tally: Tally):
    bad = tally.failures()
    assert not bad, "\n".join(f"{f.kind}: schema={f.subject!r} text={f.text!r}: {f.cause}" for f in bad[:5])


@pytest.mark.parametrize("schema", SEEDS, ids=lambda s: str(s)[:60])
def test_keyword_interactions_are_sound(schema):
    values = [0, 1, 1.0, -0.0, 1.5, 3, 9007199254740993, "é", "\ufeff", "a", {"xa": 1}, {"b": 1, "a": 2},
              [1, 1.0], {"a": 1}, {"c": {"v": 1.0}}, {"v": 1, "w": "a"}, {"w": "a", "c": {"v": 1}},
              {"v": 1, "c": {"w": "b"}}]
    tally = Tally()
    check_schema(schema, values, VOCAB, random.Random(0), tally, walks=20, n_spellings=12, n_mutations=6)
    # the check saw accepted texts (so it could have failed), or the compiler refused the seed by name
    assert tally.counts["texts accepted"] > 0 or sum(tally.compile_refused.values()) == 1
    _assert_clean(tally)


@QUICK
@given(schema=schemas(), values=st.lists(json_values(), max_size=4), rng_seed=st.integers(0, 2**32 - 1),
       flexible=st.booleans())
def test_random_schemas_are_sound(schema, values, rng_seed, flexible):
    tally = Tally()
    check_schema(schema, values, VOCAB, random.Random(rng_seed), tally,
                 whitespace="flexible" if flexible else "compact", walks=2)
    _assert_clean(tally)


@QUICK
@given(schema=schemas(), values=st.lists(json_values(), max_size=4), rng_seed=st.integers(0, 2**32 - 1))
def test_random_schemas_are_sound_with_tight_one_of_budgets(schema, values, rng_seed):
    """The oneOf fallback that keeps a subset its summaries prove exclusive (`parting`) runs for few
    real schemas at the usual budgets; tight ones send most overlapping oneOfs through it."""
    from tests.fuzzing.__main__ import TIGHT_ONE_OF, _one_of_budgets

    tally = Tally()
    with _one_of_budgets(TIGHT_ONE_OF):
        check_schema(schema, values, VOCAB, random.Random(rng_seed), tally, walks=2)
    _assert_clean(tally)


# --- the judge itself: it must reject what it is there to catch ----------------------------------------


@pytest.mark.parametrize("schema, text, why", [
    ({"type": "integer"}, b"1.0000000000000000001", "exact"),  # the float is 1.0; the value is not an integer
    ({"not": {"type": "integer"}}, b"9007199254740993.5", "float"),  # the float rounds to an integer
    ({"type": "number", "maximum": 1}, b"1.00000000000000000001", "exact"),
    ({"type": "number", "multipleOf": 0.5}, b"0.5000000000000000001", "exact"),
    ({"type": "string", "pattern": "^\\W$"}, b"\"\\u0041\"", "float"),
    ({}, b"NaN", "not JSON"),
    ({}, b"Infinity", "not JSON"),
    ({}, b"\"\xff\"", "not JSON"),
    ({"type": "object", "minProperties": 2}, b'{"b":1,"b":2}', "float"),
])
def test_judge_rejects(schema, text, why):
    verdict = Judge(schema).verdict(text)
    assert verdict is not None and why in verdict, verdict


@pytest.mark.parametrize("x", [0, 1, -7, 100, 2**60, 0.5, -2.25, 1e300, 5e-324, 0.1])
def test_number_spellings_denote_the_number(x):
    """Every spelling is a JSON number whose float is x (the judge's view); some differ in exact value."""
    for s in number_spellings(x):
        assert Judge({"const": x}).is_valid(json.loads(s)), s
