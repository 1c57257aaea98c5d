"""The quality score: how often each engine's output answers the task right, with Wilson intervals.

Each (engine, task, item) is one generation in a worker (the benchmark's `generate` task, with the
quality prompt of `quality_tasks.messages` and the item's schema), recorded in OUT/quality.jsonl as soon
as it finishes (resumable, keyed by engine, task, item and settings, like `run`'s records).

Why answers are read leniently: the point is what constraining does to the *answer*, so an
unconstrained output is not marked wrong for form alone when its answer can be read. The answer is
the `answer` member of the first JSON object in the output (text around it, a Markdown fence, is
ignored); an output without one is *unparseable*, counted wrong and counted apart. The answer is then
compared after light normalisation: GSM8K numerically (`18`, `18.0`, `"$18"`), the symbolic tasks as
text without case, spaces or quotes (and without a leading "the" for objects). Constrained outputs are
exact by construction, so the same reading applies to every engine.

Why Wilson: with tens of items per cell and accuracies near 0 for a 135M model, the normal
approximation's interval leaves [0, 1] or collapses to a point; Wilson's does neither.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from jsonschemabench.engine_specs import EngineSpec, unavailable_reason
from jsonschemabench.quality_tasks import TASKS, QualityItem, load_items, messages
from jsonschemabench.results import SETTINGS_FIELD, ResultStore, settings_key
from jsonschemabench.runner import Job, Outcome, finish_generation, generation_settings, record_generations
from jsonschemabench.worker import WorkerConfig
from structgen import InvalidArgumentError

QUALITY_RESULTS = "quality.jsonl"
QUALITY_SETTINGS = "quality.json"
QUALITY_KEY = ("engine", "task", "id", SETTINGS_FIELD)
PROMPT_VERSION = 1  # part of the settings key: records made with other prompts are not reused
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def parse_tasks(text: str) -> list[str]:
    """`last-letter,gsm8k` -> ["last-letter", "gsm8k"] (duplicates dropped, order kept).

    Raises
    ------
    InvalidArgumentError
        (argument ``tasks``) an unknown task, or none at all.
    """
    tasks = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [task for task in tasks if task not in TASKS]
    if unknown or not tasks:
        raise InvalidArgumentError("tasks", f"unknown {', '.join(unknown)}; choose from {', '.join(TASKS)}"
                                   if unknown else f"no task given; choose from {', '.join(TASKS)}")
    return tasks


# --- reading and scoring answers -------------------------------------------------------------------


def extract_answer(text: str) -> tuple[bool, Any]:
    """(found, answer): the `answer` member of the first JSON object in `text` that has one."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict) and "answer" in value:
            return True, value["answer"]
        start = text.find("{", start + 1)
    return False, None


def _number(answer: Any) -> float | None:
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, float)):
        return float(answer)
    if isinstance(answer, str):
        cleaned = answer.strip().replace(",", "").replace("$", "").rstrip(".").strip()
        try:
            return float(cleaned)
        except ValueError:
            return None
    return None


def _words(answer: Any) -> str | None:
    if not isinstance(answer, str):
        return None
    text = " ".join(answer.casefold().replace('"', " ").replace("'", " ").split()).rstrip(".")
    return text.removeprefix("the ")


def is_correct(task: str, answer: Any, gold: Any) -> bool:
    """Whether `answer` (as read from an output) is the task's `gold` answer."""
    if task == "gsm8k":
        value = _number(answer)
        return value is not None and math.isfinite(value) and value == float(gold)
    if task == "last-letter":
        return isinstance(answer, str) and "".join(answer.casefold().replace('"', "").split()) == gold
    return _words(answer) is not None and _words(answer) == _words(gold)


def score(task: str, text: str, gold: Any) -> dict:
    """`parsed` (an answer was found), `answer`, `correct` for one output."""
    parsed, answer = extract_answer(text)
    return {"parsed": parsed, "answer": answer, "correct": parsed and is_correct(task, answer, gold)}


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a binomial proportion (95% by default).

    Raises
    ------
    ValueError
        No trials, or successes outside [0, trials].
    """
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    p, z2 = successes / trials, z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


# --- the run ----------------------------------------------------------------------------------------


def finish_quality(base: dict, messages_: list[dict], failure: str | None) -> dict:
    """`finish_generation`'s record, scored: a failed generation (compile error, timeout) is wrong."""
    record = finish_generation(base, messages_, failure)
    found = score(record["task"], record["text"], record["gold"]) if record.get("status") == "ok" else {
        "parsed": False, "answer": None, "correct": False}
    record.update(found)
    return record


def run_quality(items: list[QualityItem], specs: list[EngineSpec], config: WorkerConfig, out_dir: str | Path, *,
                task_seed: int = 0, workers: int = 1, compile_timeout: float = 40.0,
                generation_timeout: float = 120.0, console=None, quiet: bool = False) -> Outcome:
    """Every engine on every item, records appended to `out_dir/quality.jsonl` (resumable).

    Jobs go item by item, each item through every engine in turn, so that a run cut short leaves
    every engine with nearly the same items.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out / QUALITY_RESULTS, QUALITY_KEY)
    unavailable = {s.label: r for s in specs if (r := unavailable_reason(s))}
    settings = {**generation_settings(config, compile_timeout, generation_timeout), "task_seed": task_seed,
                "prompt_version": PROMPT_VERSION}
    key = settings_key(settings)
    jobs, skipped = [], 0
    timeouts = [config.setup_timeout, compile_timeout, generation_timeout]
    for item in items:
        chat = messages(item)
        for spec in specs:
            if spec.label in unavailable:
                continue
            base = {"engine": spec.label, "task": item.task, "id": item.id, "gold": item.gold, SETTINGS_FIELD: key}
            if store.done(base):
                skipped += 1
                continue
            task = {"kind": "generate", "engine": spec.label, "schema": item.schema, "messages": chat,
                    "seed": config.seed + int(item.id)}  # whatever else the run asks
            jobs.append(Job(spec.label, base, task, timeouts, finish_quality))
    described = {"tasks": {t: sum(i.task == t for i in items) for t in dict.fromkeys(i.task for i in items)},
                 "task_seed": task_seed, "compile_timeout_s": compile_timeout,
                 "generation_timeout_s": generation_timeout, "settings": settings, "settings_key": key}
    return record_generations(jobs, specs, config, store, out / QUALITY_SETTINGS, described, unavailable=unavailable,
                              skipped=skipped, workers=workers, console=console, quiet=quiet, what="quality")


def select_items(tasks: list[str], limit: int | None, seed: int) -> list[QualityItem]:
    """The first `limit` items of each task, task after task."""
    return [item for task in tasks for item in load_items(task, limit, seed)]


# --- the summary ------------------------------------------------------------------------------------


def quality_summary(records: list[dict]) -> dict[str, dict[str, dict]]:
    """engine -> task -> n, correct, accuracy, ci95 (Wilson), unparseable (no answer found in a generated
    output), failed (no output: compile error, timeout, crash)."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for r in records:
        row = counts[r["engine"]][r["task"]]
        generated = r.get("status") == "ok"
        row[0] += 1
        row[1] += bool(r.get("correct"))
        row[2] += generated and not r.get("parsed")
        row[3] += not generated
    summary: dict[str, dict[str, dict]] = {}
    for engine, per_task in counts.items():
        summary[engine] = {}
        for task in sorted(per_task, key=lambda t: TASKS.index(t) if t in TASKS else len(TASKS)):
            n, correct, unparseable, failed = per_task[task]
            summary[engine][task] = {"n": n, "correct": correct, "accuracy": correct / n,
                                     "ci95": list(wilson_interval(correct, n)), "unparseable": unparseable,
                                     "failed": failed}
    return summary
