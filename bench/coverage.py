"""Declared coverage over every schema of the datasets, per engine, with the reason for each refusal.

    python -m bench.coverage --engines structgen,llguidance,xgrammar --out build/coverage.jsonl
    python -m bench.coverage --report build/coverage.jsonl

Each engine compiles each schema in its own forked worker (one per engine, engines side by side
with `--jobs`), with a per-schema timeout: a hang or a crash loses that schema, recorded as
such, and the worker is restarted. A line per (engine, schema) goes to the JSONL file as soon as
it is known, so an interrupted scan resumes where it stopped. The report gives, per dataset and
engine, the schemas compiled and the refusals grouped by reason (the error class, and for
structgen the keyword), plus compile-time percentiles and the workers' peak memory.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from bench.compile_mask import TimedWorker, WorkerFailed, WorkerTimeout
from jsonschemabench.datasets import DATASETS, load_dataset
from jsonschemabench.engines import EngineCompileError, canonical_name, default_tokenizer, make_engine


#: What structgen's notes say where the output keeps to a subset of the valid values (a complement
#: past its budget left out): such a schema compiles, and the report counts it apart.
SUBSET_NOTE = "subset of the valid values"


def _setup(name: str, tokenizer):
    def setup():
        return make_engine(name, tokenizer)
    return setup


def _compile_task(engine, schema) -> Iterator[dict[str, Any]]:
    t0 = time.perf_counter()
    subset = False
    try:
        matcher = engine.compile(schema)
        status, reason = "compiled", None
        subset = any(SUBSET_NOTE in note for note in matcher.notes())
    except EngineCompileError as error:
        status, reason = "refused", str(error).splitlines()[0][:300]
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    yield {"status": status, "reason": reason, "compile_s": seconds, "peak_rss": peak, "subset": subset}


def reason_class(engine: str, reason: str | None) -> str:
    """A short label for a refusal: the error class, and for structgen the keyword it names."""
    if reason is None:
        return ""
    head = reason.split(":", 1)[0]
    match = re.search(r"unsupported '([^']+)'", reason)
    if engine == "structgen" and match:
        return f"{head} {match.group(1)}"
    if engine == "structgen" and "budget" in reason:
        budget = re.search(r"exceeds the (\w+) budget", reason)
        return f"{head} {budget.group(1) if budget else ''}".strip()
    return head[:60]


def scan(engines: list[str], datasets: list[str], out: Path, timeout: float, jobs: int, quiet: bool,
         limit: int | None = None) -> None:
    done = set()
    if out.exists():
        for line in out.read_text("utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            done.add((row["engine"], row["dataset"], row["id"]))
    records = [r for d in datasets for r in load_dataset(d)[:limit]]
    tokenizer = default_tokenizer()
    lock = threading.Lock()
    counts = collections.Counter()

    def run(engine: str) -> None:
        worker = TimedWorker(_setup(engine, tokenizer), _compile_task)
        todo = [r for r in records if (engine, r.dataset, r.id) not in done]
        for i, rec in enumerate(todo):
            try:
                result = list(worker.run(rec.schema, [timeout]))[0]
            except WorkerTimeout:
                result = {"status": "timeout", "reason": f"no answer within {timeout:g} s", "compile_s": timeout}
            except WorkerFailed as error:
                result = {"status": "crashed", "reason": str(error)[:300], "compile_s": None}
                worker.stop()
            row = {"engine": engine, "dataset": rec.dataset, "id": rec.id, **result}
            with lock:
                with out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
                counts[engine, result["status"]] += 1
                if not quiet and (i + 1) % 250 == 0:
                    print(f"{engine}: {i + 1}/{len(todo)} "
                          f"({counts[engine, 'compiled']} compiled)", file=sys.stderr, flush=True)
        worker.stop()

    pending = list(engines)
    while pending:
        batch, pending = pending[:jobs], pending[jobs:]
        threads = [threading.Thread(target=run, args=(e,)) for e in batch]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def report(path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    engines = sorted({r["engine"] for r in rows})
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in rows)]
    summary: dict[str, Any] = {}
    for e in engines:
        mine = [r for r in rows if r["engine"] == e]
        times = np.array([r["compile_s"] for r in mine if r["status"] == "compiled"])
        summary[e] = {
            "schemas": len(mine),
            "compiled": sum(r["status"] == "compiled" for r in mine),
            "subset": sum(bool(r.get("subset")) for r in mine if r["status"] == "compiled"),
            "compile_p50_ms": float(np.percentile(times, 50) * 1e3) if len(times) else None,
            "compile_p99_ms": float(np.percentile(times, 99) * 1e3) if len(times) else None,
            "peak_rss_mib": max((r.get("peak_rss") or 0 for r in mine), default=0) / 2**20,
            "per_dataset": {},
            "reasons": collections.Counter(
                r["status"] if r["status"] in ("timeout", "crashed") else reason_class(e, r["reason"])
                for r in mine if r["status"] != "compiled").most_common(),
        }
        for d in datasets:
            rs = [r for r in mine if r["dataset"] == d]
            summary[e]["per_dataset"][d] = {"compiled": sum(r["status"] == "compiled" for r in rs), "schemas": len(rs),
                                            "reasons": collections.Counter(
                                                r["status"] if r["status"] in ("timeout", "crashed")
                                                else reason_class(e, r["reason"])
                                                for r in rs if r["status"] != "compiled").most_common(4)}
    return summary


def print_report(summary: dict[str, Any]) -> None:
    engines = list(summary)
    datasets = list(next(iter(summary.values()))["per_dataset"]) if summary else []
    print("| dataset | " + " | ".join(engines) + " |")
    print("|---|" + "---:|" * len(engines))
    for d in datasets:
        cells = []
        for e in engines:
            p = summary[e]["per_dataset"].get(d, {"compiled": 0, "schemas": 0})
            pct = 100 * p["compiled"] / p["schemas"] if p["schemas"] else 0
            cells.append(f"{pct:.1f}% ({p['compiled']}/{p['schemas']})")
        print(f"| {d} | " + " | ".join(cells) + " |")
    cells = [f"{100 * s['compiled'] / max(s['schemas'], 1):.1f}% ({s['compiled']}/{s['schemas']})" for s in summary.values()]
    print("| **all** | " + " | ".join(cells) + " |")
    print()
    for e, s in summary.items():
        print(f"{e}: compile p50 {s['compile_p50_ms']:.2f} ms, p99 {s['compile_p99_ms']:.1f} ms (compiled schemas), "
              f"worker peak RSS {s['peak_rss_mib']:.0f} MiB")
        if s["subset"]:
            print(f"  compiled to a subset of the valid values (a complement past its budget left out, noted): "
                  f"{s['subset']}")
        print("  refusals: " + ", ".join(f"{k or '?'} {n}" for k, n in s["reasons"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coverage", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="structgen", help="comma-separated engines (structgen, xgrammar, llguidance, ...)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated JSONSchemaBench datasets")
    parser.add_argument("--out", type=Path, default=Path("build/coverage.jsonl"), help="JSONL results (resumed if present)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per schema compile")
    parser.add_argument("--jobs", type=int, default=2, help="engines scanned at the same time")
    parser.add_argument("--limit", type=int, help="only the first N schemas of each dataset")
    parser.add_argument("--report", type=Path, help="only print the report of this results file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.report is None:
        engines = [canonical_name(e) for e in args.engines.split(",") if e]
        datasets = [d for d in args.datasets.split(",") if d]
        unknown = sorted(set(datasets) - set(DATASETS))
        if unknown:
            parser.error(f"unknown dataset(s) {', '.join(unknown)}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        scan(engines, datasets, args.out, args.timeout, max(1, args.jobs), args.quiet, args.limit)
    print_report(report(args.report or args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
