"""The LLM-free mask check: judge-labelled instances of each schema, fed token by token to each engine.

Why: a generation shows only what one model happened to write. Feeding texts whose validity the
judge (`jsonschema`, format checking on) decides shows directly whether an engine's masks refuse
valid output (a completeness gap) or let invalid output through (a soundness gap), with no model.

Valid instances come from hypothesis-jsonschema (fixed seed, bounded time), invalid ones are
one-step mutants of them (`invalid_mutants`); all are in the output form and kept only when the
tokenizer spells them exactly. They are made once per schema and stored, so every engine sees the
same texts and an interrupted check resumes.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from typing import Any, Callable

from jsonschemabench.instances import dumps, ecma_validator_for, invalid_mutants, output_form, validator_for

POOL_FACTOR = 3
"""Values drawn per valid instance kept: hypothesis starts with minimal values, and some draws are
left out (judge, tokenizer), so a larger pool, sampled evenly, keeps richer ones too."""
EXAMPLES_KEPT = 3
"""Texts an engine got wrong, kept per record so a reader can see what went wrong."""


class _Stop(Exception):
    """Ends hypothesis's loop once enough values are drawn or the time budget is spent."""


def draw_values(schema: Any, count: int, seed: int, budget_s: float) -> tuple[list[Any], str | None]:
    """Up to `count` distinct values from hypothesis-jsonschema, in drawing order; with why drawing stopped
    early (None when it did not)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from .instances import from_schema

    drawn: dict[str, Any] = {}
    deadline = time.monotonic() + budget_s
    out_of_time = False

    @fixed_seed(seed)
    @settings(max_examples=10 * count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(from_schema(schema))
    def collect(value):
        nonlocal out_of_time
        if len(drawn) >= count:
            raise _Stop
        if time.monotonic() > deadline:
            out_of_time = True
            raise _Stop
        drawn.setdefault(dumps(value), value)

    reason = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            collect()
        except _Stop:
            pass
        except Exception as error:  # noqa: BLE001 - hypothesis-jsonschema's many ways of not handling a schema
            reason = f"{type(error).__name__}: {error}"[:500]
    if out_of_time:
        reason = f"time budget of {budget_s:g} s spent after {len(drawn)} values"
    return list(drawn.values()), reason


def spread(items: list, count: int) -> list:
    """`count` items evenly spaced over `items` (first and last included): simple and rich values alike."""
    if len(items) <= count:
        return items
    step = (len(items) - 1) / max(1, count - 1)
    return [items[round(i * step)] for i in range(count)]


def labelled_instances(schema: Any, count: int, seed: int, budget_s: float,
                       spells_exactly: Callable[[str], bool]) -> dict:
    """Up to `count` valid and `count` invalid texts of `schema`, judge-labelled, in the output form.

    Valid means valid for the judge and also under ECMA-262 `\\d`/`\\w` in patterns (an engine that
    follows the spec may rightly refuse Python-only digits). The valid ones are spread over a pool of
    POOL_FACTOR * count draws. `dropped` counts what was left out, and why.
    """
    values, reason = draw_values(schema, POOL_FACTOR * count, seed, budget_s)
    dropped: Counter[str] = Counter()
    judge, ecma_judge = validator_for(schema), ecma_validator_for(schema)
    kept: list[tuple[str, Any]] = []
    for value in values:
        try:
            form = output_form(value, schema)
            ok = judge.is_valid(form) and ecma_judge.is_valid(form)
        except Exception:  # noqa: BLE001 - e.g. an unresolvable $ref the judge cannot follow
            dropped["judge_error"] += 1
            continue
        if not ok:
            dropped["judge_invalid"] += 1
            continue
        text = dumps(form)
        if not spells_exactly(text):
            dropped["untokenizable"] += 1
            continue
        kept.append((text, form))
    kept = spread(kept, count)
    invalid = _invalid_texts([form for _, form in kept], schema, count, seed, spells_exactly, dropped)
    return {"valid": [text for text, _ in kept], "invalid": invalid, "drawn": len(values), "dropped": dict(dropped),
            "reason": reason}


def _invalid_texts(values: list[Any], schema: Any, count: int, seed: int,
                   spells_exactly: Callable[[str], bool], dropped: Counter) -> list[dict]:
    """Up to `count` distinct mutants, taken round-robin over the valid values so each contributes;
    invalid for both judges (an instance only Python's Unicode-aware `\\D`/`\\W` rejects is no test)."""
    ecma_judge = ecma_validator_for(schema)
    per_value = []
    for i, value in enumerate(values):
        try:
            per_value.append(invalid_mutants(value, schema, n=count, seed=seed + i))
        except Exception:  # noqa: BLE001 - the judge failing on a mutant's subschema
            dropped["mutant_error"] += 1
    out: list[dict] = []
    seen: set[str] = set()
    for rank in range(count):
        for mutants in per_value:
            if rank >= len(mutants) or len(out) >= count:
                continue
            keyword, mutant = mutants[rank]
            text = dumps(mutant)
            if text in seen:
                continue
            seen.add(text)
            if ecma_judge.is_valid(mutant):
                dropped["ecma_valid"] += 1
                continue
            if not spells_exactly(text):
                dropped["untokenizable"] += 1
                continue
            out.append({"text": text, "keyword": keyword})
    return out


# --- records --------------------------------------------------------------------------------------


def finish_instances(base: dict, messages: list[dict], failure: str | None) -> dict:
    """The instance record of one schema; `status` is "ok" when there is at least one instance to check."""
    record = dict(base)
    if not messages:
        timed_out = bool(failure and failure.startswith("timeout"))
        record.update(status="timeout" if timed_out else "crash", valid=[], invalid=[], dropped={},
                      reason=failure)
        return record
    record.update(messages[0])
    record["status"] = "ok" if record["valid"] or record["invalid"] else "no_instances"
    if record["status"] != "ok" and not record.get("reason"):
        record["reason"] = f"no instance kept (dropped: {record['dropped'] or 'none drawn'})"
    return record


def finish_maskcheck(base: dict, messages: list[dict], failure: str | None) -> dict:
    """The record of one engine on one schema's instances: counts of valid rejected and invalid accepted."""
    record = dict(base)
    texts, keywords = record.pop("texts"), record.pop("keywords")  # keyword None: a valid instance
    record.update(valid_total=sum(k is None for k in keywords), invalid_total=sum(k is not None for k in keywords),
                  valid_rejected=None, invalid_accepted=None)
    timed_out = bool(failure and failure.startswith("timeout"))
    if not messages:
        record.update(status="compile_timeout" if timed_out else "crash", compiled=False, error=failure)
        return record
    record["compile_s"] = messages[0]["compile_s"]
    if messages[0]["error"]:
        record.update(status="compile_error", compiled=False, error=messages[0]["error"])
        return record
    if len(messages) < 2:
        record.update(status="check_timeout" if timed_out else "crash", compiled=True, error=failure)
        return record
    results = messages[1]["results"]
    checked = [(k, r) for k, r in zip(keywords, results) if r["accepted"] is not None]
    record.update(valid_total=sum(k is None for k, _ in checked), invalid_total=sum(k is not None for k, _ in checked))
    valid_rejected = [(t, r) for t, k, r in zip(texts, keywords, results) if k is None and r["accepted"] is False]
    invalid_accepted = [(t, k) for t, k, r in zip(texts, keywords, results) if k is not None and r["accepted"]]
    record.update(
        status="ok", compiled=True, valid_rejected=len(valid_rejected), invalid_accepted=len(invalid_accepted),
        untokenizable=sum(r["accepted"] is None for r in results),
        invalid_accepted_keywords=dict(Counter(k for _, k in invalid_accepted)),
        examples={
            "valid_rejected": [{"text": t, "refused_at_byte": r.get("refused_at_byte")}
                               for t, r in valid_rejected[:EXAMPLES_KEPT]],
            "invalid_accepted": [{"text": t, "keyword": k} for t, k in invalid_accepted[:EXAMPLES_KEPT]],
        },
    )
    return record
