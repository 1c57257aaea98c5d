"""`jsonschemabench`: run engines over JSON Schema datasets, run the JSON Schema Test Suite, report.

    jsonschemabench run --datasets Github_easy,Kubernetes --split test \\
        --engines structgen-lcd,structgen-awrs,xgrammar --limit 50 --model default --out results/
    jsonschemabench run --datasets Glaiveai2K --limit 50 --engines openai:http://127.0.0.1:8000/v1 --out results/
    jsonschemabench testsuite --engines structgen-lcd,llguidance --out results/
    jsonschemabench maskcheck --datasets Github_easy --limit 20 --engines structgen-lcd,xgrammar --out results/
    jsonschemabench quality --tasks last-letter,shuffle-objects,gsm8k --limit 50 --out results/
    jsonschemabench report results/
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
from pathlib import Path

from jsonschemabench.datasets import DATASETS, SPLITS, TEST_SUITE_DRAFTS
from jsonschemabench.engine_specs import ENGINE_NAMES, parse_engines
from structgen import InvalidArgumentError, ModelLoadError, StructgenError

DEFAULT_ENGINES = "structgen-lcd,structgen-awrs,structgen-smc,unconstrained,xgrammar,llguidance,outlines-core"
ENGINES_HELP = (f"comma-separated engines: {', '.join(ENGINE_NAMES)}; structgen-lcd:ff and structgen-lcd:noff run "
                "structgen's LCD sampler with and without fast-forward; structgen-smc:N sets N particles "
                "(default 8); module:Class plugs in any jsonschemabench.engines.Engine subclass. Engines whose "
                "package is missing are reported as unavailable and skipped.")
ENDPOINTS_HELP = (" For `run` only: openai:URL[:MODEL] measures a running OpenAI-compatible server (vllm serve, "
                  "structgen serve, llama.cpp's server) over HTTP, the schema sent as response_format json_schema; "
                  "openai+xargs:URL[:MODEL] sends it to structgen's vLLM logits processor in vllm_xargs instead. "
                  "URL is http[s]://HOST[:PORT][/PATH] (path default /v1); MODEL, if given, is all after the next "
                  "':' (default: the first of GET URL/models). Before the run the server must answer that GET and "
                  "a warm-up request; no local model is loaded for endpoint engines.")
EXIT_BAD_INPUT = 2  # the structgen command's exit codes: bad input, and interrupted (128 + SIGINT)
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``PROG: error: ...``) instead of usage plus error."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results", help="results folder (created; an existing one is resumed)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes run in parallel, each loading the model once (default 1; "
                             "timings are only comparable with 1 worker per free core set)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker (default: cores / workers)")
    parser.add_argument("--compile-timeout", type=float, default=40.0,
                        help="seconds a schema may take to compile; longer counts as not covered (default 40)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_generation_options(parser: argparse.ArgumentParser, max_tokens: int, generation_timeout: float) -> None:
    parser.add_argument("--model", default="default",
                        help="default (SmolLM2-135M-Instruct, shipped), tiny (random 2-layer model with the real "
                             "tokenizer, for tests) or a local Hugging Face model directory")
    parser.add_argument("--device", default="cpu", help="torch device for the model (cpu, cuda, ...)")
    parser.add_argument("--max-tokens", type=int, default=max_tokens,
                        help=f"longest output in tokens (default {max_tokens})")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--sampler-temperature", type=float, default=1.0,
                        help="temperature of structgen-awrs/smc when --temperature is 0 (they sample by design)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--generation-timeout", type=float, default=generation_timeout,
                        help=f"seconds a generation may take after compiling (default {generation_timeout:g})")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="jsonschemabench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Run `jsonschemabench COMMAND --help` for each command's options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)

    run = commands.add_parser(
        "run", help="generate with each engine for each schema and judge the outputs",
        description="Prompt the model with each schema (JSONSchemaBench's prompt: instructions, two examples, "
                    "the schema, through the chat template) and generate with each engine in one decoding loop "
                    "(same model, greedy by default). Records one JSON line per (engine, schema) in "
                    "OUT/results.jsonl as soon as it finishes; running again resumes. Compile and generation "
                    "run in worker processes under timeouts: a hung or crashing engine loses that schema only. "
                    "Endpoint engines (openai:URL) get the same prompt as chat messages, streamed, with the "
                    "same max tokens, temperature and seed; a schema the server refuses (HTTP 400/422) counts "
                    "as not covered, with the server's message; their outputs are judged here. TTFT: request "
                    "to first content; TPOT: from there to the end over the usage's completion tokens - 1; "
                    "GCT is not observable from outside (inside TTFT).")
    run.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated datasets ({', '.join(DATASETS)})")
    run.add_argument("--split", default=None, choices=SPLITS, help="keep only schemas with this split label")
    run.add_argument("--schemas", default=None,
                     help="a JSONL file (one schema per line, or objects with a schema/json_schema field) or a "
                          "folder of .json schemas, instead of the datasets")
    run.add_argument("--limit", type=int, default=None, help="the first N schemas of each dataset")
    run.add_argument("--engines", default=DEFAULT_ENGINES, help=ENGINES_HELP + ENDPOINTS_HELP)
    _add_generation_options(run, max_tokens=512, generation_timeout=60.0)
    _add_worker_options(run)

    suite = commands.add_parser(
        "testsuite", help="check each engine against the JSON Schema Test Suite, token by token",
        description="For each test case: compile its schema, feed every instance (compact output form, "
                    "tokenised) token by token. A case passes when every valid instance reaches an accepting "
                    "state and every invalid one is rejected; a compile error passes only if all instances are "
                    "invalid. By default the paper's selection: core files minus format, refRemote, vocabulary. "
                    "No model is loaded (tokenizer only). Records go to OUT/testsuite.jsonl (resumable).")
    suite.add_argument("--engines", default="structgen-lcd,xgrammar,llguidance,outlines-core", help=ENGINES_HELP)
    suite.add_argument("--drafts", default=",".join(TEST_SUITE_DRAFTS), help="comma-separated drafts")
    suite.add_argument("--categories", default=None, help="only these categories (file names, e.g. type,enum)")
    suite.add_argument("--all-categories", action="store_true", help="include format, refRemote and vocabulary")
    suite.add_argument("--model", default="default", help="whose tokenizer: default, tiny (same tokenizer) or PATH")
    suite.add_argument("--check-timeout", type=float, default=60.0, help="seconds to check one case's instances")
    _add_worker_options(suite)

    check = commands.add_parser(
        "maskcheck", help="feed judge-labelled valid and invalid instances to each engine, token by token",
        description="For each schema: draw up to K valid instances with hypothesis-jsonschema (fixed seed, "
                    "bounded time; schemas it cannot handle are skipped with the reason recorded), put them in "
                    "the output form, keep those the judge (jsonschema, format checking on) accepts and the "
                    "tokenizer spells exactly, and mutate them into up to K judge-rejected ones. The instances "
                    "are made once (OUT/maskcheck_instances.jsonl) and fed to every engine's matcher token by "
                    "token, then end-of-sequence. Records per (engine, schema) go to OUT/maskcheck.jsonl "
                    "(resumable): compiled, valid_total, valid_rejected, invalid_total, invalid_accepted. "
                    "No model is loaded (tokenizer only).")
    check.add_argument("--datasets", default=",".join(DATASETS),
                       help=f"comma-separated datasets ({', '.join(DATASETS)})")
    check.add_argument("--split", default=None, choices=SPLITS, help="keep only schemas with this split label")
    check.add_argument("--schemas", default=None, help="a JSONL file or a folder of .json schemas (as for run)")
    check.add_argument("--limit", type=int, default=None, help="the first N schemas of each dataset")
    check.add_argument("--engines", default="structgen-lcd,xgrammar,llguidance,outlines-core", help=ENGINES_HELP)
    check.add_argument("--instances", type=int, default=5,
                       help="valid instances drawn per schema, and as many invalid mutants at most (default 5)")
    check.add_argument("--instance-budget", type=float, default=20.0,
                       help="seconds hypothesis-jsonschema may draw for one schema (default 20)")
    check.add_argument("--seed", type=int, default=0, help="hypothesis and mutation seed (default 0)")
    check.add_argument("--model", default="default", help="whose tokenizer: default, tiny (same tokenizer) or PATH")
    check.add_argument("--check-timeout", type=float, default=60.0, help="seconds to check one schema's instances")
    _add_worker_options(check)

    quality = commands.add_parser(
        "quality", help="score how often each engine's answers are right on three reasoning tasks",
        description="JSONSchemaBench's quality tasks: Last Letter Concatenation and Tracking Shuffled Objects "
                    "(generated from --task-seed) and GSM8K (the test split, shipped). Each question is asked "
                    "with three worked examples through the chat template; the output is a JSON object "
                    '{"reasoning": ..., "answer": ...} whose answer each task constrains (last-letter: '
                    "lowercase letters, as many as words; shuffle-objects: an enum of the objects named; "
                    "gsm8k: an integer). The answer is read from the first JSON object with an answer member "
                    "(an output without one is unparseable: wrong, and counted apart) and compared to the "
                    "gold answer. Records go to OUT/quality.jsonl as they finish (running again resumes); "
                    "`jsonschemabench report OUT` gives accuracy per task and engine with 95% Wilson "
                    "intervals.")
    quality.add_argument("--tasks", default="last-letter,shuffle-objects,gsm8k",
                         help="comma-separated tasks: last-letter, shuffle-objects, gsm8k (default all three)")
    quality.add_argument("--limit", type=int, default=None,
                         help="the first N items of each task (default: GSM8K's 1,319, 1,000 generated ones)")
    quality.add_argument("--task-seed", type=int, default=0, help="seed of the generated tasks' items (default 0)")
    quality.add_argument("--engines", default="unconstrained,structgen-lcd,structgen-awrs,structgen-smc:4,xgrammar,"
                                              "llguidance", help=ENGINES_HELP)
    _add_generation_options(quality, max_tokens=256, generation_timeout=120.0)
    _add_worker_options(quality)

    report = commands.add_parser(
        "report", help="tables, summary.json and plots for a results folder",
        description="Write report.md (coverage per dataset and engine, efficiency, outcomes, test-suite "
                    "categories, mask check, quality), summary.json (the same numbers) and coverage.png, gct.png, "
                    "tpot.png, quality.png into the folder, and print the tables.")
    report.add_argument("results", help="a folder written by `run`, `testsuite`, `maskcheck` and/or `quality`")
    report.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    return parser


def _worker_config(args, load_model: bool):
    from jsonschemabench.runner import environment_threads
    from jsonschemabench.worker import WorkerConfig

    return WorkerConfig(
        model=args.model, device=getattr(args, "device", "cpu"),
        threads=args.threads or environment_threads(args.workers), load_model=load_model,
        max_tokens=getattr(args, "max_tokens", 512), temperature=getattr(args, "temperature", 0.0),
        sampler_temperature=getattr(args, "sampler_temperature", 1.0), seed=getattr(args, "seed", 0),
    )


def _print_outcome(console, outcome, out) -> None:
    for engine, reason in outcome.unavailable.items():
        console.print(f"[yellow]{engine}: unavailable: {reason}[/yellow]")
    for warning in outcome.warnings:
        console.print(f"[yellow]{warning}[/yellow]", soft_wrap=True)
    for error in outcome.errors:  # a worker's setup, or an endpoint that stopped answering
        hint = f" (see {out}/worker.log)" if error.startswith("worker") else ""
        console.print(f"[red]{error}[/red]{hint}", soft_wrap=True)
    console.print(f"{outcome.written} new records, {outcome.skipped} already in {out}")


def main(argv: list[str] | None = None) -> int:
    """The console script. Bad input (a `StructgenError`: arguments, files, model path) is one line on
    stderr and exit code 2; an interrupt keeps every finished record (the next run resumes), exit 130.
    Any other exception propagates with its traceback: it is a bug, not bad input."""
    args = build_parser().parse_args(argv)
    missing = [name for name in BENCH_PACKAGES if _missing(name)]
    if missing:  # tables and plots: a missing package is a line, not a traceback
        print(f"jsonschemabench: error: needs structgen's 'bench' extra (not installed: {', '.join(missing)}); "
              f"install structgen[bench]", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        check_arguments(args)
        return _command(args)
    except StructgenError as error:
        print(f"jsonschemabench: error: {_message(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("jsonschemabench: interrupted: finished records are saved; run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED


BENCH_PACKAGES = ("rich", "matplotlib")  # what structgen's 'bench' extra installs for the harness


def _missing(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is None
    except ValueError:  # in sys.modules as None: not importable
        return True


def _message(error: StructgenError) -> str:
    text = " ".join(str(error).splitlines())
    if isinstance(error, InvalidArgumentError):
        return f"argument --{error.name.replace('_', '-')}: " + text.removeprefix(f"{error.name}: ")
    if isinstance(error, ModelLoadError):
        return f"argument --model: {text}"
    return text


def check_arguments(args) -> None:
    """The cheap checks, before any schema, tokenizer or model is loaded.

    Raises
    ------
    InvalidArgumentError
        A count or timeout out of its domain, an unknown dataset, draft or engine, a malformed
        endpoint engine or one given to another command than run, an output folder that cannot be
        created or written, a results folder that does not exist.
    ModelLoadError
        ``--model`` names a path that is not a model folder.
    """
    if args.command == "report":
        if not Path(args.results).is_dir():
            raise InvalidArgumentError("results", f"{args.results!r} is not a folder")
        return
    for name in ("workers", "threads", "limit", "max_tokens", "instances"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "limit" else 1):
            raise InvalidArgumentError(name, f"must be >= {0 if name == 'limit' else 1}, got {value}")
    if getattr(args, "seed", 0) < 0:
        raise InvalidArgumentError("seed", f"must be >= 0, got {args.seed}")
    for name in ("compile_timeout", "generation_timeout", "check_timeout", "instance_budget",
                 "sampler_temperature", "temperature"):
        value = getattr(args, name, None)
        zero_ok = name == "temperature"
        if value is not None and not (math.isfinite(value) and (value >= 0 if zero_ok else value > 0)):
            raise InvalidArgumentError(name, f"must be a finite number {'>=' if zero_ok else '>'} 0, got {value}")
    try:
        endpoints = [spec.label for spec in parse_engines(args.engines) if spec.kind == "endpoint"]
    except ValueError as error:
        raise InvalidArgumentError("engines", str(error)) from None
    if endpoints and args.command != "run":
        raise InvalidArgumentError("engines", f"{', '.join(endpoints)}: endpoint engines are for "
                                              f"`jsonschemabench run` only, not {args.command}")
    if getattr(args, "datasets", None) is not None and not args.schemas:
        unknown = [d for d in _csv(args.datasets) if d not in DATASETS]
        if unknown:
            raise InvalidArgumentError("datasets", f"unknown {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    if getattr(args, "drafts", None) is not None:
        unknown = [d for d in _csv(args.drafts) if d not in TEST_SUITE_DRAFTS]
        if unknown:
            raise InvalidArgumentError("drafts", f"unknown {', '.join(unknown)}; choose from "
                                                 f"{', '.join(TEST_SUITE_DRAFTS)}")
    if args.model not in ("default", "tiny"):
        from structgen.lm import check_model_dir

        check_model_dir(args.model)
    _check_out(args.out)


def _check_out(out: str) -> None:
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InvalidArgumentError("out", f"{out!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidArgumentError("out", f"cannot create {out!r}: {error.strerror or error}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidArgumentError("out", f"cannot write into {out!r}: permission denied")


def _connect(specs: list) -> list:
    """The specs, each endpoint's model filled in from its server (`endpoint.connect`).

    Raises
    ------
    InvalidArgumentError
        (argument ``engines``) an endpoint cannot be reached, answers with an error, does not serve
        the model its spec names, or refuses or fails the warm-up request.
    """
    from dataclasses import replace

    from jsonschemabench.endpoint import EndpointError, connect

    try:
        return [replace(s, endpoint=connect(s.endpoint)) if s.endpoint else s for s in specs]
    except EndpointError as error:
        raise InvalidArgumentError("engines", str(error)) from None


def _command(args) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    if args.command == "report":
        from jsonschemabench.report import write_report

        try:
            text, summary, written = write_report(args.results, with_plots=not args.no_plots)
        except FileNotFoundError as error:
            raise InvalidArgumentError("results", str(error)) from None
        print(text)
        for note in summary.get("notes", ()):
            console.print(f"[yellow]{note}[/yellow]", soft_wrap=True)
        console.print(f"wrote {args.results}/report.md, summary.json" + "".join(f", {p.name}" for p in written))
        return 0
    specs = parse_engines(args.engines)
    if args.command == "run":
        specs = _connect(specs)
    if args.command in ("run", "maskcheck"):
        from jsonschemabench.runner import run_benchmark, run_maskcheck, select_records

        records = select_records(_csv(args.datasets), args.split, args.limit, args.schemas)
    if args.command == "maskcheck":
        console.print(f"{len(records)} schemas x {len(specs)} engines, up to {args.instances} valid and invalid "
                      f"instances each, tokenizer {args.model}, out {args.out}")
        try:
            outcome = run_maskcheck(records, specs, _worker_config(args, False), args.out, count=args.instances,
                                    instance_budget=args.instance_budget, workers=args.workers,
                                    compile_timeout=args.compile_timeout, check_timeout=args.check_timeout,
                                    console=console, quiet=args.quiet)
        except ValueError as error:
            raise InvalidArgumentError("out", str(error)) from None
    elif args.command == "quality":
        from jsonschemabench.quality import parse_tasks, run_quality, select_items

        if args.task_seed < 0:
            raise InvalidArgumentError("task_seed", f"must be >= 0, got {args.task_seed}")
        items = select_items(parse_tasks(args.tasks), args.limit, args.task_seed)
        console.print(f"{len(items)} questions x {len(specs)} engines, model {args.model}, out {args.out}")
        outcome = run_quality(items, specs, _worker_config(args, True), args.out, task_seed=args.task_seed,
                              workers=args.workers, compile_timeout=args.compile_timeout,
                              generation_timeout=args.generation_timeout, console=console, quiet=args.quiet)
    elif args.command == "run":
        local = any(spec.kind != "endpoint" for spec in specs)
        console.print(f"{len(records)} schemas x {len(specs)} engines" + (f", model {args.model}" if local else "")
                      + f", out {args.out}")
        for spec in specs:
            if spec.endpoint:
                console.print(f"{spec.label}: model {spec.endpoint.model!r} at {spec.endpoint.base_url}",
                              soft_wrap=True)
        outcome = run_benchmark(records, specs, _worker_config(args, True), args.out, workers=args.workers,
                                compile_timeout=args.compile_timeout, generation_timeout=args.generation_timeout,
                                console=console, quiet=args.quiet)
    else:
        from jsonschemabench.runner import run_testsuite
        from jsonschemabench.testsuite import select_cases

        cases = select_cases(_csv(args.drafts), _csv(args.categories) if args.categories else None,
                             args.all_categories)
        console.print(f"{len(cases)} test cases x {len(specs)} engines, out {args.out}")
        outcome = run_testsuite(cases, specs, _worker_config(args, False), args.out, workers=args.workers,
                                compile_timeout=args.compile_timeout, check_timeout=args.check_timeout,
                                console=console, quiet=args.quiet)
    _print_outcome(console, outcome, args.out)
    return 1 if outcome.errors else 0


if __name__ == "__main__":
    sys.exit(main())
