"""The report of a results folder: Markdown tables, `summary.json` with the same numbers, PNG plots.

Reads `results.jsonl` (the run) and `testsuite.jsonl` (the test suite) from the folder, whichever
exist, and writes `report.md`, `summary.json`, `coverage.png`, `gct.png` and `tpot.png` beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

from jsonschemabench.metrics import ALL, summarize
from jsonschemabench.results import RUN_RESULTS, TESTSUITE_RESULTS, read_records

STATUSES = ("ok", "compile_error", "compile_timeout", "generation_timeout", "prompt_too_long", "crash")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(summary: dict, settings: dict | None = None) -> str:
    """All tables of the summary, as one Markdown document."""
    parts = ["# JSONSchemaBench results"]
    if settings:
        worker = settings.get("worker", {})
        parts.append(
            f"Model `{worker.get('model')}` on {worker.get('device')}, max tokens {worker.get('max_tokens')}, "
            f"temperature {worker.get('temperature')} (AWRS/SMC: {worker.get('sampler_temperature')} when 0), "
            f"compile timeout {settings.get('compile_timeout_s')} s, generation timeout "
            f"{settings.get('generation_timeout_s')} s, {settings.get('workers')} worker(s)."
        )
        for engine, reason in (settings.get("unavailable") or {}).items():
            parts.append(f"- `{engine}` not run: {reason}")
    engines, coverage = summary["engines"], summary["coverage"]
    if engines:
        datasets = summary["datasets"] + [ALL]
        for title, key in (("Declared coverage", "declared_coverage"), ("Empirical coverage", "empirical_coverage"),
                           ("Compliance (empirical / declared)", "compliance")):
            rows = []
            for dataset in datasets:
                cells = []
                for engine in engines:
                    entry = coverage[engine].get(dataset)
                    cells.append("–" if entry is None else _pct(entry[key]))
                n = max((coverage[e][dataset]["schemas"] for e in engines if dataset in coverage[e]), default=0)
                rows.append([dataset, str(n), *cells])
            parts += [f"## {title}", _table(["dataset", "schemas", *engines], rows)]
        efficiency = summary["efficiency"]
        rows = [[engine, _num(e["gct_ms"]), _num(e["ttft_ms"]), _num(e["tpot_ms"]), _num(e["output_tokens"])]
                for engine, e in efficiency["engines"].items()]
        parts += [f"## Efficiency (medians over the {efficiency['schemas_in_common']} schemas every engine covers)",
                  _table(["engine", "GCT ms", "TTFT ms", "TPOT ms", "output tokens"], rows)]
        if summary["checks_per_token"]:
            rows = [[engine, str(c["schemas"]), _num(c["median_of_means"]), _num(c["p99_of_means"]), _num(c["max"])]
                    for engine, c in summary["checks_per_token"].items()]
            parts += ["## Constraint checks per token (weighted samplers)",
                      _table(["engine", "schemas", "median of means", "p99 of means", "max"], rows)]
        statuses = [s for s in STATUSES if any(s in c for c in summary["status_counts"].values())]
        statuses += sorted({s for c in summary["status_counts"].values() for s in c} - set(statuses))
        rows = [[engine, *(str(summary["status_counts"][engine].get(s, 0)) for s in statuses)] for engine in engines]
        parts += ["## Outcomes", _table(["engine", *statuses], rows)]
    suite = summary["testsuite"]
    if suite:
        suite_engines = list(suite)
        keys = sorted({k for per in suite.values() for k in per}, key=lambda k: (k == ALL, k.endswith("/all"), k))
        rows = []
        for key in keys:
            cells = []
            for engine in suite_engines:
                entry = suite[engine].get(key)
                cells.append("–" if entry is None else f"{entry['passed']}/{entry['cases']} ({_pct(entry['rate'])})")
            rows.append([key, *cells])
        parts += ["## JSON Schema Test Suite (cases passed)", _table(["draft/category", *suite_engines], rows)]
    return "\n\n".join(parts) + "\n"


def plots(summary: dict, records: list[dict], out_dir: Path) -> list[Path]:
    """coverage.png (bars per dataset and engine), gct.png and tpot.png (distributions per engine)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    engines, datasets = summary["engines"], summary["datasets"] + [ALL]
    if not engines:
        return written
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(datasets) * max(1, len(engines)) / 2), 4))
    width = 0.8 / len(engines)
    for i, engine in enumerate(engines):
        x = np.arange(len(datasets)) + i * width
        per = summary["coverage"][engine]
        declared = [(per.get(d) or {}).get("declared_coverage") or 0 for d in datasets]
        empirical = [(per.get(d) or {}).get("empirical_coverage") or 0 for d in datasets]
        ax.bar(x, declared, width, fill=False, edgecolor=f"C{i}")
        ax.bar(x, empirical, width, color=f"C{i}", label=engine)
    ax.set_xticks(np.arange(len(datasets)) + 0.4 - width / 2, datasets, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("coverage (filled: empirical, outline: declared)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    written.append(out_dir / "coverage.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)
    for name, field, label in (("gct.png", "compile_s", "grammar compilation time (ms)"),
                               ("tpot.png", "tpot_s", "time per output token (ms)")):
        data = [[1e3 * r[field] for r in records if r["engine"] == e and r.get("compiled") and r.get(field)]
                for e in engines]
        if not any(data):
            continue
        fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(engines)), 4))
        ax.boxplot([d if d else [np.nan] for d in data], showfliers=True)
        ax.set_xticks(range(1, len(engines) + 1), engines, rotation=20, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel(label)
        fig.tight_layout()
        written.append(out_dir / name)
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    return written


def write_report(results_dir: str | Path, with_plots: bool = True) -> tuple[str, dict, list[Path]]:
    """(Markdown text, summary dict, plot paths) for a results folder, written into it."""
    out = Path(results_dir)
    run_records = read_records(out / RUN_RESULTS)
    suite_records = read_records(out / TESTSUITE_RESULTS)
    if not run_records and not suite_records:
        raise FileNotFoundError(f"no {RUN_RESULTS} or {TESTSUITE_RESULTS} in {out}")
    summary = summarize(run_records, suite_records)
    settings_path = out / "run.json"
    settings = json.loads(settings_path.read_text("utf-8")) if settings_path.exists() else None
    if settings:
        summary["settings"] = settings
    text = markdown(summary, settings)
    (out / "report.md").write_text(text, "utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), "utf-8")
    written = plots(summary, run_records, out) if with_plots else []
    return text, summary, written
