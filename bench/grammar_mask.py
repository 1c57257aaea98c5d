"""Per-token advance and mask time of the pushdown constraint on a JSON grammar, against llguidance on the same grammar.

    .venv/bin/python -m bench.grammar_mask [--docs 30] [--seed 0]

Both engines get the same context-free JSON grammar (compact form, no
whitespace): ours as rules in IR, llguidance's in Lark. For ~30 random JSON
documents (nested objects, arrays, strings with escapes and non-ASCII text,
numbers), tokenised by SmolLM2's tokenizer, each engine walks the token path:
time of `advance` (ours) / `consume_token` (llguidance) per token, and of the
mask for the state before each token (ours: fresh, i.e. with the per-state
mask cache cleared; the per-context token classifications stay warm after
the first document, as in a long generation). Prints p50/p99 and ratios.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

from structgen.automata import ir
from structgen.automata.charset import CharSet
from structgen.grammar import Grammar

JSON_LARK = r"""
start: value
value: object | array | STRING | NUMBER | "true" | "false" | "null"
object: "{" (pair ("," pair)*)? "}"
pair: STRING ":" value
array: "[" (value ("," value)*)? "]"
STRING: /"([^"\\\x00-\x1f]|\\(["\\\/bfnrt]|u[0-9a-fA-F]{4}))*"/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/
"""


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


def _percentiles(xs: list[float]) -> tuple[float, float]:
    a = np.array(xs) * 1e6
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import llguidance
    import llguidance.hf
    import llguidance.numpy

    from structgen.grammar.constraint import compile_grammar_ir
    from structgen.lm import load_tokenizer
    from structgen.token_trie import trie_for
    from structgen.vocab import Vocabulary

    tokenizer = load_tokenizer()
    vocab = Vocabulary.from_tokenizer(tokenizer)
    rng = random.Random(args.seed)
    paths = []
    while len(paths) < args.docs:
        text = json.dumps(random_document(rng), ensure_ascii=False, separators=(",", ":"))
        ids = tokenizer.encode(text, add_special_tokens=False)
        if vocab.decode(ids) == text.encode():
            paths.append(ids)

    trie_for(vocab)  # the vocabulary's token trie is shared by every constraint: not grammar compile time
    t0 = time.perf_counter()
    ours = compile_grammar_ir(json_grammar(), vocab)
    ours_compile = time.perf_counter() - t0
    ll_tok = llguidance.hf.from_tokenizer(tokenizer, n_vocab=len(vocab), eos_token=list(vocab.eos_token_ids))
    t0 = time.perf_counter()
    ll_grammar = llguidance.grammar_from("lark", JSON_LARK)
    ll_root = llguidance.LLMatcher(ll_tok, ll_grammar, log_level=0)
    if ll_root.is_error():
        raise SystemExit(f"llguidance: {ll_root.get_error()}")
    ll_compile = time.perf_counter() - t0
    bitmask = np.zeros((1, (len(vocab) + 31) // 32), np.int32)

    times = {("ours", "advance"): [], ("ours", "mask"): [], ("llguidance", "advance"): [],
             ("llguidance", "mask"): []}
    allowed_counts = []
    for doc, ids in enumerate(paths):
        state = ours.start()
        matcher = ll_root.deep_copy()
        for token in ids:
            ours._masks.clear()  # time a fresh mask, not the per-state cache
            t0 = time.perf_counter()
            m = ours.mask(state)
            t1 = time.perf_counter()
            llguidance.numpy.fill_next_token_bitmask(matcher, bitmask)
            t2 = time.perf_counter()
            nxt = ours.advance(state, token)
            t3 = time.perf_counter()
            ok = matcher.consume_token(token)
            t4 = time.perf_counter()
            if nxt is None or not m[token] or not ok:
                raise SystemExit(f"document {doc}: token {token} refused (ours {nxt}, llguidance {ok})")
            if doc > 0:  # the first document warms up compilation and classification caches
                times["ours", "mask"].append(t1 - t0)
                times["llguidance", "mask"].append(t2 - t1)
                times["ours", "advance"].append(t3 - t2)
                times["llguidance", "advance"].append(t4 - t3)
            allowed_counts.append(int(m.sum()))
            state = nxt
        if not ours.is_accepting(state) or not matcher.is_accepting():
            raise SystemExit(f"document {doc}: not accepted at the end")

    n_tokens = sum(len(p) for p in paths)
    print(f"JSON grammar, SmolLM2 vocabulary ({len(vocab)} tokens), {len(paths)} documents, {n_tokens} tokens "
          f"(first document excluded from timings); mean allowed tokens per mask {np.mean(allowed_counts):.0f}")
    print(f"compile: ours {ours_compile * 1e3:.0f} ms ({ours.info.n_states} rule-DFA states), "
          f"llguidance {ll_compile * 1e3:.0f} ms")
    print(f"{'operation':<10} {'engine':<11} {'p50 µs':>9} {'p99 µs':>9}")
    for op in ("advance", "mask"):
        for engine in ("ours", "llguidance"):
            p50, p99 = _percentiles(times[engine, op])
            print(f"{op:<10} {engine:<11} {p50:9.1f} {p99:9.1f}")
        o50, o99 = _percentiles(times["ours", op])
        l50, l99 = _percentiles(times["llguidance", op])
        print(f"{op:<10} {'ratio':<11} {o50 / l50:8.2f}x {o99 / l99:8.2f}x   (ours / llguidance)")


if __name__ == "__main__":
    main()
