"""The automaton kernels made ready once per process, before any compile budget's clock starts.

structgen's inner loops are numba kernels, compiled to machine code the
first time they run and cached on disk. With a cold cache (a fresh install,
a new numba version) that first compilation takes seconds to tens of
seconds, and a compile budget in seconds that counted it would refuse a
small schema on a first run only. `ensure` runs one small schema, pattern and
recursive grammar through the compiler (no time limit) the first time any
budgeted compilation starts in a process; with a warm cache it only loads
the kernels, which the first compilation would do anyway.
"""

from __future__ import annotations

import threading

#: One structure of each kind, small, that between them run the kernels compiling uses.
WARM_UP_SCHEMA = {"type": "object", "properties": {
    "n": {"type": "integer", "minimum": 0, "maximum": 99}, "x": {"type": "number"}, "b": {"type": "boolean"},
    "s": {"type": "string", "maxLength": 8}, "e": {"enum": ["a", "b"]}, "l": {"type": "array", "items": {}},
    "p": {"type": "string", "pattern": "^.+/"}}, "required": ["n"]}
WARM_UP_REGEX = "[a-z]{1,80}[0-9]?"
#: Bytes that each warm-up structure reads from its start, a mask after each: for the regex, more
#: states than a lazy automaton's first tables hold, so that the kernels which hand grown tables back
#: run too; for the schema, a string whose plain bytes all lead on to one state and then part ways
#: (`Constraint._plain_run`, then the whole trie walked from a stop: `rows.fill_mask`).
WARM_UP_TEXTS = ((b'{"n":1', b'{"n":1,"p":"'), (b"a" * 70,), (b"((",))
WARM_UP_GRAMMAR = 'root ::= "(" root ")" | "x"'

_lock = threading.RLock()  # re-entered by the warm-up's own compilations; other threads wait for it
_done = False
_warming = False


def ensure() -> None:
    """Compile the warm-up structures once per process (later calls return at once; a thread
    that comes while another warms up waits for it, so that its budget does not count the wait)."""
    global _done, _warming
    if _done:
        return
    with _lock:
        if _done or _warming:
            return
        _warming = True
        try:
            _warm_up()
        finally:  # one attempt per process, as any compilation makes
            _warming, _done = False, True


def _warm_up() -> None:
    """`warm_up` over the 256 bytes and three tokens of two bytes: their walks need rows past the
    first, which a kernel then builds."""
    from .vocab import Vocabulary

    warm_up(Vocabulary([bytes([b]) for b in range(256)] + [b'{"', b"aa", b"(("] + [b""], eos_token_ids=[259]))


def warm_up(vocab) -> None:
    """Compile one structure of each kind over `vocab` (a `Vocabulary`), with no practical time limit;
    mask its start, advance by a token allowed there, and mask the states after a few bytes
    (`WARM_UP_TEXTS`). `tests/test_warmup.py` checks that decoding then compiles no kernel.

    Over a model's vocabulary this also builds the vocabulary's token trie, which every
    constraint over it shares (`structgen.integrations.vllm` does this before its first request).
    """
    import numpy as np

    from .automata.budget import CompileBudget
    from .compile import compile_grammar, compile_json_schema, compile_regex

    unlimited = CompileBudget(max_seconds=3600.0)
    constraints = (compile_json_schema(WARM_UP_SCHEMA, vocab, budget=unlimited),
                   compile_regex(WARM_UP_REGEX, vocab, budget=unlimited),
                   compile_grammar(WARM_UP_GRAMMAR, vocab, budget=unlimited))
    for constraint, texts in zip(constraints, WARM_UP_TEXTS):
        start = constraint.start()
        allowed = np.flatnonzero(constraint.mask(start))
        constraint.advance(start, int(allowed[0]))  # a token's bytes (the vocabulary's arrays, not `bytes`)
        for text in texts:
            constraint.mask(constraint.advance_bytes(constraint.start(), text))  # a state's first mask
