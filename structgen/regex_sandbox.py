"""ECMA-262 matching that cannot take the process down with it.

The judge matches patterns with `regress`, a backtracking engine. On some
patterns a backtracking engine needs exponential time, and `regress` also
exponential memory: `^((?:b*?|\\D?|\\S{2})?){2}$` on ten `x` asks for
gigabytes and aborts the whole process (a Rust allocation failure cannot be
caught). Such patterns are rare in real schemas but easy to write, and a
judge that kills the caller is worse than one that says it cannot decide.

So the patterns that *can* backtrack catastrophically -- a repeated group
whose body repeats or branches (`(a+)+`, `(a|ab)*`, `(x?){2}`), found by
`may_backtrack` -- are matched in a child process with a memory limit and
a timeout; everything else is matched in-process, as fast as before. The
child is started once and reused; when it dies or runs out of time it is
replaced and the caller gets `SandboxError`.
"""

from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
from functools import lru_cache

MEMORY_LIMIT = 1 << 30  # bytes of address space for the child (regress asks for far more when it blows up)
TIMEOUT_S = 10.0  # seconds for one match


class SandboxError(Exception):
    """The child process died or ran out of time on a match (catastrophic backtracking)."""


@lru_cache(maxsize=4096)
def may_backtrack(pattern: str) -> bool:
    """Whether `pattern` repeats (more than once) a part that itself repeats or has alternatives.

    Over-approximates the patterns on which a backtracking engine can need
    exponential time or memory, on the syntax tree of the regex front end;
    a pattern the front end does not read (lookaround, backreferences, ...)
    counts as one that may.
    """
    from structgen.errors import StructgenError  # imported here: the child runs this file without the package
    from structgen.regex.parser import Concat, Look, Repeat, Union, parse

    def branches(node) -> bool:  # holds a quantifier or an alternation
        if isinstance(node, (Repeat, Union)):
            return True
        if isinstance(node, Look):
            return branches(node.inner)
        return isinstance(node, Concat) and any(map(branches, node.items))

    try:
        todo = [parse(pattern)]
    except StructgenError:
        return True
    while todo:
        node = todo.pop()
        if isinstance(node, Repeat):
            if (node.hi is None or node.hi > 1) and branches(node.item):
                return True
            todo.append(node.item)
        elif isinstance(node, Concat):
            todo.extend(node.items)
        elif isinstance(node, Union):
            todo.extend(node.options)
        elif isinstance(node, Look):
            todo.append(node.inner)
    return False


class _Child:
    """One reusable child process that answers `find` requests, one JSON line each."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None

    def find(self, pattern: str, flags: str | None, text: str) -> bool:
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        try:
            proc.stdin.write(json.dumps([pattern, flags, text]) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT_S)
            line = proc.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            line = ""
        if line.strip() not in ("0", "1"):
            self.close()
            why = "ran out of time" if not ready else "ran out of memory"
            raise SandboxError(f"the ECMA-262 engine {why} (catastrophic backtracking)")
        return line.strip() == "1"

    def _start(self) -> subprocess.Popen:
        self.close()
        self._proc = subprocess.Popen(
            # run as a file in isolated mode: the child imports only `regress`, not structgen (and numba)
            [sys.executable, "-I", __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", errors="surrogatepass",
            preexec_fn=_limit_memory, env={**os.environ, "RUST_BACKTRACE": "0"})
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


_child = _Child()


def sandboxed_find(pattern: str, flags: str | None, text: str) -> bool:
    """`regress.Regex(pattern, flags).find(text) is not None`, in the child process.

    Raises
    ------
    SandboxError
        When the match needs more than `MEMORY_LIMIT` bytes or `TIMEOUT_S` seconds.
    """
    return _child.find(pattern, flags, text)


def _serve() -> None:
    import regress

    compiled: dict = {}
    for line in sys.stdin:
        pattern, flags, text = json.loads(line)
        regex = compiled.get((pattern, flags))
        if regex is None:
            regex = compiled[(pattern, flags)] = regress.Regex(pattern, flags) if flags else regress.Regex(pattern)
        sys.stdout.write("1\n" if regex.find(text) is not None else "0\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
