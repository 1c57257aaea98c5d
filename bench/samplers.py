"""Sampler cost with the default model: AWRS checks per token, time per output token, SMC scaling.

    python -m bench.samplers --schemas 3 --max-tokens 24

On a seeded sample of JSONSchemaBench schemas (those that compile), with the
default model (SmolLM2-135M-Instruct) and a prompt that shows the schema:

- constraint checks per token of AWRS (p50, p99, max; pooled over schemas);
- time per output token of unconstrained sampling (the baseline, measured in
  the same run), of LCD (masking) and of AWRS, as ratios to the baseline;
- SMC with N = 1, 4, 8, 16 particles: time per step and per particle, as
  ratios to N = 1.

Times per token come from each sampler's `step_times` (the first step, which
includes the prompt, is left out). The model keeps its prefix cache between
runs, so later runs do not re-read the prompt; that changes time to first
token only. Torch runs on one thread (steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import numpy as np

from jsonschemabench.datasets import DATASETS, load_dataset


def _per_step(step_times: list[float]) -> float | None:
    """Mean seconds per step after the first (the first one includes reading the prompt)."""
    if len(step_times) < 2:
        return None
    return (step_times[-1] - step_times[0]) / (len(step_times) - 1)


def _unconstrained(lm, context: list[int], max_tokens: int, seed: int) -> list[float]:
    """Plain ancestral sampling (inverse CDF), for the baseline step times."""
    rng = np.random.default_rng(seed)
    eos = set(lm.vocabulary.eos_token_ids)
    tokens, times = [], []
    for _ in range(max_tokens):
        p = np.exp(lm.next_token_logprobs([context + tokens])[0])
        token = min(int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right")), len(p) - 1)
        times.append(time.perf_counter())
        if token in eos:
            break
        tokens.append(token)
    return times


def _pick_schemas(dataset: str, count: int, seed: int, vocab):
    from structgen.compile import compile_json_schema

    records = load_dataset(dataset)
    random.Random(seed).shuffle(records)
    picked = []
    for record in records:
        try:
            constraint = compile_json_schema(record.schema, vocab)
        except Exception:  # unsupported or too large: not what this benchmark measures
            continue
        picked.append((record, constraint))
        if len(picked) == count:
            break
    return picked


def run(args) -> dict:
    import torch

    import structgen
    from structgen.sampling import sample

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    lm = structgen.load_model()
    load_s = time.perf_counter() - t0
    schemas = _pick_schemas(args.dataset, args.schemas, args.seed, lm.vocabulary)
    sizes = [int(n) for n in args.particles.split(",")]
    per_token: dict[str, list[float]] = {"unconstrained": [], "lcd": [], "awrs": []}
    per_step: dict[int, list[float]] = {n: [] for n in sizes}
    checks: list[int] = []
    rows = []
    for i, (record, constraint) in enumerate(schemas):
        schema_text = json.dumps(record.schema, separators=(",", ":"))[: args.schema_chars]
        context = lm.encode_prompt(f"Write one JSON value that matches this JSON Schema:\n{schema_text}")
        row = {"id": record.id, "states": constraint.info.n_states, "prompt_tokens": len(context)}
        base = _per_step(_unconstrained(lm, context, args.max_tokens, args.seed + i))
        row["unconstrained_s"] = base
        for sampler in ("lcd", "awrs"):
            s = sample(lm, constraint, context, sampler=sampler, max_tokens=args.max_tokens, seed=args.seed + i)
            row[f"{sampler}_s"] = _per_step(s.stats["step_times"])
            if sampler == "awrs":
                checks.extend(s.stats["checks_history"])
                row["awrs_checks"] = s.stats["checks_per_token"]
                row["awrs_fallbacks"] = s.stats["fallbacks"]
                row["awrs_valid"] = s.best().finished
        for n in sizes:
            s = sample(lm, constraint, context, sampler="smc", particles=n, max_tokens=args.max_tokens,
                       seed=args.seed + i)
            row[f"smc{n}_step_s"] = _per_step(s.stats["step_times"])
            row[f"smc{n}_finished"] = s.stats["finished"]
            row[f"smc{n}_resampling"] = s.stats["resampling_events"]
        if all(row.get(k) for k in ("unconstrained_s", "lcd_s", "awrs_s")):
            for key in per_token:
                per_token[key].append(row[f"{key}_s"])
        for n in sizes:
            if row[f"smc{n}_step_s"]:
                per_step[n].append(row[f"smc{n}_step_s"])
        rows.append(row)
        print(f"[{i + 1}/{len(schemas)}] {record.id}: " + ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "id"), flush=True)

    med = {k: statistics.median(v) if v else None for k, v in per_token.items()}
    smc = {n: statistics.median(v) if v else None for n, v in per_step.items()}
    arr = np.array(checks, dtype=np.float64)
    summary = {
        "dataset": args.dataset, "schemas": len(schemas), "max_tokens": args.max_tokens, "model_load_s": load_s,
        "awrs_checks_per_token": {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99)),
                                  "max": int(arr.max()), "mean": float(arr.mean()), "tokens": int(arr.size)}
        if arr.size else None,
        "time_per_output_token_s": med,
        "ratio_to_unconstrained": {k: (v / med["unconstrained"]) if v and med["unconstrained"] else None
                                   for k, v in med.items()},
        "smc_step_s": smc,
        "smc_step_ratio_to_n1": {n: (v / smc[sizes[0]]) if v and smc[sizes[0]] else None for n, v in smc.items()},
        "smc_per_particle_ratio_to_n1": {n: (v / n / smc[sizes[0]]) if v and smc[sizes[0]] else None
                                         for n, v in smc.items()},
        "rows": rows,
    }
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="Github_easy", choices=DATASETS, help="JSONSchemaBench dataset")
    parser.add_argument("--schemas", type=int, default=3, help="number of schemas (seeded sample; default 3)")
    parser.add_argument("--max-tokens", type=int, default=24, help="tokens per generation (default 24)")
    parser.add_argument("--particles", default="1,4,8,16", help="SMC sizes, comma-separated (first = baseline)")
    parser.add_argument("--schema-chars", type=int, default=600, help="schema text shown in the prompt (chars)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    summary = run(args)
    print()
    c = summary["awrs_checks_per_token"]
    if c:
        print(f"AWRS constraint checks per token: p50 {c['p50']:.0f}, p99 {c['p99']:.0f}, max {c['max']}, "
              f"mean {c['mean']:.2f} over {c['tokens']} tokens")
    print("time per output token (median over schemas), ratio to unconstrained sampling:")
    for k, v in summary["time_per_output_token_s"].items():
        r = summary["ratio_to_unconstrained"][k]
        print(f"  {k:14s} {v * 1e3:8.1f} ms  x{r:.2f}" if v and r else f"  {k:14s} n/a")
    print("SMC time per step / per particle, ratio to N = first size:")
    for n, v in summary["smc_step_s"].items():
        if v:
            print(f"  N={n:<3d} {v * 1e3:8.1f} ms/step  x{summary['smc_step_ratio_to_n1'][n]:.2f}   "
                  f"{v / n * 1e3:8.1f} ms/particle  x{summary['smc_per_particle_ratio_to_n1'][n]:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2, default=str)


if __name__ == "__main__":
    main()
