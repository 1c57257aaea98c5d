"""What `structgen generate` prints: the output text alone (pipe-friendly) or, with --json, the whole
record on one line; the structure compiled before any model loads; the model stack quiet unless
--verbose. In-process runs use the tiny random model as the default; the stderr checks run a real
process on a saved tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from structgen import cli, generation
from structgen.judge import validator_for

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 99}},
          "required": ["n"], "additionalProperties": False}


@pytest.fixture
def default_is_tiny(tiny_lm, monkeypatch):
    monkeypatch.setitem(generation._models, None, tiny_lm)


@pytest.fixture
def no_model(monkeypatch):
    def load(path=None):
        pytest.fail(f"the model was loaded ({path!r}) before a bad structure was refused")

    monkeypatch.setattr(generation, "default_model", load)


def generate(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(["generate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_text_alone_and_the_record_agree(seed, default_is_tiny, capsys):
    argv = ["--schema", json.dumps(SCHEMA), "--prompt", "hi", "--max-tokens", "12", "--seed", str(seed)]
    code, out, err = generate(capsys, *argv)
    code_json, line, err_json = generate(capsys, *argv, "--json")
    assert code_json == 0 and err_json == "" and line.count("\n") == 1  # the record is one JSON line
    record = json.loads(line)
    assert out == record["text"] + "\n"
    if record["valid"]:
        assert code == 0 and err == ""
        assert validator_for(SCHEMA).is_valid(json.loads(out)) and record["value"] == json.loads(out)
    else:
        assert code == cli.EXIT_NOT_VALID
        assert err == f"structgen: output not valid: {record['reason']}\n"


def test_a_grammar_by_name(default_is_tiny, capsys):
    code, out, err = generate(capsys, "--grammar", "json", "--prompt", "hi", "--max-tokens", "30", "--json")
    record = json.loads(out)
    assert code == 0 and err == ""
    if record["valid"]:
        json.loads(record["text"])  # the judge: Python's json
    else:
        assert record["reason"].startswith("incomplete output")


@pytest.mark.parametrize("argv, message", [
    (["--schema", '{"type": "array", "unevaluatedItems": false}'], "unsupported 'unevaluatedItems' at /"),
    (["--schema", '{"type": "integer", "minimum": 5, "maximum": 4}'], ""),
    (["--schema", "hiking_trial"], "no shipped schema named 'hiking_trial'"),
    (["--regex", "(a"], "missing ')' at offset 0"),
    (["--grammar", "sq"], "no shipped grammar named 'sq' and no such file (shipped: arithmetic, csv, json"),
    (["--grammar", 'root ::= "a"'], "no shipped grammar named 'root ::= \"a\"' and no such file"),
])
def test_a_bad_structure_is_refused_before_the_model_loads(argv, message, no_model, capsys):
    code, out, err = generate(capsys, *argv, "--prompt", "hi")
    assert code == 2 and out == ""
    assert err.startswith("structgen: error: ") and err.count("\n") == 1 and message in err


def test_a_bad_schema_is_refused_even_without_the_model_stack(tmp_path):
    """The structure is compiled before the model stack is even looked for: with torch absent, the
    schema's error is the one reported."""
    script = ("import sys; sys.modules['torch'] = None\n"
              "from structgen.cli import main\n"
              "sys.exit(main(['generate', '--schema', '{\"type\": \"array\", \"unevaluatedItems\": false}', '--prompt', 'x']))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 2 and done.stderr == "structgen: error: unsupported 'unevaluatedItems' at /\n"


@pytest.fixture(scope="module")
def tiny_model_dir(tiny_lm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-model")
    tiny_lm.model.save_pretrained(folder)
    tiny_lm.tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("verbose", [False, True])
def test_the_model_stack_is_quiet_unless_verbose(verbose, tiny_model_dir, tmp_path):
    argv = [sys.executable, "-m", "structgen", "generate", "--model", str(tiny_model_dir), "--regex", "[a-z]{3}",
            "--prompt", "hi", "--max-tokens", "8"] + (["--verbose"] if verbose else [])
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) == 4 and done.stdout[:3].isalpha() and done.stdout.endswith("\n")
    if verbose:
        assert "Loading weights" in done.stderr
    else:
        assert done.stderr == ""


def test_python_dash_m_structgen_is_the_command_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "structgen", "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and "{generate,check,serve}" in done.stdout
