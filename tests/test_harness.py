"""The benchmark harness end to end (`jsonschemabench run | testsuite | report`) and its metrics.

Runs use the tiny random model with the real SmolLM2 tokenizer in spawned worker processes; the
judge of every output is the `jsonschema` validator (format checking on), re-applied here to the
recorded texts, never the engine or the harness's own verdict.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from jsonschemabench.cli import main
from jsonschemabench.datasets import load_dataset, load_test_suite
from jsonschemabench.engine_specs import parse_engine, unavailable_reason
from jsonschemabench.engines import Engine, EngineCompileError, Matcher
from jsonschemabench.engines.structgen_engine import StructgenEngine
from jsonschemabench.instances import validator_for
from jsonschemabench.maskcheck import labelled_instances
from jsonschemabench import metrics
from jsonschemabench.metrics import coverage, efficiency, summarize
from jsonschemabench.results import read_records
from jsonschemabench.testsuite import case_verdict

ENGINES = ["structgen-lcd", "structgen-awrs", "structgen-smc:2", "unconstrained", "xgrammar", "llguidance",
           "outlines-core"]
RUN = ["run", "--datasets", "Github_easy", "--model", "tiny", "--max-tokens", "16", "--threads", "1", "--quiet",
       "--engines", ",".join(ENGINES)]


def available(engines):
    return [e for e in engines if unavailable_reason(parse_engine(e)) is None]


def judge_says_valid(text: str, schema) -> bool:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return False
    return validator_for(schema).is_valid(value)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main([*RUN, "--limit", "2", "--out", str(out)]) == 0
    return out


def test_run_records_every_engine_and_schema_and_judges_outputs(run_dir):
    records = read_records(run_dir / "results.jsonl")
    schemas = {r.id: r.schema for r in load_dataset("Github_easy")[:2]}
    engines = available(ENGINES)
    assert sorted((r["engine"], r["id"]) for r in records) == sorted((e, i) for e in engines for i in schemas)
    for r in records:
        assert r["status"] in {"ok", "compile_error"}, r
        if r["status"] != "ok":
            continue
        assert r["valid"] == judge_says_valid(r["text"], schemas[r["id"]]), r
        assert r["ttft_s"] >= r["compile_s"] >= 0
        assert r["output_tokens"] <= 16 + 1  # end-of-sequence counted
        if r["engine"] == "structgen-lcd" and r["stop_reason"] == "end_of_sequence":
            assert r["valid"], r  # structgen is sound: a finished output validates
    settings = json.loads((run_dir / "run.json").read_text())
    assert set(settings["unavailable"]) == set(ENGINES) - set(engines)


def test_report_writes_tables_summary_and_plots(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    assert "## Declared coverage" in printed and "## Efficiency" in printed
    for name in ("report.md", "summary.json", "coverage.png", "gct.png", "tpot.png"):
        assert (run_dir / name).stat().st_size > 0
    summary = json.loads((run_dir / "summary.json").read_text())
    records = read_records(run_dir / "results.jsonl")
    for engine in available(ENGINES):
        mine = [r for r in records if r["engine"] == engine]
        assert summary["coverage"][engine]["all"]["schemas"] == len(mine)
        assert summary["coverage"][engine]["all"]["empirical"] == sum(r["valid"] for r in mine)


def test_resume_computes_only_missing_records(run_dir):
    path = run_dir / "results.jsonl"
    before = path.read_text().splitlines()
    with path.open("a") as f:
        f.write('{"engine": "structgen-lcd", "dataset": "Github_ea')  # a record cut short by an interrupt
    engines = available(["structgen-lcd", "llguidance"])  # a subset keeps the second run short
    assert main([*RUN[:-1], ",".join(engines), "--limit", "3", "--out", str(run_dir)]) == 0
    after = [line for line in path.read_text().splitlines() if line.startswith("{") and line.endswith("}")]
    assert after[: len(before)] == before  # nothing recomputed
    new = [json.loads(line) for line in after[len(before):]]
    third = load_dataset("Github_easy")[2].id
    assert sorted((r["engine"], r["id"]) for r in new) == sorted((e, third) for e in engines)


class SleepyEngine(StructgenEngine):
    """structgen, except that a schema titled "hang" never finishes compiling."""

    def compile(self, schema):
        if isinstance(schema, dict) and schema.get("title") == "hang":
            time.sleep(3600)
        return super().compile(schema)


class CrashingEngine(StructgenEngine):
    """structgen, except that a schema titled "crash" kills the worker process."""

    def compile(self, schema):
        if isinstance(schema, dict) and schema.get("title") == "crash":
            os._exit(3)
        return super().compile(schema)


def test_a_hanging_compile_is_a_timeout_and_the_run_goes_on(tmp_path):
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / "a_hang.json").write_text(json.dumps({"title": "hang", "type": "integer"}))
    (folder / "b_fine.json").write_text(json.dumps({"type": "boolean"}))
    sleepy = f"{SleepyEngine.__module__}:SleepyEngine"
    code = main(["run", "--schemas", str(folder), "--engines", sleepy, "--model", "tiny", "--max-tokens", "8",
                 "--threads", "1", "--compile-timeout", "2", "--quiet", "--out", str(tmp_path / "out")])
    assert code == 0
    records = {r["id"]: r for r in read_records(tmp_path / "out" / "results.jsonl")}
    assert records["a_hang"]["status"] == "compile_timeout" and not records["a_hang"]["compiled"]
    assert records["b_fine"]["status"] == "ok" and records["b_fine"]["text"] in ("true", "false")
    assert records["b_fine"]["valid"]


def test_testsuite_scores_each_case(tmp_path):
    out = tmp_path / "suite"
    code = main(["testsuite", "--engines", "structgen-lcd,structgen-smc:4,llguidance", "--drafts", "draft2020-12",
                 "--categories", "type,minimum", "--threads", "1", "--quiet", "--out", str(out)])
    assert code == 0
    cases = [(i, c) for i, c in enumerate(load_test_suite("draft2020-12")) if c.category in ("type", "minimum")]
    records = read_records(out / "testsuite.jsonl")
    engines = available(["structgen-lcd", "llguidance"])  # the samplers are checked through structgen's compiler
    assert sorted((r["engine"], r["case"]) for r in records) == sorted((e, i) for e in engines for i, _ in cases)
    by_case = dict(cases)
    for r in records:
        expected = [t.valid for t in by_case[r["case"]].tests]
        if r["status"] == "ok":
            assert [t["valid"] for t in r["tests"]] == expected
            assert r["passed"] == case_verdict(expected, True, [t["accepted"] for t in r["tests"]])
        else:
            assert r["status"] == "compile_error" and r["passed"] == (not any(expected))
    assert main(["report", str(out), "--no-plots"]) == 0
    assert "JSON Schema Test Suite" in (out / "report.md").read_text()


def test_a_crashing_engine_costs_one_case(tmp_path):
    from jsonschemabench.runner import run_testsuite
    from jsonschemabench.testsuite import select_cases
    from jsonschemabench.worker import WorkerConfig

    (index, case), *_ = select_cases(["draft2020-12"], ["type"])
    crashing = parse_engine(f"{CrashingEngine.__module__}:CrashingEngine")
    crash_case = type(case)(case.draft, case.category, "crash", {"title": "crash", "type": "integer"}, case.tests)
    outcome = run_testsuite([(0, crash_case), (1, case)], [crashing], WorkerConfig(model="tiny"), tmp_path,
                            quiet=True)
    records = {r["case"]: r for r in read_records(tmp_path / "testsuite.jsonl")}
    assert outcome.written == 2
    assert records[0]["status"] == "crash" and records[0]["passed"] is False
    assert records[1]["status"] == "ok"


# --- metrics on hand-made records --------------------------------------------------------------------


def rec(engine, dataset, id, status="ok", valid=False, compile_s=0.01, ttft_s=0.1, tpot_s=0.02, **extra):
    compiled = status in ("ok", "generation_timeout", "prompt_too_long")
    return {"engine": engine, "dataset": dataset, "id": id, "status": status, "compiled": compiled,
            "valid": valid and compiled, "compile_s": compile_s, "ttft_s": ttft_s, "tpot_s": tpot_s, **extra}


def test_coverage_and_compliance():
    records = [
        rec("a", "D1", "1", valid=True), rec("a", "D1", "2", status="compile_error"),
        rec("a", "D2", "3", valid=False), rec("a", "D2", "4", status="generation_timeout"),
        rec("b", "D1", "1", valid=True), rec("b", "D1", "2", valid=True),
        rec("b", "D2", "3", status="compile_timeout"), rec("b", "D2", "4", status="crash"),
    ]
    table = coverage(records)
    assert table["a"]["D1"] == {"schemas": 2, "declared": 1, "empirical": 1, "declared_coverage": 0.5,
                                "empirical_coverage": 0.5, "compliance": 1.0}
    assert table["a"]["all"]["declared"] == 3 and table["a"]["all"]["empirical"] == 1
    assert table["a"]["all"]["compliance"] == pytest.approx(1 / 3)
    assert table["b"]["D2"]["declared_coverage"] == 0 and table["b"]["D2"]["compliance"] is None
    assert table["b"]["all"]["empirical_coverage"] == 0.5


def test_efficiency_uses_only_schemas_every_engine_covers():
    records = [
        rec("a", "D", "1", compile_s=0.001, ttft_s=0.010, tpot_s=0.001),
        rec("a", "D", "2", compile_s=0.003, ttft_s=0.030, tpot_s=0.003),
        rec("a", "D", "3", compile_s=9.0, ttft_s=9.0, tpot_s=9.0),  # only a covers it: left out
        rec("b", "D", "1", compile_s=0.002, ttft_s=0.020, tpot_s=None),
        rec("b", "D", "2", compile_s=0.004, ttft_s=0.040, tpot_s=0.004),
        rec("b", "D", "3", status="compile_error"),
    ]
    result = efficiency(records, ["a", "b"])
    assert result["schemas_in_common"] == 2
    assert result["engines"]["a"]["gct_ms"] == pytest.approx(2.0)
    assert result["engines"]["a"]["ttft_ms"] == pytest.approx(20.0)
    assert result["engines"]["b"]["gct_ms"] == pytest.approx(3.0)
    assert result["engines"]["b"]["tpot_ms"] == pytest.approx(4.0)  # a missing TPOT (1 token) is skipped


def test_tpot_starts_at_the_models_first_choice():
    """A token forced before the model's first choice comes out before the prompt is read (5 s here):
    TPOT leaves that out, and counts every token after the first choice, forced or not."""
    from jsonschemabench.decoding import Decoded

    times = [0.0, 5.0, 5.1, 5.2, 5.3]
    assert Decoded([1, 2, 3, 4], b"", True, "end_of_sequence", times, forced=[0, 3]).tpot() == pytest.approx(0.1)
    assert Decoded([1, 2, 3, 4], b"", True, "end_of_sequence", times).tpot() == pytest.approx(5.3 / 4)
    assert Decoded([1], b"", False, "max_tokens", [0.0, 5.0], forced=[0]).tpot() is None


def test_the_sampler_reports_which_tokens_it_forced(tiny_lm):
    from jsonschemabench.decoding import decode_with_sampler
    from structgen import compile_json_schema

    schema = {"type": "object", "required": ["identifier"], "additionalProperties": False,
              "properties": {"identifier": {"type": "boolean"}}}
    constraint = compile_json_schema(schema, tiny_lm.vocabulary)
    context = tiny_lm.encode_prompt("JSON please")
    decoded = decode_with_sampler(tiny_lm, context, constraint, sampler="lcd", particles=1, max_tokens=30,
                                  temperature=0, seed=0, fast_forward=True)
    assert decoded.forced[:2] == [0, 1]  # {" identifier": before the model reads the prompt
    assert tiny_lm.vocabulary.decode(decoded.tokens).startswith(b'{"identifier":')
    plain = decode_with_sampler(tiny_lm, context, constraint, sampler="lcd", particles=1, max_tokens=30,
                                temperature=0, seed=0, fast_forward=False)
    assert plain.forced == []


def test_checks_per_token_and_testsuite_summary():
    records = [
        rec("structgen-smc:8", "D", "1", sampler_stats={"checks_per_token": {"mean": 2.0, "max": 40}}),
        rec("structgen-smc:8", "D", "2", sampler_stats={"checks_per_token": {"mean": 4.0, "max": 7}}),
        rec("structgen-lcd", "D", "1"),
    ]
    summary = summarize(records, [])
    assert summary["checks_per_token"] == {
        "structgen-smc:8": {"schemas": 2, "median_of_means": 3.0, "p99_of_means": pytest.approx(3.98),
                            "max": 40.0}}
    suite = metrics.testsuite_summary([
        {"engine": "x", "draft": "d", "category": "type", "passed": True},
        {"engine": "x", "draft": "d", "category": "type", "passed": False},
        {"engine": "x", "draft": "d", "category": "enum", "passed": None},  # nothing checkable: left out
        {"engine": "x", "draft": "e", "category": "enum", "passed": True},
    ])
    assert suite["x"]["d/type"] == {"cases": 2, "passed": 1, "rate": 0.5}
    assert suite["x"]["all"] == {"cases": 3, "passed": 2, "rate": pytest.approx(2 / 3)}
    assert "d/enum" not in suite["x"]


@pytest.mark.parametrize(
    ("expected", "compiled", "accepted", "verdict"),
    [
        ([True, False], True, [True, False], True),
        ([True, False], True, [False, False], False),  # a valid instance rejected
        ([True, False], True, [True, True], False),  # an invalid instance accepted
        ([True, False], True, [None, False], True),  # an unspellable instance is left out
        ([True], True, [None], None),
        ([False, False], False, None, True),  # refusing to compile is right when nothing is valid
        ([True, False], False, None, False),
    ],
)
def test_case_verdict(expected, compiled, accepted, verdict):
    assert case_verdict(expected, compiled, accepted) == verdict


def test_parse_engine_names():
    assert parse_engine("structgen-smc:16").particles == 16
    assert parse_engine("structgen-smc").label == "structgen-smc:8"
    assert parse_engine("outlines").label == "outlines-core"
    assert parse_engine("structgen-awrs").compiler.label == "structgen-lcd"
    with pytest.raises(ValueError):
        parse_engine("structgen-smc:0")
    with pytest.raises(ValueError):
        parse_engine("guidance-ai")


def test_help_on_every_command(capsys):
    for command in ([], ["run"], ["testsuite"], ["maskcheck"], ["report"]):
        with pytest.raises(SystemExit) as exit_:
            main([*command, "--help"])
        assert exit_.value.code == 0
        assert "usage: jsonschemabench" in capsys.readouterr().out


def test_user_jsonl_with_json_schema_field(tmp_path):
    from jsonschemabench.runner import select_records

    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"unique_id": "u1", "json_schema": json.dumps({"type": "string"})}) + "\n"
                    + json.dumps({"unique_id": "u2", "json_schema": {"type": "integer"}}) + "\n")
    records = select_records(schemas_path=str(path))
    assert [(r.id, r.dataset, r.schema) for r in records] == [("u1", "mine", {"type": "string"}),
                                                           ("u2", "mine", {"type": "integer"})]


# --- the mask check -----------------------------------------------------------------------------------


class AcceptAllMatcher(Matcher):
    """Accepts every token and may end anywhere: every invalid instance gets through."""

    def _compute_native_mask(self):
        return np.ones(self.vocab_size, dtype=bool)

    def _native_to_bool(self, native):
        return native

    def _advance(self, token_id):
        return True

    def _is_accepting(self):
        return True

    def fresh(self):
        return type(self)(self.vocab_size, self.eos_token_ids)


class RefuseAllMatcher(AcceptAllMatcher):
    """Refuses every token: every valid instance is rejected."""

    def _advance(self, token_id):
        return False


class AcceptAllEngine(Engine):
    name = "accept-all"

    def compile(self, schema):
        return AcceptAllMatcher(self.vocab_size, self.eos_token_ids)


class RefuseAllEngine(Engine):
    name = "refuse-all"

    def compile(self, schema):
        if isinstance(schema, dict) and schema.get("title") == "no":
            raise EngineCompileError("refuses schemas titled 'no'")
        return RefuseAllMatcher(self.vocab_size, self.eos_token_ids)


MASKCHECK_SCHEMAS = {
    "a_object": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5},
                                                  "age": {"type": "integer", "minimum": 0}},
                 "required": ["name", "age"], "additionalProperties": False},
    "b_enum": {"enum": ["red", "green", 3]},
    "c_recursive": {"type": "object", "properties": {"child": {"$ref": "#"}}},  # hypothesis-jsonschema refuses
    "d_refused": {"title": "no", "type": "array", "items": {"type": "boolean"}, "maxItems": 3},
}
ACCEPT_ALL = f"{AcceptAllEngine.__module__}:AcceptAllEngine"
REFUSE_ALL = f"{RefuseAllEngine.__module__}:RefuseAllEngine"


@pytest.fixture(scope="module")
def maskcheck_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemas")
    for name, schema in MASKCHECK_SCHEMAS.items():
        (folder / f"{name}.json").write_text(json.dumps(schema))
    out = tmp_path_factory.mktemp("maskcheck")
    engines = ",".join(["structgen-lcd", *available(["llguidance"]), ACCEPT_ALL, REFUSE_ALL])
    command = ["maskcheck", "--schemas", str(folder), "--engines", engines, "--instances", "4", "--threads", "1",
               "--quiet", "--out", str(out)]
    assert main(command) == 0
    return out, command


def test_maskcheck_instances_are_judge_labelled_and_spelled_exactly(maskcheck_dir, smollm2_tokenizer, smollm2_vocab):
    out, _ = maskcheck_dir
    made = {r["id"]: r for r in read_records(out / "maskcheck_instances.jsonl")}
    assert set(made) == set(MASKCHECK_SCHEMAS)
    assert made["c_recursive"]["status"] == "no_instances" and made["c_recursive"]["reason"]
    for name in ("a_object", "b_enum", "d_refused"):
        record, judge = made[name], validator_for(MASKCHECK_SCHEMAS[name])
        assert record["status"] == "ok" and 1 <= len(record["valid"]) <= 4 and 1 <= len(record["invalid"]) <= 4
        texts = record["valid"] + [i["text"] for i in record["invalid"]]
        assert len(set(texts)) == len(texts)
        assert all(judge.is_valid(json.loads(t)) for t in record["valid"])
        assert not any(judge.is_valid(json.loads(i["text"])) for i in record["invalid"])
        for text in texts:
            ids = smollm2_tokenizer.encode(text, add_special_tokens=False)
            assert smollm2_vocab.decode(ids) == text.encode()
    assert set(made["b_enum"]["valid"]) <= {'"red"', '"green"', "3"}


def test_maskcheck_counts_what_each_engine_gets_wrong(maskcheck_dir):
    out, _ = maskcheck_dir
    made = {r["id"]: r for r in read_records(out / "maskcheck_instances.jsonl")}
    records = read_records(out / "maskcheck.jsonl")
    checked = [n for n in MASKCHECK_SCHEMAS if n != "c_recursive"]  # no instances: not checked
    engines = ["structgen-lcd", *available(["llguidance"]), ACCEPT_ALL, REFUSE_ALL]
    assert sorted((r["engine"], r["id"]) for r in records) == sorted((e, n) for e in engines for n in checked)
    for r in records:
        valid, invalid = len(made[r["id"]]["valid"]), len(made[r["id"]]["invalid"])
        assert (r["valid_total"], r["invalid_total"]) == (valid, invalid)  # the same instances for every engine
        if r["engine"] == ACCEPT_ALL:
            assert (r["valid_rejected"], r["invalid_accepted"]) == (0, invalid)
            assert sum(r["invalid_accepted_keywords"].values()) == invalid
        elif r["engine"] == REFUSE_ALL and r["id"] == "d_refused":
            assert r["status"] == "compile_error" and not r["compiled"] and r["valid_rejected"] is None
        elif r["engine"] == REFUSE_ALL:
            assert (r["valid_rejected"], r["invalid_accepted"]) == (valid, 0)
            assert all(e["refused_at_byte"] == 0 for e in r["examples"]["valid_rejected"])
        else:  # structgen and llguidance are sound and complete on these schemas
            assert (r["status"], r["valid_rejected"], r["invalid_accepted"]) == ("ok", 0, 0), r


def test_maskcheck_resumes_and_reports(maskcheck_dir, capsys):
    out, command = maskcheck_dir
    before = {name: (out / name).read_text() for name in ("maskcheck.jsonl", "maskcheck_instances.jsonl")}
    assert main(command) == 0
    assert {name: (out / name).read_text() for name in before} == before  # nothing recomputed
    other = list(command)
    other[other.index("--instances") + 1] = "5"
    assert main(other) == 2  # other instances than those stored would be mixed in: refused
    assert main(["report", str(out), "--no-plots"]) == 0
    assert "## Mask check" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())["maskcheck"]
    assert summary["instances"]["all"]["schemas"] == 4 and summary["instances"]["all"]["with_instances"] == 3
    records = read_records(out / "maskcheck.jsonl")
    for engine, per in summary["engines"].items():
        mine = [r for r in records if r["engine"] == engine and r["status"] == "ok"]
        assert per["all"]["valid_rejected"] == sum(r["valid_rejected"] for r in mine)
        assert per["all"]["invalid_total"] == sum(r["invalid_total"] for r in mine)
    assert summary["engines"][REFUSE_ALL]["all"]["compiled"] == 2


def test_labelled_instances_are_deterministic():
    schema = MASKCHECK_SCHEMAS["a_object"]
    first = labelled_instances(schema, 4, seed=3, budget_s=20, spells_exactly=lambda text: True)
    assert first == labelled_instances(schema, 4, seed=3, budget_s=20, spells_exactly=lambda text: True)
    assert len(first["valid"]) == 4


def test_maskcheck_summary_on_hand_made_records():
    def check(engine, dataset, id, status="ok", **counts):
        return {"engine": engine, "dataset": dataset, "id": id, "status": status, "compiled": status != "compile_error",
                **counts}

    records = [
        check("e", "D1", "1", valid_total=4, valid_rejected=1, invalid_total=4, invalid_accepted=0),
        check("e", "D1", "2", valid_total=2, valid_rejected=0, invalid_total=3, invalid_accepted=2,
              invalid_accepted_keywords={"enum": 2}),
        check("e", "D2", "3", status="compile_error", valid_total=5, valid_rejected=None, invalid_total=5,
              invalid_accepted=None),
    ]
    made = [{"dataset": "D1", "id": "1", "status": "ok", "valid": ["1"] * 4, "invalid": ["x"] * 4},
            {"dataset": "D2", "id": "4", "status": "no_instances", "reason": "HypothesisRefResolutionError: ..."},
            {"dataset": "D2", "id": "5", "status": "timeout", "reason": "timeout: no answer within 70 s"}]
    summary = metrics.maskcheck_summary(records, made)
    d1 = summary["engines"]["e"]["D1"]
    assert (d1["valid_total"], d1["valid_rejected"], d1["schemas_valid_rejected"]) == (6, 1, 1)
    assert d1["invalid_accepted_rate"] == pytest.approx(2 / 7)
    everything = summary["engines"]["e"]["all"]
    assert (everything["schemas"], everything["compiled"], everything["checked"], everything["valid_total"]) == \
        (3, 2, 2, 6)
    assert summary["invalid_accepted_keywords"] == {"e": {"enum": 2}}
    assert summary["instances"]["D2"]["skipped"] == {"HypothesisRefResolutionError": 1, "timeout": 1}
    assert summary["instances"]["all"]["valid"] == 4


# --- the error boundary: bad input is one line and exit 2; Ctrl-C keeps the records ----------------


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("jsonschemabench: error: ")
    return err


def _bad_inputs(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"title": "caf\xe9"}'.encode("latin-1"))
    bad_line = tmp_path / "rows.jsonl"
    bad_line.write_text('{"schema": {"type": "string"}}\n{"schema": \n')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    empty = tmp_path / "empty"
    empty.mkdir()
    good = tmp_path / "good.json"
    good.write_text('{"type": "integer"}')
    out = str(tmp_path / "out")
    run = ["run", "--model", "tiny", "--engines", "structgen-lcd", "--quiet"]
    return [
        ([*run, "--schemas", str(good), "--out", str(a_file)], "--out", "not a folder"),
        ([*run, "--schemas", str(good), "--out", str(a_file / "below")], "--out", "cannot create"),
        ([*run, "--schemas", str(tmp_path / "missing"), "--out", out], "--schemas", "cannot read"),
        ([*run, "--schemas", str(latin1), "--out", out], "--schemas", "not UTF-8 text (byte 0xe9"),
        ([*run, "--schemas", str(bad_line), "--out", out], "--schemas", "line 2: not JSON"),
        ([*run, "--schemas", str(deep), "--out", out], "--schemas", "nests too deeply"),
        ([*run, "--schemas", str(empty), "--out", out], "--schemas", "no schemas"),
        ([*run, "--datasets", "Github_easy,Nope", "--out", out], "--datasets", "unknown Nope"),
        ([*run[:-3], "--engines", "structgen-beam", "--schemas", str(good), "--out", out], "--engines", "unknown"),
        ([*run, "--schemas", str(good), "--workers", "0", "--out", out], "--workers", ">= 1"),
        ([*run, "--schemas", str(good), "--max-tokens", "0", "--out", out], "--max-tokens", ">= 1"),
        ([*run, "--schemas", str(good), "--compile-timeout", "nan", "--out", out], "--compile-timeout", "finite"),
        ([*run, "--schemas", str(good), "--temperature", "-1", "--out", out], "--temperature", "finite"),
        ([*run[:2], str(empty), *run[3:], "--schemas", str(good), "--out", out], "--model", "no config.json"),
        (["testsuite", "--drafts", "draft3", "--out", out], "--drafts", "unknown draft3"),
        (["report", str(tmp_path / "missing")], "--results", "not a folder"),
        (["report", str(empty)], "--results", "no results.jsonl"),
    ]


def test_bad_arguments_and_files_are_one_line_exit_2(tmp_path, capsys, monkeypatch):
    from jsonschemabench import runner

    def no_workers(*args, **kwargs):
        pytest.fail("a worker started before a bad argument was refused")

    monkeypatch.setattr(runner, "execute", no_workers)
    for argv, option, says in _bad_inputs(tmp_path):
        assert main(argv) == 2, argv
        err = _one_error_line(capsys)
        assert f"argument {option}: " in err and says in err, (argv, err)


def test_every_structgen_error_is_exit_2_and_a_bug_keeps_its_traceback(tmp_path, capsys, monkeypatch):
    from jsonschemabench import runner
    from structgen import errors

    argv = ["run", "--datasets", "Github_easy", "--model", "tiny", "--quiet", "--out", str(tmp_path)]
    for error in (errors.InvalidSchemaError("bad", "/a"), errors.NestingTooDeepError("schema", 9),
                  errors.CompileBudgetError("pattern", "memory", "1 GB", "raise it"), errors.ModelLoadError("no")):
        monkeypatch.setattr(runner, "select_records", lambda *args, _error=error: (_ for _ in ()).throw(_error))
        assert main(argv) == 2
        assert str(error) in _one_error_line(capsys)
    monkeypatch.setattr(runner, "select_records", lambda *args: {}["a bug"])
    with pytest.raises(KeyError):
        main(argv)


def test_unreadable_result_lines_are_skipped_and_counted(tmp_path):
    from jsonschemabench.results import ResultStore, describe_skipped

    path = tmp_path / "results.jsonl"
    good = {"engine": "e", "dataset": "d", "id": "1", "settings": "s"}
    path.write_bytes(json.dumps(good).encode() + b'\n{"engine": "\xff\xfe"}\n[1, 2]\n\n{"engine": "e", "id"')
    skipped = []
    assert read_records(path, skipped) == [good] and skipped == [2, 3, 5]
    store = ResultStore(path, ("engine", "dataset", "id", "settings"))
    assert store.skipped_lines == [2, 3, 5] and store.done(good) and not store.done({**good, "settings": "t"})
    store.append({**good, "id": "2"})
    assert [r["id"] for r in read_records(path)] == ["1", "2"]  # the record after the cut line stays whole
    assert describe_skipped("results.jsonl", [2, 3, 5]).startswith("results.jsonl: 3 unreadable line(s) skipped")


def test_a_rerun_with_other_settings_recomputes_and_the_report_keeps_the_latest(tmp_path, capsys):
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / "flag.json").write_text(json.dumps({"type": "boolean"}))
    out = tmp_path / "out"
    command = ["run", "--schemas", str(folder), "--engines", "structgen-lcd", "--model", "tiny", "--threads", "1",
               "--quiet", "--out", str(out)]
    assert main([*command, "--max-tokens", "8"]) == 0
    with (out / "results.jsonl").open("ab") as results:
        results.write(b'{"engine": "structgen-lcd", "id": "\xff"}\n')  # damaged by hand: skipped, counted
    assert main([*command, "--max-tokens", "9", "--compile-timeout", "30"]) == 0  # other settings: computed again
    assert "1 unreadable line(s) skipped" in capsys.readouterr().err
    assert main([*command, "--max-tokens", "9", "--compile-timeout", "30"]) == 0  # same settings: resumed
    assert "0 new records, 1 already" in capsys.readouterr().err
    records = read_records(out / "results.jsonl")
    assert len(records) == 2 and len({r["settings"] for r in records}) == 2
    assert all(r["text"] in ("true", "false") and r["valid"] for r in records)
    assert main(["report", str(out), "--no-plots"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["coverage"]["structgen-lcd"]["all"]["schemas"] == 1
    assert any("1 record(s) made with other settings left out" in note for note in summary["notes"])


def test_ctrl_c_exits_130_keeps_finished_records_and_resumes(tmp_path):
    import signal
    import subprocess
    import sys

    folder = tmp_path / "schemas"
    folder.mkdir()
    for i in range(40):
        (folder / f"s{i:02}.json").write_text(json.dumps(
            {"type": "object", "properties": {f"k{i}": {"type": "string", "maxLength": 300}}, "required": [f"k{i}"]}))
    out = tmp_path / "out"
    command = ["run", "--schemas", str(folder), "--engines", "structgen-smc:4", "--model", "tiny", "--threads", "1",
               "--max-tokens", "300", "--quiet", "--out", str(out)]
    # A child inherits an ignored SIGINT (and Python then installs no KeyboardInterrupt handler):
    # give it the default disposition, as a terminal's shell would.
    process = subprocess.Popen([sys.executable, "-m", "jsonschemabench.cli", *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = out / "results.jsonl"
    deadline = time.monotonic() + 240
    while not (results.exists() and results.stat().st_size) and process.poll() is None:
        assert time.monotonic() < deadline, "no record within 240 s"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.splitlines()[-1].startswith("jsonschemabench: interrupted:")
    done = read_records(results)
    assert 1 <= len(done) < 40 and all(r["status"] != "crash" for r in done)
    assert main([*command, "--limit", str(len(done))]) == 0  # resumes: the finished schemas are not run again
    assert read_records(results) == done


def test_a_finished_run_ends_its_workers_cleanly(tmp_path):
    """At the end of a run the workers are closed, not killed: a killed worker cannot release the
    semaphores the default model's libraries registered, and Python warned of leaked ones on every run."""
    import subprocess
    import sys

    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "s.json").write_text(json.dumps({"type": "boolean"}))
    done = subprocess.run([sys.executable, "-m", "jsonschemabench.cli", "run", "--schemas", str(tmp_path / "schemas"),
                           "--engines", "structgen-lcd", "--max-tokens", "4", "--quiet", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert read_records(tmp_path / "out" / "results.jsonl")[0]["valid"]
