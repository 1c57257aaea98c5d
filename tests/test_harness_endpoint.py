"""The harness against a running server: `jsonschemabench run --engines openai:URL` end to end.

The fast tests serve the tiny random model (SmolLM2's tokenizer and chat template) with `structgen serve`'s
app on a real port in this process, and run the harness's command (`jsonschemabench.cli.main`) against
it; the slow one starts the real `structgen serve` command with the default model and runs the
`jsonschemabench` command in a process of its own. Judges: `structgen.judge.validator_for` on the
recorded texts, the chat template's own token count, `structgen.generate` called directly (what the
server must give for the benchmark's request), and the server's own answer to the same refused request.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")

from jsonschemabench.cli import main  # noqa: E402
from jsonschemabench.datasets import load_dataset  # noqa: E402
from jsonschemabench.endpoint import parse_endpoint  # noqa: E402
from jsonschemabench.engine_specs import parse_engine  # noqa: E402
from jsonschemabench.prompts import prompt_messages, prompt_token_ids  # noqa: E402
from jsonschemabench.results import read_records  # noqa: E402
from test_harness import judge_says_valid  # noqa: E402 - structgen.judge.validator_for on the parsed text
from test_serve import real_server  # noqa: E402,F401 - `structgen serve` with the default model, a process of its own

ROOT = Path(__file__).resolve().parent.parent
MODEL = "tiny"
MAX_TOKENS = 24
OBJECT = {"type": "object", "properties": {"ok": {"type": "boolean"}, "size": {"enum": ["S", "M", "L"]}},
          "required": ["ok", "size"], "additionalProperties": False}
UNSATISFIABLE = {"type": "integer", "minimum": 5, "maximum": 1}
UNSUPPORTED = {"type": "object", "properties": {"a": {"type": "string"}}, "unevaluatedProperties": False}


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert captured.err.startswith("jsonschemabench: error: argument --engines: ") and not captured.out
    return captured.err


@pytest.fixture(scope="module")
def server(tiny_lm):
    from structgen.serve import create_app, start

    with start(create_app(tiny_lm, model_name=MODEL, max_concurrency=4)) as running:
        yield running


@pytest.fixture(scope="module")
def address(server) -> str:
    return server.url.removeprefix("http://")


# -- the spec ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, label, base_url, model, via", [
    ("openai:http://127.0.0.1:8000/v1", "openai:127.0.0.1:8000", "http://127.0.0.1:8000/v1", None, "response_format"),
    ("openai:http://127.0.0.1:8000/v1/", "openai:127.0.0.1:8000", "http://127.0.0.1:8000/v1", None, "response_format"),
    ("openai:http://127.0.0.1:8000", "openai:127.0.0.1:8000", "http://127.0.0.1:8000/v1", None, "response_format"),
    ("openai:http://127.0.0.1:8000/v1:smollm2", "openai:127.0.0.1:8000:smollm2", "http://127.0.0.1:8000/v1",
     "smollm2", "response_format"),
    ("openai:http://127.0.0.1:8000:smollm2", "openai:127.0.0.1:8000:smollm2", "http://127.0.0.1:8000/v1",
     "smollm2", "response_format"),
    ("openai:http://localhost:8080/v1:llama3:8b", "openai:localhost:8080:llama3:8b", "http://localhost:8080/v1",
     "llama3:8b", "response_format"),
    ("openai:http://models.internal/openai/v1:m", "openai:models.internal/openai/v1:m",
     "http://models.internal/openai/v1", "m", "response_format"),
    ("openai:https://[::1]:9000/v1", "openai:https://[::1]:9000", "https://[::1]:9000/v1", None, "response_format"),
    (" openai+xargs:http://127.0.0.1:8000/v1:Qwen/Qwen2.5-0.5B ", "openai+xargs:127.0.0.1:8000:Qwen/Qwen2.5-0.5B",
     "http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-0.5B", "vllm_xargs"),
])
def test_endpoint_specs(spec, label, base_url, model, via):
    endpoint = parse_endpoint(spec)
    assert (endpoint.label, endpoint.base_url, endpoint.model, endpoint.schema_via) == (label, base_url, model, via)
    engine = parse_engine(spec)
    assert engine.kind == "endpoint" and engine.label == label and engine.endpoint == endpoint


@pytest.mark.parametrize("spec", ["openai", "openai:", "openai:127.0.0.1:8000", "openai:ftp://host/v1",
                                  "openai:http://127.0.0.1:0/v1", "openai:http://127.0.0.1:70000/v1",
                                  "openai:http://127.0.0.1:8000/v1:", "openai:http://host/v1?key=1",
                                  "openai+grammar:http://127.0.0.1:8000/v1"])
def test_malformed_endpoint_specs_are_refused(spec):
    with pytest.raises(ValueError, match="openai"):
        parse_engine(spec)


# -- runs -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_run(server, tmp_path_factory):
    """Two Glaiveai2K schemas, structgen's in-process engine and the server, in one run."""
    out = tmp_path_factory.mktemp("endpoint-run")
    engines = f"structgen-lcd,openai:{server.url}/v1"
    assert main(["run", "--engines", engines, "--datasets", "Glaiveai2K", "--limit", "2", "--model", "tiny",
                 "--max-tokens", str(MAX_TOKENS), "--threads", "1", "--quiet", "--out", str(out)]) == 0
    return out


def test_a_server_is_measured_like_an_in_process_engine(mixed_run, address, tiny_lm, smollm2_tokenizer):
    import structgen

    schemas = {r.id: r.schema for r in load_dataset("Glaiveai2K")[:2]}
    records = read_records(mixed_run / "results.jsonl")
    label = f"openai:{address}"
    assert sorted((r["engine"], r["id"]) for r in records) == sorted(
        (engine, i) for engine in ("structgen-lcd", label) for i in schemas)
    for r in records:
        schema = schemas[r["id"]]
        assert r["status"] == "ok" and r["compiled"], r
        assert r["valid"] == judge_says_valid(r["text"], schema), r
        assert r["prompt_tokens"] == len(prompt_token_ids(smollm2_tokenizer, schema))  # the same prompt
        assert 1 <= r["output_tokens"] <= MAX_TOKENS + 1 and r["ttft_s"] > 0 and r["tpot_s"] > 0, r
        if r["engine"] != label:
            continue
        assert r["compile_s"] is None and r["served_model"] == MODEL and r["temperature"] == 0
        assert r["ttft_s"] <= r["answered_s"] + r["generation_s"]
        # What the server must give for the benchmark's request: greedy, the run's token limit
        direct = structgen.generate(schema, prompt_token_ids(smollm2_tokenizer, schema), model=tiny_lm,
                                    temperature=0, max_tokens=MAX_TOKENS)
        assert r["text"] == direct.text and r["output_tokens"] == len(direct.tokens), r
        assert r["finished"] == (r["stop_reason"] == "end_of_sequence")
    settings = json.loads((mixed_run / "run.json").read_text())
    assert settings["endpoints"] == {label: {"url": f"http://{address}/v1", "model": MODEL,
                                             "schema_via": "response_format"}}


def test_the_report_takes_endpoint_records_unchanged(mixed_run, address, capsys):
    assert main(["report", str(mixed_run), "--no-plots"]) == 0
    printed = capsys.readouterr().out
    label = f"openai:{address}"
    assert f"`{label}`: a server, model `{MODEL}`" in printed
    summary = json.loads((mixed_run / "summary.json").read_text())
    records = [r for r in read_records(mixed_run / "results.jsonl") if r["engine"] == label]
    covered = summary["coverage"][label]["all"]
    assert (covered["schemas"], covered["declared"], covered["empirical"]) == (2, 2, sum(r["valid"] for r in records))
    efficiency = summary["efficiency"]["engines"][label]
    assert efficiency["gct_ms"] is None and efficiency["ttft_ms"] > 0 and efficiency["tpot_ms"] > 0


def test_a_schema_the_server_refuses_is_not_covered_with_its_reason(server, address, tmp_path):
    schemas = tmp_path / "schemas.jsonl"
    schemas.write_text("".join(json.dumps({"schema": s}) + "\n" for s in (OBJECT, UNSATISFIABLE, UNSUPPORTED)))
    out = tmp_path / "out"
    assert main(["run", "--engines", f"openai:{server.url}/v1:{MODEL}", "--schemas", str(schemas),
                 "--max-tokens", "60", "--quiet", "--out", str(out)]) == 0
    records = {r["id"]: r for r in read_records(out / "results.jsonl")}
    assert {r["engine"] for r in records.values()} == {f"openai:{address}:{MODEL}"}
    made = records["1"]
    assert made["status"] == "ok" and made["finished"] and made["valid"] and judge_says_valid(made["text"], OBJECT)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    for id, schema in (("2", UNSATISFIABLE), ("3", UNSUPPORTED)):
        with pytest.raises(openai.BadRequestError) as refusal:  # the server's answer to the same request
            client.chat.completions.create(model=MODEL, messages=prompt_messages(schema), response_format={
                "type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": True}})
        r = records[id]
        assert r["status"] == "compile_error" and not r["compiled"] and not r["valid"], r
        assert r["error"] == refusal.value.body["message"] and r["answered_s"] > 0
    assert not (out / "worker.log").exists()  # no worker process started: no model loaded here


@pytest.mark.parametrize("option, status, compiled", [("--compile-timeout", "compile_timeout", False),
                                                      ("--generation-timeout", "generation_timeout", True)])
def test_a_server_past_a_timeout_costs_that_schema(server, tmp_path, option, status, compiled):
    """A microsecond: the answer (compile), or the first chunk after it (generation), always comes later."""
    schemas = tmp_path / "schemas.jsonl"
    schemas.write_text(json.dumps({"schema": OBJECT}) + "\n")
    out = tmp_path / "out"
    assert main(["run", "--engines", f"openai:{server.url}/v1", "--schemas", str(schemas), option, "1e-6",
                 "--quiet", "--out", str(out)]) == 0
    [record] = read_records(out / "results.jsonl")
    assert record["status"] == status and record["compiled"] is compiled and not record["valid"], record
    assert record["error"].startswith("timeout: the server "), record


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_cannot_serve_the_run_is_one_line_exit_2(server, tmp_path, capsys):
    out = tmp_path / "out"
    cases = [(f"openai:http://127.0.0.1:{free_port()}/v1", "cannot reach the server"),
             (f"openai:{server.url}/v2", "HTTP 404"),
             (f"openai:{server.url}/v1:gpt-4o", f"does not serve 'gpt-4o' (it serves '{MODEL}')"),
             (f"openai+xargs:{server.url}/v1", "refuses a plain schema sent in vllm_xargs")]
    for spec, says in cases:
        assert main(["run", "--engines", f"structgen-lcd,{spec}", "--datasets", "Glaiveai2K", "--limit", "1",
                     "--model", "tiny", "--quiet", "--out", str(out)]) == 2
        assert says in one_error_line(capsys), spec
    assert main(["testsuite", "--engines", f"openai:{server.url}/v1", "--out", str(out)]) == 2
    assert "for `jsonschemabench run` only" in one_error_line(capsys)
    assert list(out.iterdir()) == []  # no work started


# -- the real command, the default model (slow) -----------------------------------------------------------------


@pytest.mark.slow
def test_the_command_measures_structgen_serve_on_the_default_model(real_server, tmp_path, smollm2_tokenizer):
    name, url = real_server
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "jsonschemabench.cli", "run", "--engines", f"openai:{url}",
                           "--datasets", "Glaiveai2K", "--limit", "2", "--max-tokens", "64",
                           "--generation-timeout", "900", "--quiet", "--out", str(out)],  # a busy box is slow
                          capture_output=True, text=True, cwd=ROOT, timeout=2400)
    assert done.returncode == 0, done.stderr
    schemas = {r.id: r.schema for r in load_dataset("Glaiveai2K")[:2]}
    records = read_records(out / "results.jsonl")
    assert sorted(r["id"] for r in records) == sorted(schemas)
    for r in records:
        assert r["status"] == "ok" and r["valid"] == judge_says_valid(r["text"], schemas[r["id"]]), r
        assert r["engine"] == "openai:" + url.removeprefix("http://").removesuffix("/v1") and r["served_model"] == name
        assert r["prompt_tokens"] == len(prompt_token_ids(smollm2_tokenizer, schemas[r["id"]]))
        assert r["ttft_s"] > 0 and r["tpot_s"] > 0
        if r["finished"]:  # structgen is sound: an output it ended is valid
            assert r["valid"], r
    report = subprocess.run([sys.executable, "-m", "jsonschemabench.cli", "report", str(out), "--no-plots"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert report.returncode == 0 and "## Efficiency" in report.stdout, report.stderr
