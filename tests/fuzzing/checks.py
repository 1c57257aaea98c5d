"""One differential check per input: compile, walk the masks, judge every accepted text.

Outcomes are tallied rather than raised, so that one run reports every kind
of failure with counts (the pytest wrappers then assert that the failure
lists are empty):

* *unsound*: the constraint accepts a text (or a mask walk finishes one)
  that the judge rejects, as a float value or as an exact value;
* *crash*: any exception that is not a `StructgenError`;
* *inconsistent*: `mask`, `advance` and `is_accepting` disagree, or a walk
  ends in text that `accepts_text` refuses;
* *refused*: a valid instance, written in the engine's output form, that
  the constraint refuses (coverage, by cause), and compile refusals by
  error class.
"""

from __future__ import annotations

import random
import traceback
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

import structgen
from structgen.errors import StructgenError

from .judge import Judge, parse
from .texts import compact, mutations, spellings


class Slow(BaseException):
    """Raised by the runner's alarm: an input took longer than its time limit (not a failure)."""


@dataclass
class Finding:
    kind: str  # "unsound" | "crash" | "inconsistent" | "refused"
    cause: str  # one line: the judge's reason, the exception, the disagreement
    subject: object  # the schema, pattern or grammar name
    text: bytes | None = None
    seed: object = None
    options: dict = field(default_factory=dict)

    def key(self) -> tuple:
        return self.kind, self.cause.split(":")[0]


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)  # valid instances refused, by cause
    compile_refused: Counter = field(default_factory=Counter)  # by error class
    findings: list[Finding] = field(default_factory=list)

    def failures(self, *kinds: str) -> list[Finding]:
        kinds = kinds or ("unsound", "crash", "inconsistent")
        return [f for f in self.findings if f.kind in kinds]

    def merge(self, other: "Tally") -> None:
        self.counts.update(other.counts)
        self.refused.update(other.refused)
        self.compile_refused.update(other.compile_refused)
        self.findings += other.findings


def crash_cause(e: BaseException) -> str:
    frame = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    where = f" ({frame.filename.rsplit('/', 2)[-2:][-1]}:{frame.lineno})" if frame else ""
    return f"{type(e).__name__}: {str(e)[:120]}{where}"


def compile_or_tally(tally: Tally, subject, make, seed=None, options=None):
    """`make()`, or None after tallying a named refusal or a crash."""
    try:
        return make()
    except StructgenError as e:
        tally.compile_refused[type(e).__name__] += 1
    except Exception as e:  # noqa: BLE001 - anything else is the crash we are looking for
        tally.findings.append(Finding("crash", crash_cause(e), subject, None, seed, options or {}))
    return None


def walk(constraint, rng: random.Random, *, max_tokens: int = 60, p_stop: float = 0.3,
         probe: int = 24) -> tuple[bytes | None, list[str]]:
    """A random walk of the masks from `start()`; returns (text or None when unfinished, disagreements).

    At every step `probe` random token ids (and the chosen one) are checked:
    `advance` is not None exactly where the mask allows, and `is_accepting`
    agrees with the mask's end-of-sequence entries.
    """
    vocab = constraint.vocab
    eos = sorted(vocab.eos_token_ids)
    n = len(vocab.tokens)
    state, out, problems = constraint.start(), [], []
    for _ in range(max_tokens):
        mask = constraint.mask(state)
        accepting = constraint.is_accepting(state)
        if accepting != bool(mask[eos].any()):
            problems.append(f"is_accepting={accepting} but mask[eos]={bool(mask[eos].any())}")
        for t in rng.sample(range(n), min(probe, n)):
            allowed = constraint.advance(state, t) is not None
            if allowed != bool(mask[t]):
                problems.append(f"token {t} ({vocab.tokens[t]!r}): mask {bool(mask[t])}, advance {allowed}")
        choices = np.flatnonzero(mask)
        choices = choices[~np.isin(choices, eos)]
        if accepting and (len(choices) == 0 or rng.random() < p_stop):
            text = b"".join(out)
            if not constraint.accepts_text(text):
                problems.append(f"walk ended in an accepting state but accepts_text refuses {text!r}")
            return text, problems
        if len(choices) == 0:
            problems.append(f"dead end after {b''.join(out)!r}: no token allowed and not accepting")
            return None, problems
        t = int(choices[rng.randrange(len(choices))])
        state = constraint.advance(state, t)
        if state is None:
            problems.append(f"mask allows token {t} ({vocab.tokens[t]!r}) but advance refuses it")
            return None, problems
        out.append(vocab.tokens[t])
    return None, problems


def check_schema(schema, values: list, vocab, rng: random.Random, tally: Tally, *, whitespace: str = "compact",
                 walks: int = 3, n_spellings: int = 4, n_mutations: int = 4, seed=None) -> None:
    """Compile `schema`, walk its masks, and judge every spelling of `values`, of walk outputs and of their
    neighbours. Everything goes into `tally`."""
    options = {"whitespace": whitespace}
    tally.counts["schemas"] += 1
    try:
        judge = Judge(schema)
    except Exception:  # noqa: BLE001 - a schema the judge cannot read is not the engine's problem
        tally.counts["schemas the judge cannot read"] += 1
        return
    c = compile_or_tally(tally, schema, lambda: structgen.compile_json_schema(schema, vocab, whitespace=whitespace),
                         seed, options)
    if c is None:
        return
    tally.counts["schemas compiled"] += 1

    def fail(kind, cause, text):
        tally.findings.append(Finding(kind, cause[:300], schema, text, seed, options))

    values = [v for v in values if _finite(v)]  # the literal pools hold NaN and Infinity for schemas only
    try:
        for _ in range(walks):
            text, problems = walk(c, rng)
            tally.counts["walks"] += 1
            for p in problems[:1]:
                fail("inconsistent", p, text)
            if text is None:
                tally.counts["walks unfinished"] += 1
                continue
            verdict = judge.verdict(text)
            if verdict:
                fail("unsound", "walk: " + verdict, text)
            elif _finite(parse(text)):
                values.append(parse(text))
        values += [m for v in values for m in mutations(v, rng, n_mutations) if _finite(m)]
        for value in values:
            texts = spellings(value, rng, n_spellings)
            for i, text in enumerate(texts):
                tally.counts["texts"] += 1
                if c.accepts_text(text):
                    tally.counts["texts accepted"] += 1
                    verdict = judge.verdict(text)
                    if verdict:
                        fail("unsound", verdict, text)
                elif i == 0 and judge.verdict(text) is None:
                    cause = refusal_cause(c, value)
                    tally.counts["valid compact refused"] += 1
                    tally.refused[cause] += 1
                    fail("refused", cause, text)
            if judge.verdict(texts[0]) is None:
                tally.counts["valid values"] += 1
    except (Slow, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001
        fail("crash", crash_cause(e), None)


def refusal_cause(constraint, value) -> str:
    """A first label for a refused valid instance: which rewrite of the same value the engine accepts.

    The runner refines the rest by shrinking the schema ("other" below).
    """
    if _depth(value) > 3:
        noted = any("depth" in n for n in constraint.info.notes)
        return "free-form nesting bound" + ("" if noted else " (not in info.notes)")
    as_ints = _rewrite(value, ints=True)
    if as_ints != compact(value) and constraint.accepts_text(as_ints):
        return "integer-valued number written as N.0"
    for reverse in (False, True):
        if constraint.accepts_text(_rewrite(value, sort=True, reverse=reverse)):
            return "key order"
    return "other"


def _rewrite(value, *, ints=False, sort=False, reverse=False) -> bytes:
    def go(v):
        if isinstance(v, dict):
            items = sorted(v.items(), reverse=reverse) if sort else v.items()
            return {k: go(x) for k, x in items}
        if isinstance(v, list):
            return [go(x) for x in v]
        if ints and isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    return compact(go(value))


def _finite(v) -> bool:
    try:
        compact(v)
        return True
    except ValueError:
        return False


def _depth(v) -> int:
    if isinstance(v, dict):
        return 1 + max(map(_depth, v.values()), default=0)
    if isinstance(v, list):
        return 1 + max(map(_depth, v), default=0)
    return 0



def check_regex(pattern: str, strings: list[str], vocab, rng: random.Random, tally: Tally, *, walks: int = 2,
                seed=None) -> None:
    """The pattern's automaton against `regress` full matches, on `strings` and on mask-walk outputs."""
    from structgen.compile import regex_automaton
    from structgen.constraint import Constraint
    from structgen.judge import JudgeRegexError, ecma_fullmatch

    tally.counts["patterns"] += 1
    try:
        ecma_fullmatch(pattern, "")
    except JudgeRegexError:  # not ECMA-262 either: nothing to compare
        tally.counts["patterns the judge cannot read"] += 1
        return

    def fail(kind, cause, text):
        tally.findings.append(Finding(kind, cause[:300], pattern, text, seed))

    empty = False
    try:
        dfa = regex_automaton(pattern)
    except structgen.UnsatisfiableSchemaError:
        dfa, empty = None, True
    except StructgenError as e:
        tally.compile_refused[type(e).__name__] += 1
        return
    except Exception as e:  # noqa: BLE001
        fail("crash", crash_cause(e), None)
        return
    tally.counts["patterns compiled"] += 1
    try:
        for s in strings:
            tally.counts["strings"] += 1
            engine = not empty and dfa.matches(s.encode())
            judge = ecma_fullmatch(pattern, s)
            if engine and not judge:
                fail("unsound", "engine matches, regress does not", s.encode())
            elif judge and not engine:
                tally.refused["regex: regress matches, engine does not"] += 1
                fail("refused", "regex: regress matches, engine does not" + (" (refused as empty)" if empty else ""),
                     s.encode())
        if empty:
            return
        c = Constraint(dfa, vocab, source=pattern)
        for _ in range(walks):
            text, problems = walk(c, rng)
            tally.counts["walks"] += 1
            for p in problems[:1]:
                fail("inconsistent", p, text)
            if text is not None:
                try:
                    ok = ecma_fullmatch(pattern, text.decode("utf-8"))
                except UnicodeDecodeError:
                    ok = False
                if not ok:
                    fail("unsound", "walk output: regress does not match", text)
    except (Slow, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001
        fail("crash", crash_cause(e), None)


def check_grammar(name: str, grammar, judge, vocab, rng: random.Random, tally: Tally, *, walks: int = 5,
                  seed=None) -> None:
    """Mask walks of a grammar (GBNF text or parsed); every finished output must satisfy its independent `judge`."""
    tally.counts["grammars"] += 1
    c = compile_or_tally(tally, name, lambda: structgen.compile_grammar(grammar, vocab), seed)
    if c is None:
        return
    try:
        for _ in range(walks):
            out, problems = walk(c, rng, max_tokens=80, p_stop=0.5)
            tally.counts["walks"] += 1
            for p in problems[:1]:
                tally.findings.append(Finding("inconsistent", p[:300], name, out, seed))
            if out is not None:
                try:
                    ok = judge(out.decode("utf-8"))
                except UnicodeDecodeError:
                    ok = False
                if not ok:
                    tally.findings.append(Finding("unsound", "grammar walk output refused by the judge", name, out,
                                                  seed))
    except (Slow, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001
        tally.findings.append(Finding("crash", crash_cause(e), name, None, seed))


def check_random_grammar(rules, strings: list[str], vocab, rng: random.Random, tally: Tally, *, walks: int = 3,
                         seed=None) -> None:
    """A random grammar against the Earley recognizer: on `strings` (both ways) and on mask-walk outputs."""
    from .grammars import Earley, gbnf

    text = gbnf(rules)
    tally.counts["random grammars"] += 1
    c = compile_or_tally(tally, text, lambda: structgen.compile_grammar(text, vocab), seed)
    if c is None:
        return
    tally.counts["random grammars compiled"] += 1
    earley = Earley(rules)

    def fail(kind, cause, data):
        tally.findings.append(Finding(kind, cause, text, data, seed))

    try:
        for s in strings:
            tally.counts["grammar strings"] += 1
            engine, judge = c.accepts_text(s.encode()), earley.recognizes(s)
            if engine and not judge:
                fail("unsound", "grammar: engine accepts, Earley does not", s.encode())
            elif judge and not engine:
                tally.refused["grammar: Earley accepts, engine does not"] += 1
                fail("refused", "grammar: Earley accepts, engine does not", s.encode())
        for _ in range(walks):
            out, problems = walk(c, rng, max_tokens=40, p_stop=0.4)
            tally.counts["walks"] += 1
            for p in problems[:1]:
                fail("inconsistent", p[:300], out)
            if out is not None and not earley.recognizes(out.decode("utf-8", "replace")):
                fail("unsound", "grammar walk output: Earley does not recognise it", out)
    except (Slow, KeyboardInterrupt):
        raise
    except StructgenError as e:  # a named refusal during the walk (too ambiguous): no crash
        tally.refused[f"grammar walk: {type(e).__name__}"] += 1
    except Exception as e:  # noqa: BLE001
        fail("crash", crash_cause(e), None)
