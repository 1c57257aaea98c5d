"""`structgen.generate` and the command line, end to end.

Judges: `jsonschema` (format checking on) for JSON, `re.fullmatch` for regexes.
The fast tests use the tiny random model; the slow one the real default model.
"""

import ast
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

import structgen
from structgen import cli, generation

TRAIL = json.loads(resources.files("structgen.examples").joinpath("hiking_trail.json").read_text())
SMALL = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "minimum": -5, "maximum": 5},
                   "tag": {"enum": ["a", "b", None]}},
    "required": ["ok", "n", "tag"],
    "additionalProperties": False,
}


def _validate(value, schema):
    jsonschema.validate(value, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("seed", range(4))
def test_generate_returns_a_valid_value(tiny_lm, seed):
    out = structgen.generate(SMALL, "Give me a record", model=tiny_lm, seed=seed, max_tokens=40)
    assert out.valid, out.reason
    _validate(out.value, SMALL)
    assert json.loads(out.text) == out.value
    assert out.stats["tokens"] == len(out.tokens) > 0
    assert out.stats["compile_time_s"] > 0 and out.stats["time_to_first_token_s"] > 0


def test_cut_off_output_is_not_presented_as_valid(tiny_lm):
    out = structgen.generate(TRAIL, "Describe a trail", model=tiny_lm, seed=0, max_tokens=5)
    assert not out.valid and out.value is None
    assert "max_tokens" in out.reason
    with pytest.raises(json.JSONDecodeError):
        json.loads(out.text)


def test_generate_regex(tiny_lm):
    pattern = r"[A-Z][a-z]{2,8} (19|20)[0-9]{2}"
    for seed in range(3):
        out = structgen.generate(regex=pattern, prompt="A name and a year", model=tiny_lm, seed=seed,
                                 max_tokens=20)
        assert out.valid, out.reason
        assert re.fullmatch(pattern, out.text)


@pytest.mark.parametrize("sampler", ["lcd", "awrs", "smc"])
def test_greedy_is_deterministic(tiny_lm, sampler):
    a = structgen.generate(SMALL, "x", model=tiny_lm, temperature=0, seed=1, max_tokens=40, sampler=sampler)
    b = structgen.generate(SMALL, "x", model=tiny_lm, temperature=0, seed=2, max_tokens=40, sampler=sampler)
    assert a.text == b.text


def test_greedy_awrs_and_lcd_agree(tiny_lm):
    """Temperature 0 is the allowed token with the highest log-probability, however it is found
    (fast-forward off: it appends forced bytes in the tokenizer's own split, which AWRS does not)."""
    lcd = structgen.generate(SMALL, "x", model=tiny_lm, temperature=0, max_tokens=40, fast_forward=False)
    awrs = structgen.generate(SMALL, "x", model=tiny_lm, temperature=0, max_tokens=40, sampler="awrs")
    assert lcd.tokens == awrs.tokens and lcd.valid and awrs.valid


def test_lenient_mode_reports_what_it_ignored(tiny_lm):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
              "additionalProperties": False, "unevaluatedProperties": False}
    with pytest.raises(structgen.UnsupportedSchemaError) as e:
        structgen.generate(schema, "x", model=tiny_lm)
    assert e.value.keyword == "unevaluatedProperties" and e.value.pointer == ""
    out = structgen.generate(schema, "x", model=tiny_lm, strict=False, max_tokens=20)
    assert ("unevaluatedProperties", "") in out.ignored


def test_unsatisfiable_schema_is_a_named_error(tiny_lm):
    with pytest.raises(structgen.UnsatisfiableSchemaError):
        structgen.generate({"type": "integer", "minimum": 5, "maximum": 4}, "x", model=tiny_lm)


# ------------------------------------------------------------------ command line


@pytest.fixture
def default_is_tiny(tiny_lm, monkeypatch):
    monkeypatch.setitem(generation._models, None, tiny_lm)


def test_cli_generate_prints_json(default_is_tiny, capsys):
    assert cli.main(["generate", "--schema", json.dumps(SMALL), "--prompt", "hi", "--max-tokens", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] and out["value"] == json.loads(out["text"])
    _validate(out["value"], SMALL)


def test_cli_generate_smc_prints_the_weighted_particles(default_is_tiny, capsys):
    argv = ["generate", "--schema", json.dumps(SMALL), "--prompt", "hi", "--max-tokens", "30", "--sampler", "smc",
            "--particles", "3", "--ess-threshold", "0.7", "--resampling", "systematic", "--json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["particles"]) == 3 and {"text", "log_weight", "finished", "reason"} <= set(out["particles"][0])
    assert out["stats"]["particles"] == 3 and out["stats"]["resampling"] == "systematic"
    for p in out["particles"]:
        if p["finished"]:
            _validate(json.loads(p["text"]), SMALL)


def test_cli_generate_from_file(default_is_tiny, capsys, tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SMALL))
    assert cli.main(["generate", "--schema", str(path), "--prompt", "hi", "--seed", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"]


@pytest.mark.parametrize("argv, message", [
    (["check", "--schema", "{not json"], "not valid JSON"),
    (["check", "--schema", "/nonexistent/schema.json"], "cannot read schema file"),
    (["check", "--schema", '{"type": "array", "unevaluatedItems": false}'], "unsupported 'unevaluatedItems' at /"),
    (["check", "--schema", '{"properties": {"a": {"type": "array", "unevaluatedItems": false}}}'],
     "unsupported 'unevaluatedItems' at /properties/a"),
    (["check", "--schema", '{"required": 5}'], "required"),
    (["check", "--regex", "(a)\\1"], "unsupported regex construct"),
    (["check", "--grammar", "/nonexistent/g.gbnf"], "cannot read grammar file"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_check_reports_acceptance(capsys):
    assert cli.main(["check", "--schema", '{"type":"integer","minimum":3}', "--text", "7"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] is True
    assert cli.main(["check", "--schema", '{"type":"integer","minimum":3}', "--text", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] is False


ARITHMETIC = Path(__file__).parent.parent / "grammars" / "arithmetic.gbnf"


def test_cli_check_grammar_and_recursive_schema(capsys, tmp_path):
    for text, accepted in [("1+2*(3-4)", True), ("1+", False)]:
        assert cli.main(["check", "--grammar", str(ARITHMETIC), "--text", text]) == 0
        assert json.loads(capsys.readouterr().out)["accepted"] is accepted
    linked = json.dumps({"type": "object", "properties": {"next": {"$ref": "#"}}, "additionalProperties": False})
    for text, accepted in [('{"next":{"next":{}}}', True), ('{"next":{"nxt":{}}}', False)]:
        assert cli.main(["check", "--schema", linked, "--text", text]) == 0
        assert json.loads(capsys.readouterr().out)["accepted"] is accepted
    bad = tmp_path / "bad.gbnf"
    bad.write_text('root ::= "a" | missing\n')
    assert cli.main(["check", "--grammar", str(bad)]) == 2
    assert "missing" in capsys.readouterr().err


def test_cli_generate_from_a_grammar(default_is_tiny, capsys):
    argv = ["generate", "--grammar", str(ARITHMETIC), "--prompt", "hi", "--max-tokens", "40", "--seed", "1", "--json"]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    if out["valid"]:  # the judge: Python parses the expression
        ast.parse(out["text"].replace("^", "**"), mode="eval")
    else:
        assert out["reason"].startswith("incomplete output")


def test_cli_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["generate", "--help"])
    text = capsys.readouterr().out
    for option in ("--schema", "--regex", "--grammar", "--prompt", "--sampler", "--max-tokens", "--temperature", "--seed",
                   "--model", "--whitespace", "--lenient", "--particles", "--ess-threshold", "--resampling",
                   "--estimator"):
        assert option in text


# ------------------------------------------------------------------ the real model


@pytest.mark.slow
def test_default_model_end_to_end():
    out = structgen.generate(TRAIL, "Describe a hiking trail in the Alps as JSON.", temperature=0, max_tokens=300)
    assert out.valid, out.reason
    _validate(out.value, TRAIL)


def test_state_budget_overrun_is_a_named_error(monkeypatch, capsys):
    from structgen import compile as compile_module

    monkeypatch.setattr(compile_module, "MAX_STATES", 50)
    schema = '{"type": "array", "items": {"type": "integer"}, "minItems": 100}'
    assert cli.main(["check", "--schema", schema]) == 2
    assert "automaton states" in capsys.readouterr().err
