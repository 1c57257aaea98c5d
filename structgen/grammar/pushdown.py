"""Compile a context-free `Grammar` to a pushdown automaton over bytes.

Design: *one byte automaton per recursive rule, and a stack of its states*.
A grammar is mostly regular: JSON, for instance, has one rule that really
recurses (`value`); everything else can be substituted into it. So:

1. rules that are not on a reference cycle are inlined (`normalise.py`: a
   regular one as a DFA its users call; recursive rules merged while they
   stay small); rules that cannot produce anything (derive no finite
   string) are dropped, and a start rule left matching nothing is refused;
   references to rules that accept the empty string are split into "the
   rule minus the empty string, or nothing", so every pushed rule reads at
   least one byte before it can return;
2. each remaining rule body becomes a lazily determinized automaton
   (`LazyDFA`: only its start is built here), with each reference `Ref(R)`
   encoded as a marker — byte 0xFF and four digit bytes from 0xF5–0xFE,
   none of which ever occurs in UTF-8 text. From a state, the marker paths
   give the calls (callee, return state);
3. direct left recursion `A ::= A α | β` is rewritten to `β α*` on the
   rule's (eagerly built) DFA (the left call is the one marker edge of A's
   start state, so β and α fall out of the automaton whatever the shape of
   the rule); any other cycle of leftmost calls is refused with
   `GrammarError` naming its rules. Without left recursion and without empty
   callees, the chains of calls that can precede a byte are finite: for each
   (state, byte class) they are enumerated as *expansions* (return states to
   push, then the state after the byte) the first time parsing reaches the
   state (`tables.py`), so stepping a stack is table lookups.

Why this and not an Earley parser or a lexer + LR(1) split: the stack of DFA
states keeps byte-level precision for free (a token may end anywhere,
including mid-terminal and mid-character), the regular bulk of a grammar
stays one automaton (fast masks: most tokens never leave the top rule),
and ambiguity is handled by keeping a small set of stacks (deduplicated,
capped) instead of a chart. The kernels that step stacks and walk the token
trie are in `kernels.py`; the constraint that uses them is `constraint.py`.
"""

from __future__ import annotations

import numpy as np

from ..automata import ir
from ..automata.budget import current
from ..automata.dfa import DFA, build_dfa, minimal_dfa
from ..automata.lazy import LazyDFA
from ..errors import GrammarError, StructgenError
from .grammar import Grammar, fold, substitute
from .normalise import normalise
from .tables import DIGIT0, MARK, N_DIGITS, PushdownTables, calls_from

MAX_RULES = 10**N_DIGITS
TEXT_BYTES = (1 << DIGIT0) - 1  # bytes that may appear in UTF-8 text: 0x00..0xF4
ANY_BYTE = ir.byte_range(0, 255)


def compile_pushdown(grammar: Grammar, max_states: int | None = None, *,
                     empty_language: StructgenError | None = None) -> PushdownTables:
    """Normalise `grammar` and set up its pushdown tables (see the module docstring); only the
    rules' start states are built here.

    `max_states` bounds each rule's automaton (None: the current compile
    budget's).

    Why only the start rule is checked: a rule automaton is trimmed, so it
    has no state that cannot reach acceptance (through bytes and calls), and
    every call left in it is to a productive rule, so a parse can always
    finish (a call to a rule whose only string is empty reads nothing, but
    its caller has the "nothing" alternative too). The one exception is an
    empty start automaton, whose first state would allow nothing.

    Raises
    ------
    GrammarError
        Naming the rules at fault; in particular when the start rule matches
        no string (derives no finite string), unless `empty_language` is given.
    StructgenError
        `empty_language` itself, when the start rule matches no string.
    AutomatonTooLargeError
        Past the states budget.
    CompileBudgetError
        Past the current meter's seconds or memory.
    """
    meter = current()
    max_states = meter.max_states if max_states is None else max_states
    notes: list[str] = []
    names, bodies, nullable = normalise(grammar)
    if len(names) > MAX_RULES:
        raise GrammarError(f"more than {MAX_RULES - 1} recursive rules")
    _check_text_bytes(bodies)
    index = {name: i for i, name in enumerate(names)}
    marked = [substitute(b, lambda r: _marker(index[r.name])) for b in bodies]
    rules: list[LazyDFA] = []
    without_empty = set()
    for i, body in enumerate(marked):
        meter.check()
        rule = LazyDFA.build(body, max_states)
        if i == 0 and rule.is_empty:  # references to unproductive rules are NOTHING by now
            raise empty_language or GrammarError(f"the start rule {names[0]!r} matches no string", (names[0],))
        if i > 0 and any(callee == i for callee, _ in calls_from(rule, 0)):
            if names[i] in nullable:
                body = ir.intersect(body, ir.plus(ANY_BYTE))  # the rule minus the empty string
            rule = LazyDFA.of(_remove_left_recursion(build_dfa(body, max_states), i, max_states))
            notes.append(f"left recursion of rule {names[i]!r} rewritten as iteration")
        elif i > 0 and names[i] in nullable:
            without_empty.add(i)
        rules.append(rule)
    _check_left_calls(names, [calls_from(r, 0) for r in rules])
    return PushdownTables(names, rules, tuple(notes), frozenset(without_empty))


def _check_text_bytes(bodies: list[ir.Node]) -> None:
    """The reference markers use bytes 0xF5-0xFF, which a grammar of UTF-8 text never reads."""
    memo: dict[int, int] = {}
    for body in bodies:
        if _possible_bytes(body, memo) & ~TEXT_BYTES:
            raise GrammarError("grammars over bytes 0xF5-0xFF (never part of UTF-8 text) are not supported")


def _possible_bytes(node: ir.Node, memo: dict[int, int]) -> int:
    """A superset of the bytes `node` can read, as a 256-bit mask (`memo` as in `fold`)."""
    return fold(node, _bytes_of, memo)


def _bytes_of(node: ir.Node, parts: list[int]) -> int:
    if isinstance(node, ir.ByteSet):
        return node.bits
    if isinstance(node, ir.Complement):
        return (1 << 256) - 1
    if isinstance(node, ir.Intersect):
        bits = (1 << 256) - 1
        for p in parts:
            bits &= p
        return bits
    if isinstance(node, ir.Automaton):
        return _read_bytes(node.dfa)
    bits = 0
    if isinstance(node, ir.Splice):  # the frame's bytes; a hole byte stands for its part's (in `parts`)
        bits = _read_bytes(node.frame) & ~sum(1 << b for b, _ in node.holes)
    for p in parts:
        bits |= p
    return bits


def _read_bytes(d) -> int:
    """The bytes a DFA moves on somewhere, as a 256-bit mask."""
    moves = (d.trans >= 0).any(axis=0)[d.byte_class]  # per byte
    return int.from_bytes(np.packbits(moves, bitorder="little").tobytes(), "little")


# ---------------------------------------------------------------- rule automata


def _marker(rule: int) -> ir.Node:
    digits = [DIGIT0 + (rule // 10**k) % 10 for k in reversed(range(N_DIGITS))]
    return ir.literal(bytes([MARK, *digits]))


def _restarted(dfa: DFA, state: int) -> DFA:
    """The same automaton with `state` as its start."""
    order = np.arange(dfa.n_states)
    order[[0, state]] = order[[state, 0]]
    rank = np.empty_like(order)
    rank[order] = np.arange(dfa.n_states)
    trans = np.where(dfa.trans >= 0, rank[np.maximum(dfa.trans, 0)], -1)[order].astype(np.int32)
    return minimal_dfa(trans, dfa.byte_class, dfa.accept[order])


def _remove_left_recursion(dfa: DFA, rule: int, max_states: int) -> DFA:
    """`A ::= A α | β` as `β α*`: β is A without the strings that start with the left call,
    α is what A's automaton reads after returning from it."""
    ret = dict(calls_from(LazyDFA.of(dfa), 0))[rule]
    beta = ir.intersect(ir.Automaton(dfa), ir.complement(ir.seq(_marker(rule), ir.star(ANY_BYTE))))
    alpha = ir.Automaton(_restarted(dfa, ret))
    return build_dfa(ir.seq(beta, ir.star(alpha)), max_states)


def _check_left_calls(names: list[str], start_calls: list[list[tuple[int, int]]]) -> None:
    """Refuse a cycle of leftmost calls (left recursion through several rules)."""
    graph = {i: sorted({c for c, _ in start_calls[i]}) for i in range(len(names))}
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    for root in graph:
        if root in state:
            continue
        path = [root]
        iters = [iter(graph[root])]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                cycle = tuple(names[i] for i in path[path.index(nxt):])
                raise GrammarError(
                    f"left recursion through rules {' -> '.join(cycle + (names[nxt],))} "
                    "(only direct left recursion A ::= A x | y is rewritten)", cycle)
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph[nxt]))
