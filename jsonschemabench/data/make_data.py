"""Rebuild the compressed data files in this folder from a `shared/data` checkout.

Why a script: the shipped files must be reproducible from their sources, byte for byte,
so that PROVENANCE.md can say exactly how they were made.

    python -m jsonschemabench.data.make_data /work/shared/data

writes `jsonschemabench/<Dataset>.jsonl.xz` (the source JSONL lines, unchanged) and
`json-schema-test-suite.json.xz` (one JSON object: {"files": {relative path: parsed JSON
or text}}) holding the draft2020-12 and draft7 tests, the remotes, the test-file schema,
LICENSE and PROVENANCE.md.
"""

from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE_PARTS = ("tests/draft2020-12", "tests/draft7", "remotes")
SUITE_TEXT_FILES = ("LICENSE", "PROVENANCE.md")
XZ_PRESET = 9 | lzma.PRESET_EXTREME


def write_xz(path: Path, data: bytes) -> None:
    # Fixed preset and no file name/time in the container: the output depends only on `data`.
    path.write_bytes(lzma.compress(data, format=lzma.FORMAT_XZ, preset=XZ_PRESET))
    print(f"{path.relative_to(HERE)}: {len(data):,} -> {path.stat().st_size:,} bytes")


def build_benchmark(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for jsonl in sorted(source.glob("*.jsonl")):
        write_xz(target / f"{jsonl.name}.xz", jsonl.read_bytes())
    for note in ("README.md", "LICENSE-NOTE.md"):
        (target / note).write_bytes((source / note).read_bytes())


def build_test_suite(source: Path, target: Path) -> None:
    files: dict[str, object] = {}
    for part in SUITE_PARTS:
        for path in sorted((source / part).rglob("*.json")):
            files[path.relative_to(source).as_posix()] = json.loads(path.read_text("utf-8"))
    files["test-schema.json"] = json.loads((source / "test-schema.json").read_text("utf-8"))
    for name in SUITE_TEXT_FILES:
        files[name] = (source / name).read_text("utf-8")
    blob = json.dumps({"files": files}, ensure_ascii=False, separators=(",", ":"))
    write_xz(target, blob.encode("utf-8"))


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m jsonschemabench.data.make_data SHARED_DATA_DIR")
    shared = Path(argv[0])
    build_benchmark(shared / "jsonschemabench", HERE / "jsonschemabench")
    build_test_suite(shared / "json-schema-test-suite", HERE / "json-schema-test-suite.json.xz")


if __name__ == "__main__":
    main(sys.argv[1:])
