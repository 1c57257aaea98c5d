"""structgen as a package that stands alone: what the wheel ships, and how it behaves installed
outside the repository (a real wheel, installed into a folder of its own, run from another folder).

The shipped grammars live in the repository's top-level ``grammars/`` and are installed as
``structgen.grammars``; the judge of "shipped" is the repository's own files.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import structgen
import structgen.examples
import structgen.grammars
from structgen.errors import InvalidArgumentError

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR_FILES = sorted((ROOT / "grammars").glob("*.gbnf"))
EXAMPLE_FILES = sorted((ROOT / "structgen" / "examples").glob("*.json"))
#: MD5 of the Apache License 2.0 as the Apache Software Foundation publishes it (LICENSE-2.0.txt).
APACHE_2_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"


def run(argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)


# ------------------------------------------------------------------ shipped files by name


def test_grammar_names_are_the_shipped_files():
    assert GRAMMAR_FILES
    assert structgen.grammars.names() == [p.stem for p in GRAMMAR_FILES]
    for path in GRAMMAR_FILES:
        assert structgen.grammars.load(path.stem) == path.read_text(encoding="utf-8")
        assert structgen.grammars.load(str(path)) == path.read_text(encoding="utf-8")  # a path still works
        assert structgen.grammars.load(path) == path.read_text(encoding="utf-8")


def test_example_names_are_the_shipped_files():
    assert structgen.examples.names() == [p.stem for p in EXAMPLE_FILES] and EXAMPLE_FILES
    for path in EXAMPLE_FILES:
        assert structgen.examples.load(path.stem) == json.loads(path.read_text(encoding="utf-8"))


def test_a_shipped_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "json").write_text('root ::= "mine"\n')
    assert structgen.grammars.load("json") == (ROOT / "grammars" / "json.gbnf").read_text(encoding="utf-8")
    assert structgen.grammars.load("./json") == 'root ::= "mine"\n'


@pytest.mark.parametrize("name, message", [
    ("jsn", "no shipped grammar named 'jsn' and no such file (shipped: arithmetic, csv, json, smiles, sql)"),
    ("missing.gbnf", "cannot read grammar file 'missing.gbnf'"),
    ("/nonexistent/g.gbnf", "cannot read grammar file '/nonexistent/g.gbnf'"),
])
def test_unknown_grammar_names_the_shipped_ones(name, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgumentError) as caught:
        structgen.grammars.load(name)
    assert message in str(caught.value) and caught.value.name == "grammar"


def test_unreadable_grammar_paths_are_named_errors(tmp_path):
    (tmp_path / "latin1.gbnf").write_bytes(b'root ::= "caf\xe9"\n')
    for path, message in [(tmp_path, "cannot read grammar file"), (tmp_path / "latin1.gbnf", "is not UTF-8 text")]:
        with pytest.raises(InvalidArgumentError, match=message):
            structgen.grammars.load(path)


def test_license_is_the_apache_2_text():
    assert hashlib.md5((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_MD5


# ------------------------------------------------------------------ the light core


CORE_SCRIPT = """
import sys
import structgen, structgen.grammars
vocab = structgen.Vocabulary([bytes([b]) for b in range(256)] + [b""], eos_token_ids=[256])
c = structgen.compile_json_schema({"type": "array", "items": {"type": "integer"}}, vocab)
g = structgen.compile_grammar(structgen.grammars.load("json"), vocab)
assert c.mask(c.start())[ord("[")] and g.accepts_text(b'{"a":[1,2]}')
print(sorted(m for m in ("torch", "transformers", "rich", "matplotlib", "gguf", "accelerate") if m in sys.modules))
"""


def test_compiling_imports_no_model_stack(tmp_path):
    done = run([sys.executable, "-c", CORE_SCRIPT], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_generating_without_the_model_extra_is_one_line_naming_it(tmp_path):
    """torch absent (a None entry in sys.modules is how Python spells "not importable")."""
    script = ("import sys; sys.modules['torch'] = None\n"
              "from structgen.cli import main\n"
              "sys.exit(main(['generate', '--grammar', 'json', '--prompt', 'hi']))")
    done = run([sys.executable, "-c", script], cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "'model' extra (not installed: torch)" in done.stderr and "structgen[model]" in done.stderr


def test_the_library_names_the_model_extra_too(tmp_path):
    """`structgen.generate` with the default model and no torch: a `MissingExtraError` (a `StructgenError`)
    naming the extra, not an ImportError from deep inside (the vocabulary needs the tokenizer, so this
    comes before the structure compiles; the CLI compiles over bytes first, see the test above)."""
    script = ("import sys; sys.modules['torch'] = None\n"
              "import structgen\n"
              "try:\n"
              "    structgen.generate({'type': 'integer'}, 'hi')\n"
              "except structgen.MissingExtraError as e:\n"
              "    print(e.extra, isinstance(e, structgen.StructgenError), 'structgen[model]' in str(e))\n")
    done = run([sys.executable, "-c", script], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["model", "True", "True"]


# ------------------------------------------------------------------ the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                str(ROOT)])
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("structgen-*.whl")
    return path


def test_the_wheel_ships_grammars_examples_license_and_version(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for path in GRAMMAR_FILES:
            assert z.read(f"structgen/grammars/{path.name}") == path.read_bytes()
        for path in EXAMPLE_FILES:
            assert z.read(f"structgen/examples/{path.name}") == path.read_bytes()
        assert "structgen/grammars/__init__.py" in names and "structgen/py.typed" in names
        assert not any(n.startswith(("grammars/", "structgen/grammars/corpus/", "tests/")) for n in names)
        info = f"structgen-{structgen.__version__}.dist-info"
        assert hashlib.md5(z.read(f"{info}/licenses/LICENSE")).hexdigest() == APACHE_2_MD5
        metadata = Parser().parsestr(z.read(f"{info}/METADATA").decode())
    assert metadata["Version"] == structgen.__version__ and metadata["License"] == "Apache-2.0"
    requires = metadata.get_all("Requires-Dist")
    core = {r.split(";")[0].split(">")[0].split("<")[0].split("[")[0].strip() for r in requires if "extra ==" not in r}
    assert core == {"numpy", "numba", "jsonschema", "regress"}
    assert any(r.startswith("torch") and 'extra == "model"' in r for r in requires)
    assert set(metadata.get_all("Provides-Extra")) >= {"model", "bench", "dev"}


@pytest.mark.ci
def test_the_installed_wheel_works_from_another_folder(wheel, tmp_path):
    """Installed into a folder of its own (dependencies from this environment), run from a third."""
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)])
    assert done.returncode == 0, done.stderr[-3000:]
    env = {**os.environ, "PYTHONPATH": str(target)}
    script = ("import json, structgen, structgen.grammars, structgen.examples\n"
              "print(json.dumps([structgen.__file__, structgen.__version__, structgen.grammars.names(),\n"
              "                  structgen.grammars.load('sql'), structgen.examples.load('hiking_trail')]))")
    done = run([sys.executable, "-P", "-c", script], cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr
    file, version, names, sql, trail = json.loads(done.stdout)
    assert Path(file).is_relative_to(target) and version == structgen.__version__
    assert names == [p.stem for p in GRAMMAR_FILES]
    assert sql == (ROOT / "grammars" / "sql.gbnf").read_text(encoding="utf-8")
    assert trail == json.loads((ROOT / "structgen" / "examples" / "hiking_trail.json").read_text())
    for grammar, text, accepted in [("json", '{"a": [1, 2.5, null]}', True), ("json", '{"a": [1,]}', False),
                                    ("sql", "SELECT name FROM users WHERE age > 30", True)]:
        done = run([sys.executable, "-P", "-m", "structgen", "check", "--grammar", grammar, "--text", text],
                   cwd=elsewhere, env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["accepted"] is accepted
    done = run([sys.executable, "-P", "-m", "structgen", "check", "--schema", "hiking_trail"], cwd=elsewhere, env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["states"] > 0, done.stderr
