"""The warm-up makes ready every kernel that decoding runs.

structgen's kernels are compiled by numba on first use (seconds each; tens
of seconds for the largest) and cached on disk. `structgen.warmup` runs them
once, before any budget's clock: a kernel, or a signature of one, that it
misses is compiled in the middle of a generation on a fresh install (a mask
took 25 s). Judge: numba's own record of the signatures each kernel has.
The workload runs in a fresh process, where nothing but the warm-up ran
before it.
"""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r'''
import importlib, json, pkgutil, sys
import numba
import structgen
from structgen import warmup

warmup.ensure()

def signatures():
    found = {}
    for info in pkgutil.walk_packages(structgen.__path__, "structgen."):
        if any(part in info.name for part in (".integrations", ".serve", ".lm", ".sampling", "__main__", ".cli",
                                                ".demo", ".regex_sandbox")):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, numba.core.dispatcher.Dispatcher) and value.__module__ == info.name:
                found[f"{info.name}.{name}"] = [str(s) for s in value.signatures]
    return found

before = signatures()
pieces = [bytes([b]) for b in range(256)] + [b'{"', b'":"', b'","', b'"}', b'":', b"ab", b"/b", b":c", b"12", b"],",
                                                b'["', b'"]', b"true", b"null", b"xy"]
vocab = structgen.Vocabulary(pieces + [b""], eos_token_ids=[len(pieces)])
by_bytes = {p: i for i, p in enumerate(pieces)}

def tokens(text):
    out, i = [], 0
    while i < len(text):
        for n in (4, 3, 2, 1):
            if text[i:i + n] in by_bytes:
                out.append(by_bytes[text[i:i + n]])
                i += n
                break
    return out

def walk(constraint, text):
    state = constraint.start()
    for t in tokens(text):
        constraint.mask(state)
        state = constraint.advance(state, t)
        assert state is not None, text
    constraint.mask(state)
    assert constraint.is_accepting(state), text

tree = {"type": "object", "properties": {"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}}}
cases = [
    ({"type": "object", "properties": {"d": {"type": "string", "pattern": "(.+/)?.+:.+"}, "n": {"type": "number"},
      "e": {"enum": ["ab", "xy"]}, "l": {"type": "array", "items": {"type": "string", "maxLength": 4}}},
      "required": ["d"]}, b'{"d":"ab/b:c","n":12.5,"e":"xy","l":["ab","xy"]}'),
    (tree, b'{"v":1,"kids":[{"v":2,"kids":[]}]}'),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, b'["ab","xy"]'),
    ({"type": "string", "format": "date-time"}, b'"2024-01-15T10:30:00Z"'),
]
for schema, text in cases:
    walk(structgen.compile_json_schema(schema, vocab), text)
walk(structgen.compile_regex("[a-z]+(/[a-z]+)*:[0-9]{2}", vocab), b"ab/b:12")
walk(structgen.compile_grammar('root ::= "[" (item ("," item)*)? "]"\nitem ::= root | [a-z]+', vocab), b"[ab,[xy]]")

after = signatures()
print(json.dumps({name: sigs[len(before.get(name, [])):] for name, sigs in after.items()
                  if len(sigs) > len(before.get(name, []))}))
'''


def test_decoding_compiles_no_kernel_the_warm_up_left_out():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    new = json.loads(done.stdout.strip().splitlines()[-1])
    assert new == {}, f"kernels (and signatures) compiled after the warm-up: {new}"
