"""The lazily built document automaton (`structgen.automata.lazy.LazyDFA`) against the eager one.

The judge is the eager construction (`build_dfa`: subset construction of the
whole document, then minimisation), which the rest of the suite checks
against jsonschema: the lazy automaton must give the same masks and accept
the same texts, build only what decoding reaches, keep to its budget while
decoding, and give the same answers when several threads share it.
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

import structgen
from structgen.automata.dfa import build_dfa
from structgen.automata.lazy import UNKNOWN
from structgen.constraint import Constraint
from structgen.errors import CompileBudgetError
from structgen.schema import compile_schema_ir
from tests.fuzzing.vocabularies import byte_vocabulary

SCHEMAS = [
    {"type": "object", "properties": {"a": {"type": "integer", "minimum": -5, "maximum": 300},
                                      "b": {"type": "string", "maxLength": 4},
                                      "c": {"enum": ["x", "yy", None]}}, "required": ["b"]},
    {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "minItems": 1, "maxItems": 3},
    {"type": "object", "properties": {f"p{i}": {"type": "boolean"} for i in range(12)}, "minProperties": 1,
     "additionalProperties": {"type": "string", "pattern": "^[a-c]+$"}},
    {"oneOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 3}]},
    {"anyOf": [{"type": "object", "properties": {"k": {"const": 1}}, "required": ["k"]},
               {"type": "array", "items": {"type": "object"}}]},
]


def _walk(constraint, rng, steps=60):
    """A random token path along the constraint's masks (end-of-sequence left out)."""
    eos = list(constraint.vocab.eos_token_ids)
    s, path = constraint.start(), []
    for _ in range(steps):
        allowed = np.flatnonzero(constraint.mask(s))
        allowed = allowed[~np.isin(allowed, eos)]
        if not len(allowed):
            break
        t = int(rng.choice(allowed))
        path.append(t)
        s = constraint.advance(s, t)
    return path


@pytest.mark.parametrize("schema", SCHEMAS, ids=range(len(SCHEMAS)))
def test_lazy_masks_equal_the_eager_automatons(schema):
    vocab = byte_vocabulary()
    lazy = structgen.compile_json_schema(schema, vocab)
    eager = Constraint(build_dfa(compile_schema_ir(schema).node), vocab)
    rng = np.random.default_rng(0)
    for _ in range(8):
        for c in (lazy, eager):  # walk each one's masks, compare both on the path
            path = _walk(c, rng)
            a, b = lazy.start(), eager.start()
            for t in path:
                assert np.array_equal(lazy.mask(a), eager.mask(b))
                assert lazy.is_accepting(a) == eager.is_accepting(b)
                a, b = lazy.advance(a, t), eager.advance(b, t)
                assert (a is None) == (b is None)


@pytest.mark.parametrize("schema", SCHEMAS, ids=range(len(SCHEMAS)))
def test_first_masks_over_a_real_vocabulary_equal_the_eager_automatons(schema, smollm2_vocab):
    """With tokens of many bytes, a state's first mask builds its row and those of the states the
    tokens pass through in one walk, of the whole vocabulary or of the tokens that are not plain
    text only (`rows.fill_mask_or_rest`); every mask is compared before any other walk built rows."""
    eager = Constraint(build_dfa(compile_schema_ir(schema).node), smollm2_vocab)
    rng = np.random.default_rng(1)
    for _ in range(4):
        path = _walk(eager, rng, steps=40)
        lazy = structgen.compile_json_schema(schema, smollm2_vocab)  # nothing built past the start
        a, b = lazy.start(), eager.start()
        for t in path:
            assert np.array_equal(lazy.mask(a), eager.mask(b))
            a, b = lazy.advance(a, t), eager.advance(b, t)


def test_masks_read_without_building_once_every_row_is_built(smollm2_vocab):
    """A mask walks the table without the lock (and without the building kernel) only once every
    state discovered has its row (`Subsets.complete`); before, it builds as it walks."""
    schema = SCHEMAS[0]
    eager = Constraint(build_dfa(compile_schema_ir(schema).node), smollm2_vocab)
    lazy = structgen.compile_json_schema(schema, smollm2_vocab)
    assert not lazy.dfa._subsets.complete  # the start's row names states without rows
    lazy.dfa.ensure([0], 10**6)
    assert lazy.dfa._subsets.complete and lazy.dfa.n_states > 100
    rng = np.random.default_rng(2)
    for _ in range(4):
        path = _walk(eager, rng, steps=40)
        a, b = lazy.start(), eager.start()
        for t in path:
            assert np.array_equal(lazy.mask(a), eager.mask(b))
            a, b = lazy.advance(a, t), eager.advance(b, t)


@pytest.mark.parametrize("schema", SCHEMAS, ids=range(len(SCHEMAS)))
def test_lazy_and_eager_accept_the_same_texts(schema):
    lazy = structgen.compile_json_schema(schema, byte_vocabulary())
    eager = build_dfa(compile_schema_ir(schema).node)
    rng = random.Random(1)
    alphabet = b'{}[]",:0123456789.-eE abcxyktrufalsenp'
    texts = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    texts += [b'{"b":"ab"}', b'{"a":300,"b":""}', b"[0.5,1]", b'"2024-02-29"', b'"abc"', b'{"k":1}', b"[{}]"]
    for text in texts:
        assert lazy.accepts_text(text) == eager.matches(text), text


def test_compiling_builds_the_start_only_and_decoding_what_it_reaches():
    schema = {"type": "object", "properties": {f"field_{i}": {"type": "string", "maxLength": 64 + i}
                                               for i in range(60)}}
    c = structgen.compile_json_schema(schema, byte_vocabulary())
    assert c.dfa.n_states <= 2  # the start and the states its row leads to
    s = c.advance_bytes(c.start(), b'{"field_7":"hello"')
    assert s is not None and c.dfa.n_states < 200  # rows of the 18 bytes walked, and the states they name
    # The eager automaton of the same schema counts every length of every field.
    assert build_dfa(compile_schema_ir(schema).node).n_states > 3000


def test_decoding_keeps_to_the_states_budget():
    schema = {"type": "string", "maxLength": 500}
    c = structgen.compile_json_schema(schema, byte_vocabulary(), budget=structgen.CompileBudget(max_states=200))
    s = c.advance(c.start(), ord('"'))
    with pytest.raises(CompileBudgetError) as err:  # compiling fits; the 500 positions do not
        for _ in range(400):
            s = c.advance(s, ord("a"))
    assert err.value.budget == "states"


def test_a_row_is_seen_whole_or_not_at_all():
    """Readers without the lock (`is_built`, `walk_token`'s first walk) take a row whose first cell
    is set for a whole one: a row is written to the table once built, so one that a budget stops
    half-way stays unbuilt (it used to look built, with its last classes read as "no move")."""
    schema = {"type": "string", "maxLength": 500}
    tight = structgen.compile_json_schema(schema, byte_vocabulary(), budget=structgen.CompileBudget(max_states=200))
    free = structgen.compile_json_schema(schema, byte_vocabulary())
    s, t = tight.advance(tight.start(), ord('"')), free.advance(free.start(), ord('"'))
    with pytest.raises(CompileBudgetError):
        for _ in range(400):
            t = free.advance(t, ord("a"))  # the same steps, so the same state numbers
            s = tight.advance(s, ord("a"))
    rows = tight.dfa.trans[:tight.dfa.n_states]
    built = rows[:, 0] != UNKNOWN
    assert not tight.dfa.is_built(s) and built.sum() > 20
    assert (rows[built] == free.dfa.trans[:len(rows)][built]).all()
    assert (rows[~built] == UNKNOWN).all()


def test_threads_sharing_one_lazy_automaton_see_the_same_masks():
    schema = SCHEMAS[2]
    vocab = byte_vocabulary()
    texts = [b'{"p0":true,"p3":false,"ab":"c"', b'{"p11":true', b'{"p1":true,"bca":"a"', b'{"p2":false,"p5":true']
    reference = structgen.compile_json_schema(schema, vocab)
    expected = [[reference.mask(reference.advance_bytes(reference.start(), t[:i])).copy()
                 for i in range(1, len(t) + 1)] for t in texts]
    shared = structgen.compile_json_schema(schema, vocab)
    results: dict[int, list] = {}

    def work(k):
        t = texts[k % len(texts)]
        results[k] = [shared.mask(shared.advance_bytes(shared.start(), t[:i])).copy() for i in range(1, len(t) + 1)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for k, masks in results.items():
        for got, want in zip(masks, expected[k % len(texts)]):
            assert np.array_equal(got, want)


def test_paths_into_a_called_automaton_that_accepts_nothing_are_cut():
    """The NFA is trimmed before any subset is made: a byte that only leads into an empty
    sub-automaton has no transition, so no lazy state is a dead end."""
    from structgen.automata import ir
    from structgen.automata.lazy import LazyDFA

    empty = ir.Automaton(build_dfa(ir.intersect(ir.literal("x"), ir.literal("y"))))
    lazy = LazyDFA.build(ir.alt(ir.seq(ir.literal("ab"), empty), ir.literal("ac"), ir.seq(ir.literal("d"), empty)))
    a = lazy.step(0, ord("a"))
    assert a >= 0 and lazy.step(a, ord("b")) == -1 and lazy.accept[lazy.step(a, ord("c"))]
    assert lazy.step(0, ord("d")) == -1
