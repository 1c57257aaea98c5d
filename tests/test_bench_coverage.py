"""The coverage scan (`python -m bench.coverage`): every schema gets one line per engine, a refusal
keeps its reason, an interrupted scan resumes, and the report counts what the lines say.

The judge of "compiled" is the engine itself, called directly in this process.
"""

from __future__ import annotations

import json

import structgen
from bench import coverage
from jsonschemabench.datasets import load_dataset, load_schemas
from jsonschemabench.engines import default_tokenizer


def test_a_scan_records_every_schema_once_and_resumes(tmp_path, capsys):
    out = tmp_path / "scan.jsonl"
    coverage.main(["--engines", "structgen", "--datasets", "Github_trivial", "--limit", "6", "--out", str(out),
                   "--quiet"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    records = load_dataset("Github_trivial")[:6]
    assert [r["id"] for r in rows] == [r.id for r in records]
    vocab = structgen.Vocabulary.from_tokenizer(default_tokenizer())
    for row, rec in zip(rows, records):
        try:
            structgen.compile_json_schema(rec.schema, vocab)
            assert row["status"] == "compiled"
        except structgen.StructgenError as error:
            assert row["status"] == "refused" and type(error).__name__ in row["reason"]
    coverage.main(["--engines", "structgen", "--datasets", "Github_trivial", "--limit", "6", "--out", str(out),
                   "--quiet"])  # nothing left to do: no line is added
    assert len(out.read_text().splitlines()) == 6
    summary = coverage.report(out)["structgen"]
    assert summary["compiled"] == sum(r["status"] == "compiled" for r in rows)
    assert summary["per_dataset"]["Github_trivial"]["schemas"] == 6
    assert "| Github_trivial |" in capsys.readouterr().out


def test_reasons_name_the_keyword_for_structgen():
    assert coverage.reason_class("structgen", "UnsupportedSchemaError: unsupported 'uniqueItems' at /x: ...") == \
        "UnsupportedSchemaError uniqueItems"
    assert coverage.reason_class("structgen", "CompileBudgetError: compiling the schema exceeds the seconds budget "
                                 "(20.0); ...") == "CompileBudgetError seconds"
    assert coverage.reason_class("llguidance", "ValueError: something") == "ValueError"


def test_a_schema_compiled_to_a_subset_is_counted_apart(tmp_path, monkeypatch):
    """A schema whose output leaves out what a complement past its budget would give compiles, and
    the scan records it as a subset (the worker is forked after the budget is cut, so it keeps it)."""
    from structgen.schema import negation

    monkeypatch.setattr(negation, "MAX_NOT_STATES", 20)
    path = tmp_path / "schemas.jsonl"
    shrunk = {"type": "object", "properties": {"x": {"not": {"multipleOf": 7}, "minimum": 0}}}
    path.write_text("".join(json.dumps({"id": i, "schema": s}) + "\n" for i, s in enumerate([shrunk, {"type": "null"}])))
    monkeypatch.setattr(coverage, "load_dataset", lambda name: load_schemas(path))
    out = tmp_path / "scan.jsonl"
    coverage.main(["--engines", "structgen", "--datasets", "Github_trivial", "--out", str(out), "--quiet"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["status"], r["subset"]) for r in rows] == [("compiled", True), ("compiled", False)]
    assert coverage.report(out)["structgen"]["subset"] == 1
