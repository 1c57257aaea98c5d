"""The shipped datasets match their documentation; user files and folders load."""

import gzip
import json
import re
from importlib import resources
from pathlib import Path

import pytest

from jsonschemabench.datasets import (
    DATASETS,
    SPLITS,
    TEST_SUITE_REMOTE_BASE,
    load_dataset,
    load_schemas,
    load_test_suite,
    load_test_suite_remotes,
)

DATA = Path(str(resources.files("jsonschemabench") / "data"))


def readme_table() -> dict[str, dict[str, str]]:
    """Rows of the count table in the shipped README, keyed by dataset name."""
    text = (DATA / "jsonschemabench" / "README.md").read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in DATASETS:
            name, schemas, test, val, hf_sizes = cells
            rows[name] = {"schemas": schemas, "test": test, "val": val, "hf": hf_sizes}
    return rows


def test_readme_lists_every_dataset():
    assert set(readme_table()) == set(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
def test_counts_match_readme(name):
    row = readme_table()[name]
    records = load_dataset(name)
    assert len(records) == int(re.match(r"\d+", row["schemas"]).group())
    assert len({r.id for r in records}) == len(records)
    assert all(r.dataset == name and r.split in SPLITS for r in records)
    for split in ("test", "val"):
        expected = 0 if row[split] == "unknown" else int(row[split])
        assert len(load_dataset(name, split)) == expected
    hf_train, hf_val, hf_test = map(int, row["hf"].split("/"))
    assert len(load_dataset(name, "val")) == hf_val
    if row["test"] != "unknown":
        assert len(load_dataset(name, "test")) == hf_test


def test_total_is_9557():
    assert sum(len(load_dataset(n)) for n in DATASETS) == 9557


def test_splits_as_documented():
    # Fully labelled sets: train + val + test = all.
    for name in ("Glaiveai2K", "Github_trivial", "Snowplow", "WashingtonPost", "Github_ultra"):
        assert {r.split for r in load_dataset(name)} == {"train", "val", "test"}
    assert len(load_dataset("Github_easy", "not_in_hf")) == 5
    assert len(load_dataset("Github_medium", "train_or_not_in_hf")) == 1189 + 7
    for name in ("Github_hard", "Kubernetes", "JsonSchemaStore"):
        assert {r.split for r in load_dataset(name)} == {"val", "train_or_test"}
    hf_ids = [r for r in load_dataset("JsonSchemaStore") if r.hf_unique_id is not None]
    assert hf_ids and all(r.hf_unique_id != r.id for r in hf_ids)


def test_split_selection_takes_several_labels_and_rejects_unknown_ones():
    both = load_dataset("WashingtonPost", ["val", "test"])
    assert len(both) == 13 + 38
    with pytest.raises(ValueError, match="unknown split"):
        load_dataset("WashingtonPost", "validation")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("github_easy")


def test_schemas_are_json_schemas():
    for name in DATASETS:
        for record in load_dataset(name)[:20]:
            assert isinstance(record.schema, (dict, bool))


def test_test_suite_counts_match_provenance():
    core = load_test_suite("draft2020-12")
    assert (len(core), sum(len(c.tests) for c in core)) == (383, 1299)
    assert len({c.category for c in core}) == 46
    everything = load_test_suite("draft2020-12", include_optional=True)
    assert (len(everything), sum(len(c.tests) for c in everything)) == (383 + 50 + 28, 1299 + 162 + 764)
    draft7 = load_test_suite("draft7")
    assert (len(draft7), sum(len(c.tests) for c in draft7)) == (257, 927)
    case = next(c for c in core if c.category == "allOf")
    assert case.draft == "draft2020-12" and isinstance(case.tests[0].valid, bool)


def test_test_suite_remotes_are_keyed_by_url():
    remotes = load_test_suite_remotes()
    assert TEST_SUITE_REMOTE_BASE + "integer.json" in remotes
    assert remotes[TEST_SUITE_REMOTE_BASE + "integer.json"] == {"type": "integer"}


def test_user_folder_loads(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps({"type": "integer"}))
    (tmp_path / "a.json").write_text(json.dumps({"type": "string"}))
    (tmp_path / "notes.txt").write_text("ignored")
    records = load_schemas(tmp_path)
    assert [(r.id, r.schema) for r in records] == [("a", {"type": "string"}), ("b", {"type": "integer"})]
    assert all(r.dataset == tmp_path.name and r.split is None for r in records)


def test_user_jsonl_with_records_or_bare_schemas(tmp_path):
    records_file = tmp_path / "mine.jsonl"
    records_file.write_text(
        json.dumps({"id": "x", "split": "test", "schema": {"type": "null"}}) + "\n\n" + json.dumps({"schema": True})
    )
    records = load_schemas(records_file)
    assert [(r.id, r.split, r.schema) for r in records] == [("x", "test", {"type": "null"}), ("3", None, True)]
    bare = tmp_path / "bare.jsonl.gz"
    with gzip.open(bare, "wt") as f:
        f.write(json.dumps({"type": "object", "properties": {"schema": {"type": "string"}}}) + "\n")
    (record,) = load_schemas(bare)
    assert record.dataset == "bare" and record.schema["type"] == "object"


def test_single_json_file_and_missing_path(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('{"enum": [1, 2]}')
    assert load_schemas(path)[0].schema == {"enum": [1, 2]}
    with pytest.raises(FileNotFoundError):
        load_schemas(tmp_path / "missing.jsonl")
