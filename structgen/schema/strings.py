"""JSON strings: length bounds, `pattern` and `format`, in the exact escaped output form.

JSON Schema speaks about the *decoded* string (lengths in code points, the
pattern and the format apply to the value), while the automaton reads the
*serialised* text. So the keywords are combined on the decoded language and
the result is escaped once (`escape_dfa`), by the byte map `json.dumps` applies
with `ensure_ascii=False`: `"` `\\` and the control characters below U+0020
become escape sequences, every other character stays as its UTF-8 bytes.
Those characters are all single bytes, so escaping is a byte map.

Without a pattern or a format the escaped language is written directly: one
JSON character is an unescaped character or an escape sequence, and a length
bound is a repeat of it. That keeps free text and `maxLength: 1000` cheap.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..automata import ir
from ..automata.charset import ANY_CHAR, CharSet
from ..automata.dfa import DFA, AutomatonTooLargeError, build_dfa
from ..errors import (
    InvalidSchemaError,
    RegexSyntaxError,
    SchemaTooLargeError,
    UnsupportedRegexError,
    UnsupportedSchemaError,
)
from .formats import format_node

_SHORT_ESCAPES = {0x22: b'\\"', 0x5C: b"\\\\", 0x08: b"\\b", 0x0C: b"\\f", 0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t"}

#: How `json.dumps(..., ensure_ascii=False)` writes each byte that it escapes.
ESCAPES: dict[int, bytes] = {b: _SHORT_ESCAPES.get(b, b"\\u%04x" % b) for b in [*range(0x20), 0x22, 0x5C]}
_LOW_CONTROLS = [b for b in range(0x10) if b not in _SHORT_ESCAPES]  # written \u000x
_HIGH_CONTROLS = list(range(0x10, 0x20))  # written \u001x

_UNESCAPED = ANY_CHAR - CharSet.of((0, 0x1F), '"', "\\")
QUOTE = ir.literal('"')
#: One character of a JSON string in the output form: itself or its escape.
JSON_CHAR = ir.alt(ir.chars(_UNESCAPED), *(ir.literal(e) for e in ESCAPES.values()))
#: Any sequence of characters (valid UTF-8, no surrogates), decoded.
ANY_TEXT = ir.star(ir.chars(ANY_CHAR))
#: States a string's automaton may have: the product of a pattern or format
#: with a length counter grows as their product, and past this it is refused.
STRING_STATE_BUDGET = 50_000


_TRIE_BYTES = set(b"\\u0123456789abcdef\"bfnrt")


def escape_dfa(dfa: DFA) -> DFA:
    """Apply the `ESCAPES` byte map to a DFA, directly and deterministically.

    Equivalent to `map_bytes(dfa, ESCAPES)`, but every escape sequence is
    spelled by a small deterministic trie hung off its source state
    (`\\` then a short escape letter, or `u00`, `0`/`1`, a hex digit), so
    the construction is a few array operations instead of an NFA with a chain
    of states per escaped byte and a subset construction over it. Trie states
    are added only below states that have escaped transitions, so every state
    stays reachable and live. The result is not necessarily minimal.
    """
    n = dfa.n_states
    # Byte classes: the DFA's classes, with every escaped or trie byte on its own.
    key = dfa.byte_class.astype(np.int64) * 512 + np.array(
        [b if b in ESCAPES or b in _TRIE_BYTES else 256 for b in range(256)]
    )
    _, first, byte_class = np.unique(key, return_index=True, return_inverse=True)
    byte_class = byte_class.reshape(-1).astype(np.int32)
    old = dfa.trans[:, dfa.byte_class[first]]  # [n, new classes]

    def column(byte: int) -> int:
        return int(byte_class[byte])

    def targets(byte: int) -> np.ndarray:
        return old[:, column(byte)]

    has = lambda bytes_: np.stack([targets(b) >= 0 for b in bytes_], axis=1).any(axis=1)  # noqa: E731
    has_low, has_high, has_short = has(_LOW_CONTROLS), has(_HIGH_CONTROLS), has(list(_SHORT_ESCAPES))
    blocks = {}  # trie level -> (source states, first row)
    rows = n
    for level, members in (
        ("\\", has_short | has_low | has_high),
        ("u", has_low | has_high),
        ("u0", has_low | has_high),
        ("u00", has_low | has_high),
        ("u000", has_low),
        ("u001", has_high),
    ):
        states = np.nonzero(members)[0]
        blocks[level] = (states, rows)
        rows += states.size
    table = np.full((rows, old.shape[1]), -1, np.int32)
    table[:n] = old
    table[:n, [column(b) for b in ESCAPES]] = -1

    def link(level_from: str | None, byte: int, level_to: str) -> None:
        """Edge `byte` from the trie row of `level_from` (None: the state itself) to that of `level_to`."""
        states, start = blocks[level_to]
        src = states if level_from is None else _rows(blocks[level_from], states)
        table[src, column(byte)] = start + np.arange(states.size)

    def leave(level: str, byte: int, escaped: int) -> None:
        """Edge `byte` from the trie rows of `level` to where the escaped byte led."""
        states, start = blocks[level]
        table[start + np.arange(states.size), column(byte)] = targets(escaped)[states]

    link(None, ord("\\"), "\\")
    for escaped, escape in _SHORT_ESCAPES.items():
        leave("\\", escape[1], escaped)
    link("\\", ord("u"), "u")
    link("u", ord("0"), "u0")
    link("u0", ord("0"), "u00")
    link("u00", ord("0"), "u000")
    link("u00", ord("1"), "u001")
    for escaped in _LOW_CONTROLS:
        leave("u000", ESCAPES[escaped][-1], escaped)
    for escaped in _HIGH_CONTROLS:
        leave("u001", ESCAPES[escaped][-1], escaped)
    accept = np.concatenate([dfa.accept, np.zeros(rows - n, bool)])
    return DFA(table, byte_class, accept)


def _rows(block: tuple[np.ndarray, int], states: np.ndarray) -> np.ndarray:
    """Rows of `states` (a subset of the block's source states) in a trie block."""
    members, start = block
    return start + np.searchsorted(members, states)


def json_string_content(decoded: ir.Node) -> ir.Node:
    """The JSON string literals (quotes included) whose decoded value is in `decoded`.

    `decoded` is a language of UTF-8 text; it is restricted to well-formed
    text first, so stray bytes can never be escaped into something else.
    """
    dfa = build_dfa(ir.intersect(decoded, ANY_TEXT))
    if dfa.is_empty:
        return ir.NOTHING
    return ir.seq(QUOTE, ir.Automaton(escape_dfa(dfa)), QUOTE)


def _length_language(min_length: int, max_length: int | None) -> ir.Node:
    return ir.repeat(ir.chars(ANY_CHAR), min_length, max_length)


def _length_range(dfa: DFA) -> tuple[int, int | None]:
    """Shortest and longest accepted string in code points (longest None: unbounded).

    A byte starts a character unless it is a UTF-8 continuation byte; in a
    DFA of valid UTF-8 no live byte class mixes the two kinds.
    """
    n = dfa.n_states
    starts = [any(not 0x80 <= b < 0xC0 for b in np.nonzero(dfa.byte_class == c)[0]) for c in range(dfa.trans.shape[1])]
    edges = [[(int(t), int(starts[c])) for c, t in enumerate(row) if t >= 0] for row in dfa.trans]
    shortest = [None] * n
    queue = deque([(0, 0)])
    while queue:  # 0-1 breadth-first search
        q, d = queue.popleft()
        if shortest[q] is not None:
            continue
        shortest[q] = d
        for t, w in edges[q]:
            if shortest[t] is None:
                (queue.append if w else queue.appendleft)((t, d + w))
    min_len = min(shortest[q] for q in range(n) if dfa.accept[q])
    indegree = [0] * n
    for row in edges:
        for t, _ in row:
            indegree[t] += 1
    longest = [0] * n
    order = [q for q in range(n) if indegree[q] == 0]
    for q in order:  # Kahn's algorithm: a cycle leaves states unvisited
        for t, w in edges[q]:
            longest[t] = max(longest[t], longest[q] + w)
            indegree[t] -= 1
            if indegree[t] == 0:
                order.append(t)
    if len(order) < n:
        return min_len, None
    return min_len, max(longest[q] for q in range(n) if dfa.accept[q])


def _within_lengths(dfa: DFA, min_length: int, max_length: int | None) -> bool:
    """Whether every string of `dfa` already has min..max code points, so the length bound adds nothing."""
    shortest, longest = _length_range(dfa)
    return shortest >= min_length and (max_length is None or (longest is not None and longest <= max_length))


def _check_length(value, keyword: str, pointer: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSchemaError(f"{keyword} must be a non-negative integer, not {value!r}", pointer)


def _pattern_language(pattern: str, pointer: str) -> ir.Node:
    try:
        from ..regex import regex_to_ir
    except ImportError as error:  # the regex front end is a separate part
        raise UnsupportedSchemaError("pattern", pointer, "the regular-expression front end is not available") from error
    try:
        return regex_to_ir(pattern, search=True)
    except UnsupportedRegexError as error:
        raise UnsupportedSchemaError("pattern", pointer, str(error)) from error
    except RegexSyntaxError as error:
        raise InvalidSchemaError(f"invalid pattern: {error}", pointer) from error


def string_node(*, min_length=0, max_length=None, pattern=None, format=None, pointer="", on_cap=None) -> ir.Node:
    """JSON string literals whose value has `min_length`..`max_length` code
    points, contains a match of `pattern` (ECMA-262 semantics: a search, not a
    full match) and is in the language of `format`.

    Returns `ir.NOTHING` when no string qualifies. Raises `SchemaTooLargeError`
    when the combined automaton exceeds `STRING_STATE_BUDGET` (a large length
    bound on a many-state pattern or format, e.g. `uri` with `maxLength: 2048`),
    unless `on_cap` is given: then the strings keep to the longest maximum
    length whose automaton fits (at least `min_length`), and `on_cap` is called
    with it. Only a language that is never complemented (the output form) may
    shrink so. A length bound that the pattern or format already implies costs
    nothing.
    """
    _check_length(min_length, "minLength", pointer)
    if max_length is not None:
        _check_length(max_length, "maxLength", pointer)
        if max_length < min_length:
            return ir.NOTHING
    if pattern is None and format is None:
        return ir.seq(QUOTE, ir.repeat(JSON_CHAR, min_length, max_length), QUOTE)
    parts = []
    if pattern is not None:
        parts.append(_pattern_language(pattern, pointer))
    if format is not None:
        parts.append(format_node(format, pointer))
    keyword = "pattern" if pattern is not None else "format"
    try:
        decoded = build_dfa(ir.intersect(*parts, ANY_TEXT), STRING_STATE_BUDGET)
        if decoded.is_empty:  # e.g. a pattern no date matches: nothing to bound
            return ir.NOTHING
        if (min_length > 0 or max_length is not None) and not _within_lengths(decoded, min_length, max_length):
            keyword = "maxLength" if max_length is not None else "minLength"
            # The product tracks a state of each side; refuse (or keep to shorter strings) before
            # building a hopeless one.
            if decoded.n_states * (max(min_length, max_length or 0) + 1) > 2 * STRING_STATE_BUDGET:
                fitting = STRING_STATE_BUDGET // decoded.n_states - 1
                if on_cap is None or max_length is None or fitting < min_length:
                    raise AutomatonTooLargeError(f"about {decoded.n_states} states times a length counter")
                max_length = fitting
                on_cap(max_length)
            length = _length_language(min_length, max_length)
            decoded = build_dfa(ir.intersect(ir.Automaton(decoded), length), STRING_STATE_BUDGET)
            if decoded.n_states > STRING_STATE_BUDGET:
                raise AutomatonTooLargeError(f"{decoded.n_states} states")
    except AutomatonTooLargeError as error:
        raise SchemaTooLargeError(keyword, pointer, f"string automaton too large ({error})") from error
    if decoded.is_empty:
        return ir.NOTHING
    return ir.seq(QUOTE, ir.Automaton(escape_dfa(decoded)), QUOTE)
