"""Compile time, declared coverage and mask time per token, for structgen and the peer engines, in one run.

    python -m bench.compile_mask --per-dataset 50 --engines structgen,xgrammar,llguidance

For N schemas per dataset (seeded sample) and each engine: compile time (in a worker process with a
per-schema timeout, so a hang loses one schema), declared coverage per dataset, and the time of each
mask computation along the token path of a valid instance (drawn by hypothesis-jsonschema, or by a
random walk over a peer's mask when hypothesis cannot; checked by the `jsonschema` judge; written in
the compact output form; tokenised with the SmolLM2 tokenizer). An instance token the engine refuses
counts as "valid rejected". Speed is reported as ratios against baselines measured in the same run,
on the schemas both engines handled.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import platform
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from jsonschemabench.datasets import DATASETS, SchemaRecord, load_dataset, load_schemas
from jsonschemabench.instances import dumps, output_form
from jsonschemabench.engines import (
    PEERS,
    EngineCompileError,
    canonical_name,
    default_tokenizer,
    make_engine,
)

# --- worker processes with timeouts ---------------------------------------------------------------


class WorkerTimeout(Exception):
    """The worker did not answer in time; it was killed and will be restarted on the next call."""


class WorkerFailed(Exception):
    """The worker raised, or died, while running a task."""


class TimedWorker:
    """A forked process that runs `setup()` once, then `task(state, item)` generators; each yielded message is awaited with its own timeout.

    Why fork: the tokenizer loaded in the parent is inherited without reloading, and a hung
    compile costs one schema (the process is killed and a fresh one forked on demand).
    """

    def __init__(self, setup: Callable[[], Any], task: Callable[[Any, Any], Iterator[Any]]):
        self._setup, self._task = setup, task
        self._process = None
        self._conn = None

    def _start(self) -> None:
        parent, child = multiprocessing.get_context("fork").Pipe()
        self._process = multiprocessing.get_context("fork").Process(target=self._serve, args=(child,), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        self._expect(self._receive(timeout=300.0), "ready")

    def _serve(self, conn) -> None:
        # Engines log warnings from C++ straight to fd 2, over the progress bars; errors come back through the pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            state = self._setup()
        except BaseException as error:  # report setup failures (e.g. engine unavailable) to the parent
            conn.send(("failed", f"{type(error).__name__}: {error}"))
            return
        conn.send(("ready", None))
        while True:
            item = conn.recv()
            try:
                for message in self._task(state, item):
                    conn.send(("message", message))
                conn.send(("done", None))
            except BaseException as error:
                conn.send(("failed", f"{type(error).__name__}: {error}"))

    def _receive(self, timeout: float):
        if not self._conn.poll(timeout):
            self.stop()
            raise WorkerTimeout(f"no answer within {timeout:g} s")
        try:
            return self._conn.recv()
        except EOFError as error:
            self.stop()
            raise WorkerFailed("worker process died") from error

    @staticmethod
    def _expect(reply, kind: str):
        if reply[0] == "failed":
            raise WorkerFailed(reply[1])
        assert reply[0] == kind, reply
        return reply[1]

    def run(self, item: Any, timeouts: list[float]) -> Iterator[Any]:
        """Send one task and yield its messages; message i must arrive within timeouts[i] (the last repeats)."""
        if self._process is None:
            self._start()
        self._conn.send(item)
        for i in itertools.count():
            kind, payload = self._receive(timeouts[min(i, len(timeouts) - 1)])
            if kind == "done":
                return
            yield self._expect((kind, payload), "message")

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._conn.close()
        self._process = self._conn = None


# --- valid instances ------------------------------------------------------------------------------


def judge(schema: Any):
    """The judge (`structgen.judge`): jsonschema for the schema's draft, format checking on, ECMA-262 patterns."""
    from structgen.judge import validator_for

    return validator_for(schema)


def hypothesis_instances(schema: Any, seed: int, examples: int) -> list[Any]:
    """Up to `examples` values drawn by hypothesis-jsonschema with a fixed seed (no shrinking, no database)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from jsonschemabench.instances import from_schema

    drawn: list[Any] = []

    @fixed_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(schema))
    def collect(value):
        drawn.append(value)

    collect()
    return drawn


STRUCTURAL_BYTES = frozenset(b'"}],')


def closing_tokens(tokenizer) -> np.ndarray:
    """Tokens holding a byte that closes or separates JSON (`"`, `}`, `]`, `,`): favoured by the walk so it ends."""
    from jsonschemabench.engines import token_bytes

    pieces = token_bytes(tokenizer)
    flags = np.zeros(len(tokenizer), dtype=bool)
    for token_id, piece in enumerate(pieces[: len(flags)]):
        flags[token_id] = piece is not None and any(b in STRUCTURAL_BYTES for b in piece)
    return flags


def random_walk_tokens(matcher, closing: np.ndarray, rng: random.Random, max_tokens: int) -> list[int] | None:
    """Random allowed tokens from a peer's mask until it accepts; half the picks are closing tokens, so values stay short."""
    eos = list(matcher.eos_token_ids)
    tokens: list[int] = []
    for _ in range(max_tokens):
        allowed = matcher.mask()
        if matcher.is_accepting() and (rng.random() < 0.5 or not allowed.any()):
            return tokens
        allowed[eos] = False
        closing_allowed = np.flatnonzero(allowed & closing[: len(allowed)])
        pool = closing_allowed if len(closing_allowed) and rng.random() < 0.5 else np.flatnonzero(allowed)
        if len(pool) == 0:
            return None
        token = int(pool[rng.randrange(len(pool))])
        if not matcher.advance(token):
            return None
        tokens.append(token)
    return tokens if matcher.is_accepting() else None


@dataclass
class Instance:
    text: str
    token_ids: list[int]
    source: str  # "hypothesis" or "walk:<engine>"


def _instance_setup(tokenizer, walk_engines: list[str]):
    def setup():
        from jsonschemabench.engines import token_bytes

        return {"tokenizer": tokenizer, "walk_engines": walk_engines, "engines": {},
                "closing": closing_tokens(tokenizer), "pieces": token_bytes(tokenizer)}

    return setup


def _instance_task(state, item) -> Iterator[Any]:
    """Find one valid instance for a schema; yields a dict (Instance fields) or a failure reason."""
    schema, seed, max_tokens = item
    tokenizer = state["tokenizer"]
    check = judge(schema)
    reasons = []

    def encode(value):
        text = dumps(output_form(value, schema))  # compact, properties in schema order
        return text, tokenizer.encode(text, add_special_tokens=False)

    try:
        values = [v for v in hypothesis_instances(schema, seed, examples=20) if check.is_valid(v)]
    except Exception as error:
        values = []
        reasons.append(f"hypothesis: {type(error).__name__}: {str(error)[:200]}")
    # Some text has no exact tokenisation (SmolLM2's tokenizer drops bytes it has no token
    # for, e.g. the lead byte of U+0080..U+009F): such an instance tests the tokenizer, not the engine.
    pieces = state["pieces"]
    encoded = [e for e in map(encode, values)
               if b"".join(pieces[i] or b"" for i in e[1]) == e[0].encode("utf-8")]
    if values and not encoded:
        reasons.append(f"hypothesis: none of {len(values)} valid examples has an exact tokenisation")
    if encoded:
        fitting = [e for e in encoded if len(e[1]) <= max_tokens]
        text, ids = max(fitting, key=lambda e: len(e[1])) if fitting else min(encoded, key=lambda e: len(e[1]))
        yield asdict(Instance(text, ids, "hypothesis"))
        return
    if not reasons:
        reasons.append("hypothesis: no valid example among 20 draws")
    rng = random.Random(seed)
    for name in state["walk_engines"]:
        try:
            engine = state["engines"].get(name) or state["engines"].setdefault(name, make_engine(name, tokenizer))
            for _ in range(5):
                tokens = random_walk_tokens(engine.compile(schema), state["closing"], rng, max_tokens)
                if tokens is None:
                    continue
                value = json.loads(tokenizer.decode(tokens))
                if check.is_valid(value):
                    yield asdict(Instance(*encode(value), source=f"walk:{name}"))
                    return
            reasons.append(f"walk:{name}: no valid instance in 5 walks")
        except Exception as error:
            reasons.append(f"walk:{name}: {type(error).__name__}: {str(error)[:200]}")
    yield {"failed": "; ".join(reasons)}


# --- the engine side ------------------------------------------------------------------------------


def _engine_setup(name: str, tokenizer):
    return lambda: make_engine(name, tokenizer)


def _engine_task(engine, item) -> Iterator[Any]:
    """Compile (timed), then walk the instance's tokens timing each mask; two messages.

    The item is (schema, token ids or None, whether the ids are the whole instance): end-of-sequence
    is checked only after a whole one (a prefix cut at --max-tokens cannot end). The item
    "settings" asks for the engine's settings instead.
    """
    if item == "settings":
        yield engine.settings()
        return
    schema, token_ids, whole = item
    start = time.perf_counter()
    try:
        matcher = engine.compile(schema)
    except EngineCompileError as error:
        yield {"compile_s": time.perf_counter() - start, "error": str(error)[:500]}
        return
    yield {"compile_s": time.perf_counter() - start, "error": None}
    if token_ids is None:
        return
    mask_ns: list[int] = []
    walk: dict[str, Any] = {"rejected_at": None, "rejected_by": None, "inconsistent": False}
    for step, token in enumerate([*token_ids, None]):
        t0 = time.perf_counter_ns()
        native = matcher.compute_mask()
        mask_ns.append(time.perf_counter_ns() - t0)
        allowed = matcher.to_bool(native)
        if token is None:  # end of the instance: EOS must be allowed
            if whole and not (allowed[list(matcher.eos_token_ids)].all() and matcher.is_accepting()):
                walk.update(rejected_at=step, rejected_by="end")
            break
        accepted = matcher.advance(token)
        if bool(allowed[token]) != accepted:
            walk["inconsistent"] = True
        if not accepted or not allowed[token]:
            walk.update(rejected_at=step, rejected_by="advance" if not accepted else "mask")
            break
    walk["mask_ns"] = mask_ns
    yield walk


@dataclass
class SchemaOutcome:
    """What one engine did with one schema."""

    dataset: str
    id: str
    status: str  # compiled | compile_error | timeout | crash
    compile_s: float | None = None
    error: str | None = None
    mask_ns: list[int] = field(default_factory=list)
    walked: bool = False  # the instance's whole path (or its max-token prefix) was checked
    valid_rejected: bool = False
    rejected_by: str | None = None
    inconsistent: bool = False


def run_engine(
    name: str, tokenizer, records: list[SchemaRecord], instances: dict[str, dict], args, progress=None
) -> tuple[list[SchemaOutcome], str | None, dict]:
    """All schemas through one engine: (outcomes, reason the engine is unavailable or None, engine settings)."""
    worker = TimedWorker(_engine_setup(name, tokenizer), _engine_task)
    outcomes = []
    try:
        (settings,) = worker.run("settings", [60.0])
    except (WorkerFailed, WorkerTimeout) as error:
        worker.stop()
        return [], str(error), {}
    task = progress.add_task(f"{name}", total=len(records)) if progress else None
    try:
        for record in records:
            key = f"{record.dataset}/{record.id}"
            instance = instances.get(key) or {}
            ids = instance.get("token_ids")
            whole = ids is None or len(ids) <= args.max_tokens
            if not whole:
                ids = ids[: args.max_tokens]
            outcome = SchemaOutcome(record.dataset, record.id, status="crash")
            try:
                messages = worker.run((record.schema, ids, whole), [args.compile_timeout, args.walk_timeout])
                compiled = next(messages)
                outcome.compile_s = compiled["compile_s"]
                outcome.error = compiled["error"]
                outcome.status = "compile_error" if compiled["error"] else "compiled"
                for walk in messages:
                    outcome.mask_ns = walk["mask_ns"]
                    outcome.walked = walk["rejected_at"] is None
                    outcome.valid_rejected = walk["rejected_at"] is not None
                    outcome.rejected_by = walk["rejected_by"]
                    outcome.inconsistent = walk["inconsistent"]
            except WorkerTimeout as error:
                if outcome.status == "crash":
                    outcome.status, outcome.error = "timeout", f"compile: {error}"
                else:
                    outcome.error = f"mask walk: {error}"
            except WorkerFailed as error:
                outcome.error = str(error)[:500]
            outcomes.append(outcome)
            if progress:
                progress.advance(task)
    finally:
        worker.stop()
    return outcomes, None, settings


# --- statistics -----------------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "mean": None}
    array = np.asarray(values, dtype=float)
    return {"n": len(values), "p50": float(np.percentile(array, 50)), "p99": float(np.percentile(array, 99)), "mean": float(array.mean())}


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def summarize(outcomes: dict[str, list[SchemaOutcome]], datasets: list[str], compile_baseline: str, mask_baseline: str):
    """Per engine: compile and mask percentiles, coverage per dataset, valid-rejected counts, ratios against the baselines."""
    by_key = {name: {(o.dataset, o.id): o for o in rows} for name, rows in outcomes.items()}
    summary = {}
    for name, rows in outcomes.items():
        compiled = [o for o in rows if o.status == "compiled"]
        coverage = {}
        for dataset in datasets:
            in_set = [o for o in rows if o.dataset == dataset]
            if in_set:
                ok = sum(o.status == "compiled" for o in in_set)
                coverage[dataset] = {"compiled": ok, "attempted": len(in_set), "coverage": ok / len(in_set)}
        entry = {
            "compile_ms": percentiles([o.compile_s * 1e3 for o in compiled]),
            "mask_us": percentiles([ns / 1e3 for o in compiled for ns in o.mask_ns]),
            "coverage": coverage,
            "declared_coverage": len(compiled) / len(rows) if rows else None,
            "status_counts": {s: sum(o.status == s for o in rows) for s in ("compiled", "compile_error", "timeout", "crash")},
            "instances_walked": sum(o.walked for o in compiled),
            "valid_rejected": sum(o.valid_rejected for o in compiled),
            "mask_advance_inconsistent": sum(o.inconsistent for o in compiled),
        }
        for kind, baseline, measure in (
            ("compile", compile_baseline, lambda o: [o.compile_s * 1e3] if o.status == "compiled" else []),
            ("mask", mask_baseline, lambda o: [ns / 1e3 for ns in o.mask_ns] if o.status == "compiled" else []),
        ):
            if baseline not in by_key or baseline == name:
                continue
            mine, theirs = [], []
            for key, outcome in by_key[name].items():
                other = by_key[baseline].get(key)
                a, b = measure(outcome), measure(other) if other else []
                if a and b:  # both handled this schema (mask: both walked it)
                    mine += a
                    theirs += b
            ours, base = percentiles(mine), percentiles(theirs)
            entry[f"{kind}_vs_{baseline}"] = {
                "schemas_in_common_values": ours["n"],
                "p50_ratio": ratio(ours["p50"], base["p50"]),
                "p99_ratio": ratio(ours["p99"], base["p99"]),
                "p50": ours["p50"],
                "baseline_p50": base["p50"],
            }
        summary[name] = entry
    return summary


# --- reporting ------------------------------------------------------------------------------------


def print_report(result: dict, console) -> None:
    from rich.table import Table

    def fmt(value, digits=3):
        return "-" if value is None else f"{value:.{digits}g}"

    engines = result["summary"]
    args = result["settings"]
    table = Table(title=f"compile & mask speed ({result['n_schemas']} schemas, {result['n_instances']} with an instance)")
    for column in ("engine", "compiled", "compile p50 ms", "compile p99 ms", f"vs {args['compile_baseline']} p50",
                   "mask p50 µs", "mask p99 µs", f"vs {args['mask_baseline']} p50", f"vs {args['mask_baseline']} p99",
                   "walked", "valid rejected"):
        table.add_column(column, justify="right")
    for name, s in engines.items():
        c = s.get(f"compile_vs_{args['compile_baseline']}", {})
        m = s.get(f"mask_vs_{args['mask_baseline']}", {})
        counts = s["status_counts"]
        table.add_row(
            name, f"{counts['compiled']}/{sum(counts.values())}",
            fmt(s["compile_ms"]["p50"]), fmt(s["compile_ms"]["p99"]), fmt(c.get("p50_ratio"), 2),
            fmt(s["mask_us"]["p50"]), fmt(s["mask_us"]["p99"]), fmt(m.get("p50_ratio"), 2), fmt(m.get("p99_ratio"), 2),
            str(s["instances_walked"]), str(s["valid_rejected"]),
        )
    console.print(table)
    coverage = Table(title="declared coverage per dataset")
    coverage.add_column("dataset")
    for name in engines:
        coverage.add_column(name, justify="right")
    for dataset in result["datasets"]:
        cells = []
        for s in engines.values():
            c = s["coverage"].get(dataset)
            cells.append("-" if c is None else f"{c['coverage']:.0%} ({c['compiled']}/{c['attempted']})")
        coverage.add_row(dataset, *cells)
    console.print(coverage)
    for name, reason in result["unavailable"].items():
        console.print(f"[yellow]{name}: not available: {reason}[/yellow]")


# --- the run --------------------------------------------------------------------------------------


def select_records(per_dataset: int, seed: int, datasets: list[str], schemas_path: str | None) -> list[SchemaRecord]:
    """N records per dataset, sampled with a seed derived from (seed, dataset), kept in file order."""
    groups = {Path(schemas_path).name: load_schemas(schemas_path)} if schemas_path else {d: load_dataset(d) for d in datasets}
    chosen = []
    for name, records in groups.items():
        rng = random.Random(f"{seed}:{name}")
        picked = sorted(rng.sample(range(len(records)), min(per_dataset, len(records))))
        chosen += [records[i] for i in picked]
    return chosen


def run_benchmark(records: list[SchemaRecord], engine_names: list[str], tokenizer, args, console=None) -> dict:
    """Instances first (shared by all engines), then each engine in turn; returns the JSON-ready result."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, disable=args.quiet)
    walk_engines = [e for e in ("llguidance", "xgrammar") if e in engine_names] or ["llguidance", "xgrammar"]
    instances: dict[str, dict] = {}
    with progress:
        worker = TimedWorker(_instance_setup(tokenizer, walk_engines), _instance_task)
        task = progress.add_task("instances", total=len(records))
        try:
            for index, record in enumerate(records):
                key = f"{record.dataset}/{record.id}"
                try:
                    (found,) = worker.run((record.schema, args.seed + index, args.max_tokens), [args.instance_timeout])
                except (WorkerTimeout, WorkerFailed) as error:
                    found = {"failed": f"{type(error).__name__}: {error}"}
                instances[key] = found
                progress.advance(task)
        finally:
            worker.stop()
        outcomes, unavailable, engine_settings = {}, {}, {}
        for name in engine_names:
            rows, reason, settings = run_engine(name, tokenizer, records, instances, args, progress)
            if reason is None:
                outcomes[name], engine_settings[name] = rows, settings
            else:
                unavailable[name] = reason
    datasets = list(dict.fromkeys(r.dataset for r in records))
    with_instance = [k for k, v in instances.items() if "token_ids" in v]
    return {
        "settings": {k: v for k, v in vars(args).items() if k != "quiet"},
        "engine_settings": engine_settings,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "datasets": datasets,
        "n_schemas": len(records),
        "n_instances": len(with_instance),
        "instance_sources": {s: sum(v.get("source") == s for v in instances.values())
                             for s in sorted({v.get("source") for v in instances.values() if v.get("source")})},
        "instance_failures": {k: v["failed"] for k, v in instances.items() if "failed" in v},
        "unavailable": unavailable,
        "summary": summarize(outcomes, datasets, args.compile_baseline, args.mask_baseline),
        "schemas": {name: [asdict(o) for o in rows] for name, rows in outcomes.items()},
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compile_mask", description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-dataset", type=int, default=50, help="schemas sampled per dataset")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated JSONSchemaBench datasets")
    parser.add_argument("--schemas", default=None, help="a JSONL file or folder of .json schemas instead of the datasets")
    parser.add_argument("--engines", default="structgen," + ",".join(PEERS[:2]), help="comma-separated engines")
    parser.add_argument("--compile-baseline", default="xgrammar")
    parser.add_argument("--mask-baseline", default="llguidance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=512, help="longest token path walked per instance")
    parser.add_argument("--compile-timeout", type=float, default=60.0, help="seconds per schema compile")
    parser.add_argument("--walk-timeout", type=float, default=120.0, help="seconds per instance's mask walk")
    parser.add_argument("--instance-timeout", type=float, default=30.0, help="seconds to find one valid instance")
    parser.add_argument("--out", default="results/compile_mask.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    args.engines = [canonical_name(e.strip()) for e in args.engines.split(",") if e.strip()]
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = [d for d in args.datasets if d not in DATASETS]
    if unknown:
        parser.error(f"unknown datasets: {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None, tokenizer=None) -> dict:
    from rich.console import Console

    args = parse_args(argv)
    console = Console(width=max(Console().width, 150))
    records = select_records(args.per_dataset, args.seed, args.datasets, args.schemas)
    result = run_benchmark(records, args.engines, tokenizer if tokenizer is not None else default_tokenizer(), args, console)
    print_report(result, console)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    console.print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
