"""structgen-smc:N beside genlm-control's AWRS-SMC, in one process: same model, prompts, schemas, N.

    make genlm     # .venv-genlm: genlm-control 0.4.1 beside structgen (genlm needs its own environment)
    nice .venv-genlm/bin/python -m bench.genlm_showdown --datasets Glaiveai2K,Github_easy --schemas 8 \\
        --particles 10 --max-tokens 64 --json build/genlm_showdown.json
    nice .venv-genlm/bin/python -m bench.genlm_showdown --toy     # the toy task of tests/test_smc.py only

Per schema (a seeded sample of the datasets; a schema runs when structgen compiles it, genlm-control
builds its potential for it and the prompt fits the model), with the harness's prompt
(`jsonschemabench.prompts`) and the default model (SmolLM2-135M-Instruct), runs back to back:

- ``unconstrained``: N particles of plain ancestral sampling, one batched model call per step
  (structgen's model wrapper, the one SMC uses): the cost of the model alone;
- ``structgen-smc:N``: `structgen.sample(..., sampler="smc")`, what the harness's `structgen-smc:N` runs,
  with the schema compiled in ``--whitespace`` form;
- ``genlm-smc:N``: genlm-control's `SMC(AWRS(PromptedLLM, JsonSchema(schema).coerce(llm, b"".join)))`,
  the way its documentation composes AWRS-SMC for JSON Schema; the `PromptedLLM` wraps genlm's own
  transformers backend (`AsyncTransformer`, the CPU one) around the *same* torch model object, with the
  prompt's key/value states cached first (`cache_kv`) and batches of N (``batch_size=N``);
- ``genlm-smc:N@structgen-lm``: the same SMC with structgen's model wrapper behind genlm's model
  interface (`structgen_async_lm`), so that both SMCs pay the same model cost and what differs is the
  constraint and the sampler. ``--genlm-models`` picks either or both (default both).

Both SMCs: temperature 1, resampling (multinomial) when the ESS falls below 0.5·N, outputs of at most
``--max-tokens`` tokens before end of sequence (genlm counts the end in its ``max_tokens``, so it gets
one more), the end forced at the budget with its weight. The model's two end ids (<|endoftext|>,
<|im_end|>) end a particle in both. The SMCs take turns going first from one schema to the next, so
that the load of a shared machine falls on all alike; the ratios are the fair numbers, the absolute
rates move with the load.

Output forms. structgen ``flexible``: the schema's JSON with at most 8 bytes of space, tab, LF or CR
around each structural token (``{ } [ ] , :``), none before or after the value. genlm's `JsonSchema`:
a streaming parser of the schema's structure (types, properties, enums, patterns) times a Draft-7
validator run on the prefixes that end in ``}``, ``]`` or ``,``, and on the whole text at the end
(`json.loads` then validation, formats checked); between tokens any run of spaces and newlines, but no
blank line (``\\n\\s*\\n``), no tab, CR or other control byte anywhere, up to two spaces or newlines before
a root array. So both allow flexible whitespace; genlm's is unbounded in length and structgen's bounded.
genlm's vocabulary also keeps the special tokens as text (``<|im_start|>`` may be spelled inside a
string); structgen's allows none of them. ``--whitespace compact`` runs structgen in the harness's
compact form instead (genlm has no compact form).

Measures, per engine: particle-steps/s (a particle-step is one particle extended by one token or ended:
structgen's ``lm_contexts``, genlm's calls of `AWRS.sample` and forced ends; by the wall clock, and by
the CPU time of the process, which leaves out waiting for a core), model time (inside the model's
forward calls), the rest per particle-step, the model's rows per step (distinct contexts computed), constraint checks per drawn token (structgen: `Constraint.advance`
calls of AWRS, which past 64 rejections takes the constraint's mask instead, counted as ``fallbacks``;
genlm: calls of the condition in `AWRS._accept`), and validity: the output (the best finished particle,
as the harness takes it) and every finished particle with a nonzero weight, judged by
`jsonschemabench.decoding.judge_output` (structgen's judge). Model time is mostly where the two
differ on a CPU: genlm's transformers backend keeps key/value states only for what `cache_kv` was given
(the prompt), so each step re-reads every generated token; structgen keeps them per particle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import math
import random
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

ENGINES = ("unconstrained", "structgen-smc", "genlm-smc", "genlm-smc@structgen-lm")
_CHECKS: contextvars.ContextVar[list[int]] = contextvars.ContextVar("genlm_checks")


@dataclass
class Run:
    """One engine on one schema: times in seconds, counts, the output and its verdict."""

    engine: str
    wall_s: float
    cpu_s: float
    lm_s: float
    steps: int
    particle_steps: int
    model_rows: int  # distinct contexts handed to the model (a cached or repeated one counts once per call)
    checks: list[int] = field(default_factory=list)
    fallbacks: int = 0
    finished: int = 0
    finished_valid: int = 0
    output: str | None = None
    valid: bool = False
    log_ml: float | None = None
    error: str | None = None


class _Timed:
    """A callable that adds the seconds spent in ``fn`` to ``seconds``, and ``rows(*args)`` to ``rows``."""

    def __init__(self, fn, rows):
        self.fn = fn
        self.seconds = 0.0
        self._rows = rows
        self.rows = 0

    def __call__(self, *args, **kwargs):
        self.rows += self._rows(*args)
        started = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


class _Clock:
    """Wall and process CPU time of a block."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def _distinct(contexts) -> int:
    return len({tuple(c) for c in contexts})


def _judged(texts: list[bytes], schema: Any) -> list[bool]:
    from jsonschemabench.decoding import judge_output

    return [judge_output(text, schema).valid for text in texts]


# ------------------------------------------------------------------------------------------- structgen


def run_unconstrained(lm, context: list[int], *, particles: int, max_tokens: int, seed: int) -> Run:
    """N particles of ancestral sampling (inverse CDF), all live ones in one model call per step; a
    particle at the budget asks the model once more and ends, as an SMC particle does."""
    rng = np.random.default_rng(seed)
    eos = set(lm.vocabulary.eos_token_ids)
    timed = lm.next_token_logprobs = _Timed(lm.next_token_logprobs, _distinct)
    live: list[list[int]] = [[] for _ in range(particles)]
    steps = particle_steps = 0
    try:
        with _Clock() as clock:
            while live:
                rows = lm.next_token_logprobs([context + tokens for tokens in live])
                steps, particle_steps = steps + 1, particle_steps + len(live)
                going = []
                for tokens, row in zip(live, rows):
                    if len(tokens) >= max_tokens:
                        continue
                    p = np.exp(row)
                    token = min(int(np.searchsorted(np.cumsum(p), rng.random() * p.sum(), side="right")),
                                len(p) - 1)
                    if token not in eos:
                        tokens.append(token)
                        going.append(tokens)
                live = going
    finally:
        del lm.next_token_logprobs
    return Run("unconstrained", clock.wall, clock.cpu, timed.seconds, steps, particle_steps, timed.rows)


def run_structgen(lm, constraint, context: list[int], schema: Any, *, particles: int, max_tokens: int,
                  seed: int) -> Run:
    """structgen's SMC, as the harness's ``structgen-smc:N`` runs it (`structgen.sample`)."""
    from structgen.sampling import sample

    timed = lm.next_token_logprobs = _Timed(lm.next_token_logprobs, _distinct)
    try:
        with _Clock() as clock:
            samples = sample(lm, constraint, list(context), sampler="smc", particles=particles,
                             max_tokens=max_tokens, temperature=1.0, seed=seed)
    finally:
        del lm.next_token_logprobs
    stats = samples.stats
    finished = [p for p in samples.particles if p.finished and p.log_weight > -math.inf]
    verdicts = _judged([p.data for p in finished], schema)
    best = samples.best()
    run = Run("structgen-smc", clock.wall, clock.cpu, timed.seconds, stats["steps"], stats["lm_contexts"],
              timed.rows, list(stats["checks_history"]), stats["fallbacks"], len(finished), sum(verdicts),
              log_ml=_finite(samples.log_ml))
    if best.finished and best.log_weight > -math.inf:
        run.output = best.data.decode("utf-8", errors="replace")
        run.valid = _judged([best.data], schema)[0]
    return run


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ----------------------------------------------------------------------------------------------- genlm


def counting_awrs():
    """genlm-control's `AWRS`, counting the condition's checks per drawn token and the particle-steps.

    The checks of one `sample` call are counted in a context variable: SMC steps its particles as
    concurrent asyncio tasks, each with its own context.
    """
    from genlm.control import AWRS

    class CountingAWRS(AWRS):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.checks: list[int] = []
            self.particle_steps = 0

        async def sample(self, context, draw=None, verbosity=0):
            counter = [0]
            _CHECKS.set(counter)
            result = await super().sample(context, draw, verbosity)
            self.checks.append(counter[0])
            self.particle_steps += 1
            return result

        async def _accept(self, context, token, verbosity=0):
            _CHECKS.get()[0] += 1
            return await super()._accept(context, token, verbosity)

        async def logw_eos(self, context):
            self.particle_steps += 1
            return await super().logw_eos(context)

    return CountingAWRS


def run_genlm_smc(potential, condition, *, particles: int, max_tokens: int, seed: int,
                  ess_threshold: float = 0.5):
    """genlm-control's AWRS-SMC of ``potential`` under the Boolean ``condition``: (Sequences, sampler).

    ``max_tokens`` counts tokens before the end, as structgen's does (genlm's own count includes the
    end). Seeds numpy's global generator too: genlm resamples with it.
    """
    from genlm.control import SMC

    np.random.seed(seed)
    sampler = counting_awrs()(potential, condition, seed=seed)
    sequences = asyncio.run(SMC(sampler)(n_particles=particles, ess_threshold=ess_threshold,
                                         max_tokens=max_tokens + 1))
    return sequences, sampler


def structgen_async_lm(lm):
    """genlm's model interface (`AsyncLM`) over structgen's model wrapper ``lm``, whose key/value cache
    follows each context: a batch of particles is one `next_token_logprobs` call, as in structgen's SMC."""
    import torch
    from genlm.backend.llm.base import AsyncLM

    class StructgenLM(AsyncLM):
        def next_token_logprobs_sync(self, token_ids, lora_name=None):
            return torch.from_numpy(lm.next_token_logprobs([token_ids])[0])

        def batch_next_token_logprobs_sync(self, token_ids_list, lora_name=None):
            return torch.from_numpy(lm.next_token_logprobs(token_ids_list))

        async def next_token_logprobs(self, token_ids, lora_name=None):
            return self.next_token_logprobs_sync(token_ids)

        async def batch_next_token_logprobs(self, token_ids_list, lora_name=None):
            return self.batch_next_token_logprobs_sync(token_ids_list)

        def clear_cache(self):
            lm.clear_cache()

    return StructgenLM(lm.tokenizer)


class GenlmEngine:
    """genlm-control's AWRS-SMC over the same torch model and tokenizer as structgen's ``lm``.

    ``model="hf"`` (engine ``genlm-smc``): genlm's transformers backend, `AsyncTransformer`, in
    batches of N, with the prompt's key/value states cached by its `cache_kv`. ``model="structgen"``
    (engine ``genlm-smc@structgen-lm``): genlm's model interface over structgen's wrapper
    (`structgen_async_lm`), so that both SMCs pay the same model cost and what differs is the
    constraint and the sampler.
    """

    def __init__(self, lm, particles: int, model: str = "hf"):
        from genlm.backend.llm import AsyncTransformer
        from genlm.control import PromptedLLM

        self.lm, self.model = lm, model
        self.name = "genlm-smc" if model == "hf" else "genlm-smc@structgen-lm"
        if model == "hf":
            self.backend = AsyncTransformer(lm.model, lm.tokenizer, batch_size=particles)
        else:
            self.backend = structgen_async_lm(lm)
        ends = [self.backend.byte_vocab[i].byte_string for i in sorted(lm.vocabulary.eos_token_ids)]
        self.llm = PromptedLLM(self.backend, eos_byte_strings=ends)

    def prepare(self, context: list[int]) -> None:
        """The prompt set and, in a fresh cache, its key/value states."""
        self.llm.prompt_ids = list(context)
        self.backend.clear_cache()
        if self.model == "hf":
            self.backend.cache_kv(list(context))
        else:
            self.lm.next_token_logprobs([context])

    def _model_clock(self) -> tuple[Any, str, _Timed]:
        """(object, method name, timer) for the model's forward calls."""
        if self.model == "hf":
            backend = self.backend
            return backend, "batch_evaluate_queries", _Timed(
                backend.batch_evaluate_queries, lambda: _distinct([q.prompt for q in backend.queries]))
        return self.lm, "next_token_logprobs", _Timed(self.lm.next_token_logprobs, _distinct)

    def run(self, schema: Any, *, particles: int, max_tokens: int, seed: int) -> Run:
        import torch
        from genlm.control import JsonSchema

        condition = JsonSchema(schema, validate=False).coerce(self.llm, f=b"".join)  # checked in pick_schemas
        torch.manual_seed(seed)
        owner, method, timed = self._model_clock()
        setattr(owner, method, timed)
        try:
            with _Clock() as clock:
                sequences, sampler = run_genlm_smc(self.llm, condition, particles=particles,
                                                   max_tokens=max_tokens, seed=seed)
        finally:
            delattr(owner, method)
        ends, weights, own = [], [], []
        for context, log_weight in zip(sequences.contexts, sequences.log_weights):
            if log_weight > -math.inf and context and context[-1] is self.llm.eos:
                ends.append(b"".join(context[:-1]))
                weights.append(float(log_weight))
                own.append(len(context) <= max_tokens)  # ended before the budget forced it
        verdicts = _judged(ends, schema)
        run = Run(self.name, clock.wall, clock.cpu, timed.seconds, max(map(len, sequences.contexts)),
                  sampler.particle_steps, timed.rows, list(sampler.checks), 0, len(ends), sum(verdicts),
                  log_ml=_finite(sequences.log_ml))
        if ends:  # the harness's choice (`Samples.best`): the heaviest of those that ended on their own
            pool = [i for i in range(len(ends)) if own[i]] or list(range(len(ends)))
            best = max(pool, key=lambda i: weights[i])
            run.output, run.valid = ends[best].decode("utf-8", errors="replace"), verdicts[best]
        return run


# ------------------------------------------------------------------------------------------- schemas


def pick_schemas(datasets: list[str], count: int, seed: int, vocab, whitespace: str, limit_tokens: int,
                 tokenizer) -> tuple[list[dict], list[dict]]:
    """A seeded sample, alternating between ``datasets``, of schemas both engines take.

    Returns (picked, skipped): picked rows hold the record, structgen's constraint, the prompt and the
    set-up times (structgen's compilation, genlm's `JsonSchema`, which checks the schema against Draft 7);
    skipped rows say why.
    """
    from genlm.control import JsonSchema

    from jsonschemabench.datasets import load_dataset
    from jsonschemabench.prompts import prompt_token_ids
    from structgen.compile import compile_json_schema

    pools = []
    for name in datasets:
        records = load_dataset(name)
        random.Random(seed).shuffle(records)
        pools.append(records)
    picked, skipped = [], []
    position = 0
    while len(picked) < count and any(position < len(pool) for pool in pools):
        for pool in pools:
            if len(picked) == count or position >= len(pool):
                continue
            record = pool[position]
            row = {"id": record.id, "dataset": record.dataset}
            context = prompt_token_ids(tokenizer, record.schema)
            if len(context) > limit_tokens:
                skipped.append({**row, "reason": f"prompt of {len(context)} tokens"})
                continue
            try:
                started = time.perf_counter()
                constraint = compile_json_schema(record.schema, vocab, whitespace=whitespace)
                compile_s = time.perf_counter() - started
            except Exception as error:  # noqa: BLE001 - a schema structgen refuses is not measured
                skipped.append({**row, "reason": f"structgen: {type(error).__name__}: {error}"[:200]})
                continue
            try:
                started = time.perf_counter()
                JsonSchema(record.schema)
                potential_s = time.perf_counter() - started
            except Exception as error:  # noqa: BLE001 - nor one genlm refuses
                skipped.append({**row, "reason": f"genlm: {type(error).__name__}: {error}"[:200]})
                continue
            picked.append({**row, "schema": record.schema, "constraint": constraint, "context": context,
                            "structgen_compile_s": compile_s, "genlm_potential_s": potential_s})
        position += 1
    return picked, skipped


# ------------------------------------------------------------------------------------------- the run


def run(args) -> dict:
    import torch

    import structgen

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers on genlm's past_key_values
    torch.set_num_threads(args.threads)
    lm = structgen.load_model()
    genlms = [GenlmEngine(lm, args.particles, model) for model in args.genlm_models.split(",")]
    limit = getattr(lm.model.config, "max_position_embeddings", 1 << 30) - args.max_tokens - 1
    picked, skipped = pick_schemas(args.datasets.split(","), args.schemas, args.seed, lm.vocabulary,
                                   args.whitespace, limit, lm.tokenizer)
    rows = []
    for index, item in enumerate(picked):
        seed, n, budget = args.seed + index, args.particles, args.max_tokens
        context, schema = item["context"], item["schema"]
        runs: dict[str, Run] = {}

        def structgen_smc():
            lm.clear_cache()
            lm.next_token_logprobs([context])  # the prompt's states cached, outside the clock
            runs["structgen-smc"] = run_structgen(lm, item["constraint"], context, schema, particles=n,
                                                  max_tokens=budget, seed=seed)

        def genlm_smc(genlm):
            genlm.prepare(context)
            try:
                runs[genlm.name] = genlm.run(schema, particles=n, max_tokens=budget, seed=seed)
            except Exception as error:  # noqa: BLE001 - genlm failing on a schema is a result, recorded
                runs[genlm.name] = Run(genlm.name, math.nan, math.nan, math.nan, 0, 0, 0,
                                       error=f"{type(error).__name__}: {error}"[:300])

        lm.clear_cache()
        lm.next_token_logprobs([context])
        runs["unconstrained"] = run_unconstrained(lm, context, particles=n, max_tokens=budget, seed=seed)
        smcs = [("structgen-smc", structgen_smc)] + [(g.name, lambda g=g: genlm_smc(g)) for g in genlms]
        smcs = smcs[index % len(smcs):] + smcs[:index % len(smcs)]  # each SMC goes first in turn
        for _, step in smcs:
            step()
        row = {"id": item["id"], "dataset": item["dataset"], "prompt_tokens": len(context),
               "structgen_compile_s": item["structgen_compile_s"], "genlm_potential_s": item["genlm_potential_s"],
               "order": [name for name, _ in smcs], "runs": {name: asdict(r) for name, r in runs.items()}}
        rows.append(row)
        if not args.quiet:
            print(f"[{index + 1}/{len(picked)}] {item['dataset']} {item['id']}: " + ", ".join(
                f"{name} {_rate(r.particle_steps, r.wall_s):.1f} ps/s valid={r.valid}"
                + (f" error={r.error}" if r.error else "") for name, r in runs.items()), flush=True)
    return {"settings": _settings(args), "versions": _versions(), "skipped": skipped, "rows": rows,
            "summary": summarise(rows, args.particles)}


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds and math.isfinite(seconds) and seconds > 0 else math.nan


def summarise(rows: list[dict], particles: int) -> dict:
    """Pooled over schemas (totals, so long runs weigh more), per engine; and the ratios: structgen-smc's
    particle-steps/s over each genlm engine's, and structgen-smc's time over the unconstrained batch's, per
    step, per particle-step and per model row (a distinct context the model is asked for in a call)."""
    out: dict[str, Any] = {}
    for name in ENGINES:
        runs = [row["runs"][name] for row in rows if name in row["runs"] and not row["runs"][name]["error"]]
        if not runs:
            continue
        wall, cpu, lm_s = (sum(r[k] for r in runs) for k in ("wall_s", "cpu_s", "lm_s"))
        steps, particle_steps = sum(r["steps"] for r in runs), sum(r["particle_steps"] for r in runs)
        rows_ = sum(r["model_rows"] for r in runs)
        checks = np.array([c for r in runs for c in r["checks"]], dtype=np.float64)
        out[name] = {
            "schemas": len(runs),
            "errors": sum(1 for row in rows if row["runs"].get(name, {}).get("error")),
            "particle_steps": particle_steps,
            "particle_steps_per_s": _rate(particle_steps, wall),
            "particle_steps_per_cpu_s": _rate(particle_steps, cpu),
            "ms_per_step": 1e3 * wall / steps if steps else None,
            "model_rows_per_step": rows_ / steps if steps else None,
            "ms_per_model_row": 1e3 * wall / rows_ if rows_ else None,
            "ms_per_particle_step": 1e3 * wall / particle_steps if particle_steps else None,
            "model_ms_per_particle_step": 1e3 * lm_s / particle_steps if particle_steps else None,
            "other_ms_per_particle_step": 1e3 * (wall - lm_s) / particle_steps if particle_steps else None,
            "checks_per_token": ({"mean": float(checks.mean()), "p50": float(np.percentile(checks, 50)),
                                  "p99": float(np.percentile(checks, 99)), "max": int(checks.max()),
                                  "tokens": int(checks.size)} if checks.size else None),
            "fallbacks": sum(r["fallbacks"] for r in runs),
            "valid_outputs": sum(r["valid"] for r in runs),
            "finished_particles": sum(r["finished"] for r in runs),
            "finished_valid": sum(r["finished_valid"] for r in runs),
        }
    ratios = {}
    ours = out.get("structgen-smc")
    for name in ENGINES[2:]:
        if ours and name in out:
            ratios[f"particle-steps/s, structgen-smc over {name}"] = (ours["particle_steps_per_s"]
                                                                      / out[name]["particle_steps_per_s"])
            ratios[f"particle-steps per CPU second, structgen-smc over {name}"] = (
                ours["particle_steps_per_cpu_s"] / out[name]["particle_steps_per_cpu_s"])
    base = out.get("unconstrained")
    if ours and base:
        for unit in ("step", "particle_step", "model_row"):
            ratios[f"time per {unit.replace('_', '-')}, structgen-smc over unconstrained"] = (
                ours[f"ms_per_{unit}"] / base[f"ms_per_{unit}"])
    out["ratios"] = ratios
    out["particles"] = particles
    return out


def _settings(args) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("json", "quiet")}


def _versions() -> dict:
    import importlib.metadata

    names = ("structgen", "genlm-control", "genlm-backend", "torch", "transformers", "numpy")
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def print_summary(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    summary, settings = result["summary"], result["settings"]
    n = summary["particles"]
    table = Table(title=f"N = {n}, at most {settings['max_tokens']} tokens, structgen whitespace "
                        f"{settings['whitespace']}, {len(result['rows'])} schemas (pooled)")
    columns = ("engine", "p-steps/s", "per CPU s", "ms/step", "rows/step", "model ms/p-step", "other ms/p-step",
               "checks mean", "p50", "p99", "max", "mask fallbacks", "valid outputs", "valid finished")
    for column in columns:
        table.add_column(column, justify="left" if column == "engine" else "right", no_wrap=column == "engine")
    for name in ENGINES:
        s = summary.get(name)
        if not s:
            continue
        label = name if name == "unconstrained" else name.replace("-smc", f"-smc:{n}", 1)
        c = s["checks_per_token"]
        checks = [f"{c['mean']:.2f}", f"{c['p50']:.0f}", f"{c['p99']:.0f}", f"{c['max']}"] if c else ["-"] * 4
        table.add_row(label, f"{s['particle_steps_per_s']:.1f}", f"{s['particle_steps_per_cpu_s']:.1f}",
                      f"{s['ms_per_step']:.0f}", f"{s['model_rows_per_step']:.1f}",
                      f"{s['model_ms_per_particle_step']:.1f}", f"{s['other_ms_per_particle_step']:.1f}", *checks,
                      f"{s['fallbacks']}" if name == "structgen-smc" else "-",
                      f"{s['valid_outputs']}/{s['schemas']}" + (f" ({s['errors']} errors)" if s["errors"] else ""),
                      f"{s['finished_valid']}/{s['finished_particles']}" if name != "unconstrained" else "-")
    console = Console(width=180)
    console.print(table)
    for key, value in summary["ratios"].items():
        console.print(f"{key}: {value:.2f}")
    if result["skipped"]:
        console.print(f"skipped {len(result['skipped'])} schemas: "
                      + "; ".join(f"{s['id']} ({s['reason'][:80]})" for s in result["skipped"]))


# ------------------------------------------------------------------------------------------- the toy


def toy_potential(table: dict, tokens: list[bytes], eos: tuple[int, ...], start: int):
    """A genlm-control `Potential` for a bigram table: ``table[prev][t]`` is p(t | prev), ``prev = start``
    at the beginning; the columns follow ``tokens``, the ``eos`` columns adding up to p(end)."""
    from genlm.control import Potential

    words = [tokens[t] for t in range(len(tokens)) if t not in eos]
    index = {word: tokens.index(word) for word in words}

    class Bigram(Potential):
        def _walk(self, context) -> tuple[float, int]:
            log_p, prev = 0.0, start
            for word in context:
                log_p, prev = log_p + math.log(table[prev][index[word]]), index[word]
            return log_p, prev

        async def prefix(self, context):
            return self._walk(context)[0]

        async def complete(self, context):
            log_p, prev = self._walk(context)
            return log_p + math.log(sum(table[prev][e] for e in eos))

    return Bigram(words)


def toy_estimates(engine: str, runs: int, particles: int, max_tokens: int, *, table: dict, tokens: list[bytes],
                  eos: tuple[int, ...], start: int, pattern: str, seed: int = 1000) -> tuple[dict, np.ndarray]:
    """R independent SMC runs on a bigram model under a regex: per text y, the per-run estimates
    (1/N)·Σ w_i·1{y_i = y} (unbiased for p(y EOS)·1[y matches]), and per run exp(log_ml) (unbiased for Z).

    ``engine`` is "structgen-smc" (`structgen.sample` on `compile_regex`) or "genlm-smc" (genlm's AWRS-SMC
    under `BoolFSA.from_regex(pattern).coerce(lm, b"".join)`): each engine with its own regex compiler.
    """
    per_text: dict[str, np.ndarray] = {}
    z_hat = np.zeros(runs)
    if engine == "structgen-smc":
        from structgen.compile import compile_regex
        from structgen.sampling import sample
        from structgen.vocab import Vocabulary

        vocab = Vocabulary(tokens, eos)
        rows = {k: np.log(np.asarray(v, dtype=np.float64)) for k, v in table.items()}

        class Bigram:
            vocabulary = vocab

            def next_token_logprobs(self, contexts):
                return np.stack([rows[c[-1] if c else start] for c in contexts])

        lm, constraint = Bigram(), compile_regex(pattern, vocab)
        for r in range(runs):
            s = sample(lm, constraint, max_tokens=max_tokens, particles=particles, seed=seed + r)
            z_hat[r] = math.exp(s.log_ml)
            for p in s.particles:
                if p.finished and p.log_weight > -math.inf:
                    per_text.setdefault(p.text, np.zeros(runs))[r] += math.exp(p.log_weight) / particles
        return per_text, z_hat
    from genlm.control import BoolFSA

    potential = toy_potential(table, tokens, eos, start)
    condition = BoolFSA.from_regex(pattern).coerce(potential, f=b"".join)
    for r in range(runs):
        sequences, _ = run_genlm_smc(potential, condition, particles=particles, max_tokens=max_tokens, seed=seed + r)
        z_hat[r] = math.exp(sequences.log_ml)
        for context, log_weight in zip(sequences.contexts, sequences.log_weights):
            if log_weight > -math.inf:
                text = b"".join(context[:-1]).decode()
                per_text.setdefault(text, np.zeros(runs))[r] += math.exp(log_weight) / particles
    return per_text, z_hat


def toy_report(runs: int, particles: int) -> dict:
    """The toy task of tests/test_smc.py through both engines, beside its exact posterior."""
    from tests import test_smc as toy

    gamma = toy.exact_target()
    z = sum(gamma.values())
    out = {"runs": runs, "particles": particles, "max_tokens": toy.T, "pattern": toy.PATTERN, "exact_z": z,
           "exact_posterior": {k: v / z for k, v in gamma.items()}, "lcd_law": toy.lcd_law(), "engines": {}}
    for engine in ("structgen-smc", "genlm-smc"):
        started = time.perf_counter()
        per_text, z_hat = toy_estimates(engine, runs, particles, toy.T, table=toy.BIGRAM, tokens=toy.TOKENS,
                                        eos=toy.EOS, start=toy.START, pattern=toy.PATTERN)
        posterior = {t: v.mean() / z_hat.mean() for t, v in per_text.items()}
        out["engines"][engine] = {
            "seconds": time.perf_counter() - started, "z_hat": float(z_hat.mean()),
            "z_se": float(z_hat.std() / math.sqrt(runs)), "posterior": posterior,
            "tv_to_exact": toy.total_variation(posterior, out["exact_posterior"])}
    return out


def print_toy(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    engines = result["engines"]
    table = Table(title=f"toy task (tests/test_smc.py): {result['pattern']}, at most {result['max_tokens']} tokens, "
                        f"N = {result['particles']}, {result['runs']} runs each")
    for column in ("text", "exact posterior", "LCD law", *engines):
        table.add_column(column, justify="left" if column == "text" else "right")
    for text, p in sorted(result["exact_posterior"].items(), key=lambda kv: -kv[1]):
        table.add_row(text, f"{p:.4f}", f"{result['lcd_law'].get(text, 0.0):.4f}",
                      *(f"{e['posterior'].get(text, 0.0):.4f}" for e in engines.values()))
    table.add_row("Z", f"{result['exact_z']:.5f}", "",
                  *(f"{e['z_hat']:.5f} ± {e['z_se']:.5f}" for e in engines.values()))
    table.add_row("TV to exact", "", "", *(f"{e['tv_to_exact']:.4f}" for e in engines.values()))
    table.add_row("seconds", "", "", *(f"{e['seconds']:.1f}" for e in engines.values()))
    Console(width=180).print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="Glaiveai2K,Github_easy", help="comma-separated JSONSchemaBench datasets")
    parser.add_argument("--schemas", type=int, default=8, help="schemas in all (a seeded sample; default 8)")
    parser.add_argument("--particles", type=int, default=10, help="N, for both SMCs (default 10)")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens before end of sequence (default 64)")
    parser.add_argument("--whitespace", default="flexible", choices=("flexible", "compact"),
                        help="structgen's output form (default flexible, genlm's JSON potential allows whitespace)")
    parser.add_argument("--genlm-models", default="hf,structgen",
                        help="genlm-control's model backends, comma-separated: hf (its own AsyncTransformer: engine "
                             "genlm-smc) and structgen (structgen's model wrapper: genlm-smc@structgen-lm)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on a shared box)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--toy", action="store_true", help="only the toy task of tests/test_smc.py, both engines")
    parser.add_argument("--toy-runs", type=int, default=800, help="SMC runs per engine on the toy (default 800)")
    parser.add_argument("--toy-particles", type=int, default=4, help="N on the toy (default 4)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no line per schema")
    args = parser.parse_args(argv)
    unknown = set(args.genlm_models.split(",")) - {"hf", "structgen"}
    if unknown:
        parser.error(f"--genlm-models: unknown {', '.join(sorted(unknown))} (choose hf, structgen)")
    if args.toy:
        result = toy_report(args.toy_runs, args.toy_particles)
        print_toy(result)
    else:
        result = run(args)
        print_summary(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=str)


if __name__ == "__main__":
    main()
