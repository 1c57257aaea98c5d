"""The quality score: task generation, answer scoring, Wilson intervals, the `quality` command and its report.

The gold answers are checked by reading each question back (the name's words, the starting objects and
the swaps) and solving it again here; GSM8K's against the shipped file and its source's digest.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import math
import re
import subprocess
import sys

import jsonschema
import pytest

from jsonschemabench.cli import main
from jsonschemabench.quality import extract_answer, is_correct, quality_summary, score, wilson_interval
from jsonschemabench.quality_tasks import GSM8K_FILE, TASKS, examples, load_items, messages
from jsonschemabench.report import quality_markdown

GSM8K_SOURCE_SHA256 = "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14"  # openai/grade-school-math


def solve_last_letter(question: str) -> str:
    name = re.fullmatch(r'Take the last letters of the words in "(.+)" and concatenate them\.', question).group(1)
    return "".join(word[-1] for word in name.split()).lower()


def solve_shuffle(question: str) -> tuple[str, list[str]]:
    """(what the asked player holds at the end, the objects held at the start), read from the question."""
    start = re.search(r": (.+?)\. As the game", question).group(1)
    holding = {}
    for part in start.split(", "):
        player, thing = part.split(" has ")
        holding[player] = re.sub(r"^(a|an) ", "", thing)
    objects = list(holding.values())
    for a, b in re.findall(r"(\w+) and (\w+) (?:swap balls|swap their gifts|trade books)\.", question):
        holding[a], holding[b] = holding[b], holding[a]
    target = re.search(r"which \w+ does (\w+) have\?", question).group(1)
    return holding[target], objects


def test_generated_items_are_deterministic_per_seed_and_prefix_stable():
    for task in ("last-letter", "shuffle-objects"):
        items = load_items(task, 30, seed=0)
        assert load_items(task, 30, seed=0) == items
        assert load_items(task, 10, seed=0) == items[:10]  # the limit does not change the items
        assert [i.question for i in load_items(task, 30, seed=1)] != [i.question for i in items]
        assert len({i.id for i in items}) == 30
    # ... and in another interpreter with another hash seed
    code = ("import json; from jsonschemabench.quality_tasks import load_items; "
            "print(json.dumps([i.question for t in ('last-letter', 'shuffle-objects') for i in load_items(t, 5)]))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert json.loads(other.stdout) == [i.question for t in ("last-letter", "shuffle-objects")
                                        for i in load_items(t, 5)]


def test_last_letter_gold_answers_and_schema():
    for item in load_items("last-letter", 200, seed=3) + list(examples("last-letter")):
        assert item.gold == solve_last_letter(item.question)
        jsonschema.validate(item.gold, item.answer_schema)
        with pytest.raises(jsonschema.ValidationError):  # the right length, not just letters
            jsonschema.validate(item.gold + "a", item.answer_schema)


def test_shuffle_objects_gold_answers_replay_the_swaps():
    finals = set()
    for item in load_items("shuffle-objects", 200, seed=3) + list(examples("shuffle-objects")):
        gold, objects = solve_shuffle(item.question)
        assert item.gold == gold
        assert sorted(item.answer_schema["enum"]) == sorted(objects)
        assert item.question.endswith(f"Options: {', '.join(item.answer_schema['enum'])}.")
        finals.add(objects.index(gold))
    assert finals == {0, 1, 2}  # the answer is not always whoever held it first


def test_gsm8k_is_the_shipped_test_split():
    data = lzma.decompress(GSM8K_FILE.read_bytes())
    assert hashlib.sha256(data).hexdigest() == GSM8K_SOURCE_SHA256
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    items = load_items("gsm8k", None)
    assert len(items) == len(rows) == 1319
    assert items[0].gold == 18 and "Janet" in items[0].question
    for item, row in zip(items, rows):
        assert item.question == row["question"]
        assert str(item.gold) == row["answer"].split("####")[1].strip().replace(",", "")
    assert load_items("gsm8k", 7) == items[:7]


@pytest.mark.parametrize("task", TASKS)
def test_prompts_show_worked_examples_that_fit_the_schema(task):
    item = load_items(task, 1)[0]
    chat = messages(item)
    assert chat[0]["role"] == "system" and json.dumps(item.schema, separators=(",", ":")) in chat[0]["content"]
    assert chat[-1] == {"role": "user", "content": item.question}
    shots = chat[1:-1]
    assert [m["role"] for m in shots] == ["user", "assistant"] * (len(shots) // 2) and shots
    for example, answer in zip(examples(task), shots[1::2]):
        value = json.loads(answer["content"])
        jsonschema.validate(value, example.schema)
        assert list(value) == ["reasoning", "answer"] and value["answer"] == example.gold
        assert example.question != item.question
    if task == "gsm8k":  # the hand-written examples' arithmetic
        for example in examples(task):
            for left, right in re.findall(r"([\d ]+[-+*/][\d +*/-]+) = (\d+)", example.reasoning):
                assert eval(left) == int(right)  # noqa: S307 - digits and operators only


@pytest.mark.parametrize("task, text, gold, parsed, correct", [
    ("gsm8k", '{"reasoning":"9 * 2 = 18","answer":18}', 18, True, True),
    ("gsm8k", '{"reasoning":"9 * 2 = 18","answer":17}', 18, True, False),
    ("gsm8k", 'Sure! ```json\n{"reasoning": "...", "answer": "$1,018"}\n``` Hope this helps', 1018, True, True),
    ("gsm8k", '{"reasoning":"","answer":18.0} {"answer": 3}', 18, True, True),
    ("gsm8k", '{"reasoning":"","answer":true}', 1, True, False),
    ("gsm8k", '{"reasoning":"She makes 9 * 2 = 18 dollars', 18, False, False),  # cut short: no answer
    ("gsm8k", "The answer is 18.", 18, False, False),
    ("gsm8k", '{"reasoning":"x"} then {"answer": 18}', 18, True, True),
    ("last-letter", '{"reasoning":"...","answer":"yn"}', "yn", True, True),
    ("last-letter", '{"reasoning":"...","answer":"Y N"}', "yn", True, True),
    ("last-letter", '{"reasoning":"...","answer":"ny"}', "yn", True, False),
    ("last-letter", '{"reasoning":"...","answer":["y","n"]}', "yn", True, False),
    ("shuffle-objects", '{"reasoning":"...","answer":"The red ball."}', "red ball", True, True),
    ("shuffle-objects", '{"reasoning":"...","answer":"blue ball"}', "red ball", True, False),
    ("shuffle-objects", '{"reasoning":"...","answer":"Moby Dick"}', "Moby Dick", True, True),
    ("shuffle-objects", "", "red ball", False, False),
])
def test_scoring_hand_made_outputs(task, text, gold, parsed, correct):
    assert score(task, text, gold) == {"parsed": parsed, "answer": extract_answer(text)[1], "correct": correct}
    assert is_correct(task, extract_answer(text)[1], gold) == correct or not parsed


def test_wilson_interval_known_values():
    z2 = 1.959963984540054 ** 2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))  # closed forms at the ends
    assert wilson_interval(10, 10) == pytest.approx((10 / (10 + z2), 1.0))
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score, no correction)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    assert wilson_interval(1, 29) == pytest.approx((0.0061, 0.1718), abs=1e-4)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(1 - hi) and lo < 0.5 < hi
    for bad in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError):
            wilson_interval(*bad)


def test_summary_and_report_table_on_hand_made_records():
    def rec(engine, task, correct, status="ok", parsed=True):
        return {"engine": engine, "task": task, "status": status, "parsed": parsed, "correct": correct}

    records = ([rec("unconstrained", "gsm8k", c) for c in (True, False, False)]
               + [rec("unconstrained", "gsm8k", False, parsed=False)]
               + [rec("structgen-lcd", "gsm8k", c) for c in (True, True, False)]
               + [rec("structgen-lcd", "gsm8k", False, status="generation_timeout", parsed=False)]
               + [rec("structgen-lcd", "last-letter", True)])
    summary = quality_summary(records)
    assert summary["unconstrained"]["gsm8k"] == {"n": 4, "correct": 1, "accuracy": 0.25,
                                                 "ci95": list(wilson_interval(1, 4)), "unparseable": 1, "failed": 0}
    assert summary["structgen-lcd"]["gsm8k"]["failed"] == 1 and summary["structgen-lcd"]["gsm8k"]["correct"] == 2
    assert list(summary["structgen-lcd"]) == ["last-letter", "gsm8k"]  # the tasks' order
    text = "\n".join(quality_markdown(summary, None))
    lo, hi = wilson_interval(2, 4)
    assert f"| gsm8k | structgen-lcd | 4 | 2 (50.0%) | {100 * lo:.1f}% – {100 * hi:.1f}% | 0 | 1 |" in text
    assert "| gsm8k | unconstrained | 4 | 1 (25.0%) |" in text and "| 1 | 0 |" in text


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, names", [
    (["--tasks", "gsm8k,nope"], ["--tasks", "nope"]),
    (["--tasks", ","], ["--tasks"]),
    (["--task-seed", "-1"], ["--task-seed"]),
    (["--limit", "-2"], ["--limit"]),
    (["--engines", "nope"], ["--engines"]),
    (["--max-tokens", "0"], ["--max-tokens"]),
])
def test_bad_quality_arguments_are_one_line_exit_2(tmp_path, capsys, argv, names):
    code = main(["quality", "--model", "tiny", "--quiet", "--out", str(tmp_path / "out"), *argv])
    assert code == 2
    err = _one_error_line(capsys)
    assert err.startswith("jsonschemabench: error:") and all(name in err for name in names)
    assert not (tmp_path / "out" / "quality.jsonl").exists()


@pytest.mark.parametrize("model", ["tiny", pytest.param("default", marks=pytest.mark.slow)])
def test_quality_run_resumes_and_reports(tmp_path, capsys, model):
    out = tmp_path / "results"
    argv = ["quality", "--tasks", "last-letter", "--limit", "2", "--engines", "unconstrained,structgen-lcd",
            "--model", model, "--max-tokens", "48", "--threads", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    records = [json.loads(line) for line in (out / "quality.jsonl").read_text().splitlines()]
    assert sorted((r["engine"], r["id"]) for r in records) == sorted(
        (e, i) for e in ("unconstrained", "structgen-lcd") for i in ("0", "1"))
    questions = {item.id: item.question for item in load_items("last-letter", 2)}
    for r in records:
        assert r["status"] == "ok" and r["gold"] == solve_last_letter(questions[r["id"]])
        found = re.search(r'"answer"\s*:\s*"([^"]*)"', r["text"])  # an independent reading of the answer
        assert r["correct"] == bool(found and found.group(1).replace(" ", "").lower() == r["gold"])
        if r["engine"] == "structgen-lcd" and r["finished"]:
            assert r["valid"] and r["parsed"]
    capsys.readouterr()

    assert main(argv) == 0  # resumed: nothing new to do
    assert "0 new records, 4 already" in capsys.readouterr().err
    assert len((out / "quality.jsonl").read_text().splitlines()) == 4

    assert main(["report", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for engine in ("unconstrained", "structgen-lcd"):
        cell = summary["quality"][engine]["last-letter"]
        correct = sum(r["correct"] for r in records if r["engine"] == engine)
        assert cell["n"] == 2 and cell["accuracy"] == correct / 2
        assert cell["ci95"] == pytest.approx(wilson_interval(correct, 2))
        assert cell["unparseable"] == sum(not r["parsed"] for r in records if r["engine"] == engine)
    report = (out / "report.md").read_text()
    assert "## Quality" in report and "| last-letter | structgen-lcd | 2 |" in report
    assert (out / "quality.png").stat().st_size > 0
    assert math.isfinite(summary["quality"]["unconstrained"]["last-letter"]["ci95"][1])
