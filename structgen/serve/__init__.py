"""`structgen serve`: an OpenAI-compatible HTTP server for constrained generation.

    from structgen.serve import create_app, start
    app = create_app(structgen.load_model(), model_name="smollm2")
    with start(app, port=8000) as running:   # or: structgen serve --port 8000
        ...                                  # openai.OpenAI(base_url=running.url + "/v1", api_key="-")

Modules: `protocol` (the request bodies), `engine` (requests to
`structgen.generate` runs), `batcher` (concurrent requests share forward
passes), `responses` (OpenAI's response and chunk shapes), `errors` (the
error objects), `app` (the FastAPI routes), `server` (uvicorn). Needs the
``serve`` extra (FastAPI, uvicorn) and the ``model`` extra; ``import
structgen`` imports none of it. See docs/serve.md.
"""

from structgen.serve.app import create_app
from structgen.serve.server import Running, bind, serve, start

__all__ = ["Running", "bind", "create_app", "serve", "start"]
