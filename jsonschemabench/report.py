"""The report of a results folder: Markdown tables, `summary.json` with the same numbers, PNG plots.

Reads `results.jsonl` (the run), `testsuite.jsonl` (the test suite), `maskcheck.jsonl` with
`maskcheck_instances.jsonl` (the mask check) and `quality.jsonl` (the quality tasks) from the folder,
whichever exist, and writes `report.md`, `summary.json`, `coverage.png`, `gct.png`, `tpot.png` and
`quality.png` beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

from jsonschemabench.metrics import ALL, summarize
from jsonschemabench.results import (MASKCHECK_INSTANCES, MASKCHECK_RESULTS, RUN_RESULTS, SETTINGS_FIELD,
                                     TESTSUITE_RESULTS, describe_skipped, read_records)

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
        worker, endpoints = settings.get("worker", {}), settings.get("endpoints") or {}
        local = not endpoints or any(engine not in endpoints for engine in settings.get("engines", ()))
        head = f"Model `{worker.get('model')}` on {worker.get('device')}, max tokens" if local else "Max tokens"
        parts.append(f"{head} {worker.get('max_tokens')}, temperature {worker.get('temperature')} (AWRS/SMC: "
                     f"{worker.get('sampler_temperature')} when 0), compile timeout "
                     f"{settings.get('compile_timeout_s')} s, generation timeout "
                     f"{settings.get('generation_timeout_s')} s, {settings.get('workers')} worker(s).")
        for engine, reason in (settings.get("unavailable") or {}).items():
            parts.append(f"- `{engine}` not run: {reason}")
        for engine, where in endpoints.items():
            parts.append(f"- `{engine}`: a server, model `{where.get('model')}` at {where.get('url')}, the schema in "
                         f"{where.get('schema_via')}; GCT unknown (inside TTFT)")
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
    if summary.get("maskcheck", {}).get("instances"):
        parts += maskcheck_markdown(summary["maskcheck"], summary.get("maskcheck_settings"))
    if summary.get("quality"):
        parts += quality_markdown(summary["quality"], summary.get("quality_settings"))
    return "\n\n".join(parts) + "\n"


def quality_markdown(quality: dict, settings: dict | None) -> list[str]:
    """The quality section: accuracy per task and engine with its 95% Wilson interval."""
    parts = ["## Quality (answers right, 95% Wilson interval)"]
    if settings:
        worker = settings.get("worker", {})
        parts.append(f"Model `{worker.get('model')}` on {worker.get('device')}, max tokens "
                     f"{worker.get('max_tokens')}, temperature {worker.get('temperature')} (AWRS/SMC: "
                     f"{worker.get('sampler_temperature')} when 0), task seed {settings.get('task_seed')}. "
                     "Unparseable: an output without a JSON object holding an answer (counted wrong); failed: "
                     "no output (compile error, timeout, crash; counted wrong).")
        for engine, reason in (settings.get("unavailable") or {}).items():
            parts.append(f"- `{engine}` not run: {reason}")
    tasks = list(dict.fromkeys(task for per in quality.values() for task in per))
    rows = []
    for task in tasks:
        for engine, per in quality.items():
            q = per.get(task)
            if q is not None:
                rows.append([task, engine, str(q["n"]), f"{q['correct']} ({_pct(q['accuracy'])})",
                             f"{_pct(q['ci95'][0])} – {_pct(q['ci95'][1])}", str(q["unparseable"]), str(q["failed"])])
    return parts + [_table(["task", "engine", "n", "right", "95% CI", "unparseable", "failed"], rows)]


def _count(part: int, whole: int) -> str:
    return f"{part}/{whole} ({_pct(part / whole if whole else None)})"


def maskcheck_markdown(check: dict, settings: dict | None) -> list[str]:
    """The mask check's sections: instances made per dataset, then per dataset and engine what was got wrong."""
    parts = ["## Mask check (LLM-free: judge-labelled instances fed token by token, then end-of-sequence)"]
    if settings:
        parts.append(f"Tokenizer `{settings.get('tokenizer')}`, up to {settings.get('instances_per_schema')} valid "
                     f"(hypothesis-jsonschema, seed {settings.get('seed')}) and as many invalid (mutated) instances "
                     f"per schema, compile timeout {settings.get('compile_timeout_s')} s.")
        for engine, reason in (settings.get("unavailable") or {}).items():
            parts.append(f"- `{engine}` not run: {reason}")
    rows = [[dataset, str(m["schemas"]), str(m["with_instances"]), str(m["valid"]), str(m["invalid"]),
             ", ".join(f"{reason} {n}" for reason, n in sorted(m["skipped"].items(), key=lambda kv: -kv[1])) or "–"]
            for dataset, m in check["instances"].items()]
    parts += ["### Instances", _table(["dataset", "schemas", "with instances", "valid", "invalid", "skipped"], rows)]
    engines = check["engines"]
    datasets = list(dict.fromkeys(d for per in engines.values() for d in per))
    rows = []
    for dataset in sorted(datasets, key=lambda d: (d == ALL, d)):
        for engine, per in engines.items():
            e = per.get(dataset)
            if e is None:
                continue
            rows.append([dataset, engine, str(e["schemas"]), str(e["compiled"]),
                         _count(e["valid_rejected"], e["valid_total"]), str(e["schemas_valid_rejected"]),
                         _count(e["invalid_accepted"], e["invalid_total"]), str(e["schemas_invalid_accepted"])])
    parts += ["### Valid rejected and invalid accepted (over the schemas each engine compiled and checked)",
              _table(["dataset", "engine", "schemas", "compiled", "valid rejected", "schemas with one",
                      "invalid accepted", "schemas with one"], rows)]
    keywords = {e: k for e, k in check["invalid_accepted_keywords"].items() if k}
    if keywords:
        rows = [[engine, ", ".join(f"{k} {n}" for k, n in per.items())] for engine, per in keywords.items()]
        parts += ["### Invalid instances accepted, by the keyword the judge names",
                  _table(["engine", "keywords"], rows)]
    return parts


def quality_plot(quality: dict, path: Path) -> None:
    """Grouped bars: accuracy per task (groups) and engine (bars), the Wilson interval as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    engines = list(quality)
    tasks = list(dict.fromkeys(task for per in quality.values() for task in per))
    width = 0.8 / len(engines)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(tasks) * len(engines)), 4))
    for i, engine in enumerate(engines):
        cells = [quality[engine].get(task) for task in tasks]
        heights = [100 * c["accuracy"] if c else np.nan for c in cells]
        low = [100 * (c["accuracy"] - c["ci95"][0]) if c else 0 for c in cells]
        high = [100 * (c["ci95"][1] - c["accuracy"]) if c else 0 for c in cells]
        ax.bar(np.arange(len(tasks)) + (i - (len(engines) - 1) / 2) * width, heights, width, label=engine,
               yerr=[low, high], capsize=3)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylim(0, 100)
    ax.set_ylabel("answers right (%), 95% Wilson interval")
    ax.legend(fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.savefig(path, dpi=120, bbox_inches="tight")  # "tight": the legend below the axes
    plt.close(fig)


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


def _settings(path: Path) -> dict | None:
    from jsonschemabench.runner import read_settings

    return read_settings(path) or None


def _current(records: list[dict], settings: dict | None, name: str, notes: list[str]) -> list[dict]:
    """The records made with the folder's latest settings (a rerun with other settings appends records
    beside the earlier ones; mixing them would report two experiments as one)."""
    key = (settings or {}).get("settings_key")
    if key is None:  # a folder written before records carried their settings
        return records
    kept = [r for r in records if r.get(SETTINGS_FIELD) == key]
    if len(kept) < len(records):
        notes.append(f"{name}: {len(records) - len(kept)} record(s) made with other settings left out")
    return kept


def _read(path: Path, notes: list[str]) -> list[dict]:
    skipped: list[int] = []
    records = read_records(path, skipped)
    if skipped:
        notes.append(describe_skipped(path.name, skipped))
    return records


def write_report(results_dir: str | Path, with_plots: bool = True) -> tuple[str, dict, list[Path]]:
    """(Markdown text, summary dict, plot paths) for a results folder, written into it.

    Only the records made with the latest settings of each command count; unreadable lines and
    records of earlier settings are left out and listed under `notes`.

    Raises
    ------
    FileNotFoundError
        The folder holds no results file.
    """
    from jsonschemabench.quality import QUALITY_RESULTS, QUALITY_SETTINGS, quality_summary

    out = Path(results_dir)
    notes: list[str] = []
    settings, suite_settings = _settings(out / "run.json"), _settings(out / "testsuite.json")
    check_settings = _settings(out / "maskcheck.json")
    run_records = _current(_read(out / RUN_RESULTS, notes), settings, RUN_RESULTS, notes)
    suite_records = _current(_read(out / TESTSUITE_RESULTS, notes), suite_settings, TESTSUITE_RESULTS, notes)
    check_records = _current(_read(out / MASKCHECK_RESULTS, notes), check_settings, MASKCHECK_RESULTS, notes)
    instance_records = _read(out / MASKCHECK_INSTANCES, notes)
    quality_settings = _settings(out / QUALITY_SETTINGS)
    quality_records = _current(_read(out / QUALITY_RESULTS, notes), quality_settings, QUALITY_RESULTS, notes)
    if not run_records and not suite_records and not instance_records and not quality_records:
        raise FileNotFoundError(f"no {RUN_RESULTS}, {TESTSUITE_RESULTS}, {MASKCHECK_INSTANCES} or {QUALITY_RESULTS} "
                                f"in {out}")
    summary = summarize(run_records, suite_records, check_records, instance_records)
    if settings:
        summary["settings"] = settings
    if check_settings:
        summary["maskcheck_settings"] = check_settings
    if quality_records:
        summary["quality"] = quality_summary(quality_records)
        summary["quality_settings"] = quality_settings
    summary["notes"] = notes
    text = markdown(summary, settings)
    if notes:
        text += "\n\n## Notes\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    (out / "report.md").write_text(text, "utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), "utf-8")
    written = plots(summary, run_records, out) if with_plots else []
    if with_plots and quality_records:
        quality_plot(summary["quality"], out / "quality.png")
        written.append(out / "quality.png")
    return text, summary, written
