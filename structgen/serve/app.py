"""`create_app`: the FastAPI application of `structgen serve`.

Routes: ``GET /health``, ``GET /v1/models``, ``GET /v1/models/{id}``,
``POST /v1/chat/completions`` and ``POST /v1/completions`` (OpenAI's
shapes, see `structgen.serve.protocol` and `structgen.serve.responses`).
Every refusal is an OpenAI-style error object (`structgen.serve.errors`):
a malformed body, a bad field or a structure that does not compile is a
400, never a 500 or a dropped connection. Generation runs in the engine's
worker threads, so the event loop stays free to take requests while the
model works; the requests generating at the same moment share its forward
passes (`structgen.serve.batcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from structgen.serve.engine import Engine
from structgen.serve.errors import APIError, from_validation
from structgen.serve.protocol import ChatCompletionRequest, CompletionRequest
from structgen.serve.responses import ChunkWriter, completion_body


def create_app(lm, *, model_name: str = "structgen", max_concurrency: int = 64, cache_size: int = 128,
               default_max_tokens: int = 256, warm_up: bool = True):
    """The server's ASGI application, serving ``lm``.

    Parameters
    ----------
    lm : LanguageModel
        The model (a `structgen.TransformersLM`, e.g. from `structgen.load_model`; chat needs its
        tokenizer's chat template).
    model_name : str
        Its id in the API: what ``/v1/models`` lists and requests name in ``model``.
    max_concurrency : int
        How many requests generate at once, sharing forward passes; more wait in line.
    cache_size : int
        How many compiled structures are kept across requests (least recently used out).
    default_max_tokens : int
        The output limit of a request that gives no ``max_tokens``.
    warm_up : bool
        Compile the structures of plain text and ``json_object`` now (seconds, once per process:
        numba's just-in-time compilation) rather than in the first request.

    Returns
    -------
    fastapi.FastAPI
        With the `Engine` at ``app.state.engine``.

    Raises
    ------
    InvalidArgumentError
        `max_concurrency`, `cache_size` or `default_max_tokens` out of range.
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException

    from structgen import __version__
    from structgen.errors import InvalidArgumentError

    for name, value, least in (("max_concurrency", max_concurrency, 1), ("cache_size", cache_size, 0),
                               ("default_max_tokens", default_max_tokens, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidArgumentError(name, f"must be an integer >= {least}, got {value!r}")
    engine = Engine(lm, name=model_name, max_concurrency=max_concurrency, cache_size=cache_size,
                    default_max_tokens=default_max_tokens)
    if warm_up:
        engine.warm_up()
    created = int(time.time())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        engine.close()

    app = FastAPI(title="structgen", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.engine = engine

    def error_response(error: APIError) -> JSONResponse:
        return JSONResponse(error.to_dict(), status_code=error.status)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, error: APIError):
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError):
        return error_response(from_validation(list(error.errors())))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code)
        message = f"{request.method} {request.url.path}: {error.detail}"
        return error_response(APIError(error.status_code, message, code=code))

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception):
        return error_response(APIError(500, f"internal error: {type(error).__name__}: {error}",
                                       type="server_error", code="internal_error"))

    def model_card() -> dict:
        return {"id": engine.name, "object": "model", "created": created, "owned_by": "structgen"}

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": engine.name, **engine.stats}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str):
        engine.check_model(model_id)
        return model_card()

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest):
        return await _respond(engine.chat_job(body))

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest):
        return await _respond(engine.completion_job(body))

    async def _respond(job):
        loop = asyncio.get_running_loop()
        if not job.stream:
            results = await loop.run_in_executor(engine.pool, engine.run, job)
            return JSONResponse(completion_body(job, results, engine.name))
        events: asyncio.Queue = asyncio.Queue()

        def emit(kind, value):
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody listens any more
                loop.call_soon_threadsafe(events.put_nowait, (kind, value))

        engine.pool.submit(engine.run_stream, job, emit)
        try:
            kind, value = await events.get()
        except asyncio.CancelledError:
            job.cancelled.set()
            raise
        if kind == "error":  # before the first byte: a plain error response (the handlers above)
            raise value
        writer = ChunkWriter(job, engine.name)

        async def stream():
            try:
                yield writer.start()
                while True:
                    kind, value = await events.get()
                    if kind == "piece":
                        yield writer.piece(value)
                    elif kind == "end":
                        yield writer.end(value)
                        return
                    else:
                        error = value if isinstance(value, APIError) else APIError(
                            500, f"internal error: {type(value).__name__}: {value}", type="server_error",
                            code="internal_error")
                        yield writer.error(error.to_dict())
                        return
            finally:
                job.cancelled.set()  # the client left, or the stream ended: stop generating

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app
