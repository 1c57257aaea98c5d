"""`structgen.generate`: structure + prompt in, checked output out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from .compile import compile_json_schema, compile_regex, schema_as_dict
from .constraint import Constraint
from .sampling.lcd import decode_lcd

SAMPLERS = ("lcd",)


@dataclass
class GenerationResult:
    """The output and everything needed to trust it.

    `valid` is True only when the output is complete (it ended in an
    accepting state) and, for a JSON Schema, the `jsonschema` validator (with
    format checking) accepts the parsed value. Otherwise `reason` says why.
    """

    text: str
    value: Any = None  # the parsed JSON value (schemas only, when complete)
    valid: bool = False
    reason: str = ""
    tokens: list[int] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (keyword, pointer) skipped with strict=False
    notes: list[str] = field(default_factory=list)  # restrictions the compiler applied

    def to_dict(self) -> dict:
        return {
            "text": self.text, "value": self.value, "valid": self.valid, "reason": self.reason,
            "tokens": self.tokens, "stats": self.stats,
            "ignored": [{"keyword": k, "pointer": p} for k, p in self.ignored], "notes": self.notes,
        }


_models: dict[str | None, Any] = {}


def default_model(path: str | None = None):
    """Load (once per process) the embedded default model, or the model at `path`."""
    if path not in _models:
        from .lm import load_model

        _models[path] = load_model(path)
    return _models[path]


def generate(schema: Any = None, prompt: str | list[int] | None = None, *, regex: str | None = None,
             model=None, sampler: str = "lcd", max_tokens: int = 256, temperature: float = 1.0,
             top_p: float = 1.0, seed: int | None = 0, whitespace: str = "compact",
             strict: bool = True) -> GenerationResult:
    """Generate text that matches `schema` (a JSON Schema) or `regex`.

    `model` is a language model (see `structgen.load_model`), a path to a
    local Hugging Face model directory, or None for the embedded default.
    `temperature=0` decodes greedily.
    """
    if (schema is None) == (regex is None):
        raise ValueError("give exactly one of `schema` or `regex`")
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose from {', '.join(SAMPLERS)}")
    t0 = time.perf_counter()
    lm = model if hasattr(model, "next_token_logprobs") else default_model(model)
    t_model = time.perf_counter()
    if schema is not None:
        schema = schema_as_dict(schema)
        constraint = compile_json_schema(schema, lm.vocabulary, whitespace=whitespace, strict=strict)
    else:
        constraint = compile_regex(regex, lm.vocabulary)
    context = lm.encode_prompt(prompt)
    t_start = time.perf_counter()
    trace = decode_lcd(lm, constraint, context, max_tokens=max_tokens, temperature=temperature,
                       top_p=top_p, seed=seed)
    t_end = time.perf_counter()
    result = _judge(constraint, trace, schema)
    times = trace.token_times
    result.stats = {
        "sampler": sampler,
        "tokens": len(trace.tokens),
        "prompt_tokens": len(context),
        "model_load_s": t_model - t0,
        "compile_time_s": constraint.info.compile_time_s,
        "automaton_states": constraint.info.n_states,
        "time_to_first_token_s": (times[0] - t_model) if times else None,
        "time_per_output_token_s": ((times[-1] - times[0]) / (len(times) - 1)) if len(times) > 1 else None,
        "generation_s": t_end - t_start,
    }
    return result


def _judge(constraint: Constraint, trace, schema) -> GenerationResult:
    data = constraint.vocab.decode(trace.tokens)
    text = data.decode("utf-8", errors="replace")
    res = GenerationResult(text=text, tokens=list(trace.tokens), reason=trace.reason,
                           ignored=list(constraint.info.ignored), notes=list(constraint.info.notes))
    if not trace.finished:
        res.reason = f"incomplete output ({trace.reason})"
        return res
    if not constraint.accepts_text(data):
        res.reason = "output does not match the compiled structure"
        return res
    if schema is None:
        res.valid = True
        return res
    value = json.loads(text)
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = list(validator(schema, format_checker=validator.FORMAT_CHECKER).iter_errors(value))
    if errors:
        res.reason = "validator rejected the output: " + errors[0].message
        return res
    res.value, res.valid = value, True
    return res
