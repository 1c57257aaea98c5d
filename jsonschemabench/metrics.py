"""JSONSchemaBench's metrics, computed from result records (plain dicts, as stored in the JSONL files).

- declared coverage: the engine compiled the schema within the compile timeout;
- empirical coverage: it compiled, and its output validates (the `jsonschema` judge);
- compliance: empirical / declared;
- efficiency: median GCT, TTFT (compile included) and TPOT over the schemas every compared engine
  covers (compiled and generated), so no engine is timed on an easier subset than another;
- constraint checks per token for structgen's weighted samplers;
- test suite: cases passed per draft and category.
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
            "gct_ms": _median(1e3 * r.get("compile_s", 0.0) for r in rows),
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


def summarize(run_records: list[dict], testsuite_records: list[dict]) -> dict:
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
    }
