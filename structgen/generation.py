"""`structgen.generate`: structure + prompt in, checked output out."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from .automata.budget import CompileBudget
from .compile import compile_grammar, compile_json_schema, compile_regex, schema_as_dict
from .constraint import Constraint
from .errors import InvalidArgumentError
from .integrations.pydantic import OutputValidationError, is_python_type, pydantic_schema
from .judge import JudgeRegexError, validator_for
from .sampling import Samples, check_sampling_arguments, sample, time_per_output_token
from .sampling.batch import sample_batch
from .sampling.stream import Stream
from .schema.document import lone_surrogate


@dataclass
class GenerationResult:
    """The output and everything needed to trust it.

    `valid` is True only when the output is complete (it ended in an
    accepting state, by end-of-sequence or with nothing more allowed; output
    cut off at `max_tokens` never is) and, for a JSON Schema, the
    `jsonschema` validator (with format checking) accepts the parsed value,
    and for a Pydantic type, Pydantic does too. Otherwise `reason` says why.
    The output is the sampler's best particle; `samples` holds them all with
    their weights (for "smc": an approximation of the model's distribution
    conditioned on valid output).
    """

    text: str
    value: Any = None  # the parsed JSON value, or the Pydantic instance (schemas only, when valid)
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


def default_model(path: str | None = None, **options):
    """Load (once per process) the embedded default model, or the model at `path`;
    `options` go to `structgen.load_model` on the first load."""
    if path not in _models:
        from .lm import load_model

        _models[path] = load_model(path, **options)
    return _models[path]


def generate(schema: Any = None, prompt: Any = None, *, regex: str | None = None, grammar: str | None = None,
             model=None, tokenizer=None, sampler: str = "lcd", max_tokens: int = 256, temperature: float = 1.0,
             top_p: float = 1.0, seed: int | None = 0, whitespace: str = "compact",
             strict: bool = True, particles: int = 4, ess_threshold: float = 0.5,
             resampling: str = "multinomial", estimator: str = "recursive",
             max_rejects: int | None = None, budget: CompileBudget | None = None, stream: bool = False,
             compiler=None, fast_forward: bool = True, registry=None):
    """Generate text that matches `schema` (a JSON Schema or a Pydantic type), `regex`, or `grammar` (GBNF text).

    Parameters
    ----------
    schema : dict, bool, str, bytes, Pydantic type or None
        A JSON Schema (or its JSON text), or a Pydantic model class or any
        type `pydantic.TypeAdapter` takes (``list[User]``, ...). Pydantic
        objects are closed (``additionalProperties: false``) unless the
        model's ``extra`` is "allow", and ``result.value`` is then the
        validated instance (see `structgen.integrations.pydantic`).
    prompt : str, list of int, None, or a list of those
        Text (through the chat template), token ids, or None (an empty
        document). A list of texts or of token-id lists is a batch: one
        result per prompt, in order, the prompts sharing the model's
        forward passes (`structgen.sampling.batch`); prompt ``i`` is seeded
        with ``seed + i``.
    regex, grammar : str or None
        Instead of `schema`: a regular expression the whole output matches,
        or a GBNF grammar.
    model : LanguageModel, transformers model, str, os.PathLike or None
        A language model (`structgen.TransformersLM`, `structgen.load_model`),
        your own loaded transformers causal LM (with `tokenizer`; used on its
        device), a local Hugging Face model folder or ``.gguf`` file (loaded
        once per process, on CUDA when available), or None for the embedded
        default model.
    tokenizer : transformers tokenizer or None
        The tokenizer of a transformers `model` (None: loaded from the folder
        the model came from).
    sampler : {"lcd", "awrs", "smc"}
        "lcd" (masking), "awrs" (one weighted particle) or "smc"
        (`particles` particles, resampled when the effective sample size
        drops below `ess_threshold`·N); see `structgen.sample`.
    max_tokens : int
        The most output tokens. Output cut off there is never valid, even
        when the cut falls where the structure could end: `reason` says so.
    temperature : float
        0 decodes greedily.
    top_p : float
        Nucleus sampling, "lcd" only.
    seed : int or None
        The random seed (None: fresh entropy).
    whitespace : {"compact", "flexible"}, strict : bool, registry : referencing.Registry or None
        JSON Schema options, see `structgen.compile_json_schema` (`registry`:
        the resources a `$ref` leaving the schema may reach).
    particles, ess_threshold, resampling, estimator, max_rejects
        Sampler options, see `structgen.sample`.
    fast_forward : bool
        "lcd" only: append the tokens the structure forces (property names,
        punctuation, the rest of an enum value) without sampling, tokenised
        as the tokenizer would, fed to the model in one forward pass;
        ``stats["forced_tokens"]`` counts them (see `structgen.sample`).
    budget : CompileBudget or None
        Bounds the compilation (None: the defaults).
    compiler : Compiler or None
        Compile through this `structgen.Compiler` (built over the model's
        vocabulary), so that a structure compiled before is reused from its
        cache (a server's many requests); its budget applies, so `budget`
        must then be None. None: compile afresh.
    stream : bool
        Return a `structgen.sampling.stream.Stream` instead of the result:
        iterate it for the text as it is generated (pieces of whole
        characters that join to ``result.text``), then read its ``result``.
        One prompt, and "lcd" or "awrs" only.

    Returns
    -------
    GenerationResult, list of GenerationResult, or Stream
        One result; a list for a batch of prompts; a stream with `stream=True`.

    Raises
    ------
    InvalidArgumentError
        Not exactly one of `schema`, `regex`, `grammar`; a sampling argument
        outside its domain (see `structgen.sampling.check_sampling_arguments`);
        text (prompt, regex, grammar, schema) that is not valid Unicode
        (a lone surrogate); an empty batch; `stream` with a batch or with
        "smc"; `tokenizer` with a model that takes none; `compiler` with a
        `budget`, or built over another vocabulary than the model's.
    StructgenError
        The structure does not compile (`InvalidSchemaError`,
        `UnsupportedSchemaError`, `RegexSyntaxError`, `GrammarSyntaxError`,
        `CompileBudgetError`, `NestingTooDeepError`, ...). The structure is
        compiled against the tokenizer's vocabulary before the model's
        weights load, so these come first.
    ModelLoadError
        `model` is a path that holds no loadable model, or a transformers
        model without a tokenizer.

    Notes
    -----
    Arguments are checked first, cheapest first; then the tokenizer loads
    and the structure compiles; the weights load last.
    """
    if sum(x is not None for x in (schema, regex, grammar)) != 1:
        raise InvalidArgumentError("schema", "give exactly one of `schema`, `regex` or `grammar`")
    if compiler is not None and budget is not None:
        raise InvalidArgumentError("budget", "a compiler compiles under its own budget: give one or the other")
    check_sampling_arguments(sampler=sampler, particles=particles, max_tokens=max_tokens, temperature=temperature,
                             top_p=top_p, seed=seed, ess_threshold=ess_threshold, resampling=resampling,
                             estimator=estimator, max_rejects=max_rejects)
    batch = _is_batch(prompt)
    prompts = list(prompt) if batch else [prompt]
    if batch and not prompts:
        raise InvalidArgumentError("prompt", "an empty list of prompts")
    if stream and (batch or sampler == "smc"):
        raise InvalidArgumentError("stream", "streams one prompt with the 'lcd' or 'awrs' sampler ('smc' "
                                             "resamples, so no output is final before the end)")
    for name, text in (("prompt", prompts), ("schema", schema), ("regex", regex), ("grammar", grammar)):
        check_text(name, text)
    typed = None
    if schema is not None:
        if is_python_type(schema):
            typed = pydantic_schema(schema)
            schema = typed.schema
        schema = schema_as_dict(schema)  # a schema that does not load is refused before anything loads
    t0 = time.perf_counter()
    vocabulary, load = _model_source(model, tokenizer)
    t_vocabulary = time.perf_counter()
    if compiler is not None:
        constraint = _compile_with(compiler, vocabulary, schema, regex, grammar, whitespace, strict, registry)
    elif schema is not None:
        constraint = compile_json_schema(schema, vocabulary, whitespace=whitespace, strict=strict, budget=budget,
                                         registry=registry)
    elif regex is not None:
        constraint = compile_regex(regex, vocabulary, budget=budget)
    else:
        constraint = compile_grammar(grammar, vocabulary, budget=budget)
    t_compiled = time.perf_counter()
    lm = load()
    t_model = time.perf_counter()
    from .lm.base import encode_prompt

    contexts = [encode_prompt(lm, p) for p in prompts]
    options = dict(sampler=sampler, particles=particles, max_tokens=max_tokens, temperature=temperature,
                   ess_threshold=ess_threshold, resampling=resampling, estimator=estimator,
                   max_rejects=max_rejects, top_p=top_p, fast_forward=fast_forward)
    timing = {"model_load_s": (t_vocabulary - t0) + (t_model - t_compiled)}  # tokenizer, vocabulary, weights

    def finish(samples: Samples, context: list[int], started: float) -> GenerationResult:
        return _result(constraint, samples, schema, typed, context, timing, t_model, started)

    if stream:
        def run(on_token):
            started = time.perf_counter()
            return finish(sample(lm, constraint, contexts[0], seed=seed, on_token=on_token, **options),
                          contexts[0], started)

        return Stream(run, constraint.vocab.tokens)
    started = time.perf_counter()
    if not batch:
        return finish(sample(lm, constraint, contexts[0], seed=seed, **options), contexts[0], started)
    return [finish(s, c, started) for s, c in zip(sample_batch(lm, constraint, contexts, seed=seed, **options),
                                                    contexts)]


def _compile_with(compiler, vocabulary, schema, regex, grammar, whitespace: str, strict: bool, registry):
    """The constraint from `compiler`'s cache (compiled there on a miss).

    Raises
    ------
    InvalidArgumentError
        `compiler` was built over another vocabulary than the model's.
    StructgenError
        The structure does not compile (as `structgen.Compiler`'s methods).
    """
    if compiler.vocab is not vocabulary and compiler.vocab.tokens != vocabulary.tokens:
        raise InvalidArgumentError("compiler", "built over another vocabulary than the model's")
    if schema is not None:
        return compiler.json_schema(schema, whitespace=whitespace, strict=strict, registry=registry)
    if regex is not None:
        return compiler.regex(regex)
    return compiler.grammar(grammar)


def _is_batch(prompt) -> bool:
    """A list of texts or of token-id lists (a list of ints is one prompt's token ids)."""
    return isinstance(prompt, (list, tuple)) and all(isinstance(p, (str, list, tuple)) for p in prompt) and (
        len(prompt) == 0 or not all(isinstance(p, int) for p in prompt))


def _model_source(model, tokenizer):
    """(the vocabulary, a function that returns the language model): the vocabulary comes
    from the tokenizer and configuration alone, so the structure can compile before the weights load.

    Raises
    ------
    InvalidArgumentError
        `tokenizer` given with a language model object, which has its own.
    ModelLoadError
        As `structgen.lm.locate_model` and `structgen.lm.as_language_model`.
    MissingExtraError
        A model to load from a path (or the default one) without the ``model`` extra installed.
    """
    if hasattr(model, "next_token_logprobs"):
        if tokenizer is not None:
            raise InvalidArgumentError("tokenizer", f"{type(model).__name__} has its own vocabulary; "
                                                    f"a tokenizer goes with a transformers model or a path")
        return model.vocabulary, lambda: model
    if model is not None and not isinstance(model, (str, os.PathLike)):  # loaded already: only wrapping is left
        from .lm import as_language_model

        lm = as_language_model(model, tokenizer)
        return lm.vocabulary, lambda: lm
    key = None if model is None else str(model)
    if key in _models and tokenizer is None:
        return _models[key].vocabulary, lambda: _models[key]
    from .extras import require

    require("model", "generating with a model folder, a GGUF file or the default model")
    from .lm.loading import load_vocabulary, locate_model, tokenizer_of

    files = locate_model(model)  # the cheap checks of the path
    tokenizer = tokenizer if tokenizer is not None else tokenizer_of(files, model)
    vocabulary = load_vocabulary(files, tokenizer, model)
    return vocabulary, lambda: default_model(key, tokenizer=tokenizer, vocabulary=vocabulary)


def _result(constraint, samples: Samples, schema, typed, context, timing: dict, t_model: float,
            started: float) -> GenerationResult:
    best = samples.best()
    result = _judge(constraint, best, schema, typed)
    result.samples = samples
    times = samples.stats["step_times"]
    result.stats = {
        **{k: v for k, v in samples.stats.items() if k not in ("start_time", "tokens")},
        "tokens": len(best.tokens),
        "prompt_tokens": len(context),
        **timing,
        "compile_time_s": constraint.info.compile_time_s,
        "automaton_states": constraint.info.n_states,
        "time_to_first_token_s": (times[0] - t_model) if times else None,
        "time_per_output_token_s": time_per_output_token(times, samples.stats.get("forced_positions", [])),
        "generation_s": time.perf_counter() - started,
    }
    return result


def _judge(constraint: Constraint, particle, schema, typed=None) -> GenerationResult:
    data, text = particle.data, particle.text
    res = GenerationResult(text=text, tokens=list(particle.tokens), reason=particle.reason,
                           ignored=list(constraint.info.ignored), notes=list(constraint.info.notes))
    if particle.reason == "max_tokens":  # cut off, even where the structure could have ended
        res.reason = f"incomplete output (max_tokens: cut off after {len(particle.tokens)} tokens)"
        return res
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
    if typed is not None:
        try:
            value = typed.to_python(text)
        except OutputValidationError as e:
            res.reason = f"Pydantic rejected the output: {e}"
            return res
    res.value, res.valid = value, True
    return res
