"""`structgen.generate`: structure + prompt in, checked output out."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from .automata.budget import CompileBudget
from .compile import compile_grammar, compile_json_schema, compile_regex, schema_as_dict
from .constraint import Constraint
from .errors import InvalidArgumentError
from .judge import JudgeRegexError, validator_for
from .sampling import Samples, check_sampling_arguments, sample
from .schema.document import lone_surrogate


@dataclass
class GenerationResult:
    """The output and everything needed to trust it.

    `valid` is True only when the output is complete (it ended in an
    accepting state) and, for a JSON Schema, the `jsonschema` validator (with
    format checking) accepts the parsed value. Otherwise `reason` says why.
    The output is the sampler's best particle; `samples` holds them all with
    their weights (for "smc": an approximation of the model's distribution
    conditioned on valid output).
    """

    text: str
    value: Any = None  # the parsed JSON value (schemas only, when complete)
    valid: bool = False
    reason: str = ""
    tokens: list[int] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (keyword, pointer) skipped with strict=False
    notes: list[str] = field(default_factory=list)  # restrictions the compiler applied
    samples: Samples | None = None

    def to_dict(self) -> dict:
        """Plain JSON data (log-weights of −inf and a missing log_ml become null)."""
        out = {
            "text": self.text, "value": self.value, "valid": self.valid, "reason": self.reason,
            "tokens": self.tokens, "stats": _finite(self.stats),
            "ignored": [{"keyword": k, "pointer": p} for k, p in self.ignored], "notes": self.notes,
        }
        if self.samples is not None:
            out["log_ml"] = _finite(self.samples.log_ml)
            out["particles"] = [
                {"text": p.text, "log_weight": _finite(p.log_weight), "finished": p.finished, "reason": p.reason}
                for p in self.samples.particles
            ]
            out["posterior"] = self.samples.posterior()
        return out


def _finite(value):
    """JSON has no infinities or NaN: they become None, inside containers too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def check_text(name: str, text) -> None:
    """Refuse text that cannot be written as UTF-8: a lone surrogate (from
    ``\\udXXX`` escapes, or from command-line bytes that were not UTF-8).
    JSON values (a parsed schema) are walked: every string and key.

    Raises
    ------
    InvalidArgumentError
        Naming `name`, and the offset (and JSON pointer) of the first lone surrogate.
    """
    found = lone_surrogate(text)
    if found is not None:
        pointer, offset, char = found
        where = f" at {pointer}" if pointer else ""
        raise InvalidArgumentError(name, f"not valid Unicode: lone surrogate U+{ord(char):04X} "
                                         f"at offset {offset}{where} (undecodable bytes?)")


_models: dict[str | None, Any] = {}


def default_model(path: str | None = None):
    """Load (once per process) the embedded default model, or the model at `path`."""
    if path not in _models:
        from .lm import load_model

        _models[path] = load_model(path)
    return _models[path]


def generate(schema: Any = None, prompt: str | list[int] | None = None, *, regex: str | None = None,
             grammar: str | None = None, model=None, sampler: str = "lcd", max_tokens: int = 256, temperature: float = 1.0,
             top_p: float = 1.0, seed: int | None = 0, whitespace: str = "compact",
             strict: bool = True, particles: int = 4, ess_threshold: float = 0.5,
             resampling: str = "multinomial", estimator: str = "recursive",
             max_rejects: int | None = None, budget: CompileBudget | None = None) -> GenerationResult:
    """Generate text that matches `schema` (a JSON Schema), `regex`, or `grammar` (GBNF text).

    `model` is a language model (see `structgen.load_model`), a path to a
    local Hugging Face model directory, or None for the embedded default.
    `temperature=0` decodes greedily. `sampler`: "lcd" (masking), "awrs"
    (one weighted particle) or "smc" (`particles` particles, resampled when
    the effective sample size drops below `ess_threshold`·N); see
    `structgen.sample`. `top_p` applies to "lcd" only. `budget` bounds the
    compilation (a `structgen.CompileBudget`; None: the defaults).

    Arguments are checked before the model loads (cheap checks first).

    Raises
    ------
    InvalidArgumentError
        Not exactly one of `schema`, `regex`, `grammar`; a sampling argument
        outside its domain (see `structgen.sampling.check_sampling_arguments`);
        text (prompt, regex, grammar, schema) that is not valid Unicode
        (a lone surrogate).
    ModelLoadError
        `model` is a path that holds no loadable model.
    StructgenError
        The structure does not compile (`InvalidSchemaError`,
        `UnsupportedSchemaError`, `RegexSyntaxError`, `GrammarSyntaxError`,
        `CompileBudgetError`, `NestingTooDeepError`, ...).
    """
    if sum(x is not None for x in (schema, regex, grammar)) != 1:
        raise InvalidArgumentError("schema", "give exactly one of `schema`, `regex` or `grammar`")
    check_sampling_arguments(sampler=sampler, particles=particles, max_tokens=max_tokens, temperature=temperature,
                             top_p=top_p, seed=seed, ess_threshold=ess_threshold, resampling=resampling,
                             estimator=estimator, max_rejects=max_rejects)
    for name, text in (("prompt", prompt), ("schema", schema), ("regex", regex), ("grammar", grammar)):
        check_text(name, text)
    if schema is not None:
        schema = schema_as_dict(schema)  # a schema that does not load is refused before the model loads
    if model is not None and not hasattr(model, "next_token_logprobs"):
        from .lm.default import check_model_dir  # imports torch: only when a model is needed

        check_model_dir(model)
    t0 = time.perf_counter()
    lm = model if hasattr(model, "next_token_logprobs") else default_model(model)
    t_model = time.perf_counter()
    if schema is not None:
        constraint = compile_json_schema(schema, lm.vocabulary, whitespace=whitespace, strict=strict,
                                         budget=budget)
    elif regex is not None:
        constraint = compile_regex(regex, lm.vocabulary, budget=budget)
    else:
        constraint = compile_grammar(grammar, lm.vocabulary, budget=budget)
    from .lm.base import encode_prompt

    context = encode_prompt(lm, prompt)
    t_start = time.perf_counter()
    samples = sample(lm, constraint, context, sampler=sampler, particles=particles, max_tokens=max_tokens,
                     temperature=temperature, seed=seed, ess_threshold=ess_threshold, resampling=resampling,
                     estimator=estimator, max_rejects=max_rejects, top_p=top_p)
    t_end = time.perf_counter()
    best = samples.best()
    result = _judge(constraint, best, schema)
    result.samples = samples
    times = samples.stats["step_times"]
    result.stats = {
        **{k: v for k, v in samples.stats.items() if k not in ("start_time", "tokens")},
        "sampler": sampler,
        "tokens": len(best.tokens),
        "prompt_tokens": len(context),
        "model_load_s": t_model - t0,
        "compile_time_s": constraint.info.compile_time_s,
        "automaton_states": constraint.info.n_states,
        "time_to_first_token_s": (times[0] - t_model) if times else None,
        "time_per_output_token_s": ((times[-1] - times[0]) / (len(times) - 1)) if len(times) > 1 else None,
        "generation_s": t_end - t_start,
    }
    return result


def _judge(constraint: Constraint, particle, schema) -> GenerationResult:
    data, text = particle.data, particle.text
    res = GenerationResult(text=text, tokens=list(particle.tokens), reason=particle.reason,
                           ignored=list(constraint.info.ignored), notes=list(constraint.info.notes))
    if not particle.finished:
        res.reason = f"incomplete output ({particle.reason})"
        return res
    if not constraint.accepts_text(data):
        res.reason = "output does not match the compiled structure"
        return res
    if schema is None:
        res.valid = True
        return res
    value = json.loads(text)
    try:
        errors = list(validator_for(schema).iter_errors(value))  # ECMA-262 regexes, like the compiler
    except JudgeRegexError as e:  # the text is kept; validity stays unproven
        res.reason = f"the validator could not decide: {e}"
        return res
    if errors:
        res.reason = "validator rejected the output: " + errors[0].message
        return res
    res.value, res.valid = value, True
    return res
