"""Engine adapters behave alike (mask, advance, EOS, errors), judged by jsonschema and json.dumps; the speed bench runs."""

import json
import random
import sys
import time

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from jsonschemabench.engines import (
    ENGINES,
    EngineCompileError,
    EngineUnavailableError,
    canonical_name,
    default_tokenizer,
    make_engine,
    token_bytes,
)
from jsonschemabench.engines.tokenizer import tokenizer_from_smollm2_gguf

SCHEMAS = {
    "integer": {"type": "integer", "minimum": -5, "maximum": 1000},
    "enum": {"enum": ["red", "green", None, 7]},
    "object": {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 12}, "tags": {"type": "array", "items": {"type": "boolean"}}},
        "required": ["name", "tags"],
        "additionalProperties": False,
    },
}
VALUES = [7, -5, 1000, "red", None, {"name": "Zoë \"x\"", "tags": [True, False]}, {"name": "", "tags": []}]
NOT_VALUES = [1001, -6, 2.5, "blue", 8, {"name": "a"}, {"name": "b", "tags": [], "x": 1}, {"name": "x" * 13, "tags": []}]

# Where a peer is known to disagree with the judge (the peer's gap, not the adapter's), keyed by the
# (schema, compact text); the disagreement itself is asserted, so a fixed peer shows up here.
KNOWN_WRONG = {
    "xgrammar": {
        ("object", '{"name":"Zoë \\"x\\"","tags":[true,false]}'): "0.2.9: no escapes in strings that have maxLength",
    },
    "outlines-core": {
        ("integer", "1001"): "integer bounds are approximated by digit counts (unsound)",
        ("integer", "-6"): "integer bounds are approximated by digit counts (unsound)",
    },
}


@pytest.fixture(scope="module")
def tokenizer(request):
    try:
        return default_tokenizer()
    except Exception:
        return tokenizer_from_smollm2_gguf(request.config.cache.mkdir("smollm2-tokenizer"))


def structgen_skip_reason(engine) -> str | None:
    try:
        engine.compile({"type": "integer"})
    except (ImportError, NotImplementedError, AttributeError) as error:
        return f"structgen.compile_json_schema is not usable yet: {type(error).__name__}: {error}"
    return None


@pytest.fixture(scope="module", params=list(ENGINES))
def engine(request, tokenizer):
    try:
        built = make_engine(request.param, tokenizer)
    except EngineUnavailableError as error:
        pytest.skip(f"{request.param} not available: {error}")
    if request.param == "structgen" and (reason := structgen_skip_reason(built)):
        pytest.skip(reason)
    return built


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def accepts(engine, start, text: str) -> bool:
    """Whether the engine lets the tokens of `text` through and then allows EOS; checks mask and advance agree."""
    matcher = start.fresh()
    eos = engine.eos_token_ids[0]
    for token in engine.tokenizer.encode(text, add_special_tokens=False):
        allowed = matcher.mask()
        assert allowed.shape == (engine.vocab_size,) and allowed.dtype == bool
        assert allowed[eos] == matcher.is_accepting()
        if not allowed[token]:
            assert not matcher.advance(token)
            return False
        assert matcher.advance(token)
    return matcher.is_accepting() and matcher.mask()[eos]


@pytest.mark.parametrize("schema_name", SCHEMAS)
def test_valid_instances_are_accepted_and_invalid_ones_refused(engine, schema_name):
    schema = SCHEMAS[schema_name]
    judge = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    start = engine.compile(schema)
    wrong = []
    for value in VALUES + NOT_VALUES:
        text = compact(value)
        expected = judge.is_valid(value) != ((schema_name, text) in KNOWN_WRONG.get(engine.name, {}))
        if accepts(engine, start, text) != expected:
            wrong.append(text)
    assert not wrong, (engine.name, schema, wrong)


def test_rejected_token_leaves_state_unchanged(engine, tokenizer):
    matcher = engine.compile(SCHEMAS["integer"])
    allowed = matcher.mask()
    rng = random.Random(0)
    refused = [t for t in rng.sample(range(engine.vocab_size), 300) if not allowed[t]]
    assert refused
    for token in refused:
        assert not matcher.advance(token)
    assert np.array_equal(matcher.mask(), allowed)
    assert all(matcher.advance(t) for t in tokenizer.encode("42", add_special_tokens=False))
    assert matcher.is_accepting()


def test_eos_ends_the_matcher(engine, tokenizer):
    matcher = engine.compile({"enum": [True]})
    eos = engine.eos_token_ids[0]
    assert not matcher.advance(eos)
    for token in tokenizer.encode("true", add_special_tokens=False):
        assert matcher.advance(token)
    assert matcher.advance(eos)
    assert not matcher.mask().any() and not matcher.advance(eos)


def test_unsupported_schema_is_a_compile_error(engine):
    with pytest.raises(EngineCompileError):
        engine.compile({"type": "string", "pattern": "(?<=a)b"})


def test_missing_package_is_a_status_not_a_crash(tokenizer, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgrammar", None)  # makes `import xgrammar` raise ImportError
    with pytest.raises(EngineUnavailableError, match="not installed"):
        make_engine("xgrammar", tokenizer)
    with pytest.raises(ValueError, match="unknown engine"):
        canonical_name("guidance")
    assert canonical_name("outlines") == "outlines-core"


def test_token_bytes_match_the_tokenizers_own_decoding(tokenizer):
    pieces = token_bytes(tokenizer)
    assert pieces[tokenizer.eos_token_id] is None
    checked = 0
    for token_id in random.Random(1).sample(range(len(pieces)), 2000):
        piece = pieces[token_id]
        if piece is None:
            continue
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError:
            continue  # a token ending inside a UTF-8 character
        assert tokenizer.decode([token_id], clean_up_tokenization_spaces=False) == text
        checked += 1
    assert checked > 1500


# --- the compile/mask bench ----------------------------------------------------------------------

from bench.compile_mask import SchemaOutcome, TimedWorker, WorkerTimeout, main, summarize  # noqa: E402


def _sleepy(state, seconds):
    time.sleep(seconds)
    yield seconds


def test_timed_worker_survives_a_hang():
    worker = TimedWorker(lambda: None, _sleepy)
    try:
        with pytest.raises(WorkerTimeout):
            list(worker.run(5.0, [0.3]))
        assert list(worker.run(0.0, [30.0])) == [0.0]
    finally:
        worker.stop()


def test_ratios_use_only_schemas_both_engines_handled():
    def outcome(i, compile_s, mask_ns, status="compiled"):
        return SchemaOutcome("d", str(i), status, compile_s=compile_s, mask_ns=mask_ns)

    outcomes = {
        "base": [outcome(0, 1.0, [10, 10]), outcome(1, 3.0, [30]), outcome(2, 9.0, [90])],
        "mine": [outcome(0, 2.0, [20, 20]), outcome(1, 6.0, [60]), outcome(2, None, [], status="timeout")],
    }
    summary = summarize(outcomes, ["d"], compile_baseline="base", mask_baseline="base")
    mine = summary["mine"]
    assert mine["coverage"]["d"] == {"compiled": 2, "attempted": 3, "coverage": 2 / 3}
    assert mine["compile_vs_base"]["p50_ratio"] == pytest.approx(2.0)  # 4.0 ms vs 2.0 ms on schemas 0 and 1
    assert mine["mask_vs_base"]["p50_ratio"] == pytest.approx(2.0)
    assert summary["base"]["compile_ms"]["p50"] == pytest.approx(3000.0)


def test_bench_runs_on_two_tiny_schemas(tokenizer, tmp_path):
    peers = []
    for name in ("xgrammar", "llguidance"):
        try:
            make_engine(name, tokenizer)
            peers.append(name)
        except EngineUnavailableError:
            pass
    if not peers:
        pytest.skip("no peer engine installed")
    schemas = tmp_path / "tiny.jsonl"
    schemas.write_text("\n".join(json.dumps(SCHEMAS[name]) for name in ("integer", "object")))
    out = tmp_path / "result.json"
    result = main(
        ["--schemas", str(schemas), "--per-dataset", "2", "--engines", ",".join(peers), "--quiet", "--out", str(out),
         "--compile-baseline", peers[0], "--mask-baseline", peers[-1], "--compile-timeout", "60"],
        tokenizer=tokenizer,
    )
    assert json.loads(out.read_text())["n_schemas"] == 2
    assert result["n_instances"] == 2
    for name in peers:
        summary = result["summary"][name]
        assert summary["coverage"]["tiny"]["coverage"] == 1.0
        assert summary["valid_rejected"] == 0 and summary["instances_walked"] == 2
        assert summary["mask_us"]["n"] >= 4
    if len(peers) == 2:
        assert result["summary"][peers[0]][f"mask_vs_{peers[1]}"]["p50_ratio"] > 0


def test_an_instance_cut_at_max_tokens_is_walked_not_rejected(tokenizer, tmp_path):
    """A prefix cut at --max-tokens cannot end: only its tokens are checked, not end-of-sequence after them."""
    schemas = tmp_path / "tiny.jsonl"
    schemas.write_text(json.dumps(SCHEMAS["object"]))
    result = main(["--schemas", str(schemas), "--per-dataset", "1", "--engines", "structgen", "--quiet",
                   "--out", str(tmp_path / "result.json"), "--compile-baseline", "structgen",
                   "--mask-baseline", "structgen", "--max-tokens", "2"], tokenizer=tokenizer)
    summary = result["summary"]["structgen"]
    assert summary["valid_rejected"] == 0 and summary["instances_walked"] == 1
    assert summary["mask_us"]["n"] == 3  # two tokens and the end of the prefix
