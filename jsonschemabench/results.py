"""Results as JSON lines, appended as each (engine, schema) finishes, so an interrupted run resumes.

Why JSON lines: one record is one line, written and flushed on its own; a run killed mid-write
leaves at most one broken last line, which loading skips (that record is simply computed again).
A line that is not a UTF-8 JSON object (cut short, or damaged by hand) is skipped and counted, never
fatal: losing one record costs one recomputation, refusing the file would cost the whole run.

Why the run settings in the key: a record is only a result of the settings it was made with. A rerun
with another compile timeout, token budget or temperature must compute its records again, not
silently reuse (and report) those of the earlier settings.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Iterable

RUN_RESULTS = "results.jsonl"
TESTSUITE_RESULTS = "testsuite.jsonl"
MASKCHECK_RESULTS = "maskcheck.jsonl"
MASKCHECK_INSTANCES = "maskcheck_instances.jsonl"
SETTINGS_FIELD = "settings"
RUN_KEY = ("engine", "dataset", "id", SETTINGS_FIELD)
TESTSUITE_KEY = ("engine", "draft", "category", "case", SETTINGS_FIELD)
MASKCHECK_KEY = RUN_KEY
INSTANCES_KEY = ("dataset", "id")


def settings_key(settings: dict) -> str:
    """A short stable digest of the settings that decide a record's content (stored in each record)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def read_records(path: str | Path, skipped: list[int] | None = None) -> list[dict]:
    """Every complete record in a JSONL results file (none if it does not exist).

    Lines that are not a UTF-8 JSON object are left out; their 1-based numbers are appended to
    `skipped` when given. Blank lines are ignored.
    """
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
                record = None
            if isinstance(record, dict):
                records.append(record)
            elif skipped is not None:
                skipped.append(number)
    return records


def describe_skipped(name: str, numbers: list[int]) -> str:
    """One line: how many unreadable lines of `name` were skipped, and the first few line numbers."""
    shown = ", ".join(str(n) for n in numbers[:5]) + (", ..." if len(numbers) > 5 else "")
    return f"{name}: {len(numbers)} unreadable line(s) skipped (line {shown}); those records are computed again"


class ResultStore:
    """An append-only JSONL file of records keyed by `key_fields`; knows which keys are done."""

    def __init__(self, path: str | Path, key_fields: Iterable[str]):
        self.path = Path(path)
        self.key_fields = tuple(key_fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.skipped_lines: list[int] = []  # unreadable lines found when loading
        self._done = {self.key(r) for r in read_records(self.path, self.skipped_lines)}
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
