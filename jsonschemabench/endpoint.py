"""Endpoint engines: an OpenAI-compatible server, measured from outside over HTTP like a user sees it.

An endpoint engine is ``openai:URL[:MODEL]`` or ``openai+xargs:URL[:MODEL]``, where

- ``URL`` is ``http[s]://HOST[:PORT][/PATH]``: the API's base, as given to the ``openai`` client
  (``http://127.0.0.1:8000/v1``). Without a path it is ``/v1``. Digits between the host and the
  next ``/`` or ``:`` (or the end) are always the port; the path holds no ``:``.
- ``MODEL``, if any, is everything after the first ``:`` that follows the host, port and path, so
  it may hold ``:`` itself (``openai:http://127.0.0.1:8080/v1:llama3:8b`` names ``llama3:8b``).
  Without it, the first model the server lists at ``GET URL/models``.
- ``openai:`` sends the schema as the standard ``response_format`` (``json_schema``, ``strict``):
  vLLM's xgrammar and guidance backends, ``structgen serve``, llama.cpp's server.
  ``openai+xargs:`` sends it to structgen's vLLM logits processor instead, as
  ``vllm_xargs: {"structgen": "{\\"json_schema\\": SCHEMA}"}`` with no ``response_format``
  (``vllm serve --logits-processors structgen.integrations.vllm:LogitsProcessor``).

Results name the engine by a short label: the scheme and ``http://`` dropped, the path kept only
when it is not ``/v1``, the model only when the spec names it (``openai:127.0.0.1:8000``,
``openai+xargs:127.0.0.1:8000:smollm2``). Records are keyed by that label: to compare two models
served at one address, name them in the specs.

Before the run, `connect` asks ``GET URL/models`` and sends one warm-up request (`warm_up`): a server
that cannot be reached, or that refuses a plain schema sent this way, is one error before any work.

What is measured, per schema: the benchmark's prompt (`jsonschemabench.prompts.prompt_messages`)
as chat messages, streamed (``stream_options.include_usage``), with the run's ``--max-tokens``,
``--temperature`` and seed. A schema the server refuses (HTTP 400 or 422) is not covered: a
``compile_error`` record with the server's message as its ``error``; a refusal for the context
length is ``prompt_too_long``, as in-process. vLLM checks a streamed request only after answering
200, so its refusal is the stream's first event, an error with one of those codes: counted the
same. The output is judged locally by the same judge as in-process engines
(`jsonschemabench.decoding.judge_output`).

- ``ttft_s``: from sending the request to the first chunk with content. Everything the server does
  first counts: templating, queueing, compiling the schema, the prompt's forward pass. A server
  that streams text before the model has run shows it early: ``structgen serve`` sends the tokens
  its constraint forces (such as ``{"``) at once.
- ``tpot_s``: (end - first content) / (``usage.completion_tokens`` - 1), the end being the chunk
  that carries the finish reason; None when the server reports no usage.
- ``compile_s`` is None: a server's compile time cannot be seen from outside (it is inside TTFT,
  as JSONSchemaBench defines TTFT). ``answered_s`` is how long the server took to answer with its
  HTTP status, accepting or refusing; ``structgen serve`` compiles before it answers, vLLM after.

Timeouts: the server must answer within ``--compile-timeout`` (a later acceptance counts as a
compile timeout, as in-process) and finish within ``--generation-timeout`` after that. They are
checked as chunks arrive; a server that goes silent is cut after the longer of the two. Refusals,
timeouts and server errors (HTTP 5xx, an error event in the stream: a ``crash`` record) cost one
schema; a server that cannot be reached, or that refuses the request itself (401, 404, ...), stops
the run (`EndpointError`): recording those as results would poison the resume. A server keeps its
caches between requests (vLLM's prefix cache, ``structgen serve``'s key/value states and compiled
schemas): a second run of the same schemas against the same server measures them warm.

The API key is ``$OPENAI_API_KEY`` when set (``vllm serve --api-key``), else a placeholder.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Iterator

from jsonschemabench.prompts import prompt_messages
from jsonschemabench.worker import WorkerFailed, WorkerTimeout

SCHEMA_VIA = {"openai": "response_format", "openai+xargs": "vllm_xargs"}
"""Engine prefix -> how the schema travels."""

FORM = "openai[+xargs]:http[s]://HOST[:PORT][/PATH][:MODEL] (e.g. openai:http://127.0.0.1:8000/v1)"
DEFAULT_PATH = "/v1"
PROBE_TIMEOUT_S = 10.0
WARM_UP_TIMEOUT_S = 600.0  # as long as a worker's set-up may take
WARM_UP_TOKENS = 8
REFUSAL_STATUSES = (400, 422)
FINISH_REASONS = {"stop": "end_of_sequence", "length": "max_tokens"}  # the in-process engines' stop reasons
_URL = re.compile(r"(?P<scheme>https?)://(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:?#\[\]@]+)"
                  r"(?::(?P<port>\d+)(?=[/:]|$))?+"  # possessive: digits that can be the port are the port
                  r"(?P<path>/[^:?#]*)?(?::(?P<model>.+))?")
_CONTEXT_LENGTH = re.compile(r"context (length|size|window)", re.IGNORECASE)


class EndpointError(Exception):
    """The server cannot be reached, or refuses the request itself rather than its schema: not a result."""


@dataclass(frozen=True)
class Endpoint:
    """One server: where it is, which model, and how the schema is sent."""

    label: str  # how results name it
    base_url: str  # http://127.0.0.1:8000/v1
    schema_via: str  # "response_format" | "vllm_xargs"
    model: str | None = None  # named in the spec, or filled in by `connect`


def is_endpoint(text: str) -> bool:
    """Whether an engine name is an endpoint spec (``openai:...`` or ``openai+xargs:...``)."""
    return text.strip().split(":", 1)[0] in SCHEMA_VIA


def parse_endpoint(text: str) -> Endpoint:
    """The endpoint of ``openai:URL[:MODEL]`` or ``openai+xargs:URL[:MODEL]`` (the rule: this module's doc).

    Raises
    ------
    ValueError
        Another prefix, a URL that is not ``http[s]://HOST[:PORT][/PATH]``, a port out of range,
        a ``:`` with no model name after it.
    """
    prefix, _, rest = text.strip().partition(":")
    match = _URL.fullmatch(rest) if prefix in SCHEMA_VIA else None
    if match is None:
        raise ValueError(f"bad endpoint engine {text.strip()!r}: write {FORM}")
    scheme, host, port, path, model = match.group("scheme", "host", "port", "path", "model")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"bad endpoint engine {text.strip()!r}: port {port} is not in 1-65535")
    path = (path or "").rstrip("/") or DEFAULT_PATH
    address = host + (f":{port}" if port else "")
    shown = ("https://" if scheme == "https" else "") + address + ("" if path == DEFAULT_PATH else path)
    return Endpoint(label=f"{prefix}:{shown}" + (f":{model}" if model else ""),
                    base_url=f"{scheme}://{address}{path}", schema_via=SCHEMA_VIA[prefix], model=model)


def _client(endpoint: Endpoint, timeout: float):
    import openai

    return openai.OpenAI(base_url=endpoint.base_url, api_key=os.environ.get("OPENAI_API_KEY") or "unused",
                         max_retries=0, timeout=timeout)


def _server_message(error) -> str:
    """The server's own message of an `openai.APIStatusError`, on one line."""
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message:
        message = body if isinstance(body, str) and body else error.response.text or error.message
    return " ".join(str(message).split())[:1000]


def _cause(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__ or error
    return " ".join(f"{type(cause).__name__}: {cause}".split())[:300]


def connect(endpoint: Endpoint, timeout: float = PROBE_TIMEOUT_S) -> Endpoint:
    """Ask the server for its models (``GET URL/models``), then `warm_up` with the model named or the first
    one listed; the endpoint with its model filled in.

    Raises
    ------
    EndpointError
        The server cannot be reached or does not answer in ``timeout`` seconds, answers with an
        HTTP error or with something that is not a model list, lists no model, does not list the
        model the spec names, or fails the warm-up.
    """
    import openai

    where = f"{endpoint.label}: GET {endpoint.base_url}/models"
    try:
        with _client(endpoint, timeout) as client:
            served = [model.id for model in client.models.list().data]
    except openai.APIStatusError as error:
        hint = " (is the URL the API's base, such as http://HOST:PORT/v1?)" if error.status_code == 404 else ""
        raise EndpointError(f"{where}: HTTP {error.status_code}: {_server_message(error)}{hint}") from None
    except openai.APIConnectionError as error:
        raise EndpointError(f"{where}: cannot reach the server ({_cause(error)})") from None
    except (openai.OpenAIError, ValueError, TypeError, AttributeError) as error:  # not an OpenAI model list
        raise EndpointError(f"{where}: not an OpenAI model list ({type(error).__name__}: {error})"[:500]) from None
    if not served:
        raise EndpointError(f"{where}: the server lists no model")
    if endpoint.model is not None and endpoint.model not in served:
        raise EndpointError(f"{where}: the server does not serve {endpoint.model!r} (it serves "
                            f"{', '.join(map(repr, served))})")
    endpoint = replace(endpoint, model=endpoint.model or served[0])
    warm_up(endpoint)
    return endpoint


def warm_up(endpoint: Endpoint, timeout: float = WARM_UP_TIMEOUT_S) -> None:
    """Send one request as the run will, with the in-process engines' warm-up schema and a few tokens.

    Why: a server's one-time work (structgen's just-in-time kernels, vLLM's first grammar backend
    set-up: tens of seconds on a cold start) then does not land in the first schema's TTFT, as the
    in-process engines compile a warm-up schema first. And a server that refuses the request's form
    (``vllm_xargs`` sent to a server without structgen's processor, a streaming option it lacks)
    stops the run before it starts, instead of counting every schema as refused.

    Raises
    ------
    EndpointError
        The server refuses the warm-up schema, fails on it, or does not finish in ``timeout`` seconds.
    """
    from jsonschemabench.tasks import WARM_UP_SCHEMA

    session = EndpointSession()
    task = endpoint_task(endpoint, WARM_UP_SCHEMA, seed=0, max_tokens=WARM_UP_TOKENS, temperature=0.0)
    try:
        answer, *generation = list(session.run(task, [timeout, timeout, timeout]))[1:]
    except (WorkerTimeout, WorkerFailed) as error:
        raise EndpointError(f"{endpoint.label}: the warm-up request failed: {error}") from None
    finally:
        session.close()
    refusal = answer["error"] or next((m["error"] for m in generation if m["status"] == "compile_error"), None)
    if refusal:
        raise EndpointError(f"{endpoint.label}: the server refuses a plain schema sent in {endpoint.schema_via} "
                            f"(is it the right kind of server?): {refusal}")


def endpoint_task(endpoint: Endpoint, schema: Any, seed: int, max_tokens: int, temperature: float) -> dict:
    """The task of one schema (a plain dict like the workers' tasks, run by `EndpointSession`)."""
    return {"kind": "endpoint", "engine": endpoint.label, "endpoint": endpoint, "schema": schema, "seed": seed,
            "max_tokens": max_tokens, "temperature": temperature}


def request_arguments(endpoint: Endpoint, schema: Any, seed: int, max_tokens: int, temperature: float) -> dict:
    """The keyword arguments of ``client.chat.completions.create`` for one schema (streamed, with usage)."""
    arguments = {"model": endpoint.model, "messages": prompt_messages(schema), "max_tokens": max_tokens,
                 "temperature": temperature, "seed": seed, "stream": True, "stream_options": {"include_usage": True}}
    if endpoint.schema_via == "vllm_xargs":
        arguments["extra_body"] = {"vllm_xargs": {"structgen": json.dumps({"json_schema": schema})}}
    else:
        arguments["response_format"] = {"type": "json_schema",
                                        "json_schema": {"name": "output", "schema": schema, "strict": True}}
    return arguments


class EndpointSession:
    """Runs endpoint tasks in the calling thread, yielding the messages a worker's generate task yields.

    One ``openai`` client per endpoint, shared by the runner's threads (the client is thread-safe).
    """

    def __init__(self):
        self._clients: dict[Endpoint, Any] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client(self, endpoint: Endpoint):
        with self._lock:
            if endpoint not in self._clients:
                self._clients[endpoint] = _client(endpoint, PROBE_TIMEOUT_S)
            return self._clients[endpoint]

    def run(self, task: dict, timeouts: list[float]) -> Iterator[dict]:
        """The messages of one schema: prepared, then the server's answer (``compile_s`` None, ``error``
        its refusal), then the generation. ``timeouts`` are the runner's (setup, compile, generation).

        Raises
        ------
        WorkerTimeout
            The server did not answer within the compile timeout, or did not finish within the
            generation timeout.
        WorkerFailed
            The server failed on this request (HTTP 5xx, an error event or a malformed one in the stream;
            an error event coded 400 or 422 before any content is a refusal instead).
        EndpointError
            The server cannot be reached, the connection broke, or it refused the request for
            another reason than its content (401, 403, 404, 429, ...).
        """
        import openai

        http = _http_library()
        endpoint, (accept_within, finish_within) = task["endpoint"], timeouts[1:3]
        yield {"prepared": True}
        arguments = request_arguments(endpoint, task["schema"], task["seed"], task["max_tokens"],
                                      task["temperature"])
        timeout = openai.Timeout(max(accept_within, finish_within), connect=PROBE_TIMEOUT_S)
        started = time.perf_counter()
        try:
            stream = self._client(endpoint).chat.completions.create(**arguments, timeout=timeout)
        except openai.APITimeoutError as error:
            if isinstance(error.__cause__, http.ConnectTimeout):
                raise EndpointError(f"{endpoint.label}: cannot reach the server ({_cause(error)})") from None
            raise WorkerTimeout(f"the server did not answer within {timeout.read:g} s") from None
        except openai.APIConnectionError as error:
            raise EndpointError(f"{endpoint.label}: the connection failed ({_cause(error)})") from None
        except openai.APIStatusError as error:
            answer = {"compile_s": None, "answered_s": time.perf_counter() - started}
            message = _server_message(error)
            if error.status_code >= 500:
                raise WorkerFailed(f"the server failed: HTTP {error.status_code}: {message}") from None
            if error.status_code not in REFUSAL_STATUSES:
                raise EndpointError(f"{endpoint.label}: HTTP {error.status_code}: {message}") from None
            if _context_too_long(error, message):
                yield {**answer, "error": None}
                yield {"status": "prompt_too_long", "prompt_tokens": None, "error": message}
                return
            yield {**answer, "error": message}
            return
        with stream:
            answered = time.perf_counter()
            if answered - started > accept_within:
                raise WorkerTimeout(f"the server answered after {answered - started:.1f} s, past the compile "
                                    f"timeout of {accept_within:g} s")
            yield {"compile_s": None, "error": None, "answered_s": answered - started}
            yield self._read(stream, task, started, answered, answered + finish_within, http)

    @staticmethod
    def _read(stream, task: dict, started: float, answered: float, deadline: float, http) -> dict:
        """The generation message of one accepted request, read from its stream."""
        import openai

        from jsonschemabench.decoding import judge_output

        pieces, first, ended, finish_reason, usage = [], None, None, None, None
        try:
            for chunk in stream:
                now = time.perf_counter()
                if now > deadline:
                    raise WorkerTimeout(f"the server had not finished {deadline - answered:g} s after answering")
                usage = chunk.usage or usage
                for choice in (chunk.choices or [])[:1]:
                    if choice.delta is not None and choice.delta.content:
                        first = first or now
                        pieces.append(choice.delta.content)
                    if choice.finish_reason:
                        finish_reason, ended = choice.finish_reason, now
        except openai.APIError as error:  # an error event in the stream
            if first is None and error.code in {str(status) for status in REFUSAL_STATUSES}:
                return _refusal_in_stream(error)
            raise WorkerFailed(f"the server ended the stream with an error: {error.message}"[:1000]) from None
        except ValueError as error:  # an event that is not JSON
            raise WorkerFailed(f"the server sent a malformed event: {error}"[:1000]) from None
        except http.TimeoutException:
            raise WorkerTimeout(f"the server went silent for {deadline - answered:g} s") from None
        except http.TransportError as error:
            raise EndpointError(f"{task['engine']}: the connection broke mid-stream ({_cause(error)})") from None
        ended = ended or time.perf_counter()
        text = "".join(pieces)
        verdict = judge_output(text.encode("utf-8"), task["schema"])
        tokens = usage.completion_tokens if usage is not None else None
        return {
            "status": "ok",
            "prompt_tokens": usage.prompt_tokens if usage is not None else None,
            "output_tokens": tokens,
            "text": text,
            "finished": finish_reason == "stop",
            "stop_reason": FINISH_REASONS.get(finish_reason, finish_reason),
            "valid": verdict.valid,
            "error_kind": verdict.error_kind,
            "error_message": verdict.message,
            "temperature": task["temperature"],
            "ttft_s": first - started if first is not None else None,
            "tpot_s": (ended - first) / (tokens - 1) if first is not None and tokens and tokens > 1 else None,
            "generation_s": ended - answered,
            "sampler_stats": None,
            "served_model": task["endpoint"].model,
        }


def _refusal_in_stream(error) -> dict:
    """The generation message of a request refused by an error event before any content (vLLM's way for a
    streamed request): not covered, or ``prompt_too_long`` for the context's length, as a refusal by status."""
    message = " ".join(str(error.message).split())[:1000]
    if _context_too_long(error, message):
        return {"status": "prompt_too_long", "prompt_tokens": None, "error": message}
    return {"status": "compile_error", "compiled": False, "valid": False, "error": message}


def _http_library():
    """The HTTP library the ``openai`` client is built on (httpx, or httpx2 from openai 3), whose exceptions
    reach a reader of a stream unwrapped: its ``Client`` is the base of ``openai.DefaultHttpxClient``."""
    import openai

    base = next(c for c in openai.DefaultHttpxClient.__mro__[1:] if c.__name__ == "Client")
    return sys.modules[base.__module__.split(".")[0]]


def _context_too_long(error, message: str) -> bool:
    """Whether a refusal is for the prompt's length (OpenAI's and structgen's code, llama.cpp's type, the
    wording vLLM and others use) rather than for the schema."""
    body = error.body.get("error", error.body) if isinstance(error.body, dict) else {}
    marks = (body.get("code"), body.get("type")) if isinstance(body, dict) else ()
    return bool({"context_length_exceeded", "exceed_context_size_error"} & set(marks)
                or _CONTEXT_LENGTH.search(message))
