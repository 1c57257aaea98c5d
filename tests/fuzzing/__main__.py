"""The long fuzzing campaign (`make fuzz`): random schemas, texts, walks, patterns and grammars.

    python -m tests.fuzzing --schemas 10000 --instances 100000 --patterns 2000 --seed 0
    python -m tests.fuzzing --schemas 5000 --patterns 0 --random-grammars 0 --tight-one-of --seed 1

Prints progress to stderr and, at the end, the table: inputs, unsound,
crashes, inconsistencies, valid instances refused by cause, compile
refusals by error class. Every failure is shrunk to a minimal reproduction
and written, with its seed, to `<out>/findings.jsonl` (default build/fuzz-results/). Exit status 1 when
anything unsound, crashing or inconsistent was found.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import resource
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from structgen.warmup import ensure

from .checks import Finding, Slow, Tally, check_grammar, check_random_grammar, check_regex, check_schema
from .grammars import CHARS as GRAMMAR_CHARS
from .grammars import gbnf, grammars
from .minimize import keywords, shrink_schema
from .regexes import patterns, strings
from .schemas import schemas
from .texts import json_values
from .vocabularies import byte_vocabulary, smollm2_vocabulary


def _alarm(seconds: float):
    def handler(signum, frame):
        raise Slow()

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm():
    signal.setitimer(signal.ITIMER_REAL, 0)


def _campaign_settings(n: int, s: int):
    def wrap(f):
        return seed(s)(settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
                                suppress_health_check=list(HealthCheck))(f))
    return wrap


class Progress:
    def __init__(self, what: str, total: int, every_s: float = 30.0):
        self.what, self.total, self.every_s = what, total, every_s
        self.done, self.t0, self.last = 0, time.time(), time.time()

    def step(self, tally: Tally) -> None:
        self.done += 1
        now = time.time()
        if now - self.last >= self.every_s or self.done == self.total:
            self.last = now
            bad = Counter(f.kind for f in tally.failures())
            print(f"[{now - self.t0:7.0f}s] {self.what} {self.done}/{self.total} texts={tally.counts['texts']} "
                  f"walks={tally.counts['walks']} unsound={bad['unsound']} crashes={bad['crash']} "
                  f"inconsistent={bad['inconsistent']}", file=sys.stderr, flush=True)


def run_schemas(args, vocab, tally: Tally) -> None:
    per_schema = max(1, args.instances // max(1, args.schemas) // 6)
    progress = Progress("schemas", args.schemas)

    @_campaign_settings(args.schemas, args.seed)
    @given(schema=schemas(), values=st.lists(json_values(), min_size=1, max_size=per_schema),
           rng_seed=st.integers(0, 2**32 - 1), flexible=st.integers(0, 9))
    def one(schema, values, rng_seed, flexible):
        whitespace = "flexible" if flexible == 0 else "compact"
        _guarded(args, tally, progress, schema, rng_seed, lambda: check_schema(
            schema, values, vocab, random.Random(rng_seed), tally, whitespace=whitespace, walks=args.walks,
            seed=(args.seed, rng_seed)))

    one()


def _guarded(args, tally: Tally, progress: Progress, subject, rng_seed, check) -> None:
    """Run one check under the time limit, with the input in `<out>/current.json` (what to look at when
    a run hangs or dies); an input over the limit is tallied as slow."""
    Path(args.out, "current.json").write_text(json.dumps(subject, ensure_ascii=False))
    _alarm(args.time_limit)
    try:
        check()
    except Slow:
        tally.counts["inputs over the time limit"] += 1
        tally.findings.append(Finding("slow", "over the time limit", subject, None, (args.seed, rng_seed)))
    finally:
        _disarm()
    progress.step(tally)


def run_patterns(args, vocab, tally: Tally) -> None:
    progress = Progress("patterns", args.patterns)

    @_campaign_settings(args.patterns, args.seed)
    @given(data=st.data(), rng_seed=st.integers(0, 2**32 - 1))
    def one(data, rng_seed):
        pattern = data.draw(patterns())
        texts = data.draw(st.lists(strings(pattern), max_size=20))
        _guarded(args, tally, progress, pattern, rng_seed, lambda: check_regex(
            pattern, texts, vocab, random.Random(rng_seed), tally, seed=(args.seed, rng_seed)))

    one()


def run_random_grammars(args, vocab, tally: Tally) -> None:
    progress = Progress("random grammars", args.random_grammars)

    @_campaign_settings(args.random_grammars, args.seed)
    @given(rules=grammars(), texts=st.lists(st.text(st.sampled_from(GRAMMAR_CHARS), max_size=6), max_size=15),
           rng_seed=st.integers(0, 2**32 - 1))
    def one(rules, texts, rng_seed):
        _guarded(args, tally, progress, gbnf(rules), rng_seed, lambda: check_random_grammar(
            rules, texts, vocab, random.Random(rng_seed), tally, seed=(args.seed, rng_seed)))

    one()


def run_grammars(args, vocab, tally: Tally) -> None:
    from tests.test_grammar_corpora import SYNTAX_JUDGES, load

    rng = random.Random(args.seed)
    for name, judge in SYNTAX_JUDGES.items():
        check_grammar(name, load(name), judge, vocab, rng, tally, walks=args.grammar_walks, seed=args.seed)


def minimal(finding, vocab):
    """Shrink a finding's schema while the same kind of failure persists."""
    import structgen
    from structgen.errors import StructgenError

    from .judge import Judge

    if not isinstance(finding.subject, (dict, bool)) or finding.kind == "slow":
        return finding.subject
    ws = finding.options.get("whitespace", "compact")
    text = finding.text

    def compiled(schema):
        return structgen.compile_json_schema(schema, vocab, whitespace=ws)

    if finding.kind == "unsound" and text is not None:
        def fails(schema):
            return compiled(schema).accepts_text(text) and Judge(schema).verdict(text) is not None
    elif finding.kind == "refused":
        def fails(schema):
            return not compiled(schema).accepts_text(text) and Judge(schema).verdict(text) is None
    elif finding.kind == "crash":
        name = finding.cause.split(":")[0]

        def fails(schema):
            try:
                compiled(schema)
            except StructgenError:
                return False
            except Exception as e:  # noqa: BLE001
                return type(e).__name__ == name
            return False
    else:
        return finding.subject
    return shrink_schema(finding.subject, fails)


def report(tally: Tally, vocab, args, elapsed: float) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    by_kind: dict = {}
    for f in tally.findings:
        by_kind.setdefault(f.kind, []).append(f)
    refused_causes: Counter = Counter()
    lines = []
    with open(out / "findings.jsonl", "w") as fh:
        for kind, fs in sorted(by_kind.items()):
            # One shrink per failure template (the cause with its numbers and instance blanked out), up
            # to the budget; the rest of a template are counted with its first reproduction.
            budget = args.shrink_refused if kind == "refused" else args.shrink
            distinct: dict = {}
            shrunk_for: dict = {}
            for f in fs:
                template = _template(f)
                if template in shrunk_for:
                    small = shrunk_for[template]
                else:
                    shrink = budget > 0 and (kind != "refused" or f.cause == "other")
                    small = minimal(f, vocab) if shrink else f.subject
                    budget -= shrink
                    if shrink:
                        shrunk_for[template] = small
                        if kind == "refused" and isinstance(small, (dict, bool)):
                            refused_causes[" ".join(keywords(small)) or "(empty schema)"] += 1
                distinct.setdefault(json.dumps(small, sort_keys=True, ensure_ascii=False), (small, []))[1].append(f)
            for small, group in distinct.values():
                f = min(group, key=lambda g: len(g.text or b""))
                record = {"kind": f.kind, "cause": f.cause, "minimal": small, "text": _text(f.text), "count": len(group),
                          "original": f.subject, "seed": f.seed, "options": f.options}
                fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                if kind != "refused":
                    lines.append(f"  {kind} x{len(group)}: {json.dumps(small, ensure_ascii=False)[:200]}  "
                                 f"text={_text(f.text)!r}  -> {f.cause[:160]}")
    bad = Counter(f.kind for f in tally.findings)
    tight = ", tight oneOf budgets" if args.tight_one_of else ""
    print(f"\nfuzzing campaign: seed {args.seed}, vocabulary {args.vocab}{tight}, {elapsed:.0f} s")
    print(f"command: python -m tests.fuzzing {' '.join(sys.argv[1:])}")
    print("| inputs | count |\n|---|---|")
    for k, v in sorted(tally.counts.items()):
        print(f"| {k} | {v} |")
    print("\n| outcome | count |\n|---|---|")
    for k in ("unsound", "crash", "inconsistent", "slow", "refused"):
        print(f"| {k} | {bad[k]} |")
    print("\n| valid refused, by cause (cheap label) | count |\n|---|---|")
    for k, v in tally.refused.most_common():
        print(f"| {k} | {v} |")
    if refused_causes:
        print("\n| valid refused, by keywords of the shrunk schema (first ones) | count |\n|---|---|")
        for k, v in refused_causes.most_common(25):
            print(f"| {k} | {v} |")
    print("\n| compile refusals, by error class | count |\n|---|---|")
    for k, v in tally.compile_refused.most_common():
        print(f"| {k} | {v} |")
    print("\ndistinct minimal reproductions (all in findings.jsonl):")
    print("\n".join(lines) if lines else "  none")
    return 1 if tally.failures() else 0


def _template(f) -> str:
    """What kind of failure this is, without the instance: the judge's message minus values and numbers."""
    cause = re.sub(r"^(walk: )?judge \((float|exact) value\): .*? (is|does|should|was|has) ", r"judge: \3 ", f.cause)
    cause = re.sub(r"Fraction\([^)]*\)|-?\d[\d.eE+-]*", "#", cause)
    shape = " ".join(keywords(f.subject)) if isinstance(f.subject, (dict, bool)) else ""
    return f"{f.kind}|{cause}|{shape}"


def _text(b):
    return None if b is None else b.decode("utf-8", "backslashreplace")


@contextlib.contextmanager
def _one_of_budgets(budgets: tuple[int, int] | None):
    """`exclusive`'s (check states, negated combinations) set to `budgets` while the campaign runs."""
    from structgen.schema import exclusive

    saved = exclusive.MAX_ONE_OF_CHECK_STATES, exclusive.MAX_NEGATED_COMBINATIONS
    if budgets is not None:
        exclusive.MAX_ONE_OF_CHECK_STATES, exclusive.MAX_NEGATED_COMBINATIONS = budgets
    try:
        yield
    finally:
        exclusive.MAX_ONE_OF_CHECK_STATES, exclusive.MAX_NEGATED_COMBINATIONS = saved


#: (check states, negated combinations) under --tight-one-of: a canonical free-form value alone
#: passes 60 states, and one negated combination leaves out every oneOf that needs two.
TIGHT_ONE_OF = (60, 1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzzing", description=__doc__.split("\n")[0])
    p.add_argument("--schemas", type=int, default=10_000, help="random JSON Schemas (default 10,000)")
    p.add_argument("--instances", type=int, default=100_000, help="about this many texts in all")
    p.add_argument("--patterns", type=int, default=2_000,
                   help="random ECMA-262 patterns matched against regress (default 2,000)")
    p.add_argument("--random-grammars", type=int, default=1_000, help="random GBNF grammars against Earley")
    p.add_argument("--grammar-walks", type=int, default=200, help="walks per shipped grammar (0: none)")
    p.add_argument("--walks", type=int, default=3, help="mask walks per schema")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice; a run is reproducible")
    p.add_argument("--vocab", choices=["bytes", "smollm2"], default="bytes",
                   help="vocabulary of the compiled constraints: the 256 single bytes (default) or SmolLM2's tokens")
    p.add_argument("--time-limit", type=float, default=20.0, help="seconds per input before it counts as slow")
    p.add_argument("--shrink", type=int, default=60, help="findings shrunk per kind of failure")
    p.add_argument("--shrink-refused", type=int, default=40, help="refusals labelled 'other' shrunk to name their keywords")
    p.add_argument("--out", default="build/fuzz-results",
                   help="folder for the report and findings.jsonl (default build/fuzz-results)")
    p.add_argument("--memory-gb", type=float, default=3.0,
                   help="address-space limit: unbounded work ends as MemoryError (a crash) instead of the OOM killer")
    p.add_argument("--tight-one-of", action="store_true",
                   help="shrink the oneOf budgets so that most overlapping oneOfs take the fallback that keeps a "
                        "subset the summaries prove exclusive (structgen/schema/parting.py), which the usual budgets "
                        "leave to the few schemas past them")
    args = p.parse_args(argv)
    limit = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    vocab = smollm2_vocabulary() if args.vocab == "smollm2" else byte_vocabulary()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    ensure()  # the kernels' first compilation (tens of seconds with a cold numba cache) is no input's time
    tally, t0 = Tally(), time.time()
    with _one_of_budgets(TIGHT_ONE_OF if args.tight_one_of else None):
        try:
            if args.schemas:
                run_schemas(args, vocab, tally)
            if args.patterns:
                run_patterns(args, vocab, tally)
            if args.random_grammars:
                run_random_grammars(args, vocab, tally)
            if args.grammar_walks:
                run_grammars(args, vocab, tally)
        except KeyboardInterrupt:
            print("interrupted: reporting what ran", file=sys.stderr)
        return report(tally, vocab, args, time.time() - t0)


if __name__ == "__main__":
    sys.exit(main())
