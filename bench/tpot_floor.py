"""The floor under LCD's time per output token, from a `jsonschemabench run` folder: the best fast-forward could do.

    jsonschemabench run --datasets Glaiveai2K,Github_easy --limit 20 --max-tokens 160 --threads 1 --workers 1 \\
        --engines unconstrained,structgen-lcd:ff --out DIR
    python -m bench.tpot_floor DIR

Fast-forward makes a forced token cost no model step of its own, and the
output layer of a step costs less when the mask allows few tokens
(`TransformersLM.next_token_logprobs_among`). Nothing else makes a
constrained token cheaper than an unconstrained one: every sampled token
needs a step of the same model. So, per schema, LCD's TPOT ratio to
unconstrained is at least

    floor = (sampled / output tokens) x (dense + (1 - dense) x sparse_cost)

with `sampled / output tokens` from the engine's own record (its forced
tokens free: multi-token passes cost nothing extra), `dense` the share of
sampled steps whose mask allows more than `SPARSE_SHARE` of the vocabulary
(those compute the whole output layer; found by replaying the output text
through the compiled constraint), and `sparse_cost` a step with a restricted
output layer against a whole one, measured here on the default model (300
allowed tokens, one thread). Prints, per dataset, the median floor beside
the measured median ratio.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import time
from pathlib import Path

import numpy as np

from jsonschemabench.datasets import load_dataset


def sparse_step_cost(lm, steps: int = 20, allowed: int = 300) -> float:
    """A model step that computes `allowed` logits, over one that computes them all (median of `steps`)."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    ids = np.sort(rng.choice(len(lm.vocabulary), allowed, replace=False))
    context = lm.encode_prompt("Write a JSON object.")
    whole, sparse = [], []
    for i in range(steps):
        for out, call in ((whole, lambda c: lm.next_token_logprobs([c])),
                          (sparse, lambda c: lm.next_token_logprobs_among(c, ids))):
            c = context + [int(rng.integers(100, 1000)), i]  # a new last token: one decoder step each time
            lm.next_token_logprobs_among(c[:-1], ids)  # the prefix in the cache
            t0 = time.perf_counter()
            call(c)
            out.append(time.perf_counter() - t0)
    return statistics.median(sparse) / statistics.median(whole)


def dense_share(constraint, token_ids: list[int], threshold: float) -> float:
    """The share of positions along `token_ids` whose mask allows more than `threshold` of the vocabulary."""
    state, dense, steps = constraint.start(), 0, 0
    limit = threshold * constraint.vocab_size
    for token in token_ids:
        steps += 1
        dense += int(constraint.mask(state).sum()) > limit
        state = constraint.advance(state, token)
        if state is None:
            break
    return dense / max(steps, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a `jsonschemabench run` folder with the engine and unconstrained")
    parser.add_argument("--engine", default="structgen-lcd:ff", help="the fast-forwarding engine of the run")
    parser.add_argument("--sparse-cost", type=float, help="skip the measurement and use this ratio")
    args = parser.parse_args(argv)

    import structgen
    from structgen.lm.transformers_lm import SPARSE_SHARE

    records = [json.loads(line) for line in (args.run / "results.jsonl").open()]
    by_schema: dict[tuple, dict] = collections.defaultdict(dict)
    for r in records:
        by_schema[(r["dataset"], r["id"])][r["engine"]] = r
    lm = structgen.load_model()
    cost = args.sparse_cost if args.sparse_cost is not None else sparse_step_cost(lm)
    print(f"sparse step cost: {cost:.3f} of a whole step")
    schemas = {(d, rec.id): rec.schema for d in {k[0] for k in by_schema} for rec in load_dataset(d)}
    rows: dict[str, list[tuple[float, float, float, float]]] = collections.defaultdict(list)
    for key, engines in sorted(by_schema.items()):
        ours, base = engines.get(args.engine), engines.get("unconstrained")
        if not ours or not base or not ours.get("tpot_s") or not base.get("tpot_s") or not ours.get("sampler_stats"):
            continue
        stats = ours["sampler_stats"]
        sampled = stats["drawn_tokens"] / stats["tokens"]
        constraint = structgen.compile_json_schema(schemas[key], lm.vocabulary)
        dense = dense_share(constraint, lm.encode_text(ours["text"]), SPARSE_SHARE)
        floor = sampled * (dense + (1 - dense) * cost)
        rows[key[0]].append((floor, ours["tpot_s"] / base["tpot_s"], 1 - sampled, dense))
    print("| dataset | schemas | forced share | dense steps | floor (median) | measured ratio (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for dataset, values in rows.items():
        floor, measured, forced, dense = (statistics.median(v[i] for v in values) for i in range(4))
        print(f"| {dataset} | {len(values)} | {forced:.1%} | {dense:.0%} | {floor:.3f} | {measured:.3f} |")


if __name__ == "__main__":
    main()
