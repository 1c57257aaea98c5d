"""What a worker process does: load the model once, then compile-and-generate or compile-and-check tasks.

Each task yields three messages, so the parent can time them out separately: the engine is ready
(built and warmed up once per worker, or unavailable), the compile outcome (`compile_s`, `error`),
then the generation (or instance-check) outcome.

TTFT is measured from the start of compilation (the prompt is encoded before), so it includes
GCT, the prompt's forward pass and the first mask, as JSONSchemaBench defines it.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from jsonschemabench.decoding import decode_with_matcher, decode_with_sampler, judge_output
from jsonschemabench.engine_specs import EngineSpec, build_compiler, parse_engine
from jsonschemabench.engines import EngineCompileError, EngineUnavailableError
from jsonschemabench.prompts import chat_token_ids, prompt_token_ids
from jsonschemabench.worker import WorkerConfig

WARM_UP_SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def load_model_and_tokenizer(model: str, device: str, with_model: bool):
    """(tokenizer, lm or None) for `--model default|tiny|PATH`."""
    from structgen import load_model, load_tokenizer
    from structgen.lm import tiny_random_model

    if model == "tiny":
        tokenizer = load_tokenizer()
        return tokenizer, (tiny_random_model(tokenizer, seed=0) if with_model else None)
    path = None if model == "default" else model
    if not with_model:
        return load_tokenizer(path), None
    lm = load_model(path, device=device)
    return lm.tokenizer, lm


class WorkerSession:
    """The worker's state: tokenizer, model (unless tokenizer-only), and compilers built on first use."""

    def __init__(self, config: WorkerConfig):
        import torch

        from structgen import Vocabulary

        torch.set_num_threads(max(1, config.threads))
        self.config = config
        self.tokenizer, self.lm = load_model_and_tokenizer(config.model, config.device, config.load_model)
        self.vocabulary = self.lm.vocabulary if self.lm is not None else Vocabulary.from_tokenizer(self.tokenizer)
        self._compilers: dict[str, Any] = {}

    def compiler(self, spec: EngineSpec):
        """The compiler for `spec`, built and warmed up on first use.

        The warm-up compile keeps one-time work (token tries, tokenizer tables) out of the first
        schema's compile time, since each engine builds those at a different moment.
        """
        if spec.label not in self._compilers:
            compiler = build_compiler(spec, self.tokenizer, self.vocabulary)
            if compiler is not None:
                try:
                    compiler.compile(WARM_UP_SCHEMA)
                except Exception:  # noqa: BLE001 - a warm-up failure shows again on the real schemas
                    pass
            self._compilers[spec.label] = compiler
        return self._compilers[spec.label]

    def handle(self, task: dict) -> Iterator[dict]:
        if task["kind"] == "generate":  # "messages": another prompt than the benchmark's (the quality tasks)
            return self.generate(parse_engine(task["engine"]), task["schema"], task.get("seed", self.config.seed),
                                 task.get("messages"))
        if task["kind"] == "check":
            return self.check(parse_engine(task["engine"]), task["schema"], task["texts"])
        if task["kind"] == "instances":
            return self.instances(task["schema"], task["count"], task["seed"], task["budget_s"])
        raise ValueError(f"unknown task kind {task['kind']!r}")

    def _prepare(self, spec: EngineSpec) -> tuple[Any, dict]:
        """(compiler, the first message): building and warming up an engine is not part of any compile timeout."""
        try:
            return self.compiler(spec), {"prepared": True}
        except EngineUnavailableError as error:
            return None, {"unavailable": str(error)}

    @staticmethod
    def _compile(compiler, schema: Any) -> tuple[Any, dict, float]:
        """(compiled or None, the compile message, when compiling started)."""
        started = time.perf_counter()
        compiled, error = None, None
        if compiler is not None:
            try:
                compiled = compiler.compile(schema)
            except EngineCompileError as failure:
                error = str(failure)
            except Exception as failure:  # a peer's own exception type for what it cannot handle
                error = f"{type(failure).__name__}: {failure}"
        return compiled, {"compile_s": time.perf_counter() - started, "error": error and error[:1000]}, started

    def generate(self, spec: EngineSpec, schema: Any, seed: int,
                 messages: list[dict[str, str]] | None = None) -> Iterator[dict]:
        config, lm = self.config, self.lm
        context = chat_token_ids(self.tokenizer, messages) if messages else prompt_token_ids(self.tokenizer, schema)
        compiler, message = self._prepare(spec)
        yield message
        if "unavailable" in message:
            return
        compiled, message, started = self._compile(compiler, schema)
        yield message
        if message["error"]:
            return
        limit = getattr(lm.model.config, "max_position_embeddings", None)
        if limit is not None and len(context) + config.max_tokens > limit:
            yield {"status": "prompt_too_long", "prompt_tokens": len(context)}
            return
        if hasattr(lm, "clear_cache"):
            lm.clear_cache()  # no engine may profit from the previous engine's prompt cache
        generation_started = time.perf_counter()
        if spec.kind == "sampler":
            temperature = config.temperature
            if temperature <= 0 and spec.sampler != "lcd":  # LCD decodes greedily like the mask engines
                temperature = config.sampler_temperature
            decoded = decode_with_sampler(lm, context, compiled, sampler=spec.sampler, particles=spec.particles,
                                          max_tokens=config.max_tokens, temperature=temperature, seed=seed,
                                          fast_forward=spec.fast_forward)
        else:
            temperature = config.temperature
            decoded = decode_with_matcher(lm, context, compiled, max_tokens=config.max_tokens,
                                          temperature=temperature, seed=seed)
        ended = time.perf_counter()
        verdict = judge_output(decoded.data, schema)
        times = decoded.token_times
        yield {
            "status": "ok",
            "prompt_tokens": len(context),
            "output_tokens": len(decoded.tokens) + decoded.finished,  # end-of-sequence counts as a token
            "text": decoded.data.decode("utf-8", errors="replace"),
            "finished": decoded.finished,
            "stop_reason": decoded.reason,
            "valid": verdict.valid,
            "error_kind": verdict.error_kind,
            "error_message": verdict.message,
            "temperature": temperature,
            "ttft_s": times[0] - started if times else None,
            "tpot_s": decoded.tpot(),
            "generation_s": ended - generation_started,
            "sampler_stats": decoded.stats or None,
        }

    def check(self, spec: EngineSpec, schema: Any, texts: list[str]) -> Iterator[dict]:
        """Feed each text token by token; `accepted` is None when the tokenizer cannot spell it exactly."""
        compiler, message = self._prepare(spec)
        yield message
        if "unavailable" in message:
            return
        compiled, message, _ = self._compile(compiler, schema)
        yield message
        if message["error"]:
            return
        results = []
        for text in texts:
            ids = self.exact_tokens(text)
            if ids is None:
                results.append({"accepted": None})
                continue
            refused = None if compiled is None else _refused_at(compiled.fresh(), ids)
            results.append({"accepted": refused is None,
                            "refused_at_byte": None if refused is None else len(self.vocabulary.decode(ids[:refused]))})
        yield {"results": results}

    def exact_tokens(self, text: str) -> list[int] | None:
        """The tokenizer's ids for `text`, or None when they do not spell it back exactly."""
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return ids if self.vocabulary.decode(ids) == text.encode("utf-8") else None

    def instances(self, schema: Any, count: int, seed: int, budget_s: float) -> Iterator[dict]:
        """The mask check's labelled instances of one schema (`maskcheck.labelled_instances`), made here so
        that a hypothesis-jsonschema run that hangs costs a worker, not the run."""
        from jsonschemabench.maskcheck import labelled_instances

        yield {"prepared": True}
        started = time.perf_counter()
        made = labelled_instances(schema, count, seed, budget_s, lambda text: self.exact_tokens(text) is not None)
        yield {**made, "seconds": time.perf_counter() - started}


def _refused_at(matcher, token_ids: list[int]) -> int | None:
    """None when every token advances the matcher and end-of-sequence then ends it; otherwise the index of
    the refused token (len(token_ids): end-of-sequence refused)."""
    for index, token in enumerate(token_ids):
        if not matcher.advance(token):
            return index
    return None if matcher.advance(matcher.eos_token_ids[0]) else len(token_ids)
