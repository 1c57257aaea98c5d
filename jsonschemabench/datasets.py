"""Schema datasets: the shipped JSONSchemaBench sets, the JSON Schema Test Suite, and user files.

Why here: every benchmark and test reads schemas the same way, from files inside the install
(nothing is downloaded at run time). See `data/PROVENANCE.md` for where the data comes from.
"""

from __future__ import annotations

import functools
import gzip
import json
import lzma
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

DATASETS: tuple[str, ...] = (
    "Glaiveai2K",
    "Github_trivial",
    "Github_easy",
    "Snowplow",
    "Github_medium",
    "Kubernetes",
    "WashingtonPost",
    "Github_hard",
    "JsonSchemaStore",
    "Github_ultra",
)
"""The JSONSchemaBench datasets, in the order of the benchmark's paper (roughly by difficulty)."""

SPLITS: tuple[str, ...] = ("train", "val", "test", "not_in_hf", "train_or_not_in_hf", "train_or_test")
"""Split labels in the shipped data; only train/val/test are confirmed HF splits (see data/jsonschemabench/README.md)."""

TEST_SUITE_DRAFTS: tuple[str, ...] = ("draft2020-12", "draft7")
TEST_SUITE_DIALECTS = {"draft2020-12": "https://json-schema.org/draft/2020-12/schema",
                       "draft7": "http://json-schema.org/draft-07/schema#"}
"""The `$schema` of each draft's folder. The suite says a case's draft by its folder; the draft-7 schemas
carry no `$schema`, so the harness adds it (an engine reading the schema alone would take them as 2020-12,
where `items` arrays, `dependencies` and `$ref` siblings mean other things)."""
TEST_SUITE_REMOTE_BASE = "http://localhost:1234/"
"""Tests that use `$ref` to remote schemas expect `remotes/<path>` to be served under this URL."""


@dataclass(frozen=True)
class SchemaRecord:
    """One schema with where it came from; `split` is None when the source has no split label."""

    id: str
    dataset: str
    split: str | None
    schema: Any
    hf_unique_id: str | None = None


@dataclass(frozen=True)
class Test:
    """One instance of a test-suite case, with the validity the suite expects."""

    description: str
    instance: Any
    valid: bool

    __test__ = False  # not a pytest class, despite the name


@dataclass(frozen=True)
class TestCase:
    """One test-suite case: a schema and the instances checked against it.

    `category` is the file name relative to the draft folder without `.json`
    (`allOf`, `optional/bignum`, `optional/format/date`).
    """

    draft: str
    category: str
    description: str
    schema: Any
    tests: tuple[Test, ...]
    comment: str | None = field(default=None, compare=False)

    __test__ = False  # not a pytest class, despite the name


def _data_dir() -> Path:
    return Path(str(resources.files("jsonschemabench") / "data"))


def _open_text(path: Path):
    """Open plain, .gz or .xz text files alike, so users can point at compressed JSONL."""
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding="utf-8")
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


@functools.lru_cache(maxsize=None)
def _load_dataset_records(name: str) -> tuple[SchemaRecord, ...]:
    path = _data_dir() / "jsonschemabench" / f"{name}.jsonl.xz"
    with _open_text(path) as lines:
        return tuple(
            SchemaRecord(
                id=row["id"],
                dataset=name,
                split=row["split"],
                schema=row["schema"],
                hf_unique_id=row.get("hf_unique_id"),
            )
            for row in map(json.loads, lines)
        )


def load_dataset(name: str, split: str | Iterable[str] | None = None) -> list[SchemaRecord]:
    """The schemas of one JSONSchemaBench dataset, in file order.

    `split` keeps only records with that label (or any of several labels); labels match exactly,
    so `split="test"` gives confirmed test schemas only, not `train_or_test` ones.
    Records are shared between calls: treat the schemas as read-only.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    wanted = _split_filter(split)
    return [r for r in _load_dataset_records(name) if wanted is None or r.split in wanted]


def _split_filter(split: str | Iterable[str] | None) -> frozenset[str] | None:
    if split is None:
        return None
    wanted = frozenset([split] if isinstance(split, str) else split)
    unknown = sorted(wanted - set(SPLITS))
    if unknown:
        raise ValueError(f"unknown split {', '.join(unknown)}; choose among {', '.join(SPLITS)}")
    return wanted


def load_schemas(path: str | Path) -> list[SchemaRecord]:
    """Schemas from a user file or folder.

    - a folder: every `*.json` file in it (not recursive), sorted by name; id = file stem;
    - a `.json` file: one schema;
    - a JSONL file (`.jsonl`, optionally `.gz`/`.xz`): each line is either a record with a
      `"schema"` field (and optional `"id"`, `"split"`) or a schema itself; blank lines are skipped.
    The dataset name is the folder or file name without suffixes.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        return [
            SchemaRecord(id=p.stem, dataset=path.name, split=None, schema=json.loads(p.read_text("utf-8")))
            for p in files
        ]
    if not path.is_file():
        raise FileNotFoundError(path)
    dataset = path.name.split(".")[0]
    if path.suffix == ".json":
        return [SchemaRecord(id=path.stem, dataset=dataset, split=None, schema=json.loads(path.read_text("utf-8")))]
    return list(_jsonl_records(path, dataset))


def _jsonl_records(path: Path, dataset: str) -> Iterator[SchemaRecord]:
    with _open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON: {error}") from error
            if isinstance(row, dict) and isinstance(row.get("schema"), (dict, bool)):
                yield SchemaRecord(
                    id=str(row.get("id", number)),
                    dataset=dataset,
                    split=row.get("split"),
                    schema=row["schema"],
                    hf_unique_id=row.get("hf_unique_id"),
                )
            else:
                yield SchemaRecord(id=str(number), dataset=dataset, split=None, schema=row)


@functools.lru_cache(maxsize=1)
def _test_suite_files() -> dict[str, Any]:
    with _open_text(_data_dir() / "json-schema-test-suite.json.xz") as f:
        return json.load(f)["files"]


def load_test_suite(draft: str = "draft2020-12", include_optional: bool = False) -> list[TestCase]:
    """The JSON Schema Test Suite cases for one draft, sorted by file.

    Core files only by default (as JSONSchemaBench uses them); `include_optional=True` adds
    `optional/` and `optional/format/`. A schema object without `$schema` gets its folder's
    (`TEST_SUITE_DIALECTS`).
    """
    if draft not in TEST_SUITE_DRAFTS:
        raise ValueError(f"unknown draft {draft!r}; choose one of {', '.join(TEST_SUITE_DRAFTS)}")
    prefix = f"tests/{draft}/"
    cases = []
    for path, content in sorted(_test_suite_files().items()):
        if not path.startswith(prefix):
            continue
        category = path[len(prefix) : -len(".json")]
        if category.startswith("optional/") and not include_optional:
            continue
        for case in content:
            tests = tuple(Test(t["description"], t["data"], t["valid"]) for t in case["tests"])
            schema = case["schema"]
            if isinstance(schema, dict) and "$schema" not in schema:
                schema = {"$schema": TEST_SUITE_DIALECTS[draft], **schema}
            cases.append(TestCase(draft, category, case["description"], schema, tests, case.get("comment")))
    return cases


def load_test_suite_remotes() -> dict[str, Any]:
    """Remote schemas the suite refers to, keyed by their URL under `TEST_SUITE_REMOTE_BASE`."""
    return {
        TEST_SUITE_REMOTE_BASE + path[len("remotes/") :]: content
        for path, content in _test_suite_files().items()
        if path.startswith("remotes/")
    }
