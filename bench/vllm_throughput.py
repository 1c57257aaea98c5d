"""Throughput inside vLLM: structgen's logits processor against vLLM's own xgrammar backend and unconstrained
decoding, on the same engine, schemas, prompts and greedy decoding.

    .venv-vllm/bin/python bench/vllm_throughput.py                        # 20 Glaiveai2K schemas, 256 tokens, 3 rounds
    .venv-vllm/bin/python bench/vllm_throughput.py --limit 5 --rounds 1   # a quick look

One engine serves the three (the default model, vLLM's CPU build in ``.venv-vllm``): it is built with
``logits_processors=[structgen.integrations.vllm:LogitsProcessor]`` and
``structured_outputs_config={"backend": "xgrammar"}``, so a request asks for one or the other (``extra_args``
or ``StructuredOutputsParams(json=...)``) or for neither. Prompts are the harness's (`jsonschemabench.prompts`),
as token ids; outputs are judged by `jsonschemabench.decoding.judge_output` (structgen.judge's validator).

First an admission pass sends each schema once to each constrained engine (one token): a schema either
refuses is left out of the measured rounds (and counted), and both engines' compilation caches are then
warm, so the rounds measure decoding. Each round then runs, per engine in a rotating order:

- *batch*: all schemas in one `LLM.generate` (vLLM batches them): requests/s, output tokens/s and wall time
  per output token, plus the median per-request decode time per token (vLLM's own timestamps, first to last
  token, over the tokens after the first);
- *single* (unless ``--no-single``): the schemas one at a time, so that a request's time per output token is
  the constraint's cost at batch size 1, not the batch's shape (engines' outputs differ in length, so their
  batches shrink differently).

Outputs differ between engines (whitespace and, where the grammars differ, content), so their lengths do:
the table also gives the single requests' time per output token on the schemas where structgen and xgrammar
produced the same number of tokens. The machine's load average is printed with each round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

PROCESSOR = "structgen.integrations.vllm:LogitsProcessor"
ENGINES = ("structgen", "xgrammar", "unconstrained")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="Glaiveai2K")
    parser.add_argument("--limit", type=int, default=20, help="the first N schemas of the dataset")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-single", action="store_true", help="skip the one-request-at-a-time runs")
    parser.add_argument("--out", help="also write every request's record here (JSON lines)")
    return parser.parse_args(argv)


def sampling(engine: str, schema, max_tokens: int):
    """The request's sampling parameters: greedy, with the engine's constraint."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    options = dict(temperature=0.0, max_tokens=max_tokens)
    if engine == "structgen":
        return SamplingParams(extra_args={"structgen": {"json_schema": schema}}, **options)
    if engine == "xgrammar":
        return SamplingParams(structured_outputs=StructuredOutputsParams(json=schema), **options)
    return SamplingParams(**options)


def admitted(llm, engine: str, records, prompts) -> list[bool]:
    """Per schema: whether the engine takes it (one-token request; its compilation is then cached)."""
    from vllm.exceptions import VLLMValidationError

    accepted = []
    for record, prompt in zip(records, prompts):
        try:
            llm.generate([prompt], sampling(engine, record.schema, 1), use_tqdm=False)
            accepted.append(True)
        except (VLLMValidationError, ValueError) as error:  # ValueError: a refusal vLLM did not wrap
            print(f"  {engine} refuses {record.id}: {str(error)[:160]}", file=sys.stderr)
            accepted.append(False)
    return accepted


def decode_time_per_token(output) -> float | None:
    """Seconds per output token after the first, from vLLM's engine timestamps (None below two tokens).

    Raises
    ------
    RuntimeError
        The engine keeps no per-request stats (it must be built with ``disable_log_stats=False``).
    """
    metrics = output.metrics
    if metrics is None:
        raise RuntimeError("the engine keeps no per-request stats: build it with disable_log_stats=False")
    tokens = len(output.outputs[0].token_ids)
    if tokens < 2:
        return None
    return (metrics.last_token_ts - metrics.first_token_ts) / (tokens - 1)


def run(llm, engine: str, records, prompts, max_tokens: int, phase: str, round_: int) -> list[dict]:
    """One engine over the schemas, batched or one by one: a record per request."""
    from jsonschemabench.decoding import judge_output

    params = [sampling(engine, r.schema, max_tokens) for r in records]
    if phase == "batch":
        start = time.perf_counter()
        outputs = llm.generate(prompts, params, use_tqdm=False)
        walls = [time.perf_counter() - start] * len(records)
    else:
        outputs, walls = [], []
        for prompt, p in zip(prompts, params):
            start = time.perf_counter()
            outputs += llm.generate([prompt], p, use_tqdm=False)
            walls.append(time.perf_counter() - start)
    rows = []
    for record, output, wall in zip(records, outputs, walls):
        completion = output.outputs[0]
        verdict = judge_output(completion.text.encode(), record.schema)
        rows.append({"engine": engine, "phase": phase, "round": round_, "id": record.id, "wall_s": wall,
                     "tokens": len(completion.token_ids), "tpot_s": decode_time_per_token(output),
                     "finish_reason": completion.finish_reason, "valid": verdict.valid})
    return rows


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def summarize(rows: list[dict]) -> list[dict]:
    """Per phase and engine, over the rounds: the table's columns."""
    table = []
    for phase in ("batch", "single"):
        for engine in ENGINES:
            mine = [r for r in rows if r["phase"] == phase and r["engine"] == engine]
            if not mine:
                continue
            rounds = sorted({r["round"] for r in mine})
            if phase == "batch":  # one wall per round (every row of a round carries it)
                wall = sum(next(r["wall_s"] for r in mine if r["round"] == k) for k in rounds)
            else:
                wall = sum(r["wall_s"] for r in mine)
            tokens = sum(r["tokens"] for r in mine)
            last = [r for r in mine if r["round"] == rounds[-1]]
            table.append({"phase": phase, "engine": engine, "requests": len(mine), "requests_per_s": len(mine) / wall,
                          "output_tokens_per_s": tokens / wall, "wall_ms_per_token": 1000 * wall / tokens,
                          "median_tpot_ms": 1000 * median(r["tpot_s"] for r in mine),
                          "mean_tokens": tokens / len(mine), "valid": sum(r["valid"] for r in last),
                          "stopped": sum(r["finish_reason"] == "stop" for r in last), "of": len(last)})
    return table


def matched(rows: list[dict]) -> dict | None:
    """Single requests' median time per output token on the schemas where structgen and xgrammar produced
    the same number of tokens (in the last round), or None where there is no such schema."""
    single = [r for r in rows if r["phase"] == "single"]
    if not single:
        return None
    last = max(r["round"] for r in single)
    count = {(r["engine"], r["id"]): r["tokens"] for r in single if r["round"] == last}
    ids = {i for (e, i), n in count.items() if e == "structgen" and count.get(("xgrammar", i)) == n}
    if not ids:
        return None
    per = {e: 1000 * median(r["tpot_s"] for r in single if r["engine"] == e and r["id"] in ids)
           for e in ("structgen", "xgrammar")}
    return {"schemas": sorted(ids), "structgen_tpot_ms": per["structgen"], "xgrammar_tpot_ms": per["xgrammar"],
            "ratio": per["structgen"] / per["xgrammar"]}


def print_table(table: list[dict]) -> None:
    print("| phase | engine | requests | req/s | out tok/s | wall ms/tok | median TPOT ms | mean tokens | valid "
          "| stopped |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for t in table:
        print(f"| {t['phase']} | {t['engine']} | {t['requests']} | {t['requests_per_s']:.2f} | "
              f"{t['output_tokens_per_s']:.1f} | {t['wall_ms_per_token']:.1f} | {t['median_tpot_ms']:.1f} | "
              f"{t['mean_tokens']:.1f} | {t['valid']}/{t['of']} | {t['stopped']}/{t['of']} |")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from transformers import AutoTokenizer
    from vllm import LLM

    from jsonschemabench.datasets import load_dataset
    from jsonschemabench.prompts import prompt_token_ids
    from structgen.lm.loading import locate_model

    files = locate_model(None)
    tokenizer = AutoTokenizer.from_pretrained(str(files.tokenizer_dir))
    records = load_dataset(args.dataset)[:args.limit]
    prompts = [{"prompt_token_ids": prompt_token_ids(tokenizer, r.schema)} for r in records]
    llm = LLM(model=str(files.model_dir), tokenizer=str(files.tokenizer_dir), max_model_len=2048, seed=0,
              kv_cache_memory_bytes=2**30, logits_processors=[PROCESSOR],
              structured_outputs_config={"backend": "xgrammar"}, disable_log_stats=False)
    started = time.perf_counter()
    takes = {e: admitted(llm, e, records, prompts) for e in ("structgen", "xgrammar")}
    both = [k for k in range(len(records)) if all(t[k] for t in takes.values())]
    print(f"admission ({time.perf_counter() - started:.0f} s): structgen takes "
          f"{sum(takes['structgen'])}/{len(records)}, xgrammar {sum(takes['xgrammar'])}/{len(records)}; "
          f"measured on the {len(both)} both take", file=sys.stderr)
    records, prompts = [records[k] for k in both], [prompts[k] for k in both]
    rows = []
    for round_ in range(args.rounds):
        order = ENGINES[round_ % 3:] + ENGINES[:round_ % 3]
        for phase in ("batch",) if args.no_single else ("batch", "single"):
            for engine in order:
                rows += run(llm, engine, records, prompts, args.max_tokens, phase, round_)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"round {round_ + 1}/{args.rounds} done; load average {load}", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as out:
            out.writelines(json.dumps(r) + "\n" for r in rows)
    print_table(summarize(rows))
    same = matched(rows)
    if same is None:
        print("\nNo schema where structgen and xgrammar produced the same number of tokens.")
    else:
        print(f"\nSame token count ({len(same['schemas'])} schemas: {', '.join(same['schemas'])}): single requests' "
              f"median TPOT structgen {same['structgen_tpot_ms']:.1f} ms, xgrammar {same['xgrammar_tpot_ms']:.1f} ms "
              f"(ratio {same['ratio']:.2f})")


if __name__ == "__main__":
    main()
