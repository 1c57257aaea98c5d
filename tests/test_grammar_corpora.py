"""The shipped grammars (`grammars/*.gbnf`) against their corpora and reference judges.

Each grammar has a corpus `grammars/corpus/<name>.json`: `valid` strings the
grammar must accept, `invalid` strings it must reject, and `outside_subset`
strings it rejects although the reference judge accepts them (the grammar is
a documented subset). The judges are independent of structgen: `json.loads`,
Python's `ast`, the `csv` module and SQLite itself; SMILES has no judge here,
so its corpus labels are the reference.

The labels and the random-string generator are checked against the judges;
the compiled constraints are checked against the corpora (whole text and
token by token) and against mutations the judge rejects.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from structgen.automata import ir
from structgen.grammar.constraint import compile_grammar_ir
from structgen.grammar.gbnf import parse_gbnf
from structgen.grammar.grammar import Grammar
from structgen.grammar.random_strings import grammar_strings, random_string

GRAMMARS = Path(__file__).resolve().parent.parent / "grammars"
NAMES = ["json", "arithmetic", "csv", "sql", "smiles"]


def load(name: str):
    return parse_gbnf((GRAMMARS / f"{name}.gbnf").read_text(encoding="utf-8"))


def corpus(name: str) -> dict[str, list[str]]:
    return json.loads((GRAMMARS / "corpus" / f"{name}.json").read_text(encoding="utf-8"))


# --- reference judges -------------------------------------------------------------------------


def judge_json(text: str) -> bool:
    """RFC 8259 JSON: `json.loads`, minus the NaN/Infinity it tolerates."""

    def refuse(name):
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError:
        return False
    return True


_ARITHMETIC_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant,
                     ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub)


def judge_arithmetic(text: str) -> bool:
    """Python parses it (with ^ as **) into numbers and the grammar's operators only."""
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except SyntaxError:
        return False
    return all(
        isinstance(n, _ARITHMETIC_NODES)
        and (not isinstance(n, ast.Constant) or type(n.value) in (int, float))
        for n in ast.walk(tree)
    )


def judge_csv(text: str) -> bool:
    """The `csv` module (strict) reads a header and data rows of exactly three fields each."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return False
    return len(rows) >= 1 and all(len(r) == 3 for r in rows)


SQL_TABLES = {
    "users": ("id", "name", "age", "city", "created_at"),
    "orders": ("id", "user_id", "amount", "status"),
    "products": ("id", "name", "price", "category"),
    "order_items": ("order_id", "product_id", "quantity"),
}

# Errors about names the grammar cannot know: which tables and columns exist.
NAME_ERRORS = ("no such table", "no such column", "ambiguous column name")


def sqlite_error(query: str) -> str | None:
    """SQLite's complaint about preparing `query` against the corpus tables, or None."""
    db = sqlite3.connect(":memory:")
    try:
        for table, columns in SQL_TABLES.items():
            db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        db.execute("EXPLAIN " + query)
    except (sqlite3.Error, ValueError) as e:
        return str(e)
    finally:
        db.close()
    return None


def judge_sql(query: str) -> bool:
    return sqlite_error(query) is None


def judge_sql_syntax(query: str) -> bool:
    """SQLite prepares it, or fails only on names (for random queries with made-up names:
    SQLite parses the whole statement before it looks names up)."""
    error = sqlite_error(query)
    return error is None or error.startswith(NAME_ERRORS)


JUDGES = {"json": judge_json, "arithmetic": judge_arithmetic, "csv": judge_csv, "sql": judge_sql}
SYNTAX_JUDGES = {**JUDGES, "sql": judge_sql_syntax}


# --- corpora and judges agree ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_corpus_shape(name):
    c = corpus(name)
    assert set(c) <= {"valid", "invalid", "outside_subset"}
    assert len(c["valid"]) >= 15 and len(c["invalid"]) >= 15
    every = c["valid"] + c["invalid"] + c.get("outside_subset", [])
    assert len(set(every)) == len(every), "a string is labelled twice"


@pytest.mark.parametrize("name", sorted(JUDGES))
def test_corpus_labels_agree_with_judge(name):
    judge, c = JUDGES[name], corpus(name)
    assert [s for s in c["valid"] if not judge(s)] == []
    assert [s for s in c["invalid"] if judge(s)] == []
    assert [s for s in c.get("outside_subset", []) if not judge(s)] == []


@pytest.mark.parametrize("name", NAMES)
def test_grammar_parses_with_its_header_comment(name):
    text = (GRAMMARS / f"{name}.gbnf").read_text(encoding="utf-8")
    assert text.startswith("# ") and "Known limits" in text
    grammar = parse_gbnf(text)
    assert grammar.start == "root"


# --- random members of each language satisfy the judge -----------------------------------------


@pytest.mark.parametrize("name", sorted(SYNTAX_JUDGES))
def test_random_strings_satisfy_judge(name):
    grammar, judge = load(name), SYNTAX_JUDGES[name]
    rng = random.Random(name)
    for _ in range(300):
        text = random_string(grammar, rng, max_depth=6).decode("utf-8")
        assert judge(text), text


def test_random_sql_prepares_when_names_resolve():
    """With every name one of two tables that both have both columns, SQLite gets past name
    lookup and checks the rest (aggregate placement, argument counts, subquery widths)."""
    sql = load("sql")
    grammar = Grammar({**sql.rules, "name": ir.alt(ir.literal("x"), ir.literal("y"))}, "root")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE x (x, y)")
    db.execute("CREATE TABLE y (x, y)")
    rng = random.Random(11)
    prepared = 0
    for _ in range(300):
        query = random_string(grammar, rng, max_depth=6).decode()
        try:
            db.execute("EXPLAIN " + query)
            prepared += 1
        except sqlite3.Error as e:
            # x.* or x.y with x not in scope, self-joins without aliases, ORDER BY 7
            assert str(e).startswith(NAME_ERRORS) or "term out of range" in str(e), (query, str(e))
    assert prepared >= 100


def test_random_sql_names_are_never_keywords():
    """Names from the keyword-excluding rule work as table, column and alias in SQLite."""
    grammar = load("sql")
    names = Grammar(grammar.rules, "name")
    rng = random.Random(7)
    db = sqlite3.connect(":memory:")
    for i in range(300):
        n = random_string(names, rng).decode()
        db.execute(f"CREATE TABLE {n} ({n})")
        db.execute(f"EXPLAIN SELECT {n}.{n} AS {n} FROM {n} AS {n} WHERE {n} IS NOT NULL")
        db.execute(f"DROP TABLE {n}")


# --- compiled constraints ------------------------------------------------------------------------


# A random walk draws many numbers even for a short string; hypothesis counts those.
RANDOM_WALK_CHECKS = [HealthCheck.too_slow, HealthCheck.large_base_example, HealthCheck.data_too_large]


@pytest.fixture(scope="module")
def constraints(smollm2_vocab):
    return {name: compile_grammar_ir(load(name), smollm2_vocab) for name in NAMES}


def tokenize(constraint, tokenizer, text: str) -> list[int] | None:
    """The tokenizer's ids for `text`, or None where they do not spell it (unknown characters)."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return ids if constraint.vocab.decode(ids) == text.encode() else None


def accepts_tokens(constraint, ids: list[int]) -> bool:
    """Every token advances, and end-of-sequence is allowed after the last."""
    state = constraint.start()
    for token in ids:
        state = constraint.advance(state, token)
        if state is None:
            return False
    eos = constraint.vocab.eos_token_ids[0]
    return constraint.advance(state, eos) is not None


@pytest.mark.parametrize("name", NAMES)
def test_constraint_matches_corpus(constraints, smollm2_tokenizer, name):
    c, constraint = corpus(name), constraints[name]
    assert [s for s in c["valid"] if not constraint.accepts_text(s.encode())] == []
    rejected = c["invalid"] + c.get("outside_subset", [])
    assert [s for s in rejected if constraint.accepts_text(s.encode())] == []
    ids = {s: tokenize(constraint, smollm2_tokenizer, s) for s in c["valid"]}
    assert [s for s, i in ids.items() if i is None] == []
    assert [s for s, i in ids.items() if not accepts_tokens(constraint, i)] == []


@pytest.mark.parametrize("name", NAMES)
def test_constraint_accepts_random_strings_token_by_token(constraints, smollm2_tokenizer, name):
    grammar, constraint = load(name), constraints[name]

    @settings(max_examples=30, deadline=None, suppress_health_check=RANDOM_WALK_CHECKS)
    @given(grammar_strings(grammar, max_depth=5))
    def check(data):
        assert constraint.accepts_text(data)
        ids = tokenize(constraint, smollm2_tokenizer, data.decode("utf-8"))
        assume(ids is not None)
        assert accepts_tokens(constraint, ids)

    check()


@pytest.mark.parametrize("name", sorted(JUDGES))
def test_constraint_rejects_mutations_the_judge_rejects(constraints, name):
    grammar, constraint, judge = load(name), constraints[name], SYNTAX_JUDGES[name]
    alphabet = sorted(set("".join(corpus(name)["valid"])))

    @settings(max_examples=40, deadline=None, suppress_health_check=RANDOM_WALK_CHECKS)
    @given(grammar_strings(grammar, max_depth=5), st.data())
    def check(data, draw):
        text = data.decode("utf-8")
        at = draw.draw(st.integers(0, len(text)))
        kind = draw.draw(st.sampled_from(["insert", "delete", "replace"]))
        char = draw.draw(st.sampled_from(alphabet))
        if kind == "insert":
            mutated = text[:at] + char + text[at:]
        elif kind == "delete":
            mutated = text[:at] + text[at + 1:]
        else:
            mutated = text[:at] + char + text[at + 1:]
        if not judge(mutated):
            assert not constraint.accepts_text(mutated.encode())

    check()


class EndingBiasedLM:
    """The tiny random model with a bonus on single-byte tokens and end-of-sequence,
    so that random generations actually close their brackets and end."""

    def __init__(self, lm, bonus: float = 5.0):
        self.lm = lm
        self.vocabulary = lm.vocabulary
        short = np.array([len(t) == 1 for t in lm.vocabulary.tokens])
        short[list(lm.vocabulary.eos_token_ids)] = True
        self.bonus = np.where(short, bonus, 0.0)

    def encode_prompt(self, prompt):
        return self.lm.encode_prompt(prompt)

    def next_token_logprobs(self, contexts):
        scores = self.lm.next_token_logprobs(contexts) + self.bonus
        return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


# SQL is left out: a random model spells identifiers forever and never completes a query
# within a test's budget; its soundness rests on the corpus and random-string tests above.
@pytest.mark.parametrize("name", ["arithmetic", "csv", "json"])
def test_generations_under_a_random_model_satisfy_the_judge(constraints, tiny_lm, name):
    """Soundness: whatever a random model completes under the grammar, the reference judge accepts."""
    from structgen.sampling import sample

    constraint, judge = constraints[name], JUDGES[name]
    assert constraint.vocab_size == len(tiny_lm.vocabulary)
    completed = []
    for seed in range(3):
        samples = sample(EndingBiasedLM(tiny_lm), constraint, None, sampler="smc", particles=4, max_tokens=48,
                         seed=seed)
        completed += [p.text for p in samples.particles if p.finished]
    assert [t for t in completed if not judge(t)] == []
    assert completed, "no generation completed: the test would check nothing"
