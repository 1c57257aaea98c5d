"""Runs engines over schemas (or test-suite cases, or mask-check instances) in worker processes, appending
results as they finish.

Jobs are (engine, schema) pairs, engine after engine; `workers` threads each own one worker
process and take the next job. A job already in the results file is skipped (resume). A compile or
generation that outlasts its timeout, or a worker that dies, is recorded for that job alone and the
worker is replaced. A thread starts its worker process (which loads the model) at its first local
job: an endpoint engine's jobs are HTTP requests made by the thread itself (`endpoint.EndpointSession`),
so a run of endpoint engines alone loads no model.
"""

from __future__ import annotations

import json
import lzma
import gzip
import os
import queue
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from jsonschemabench.datasets import DATASETS, SchemaRecord, load_dataset, load_schemas
from jsonschemabench.endpoint import EndpointError, EndpointSession, endpoint_task
from jsonschemabench.engine_specs import EngineSpec, unavailable_reason
from jsonschemabench.maskcheck import finish_instances, finish_maskcheck
from jsonschemabench.results import (INSTANCES_KEY, MASKCHECK_INSTANCES, MASKCHECK_KEY, MASKCHECK_RESULTS, RUN_KEY,
                                     RUN_RESULTS, SETTINGS_FIELD, TESTSUITE_KEY, TESTSUITE_RESULTS, ResultStore,
                                     describe_skipped, read_records, settings_key)
from jsonschemabench.testsuite import case_verdict, instance_text
from jsonschemabench.worker import Worker, WorkerConfig, WorkerFailed, WorkerTimeout
from structgen import InvalidArgumentError

RUN_SETTINGS = "run.json"
TESTSUITE_SETTINGS = "testsuite.json"
MASKCHECK_SETTINGS = "maskcheck.json"
INSTANCES = "instances"
"""The pseudo-engine that makes the mask check's instances (one job per schema, before any engine runs)."""


# --- schemas ------------------------------------------------------------------------------------


def load_user_schemas(path: str | Path) -> list[SchemaRecord]:
    """`load_schemas`, plus JSONL rows in the Hugging Face layout (`json_schema` holding the schema as text).

    Raises
    ------
    InvalidArgumentError
        (argument ``schemas``) the path is missing or unreadable, a file is not UTF-8 or not JSON
        (JSONL: which line), it nests too deeply to parse, or it holds no schema at all.
    """
    path = Path(path)
    try:
        records = _load_user_schemas(path)
    except (OSError, EOFError, lzma.LZMAError) as error:  # missing, unreadable, a broken .gz/.xz
        reason = getattr(error, "strerror", None) or error
        raise InvalidArgumentError("schemas", f"cannot read {str(path)!r}: {reason}") from None
    except RecursionError:
        raise InvalidArgumentError("schemas", f"{str(path)!r} nests too deeply to parse as JSON") from None
    except ValueError as error:  # not UTF-8, not JSON (load_schemas says "FILE:LINE: not JSON")
        raise InvalidArgumentError("schemas", f"{str(path)!r}: {_reason(error)}") from None
    if not records:
        raise InvalidArgumentError("schemas", f"no schemas in {str(path)!r} (a folder needs *.json files)")
    return records


def _load_user_schemas(path: Path) -> list[SchemaRecord]:
    if not path.exists():
        raise OSError(0, "no such file or folder")
    if path.is_dir():  # one file at a time, so that an error names its file
        records = []
        for file in sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file()):
            try:
                records += load_schemas(file)
            except ValueError as error:
                raise ValueError(f"{file.name}: {_reason(error)}") from None
        return [replace(r, dataset=path.name) for r in records]
    if path.is_file() and ".jsonl" in path.suffixes:
        opener = {".xz": lzma.open, ".gz": gzip.open}.get(path.suffix, open)
        rows = []
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    rows += [json.loads(line)] if line.strip() else []
                except ValueError as error:
                    raise ValueError(f"line {number}: {_reason(error)}") from None
        if any(isinstance(r, dict) and "json_schema" in r and "schema" not in r for r in rows):
            dataset = path.name.split(".")[0]
            return [
                SchemaRecord(
                    id=str(r.get("unique_id", r.get("id", n))), dataset=dataset, split=r.get("split"),
                    schema=json.loads(r["json_schema"]) if isinstance(r["json_schema"], str) else r["json_schema"],
                )
                for n, r in enumerate(rows, start=1)
            ]
    return load_schemas(path)


def _reason(error: ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error}"
    return " ".join(str(error).splitlines())


def select_records(datasets: list[str] | None = None, split: str | None = None, limit: int | None = None,
                   schemas_path: str | None = None) -> list[SchemaRecord]:
    """The first `limit` schemas of each dataset (after the split filter), or of a user file/folder."""
    if schemas_path:
        groups = [load_user_schemas(schemas_path)]
    else:
        groups = [load_dataset(name, split) for name in (datasets or list(DATASETS))]
    return [record for group in groups for record in (group[:limit] if limit is not None else group)]


# --- jobs in workers ----------------------------------------------------------------------------


@dataclass
class Job:
    """One engine on one schema: the record it will fill (`base`), the task for the worker, the timeouts."""

    engine: str
    base: dict
    task: dict
    timeouts: list[float]
    finish: Callable[[dict, list[dict], str | None], dict | None]  # (base, messages, failure) -> record


@dataclass
class Outcome:
    """What `execute` did: records written, engines that turned out unavailable, setup errors."""

    written: int = 0
    skipped: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. unreadable lines skipped in a results file


def execute(jobs: list[Job], config: WorkerConfig, store: ResultStore, *, workers: int = 1,
            progress=None, progress_tasks: dict[str, Any] | None = None) -> Outcome:
    """Run the jobs in `workers` worker processes (endpoint jobs in their threads), appending each finished
    record to `store`. An endpoint that cannot be reached stops the run (`Outcome.errors`)."""
    outcome = Outcome()
    pending: queue.Queue[Job] = queue.Queue()
    for job in jobs:
        pending.put(job)
    lock = threading.Lock()
    stopping = threading.Event()  # set on interrupt: a job cut short by it is not a result
    handles = [Worker(config) for _ in range(max(1, workers))]
    endpoints = EndpointSession()

    def advance(engine: str) -> None:
        if progress is not None and progress_tasks and engine in progress_tasks:
            progress.advance(progress_tasks[engine])

    def serve(worker: Worker) -> None:
        while not stopping.is_set():
            try:
                job = pending.get_nowait()
            except queue.Empty:
                return
            with lock:
                if job.engine in outcome.unavailable or outcome.errors:
                    advance(job.engine)
                    continue
            messages, failure = [], None
            source = endpoints if job.task["kind"] == "endpoint" else worker
            try:
                for message in source.run(job.task, job.timeouts):
                    messages.append(message)
            except EndpointError as error:
                with lock:
                    outcome.errors.append(str(error))
                return
            except WorkerTimeout as error:
                failure = f"timeout: {error}"
            except WorkerFailed as error:
                failure = f"crash: {error}"
                if str(error).startswith("worker setup failed"):
                    with lock:
                        outcome.errors.append(str(error))
                    return
            if messages and "unavailable" in messages[0]:
                with lock:
                    outcome.unavailable[job.engine] = messages[0]["unavailable"]
                    advance(job.engine)
                continue
            if not messages:  # building the engine itself hung or crashed: nothing was compiled
                failure = f"crash: preparing the engine: {failure}"
            record = job.finish(job.base, messages[1:], failure)
            with lock:
                if stopping.is_set():
                    return
                if record is not None:
                    store.append(record)
                    outcome.written += 1
                advance(job.engine)

    threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in handles]
    finished = False
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
        finished = True
    finally:
        with lock:
            stopping.set()
        for worker in handles:  # idle when the jobs are done, maybe busy when interrupted
            if finished:
                worker.close()
            else:
                worker.stop()
        endpoints.close()
    return outcome


# --- the benchmark run ---------------------------------------------------------------------------


def finish_generation(base: dict, messages: list[dict], failure: str | None) -> dict:
    """The result record of one (engine, schema): compile outcome, then generation outcome, or the failure."""
    record = dict(base)
    compiled_message = messages[0] if messages else None
    if compiled_message is None:
        kind = "compile_timeout" if failure and failure.startswith("timeout") else "crash"
        record.update(status=kind, compiled=False, valid=False, phase="compile", error=failure)
        return record
    record.update((k, v) for k, v in compiled_message.items() if k != "error")  # compile_s (endpoints: answered_s)
    if compiled_message["error"]:
        record.update(status="compile_error", compiled=False, valid=False, error=compiled_message["error"])
        return record
    record["compiled"] = True
    if len(messages) < 2:
        kind = "generation_timeout" if failure and failure.startswith("timeout") else "crash"
        record.update(status=kind, valid=False, phase="generation", error=failure)
        return record
    record.update(messages[1])
    record.setdefault("valid", False)
    return record


def run_benchmark(records: list[SchemaRecord], specs: list[EngineSpec], config: WorkerConfig, out_dir: str | Path,
                  *, workers: int = 1, compile_timeout: float = 40.0, generation_timeout: float = 60.0,
                  console=None, quiet: bool = False) -> Outcome:
    """Every engine on every schema, results appended to `out_dir/results.jsonl` (resumable). Endpoint
    engines must have their model filled in (`endpoint.connect`)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out / RUN_RESULTS, RUN_KEY)
    unavailable = {s.label: r for s in specs if (r := unavailable_reason(s))}
    settings = generation_settings(config, compile_timeout, generation_timeout)
    key = settings_key(settings)
    jobs, skipped = [], 0
    # Schema by schema, every engine back to back: a machine whose load changes during the run slows the
    # engines it compares alike (speed is read as ratios between engines of one run).
    for index, record in enumerate(records):
        for spec in specs:
            if spec.label in unavailable:
                continue
            base = {"engine": spec.label, "dataset": record.dataset, "id": record.id, "split": record.split,
                    SETTINGS_FIELD: key}
            if store.done(base):
                skipped += 1
                continue
            if spec.kind == "endpoint":
                task = endpoint_task(spec.endpoint, record.schema, config.seed + index, config.max_tokens,
                                     config.temperature)
            else:
                task = {"kind": "generate", "engine": spec.label, "schema": record.schema, "seed": config.seed + index}
            timeouts = [config.setup_timeout, compile_timeout, generation_timeout]
            jobs.append(Job(spec.label, base, task, timeouts, finish_generation))
    described = {"datasets": list(dict.fromkeys(r.dataset for r in records)), "schemas": len(records),
                 "compile_timeout_s": compile_timeout, "generation_timeout_s": generation_timeout,
                 "settings": settings, "settings_key": key,
                 "endpoints": {s.label: {"url": s.endpoint.base_url, "model": s.endpoint.model,
                                         "schema_via": s.endpoint.schema_via} for s in specs if s.endpoint}}
    return record_generations(jobs, specs, config, store, out / RUN_SETTINGS, described, unavailable=unavailable,
                              skipped=skipped, workers=workers, console=console, quiet=quiet, what="generating")


def generation_settings(config: WorkerConfig, compile_timeout: float, generation_timeout: float) -> dict:
    """The settings that decide a generation's record (their digest is the records' settings key)."""
    return {"model": config.model, "device": config.device, "max_tokens": config.max_tokens,
            "temperature": config.temperature, "sampler_temperature": config.sampler_temperature,
            "seed": config.seed, "compile_timeout_s": compile_timeout, "generation_timeout_s": generation_timeout}


def record_generations(jobs: list[Job], specs: list[EngineSpec], config: WorkerConfig, store: ResultStore,
                       settings_path: Path, described: dict, *, unavailable: dict[str, str], skipped: int,
                       workers: int, console, quiet: bool, what: str) -> Outcome:
    """Write the settings file (the worker's config, the engines, `described`), run the generation jobs with
    progress bars into `store`, and add which engines turned out unavailable to the settings file."""
    config = replace(config, log_path=str(settings_path.parent / "worker.log"))
    _write_settings(settings_path, {"worker": asdict(config), "engines": [s.label for s in specs],
                                    "unavailable": unavailable, "workers": workers, **described})
    outcome = _execute_with_progress(jobs, [s.label for s in specs], config, store, workers, console, quiet, what)
    outcome.skipped = skipped
    _warn_skipped(outcome, store)
    outcome.unavailable.update(unavailable)
    _write_settings(settings_path, {"unavailable": outcome.unavailable})
    return outcome


def _warn_skipped(outcome: Outcome, *stores: ResultStore) -> None:
    for store in stores:
        if store.skipped_lines:
            outcome.warnings.append(describe_skipped(str(store.path), store.skipped_lines))


def _execute_with_progress(jobs, labels, config, store, workers, console, quiet, what) -> Outcome:
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=quiet)
    with progress:
        tasks = {}
        for label in labels:
            total = sum(job.engine == label for job in jobs)
            if total:
                tasks[label] = progress.add_task(f"{what} {label}", total=total)
        return execute(jobs, config, store, workers=workers, progress=progress, progress_tasks=tasks)


def read_settings(path: Path) -> dict:
    """A settings file (run.json, ...); empty when missing or unreadable (it is rewritten by the next run)."""
    try:
        settings = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: not UTF-8 or not JSON
        return {}
    return settings if isinstance(settings, dict) else {}


def _write_settings(path: Path, updates: dict) -> None:
    """Merge `updates` into the settings file; earlier invocations' settings are kept under `previous`."""
    current = read_settings(path)
    if "worker" in updates and current.get("worker") and current["worker"] != updates["worker"]:
        current.setdefault("previous", []).append(current.get("worker"))
    current.update(updates)
    current["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    path.write_text(json.dumps(current, indent=1, ensure_ascii=False), "utf-8")


# --- the test suite --------------------------------------------------------------------------------


def finish_case(base: dict, messages: list[dict], failure: str | None) -> dict:
    """The record of one test-suite case; a compile that times out counts as a refusal to compile."""
    record = dict(base)
    expected = record.pop("expected")
    if not messages:
        timed_out = bool(failure and failure.startswith("timeout"))
        record.update(status="compile_timeout" if timed_out else "crash", compiled=False, error=failure,
                      passed=case_verdict(expected, False, None) if timed_out else False)
        return record
    record["compile_s"] = messages[0]["compile_s"]
    if messages[0]["error"]:
        record.update(status="compile_error", compiled=False, error=messages[0]["error"],
                      passed=case_verdict(expected, False, None))
        return record
    if len(messages) < 2:
        timed_out = bool(failure and failure.startswith("timeout"))
        record.update(status="check_timeout" if timed_out else "crash", compiled=True, error=failure, passed=False)
        return record
    accepted = [r["accepted"] for r in messages[1]["results"]]
    record.update(status="ok", compiled=True, passed=case_verdict(expected, True, accepted),
                  tests=[{"valid": v, "accepted": a} for v, a in zip(expected, accepted)],
                  untokenizable=sum(a is None for a in accepted))
    return record


def run_testsuite(cases: list[tuple[int, Any]], specs: list[EngineSpec], config: WorkerConfig, out_dir: str | Path,
                  *, workers: int = 1, compile_timeout: float = 40.0, check_timeout: float = 60.0,
                  console=None, quiet: bool = False) -> Outcome:
    """Every engine's compiler on every test-suite case; results appended to `out_dir/testsuite.jsonl`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out / TESTSUITE_RESULTS, TESTSUITE_KEY)
    unavailable = {s.label: r for s in specs if (r := unavailable_reason(s.compiler))}
    compilers = list({s.compiler.label: s.compiler for s in specs if s.label not in unavailable}.values())
    settings = {"tokenizer": config.model, "compile_timeout_s": compile_timeout, "check_timeout_s": check_timeout}
    key = settings_key(settings)
    jobs, skipped = [], 0
    for spec in compilers:
        for index, case in cases:
            base = {"engine": spec.label, "draft": case.draft, "category": case.category, "case": index,
                    "description": case.description, "expected": [t.valid for t in case.tests], SETTINGS_FIELD: key}
            if store.done(base):
                skipped += 1
                continue
            texts = [instance_text(t.instance, case.schema) for t in case.tests]
            task = {"kind": "check", "engine": spec.label, "schema": case.schema, "texts": texts}
            timeouts = [config.setup_timeout, compile_timeout, check_timeout]
            jobs.append(Job(spec.label, base, task, timeouts, finish_case))
    config = replace(config, load_model=False, log_path=str(out / "worker.log"))
    _write_settings(out / TESTSUITE_SETTINGS, {
        "engines": [s.label for s in compilers], "unavailable": unavailable, "cases": len(cases),
        "compile_timeout_s": compile_timeout, "check_timeout_s": check_timeout, "tokenizer": config.model,
        "settings": settings, "settings_key": key,
    })
    outcome = _execute_with_progress(jobs, [s.label for s in compilers], config, store, workers, console, quiet,
                                     "test suite")
    outcome.skipped = skipped
    _warn_skipped(outcome, store)
    outcome.unavailable.update(unavailable)
    return outcome


# --- the mask check --------------------------------------------------------------------------------


def run_maskcheck(records: list[SchemaRecord], specs: list[EngineSpec], config: WorkerConfig, out_dir: str | Path,
                  *, count: int = 5, instance_budget: float = 20.0, workers: int = 1, compile_timeout: float = 40.0,
                  check_timeout: float = 60.0, console=None, quiet: bool = False) -> Outcome:
    """Make each schema's labelled instances once (OUT/maskcheck_instances.jsonl), then feed them to every
    engine's compiled matcher (OUT/maskcheck.jsonl); both files resume. Schemas without instances are skipped.

    Raises ValueError when OUT holds instances made with another count, seed or tokenizer: mixing
    them would compare engines on different texts.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fixed = {"instances_per_schema": count, "seed": config.seed, "tokenizer": config.model}
    previous = read_settings(out / MASKCHECK_SETTINGS)
    changed = [f"{k} {previous[k]} (now {v})" for k, v in fixed.items() if k in previous and previous[k] != v]
    if changed and (out / MASKCHECK_INSTANCES).exists():
        raise ValueError(f"{out} holds mask-check instances made with {', '.join(changed)}; use another --out")
    config = replace(config, load_model=False, log_path=str(out / "worker.log"))
    unavailable = {s.label: r for s in specs if (r := unavailable_reason(s.compiler))}
    compilers = list({s.compiler.label: s.compiler for s in specs if s.label not in unavailable}.values())
    settings = {**fixed, "compile_timeout_s": compile_timeout, "check_timeout_s": check_timeout}
    key = settings_key(settings)
    _write_settings(out / MASKCHECK_SETTINGS, {
        "engines": [s.label for s in compilers], "unavailable": unavailable, "tokenizer": config.model,
        "datasets": list(dict.fromkeys(r.dataset for r in records)), "schemas": len(records),
        "instances_per_schema": count, "seed": config.seed, "instance_budget_s": instance_budget,
        "compile_timeout_s": compile_timeout, "check_timeout_s": check_timeout, "workers": workers,
        "settings": settings, "settings_key": key,
    })
    instance_store = ResultStore(out / MASKCHECK_INSTANCES, INSTANCES_KEY)
    jobs, skipped = [], 0
    for record in records:
        base = {"dataset": record.dataset, "id": record.id, "split": record.split}
        if instance_store.done(base):
            skipped += 1
            continue
        task = {"kind": "instances", "schema": record.schema, "count": count, "seed": config.seed,
                "budget_s": instance_budget}
        # the budget bounds drawing; mutating, judging and tokenising what was drawn gets as long again
        timeouts = [config.setup_timeout, 2 * instance_budget + 30]
        jobs.append(Job(INSTANCES, base, task, timeouts, finish_instances))
    made = _execute_with_progress(jobs, [INSTANCES], config, instance_store, workers, console, quiet, "making")
    if made.errors:
        return made
    wanted = {(r.dataset, r.id) for r in records}
    instances = {(i["dataset"], i["id"]): i for i in read_records(out / MASKCHECK_INSTANCES)
                 if i.get("status") == "ok" and (i["dataset"], i["id"]) in wanted}
    store = ResultStore(out / MASKCHECK_RESULTS, MASKCHECK_KEY)
    jobs = []
    for spec in compilers:
        for record in records:
            made_for = instances.get((record.dataset, record.id))
            if made_for is None:
                continue
            base = {"engine": spec.label, "dataset": record.dataset, "id": record.id, "split": record.split,
                    SETTINGS_FIELD: key}
            if store.done(base):
                skipped += 1
                continue
            texts = made_for["valid"] + [i["text"] for i in made_for["invalid"]]
            keywords = [None] * len(made_for["valid"]) + [i["keyword"] for i in made_for["invalid"]]
            task = {"kind": "check", "engine": spec.label, "schema": record.schema, "texts": texts}
            timeouts = [config.setup_timeout, compile_timeout, check_timeout]
            jobs.append(Job(spec.label, {**base, "texts": texts, "keywords": keywords}, task, timeouts,
                            finish_maskcheck))
    outcome = _execute_with_progress(jobs, [s.label for s in compilers], config, store, workers, console, quiet,
                                     "mask check")
    outcome.written += made.written
    outcome.skipped = skipped
    _warn_skipped(outcome, instance_store, store)
    outcome.unavailable.update(unavailable)
    _write_settings(out / MASKCHECK_SETTINGS, {"unavailable": outcome.unavailable})
    return outcome


def environment_threads(workers: int) -> int:
    """Torch threads per worker: the machine's cores shared out between the workers."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
