"""Results as JSON lines, appended as each (engine, schema) finishes, so an interrupted run resumes.

Why JSON lines: one record is one line, written and flushed on its own; a run killed mid-write
leaves at most one broken last line, which loading skips (that record is simply computed again).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Iterable

RUN_RESULTS = "results.jsonl"
TESTSUITE_RESULTS = "testsuite.jsonl"
MASKCHECK_RESULTS = "maskcheck.jsonl"
MASKCHECK_INSTANCES = "maskcheck_instances.jsonl"
RUN_KEY = ("engine", "dataset", "id")
TESTSUITE_KEY = ("engine", "draft", "category", "case")
MASKCHECK_KEY = RUN_KEY
INSTANCES_KEY = ("dataset", "id")


def read_records(path: str | Path) -> list[dict]:
    """Every complete record in a JSONL results file (none if it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by an interrupted run
            if isinstance(record, dict):
                records.append(record)
    return records


class ResultStore:
    """An append-only JSONL file of records keyed by `key_fields`; knows which keys are done."""

    def __init__(self, path: str | Path, key_fields: Iterable[str]):
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._done = {self.key(r) for r in read_records(self.path)}
        self._lock = threading.Lock()
        self._repair_last_line()

    def key(self, record: dict) -> tuple:
        return tuple(str(record.get(f)) for f in self.key_fields)

    def done(self, record: dict) -> bool:
        return self.key(record) in self._done

    def append(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            self._done.add(self.key(record))

    def _repair_last_line(self) -> None:
        """End the file with a newline, so a record appended after a cut-short line stays on its own line."""
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb+") as f:
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    f.write(b"\n")
