"""The error boundary of `structgen` (command line and library): every bad input is a named error.

A bad argument, file, text or model path ends as a `StructgenError` subclass in the library and,
on the command line, as exactly one stderr line ``structgen: error: ...`` with exit code 2 and no
traceback. Cheap checks come first: none of these tests may load a model (`default_model` is
replaced by a function that fails the test), and an unexpected exception must still propagate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import structgen
from structgen import cli, errors, generation
from structgen.errors import InvalidArgumentError, ModelLoadError, NestingTooDeepError, StructgenError

SCHEMA = '{"type": "integer"}'


@pytest.fixture
def no_model(monkeypatch):
    """Loading any model fails the test: a bad argument must be refused before."""
    def load(path=None):
        pytest.fail(f"the model was loaded ({path!r}) before a bad argument was refused")

    monkeypatch.setattr(generation, "default_model", load)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    assert lines[0].startswith("structgen: error: ")
    return lines[0]


BAD_ARGUMENTS = [
    (["--temperature", "nan"], "--temperature"),
    (["--temperature", "inf"], "--temperature"),
    (["--temperature", "-1"], "--temperature"),
    (["--sampler", "awrs", "--temperature", "-1"], "--temperature"),
    (["--top-p", "0"], "--top-p"),
    (["--top-p", "1.5"], "--top-p"),
    (["--top-p", "nan"], "--top-p"),
    (["--sampler", "smc", "--top-p", "0.5"], "--top-p"),
    (["--particles", "0"], "--particles"),
    (["--sampler", "smc", "--particles", "-3"], "--particles"),
    (["--seed", "-1"], "--seed"),
    (["--max-tokens", "0"], "--max-tokens"),
    (["--max-tokens", "-5"], "--max-tokens"),
    (["--ess-threshold", "1.5"], "--ess-threshold"),
    (["--ess-threshold", "-0.1"], "--ess-threshold"),
    (["--ess-threshold", "nan"], "--ess-threshold"),
]


@pytest.mark.parametrize("extra, option", BAD_ARGUMENTS)
def test_bad_generate_argument_is_one_line_exit_2(extra, option, no_model, capsys):
    assert cli.main(["generate", "--schema", SCHEMA, "--prompt", "hi", *extra]) == 2
    assert f"argument {option}: " in one_error_line(capsys)


LIBRARY_BAD = [
    ({"temperature": float("nan")}, "temperature"),
    ({"temperature": -1.0}, "temperature"),
    ({"temperature": float("inf")}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": float("nan")}, "top_p"),
    ({"particles": 0}, "particles"),
    ({"particles": 2.5}, "particles"),
    ({"seed": -1}, "seed"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": True}, "max_tokens"),
    ({"ess_threshold": 1.01}, "ess_threshold"),
    ({"sampler": "beam"}, "sampler"),
    ({"resampling": "residual"}, "resampling"),
    ({"estimator": "magic"}, "estimator"),
    ({"max_rejects": -1}, "max_rejects"),
    ({"estimator": "paper", "max_rejects": 5}, "max_rejects"),
    ({"sampler": "awrs", "top_p": 0.9}, "top_p"),
]


@pytest.mark.parametrize("options, name", LIBRARY_BAD)
def test_library_refuses_bad_arguments_by_name(options, name, no_model):
    with pytest.raises(InvalidArgumentError) as caught:
        structgen.generate({"type": "integer"}, "hi", **options)
    assert caught.value.name == name and isinstance(caught.value, ValueError)
    with pytest.raises(InvalidArgumentError) as caught:  # sample() checks before touching lm or constraint
        structgen.sample(None, None, "hi", **{"sampler": "smc", **options})
    assert caught.value.name == name


def test_good_arguments_pass_the_checks():
    from structgen.sampling import check_sampling_arguments

    check_sampling_arguments(sampler="lcd", particles=1, max_tokens=1, temperature=0, top_p=1e-9, seed=None,
                             ess_threshold=0, resampling="systematic", estimator="none", max_rejects=0)
    check_sampling_arguments(sampler="smc", particles=64, temperature=2.5, seed=2**40, ess_threshold=1)


def test_structure_must_be_given_exactly_once(no_model):
    with pytest.raises(InvalidArgumentError):
        structgen.generate(None, "hi")
    with pytest.raises(InvalidArgumentError):
        structgen.generate({"type": "integer"}, "hi", regex="a")


# ------------------------------------------------------------------ model paths


def test_model_paths_are_checked_before_loading(tmp_path, no_model, capsys):
    model_file = tmp_path / "weights.bin"
    model_file.write_bytes(b"\0" * 8)
    for path, says in ((tmp_path / "missing", "does not exist"), (model_file, "is a file"),
                       (tmp_path, "no config.json")):
        assert cli.main(["generate", "--schema", SCHEMA, "--prompt", "hi", "--model", str(path)]) == 2
        line = one_error_line(capsys)
        assert "argument --model: " in line and says in line
        with pytest.raises(ModelLoadError):
            structgen.generate({"type": "integer"}, "hi", model=str(path))


def test_a_folder_that_is_no_model_is_a_one_line_model_load_error(tmp_path):
    from structgen.lm import load_model

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError) as caught:
        load_model(tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message and "\n" not in message


# ------------------------------------------------------------------ files and text


def test_unreadable_files_are_named(tmp_path, capsys):
    latin1 = tmp_path / "schema.json"
    latin1.write_bytes('{"const": "caf\xe9"}'.encode("latin-1"))
    grammar = tmp_path / "g.gbnf"
    grammar.write_bytes(b'root ::= "\xff"\n')
    cases = [
        (["check", "--schema", str(latin1)], "argument --schema: ", "not UTF-8 text (byte 0xe9 at offset 14)"),
        (["check", "--grammar", str(grammar)], "argument --grammar: ", "not UTF-8 text (byte 0xff at offset 10)"),
        (["check", "--schema", str(tmp_path)], "argument --schema: ", "cannot read schema file"),
        (["check", "--grammar", str(tmp_path)], "argument --grammar: ", "cannot read grammar file"),
    ]
    for argv, option, says in cases:
        assert cli.main(argv) == 2
        line = one_error_line(capsys)
        assert option in line and says in line


def test_generate_reads_files_before_the_model(tmp_path, no_model, capsys):
    bad = tmp_path / "schema.json"
    bad.write_bytes(b'{"type": "string", "title": "\xff"}')
    assert cli.main(["generate", "--schema", str(bad), "--prompt", "hi"]) == 2
    assert "not UTF-8" in one_error_line(capsys)


@pytest.mark.parametrize("argv, option", [
    (["check", "--regex", "a\udcff"], "--regex"),
    (["check", "--regex", "a", "--text", "\udcffa"], "--text"),
    (["check", "--schema", '{"const": "\udcff"}'], "--schema"),
    (["check", "--schema", '{"properties": {"a": {"const": "x\\ud800"}}}'], "--schema"),  # a JSON escape
    (["generate", "--regex", "a", "--prompt", "h\udc80i"], "--prompt"),
])
def test_lone_surrogates_are_refused(argv, option, no_model, capsys):
    assert cli.main(argv) == 2
    line = one_error_line(capsys)
    assert f"argument {option}: " in line and "lone surrogate" in line


def test_surrogate_in_a_parsed_schema_names_its_pointer(capsys):
    assert cli.main(["check", "--schema", '{"properties": {"a": {"const": "x\\ud800"}}}']) == 2
    assert "/properties/a/const" in one_error_line(capsys)
    with pytest.raises(InvalidArgumentError):
        structgen.generate(regex="a", prompt="\ud800", model="/does/not/matter")


def test_undecodable_command_line_bytes_in_a_real_process(tmp_path):
    """argv bytes that are not UTF-8 arrive as lone surrogates (surrogateescape)."""
    argv = [sys.executable, "-m", "structgen.cli", "check", "--regex", "a", "--text", os.fsdecode(b"a\xff")]
    done = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "argument --text: " in done.stderr


def test_json_nested_too_deep_is_a_named_limit(tmp_path, capsys):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(deep)
    for schema in (deep, str(path)):
        assert cli.main(["check", "--schema", schema]) == 2
        assert "nests deeper than the limit of" in one_error_line(capsys)
    with pytest.raises(NestingTooDeepError):
        cli.parse_json(deep, "a test document")


def test_argparse_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["generate", "--schema", SCHEMA, "--prompt", "hi", "--particles", "many"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --particles: invalid int value" in err


# ------------------------------------------------------------------ every named error, and only those


def _named_errors() -> list[StructgenError]:
    return [
        errors.UnsupportedSchemaError("contains", "/items"), errors.InvalidSchemaError("bad", "/a"),
        errors.UnsatisfiableSchemaError("nothing fits"), errors.SchemaTooLargeError("schema", "/", "too big"),
        errors.UnsupportedRegexError("lookahead", "(?=a)", 0), errors.RegexSyntaxError("missing )", "(", 0),
        errors.GrammarSyntaxError("expected ::=", 1, 5), errors.GrammarError("undefined rule", ("x",)),
        errors.CompileBudgetError("pattern", "seconds", 10.0, "raise it with budget=..."),
        errors.NestingTooDeepError("schema", 512), errors.InvalidArgumentError("temperature", "bad"),
        errors.ModelLoadError("no model\nhere"),
    ]


def test_every_structgen_error_is_exit_2_one_line(monkeypatch, capsys):
    import structgen.compile

    for error in _named_errors():
        def fail(*args, _error=error, **kwargs):
            raise _error

        monkeypatch.setattr(structgen.compile, "schema_automaton", fail)
        assert cli.main(["check", "--schema", SCHEMA]) == 2, type(error).__name__
        line = one_error_line(capsys)
        assert " ".join(str(error).splitlines()) in line or isinstance(error, InvalidArgumentError)


def test_an_internal_error_keeps_its_traceback(monkeypatch):
    import structgen.compile

    def bug(*args, **kwargs):
        raise KeyError("a bug, not bad input")

    monkeypatch.setattr(structgen.compile, "schema_automaton", bug)
    with pytest.raises(KeyError):
        cli.main(["check", "--schema", SCHEMA])


@pytest.mark.parametrize("option, value, budget", [
    ("--max-states", "50", "states"),
    ("--max-compile-memory", "1", "memory"),
])
def test_compile_budgets_on_the_command_line(option, value, budget, capsys):
    """A budget the options lower is the one that fires, and its error names the option that raises it."""
    assert cli.main(["check", "--regex", "[^a]{3000}", option, value]) == 2
    line = one_error_line(capsys)
    assert f"the {budget} budget" in line and line.endswith(f"(on the command line: {option})")
    # the same pattern compiles under the defaults, and the options accept ordinary values
    assert cli.main(["check", "--regex", "[^a]{3000}", "--max-states", "300000", "--text", "b" * 3000]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] is True


@pytest.mark.parametrize("option", ["--max-states", "--max-compile-seconds", "--max-compile-memory"])
def test_bad_compile_budgets_are_refused(option, capsys):
    assert cli.main(["check", "--regex", "a", option, "0"]) == 2
    assert option in one_error_line(capsys)


def test_generate_compiles_under_the_callers_budget(tiny_lm):
    with pytest.raises(errors.CompileBudgetError) as caught:
        structgen.generate({"type": "string", "pattern": "^[^a]{3000}$"}, "hi", model=tiny_lm,
                           budget=structgen.CompileBudget(max_states=50))
    assert caught.value.budget == "states" and caught.value.limit == 50
