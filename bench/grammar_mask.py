"""Per-token advance and mask time of the pushdown constraint, against llguidance on the same grammar, in one run.

    nice -n 10 .venv/bin/python -m bench.grammar_mask [--docs 30] [--instances 3] [--out results/grammar_mask.json]

Three workloads, each walked token by token (SmolLM2 tokenizer) through both
engines, timing `advance` (ours) / `consume_token` (llguidance) and the mask
for the state before each token and before end-of-sequence (ours /
`fill_next_token_bitmask`):

1. `json-ir`: the compact JSON grammar written in IR (no whitespace) against
   the same grammar in Lark, on random compact documents;
2. `json.gbnf`: the shipped `grammars/json.gbnf` (whitespace allowed) against
   `JSON_WS_LARK`, a hand translation with explicit whitespace; documents in
   compact, indented and randomly spaced forms. Before timing, both grammars
   and the `json.loads` judge must agree on a corpus (the grammar's corpus,
   the documents, and single-character mutations of them), and the masks
   are compared at every step: for one language they must be equal;
3. `recursive schemas`: the JSONSchemaBench schemas (`RECURSIVE_SCHEMAS`)
   that `structgen.compile_json_schema` compiles to a `GrammarConstraint`,
   against llguidance's JSON Schema support in the compact output form;
   valid instances from random walks over llguidance's masks
   (hypothesis-jsonschema cannot resolve recursive references), judged by
   `jsonschema`, written in structgen's output form (compact, properties in
   schema order) and tokenised afresh. Each schema's first instance is
   walked once untimed (warm-up). Mask differences are expected there (the
   output forms differ: structgen writes only json.dumps's escapes and no
   `-0`; llguidance refuses DEL in strings and masks forced bytes down to
   their canonical tokens); each differing token is sorted by asking the
   other engine's own `advance`, and a token our mask refuses but our
   `advance` accepts is reported as OURS_MASK_MISSES_ADVANCE (a bug).

Our mask is timed cold (the per-state mask cache cleared before the call;
the per-context token classifications stay warm after the first document,
as in a long generation) and cached (the same call again). The first
document of each workload is left out of the timings (compilation and cache
warm-up). Prints p50/p99 per engine and the ratios ours / llguidance, checks
the issue's targets (advance p50 <= 50 µs; cold mask p50 <= 3x
llguidance's), and writes everything to `--out` as JSON.

`--scan [DATASETS]` instead lists the schemas of the datasets that compile to rules
(minutes: every schema with a `$ref` goes through the schema compiler);
`RECURSIVE_SCHEMAS` is a pick from its output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from structgen.automata import ir
from structgen.automata.charset import CharSet
from structgen.grammar import Grammar

ROOT = Path(__file__).resolve().parent.parent
JSON_GBNF = ROOT / "grammars" / "json.gbnf"
JSON_CORPUS = ROOT / "grammars" / "corpus" / "json.json"

JSON_LARK = r"""
start: value
value: object | array | STRING | NUMBER | "true" | "false" | "null"
object: "{" (pair ("," pair)*)? "}"
pair: STRING ":" value
array: "[" (value ("," value)*)? "]"
STRING: /"([^"\\\x00-\x1f]|\\(["\\\/bfnrt]|u[0-9a-fA-F]{4}))*"/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
"""

# grammars/json.gbnf, rule for rule; its `ws ::= [ \t\n\r]*` is the optional terminal `WS?`.
JSON_WS_LARK = r"""
start: WS? value WS?
value: object | array | STRING | NUMBER | "true" | "false" | "null"
object: "{" WS? (member ("," WS? member)*)? "}"
member: STRING WS? ":" WS? value WS?
array: "[" WS? (element ("," WS? element)*)? "]"
element: value WS?
WS: /[ \t\n\r]+/
STRING: /"([^"\\\x00-\x1f]|\\(["\\\/bfnrt]|u[0-9a-fA-F]{4}))*"/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
"""

# (dataset, id): JSONSchemaBench schemas with `$ref` cycles through nested values, from `--scan`, that
# both engines compile; the first `--schemas` that do are walked, the rest are spares. Left out:
# Github_easy/o83258, Github_medium/o48406, Github_hard/o90912 (llguidance refuses oneOf), Github_medium/o72203
# (llguidance: `dependencies`), Github_medium/o53100, JsonSchemaStore/cargo, JsonSchemaStore/codux.config.schema,
# Github_ultra/o44208, Kubernetes/kb_190_Normalized and its siblings, Github_hard/o21351 (structgen:
# SchemaTooLargeError, o21351 after 80 s), Github_hard/o21343, o21359 and JsonSchemaStore/jx-schema (over
# a minute each). Glaiveai2K, Snowplow and WashingtonPost have none.
RECURSIVE_SCHEMAS: tuple[tuple[str, str], ...] = (
    ("Github_trivial", "o47165"),
    ("Github_easy", "o21858"), ("Github_easy", "o42304"), ("Github_easy", "o58637"), ("Github_easy", "o58839"),
    ("Github_easy", "o69958"), ("Github_easy", "o90911"),
    ("Github_medium", "o13135"), ("Github_medium", "o13136"), ("Github_medium", "o13655"),
    ("Github_medium", "o27786"), ("Github_medium", "o27788"), ("Github_medium", "o33692"),
    ("Github_medium", "o43196"), ("Github_medium", "o5462"), ("Github_medium", "o73959"),
    ("Github_hard", "o5790"), ("Github_hard", "o67291"), ("Github_hard", "o71568"), ("Github_hard", "o90895"),
    # spares
    ("Github_medium", "o27787"), ("Github_medium", "o27789"), ("Github_medium", "o34351"),
    ("Github_medium", "o6020"), ("Github_medium", "o74424"), ("Github_medium", "o75099"),
    ("Github_medium", "o78957"), ("Github_medium", "o79558"), ("Github_medium", "o79622"),
    ("Github_medium", "o83086"), ("Github_medium", "o83394"),
)

OPS = ("advance", "mask", "mask_cached")
# Why two masks differ on a token: the token is allowed by one mask only, and the other engine's
# `advance` accepts it (a mask narrower than the engine's own parser) or refuses it (the languages differ).
DIFFERENCE_KINDS = ("ours_wider", "llguidance_wider", "llguidance_mask_narrower_than_its_parser",
                    "OURS_MASK_MISSES_ADVANCE")
CHECKED_PER_STEP = 64  # differing tokens sorted per step
MAX_INSTANCE_TOKENS = 600


def json_grammar() -> Grammar:
    """Any JSON value in compact form (RFC 8259 without insignificant whitespace), as IR rules."""
    ref = ir.ref
    hex_digit = ir.chars(CharSet.of(("0", "9"), ("a", "f"), ("A", "F")))
    plain = ir.chars(~CharSet.of('"', "\\", (0, 0x1F)))
    escape = ir.seq(ir.literal("\\"), ir.alt(ir.chars(CharSet.of('"\\/bfnrt')),
                                             ir.seq(ir.literal("u"), ir.repeat(hex_digit, 4, 4))))
    digit = ir.byte_range(0x30, 0x39)
    number = ir.seq(
        ir.optional(ir.literal("-")),
        ir.alt(ir.literal("0"), ir.seq(ir.byte_range(0x31, 0x39), ir.star(digit))),
        ir.optional(ir.seq(ir.literal("."), ir.plus(digit))),
        ir.optional(ir.seq(ir.byte_set(b"eE"), ir.optional(ir.byte_set(b"+-")), ir.plus(digit))),
    )
    member = ir.seq(ref("string"), ir.literal(":"), ref("value"))
    rules = {
        "value": ir.alt(ref("object"), ref("array"), ref("string"), ref("number"),
                        ir.literal("true"), ir.literal("false"), ir.literal("null")),
        "object": ir.seq(ir.literal("{"), ir.separated(member, ir.literal(","), 0, None), ir.literal("}")),
        "array": ir.seq(ir.literal("["), ir.separated(ref("value"), ir.literal(","), 0, None), ir.literal("]")),
        "string": ir.seq(ir.literal('"'), ir.star(ir.alt(plain, escape)), ir.literal('"')),
        "number": number,
    }
    return Grammar(rules, "value")


# --- documents --------------------------------------------------------------------------------------


def random_document(rng: random.Random, depth: int = 0):
    """A random JSON value with some nesting, escapes and non-ASCII text."""
    words = ["alpha", "beta", "Zoë", "naïve café", "line\nbreak", 'say "hi"', "tab\there", "東京", "x", ""]
    kind = rng.random()
    if depth < 4 and kind < 0.35:
        return {rng.choice(words) + str(i): random_document(rng, depth + 1) for i in range(rng.randint(1, 5))}
    if depth < 4 and kind < 0.6:
        return [random_document(rng, depth + 1) for _ in range(rng.randint(0, 6))]
    if kind < 0.75:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
    if kind < 0.85:
        return rng.choice([rng.randint(-10**6, 10**6), round(rng.uniform(-1e3, 1e3), 3), 1.5e-7])
    return rng.choice([True, False, None])


def spaced(value: Any, rng: random.Random) -> str:
    """`value` as JSON with a random run of JSON whitespace (often empty) wherever RFC 8259 allows one."""

    def ws() -> str:
        return "".join(rng.choice(" \t\n\r") for _ in range(rng.choice((0, 0, 0, 1, 1, 2, 5))))

    def write(v: Any) -> str:
        if isinstance(v, dict):
            members = [json.dumps(k, ensure_ascii=False) + ws() + ":" + ws() + write(x) + ws() for k, x in v.items()]
            return "{" + ws() + "".join(("," + ws() if i else "") + m for i, m in enumerate(members)) + "}"
        if isinstance(v, list):
            items = [write(x) + ws() for x in v]
            return "[" + ws() + "".join(("," + ws() if i else "") + e for i, e in enumerate(items)) + "]"
        return json.dumps(v, ensure_ascii=False)

    return ws() + write(value) + ws()


def whitespace_variant(value: Any, rng: random.Random, i: int) -> str:
    """Compact, indented or randomly spaced JSON text, in turn."""
    if i % 3 == 0:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if i % 3 == 1:
        return json.dumps(value, ensure_ascii=False, indent=rng.choice((1, 2, "\t")))
    return spaced(value, rng)


def judge_json(text: str) -> bool:
    """RFC 8259 JSON: `json.loads`, minus the NaN/Infinity it tolerates."""

    def refuse(name):
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return False
    return True


def mutations(text: str, rng: random.Random, n: int) -> list[str]:
    """Single-character insertions, deletions and replacements (whitespace-heavy), valid or not."""
    alphabet = " \t\n\r\f\v\u00a0\u2028,:{}[]\"\\0-.e"
    out = []
    for _ in range(n):
        i = rng.randrange(len(text) + 1)
        kind = rng.randrange(3)
        c = rng.choice(alphabet)
        out.append(text[:i] + c + text[i:] if kind == 0 or i == len(text) else
                   text[:i] + text[i + 1:] if kind == 1 else text[:i] + c + text[i + 1:])
    return out


# --- measurement ------------------------------------------------------------------------------------


def _percentiles(ns: list[int]) -> dict[str, float]:
    if not ns:
        return {"p50_us": float("nan"), "p99_us": float("nan"), "n": 0}
    a = np.asarray(ns, np.float64) / 1e3
    return {"p50_us": float(np.percentile(a, 50)), "p99_us": float(np.percentile(a, 99)), "n": len(ns)}


class Walk:
    """Timings and checks of one workload (several token paths) through both engines."""

    def __init__(self, name: str):
        self.name = name
        self.ns: dict[tuple[str, str], list[int]] = {(e, op): [] for e in ("ours", "llguidance") for op in OPS}
        self.tokens = 0
        self.paths = 0
        self.allowed: list[int] = []
        self.mask_differences = 0  # steps where the two masks differ
        self.difference_kinds = {kind: 0 for kind in DIFFERENCE_KINDS}  # steps with such a token
        self.difference_tokens: dict[str, Counter] = {kind: Counter() for kind in DIFFERENCE_KINDS}
        self.difference_examples: list[dict] = []
        self.refusals: list[dict] = []

    def run(self, ours, ll_root, paths: list[list[int]], vocab, *, timed_from: int = 1) -> None:
        """Walk each path (then end-of-sequence) through fresh states of both engines."""
        import llguidance.numpy

        from jsonschemabench.engines.base import unpack_bitmask

        fill = llguidance.numpy.fill_next_token_bitmask
        eos = sorted(vocab.eos_token_ids)
        bitmask = np.zeros((1, (len(vocab) + 31) // 32), np.int32)
        for doc, ids in enumerate(paths):
            timed = doc >= timed_from
            state, matcher = ours.start(), ll_root.deep_copy()
            for pos, token in enumerate([*ids, None]):
                ours._masks.clear()  # a cold mask: no per-state cache hit
                t0 = time.perf_counter_ns()
                m = ours.mask(state)
                t1 = time.perf_counter_ns()
                ours.mask(state)
                t2 = time.perf_counter_ns()
                fill(matcher, bitmask)
                t3 = time.perf_counter_ns()
                if timed:
                    self.ns["ours", "mask"].append(t1 - t0)
                    self.ns["ours", "mask_cached"].append(t2 - t1)
                    self.ns["llguidance", "mask"].append(t3 - t2)
                self.allowed.append(int(m.sum()))
                self._compare(ours, state, m, matcher, unpack_bitmask(bitmask[0], len(vocab)), vocab, ids[:pos])
                if token is None:
                    ours_end = ours.is_accepting(state) and bool(m[eos].all())
                    if not ours_end or not matcher.is_accepting():
                        self._refused(doc, pos, None, vocab, ids, ours_end, matcher.is_accepting())
                    break
                t0 = time.perf_counter_ns()
                nxt = ours.advance(state, token)
                t1 = time.perf_counter_ns()
                ok = matcher.consume_token(token)
                t2 = time.perf_counter_ns()
                if timed:
                    self.ns["ours", "advance"].append(t1 - t0)
                    self.ns["llguidance", "advance"].append(t2 - t1)
                if nxt is None or not m[token] or not ok:
                    self._refused(doc, pos, token, vocab, ids, nxt is not None and bool(m[token]), bool(ok))
                    break
                state = nxt
                self.tokens += timed
            self.paths += timed

    def absorb(self, other: "Walk") -> None:
        """Add another walk's timings and findings to this one."""
        for key, values in other.ns.items():
            self.ns[key] += values
        self.tokens += other.tokens
        self.paths += other.paths
        self.allowed += other.allowed
        self.mask_differences += other.mask_differences
        for kind, count in other.difference_kinds.items():
            self.difference_kinds[kind] += count
            self.difference_tokens[kind] += other.difference_tokens[kind]
        self.difference_examples += [{"workload": other.name, **d} for d in other.difference_examples]
        self.refusals += [{"workload": other.name, **r} for r in other.refusals]

    def _compare(self, ours, state, ours_mask, matcher, ll_mask, vocab, prefix: list[int]) -> None:
        """Sort each token the masks disagree on by asking each engine's own `advance` about it."""
        if np.array_equal(ours_mask, ll_mask):
            return
        self.mask_differences += 1
        found: dict[str, list[int]] = {kind: [] for kind in DIFFERENCE_KINDS}
        for t in np.flatnonzero(ours_mask & ~ll_mask)[:CHECKED_PER_STEP].tolist():
            kind = "llguidance_mask_narrower_than_its_parser" if matcher.validate_tokens([t]) == 1 else "ours_wider"
            found[kind].append(t)
        for t in np.flatnonzero(ll_mask & ~ours_mask)[:CHECKED_PER_STEP].tolist():
            found["OURS_MASK_MISSES_ADVANCE" if ours.advance(state, t) is not None else "llguidance_wider"].append(t)
        for kind, tokens in found.items():
            if not tokens:
                continue
            self.difference_kinds[kind] += 1
            self.difference_tokens[kind].update(vocab.tokens[t].decode("utf-8", "backslashreplace") for t in tokens)
            if sum(d["kind"] == kind for d in self.difference_examples) < 2:
                self.difference_examples.append({
                    "kind": kind, "prefix": vocab.decode(prefix).decode("utf-8", "replace")[-80:],
                    "tokens": [[t, vocab.tokens[t].decode("utf-8", "backslashreplace")] for t in tokens[:6]],
                })

    def _refused(self, doc, pos, token, vocab, ids, ours_ok, ll_ok) -> None:
        self.refusals.append({
            "path": doc, "position": pos,
            "token": None if token is None else [int(token), vocab.tokens[token].decode("utf-8", "replace")],
            "prefix": vocab.decode(ids[:pos]).decode("utf-8", "replace")[-80:],
            "text": vocab.decode(ids).decode("utf-8", "replace")[:400],
            "ours_accepts": bool(ours_ok), "llguidance_accepts": bool(ll_ok),
        })

    def summary(self) -> dict:
        stats = {f"{e}.{op}": _percentiles(v) for (e, op), v in self.ns.items()}
        ratios = {}
        for op, ll_op in (("advance", "advance"), ("mask", "mask"), ("mask_cached", "mask")):
            o, ll = stats[f"ours.{op}"], stats[f"llguidance.{ll_op}"]
            if o["n"] and ll["n"]:
                ratios[op] = {"p50": o["p50_us"] / ll["p50_us"], "p99": o["p99_us"] / ll["p99_us"]}
        return {
            "paths": self.paths, "tokens": self.tokens, "timed_steps": len(self.ns["ours", "mask"]),
            "mean_allowed_tokens": float(np.mean(self.allowed)) if self.allowed else 0.0,
            "stats": stats, "ratios": ratios,
            "targets": {
                "advance_p50_le_50us": stats["ours.advance"]["p50_us"] <= 50,
                "mask_p50_le_3x_llguidance": "mask" in ratios and ratios["mask"]["p50"] <= 3,
            },
            "mask_differences": self.mask_differences, "difference_kinds": self.difference_kinds,
            "difference_tokens": {kind: c.most_common(8) for kind, c in self.difference_tokens.items() if c},
            "difference_examples": self.difference_examples, "refusals": self.refusals,
        }


def print_table(title: str, summary: dict) -> None:
    s, r = summary["stats"], summary["ratios"]
    print(f"\n{title}: {summary['paths']} timed paths, {summary['tokens']} tokens, {summary['timed_steps']} masks, "
          f"mean {summary['mean_allowed_tokens']:.0f} allowed tokens per mask")
    print(f"  {'operation':<20} {'ours p50':>9} {'p99':>9} {'llg p50':>9} {'p99':>9} {'ratio p50':>10} {'p99':>7}  (µs)")
    for op, label in (("advance", "advance/consume"), ("mask", "mask (cold)"), ("mask_cached", "mask (cached)")):
        ll_op = "advance" if op == "advance" else "mask"
        o, ll = s[f"ours.{op}"], s[f"llguidance.{ll_op}"]
        if op not in r:
            continue
        print(f"  {label:<20} {o['p50_us']:9.1f} {o['p99_us']:9.1f} {ll['p50_us']:9.1f} {ll['p99_us']:9.1f} "
              f"{r[op]['p50']:9.2f}x {r[op]['p99']:6.2f}x")
    t = summary["targets"]
    print(f"  targets: advance p50 <= 50 µs: {'met' if t['advance_p50_le_50us'] else 'MISSED'}; "
          f"cold mask p50 <= 3x llguidance: {'met' if t['mask_p50_le_3x_llguidance'] else 'MISSED'}")
    kinds = ", ".join(f"{kind} {n}" for kind, n in summary["difference_kinds"].items() if n)
    print(f"  masks differ at {summary['mask_differences']} steps{f' ({kinds})' if kinds else ''}; "
          f"instance tokens refused: {len(summary['refusals'])}")
    for kind, common in summary["difference_tokens"].items():
        print(f"    {kind}: most frequent tokens {common[:6]}")
    shown: dict[str, int] = {}
    for d in summary["difference_examples"]:
        shown[d["kind"]] = shown.get(d["kind"], 0) + 1
        if shown[d["kind"]] > 2:
            continue
        print(f"    {d.get('workload', '')} {d['kind']} after {d['prefix']!r}: {d['tokens']}")


# --- workloads --------------------------------------------------------------------------------------


def exact_paths(texts: list[str], tokenizer, vocab) -> list[list[int]]:
    """Token ids of each text whose tokenisation gives back its exact bytes (others are the tokenizer's problem)."""
    out = []
    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        if vocab.decode(ids) == text.encode("utf-8"):
            out.append(ids)
    return out


def check_json_equivalence(ours, ll_root, ll_tokenizer, vocab, documents: list[str], rng: random.Random) -> dict:
    """Do json.gbnf, its Lark translation and the json.loads judge accept the same texts?

    Each text is tokenised by llguidance's tokenizer (any bytes) and fed to both engines;
    ours also reads the raw bytes.
    """
    corpus = json.loads(JSON_CORPUS.read_text(encoding="utf-8"))
    texts = corpus["valid"] + corpus["invalid"] + documents
    for doc in documents:
        texts += mutations(doc, rng, 8)
    disagreements = []
    accepted = 0
    for text in texts:
        data = text.encode("utf-8")
        ids = ll_tokenizer.tokenize_bytes(data)
        matcher = ll_root.deep_copy()
        ll_ok = matcher.try_consume_tokens(ids) == len(ids) and matcher.is_accepting()
        state = ours.start()
        for token in ids:
            state = ours.advance(state, token)
            if state is None:
                break
        ours_tokens = state is not None and ours.is_accepting(state)
        verdict = {"judge": judge_json(text), "ours_bytes": ours.accepts_text(data), "ours_tokens": ours_tokens,
                   "llguidance": bool(ll_ok)}
        accepted += verdict["judge"]
        if len(set(verdict.values())) > 1 or vocab.decode(ids) != data:
            disagreements.append({"text": text[:300], **verdict})
    return {"texts": len(texts), "valid": accepted, "disagreements": disagreements}


class _Expired(BaseException):
    """Out of time (a BaseException, so that no `except Exception` on the way swallows it)."""


@contextmanager
def _deadline(seconds: int):
    """Raise `_Expired` after `seconds` (the schema compiler takes long on a few schemas)."""
    def expire(*_):
        raise _Expired(f"more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


STRUCTURAL_BYTES = frozenset(b'"}],')


def walk_instance(ll_root, vocab, closing: np.ndarray, rng: random.Random, max_tokens: int) -> bytes | None:
    """Text from a random walk over llguidance's masks: half the picks close or separate something, so
    values stay short; stops at an accepting state half the time."""
    import llguidance.numpy

    from jsonschemabench.engines.base import unpack_bitmask

    matcher = ll_root.deep_copy()
    bitmask = np.zeros((1, (len(vocab) + 31) // 32), np.int32)
    eos = sorted(vocab.eos_token_ids)
    out: list[int] = []
    for _ in range(max_tokens):
        llguidance.numpy.fill_next_token_bitmask(matcher, bitmask)
        allowed = unpack_bitmask(bitmask[0], len(vocab))
        allowed[eos] = False
        if matcher.is_accepting() and (rng.random() < 0.5 or not allowed.any()):
            return vocab.decode(out)
        pool = np.flatnonzero(allowed & closing)
        if not len(pool) or rng.random() < 0.5:
            pool = np.flatnonzero(allowed)
        if not len(pool):
            return None
        token = int(pool[rng.randrange(len(pool))])
        if not matcher.consume_token(token):
            return None
        out.append(token)
    return None


def schema_instances(schema: Any, ll_root, tokenizer, vocab, n: int, rng: random.Random) -> list[list[int]]:
    """Token paths of up to `n` valid instances, the most deeply nested found (to exercise the recursion).

    hypothesis-jsonschema cannot resolve recursive references, so the values come from random walks
    over llguidance's masks; the `jsonschema` judge keeps the valid ones, which are then written in
    structgen's output form (compact, properties in schema order) and tokenised afresh.
    """
    from jsonschemabench.instances import dumps, nesting_depth, output_form, validator_for

    judge = validator_for(schema)
    closing = np.array([any(b in STRUCTURAL_BYTES for b in t) for t in vocab.tokens])
    found: dict[str, int] = {}
    for _ in range(8 * n):
        data = walk_instance(ll_root, vocab, closing, rng, MAX_INSTANCE_TOKENS // 2)
        try:
            value = json.loads(data) if data is not None else None
        except ValueError:
            continue
        if data is not None and judge.is_valid(value):
            found[dumps(output_form(value, schema))] = nesting_depth(value)
    texts = sorted(found, key=lambda t: (found[t], len(t)))
    paths = [p for p in exact_paths(texts, tokenizer, vocab) if len(p) <= MAX_INSTANCE_TOKENS]
    return paths[-n:]


def run_schemas(tokenizer, vocab, ll_tokenizer, args) -> tuple[Walk, list[dict]]:
    """Every schema of RECURSIVE_SCHEMAS through both engines; one Walk over all their instances."""
    import llguidance

    import structgen
    from jsonschemabench.datasets import load_dataset
    from jsonschemabench.engines.llguidance_engine import JSON_OPTIONS
    from structgen.grammar.constraint import GrammarConstraint

    by_dataset: dict[str, dict] = {}
    walk = Walk("recursive schemas")
    rows = []
    rng = random.Random(args.seed)
    for dataset, sid in RECURSIVE_SCHEMAS:
        if sum("skipped" not in r for r in rows) >= args.schemas:
            break
        if dataset not in by_dataset:
            by_dataset[dataset] = {r.id: r.schema for r in load_dataset(dataset)}
        schema = by_dataset[dataset][sid]
        row: dict[str, Any] = {"dataset": dataset, "id": sid}
        rows.append(row)
        t0 = time.perf_counter()
        try:
            ours = structgen.compile_json_schema(schema, vocab)
        except structgen.StructgenError as error:  # e.g. too many automaton states
            row["skipped"] = f"structgen: {type(error).__name__}: {str(error)[:200]}"
            continue
        row["ours_compile_s"] = time.perf_counter() - t0
        if not isinstance(ours, GrammarConstraint):
            row["skipped"] = "compiles to a DFA, not a GrammarConstraint"
            continue
        row["rule_states"] = ours.info.n_states
        t0 = time.perf_counter()
        ll_root = llguidance.LLMatcher(ll_tokenizer, llguidance.LLMatcher.grammar_from_json_schema(
            schema, overrides=JSON_OPTIONS), log_level=0)
        row["llguidance_compile_s"] = time.perf_counter() - t0
        if ll_root.is_error():
            row["skipped"] = f"llguidance: {ll_root.get_error()[:200]}"
            continue
        paths = schema_instances(schema, ll_root, tokenizer, vocab, args.instances, rng)
        if not paths:
            row["skipped"] = "no valid instance with an exact tokenisation"
            continue
        one = Walk(sid)
        one.run(ours, ll_root, [paths[0], *paths], vocab)  # the first walk warms the token classifications
        walk.absorb(one)
        s = one.summary()
        row.update(instances=len(paths), tokens=one.tokens, mask_differences=s["mask_differences"],
                   difference_examples=s["difference_examples"][:1], refusals=s["refusals"],
                   stats={key: round(v["p50_us"], 1) for key, v in s["stats"].items()})
    return walk, rows


def scan(datasets: list[str], out: Path | None) -> None:
    """The schemas of `datasets` with a `$ref` cycle that compile to grammar rules (slow: minutes)."""
    from jsonschemabench.datasets import load_dataset
    from structgen.schema import compile_schema_ir

    found = []
    for dataset in datasets:
        for record in load_dataset(dataset):
            if "Ref" not in json.dumps(record.schema):
                continue
            try:
                with _deadline(10):
                    if compile_schema_ir(record.schema).rules:
                        found.append((dataset, record.id))
                        print(dataset, record.id, flush=True)
            except (Exception, _Expired):  # unsupported, invalid or too slow: not a candidate
                continue
    if out:
        out.write_text(json.dumps(found, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30, help="random JSON documents per JSON grammar")
    parser.add_argument("--schemas", type=int, default=20, help="recursive schemas to walk (the first that both compile)")
    parser.add_argument("--instances", type=int, default=3, help="valid instances per recursive schema")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--scan", metavar="DATASETS", nargs="?", const="all",
                        help="list the recursive schemas of these datasets (comma-separated; default all) instead")
    args = parser.parse_args(argv)
    if args.scan:
        from jsonschemabench.datasets import DATASETS

        scan(list(DATASETS) if args.scan == "all" else args.scan.split(","), args.out)
        return
    started = time.perf_counter()

    import llguidance
    import llguidance.hf

    import structgen
    from structgen.grammar.constraint import compile_grammar_ir
    from structgen.lm import load_tokenizer
    from structgen.token_trie import trie_for
    from structgen.vocab import Vocabulary

    tokenizer = load_tokenizer()
    vocab = Vocabulary.from_tokenizer(tokenizer)
    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=len(vocab), eos_token=list(vocab.eos_token_ids))
    trie_for(vocab)  # the vocabulary's token trie is shared by every constraint: not grammar compile time
    rng = random.Random(args.seed)
    values = [random_document(rng) for _ in range(args.docs)]
    results: dict[str, Any] = {
        "command": "bench.grammar_mask " + " ".join(argv if argv is not None else sys.argv[1:]),
        "vocabulary": len(vocab), "python": platform.python_version(),
        "llguidance": getattr(llguidance, "__version__", "?"), "load_average_at_start": os.getloadavg(),
        "workloads": {},
    }
    print(f"SmolLM2 vocabulary ({len(vocab)} tokens); load average at start {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")

    def compile_pair(make_ours, lark: str):
        t0 = time.perf_counter()
        ours = make_ours()
        t1 = time.perf_counter()
        ll_root = llguidance.LLMatcher(ll_tokenizer, llguidance.grammar_from("lark", lark), log_level=0)
        t2 = time.perf_counter()
        if ll_root.is_error():
            raise SystemExit(f"llguidance: {ll_root.get_error()}")
        return ours, ll_root, {"ours_compile_s": t1 - t0, "llguidance_compile_s": t2 - t1,
                               "rule_states": ours.info.n_states}

    # 1. compact JSON grammar in IR
    ours, ll_root, info = compile_pair(lambda: compile_grammar_ir(json_grammar(), vocab), JSON_LARK)
    compact = [json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in values]
    walk = Walk("json-ir")
    walk.run(ours, ll_root, exact_paths(compact, tokenizer, vocab), vocab)
    results["workloads"]["json-ir"] = {**info, **walk.summary()}
    print_table("json-ir (compact JSON grammar in IR vs Lark)", results["workloads"]["json-ir"])

    # 2. grammars/json.gbnf, with whitespace
    ours, ll_root, info = compile_pair(lambda: structgen.compile_grammar(JSON_GBNF.read_text(encoding="utf-8"),
                                                                         vocab), JSON_WS_LARK)
    documents = [whitespace_variant(v, rng, i) for i, v in enumerate(values)]
    equivalence = check_json_equivalence(ours, ll_root, ll_tokenizer, vocab, documents, rng)
    walk = Walk("json.gbnf")
    walk.run(ours, ll_root, exact_paths(documents, tokenizer, vocab), vocab)
    results["workloads"]["json.gbnf"] = {**info, "equivalence": equivalence, **walk.summary()}
    print(f"\njson.gbnf vs JSON_WS_LARK vs json.loads on {equivalence['texts']} texts "
          f"({equivalence['valid']} valid): {len(equivalence['disagreements'])} disagreements")
    for d in equivalence["disagreements"][:5]:
        print("  ", d)
    print_table("json.gbnf (whitespace allowed) vs hand-written Lark", results["workloads"]["json.gbnf"])

    # 3. recursive JSON Schemas
    if args.schemas:
        walk, rows = run_schemas(tokenizer, vocab, ll_tokenizer, args)
        summary = walk.summary()
        results["workloads"]["recursive-schemas"] = {**summary, "schemas": rows}
        print(f"\nrecursive schemas ({sum('skipped' not in r for r in rows)} of {len(rows)} walked; p50 µs, "
              f"cold mask after one warm-up walk of the same instances)")
        print(f"  {'dataset/id':<24} {'states':>6} {'tokens':>6} {'ours adv':>8} {'mask':>8} {'cached':>7} "
              f"{'llg mask':>8} {'ratio':>6} {'diff':>5}  compile ours/llg s")
        for r in rows:
            name = f"{r['dataset']}/{r['id']}"
            if "skipped" in r:
                print(f"  {name:<24} skipped: {r['skipped']}")
                continue
            st = r["stats"]
            print(f"  {name:<24} {r['rule_states']:6d} {r['tokens']:6d} {st['ours.advance']:8.1f} "
                  f"{st['ours.mask']:8.1f} {st['ours.mask_cached']:7.1f} {st['llguidance.mask']:8.1f} "
                  f"{st['ours.mask'] / st['llguidance.mask']:5.2f}x {r['mask_differences']:5d}  "
                  f"{r['ours_compile_s']:.2f}/{r['llguidance_compile_s']:.3f}"
                  + (f"  REFUSED {r['refusals'][0]}" if r["refusals"] else ""))
        print_table("recursive schemas, all instances", summary)

    results["wall_s"] = time.perf_counter() - started
    results["load_average_at_end"] = os.getloadavg()
    print(f"\nwall time {results['wall_s']:.0f} s; load average at end {os.getloadavg()[0]:.1f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
