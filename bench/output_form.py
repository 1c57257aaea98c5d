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
alike. Records are appended to ``--out`` and a rerun skips what is there
(resumable); the table is printed from the whole file. Torch runs on one
thread.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

FORMS = ("compact", "flexible")


def _record(lm, compiler, record, form: str, args) -> dict:
    import structgen
    from jsonschemabench.decoding import judge_output
    from jsonschemabench.prompts import prompt_token_ids

    out = {"dataset": record.dataset, "id": record.id, "form": form}
    try:
        constraint = compiler.json_schema(record.schema, whitespace=form)
    except structgen.StructgenError as error:
        return out | {"compiled": False, "error": f"{type(error).__name__}: {error}"[:300]}
    context = prompt_token_ids(lm.tokenizer, record.schema)
    lm.clear_cache()
    lcd = structgen.sample(lm, constraint, prompt=context, sampler="lcd", max_tokens=args.max_tokens, temperature=0)
    best = lcd.best()
    times = lcd.stats["step_times"]
    out |= {"compiled": True, "valid": judge_output(best.data, record.schema).valid, "finished": best.finished,
            "tokens": len(best.tokens), "forced": lcd.stats["forced_tokens"],
            "tpot_s": (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else None}
    if args.smc_index < args.smc_schemas:
        lm.clear_cache()
        smc = structgen.sample(lm, constraint, prompt=context, sampler="smc", particles=args.particles,
                               max_tokens=args.max_tokens, temperature=1.0, seed=0)
        out |= {"log_ml": smc.log_ml if math.isfinite(smc.log_ml) else None,
                "smc_finished": sum(p.finished for p in smc.particles) / len(smc.particles),
                "smc_valid": judge_output(smc.best().data, record.schema).valid}
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.output_form", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-dataset", type=int, default=15, help="schemas per dataset (default 15)")
    parser.add_argument("--max-tokens", type=int, default=160, help="tokens per generation (default 160)")
    parser.add_argument("--particles", type=int, default=4, help="SMC particles (default 4)")
    parser.add_argument("--smc-schemas", type=int, default=30, help="schemas that also run SMC (default 30)")
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
    records = select_records(list(DATASETS), None, args.per_dataset)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["dataset"], r["id"], r["form"]): r for r in map(json.loads, args.out.open()) } if args.out.exists() else {}
    todo = [(i, r) for i, r in enumerate(records) if any((r.dataset, r.id, f) not in done for f in FORMS)]
    if todo:
        lm = load_model()
        compiler = structgen.Compiler(lm.vocabulary)
        with args.out.open("a") as sink:
            for index, record in track(todo, description="schemas"):
                args.smc_index = index
                for form in FORMS:
                    if (record.dataset, record.id, form) in done:
                        continue
                    started = time.perf_counter()
                    row = _record(lm, compiler, record, form, args) | {"seconds": time.perf_counter() - started}
                    done[(record.dataset, record.id, form)] = row
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
    rows = [done[(r.dataset, r.id, f)] for r in records for f in FORMS if (r.dataset, r.id, f) in done]
    table = Table(title=f"Output form, {len(records)} schemas, greedy LCD + SMC:{args.particles}")
    for column in ("form", "empirical coverage", "compiled", "LCD finished", "mean tokens", "TPOT ms (p50)",
                   "SMC log_ml (median)", "SMC finished share"):
        table.add_column(column)
    for line in _table(rows, len(records)):
        table.add_row(*line)
    Console(width=160).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
