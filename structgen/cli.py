"""The `structgen` command line: `structgen generate ...`, `structgen check ...` and `structgen serve ...`.

`generate` prints the output text alone (pipe-friendly; exit code 1 when it
is not valid, with the reason on stderr), or with ``--json`` the whole
record as one JSON line. `check` prints its report as JSON. Errors go to
stderr as one line, with exit code 2 (bad input) so that scripts can tell
them from crashes. The structure is compiled before the model loads, and
the model stack's progress bars and warnings stay off stderr unless
``--verbose``. `serve` runs the OpenAI-compatible HTTP server
(`structgen.serve`) until interrupted; its address is taken before the
model loads, so a port in use is refused at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings

from . import examples, grammars
from .automata.budget import DEFAULT_BUDGET, CompileBudget
from .errors import CompileBudgetError, InvalidArgumentError, InvalidSchemaError, ModelLoadError, NestingTooDeepError, StructgenError

EXIT_NOT_VALID = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``PROG: error: ...``) instead of usage plus error."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parse_json(text: str, what: str):
    """`json.loads`, with the failures named.

    Raises
    ------
    InvalidSchemaError
        `text` is not JSON (the message says where).
    NestingTooDeepError
        `text` nests deeper than the parser's recursion limit.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidSchemaError(f"{what} is not valid JSON: {e}") from None
    except RecursionError:
        raise NestingTooDeepError(f"{what} (JSON text)", sys.getrecursionlimit()) from None


def _read_schema(arg: str):
    """`arg` is inline JSON text, the name of a shipped example schema, or a path to a JSON file."""
    if arg.lstrip().startswith(("{", "[", "true", "false")):
        _check_text("schema", arg)
        schema = parse_json(arg, "the inline schema")
    else:
        schema = parse_json(examples.read(arg), f"schema file {arg!r}")
    _check_text("schema", schema)  # a "\\ud800" escape parses to a lone surrogate
    return schema


def _check_text(name: str, text: str | None) -> None:
    from .generation import check_text

    check_text(name, text)


def _add_structure_args(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--schema", metavar="JSON|NAME|FILE",
                      help="JSON Schema: the schema itself as JSON text, the name of a shipped example "
                           f"({', '.join(examples.names())}), or a path to a .json file")
    what.add_argument("--regex", metavar="PATTERN",
                      help="regular expression (ECMA-262 subset) the whole output must match")
    what.add_argument("--grammar", metavar="NAME|FILE",
                      help="context-free grammar in llama.cpp's GBNF format (start rule `root`): the name of a "
                           f"shipped grammar ({', '.join(grammars.names())}) or a path to a .gbnf file "
                           "(a shipped name wins; write ./json for a file called json)")
    p.add_argument("--whitespace", choices=("compact", "flexible"), default="compact",
                   help="JSON whitespace: none (compact, default) or a bounded run between tokens (flexible)")
    p.add_argument("--lenient", action="store_true",
                   help="ignore unsupported schema keywords instead of failing; they are listed in the output")
    limits = p.add_argument_group("compile budgets", "compiling stops with a named error past any of these")
    limits.add_argument("--max-states", type=int, default=None, metavar="N",
                        help=f"most states of any one automaton built eagerly, and of the rows a lazily built "
                             f"document automaton makes while decoding (default {DEFAULT_BUDGET.max_states:,})")
    limits.add_argument("--max-compile-seconds", type=float, default=None, metavar="S",
                        help=f"wall-clock seconds for the compilation (default {DEFAULT_BUDGET.max_seconds:g})")
    limits.add_argument("--max-compile-memory", type=int, default=None, metavar="MB",
                        help=f"megabytes of the largest intermediate structure, estimated from automaton sizes "
                             f"(default {DEFAULT_BUDGET.max_memory >> 20})")


_BUDGET_OPTIONS = {"states": "--max-states", "seconds": "--max-compile-seconds", "memory": "--max-compile-memory"}


def _budget(args) -> CompileBudget | None:
    """The compile budget the options ask for (defaults where they are silent; None: all defaults)."""
    limits = {}
    if args.max_states is not None:
        limits["max_states"] = args.max_states
    if args.max_compile_seconds is not None:
        limits["max_seconds"] = args.max_compile_seconds
    if args.max_compile_memory is not None:
        if args.max_compile_memory < 1:
            raise InvalidArgumentError("max_compile_memory", f"must be a positive number of MB, got "
                                                              f"{args.max_compile_memory}")
        limits["max_memory"] = args.max_compile_memory << 20
    try:
        return CompileBudget(**limits) if limits else None
    except InvalidArgumentError as e:  # name the option, not the keyword
        raise InvalidArgumentError({"max_seconds": "max_compile_seconds", "max_memory": "max_compile_memory"}
                                   .get(e.name, e.name), str(e).removeprefix(f"{e.name}: ")) from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="structgen",
        description="Constrained generation: make a language model write output that is guaranteed to match "
                    "a JSON Schema, a regular expression or a context-free grammar (GBNF).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    gen = sub.add_parser(
        "generate", help="generate output that matches a schema, regex or grammar",
        description="Generate output that matches a JSON Schema, a regular expression or a GBNF grammar. "
                    "Prints the output text alone; exit code 0 when it is valid, 1 (with the reason on stderr) "
                    "when it is not, e.g. cut off at --max-tokens. With --json, prints the whole record as one "
                    "JSON line instead (text, value, valid, reason, tokens, statistics: compile time, time to "
                    "first token, time per output token; for smc the particles) and exits 0 whatever valid says. "
                    "The structure is compiled before the model loads, so a bad schema, regex or grammar is "
                    "refused at once (exit code 2).",
    )
    _add_structure_args(gen)
    gen.add_argument("--prompt", required=True, help="the prompt (the model's chat template is applied)")
    gen.add_argument("--sampler", choices=("lcd", "awrs", "smc"), default="lcd",
                     help="lcd (default): locally constrained decoding, masking the vocabulary at every step; "
                          "fast, but its outputs over-represent prefixes the model would rather not continue. "
                          "awrs: one sample by adaptive weighted rejection sampling (checks only the tokens it "
                          "draws) with its importance weight. smc: --particles AWRS samples with resampling, "
                          "approximating the model's distribution conditioned on valid output; prints every "
                          "particle with its weight, the posterior over texts and log_ml (the estimated log "
                          "probability that the model's output is valid)")
    gen.add_argument("--particles", type=int, default=4, metavar="N",
                     help="number of SMC particles (smc only; default 4). More particles: a better "
                          "approximation, at about N times the constraint work per step (the model runs them "
                          "as one batch)")
    gen.add_argument("--ess-threshold", type=float, default=0.5, metavar="T",
                     help="resample when the effective sample size of the particle weights falls below T*N "
                          "(smc only; default 0.5). 0 never resamples (importance sampling), 1 resamples "
                          "whenever the weights are uneven")
    gen.add_argument("--resampling", choices=("multinomial", "stratified", "systematic"), default="multinomial",
                     help="how SMC draws the surviving particles (default multinomial; stratified and "
                          "systematic have lower variance)")
    gen.add_argument("--estimator", choices=("recursive", "geometric", "paper", "none"), default="recursive",
                     help="AWRS weight estimator (awrs/smc): recursive (default; one extra check per token), "
                          "geometric (cheaper when the model is confident), paper (the two-trace estimator of "
                          "Lipkin et al. 2025), none (no weights: the masked law)")
    gen.add_argument("--max-tokens", type=int, default=256, help="stop after this many tokens (default 256); "
                     "output cut off before it is complete comes back with valid=false")
    gen.add_argument("--temperature", type=float, default=1.0, help="sampling temperature; 0 = greedy (default 1.0)")
    gen.add_argument("--top-p", type=float, default=1.0,
                     help="nucleus sampling threshold (lcd only; default 1.0 = off)")
    gen.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    gen.add_argument("--no-fast-forward", dest="fast_forward", action="store_false",
                     help="lcd: sample every token, even those the structure forces (by default they are "
                          "appended without sampling, tokenised as the tokenizer would)")
    gen.add_argument("--model", metavar="PATH", default=None,
                     help="local Hugging Face causal-LM directory (default: the embedded SmolLM2-135M-Instruct)")
    gen.add_argument("--json", action="store_true",
                     help="print the whole record as one JSON line instead of the output text")
    gen.add_argument("--verbose", action="store_true",
                     help="let the model stack's progress bars and warnings (transformers) through to stderr")

    check = sub.add_parser(
        "check", help="compile a schema, regex or grammar and report the automaton (no model needed)",
        description="Compile a JSON Schema, regex or GBNF grammar without a model and print the automaton size "
                    "(states; for grammars and recursive schemas, of the pushdown automaton's rule DFAs), the compile "
                    "time, any ignored keywords and, for a schema, how each keyword is enforced (exact: by the "
                    "automaton; checked: by a check beside it; ignored: --lenient only); with --text, also say "
                    "whether that text is accepted.",
    )
    _add_structure_args(check)
    check.add_argument("--text", help="a candidate output to test against the compiled structure")

    srv = sub.add_parser(
        "serve", help="run an OpenAI-compatible HTTP server (chat and text completions, constrained)",
        description="Serve the model over HTTP with OpenAI's API: /v1/chat/completions (the model's chat "
                    "template), /v1/completions, /v1/models and /health; response_format json_schema and "
                    "json_object, regex and grammar in the request's 'structgen' object, stream=true as "
                    "server-sent events. Concurrent requests share the model's forward passes. Runs until "
                    "interrupted (Ctrl-C). See docs/serve.md. Needs the 'serve' extra.",
    )
    srv.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; "
                                                          "0.0.0.0 for every interface)")
    srv.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0 picks a free one)")
    srv.add_argument("--model", metavar="PATH", default=None,
                     help="local Hugging Face causal-LM directory or .gguf file (default: the embedded "
                          "SmolLM2-135M-Instruct)")
    srv.add_argument("--model-name", metavar="NAME", default=None,
                     help="the model's id in the API, which requests name in 'model' (default: the model "
                          "folder's or file's name; smollm2-135m-instruct for the default model)")
    srv.add_argument("--max-concurrency", type=int, default=64, metavar="N",
                     help="requests generating at once, sharing forward passes (default 64); more wait in line")
    srv.add_argument("--max-tokens", type=int, default=256, metavar="N",
                     help="the output limit of a request that gives no max_tokens (default 256)")
    srv.add_argument("--cache-size", type=int, default=128, metavar="N",
                     help="compiled structures kept across requests (default 128)")
    srv.add_argument("--verbose", action="store_true",
                     help="uvicorn's access log, and the model stack's progress bars and warnings")
    return parser


def _check(args) -> dict:
    import time

    from .compile import compile_grammar, regex_automaton, schema_automaton, schema_grammar
    from .vocab import Vocabulary

    budget = _budget(args)
    t0 = time.perf_counter()
    ignored, notes, grammar, keywords = [], [], None, None
    if args.schema is not None:
        schema = _read_schema(args.schema)
        dfa, result = schema_automaton(schema, whitespace=args.whitespace, strict=not args.lenient, budget=budget)
        ignored, notes = result.ignored, result.notes
        keywords = result.keywords
        if dfa is None:
            grammar = schema_grammar(result)
    elif args.regex is not None:
        _check_text("regex", args.regex)
        dfa = regex_automaton(args.regex, budget=budget)
    else:
        dfa, grammar = None, grammars.load(args.grammar)
    if grammar is not None:
        automaton = compile_grammar(grammar, Vocabulary.bytes_only(), budget=budget)
        states, accepts = automaton.info.n_states, automaton.accepts_text
        notes = list(notes) + list(automaton.info.notes)
    else:
        states, accepts = dfa.n_states, dfa.matches
    out = {"states": states, "compile_time_s": time.perf_counter() - t0,
           "ignored": [{"keyword": k, "pointer": p} for k, p in ignored], "notes": list(notes)}
    if keywords is not None:
        out["keywords"] = [{"pointer": u.pointer, "keyword": u.keyword, "enforced": u.enforced} for u in keywords]
    if args.text is not None:
        _check_text("text", args.text)
        out["accepted"] = accepts(args.text.encode("utf-8"))
    return out


def _compile_before_loading(args, schema, grammar: str | None, budget: CompileBudget | None) -> None:
    """Compile the structure through the front doors `generate` uses, over `Vocabulary.bytes_only()`
    instead of the model's vocabulary (lazily, as `generate` will: milliseconds), so that a bad structure
    is refused before the model loads.

    Raises
    ------
    StructgenError
        The structure does not compile.
    """
    from .compile import compile_grammar, compile_json_schema, compile_regex
    from .vocab import Vocabulary

    if schema is not None:
        compile_json_schema(schema, Vocabulary.bytes_only(), whitespace=args.whitespace, strict=not args.lenient,
                            budget=budget)
    elif args.regex is not None:
        compile_regex(args.regex, Vocabulary.bytes_only(), budget=budget)
    else:
        compile_grammar(grammar, Vocabulary.bytes_only(), budget=budget)


def _serve(args) -> int:
    """Run the server until interrupted: the options and the address are checked before the model loads.

    Raises
    ------
    InvalidArgumentError
        A number option out of range, or an address that cannot be bound (see `structgen.serve.bind`).
    MissingExtraError
        The 'serve' or 'model' extra is not installed.
    ModelLoadError
        ``--model`` holds no loadable model.
    """
    from pathlib import Path

    from .extras import require

    for name, value, least in (("max_concurrency", args.max_concurrency, 1), ("max_tokens", args.max_tokens, 1),
                               ("cache_size", args.cache_size, 0)):
        if value < least:
            raise InvalidArgumentError(name, f"must be at least {least}, got {value}")
    if args.model_name is not None and not args.model_name.strip():
        raise InvalidArgumentError("model_name", "must not be empty")
    require("serve", "serving")
    require("model", "serving")
    from .serve import bind, create_app, serve

    sock = bind(args.host, args.port)
    try:
        with _quiet_model_stack(enabled=not args.verbose):
            from .lm import load_model

            lm = load_model(args.model, cache_size=2 * args.max_concurrency, max_batch_size=args.max_concurrency)
        name = args.model_name or ("smollm2-135m-instruct" if args.model is None
                                   else Path(args.model).name.removesuffix(".gguf"))
        app = create_app(lm, model_name=name, max_concurrency=args.max_concurrency, cache_size=args.cache_size,
                         default_max_tokens=args.max_tokens)
        from .serve.server import url_of

        print(f"structgen: serving {name!r} at {url_of(sock)}/v1 (Ctrl-C stops)", file=sys.stderr, flush=True)
        serve(app, sock, log_level="info" if args.verbose else "warning", access_log=args.verbose)
    finally:
        sock.close()
    return 0


def _generate(args):
    """The `GenerationResult` of the options; every argument and the structure are checked before
    the model stack is imported."""
    from .extras import require
    from .sampling import check_sampling_arguments

    # cheap checks first: a bad argument must not wait for the model to load
    check_sampling_arguments(sampler=args.sampler, particles=args.particles, max_tokens=args.max_tokens,
                             temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                             ess_threshold=args.ess_threshold, resampling=args.resampling, estimator=args.estimator)
    budget = _budget(args)
    _check_text("prompt", args.prompt)
    _check_text("regex", args.regex)
    schema = _read_schema(args.schema) if args.schema is not None else None
    grammar = grammars.load(args.grammar) if args.grammar is not None else None
    _compile_before_loading(args, schema, grammar, budget)
    require("model", "generating")
    from .generation import generate

    with _quiet_model_stack(enabled=not args.verbose):
        return generate(schema, args.prompt, regex=args.regex, grammar=grammar, model=args.model,
                        sampler=args.sampler, max_tokens=args.max_tokens, temperature=args.temperature,
                        top_p=args.top_p, seed=args.seed, whitespace=args.whitespace, strict=not args.lenient,
                        particles=args.particles, ess_threshold=args.ess_threshold, resampling=args.resampling,
                        estimator=args.estimator, budget=budget, fast_forward=args.fast_forward)


@contextlib.contextmanager
def _quiet_model_stack(enabled: bool):
    """transformers' progress bars ("Loading weights ...") and log messages below errors, and Python
    warnings, off inside the block (when `enabled`); the previous settings come back after it."""
    if not enabled:
        yield
        return
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input (any `StructgenError`) is one line on stderr and exit code 2.

    Any other exception propagates with its traceback: it is a bug, not bad input.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        out = _check(args) if args.command == "check" else _generate(args)
    except StructgenError as e:
        print(f"structgen: error: {_message(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("structgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.command == "check":
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2, allow_nan=False)
    elif args.json:
        json.dump(out.to_dict(), sys.stdout, ensure_ascii=False, allow_nan=False)
    else:
        sys.stdout.write(out.text)
    sys.stdout.write("\n")
    if args.command == "generate" and not args.json and not out.valid:
        print(f"structgen: output not valid: {out.reason}", file=sys.stderr)
        return EXIT_NOT_VALID
    return 0


def _message(error: StructgenError) -> str:
    """The error's message on one line; an argument's library name becomes its option (top_p: --top-p)."""
    text = " ".join(str(error).splitlines())
    if isinstance(error, InvalidArgumentError):
        option = "--" + error.name.replace("_", "-")
        text = f"argument {option}: " + text.removeprefix(f"{error.name}: ")
    elif isinstance(error, ModelLoadError):
        text = f"argument --model: {text}"
    elif isinstance(error, CompileBudgetError) and error.budget in _BUDGET_OPTIONS:
        text += f" (on the command line: {_BUDGET_OPTIONS[error.budget]})"
    return text


if __name__ == "__main__":
    sys.exit(main())
