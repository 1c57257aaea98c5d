"""Which JSONSchemaBench schemas are recursive, and how many of them compile now.

    python -m bench.recursive_schemas --timeout 20 [--datasets Github_easy,...]

A schema is a candidate when one of its local `$ref`s leads, through other
references, back to a schema that contains it. Each candidate is compiled
with `structgen.compile_json_schema` (SmolLM2 vocabulary) under a time limit
and counted by outcome: `grammar` (it compiled to the pushdown constraint —
every such schema raised before recursive references were supported),
`regular` (the cycle never recursed in practice), or the error it raised.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal


def has_reference_cycle(schema) -> bool:
    """Does a local `$ref` lead (transitively) back into a schema that contains it?"""
    refs: dict[str, set[str]] = collections.defaultdict(set)  # location -> targets

    def walk(node, pointer: str) -> None:
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and target.startswith("#"):
                refs[pointer].add(target[1:])
            for key, value in node.items():
                walk(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(schema, "")

    def inside(location: str, container: str) -> bool:
        return container == "" or location == container or location.startswith(container + "/")

    for start in {t for targets in refs.values() for t in targets}:
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            for location, targets in refs.items():
                if not inside(location, current):
                    continue
                for target in targets:
                    if inside(start, target):
                        return True
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
    return False


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout


def _caused_by_timeout(error: BaseException | None) -> bool:
    while error is not None:
        if isinstance(error, _Timeout):
            return True
        error = error.__cause__ or error.__context__
    return False


def main(argv: list[str] | None = None) -> dict:
    import structgen
    from jsonschemabench.datasets import DATASETS, load_dataset
    from structgen.lm import load_tokenizer
    from structgen.vocab import Vocabulary

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated datasets (default: all)")
    parser.add_argument("--timeout", type=int, default=20, help="seconds per schema (default 20)")
    parser.add_argument("--json", metavar="PATH", help="also write the counts as JSON")
    args = parser.parse_args(argv)
    vocab = Vocabulary.from_tokenizer(load_tokenizer())
    signal.signal(signal.SIGALRM, _alarm)
    out = {}
    for name in args.datasets.split(","):
        counts: collections.Counter = collections.Counter()
        for record in load_dataset(name):
            if not has_reference_cycle(record.schema):
                continue
            counts["candidates"] += 1
            signal.alarm(args.timeout)
            try:
                constraint = structgen.compile_json_schema(record.schema, vocab)
                counts["grammar" if type(constraint).__name__ == "GrammarConstraint" else "regular"] += 1
            except _Timeout:
                counts["timeout"] += 1
            except SystemError as e:  # the alarm fired inside a numba kernel
                if not _caused_by_timeout(e):
                    raise
                counts["timeout"] += 1
            except structgen.StructgenError as e:
                counts[f"{type(e).__name__} {getattr(e, 'keyword', '')}".strip()] += 1
            finally:
                signal.alarm(0)
        out[name] = dict(counts)
        print(name, json.dumps(out[name]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
