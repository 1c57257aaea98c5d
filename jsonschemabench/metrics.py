"""JSONSchemaBench's metrics, computed from result records (plain dicts, as stored in the JSONL files).

- declared coverage: the engine compiled the schema within the compile timeout;
- empirical coverage: it compiled, and its output validates (the `jsonschema` judge);
- compliance: empirical / declared;
- efficiency: median GCT, TTFT (compile included) and TPOT over the schemas every compared engine
  covers (compiled and generated), so no engine is timed on an easier subset than another (an
  endpoint engine's GCT is unknown, None: it is inside its TTFT);
- constraint checks per token for structgen's weighted samplers;
- test suite: cases passed per draft and category;
- mask check: valid instances an engine's compiled matcher rejects and invalid ones it accepts, over
  the schemas it compiled (and checked), with the schemas the instance maker had to skip.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import numpy as np

ALL = "all"


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.median(kept)) if kept else None


def coverage(records: list[dict]) -> dict[str, dict[str, dict]]:
    """engine -> dataset (and "all") -> schemas, declared, empirical, their rates, compliance."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for r in records:
        for dataset in (r["dataset"], ALL):
            row = counts[r["engine"]][dataset]
            row[0] += 1
            row[1] += bool(r.get("compiled"))
            row[2] += bool(r.get("compiled")) and bool(r.get("valid"))
    return {
        engine: {
            dataset: {
                "schemas": n, "declared": d, "empirical": e,
                "declared_coverage": _ratio(d, n), "empirical_coverage": _ratio(e, n), "compliance": _ratio(e, d),
            }
            for dataset, (n, d, e) in sorted(per.items(), key=lambda kv: (kv[0] == ALL, kv[0]))
        }
        for engine, per in counts.items()
    }


def status_counts(records: list[dict]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        out[r["engine"]][r.get("status", "?")] += 1
    return {engine: dict(per) for engine, per in out.items()}


def _generated(r: dict) -> bool:
    return r.get("status") == "ok"


def common_schemas(records: list[dict], engines: list[str]) -> set[tuple[str, str]]:
    """The (dataset, id) pairs that every engine in `engines` compiled and generated for."""
    covered: dict[str, set] = defaultdict(set)
    for r in records:
        if _generated(r):
            covered[r["engine"]].add((r["dataset"], str(r["id"])))
    sets = [covered[e] for e in engines]
    return set.intersection(*sets) if sets else set()


def efficiency(records: list[dict], engines: list[str] | None = None) -> dict:
    """Median GCT, TTFT, TPOT (ms) per engine over the schemas all `engines` cover."""
    engines = engines or sorted({r["engine"] for r in records})
    common = common_schemas(records, engines)
    per_engine = {}
    for engine in engines:
        rows = [r for r in records if r["engine"] == engine and (r["dataset"], str(r["id"])) in common]
        per_engine[engine] = {
            "gct_ms": _median(1e3 * r["compile_s"] if r.get("compile_s") is not None else None for r in rows),
            "ttft_ms": _median(1e3 * r["ttft_s"] if r.get("ttft_s") is not None else None for r in rows),
            "tpot_ms": _median(1e3 * r["tpot_s"] if r.get("tpot_s") is not None else None for r in rows),
            "output_tokens": _median(r.get("output_tokens") for r in rows),
        }
    return {"schemas_in_common": len(common), "engines": per_engine}


def checks_per_token(records: list[dict]) -> dict[str, dict]:
    """For sampler engines: per-schema mean checks per token, summarised (median, p99) and the largest max."""
    means: dict[str, list[float]] = defaultdict(list)
    maxima: dict[str, list[float]] = defaultdict(list)
    for r in records:
        stats = (r.get("sampler_stats") or {}).get("checks_per_token")
        if isinstance(stats, dict) and stats.get("mean") is not None:
            means[r["engine"]].append(float(stats["mean"]))
            if stats.get("max") is not None:
                maxima[r["engine"]].append(float(stats["max"]))
    return {
        engine: {"schemas": len(values), "median_of_means": float(np.median(values)),
                 "p99_of_means": float(np.percentile(values, 99)),
                 "max": max(maxima[engine]) if maxima[engine] else None}
        for engine, values in means.items()
    }


def testsuite_summary(records: list[dict]) -> dict[str, dict[str, dict]]:
    """engine -> "draft/category" (and "draft/all", "all") -> cases, passed, rate; unverifiable cases left out."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in records:
        if r.get("passed") is None:
            continue
        for key in (f"{r['draft']}/{r['category']}", f"{r['draft']}/{ALL}", ALL):
            counts[r["engine"]][key][0] += 1
            counts[r["engine"]][key][1] += bool(r["passed"])
    return {
        engine: {key: {"cases": n, "passed": p, "rate": _ratio(p, n)}
                 for key, (n, p) in sorted(per.items(), key=lambda kv: (kv[0] == ALL, kv[0].endswith("/all"), kv[0]))}
        for engine, per in counts.items()
    }


def _skip_reason(record: dict) -> str:
    """A short class for why a schema has no mask-check instances: the exception's name, or the status."""
    reason = record.get("reason") or ""
    head = reason.split(":", 1)[0]
    if head.isidentifier():
        return head
    return "time budget" if reason.startswith("time budget") else record.get("status", "?")


def maskcheck_summary(records: list[dict], instance_records: list[dict]) -> dict:
    """The mask check: `instances` (dataset and "all" -> schemas, with instances, valid, invalid, skip reasons),
    `engines` (engine -> dataset and "all" -> counts and rates over the schemas it compiled and checked) and
    `invalid_accepted_keywords` (engine -> the judge's keyword -> invalid instances accepted)."""
    made: dict[str, dict] = defaultdict(lambda: {"schemas": 0, "with_instances": 0, "valid": 0, "invalid": 0,
                                                 "skipped": defaultdict(int)})
    for r in instance_records:
        for dataset in (r["dataset"], ALL):
            row = made[dataset]
            row["schemas"] += 1
            if r.get("status") == "ok":
                row["with_instances"] += 1
                row["valid"] += len(r["valid"])
                row["invalid"] += len(r["invalid"])
            else:
                row["skipped"][_skip_reason(r)] += 1
    fields = ("valid_total", "valid_rejected", "invalid_total", "invalid_accepted")
    counts: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(lambda: dict.fromkeys(
        ("schemas", "compiled", "checked", *fields, "schemas_valid_rejected", "schemas_invalid_accepted"), 0)))
    keywords: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        for dataset in (r["dataset"], ALL):
            row = counts[r["engine"]][dataset]
            row["schemas"] += 1
            row["compiled"] += bool(r.get("compiled"))
            if r.get("status") != "ok":
                continue
            row["checked"] += 1
            for f in fields:
                row[f] += r[f]
            row["schemas_valid_rejected"] += r["valid_rejected"] > 0
            row["schemas_invalid_accepted"] += r["invalid_accepted"] > 0
        for keyword, n in (r.get("invalid_accepted_keywords") or {}).items():
            keywords[r["engine"]][keyword] += n
    engines = {
        engine: {
            dataset: {**row, "valid_rejected_rate": _ratio(row["valid_rejected"], row["valid_total"]),
                      "invalid_accepted_rate": _ratio(row["invalid_accepted"], row["invalid_total"])}
            for dataset, row in sorted(per.items(), key=lambda kv: (kv[0] == ALL, kv[0]))
        }
        for engine, per in counts.items()
    }
    return {
        "instances": {d: {**row, "skipped": dict(row["skipped"])}
                      for d, row in sorted(made.items(), key=lambda kv: (kv[0] == ALL, kv[0]))},
        "engines": engines,
        "invalid_accepted_keywords": {e: dict(sorted(k.items(), key=lambda kv: -kv[1])) for e, k in keywords.items()},
    }


def summarize(run_records: list[dict], testsuite_records: list[dict], maskcheck_records: list[dict] = (),
              instance_records: list[dict] = ()) -> dict:
    """Everything the report shows, as one JSON-ready dict."""
    engines = list(dict.fromkeys(r["engine"] for r in run_records))
    return {
        "engines": engines,
        "datasets": sorted({r["dataset"] for r in run_records}),
        "coverage": coverage(run_records),
        "status_counts": status_counts(run_records),
        "efficiency": efficiency(run_records, engines) if engines else {"schemas_in_common": 0, "engines": {}},
        "checks_per_token": checks_per_token(run_records),
        "testsuite": testsuite_summary(testsuite_records),
        "maskcheck": maskcheck_summary(list(maskcheck_records), list(instance_records)),
    }
