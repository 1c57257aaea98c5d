"""The benchmark harness uses structgen only through its public API.

Public: what `structgen/__init__.py` exports, the `structgen.lm` package (models: `__all__`) and the
`structgen.judge` module (the judge's documented API). Internals (`structgen.automata`,
`structgen.compile`, `structgen.errors`, `structgen.cli`, ...) may change under the harness.
"""

from __future__ import annotations

import ast
from pathlib import Path

import structgen
import structgen.lm

HARNESS = Path(__file__).resolve().parent.parent / "jsonschemabench"
PUBLIC_MODULES = {"structgen": set(structgen.__all__) | {"judge"}, "structgen.lm": set(structgen.lm.__all__)}


def _structgen_imports(path: Path):
    """(line, module, name) of every structgen import in one file (name None for a plain `import`)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "structgen")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "structgen":
            yield from ((node.lineno, node.module, a.name) for a in node.names)


def test_the_harness_imports_only_public_names():
    files = sorted(HARNESS.rglob("*.py"))
    assert len(files) > 10
    private = []
    for path in files:
        for line, module, name in _structgen_imports(path):
            public = PUBLIC_MODULES.get(module)
            if public is None or (name is not None and name not in public):
                private.append(f"{path.relative_to(HARNESS.parent)}:{line}: {module} {name or ''}".rstrip())
    assert not private, "private structgen imports:\n" + "\n".join(private)


def test_the_checker_sees_private_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import structgen.compile\nfrom structgen.automata.dfa import AutomatonTooLargeError\n"
                   "from structgen import Compiler, _LAZY\nfrom structgen.lm import tiny_random_model\n")
    found = [(m, n) for _, m, n in _structgen_imports(bad)
             if m not in PUBLIC_MODULES or (n is not None and n not in PUBLIC_MODULES[m])]
    assert found == [("structgen.compile", None), ("structgen.automata.dfa", "AutomatonTooLargeError"),
                     ("structgen", "_LAZY")]
