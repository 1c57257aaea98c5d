"""Lower a regex syntax tree to the byte-level IR, with ECMA-262 anchors.

Without anchors a pattern is plain concatenation and alternation. Anchors are
zero-width assertions, which the IR cannot say directly; the usual ones (a
leading `^`, a trailing `$` in a branch) are simply the absence of the
`.*` that a search puts around a pattern. Any other anchor is made concrete:
the input is framed as `BEGIN+ text END+` with two marker bytes that never
occur in UTF-8, `^` and `$` become those bytes, and the markers are removed
from the finished automaton. Repeated markers in the frame let a path assert
`^` (or `$`) several times at one position, as in `(^)*a` or `^^a`.

A lookahead right after a branch's leading `^` (`^(?!@@)[\\w@]+$`) asserts
about the whole input: the branch is intersected with the language of the
lookahead's pattern, searched from the start (or with its complement).

Search branches that may be followed by any text are compiled to a DFA here
(`_then`), so the automaton stops tracking partial matches once one has
completed; `regex_to_ir(..., search=True)` can therefore raise
`AutomatonTooLargeError` itself.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..automata import ir
from ..automata.charset import ANY_CHAR, CharSet
from ..automata import budget
from ..automata.dfa import DFA, AutomatonTooLargeError, build_dfa, minimal_dfa
from .parser import Anchor, Chars, Concat, Look, Repeat, Syntax, Union

BEGIN, END = 0xFE, 0xFF
ANY_TEXT = ir.star(ir.chars(ANY_CHAR))
_ANY_BYTES = ir.star(ir.byte_range(0, 255))
_FRAME = ir.seq(ir.plus(ir.literal(bytes([BEGIN]))), ANY_TEXT, ir.plus(ir.literal(bytes([END]))))
_PRECOMPILE_OVER = 32  # UTF-8 alternatives in a character set


def lower(tree: Syntax, search: bool) -> ir.Node:
    """The IR of the strings `tree` matches whole (`search=False`) or contains a match of."""
    options = tree.options if isinstance(tree, Union) else (tree,)
    out: list[ir.Node] = []
    open_ended: list[ir.Node] = []  # search branches that a match may be followed by anything
    for option in options:
        items = option.items if isinstance(option, Concat) else (option,)
        if any(isinstance(item, Look) for item in items):
            out.append(_asserted(items, search))
            continue
        head = 0
        while head < len(items) and items[head] == Anchor("^"):
            head += 1
        tail = len(items)
        while tail > head and items[tail - 1] == Anchor("$"):
            tail -= 1
        body = items[head:tail]
        if any(_has_anchor(item) for item in body):
            out.append(ir.Automaton(_lower_with_markers(option, search)))
            continue
        if not search:
            out.append(ir.seq(*(_lower(item) for item in body)))
            continue
        open_start, open_end = head == 0, tail == len(items)
        body = _trim_edges(body, open_start, open_end)
        core = ir.seq(ANY_TEXT if open_start else ir.EPSILON, *(_lower(item) for item in body))
        (open_ended if open_end else out).append(core)
    if open_ended:
        text = build_dfa(ANY_TEXT)
        out.append(ir.Automaton(_then(build_dfa(ir.alt(*open_ended)), text)))
    return ir.alt(*out)


def _asserted(items: tuple[Syntax, ...], search: bool) -> ir.Node:
    """A branch `^(?=X)(?!Y)...rest`: its lookaheads stand at the start of the input, so each
    asks the whole input to start with a match of its pattern (or not to): the branch without
    them, intersected with `^X` searched and with the complement of `^Y` searched."""
    rest = tuple(item for item in items if not isinstance(item, Look))
    node = lower(Concat(rest) if len(rest) != 1 else rest[0], search)
    for look in (item for item in items if isinstance(item, Look)):
        asserted = lower(Concat((Anchor("^"), look.inner)), True)
        node = ir.intersect(node, asserted if look.positive else ir.complement(asserted))
    return node


def _trim_edges(body: tuple[Syntax, ...], open_start: bool, open_end: bool) -> tuple[Syntax, ...]:
    """Shorten repetitions at an edge that a search leaves open.

    Next to "any text", `R{lo,hi}` says no more than `R{lo}`: the extra copies
    are text too. Dropping them keeps the automaton from counting copies
    (`x[a-z]{1,100}` searched is `x[a-z]`).
    """
    items = list(body)
    for at_start, is_open in ((True, open_start), (False, open_end)):
        while is_open and items and isinstance(items[0 if at_start else -1], Repeat):
            i = 0 if at_start else len(items) - 1
            edge = items[i]
            if edge.lo == 0:
                del items[i]
                continue
            items[i] = Repeat(edge.item, edge.lo, edge.lo)
            break
    return tuple(items)


def _then(dfa: DFA, tail: DFA) -> DFA:
    """The DFA of `L(dfa) L(tail)`, for a `tail` that accepts the empty string
    and every continuation of its members that stays in the alphabet of `dfa`
    (all text, or all bytes).

    The match may as well end at the first accepting state, so those states
    jump to `tail`. Determinising `L .*` naively instead keeps tracking partial
    matches after the first complete one, which can be exponential.
    """
    head_rows, tail_rows = dfa.dense(), tail.dense()
    n = head_rows.shape[0]
    shifted_tail = np.where(tail_rows >= 0, tail_rows + n, -1)
    rows = np.vstack([np.where(dfa.accept[:, None], shifted_tail[0], head_rows), shifted_tail])
    columns, byte_class = np.unique(rows.T, axis=0, return_inverse=True)
    trans = np.ascontiguousarray(columns.T.astype(np.int32))
    accept = np.concatenate([dfa.accept, tail.accept])
    return minimal_dfa(trans, byte_class.reshape(-1).astype(np.int32), accept)



def _lower(tree: Syntax) -> ir.Node:
    """Plain lowering; anchors become the marker bytes."""
    if isinstance(tree, Chars):
        return _chars(tree.charset)
    if isinstance(tree, Concat):
        return ir.seq(*(_lower(item) for item in tree.items))
    if isinstance(tree, Union):
        return ir.alt(*(_lower(option) for option in tree.options))
    if isinstance(tree, Repeat):
        return ir.repeat(_lower(tree.item), tree.lo, tree.hi)
    if isinstance(tree, Anchor):
        return ir.literal(bytes([BEGIN if tree.kind == "^" else END]))
    raise TypeError(f"not a regex syntax node: {tree!r}")


@lru_cache(maxsize=256)
def _chars(charset: CharSet) -> ir.Node:
    """One character of `charset`; large sets (`\\p{L}`, `[^\\p{L}]`) come
    precompiled, since repeating their many UTF-8 alternatives is slow to
    determinise."""
    node = ir.chars(charset)
    if isinstance(node, ir.Alt) and len(node.options) > _PRECOMPILE_OVER:
        return ir.Automaton(build_dfa(node))
    return node


def _has_anchor(tree: Syntax) -> bool:
    if isinstance(tree, Anchor):
        return True
    if isinstance(tree, Concat):
        return any(_has_anchor(item) for item in tree.items)
    if isinstance(tree, Union):
        return any(_has_anchor(option) for option in tree.options)
    if isinstance(tree, Repeat):
        return _has_anchor(tree.item)
    return False


def _nullable(tree: Syntax) -> bool:
    """Whether `tree` matches the empty input (where every anchor holds)."""
    if isinstance(tree, Anchor):
        return True
    if isinstance(tree, Concat):
        return all(_nullable(item) for item in tree.items)
    if isinstance(tree, Union):
        return any(_nullable(option) for option in tree.options)
    if isinstance(tree, Repeat):
        return tree.lo == 0 or _nullable(tree.item)
    return False


def _lower_with_markers(tree: Syntax, search: bool) -> DFA:
    begins, ends = ir.star(ir.literal(bytes([BEGIN]))), ir.star(ir.literal(bytes([END])))
    core = _lower(tree)
    if search:
        bytes_dfa = build_dfa(_ANY_BYTES)
        marked = ir.Automaton(_then(build_dfa(ir.seq(_ANY_BYTES, core)), bytes_dfa))
    else:
        marked = ir.seq(begins, core, ends)
    framed = build_dfa(ir.intersect(marked, _FRAME))
    # On the empty input `^` and `$` hold at one position in any order (`$^`),
    # which the frame `BEGIN+ END+` cannot express; decide it directly.
    return _strip_markers(framed, _nullable(tree))


def _marker_run(dfa: DFA, state: int, marker: int) -> list[int]:
    """The states reached from `state` by one or more `marker` bytes."""
    run: list[int] = []
    state = dfa.step(state, marker)
    while state >= 0 and state not in run:
        run.append(state)
        state = dfa.step(state, marker)
    return run


def _strip_markers(framed: DFA, accepts_empty: bool) -> DFA:
    """The DFA of {w : BEGIN^k w END^l accepted by `framed`, k, l >= 1}.

    Starting after any run of BEGIN makes a set of start states, so this is a
    subset construction over `framed`'s states (deterministic on every other
    byte), then minimised.
    """
    starts = frozenset(_marker_run(framed, 0, BEGIN))
    finals = {
        q for q in range(framed.n_states) if any(framed.accept[s] for s in _marker_run(framed, q, END))
    }
    n_classes = framed.trans.shape[1]
    byte_class = framed.byte_class.copy()
    byte_class[[BEGIN, END]] = n_classes  # a new class without transitions
    first = (True, starts)
    index = {first: 0}
    order = [first]
    meter = budget.current()
    rows: list[list[int]] = []
    accept: list[bool] = []
    while len(rows) < len(order):
        is_start, members = order[len(rows)]
        meter.tick()
        sub = framed.trans[sorted(members)]
        row = [-1] * (n_classes + 1)
        for c in range(n_classes):
            targets = frozenset(int(t) for t in sub[:, c] if t >= 0)
            if not targets:
                continue
            key = (False, targets)
            j = index.get(key)
            if j is None:
                if len(order) >= meter.max_states:
                    raise AutomatonTooLargeError(f"more than {meter.max_states} automaton states")
                j = index[key] = len(order)
                order.append(key)
            row[c] = j
        rows.append(row)
        accept.append(bool(members & finals) or (is_start and accepts_empty))
    return minimal_dfa(np.array(rows, dtype=np.int32).reshape(len(rows), n_classes + 1), byte_class,
                       np.array(accept))
