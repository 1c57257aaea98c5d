"""`Engine`: a request in, `structgen.generate` run on the shared model, results out.

A request becomes a `Job`: its prompts as token ids (the chat template for
chat messages, the plain tokenizer for completions), one structure (a JSON
Schema, a regex, a GBNF grammar, or any text), and the sampling options.
Jobs run in worker threads; each job's generation is a `Member` of the
engine's `SharedModel`, so the jobs generating at the same time share every
forward pass. Structures compile through one `structgen.Compiler`, whose
bounded cache keeps them across requests.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from structgen import grammars
from structgen.compiler import Compiler
from structgen.errors import StructgenError
from structgen.serve.batcher import SharedModel
from structgen.serve.errors import APIError, from_structgen
from structgen.serve.protocol import ChatCompletionRequest, CompletionRequest

#: The structure of a request that asks for none: any text.
ANY_TEXT = r"[\s\S]*"
#: ``response_format: {"type": "json_object"}``: a JSON object, any members.
ANY_OBJECT = {"type": "object"}
SCHEMA_PARAM = "response_format.json_schema.schema"


@dataclass
class Job:
    """One request, checked, ready to run."""

    kind: str  # "chat" or "completion"
    prompts: list[Any]  # text (completions: no chat template), token ids, or chat messages (list of dicts)
    structure: dict  # exactly one of schema=, regex=, grammar=
    structure_param: str | None  # where the structure came from, for error messages
    options: dict  # generate's sampling options
    n: int = 1
    stream: bool = False
    include_usage: bool = False
    contexts: list[list[int]] = field(default_factory=list)  # filled by Engine.encode
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def prompt_param(self) -> str:
        return "messages" if self.kind == "chat" else "prompt"


class Engine:
    """The server's model, compiler and worker threads.

    Parameters
    ----------
    lm : LanguageModel
        The model every request runs on (a `structgen.TransformersLM` for chat:
        the chat template comes from its tokenizer).
    name : str
        The model's id in the API (``/v1/models``, the ``model`` field).
    max_concurrency : int
        How many requests generate at once (more wait in line, none is dropped).
    cache_size : int
        How many compiled structures the compiler keeps (least recently used out).
    default_max_tokens : int
        The output limit of a request that names none.
    """

    def __init__(self, lm, *, name: str, max_concurrency: int = 64, cache_size: int = 128,
                 default_max_tokens: int = 256):
        self.lm = lm
        self.name = name
        self.shared = SharedModel(lm)
        self.compiler = Compiler(lm.vocabulary, cache_size=cache_size)
        self.default_max_tokens = default_max_tokens
        self.max_concurrency = max_concurrency
        self.pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="structgen-request")
        self._active = 0
        self._served = 0
        self._lock = threading.Lock()
        config = getattr(getattr(lm, "model", None), "config", None)
        self.context_window = getattr(config, "max_position_embeddings", None)

    def warm_up(self) -> None:
        """Compile the structures of plain text and of ``json_object`` (cached from then on), and their
        first masks: the first requests then do not wait for numba's just-in-time compilation."""
        for constraint in (self.compiler.regex(ANY_TEXT), self.compiler.json_schema(ANY_OBJECT)):
            constraint.mask(constraint.start())

    # -- requests -> jobs ----------------------------------------------------------------------

    def chat_job(self, request: ChatCompletionRequest) -> Job:
        """The job of a chat completion request.

        Raises
        ------
        APIError
            404 for another model's name; 400 for a request structgen cannot honour.
        """
        self.check_model(request.model)
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                    for m in request.messages]
        return self._job("chat", [messages], request, request.response_format, request.token_limit)

    def completion_job(self, request: CompletionRequest) -> Job:
        """The job of a (text) completion request.

        Raises
        ------
        APIError
            As `chat_job`.
        """
        self.check_model(request.model)
        return self._job("completion", request.prompts(), request, request.response_format, request.token_limit)

    def check_model(self, name: str) -> None:
        """Refuse another model's name.

        Raises
        ------
        APIError
            404, ``model_not_found``.
        """
        if name != self.name:
            raise APIError(404, f"the model {name!r} does not exist; this server serves {self.name!r}",
                           param="model", code="model_not_found")

    def _job(self, kind: str, prompts: list, request, response_format, limit: int | None) -> Job:
        refused = request.unsupported()
        if refused is not None:
            name, message = refused
            raise APIError(400, f"{name}: {message}", param=name,
                           code="unknown_parameter" if message.startswith("unknown") else "unsupported_parameter")
        ext = request.structgen
        structure, param, strict = {"regex": ANY_TEXT}, None, True
        if response_format is not None and response_format.type == "json_object":
            structure, param = {"schema": ANY_OBJECT}, "response_format"
        elif response_format is not None and response_format.type == "json_schema":
            spec = response_format.json_schema
            structure, param, strict = {"schema": spec.schema_}, SCHEMA_PARAM, spec.strict is not False
        if ext is not None and (ext.regex is not None or ext.grammar is not None):
            if param is not None:
                raise APIError(400, "give one structure: response_format or structgen.regex/grammar, not both",
                               param="structgen", code="invalid_value")
            if ext.regex is not None:
                structure, param = {"regex": ext.regex}, "structgen.regex"
            else:
                text = grammars.load(ext.grammar) if ext.grammar in grammars.names() else ext.grammar
                structure, param = {"grammar": text}, "structgen.grammar"
        sampler = ext.sampler if ext is not None else "lcd"
        if request.stream and (request.n > 1 or len(prompts) > 1):
            raise APIError(400, "stream: one prompt and n=1 only", param="stream", code="invalid_value")
        if request.stream and sampler == "smc":
            raise APIError(400, "stream: the 'smc' sampler resamples its particles, so no text is final before "
                                "the end; use 'lcd' or 'awrs', or stream: false", param="stream",
                           code="invalid_value")
        options = dict(sampler=sampler, particles=ext.particles if ext is not None else 4,
                       whitespace=ext.whitespace if ext is not None else "compact", strict=strict,
                       max_tokens=limit if limit is not None else self.default_max_tokens,
                       temperature=1.0 if request.temperature is None else request.temperature,
                       top_p=1.0 if request.top_p is None else request.top_p, seed=request.seed)
        if options["top_p"] != 1.0 and sampler != "lcd":
            raise APIError(400, "top_p: nucleus sampling goes with the 'lcd' sampler only", param="top_p",
                           code="invalid_value")
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return Job(kind, prompts, structure, param, options, n=request.n, stream=request.stream,
                   include_usage=include_usage)

    # -- running -------------------------------------------------------------------------------

    def encode(self, job: Job) -> None:
        """Fill ``job.contexts``: the token ids of each prompt.

        Raises
        ------
        APIError
            400: no chat template or no tokenizer to use, a template that refuses the messages,
            a token id outside the vocabulary, an empty prompt, or a prompt that leaves no room
            for ``max_tokens`` in the model's context window.
        """
        tokenizer = getattr(self.lm, "tokenizer", None)
        param = job.prompt_param
        for prompt in job.prompts:
            if isinstance(prompt, list) and prompt and isinstance(prompt[0], int):
                ids = list(prompt)
                bad = [t for t in ids if not 0 <= t < len(self.lm.vocabulary)]
                if bad:
                    raise APIError(400, f"{param}: token id {bad[0]} is outside the vocabulary "
                                        f"(0..{len(self.lm.vocabulary) - 1})", param=param, code="invalid_value")
            elif tokenizer is None:
                raise APIError(400, f"{param}: this model has no tokenizer; give token ids", param=param,
                               code="invalid_value")
            elif job.kind == "chat":
                if not getattr(tokenizer, "chat_template", None):
                    raise APIError(400, "this model has no chat template: use /v1/completions",
                                   param="messages", code="no_chat_template")
                try:
                    text = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
                except Exception as e:  # jinja's refusals (role order, ...) are the request's fault
                    raise APIError(400, f"messages: the chat template refused them: {e}", param="messages",
                                   code="invalid_value") from None
                ids = list(tokenizer.encode(text, add_special_tokens=False))
            else:
                ids = list(tokenizer.encode(prompt))
            if not ids:
                raise APIError(400, f"{param}: the prompt is empty (no tokens)", param=param, code="invalid_value")
            window = self.context_window
            if window is not None and len(ids) + job.options["max_tokens"] > window:
                raise APIError(400, f"{param}: {len(ids)} prompt tokens plus max_tokens "
                                    f"{job.options['max_tokens']} exceed the model's context window of {window}",
                               param=param, code="context_length_exceeded")
            job.contexts.append(ids)

    def run(self, job: Job) -> list:
        """Generate every choice of ``job`` (a worker thread's work): the `GenerationResult`s, prompt by
        prompt, ``n`` for each.

        Raises
        ------
        APIError
            400 for bad input (see `encode`, and every `StructgenError` generate raises).
        """
        from structgen.generation import generate

        with self._counted():
            try:
                self.encode(job)
                prompts = [c for c in job.contexts for _ in range(job.n)]
                with self.shared.member() as member:
                    out = generate(**job.structure, prompt=prompts if len(prompts) > 1 else prompts[0],
                                   model=member, compiler=self.compiler, **job.options)
            except StructgenError as e:
                raise from_structgen(e, job.structure_param, job.prompt_param) from None
        return out if isinstance(out, list) else [out]

    def run_stream(self, job: Job, emit) -> None:
        """Generate ``job``'s one choice as a stream (a worker thread's work), calling ``emit(kind, value)``:
        ``("start", None)`` once the structure compiled, ``("piece", text)`` for each piece,
        ``("end", GenerationResult)``; or ``("error", APIError or exception)`` instead of whatever is
        left. Stops at the next token once ``job.cancelled`` is set."""
        from structgen.generation import generate

        with self._counted():
            try:
                self.encode(job)
                with self.shared.member() as member:
                    with generate(**job.structure, prompt=job.contexts[0], model=member, compiler=self.compiler,
                                  stream=True, **job.options) as stream:
                        emit("start", None)
                        for piece in stream:
                            if job.cancelled.is_set():
                                return
                            emit("piece", piece)
                        emit("end", stream.result)
            except StructgenError as e:
                emit("error", from_structgen(e, job.structure_param, job.prompt_param))
            except Exception as e:  # a bug: the handler answers 500 (or ends the stream with the error)
                emit("error", e)

    @contextlib.contextmanager
    def _counted(self):
        """Counts the job as active inside the block, and as served after it."""
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                self._served += 1

    @property
    def stats(self) -> dict:
        """Requests generating now and served so far, the shared model's batches, the compiler's cache."""
        with self._lock:
            active, served = self._active, self._served
        cache = self.compiler.cache_info()
        return {"active_requests": active, "served_requests": served, "batching": self.shared.stats,
                "compiled_cache": {"hits": cache.hits, "misses": cache.misses, "size": cache.size,
                                   "max_size": cache.max_size}}

    def close(self) -> None:
        """Stop taking jobs; those running finish."""
        self.pool.shutdown(wait=False, cancel_futures=True)
