"""The README runs as written: its Python snippets and its command lines, from a folder outside the
repository. Snippets that need no model run in the fast suite, each on its own; the whole README (all
snippets in order, in one interpreter, and the `structgen generate` lines) loads the real default
model and is marked slow. The judges: jsonschema, `re.fullmatch`, Python's json, the exit codes."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from structgen.judge import validator_for

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced code block, in order."""
    blocks, info, body = [], None, []
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if info is None:
                info, body = line[3:].strip(), []
            else:
                blocks.append((info, "".join(body)))
                info = None
        elif info is not None:
            body.append(line)
    assert info is None, "an unclosed code block"
    return blocks


PYTHON_BLOCKS = [body for info, body in fenced_blocks(README) if info == "python"]
COMMANDS = [line for info, body in fenced_blocks(README) if info == ""
            for line in body.splitlines() if line.startswith("structgen ")]
NEEDS_MODEL = ("generate(", "load_model(", "load_tokenizer(", "sample(")
#: A snippet that begins with its import stands alone; the others continue the ones before them.
STANDALONE = [c for c in PYTHON_BLOCKS if c.startswith("import structgen") and not any(n in c for n in NEEDS_MODEL)]
TRAIL = json.loads((ROOT / "structgen" / "examples" / "hiking_trail.json").read_text(encoding="utf-8"))


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, cwd=cwd,
                          timeout=1800)


def run_command(line: str, cwd: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(line, comments=True)
    assert argv[0] == "structgen"
    return subprocess.run([sys.executable, "-P", "-m", "structgen", *argv[1:]], capture_output=True, text=True,
                          cwd=cwd, timeout=1800)


def test_the_readme_has_snippets_and_commands():
    assert len(PYTHON_BLOCKS) >= 5 and len(STANDALONE) >= 2 and any(c.startswith("structgen check") for c in COMMANDS)
    assert any(c.startswith("structgen generate") for c in COMMANDS)


def test_the_readme_links_resolve():
    links = [target for target in re.findall(r"\]\(([^)#]+)\)", README) if "://" not in target]
    assert "docs/DESIGN.md" in links
    for target in links:
        assert (ROOT / target).is_file(), target


@pytest.mark.parametrize("code", STANDALONE)
def test_snippets_without_a_model_run_on_their_own(code, tmp_path):
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("line", [c for c in COMMANDS if not c.startswith("structgen generate")])
def test_commands_without_a_model(line, tmp_path):
    done = run_command(line, tmp_path)
    assert done.returncode == 0, done.stderr
    if "--text" in line:
        assert json.loads(done.stdout)["accepted"] is True


@pytest.mark.slow
def test_every_snippet_in_order(tmp_path):
    """What a reader typing the README into one interpreter gets."""
    done = run_python("\n".join(PYTHON_BLOCKS), tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("line", [c for c in COMMANDS if c.startswith("structgen generate")])
def test_generate_commands(line, tmp_path):
    done = run_command(line, tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr  # 0: valid output, and nothing else said
    argv = shlex.split(line, comments=True)
    if "--json" in argv:  # one JSON line, whose exit code is 0 whatever it says
        assert done.stdout.count("\n") == 1
        record = json.loads(done.stdout)
        assert record["valid"] is True, record["reason"]
    else:
        record = {"text": done.stdout.removesuffix("\n")}
    if "--schema" in argv and argv[argv.index("--schema") + 1] == "hiking_trail":
        assert validator_for(TRAIL).is_valid(json.loads(record["text"]))
    if "--regex" in argv:
        assert re.fullmatch(argv[argv.index("--regex") + 1], record["text"])
