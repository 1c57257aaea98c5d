"""The default output form, by measurement: compact JSON vs bounded flexible whitespace.

    python -m bench.output_form --per-dataset 15 --out build/output-form.jsonl

The same schemas (the first ``--per-dataset`` of each JSONSchemaBench
dataset: 150 by default), the same prompt (the harness's) and the default model,
once per form (``whitespace="compact"`` and ``"flexible"``, which allows up to
8 whitespace characters between tokens):

- empirical coverage: outputs the judge (`jsonschemabench.decoding.judge_output`)
  finds valid, over all schemas; refused schemas count as not covered;
- greedy LCD (fast-forward on, the default of `structgen.generate`): how many
  outputs finish within ``--max-tokens``, their length, time per output token;
- SMC with ``--particles`` particles at temperature 1 on the first
  ``--smc-schemas`` schemas: the log marginal likelihood estimate log_ml (how
  much the constraint fights the model: higher is better) and the share of
  finished particles.

Both forms of one schema run back to back, so a loaded machine slows them
alike; ``--shard K/N`` runs every N-th schema from the K-th (0-based), so N
processes can share one ``--out``. Records are appended to ``--out`` and a rerun skips what is there
(resumable); the table is printed from the whole file. Torch runs on one
thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

FORMS = ("compact", "flexible")


def _record(lm, compiler, record, form: str, args, smc: bool) -> dict:
    """Greedy LCD on `record` in `form` and, when `smc`, SMC with `args.particles` particles too."""
    import structgen
    from jsonschemabench.decoding import decode_with_sampler, judge_output
    from jsonschemabench.prompts import prompt_token_ids

    out = {"dataset": record.dataset, "id": record.id, "form": form}
    try:
        constraint = compiler.json_schema(record.schema, whitespace=form)
    except structgen.StructgenError as error:
        return out | {"compiled": False, "error": f"{type(error).__name__}: {error}"[:300]}
    context = prompt_token_ids(lm.tokenizer, record.schema)
    lm.clear_cache()
    lcd = decode_with_sampler(lm, context, constraint, sampler="lcd", particles=1, max_tokens=args.max_tokens,
                              temperature=0, seed=0, fast_forward=True)
    out |= {"compiled": True, "valid": judge_output(lcd.data, record.schema).valid, "finished": lcd.finished,
            "tokens": len(lcd.tokens), "forced": len(lcd.forced), "tpot_s": lcd.tpot()}
    if smc:
        lm.clear_cache()
        sampled = decode_with_sampler(lm, context, constraint, sampler="smc", particles=args.particles,
                                      max_tokens=args.max_tokens, temperature=1.0, seed=0)
        out |= {"log_ml": sampled.stats["log_ml"], "smc_finished": sampled.stats["finished"] / args.particles,
                "smc_valid": judge_output(sampled.data, record.schema).valid}
    return out


def _table(rows: list[dict], total: int) -> list[list[str]]:
    lines = []
    for form in FORMS:
        mine = [r for r in rows if r["form"] == form]
        ran = [r for r in mine if r.get("compiled")]
        smc = [r for r in ran if "log_ml" in r]
        finite = [r["log_ml"] for r in smc if r["log_ml"] is not None]
        tpot = [r["tpot_s"] for r in ran if r.get("tpot_s")]
        lines.append([
            form, f"{sum(r['valid'] for r in ran)}/{total}", f"{len(ran)}/{total}",
            f"{sum(r['finished'] for r in ran)}/{len(ran)}",
            f"{statistics.mean(r['tokens'] for r in ran):.1f}" if ran else "-",
            f"{1000 * statistics.median(tpot):.1f}" if tpot else "-",
            f"{statistics.median(finite):.2f} ({len(finite)}/{len(smc)} finite)" if finite else f"- (0/{len(smc)})",
            f"{statistics.mean(r['smc_finished'] for r in smc):.2f}" if smc else "-",
        ])
    return lines


def _shard(text: str) -> tuple[int, int]:
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit() and int(k) < int(n)):
        raise argparse.ArgumentTypeError(f"write K/N with 0 <= K < N, not {text!r}")
    return int(k), int(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.output_form", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-dataset", type=int, default=15, help="schemas per dataset (default 15)")
    parser.add_argument("--max-tokens", type=int, default=160, help="tokens per generation (default 160)")
    parser.add_argument("--particles", type=int, default=4, help="SMC particles (default 4)")
    parser.add_argument("--smc-schemas", type=int, default=30, help="schemas that also run SMC (default 30)")
    parser.add_argument("--shard", default=(0, 1), type=_shard, help="K/N: this process runs schemas K, K+N, ... (default 0/1)")
    parser.add_argument("--out", required=True, type=Path, help="JSON lines, appended and resumed")
    args = parser.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    import structgen
    from jsonschemabench.datasets import DATASETS
    from jsonschemabench.runner import select_records
    from structgen.lm import load_model

    torch.set_num_threads(1)
    shard, shards = args.shard
    records = select_records(list(DATASETS), None, args.per_dataset)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["dataset"], r["id"], r["form"]): r for r in map(json.loads, args.out.open())} if args.out.exists() else {}
    todo = [(i, r) for i, r in enumerate(records) if i % shards == shard and any((r.dataset, r.id, f) not in done for f in FORMS)]
    if todo:
        lm = load_model()
        compiler = structgen.Compiler(lm.vocabulary)
        with args.out.open("a") as sink:
            for index, record in track(todo, description="schemas"):
                for form in FORMS:
                    if (record.dataset, record.id, form) in done:
                        continue
                    started = time.perf_counter()
                    row = _record(lm, compiler, record, form, args, smc=index < args.smc_schemas) | {"seconds": time.perf_counter() - started}
                    done[(record.dataset, record.id, form)] = row
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
    rows = [done[(r.dataset, r.id, f)] for r in records for f in FORMS if (r.dataset, r.id, f) in done]
    measured = len({(row["dataset"], row["id"]) for row in rows})
    table = Table(title=f"Output form, {measured} schemas, greedy LCD + SMC:{args.particles}")
    for column in ("form", "empirical coverage", "compiled", "LCD finished", "mean tokens", "TPOT ms (p50)",
                   "SMC log_ml (median)", "SMC finished share"):
        table.add_column(column)
    for line in _table(rows, measured):
        table.add_row(*line)
    console = Console(width=160)
    console.print(table)
    pairs = {}
    for row in rows:
        if row.get("log_ml") is not None:
            pairs.setdefault((row["dataset"], row["id"]), {})[row["form"]] = row["log_ml"]
    gains = [p["flexible"] - p["compact"] for p in pairs.values() if len(p) == 2]
    if gains:
        console.print(f"SMC log_ml, flexible - compact, on the {len(gains)} schemas where both are finite: "
                      f"median {statistics.median(gains):+.2f}, flexible higher on {sum(g > 0 for g in gains)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
