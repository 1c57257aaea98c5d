"""`structgen serve`: a live server on 127.0.0.1, spoken to with the official `openai` client and with
plain HTTP (http.client). The fast tests serve the tiny random model (an adversary: only the constraint
makes its output valid); the slow ones run the real `structgen serve` command with the default model.
Judges: jsonschema, `re.fullmatch`, json, the chat template's own token count, and `structgen.generate`
called directly (the same request must give the same output)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")

ROOT = Path(__file__).resolve().parent.parent
MODEL = "tiny"
OBJECT = {"type": "object", "properties": {"ok": {"type": "boolean"}, "size": {"enum": ["S", "M", "L"]}},
          "required": ["ok", "size"], "additionalProperties": False}
USER = [{"role": "user", "content": "Describe a shirt."}]


@pytest.fixture(scope="module")
def server(tiny_lm):
    from structgen.serve import create_app, start

    app = create_app(tiny_lm, model_name=MODEL, max_concurrency=16)
    with start(app) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=600)


def raw(server, method: str, path: str, body=None, headers=None):
    """(status, parsed JSON body or text) of one plain HTTP request."""
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=600)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    connection.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    try:
        return response.status, json.loads(text)
    except json.JSONDecodeError:
        return response.status, text


def chat(client, **kwargs):
    kwargs.setdefault("messages", USER)
    return client.chat.completions.create(model=MODEL, **kwargs)


def schema_format(schema, strict=True):
    return {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": strict}}


# -- what a user asks for ----------------------------------------------------------------------------------


def test_models_and_health(server, client):
    assert [m.id for m in client.models.list().data] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL
    status, body = raw(server, "GET", "/health")
    assert status == 200 and body["status"] == "ok" and body["model"] == MODEL


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_json_schema_output_is_valid(client, seed, smollm2_tokenizer):
    out = chat(client, response_format=schema_format(OBJECT), seed=seed, max_tokens=60)
    choice = out.choices[0]
    jsonschema.validate(json.loads(choice.message.content), OBJECT)
    assert choice.finish_reason == "stop" and choice.structgen["valid"] is True
    template = smollm2_tokenizer.apply_chat_template(USER, add_generation_prompt=True, tokenize=False)
    assert out.usage.prompt_tokens == len(smollm2_tokenizer.encode(template, add_special_tokens=False))
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens


def test_the_server_gives_what_generate_gives(client, tiny_lm, smollm2_tokenizer):
    import structgen

    out = chat(client, response_format=schema_format(OBJECT), temperature=0, max_tokens=60)
    template = smollm2_tokenizer.apply_chat_template(USER, add_generation_prompt=True, tokenize=False)
    direct = structgen.generate(OBJECT, smollm2_tokenizer.encode(template, add_special_tokens=False),
                                model=tiny_lm, temperature=0, max_tokens=60)
    assert out.choices[0].message.content == direct.text
    assert out.usage.completion_tokens == len(direct.tokens)


def test_json_object(client):
    out = chat(client, response_format={"type": "json_object"}, seed=3, max_tokens=40)
    choice = out.choices[0]
    if choice.finish_reason == "stop":
        assert isinstance(json.loads(choice.message.content), dict) and choice.structgen["valid"]
    else:  # the random model rambled: cut, and said so
        assert choice.finish_reason == "length" and not choice.structgen["valid"]
        assert out.usage.completion_tokens == 40


@pytest.mark.parametrize("pattern", [r"[a-z]{3}-\d{2}", r"(yes|no|maybe)", r"\d{1,3}(\.\d{1,2})?"])
def test_regex_in_the_extension_field(client, pattern):
    for seed in range(3):
        out = chat(client, extra_body={"structgen": {"regex": pattern}}, seed=seed)
        assert re.fullmatch(pattern, out.choices[0].message.content), out.choices[0].message.content
        assert out.choices[0].finish_reason == "stop"


def test_grammar_as_text_and_by_name(client):
    gbnf = 'root ::= item ("," item)?\nitem ::= "yes" | "no"'
    out = chat(client, extra_body={"structgen": {"grammar": gbnf}}, seed=0)
    assert re.fullmatch(r"(yes|no)(,(yes|no))?", out.choices[0].message.content)
    out = chat(client, extra_body={"structgen": {"grammar": "json"}}, seed=0, max_tokens=30)
    choice = out.choices[0]
    if choice.finish_reason == "stop":
        json.loads(choice.message.content)
    else:
        assert not choice.structgen["valid"] and out.usage.completion_tokens == 30


def test_cut_at_max_tokens_is_length(client):
    out = chat(client, extra_body={"structgen": {"regex": r"\d{40}"}}, max_tokens=3)
    choice = out.choices[0]
    assert choice.finish_reason == "length" and choice.structgen["valid"] is False
    assert "max_tokens" in choice.structgen["reason"] and out.usage.completion_tokens == 3
    assert re.fullmatch(r"\d+", choice.message.content)


@pytest.mark.parametrize("sampler", ["awrs", "smc"])
def test_sampler_extensions(client, sampler):
    out = chat(client, extra_body={"structgen": {"regex": r"[a-c]{2}\d", "sampler": sampler, "particles": 2}},
               seed=0)
    assert re.fullmatch(r"[a-c]{2}\d", out.choices[0].message.content) and out.choices[0].structgen["valid"]


def test_n_choices_are_independent_and_valid(client):
    out = chat(client, response_format=schema_format(OBJECT), n=3, seed=5, max_tokens=60)
    assert [c.index for c in out.choices] == [0, 1, 2]
    for choice in out.choices:
        jsonschema.validate(json.loads(choice.message.content), OBJECT)


def test_lenient_schema_reports_what_it_ignored(client):
    schema = {**OBJECT, "unevaluatedProperties": False}
    with pytest.raises(openai.BadRequestError) as e:
        chat(client, response_format=schema_format(schema))
    assert e.value.status_code == 400 and "unevaluatedProperties" in e.value.body["message"]
    out = chat(client, response_format=schema_format(schema, strict=False), max_tokens=60)
    jsonschema.validate(json.loads(out.choices[0].message.content), OBJECT)
    assert out.choices[0].structgen["ignored"] == [{"keyword": "unevaluatedProperties", "pointer": ""}]


# -- streaming ----------------------------------------------------------------------------------------------


def test_stream_joins_to_the_whole_answer(client):
    pattern = r"[a-z]{4}-\d{3}"
    whole = chat(client, extra_body={"structgen": {"regex": pattern}}, temperature=0)
    chunks = list(chat(client, extra_body={"structgen": {"regex": pattern}}, temperature=0, stream=True,
                       stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert re.fullmatch(pattern, text) and text == whole.choices[0].message.content
    finished = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finished == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_is_server_sent_events_ending_in_done(server):
    body = {"model": MODEL, "prompt": "Count:", "max_tokens": 4, "stream": True,
            "structgen": {"regex": r"\d{10}"}}
    status, text = raw(server, "POST", "/v1/completions", body)
    assert status == 200
    events = [e for e in text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert re.fullmatch(r"\d{1,4}", "".join(c["choices"][0]["text"] for c in chunks))  # a digit per token
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"  # ten digits do not fit in four tokens


def test_a_client_leaving_mid_stream_holds_nobody_up(server, client):
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=600)
    body = {"model": MODEL, "messages": USER, "max_tokens": 200, "stream": True, "structgen": {"regex": r"\d{200}"}}
    connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and response.readline().startswith(b"data: ")
    connection.close()  # gone, mid-stream
    out = chat(client, extra_body={"structgen": {"regex": r"(yes|no)"}})  # would wait forever on a stuck member
    assert re.fullmatch(r"yes|no", out.choices[0].message.content)


# -- completions --------------------------------------------------------------------------------------------


def test_completions_text_lists_and_token_ids(client, smollm2_tokenizer):
    prompts = ["The answer is", "A colour:"]
    out = client.completions.create(model=MODEL, prompt=prompts, n=2, seed=0,
                                    extra_body={"structgen": {"regex": r" ?(red|green|blue|\d{1,2})"}})
    assert [c.index for c in out.choices] == [0, 1, 2, 3]
    assert all(re.fullmatch(r" ?(red|green|blue|\d{1,2})", c.text) for c in out.choices)
    assert out.usage.prompt_tokens == sum(len(smollm2_tokenizer.encode(p)) for p in prompts)
    ids = smollm2_tokenizer.encode("Numbers:")
    out = client.completions.create(model=MODEL, prompt=ids,
                                    extra_body={"structgen": {"regex": r"\d{2}"}})
    assert re.fullmatch(r"\d{2}", out.choices[0].text) and out.usage.prompt_tokens == len(ids)


def test_completions_json_schema_extension(client):
    out = client.completions.create(model=MODEL, prompt="Shirt:", max_tokens=60,
                                    extra_body={"response_format": schema_format(OBJECT)})
    jsonschema.validate(json.loads(out.choices[0].text), OBJECT)


# -- concurrency and caching --------------------------------------------------------------------------------


def test_concurrent_requests_are_all_answered_and_valid(server, client):
    served = raw(server, "GET", "/health")[1]["served_requests"]
    results: list = [None] * 12

    def ask(i):
        if i % 2:
            out = chat(client, response_format=schema_format(OBJECT), seed=i, max_tokens=60)
            jsonschema.validate(json.loads(out.choices[0].message.content), OBJECT)
        else:
            out = chat(client, extra_body={"structgen": {"regex": r"[a-z]{2}\d{2}"}}, seed=i)
            assert re.fullmatch(r"[a-z]{2}\d{2}", out.choices[0].message.content)
        results[i] = out.choices[0].finish_reason

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["stop"] * 12
    health = raw(server, "GET", "/health")[1]
    assert health["served_requests"] == served + 12 and health["active_requests"] == 0


def test_compiled_structures_are_reused(server, client):
    schema = {"type": "object", "properties": {"reused": {"type": "boolean"}}, "required": ["reused"],
              "additionalProperties": False}
    before = raw(server, "GET", "/health")[1]["compiled_cache"]
    for seed in range(3):
        chat(client, response_format=schema_format(schema), seed=seed, max_tokens=30)
    after = raw(server, "GET", "/health")[1]["compiled_cache"]
    assert after["misses"] == before["misses"] + 1 and after["hits"] == before["hits"] + 2


def test_members_joined_together_share_every_forward_pass(tiny_lm, smollm2_tokenizer):
    """Two generations that joined before their first step: each step is one call for both, and each
    gets what it gets alone."""
    import structgen
    from structgen.serve.batcher import SharedModel

    constraint = structgen.compile_regex(r"\d{5}", tiny_lm.vocabulary)
    prompts = [smollm2_tokenizer.encode("Digits:"), smollm2_tokenizer.encode("A longer prompt, then digits:")]
    alone = [structgen.sample(tiny_lm, constraint, p, sampler="lcd", temperature=0).best().tokens for p in prompts]
    shared = SharedModel(tiny_lm)
    members = [shared.member(), shared.member()]
    for m in members:
        m.join()
    together: list = [None, None]

    def run(i):
        with members[i]:
            together[i] = structgen.sample(members[i], constraint, prompts[i], sampler="lcd",
                                           temperature=0).best().tokens

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone
    steps = len(alone[0])  # five digits: one model call each (the sixth step needs none: complete)
    assert shared.stats["forward_calls"] == steps and shared.stats["largest_batch"] == 2
    assert shared.stats["contexts"] == 2 * steps


# -- refusals -----------------------------------------------------------------------------------------------

BASE = {"model": MODEL, "messages": USER}
REFUSALS = [
    (b"{not json", 400, None, "invalid_json"),
    (b"[]", 400, None, "invalid_value"),
    ({"model": MODEL}, 400, "messages", "invalid_value"),
    ({**BASE, "messages": []}, 400, "messages", "invalid_value"),
    ({**BASE, "messages": [{"role": "wizard", "content": "x"}]}, 400, "messages.0.role", "invalid_value"),
    ({**BASE, "temperature": -1}, 400, "temperature", "invalid_value"),
    ({**BASE, "max_tokens": 0}, 400, "max_tokens", "invalid_value"),
    ({**BASE, "n": 0}, 400, "n", "invalid_value"),
    ({**BASE, "stop": ["\n"]}, 400, "stop", "unsupported_parameter"),
    ({**BASE, "tools": [{"type": "function"}]}, 400, "tools", "unsupported_parameter"),
    ({**BASE, "temprature": 0.5}, 400, "temprature", "unknown_parameter"),
    ({**BASE, "response_format": {"type": "xml"}}, 400, "response_format.type", "invalid_value"),
    ({**BASE, "response_format": {"type": "json_schema"}}, 400, "response_format", "invalid_value"),
    ({**BASE, "response_format": schema_format({"type": "nonsense"})}, 400,
     "response_format.json_schema.schema", "invalid_schema"),
    ({**BASE, "response_format": schema_format({"type": "integer", "minimum": 5, "maximum": 1})}, 400,
     "response_format.json_schema.schema", "unsatisfiable_schema"),
    ({**BASE, "structgen": {"regex": "(ab"}}, 400, "structgen.regex", "regex_syntax"),
    ({**BASE, "structgen": {"regex": r"(a)\1"}}, 400, "structgen.regex", "unsupported_regex"),
    ({**BASE, "structgen": {"grammar": "root ::= undefined"}}, 400, "structgen.grammar", "invalid_grammar"),
    ({**BASE, "structgen": {"grammar": "root ::= ("}}, 400, "structgen.grammar", "grammar_syntax"),
    ({**BASE, "structgen": {"regex": "a", "grammar": "json"}}, 400, "structgen", "invalid_value"),
    ({**BASE, "structgen": {"regex": "a"}, "response_format": {"type": "json_object"}}, 400, "structgen",
     "invalid_value"),
    ({**BASE, "structgen": {"sampler": "beam"}}, 400, "structgen.sampler", "invalid_value"),
    ({**BASE, "structgen": {"particles": 0}}, 400, "structgen.particles", "invalid_value"),
    ({**BASE, "structgen": {"sampler": "smc"}, "stream": True}, 400, "stream", "invalid_value"),
    ({**BASE, "structgen": {"sampler": "awrs"}, "top_p": 0.5}, 400, "top_p", "invalid_value"),
    ({**BASE, "n": 2, "stream": True}, 400, "stream", "invalid_value"),
    ({**BASE, "stream_options": {"include_usage": True}}, 400, "stream_options", "unsupported_parameter"),
    ({**BASE, "max_tokens": 9000}, 400, "messages", "context_length_exceeded"),
    ({**BASE, "model": "gpt-4o"}, 404, "model", "model_not_found"),
]


@pytest.mark.parametrize("body, status, param, code", REFUSALS, ids=[str(i) for i in range(len(REFUSALS))])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_refusals_are_openai_error_objects(server, body, status, param, code, stream):
    if stream and isinstance(body, dict) and "stream" not in body and "stream_options" not in body:
        body = {**body, "stream": True}  # refused before the first event, with the same answer
    got, answer = raw(server, "POST", "/v1/chat/completions", body)
    assert got == status, answer
    assert set(answer) == {"error"} and set(answer["error"]) == {"message", "type", "param", "code"}
    assert answer["error"]["param"] == param and answer["error"]["code"] == code, answer
    assert answer["error"]["type"] == "invalid_request_error" and answer["error"]["message"]


def test_completions_refusals(server):
    for body, param in [({"model": MODEL, "prompt": []}, "prompt"),
                        ({"model": MODEL, "prompt": [10**9]}, "prompt"),
                        ({"model": MODEL, "prompt": "x", "echo": True}, "echo"),
                        ({"model": MODEL, "prompt": "x", "best_of": 3}, "best_of")]:
        got, answer = raw(server, "POST", "/v1/completions", body)
        assert got == 400 and answer["error"]["param"] == param, answer


def test_unknown_routes_and_methods(server):
    got, answer = raw(server, "GET", "/v2/nothing")
    assert got == 404 and answer["error"]["code"] == "not_found"
    got, answer = raw(server, "GET", "/v1/chat/completions")
    assert got == 405 and answer["error"]["code"] == "method_not_allowed"
    got, answer = raw(server, "GET", "/v1/models/gpt-4o")
    assert got == 404 and answer["error"]["code"] == "model_not_found"


def test_the_openai_client_sees_a_bad_schema_as_bad_request(client):
    with pytest.raises(openai.BadRequestError) as e:
        chat(client, response_format=schema_format({"type": "object", "properties": {"a": {"minLength": -1}}}))
    assert e.value.status_code == 400 and e.value.body["param"] == "response_format.json_schema.schema"
    assert chat(client, extra_body={"structgen": {"regex": "ok"}}).choices[0].message.content == "ok"


# -- the command ---------------------------------------------------------------------------------------------


def structgen_command(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "structgen", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("args, option", [
    (["--port", "70000"], "--port"),
    (["--port", "x"], "--port"),
    (["--max-concurrency", "0"], "--max-concurrency"),
    (["--max-tokens", "0"], "--max-tokens"),
    (["--model", "/no/such/model"], "--model"),
    (["--host", "no-such-host.invalid"], "--host"),
])
def test_serve_bad_arguments_are_one_line_exit_2(args, option):
    done = structgen_command("serve", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and option in done.stderr, done.stderr


def test_serve_refuses_a_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = structgen_command("serve", "--port", str(taken.getsockname()[1]))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--port" in done.stderr, done.stderr


def test_import_structgen_imports_no_server_stack():
    code = "import structgen, sys; print('fastapi' in sys.modules, 'uvicorn' in sys.modules, 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "False", "False"], done.stderr


# -- the real command and the default model (slow) -----------------------------------------------------------


@pytest.fixture(scope="module")
def real_server():
    """`structgen serve --port 0` in a process of its own, with the default model."""
    process = subprocess.Popen([sys.executable, "-m", "structgen", "serve", "--port", "0"], stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    line = process.stderr.readline()
    match = re.search(r"serving '([^']+)' at (http://\S+/v1)", line)
    assert match, line + process.stderr.read()
    yield match.group(1), match.group(2)
    process.terminate()
    process.wait(timeout=60)


@pytest.mark.slow
def test_real_model_json_schema_and_stream(real_server):
    from structgen import examples
    from structgen.judge import validator_for

    name, url = real_server
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=600)
    trail = json.loads(examples.read("hiking_trail"))
    out = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "Describe a hiking trail."}],
                                         response_format=schema_format(trail), max_tokens=512, seed=0)
    assert out.choices[0].finish_reason == "stop"
    assert validator_for(trail).is_valid(json.loads(out.choices[0].message.content))
    stream = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "A date?"}],
                                            extra_body={"structgen": {"regex": r"\d{4}-\d{2}-\d{2}"}}, stream=True)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", "".join(c.choices[0].delta.content or "" for c in stream))


@pytest.mark.slow
def test_docs_serve_snippets_run_as_written(real_server, tmp_path):
    """docs/serve.md's Python snippets, in order, against the live server (its address put in)."""
    from test_readme import fenced_blocks

    name, url = real_server
    code = "\n".join(body for info, body in fenced_blocks((ROOT / "docs" / "serve.md").read_text(encoding="utf-8"))
                     if info == "python")
    assert "http://127.0.0.1:8000/v1" in code
    done = subprocess.run([sys.executable, "-c", code.replace("http://127.0.0.1:8000/v1", url)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=1200)
    assert done.returncode == 0, done.stderr
