"""Load test of `structgen serve`: concurrent clients, nothing lost, every answer valid; against
`structgen.generate` called directly on the same model in the same run.

    .venv/bin/python bench/serve_load.py                      # 32 clients x 2 requests, default model
    .venv/bin/python bench/serve_load.py --clients 8 --requests 1 --tiny   # seconds, the tiny random model

The server runs in this process (uvicorn in a thread, the same loaded model); each client is a thread
with its own official `openai` client, sending its requests one after another (a quarter of them
streamed). Every request asks for the same JSON Schema, strict; an answer counts as valid when the
HTTP status is 200, ``finish_reason`` is "stop" and jsonschema accepts the parsed content. The
direct run sends the same prompts through ``structgen.generate(schema, [one prompt per client])``,
one batched call per round (the library's own batching, no HTTP). Prints one JSON record: latency
p50/p99 and requests/s for both, and the server's ratios to the direct run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"enum": ["Paris", "Lagos", "Lima", "Oslo", "Pune", "Osaka"]},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}


def prompt(client: int, round_: int) -> str:
    return f"Invent person number {client + 1 + 100 * round_} as JSON: name, age and city."


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(latencies: list[float], wall: float) -> dict:
    return {"requests": len(latencies), "wall_s": round(wall, 3), "requests_per_s": round(len(latencies) / wall, 3),
            "latency_p50_s": round(percentile(latencies, 50), 3), "latency_p99_s": round(percentile(latencies, 99), 3),
            "latency_mean_s": round(statistics.fmean(latencies), 3)}


def run_direct(lm, args) -> dict:
    import jsonschema

    import structgen

    latencies, valid = [], 0
    start = time.perf_counter()
    for r in range(args.requests):
        t0 = time.perf_counter()
        results = structgen.generate(SCHEMA, [prompt(c, r) for c in range(args.clients)], model=lm,
                                     max_tokens=args.max_tokens, seed=1000 * r)
        took = time.perf_counter() - t0
        for result in results:
            latencies.append(took)  # every request of the batch waits for the whole batch
            if result.valid:
                jsonschema.validate(json.loads(result.text), SCHEMA)
                valid += 1
    out = summary(latencies, time.perf_counter() - start)
    out["valid"] = valid
    return out


def run_server(lm, args) -> dict:
    import jsonschema
    import openai

    from structgen.serve import create_app, start

    app = create_app(lm, model_name="bench", max_concurrency=args.clients)
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}
    latencies: list[float] = []
    failures: list[str] = []
    valid = [0]
    lock = threading.Lock()

    def client_thread(c: int, client) -> None:
        for r in range(args.requests):
            streamed = (c + r) % 4 == 0
            t0 = time.perf_counter()
            try:
                kwargs = dict(model="bench", messages=[{"role": "user", "content": prompt(c, r)}],
                              response_format=response_format, max_tokens=args.max_tokens, seed=1000 * r + c)
                if streamed:
                    chunks = list(client.chat.completions.create(stream=True, **kwargs))
                    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
                    finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
                    finish = finish[-1] if finish else None
                else:
                    out = client.chat.completions.create(**kwargs)
                    text, finish = out.choices[0].message.content, out.choices[0].finish_reason
                took = time.perf_counter() - t0
                ok = finish == "stop"
                if ok:
                    jsonschema.validate(json.loads(text), SCHEMA)
            except Exception as e:  # counted, not raised: the point is to see every failure
                with lock:
                    failures.append(f"client {c} request {r}: {type(e).__name__}: {e}")
                continue
            with lock:
                latencies.append(took)
                valid[0] += ok

    with start(app) as running:
        clients = [openai.OpenAI(base_url=running.url + "/v1", api_key="unused", max_retries=0, timeout=1800)
                   for _ in range(args.clients)]
        threads = [threading.Thread(target=client_thread, args=(c, clients[c])) for c in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        stats = app.state.engine.stats
    out = summary(latencies, wall) if latencies else {"requests": 0}
    out.update(sent=args.clients * args.requests, answered=len(latencies), valid=valid[0], failures=failures,
               batching=stats["batching"], compiled_cache=stats["compiled_cache"])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--requests", type=int, default=2, help="requests per client, in sequence (default 2)")
    parser.add_argument("--max-tokens", type=int, default=64, help="max_tokens of every request (default 64)")
    parser.add_argument("--model", default=None, help="model folder or .gguf (default: the embedded default model)")
    parser.add_argument("--tiny", action="store_true", help="the tiny random model instead (a smoke run)")
    parser.add_argument("--out", default=None, help="also write the record to this JSON file")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.max_tokens < 1:
        parser.error("--clients, --requests and --max-tokens must be at least 1")

    import torch

    import structgen
    from structgen.lm import load_model, tiny_random_model

    t0 = time.perf_counter()
    options = dict(cache_size=2 * args.clients, max_batch_size=args.clients)
    lm = tiny_random_model(**options) if args.tiny else load_model(args.model, **options)
    structgen.generate(SCHEMA, "warm-up", model=lm, max_tokens=4)  # numba's JIT and the first forward pass
    load_s = time.perf_counter() - t0
    direct = run_direct(lm, args)
    server = run_server(lm, args)
    record = {
        "model": "tiny random" if args.tiny else (args.model or "default (SmolLM2-135M-Instruct)"),
        "device": str(lm.device), "torch_threads": torch.get_num_threads(), "clients": args.clients,
        "requests_per_client": args.requests, "max_tokens": args.max_tokens, "load_and_warm_up_s": round(load_s, 1),
        "server": server, "direct_generate": direct,
        "server_over_direct": {
            "requests_per_s": round(server["requests_per_s"] / direct["requests_per_s"], 3),
            "latency_p50": round(server["latency_p50_s"] / direct["latency_p50_s"], 3),
            "latency_p99": round(server["latency_p99_s"] / direct["latency_p99_s"], 3),
        } if server.get("requests") else None,
        "nothing_lost": server["answered"] == server["sent"] and not server["failures"],
        "all_valid": server["valid"] == server["sent"],
    }
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0 if record["nothing_lost"] and record["all_valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
