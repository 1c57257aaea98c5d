"""Compile a context-free `Grammar` to the tables of a pushdown automaton over bytes.

Design: *one minimal byte DFA per recursive rule, and a stack of DFA states*.
A grammar is mostly regular: JSON, for instance, has one rule that really
recurses (`value`); everything else can be substituted into it. So:

1. rules that are not on a reference cycle are inlined (`normalise.py`: a
   regular one as a DFA its users call; recursive rules merged while they
   stay small); rules that cannot produce anything (derive no finite
   string) are dropped, and a start rule left matching nothing is refused;
   references to rules that accept the empty string are split into "the
   rule minus the empty string, or nothing", so every pushed rule reads at
   least one byte before it can return;
2. each remaining rule body becomes a minimal DFA (`build_dfa`), with each
   reference `Ref(R)` encoded as a marker — byte 0xFF and four digit bytes
   from 0xF5–0xFE, none of which ever occurs in UTF-8 text. From a DFA state,
   the marker paths give the calls (callee, return state); they are then cut
   out, so the transition tables hold real bytes only;
3. direct left recursion `A ::= A α | β` is rewritten to `β α*` on the DFA
   (the left call is the one marker edge of A's start state, so β and α fall
   out of the automaton whatever the shape of the rule); any other cycle of
   leftmost calls is refused with `GrammarError` naming its rules. Without
   left recursion and without empty callees, the chains of calls that can
   precede a byte are finite: for each (state, byte class) they are
   enumerated once here as *expansions* (return states to push, then the
   state after the byte), so stepping a stack is table lookups.

Why this and not an Earley parser or a lexer + LR(1) split: the stack of DFA
states keeps byte-level precision for free (a token may end anywhere,
including mid-terminal and mid-character), the regular bulk of a grammar
stays one minimal DFA (fast masks: most tokens never leave the top rule),
and ambiguity is handled by keeping a small set of stacks (deduplicated,
capped) instead of a chart. The kernels that step stacks and walk the token
trie are in `kernels.py`; the constraint that uses them is `constraint.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..automata import ir
from ..automata.budget import current
from ..automata.dfa import DFA, build_dfa, minimal_dfa
from ..errors import GrammarError, StructgenError
from .grammar import Grammar, fold, substitute
from .normalise import normalise

MARK = 0xFF  # starts a rule reference inside a rule body's DFA
DIGIT0 = 0xF5  # digit bytes 0xF5..0xFE encode the rule index
N_DIGITS = 4
MAX_RULES = 10**N_DIGITS
TEXT_BYTES = (1 << DIGIT0) - 1  # bytes that may appear in UTF-8 text: 0x00..0xF4
ANY_BYTE = ir.byte_range(0, 255)
MAX_EXPANSIONS = 2_000_000
CHAIN_ENTRY_BYTES = 16  # estimated bytes per pushed state in the tabulated call chains (memory budget)


@dataclass(frozen=True)
class PushdownTables:
    """The pushdown automaton: rule DFAs under global state ids, and the expansions of each (state, byte class).

    Rule 0 is the start rule as the outermost context (it is never pushed);
    `exp_ptr[q * n_classes + c]` ranges over the expansions of state q on byte
    class c: expansion e pushes `chain[chain_ptr[e]:chain_ptr[e + 1]]` in place of
    q (return states, outermost first) and then `target[e]`.
    """

    rule_names: tuple[str, ...]
    rule_start: np.ndarray  # int32[n_rules]: global id of each rule's start state
    accept: np.ndarray  # bool[n_states]: the state may end its rule
    byte_class: np.ndarray  # int32[256]
    n_classes: int
    exp_ptr: np.ndarray  # int32[n_states * n_classes + 1]
    target: np.ndarray  # int32[n_expansions]
    chain_ptr: np.ndarray  # int32[n_expansions + 1]
    chain: np.ndarray  # int32
    max_chain: int  # the most pushes one byte can make
    notes: tuple[str, ...]

    @property
    def n_states(self) -> int:
        return self.accept.shape[0]


def compile_pushdown(grammar: Grammar, max_states: int | None = None, *,
                     empty_language: StructgenError | None = None) -> PushdownTables:
    """Normalise `grammar` and build its pushdown tables (see the module docstring).

    `max_states` bounds each rule's automaton (None: the current compile
    budget's).

    Why only the start rule is checked: a rule DFA is minimal, so its states
    that cannot reach acceptance (through bytes and calls) are gone, and
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
    dfas: list[DFA] = []
    for i, body in enumerate(marked):
        meter.check()
        if i > 0 and names[i] in nullable:
            body = ir.intersect(body, ir.plus(ANY_BYTE))  # the rule minus the empty string
        dfas.append(build_dfa(body, max_states))
        if i == 0 and dfas[0].is_empty:  # references to unproductive rules are NOTHING by now
            raise empty_language or GrammarError(f"the start rule {names[0]!r} matches no string", (names[0],))
    calls = [_calls(d) for d in dfas]
    for i in range(1, len(dfas)):
        if any(callee == i for callee, _ in calls[i].get(0, ())):
            dfas[i] = _remove_left_recursion(dfas[i], i, max_states)
            calls[i] = _calls(dfas[i])
            notes.append(f"left recursion of rule {names[i]!r} rewritten as iteration")
    _check_left_calls(names, calls)
    return _tables(names, dfas, calls, tuple(notes))


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
        d = node.dfa
        used = np.flatnonzero((d.trans >= 0).any(axis=0))
        return sum(1 << b for b in range(256) if d.byte_class[b] in used)
    bits = 0
    for p in parts:
        bits |= p
    return bits


# ---------------------------------------------------------------- rule automata


def _marker(rule: int) -> ir.Node:
    digits = [DIGIT0 + (rule // 10**k) % 10 for k in reversed(range(N_DIGITS))]
    return ir.literal(bytes([MARK, *digits]))


def _calls(dfa: DFA) -> dict[int, list[tuple[int, int]]]:
    """For each state, the (callee, return state) pairs of the marker paths leaving it."""
    out: dict[int, list[tuple[int, int]]] = {}
    mark_col = dfa.trans[:, dfa.byte_class[MARK]]
    digit_cls = [int(dfa.byte_class[DIGIT0 + d]) for d in range(10)]
    for q in np.flatnonzero(mark_col >= 0).tolist():
        paths = [(int(mark_col[q]), 0)]
        for _ in range(N_DIGITS):
            paths = [(int(dfa.trans[s, c]), 10 * v + d) for s, v in paths
                     for d, c in enumerate(digit_cls) if dfa.trans[s, c] >= 0]
        out[q] = [(v, s) for s, v in paths]
    return out


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
    ret = dict((callee, r) for callee, r in _calls(dfa)[0])[rule]
    beta = ir.intersect(ir.Automaton(dfa), ir.complement(ir.seq(_marker(rule), ir.star(ANY_BYTE))))
    alpha = ir.Automaton(_restarted(dfa, ret))
    return build_dfa(ir.seq(beta, ir.star(alpha)), max_states)


def _check_left_calls(names: list[str], calls: list[dict[int, list[tuple[int, int]]]]) -> None:
    """Refuse a cycle of leftmost calls (left recursion through several rules)."""
    graph = {i: sorted({c for c, _ in calls[i].get(0, ())}) for i in range(len(names))}
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


# ---------------------------------------------------------------- global tables


def _tables(names: list[str], dfas: list[DFA], calls: list[dict], notes: tuple[str, ...]) -> PushdownTables:
    meter = current()
    # Keep the states a parse can be in: reachable from the start by real bytes or as return states.
    text_cols = [d.byte_class[:DIGIT0] for d in dfas]
    keep: list[np.ndarray] = []
    for d, cols, cl in zip(dfas, text_cols, calls):
        seen = np.zeros(d.n_states, bool)
        seen[0] = True
        todo = [0]
        real = d.trans[:, np.unique(cols)]
        while todo:
            meter.tick()
            q = todo.pop()
            nxt = [int(t) for t in real[q] if t >= 0] + [r for _, r in cl.get(q, ())]
            for t in nxt:
                if not seen[t]:
                    seen[t] = True
                    todo.append(t)
        keep.append(np.flatnonzero(seen))
    offsets = np.cumsum([0] + [len(k) for k in keep])
    renumber = []
    for d, k, off in zip(dfas, keep, offsets):
        m = np.full(d.n_states, -1, np.int64)
        m[k] = off + np.arange(len(k))
        renumber.append(m)

    # Joint byte classes over all rules; bytes 0xF5..0xFF read nothing.
    columns = np.array([[int(c[b]) if b < DIGIT0 else -1 for b in range(256)] for c in text_cols] or
                       [[0] * 256], np.int64)
    _, byte_class = np.unique(columns.T, axis=0, return_inverse=True)
    byte_class = byte_class.reshape(-1).astype(np.int32)
    n_classes = int(byte_class.max()) + 1
    rep = np.zeros(n_classes, np.int64)
    rep[byte_class[::-1]] = np.arange(255, -1, -1)  # the smallest byte of each class

    n = int(offsets[-1])
    trans = np.full((n, n_classes), -1, np.int64)
    accept = np.zeros(n, bool)
    for d, k, m, off in zip(dfas, keep, renumber, offsets):
        local = d.trans[k][:, d.byte_class[rep]]
        local = np.where(local >= 0, m[np.maximum(local, 0)], -1)
        local[:, rep >= DIGIT0] = -1
        trans[off:off + len(k)] = local
        accept[off:off + len(k)] = d.accept[k]
    rule_start = offsets[:-1].astype(np.int32)
    global_calls: dict[int, list[tuple[int, int]]] = {}
    for i, (cl, m) in enumerate(zip(calls, renumber)):
        for q, pairs in cl.items():
            if m[q] >= 0:
                global_calls[int(m[q])] = [(callee, int(m[r])) for callee, r in pairs]

    # Expansions: the chains of calls that end in a byte edge, per (state, class). A state
    # without calls has just its byte edges (vectorised); call chains are enumerated per caller,
    # callees first (leftmost calls form a DAG, see `_check_left_calls`), without recursion.
    left: dict[int, list[list[tuple[tuple[int, ...], int]]]] = {}
    total = pushes = 0

    def expansions(q: int) -> list[list[tuple[tuple[int, ...], int]]]:
        nonlocal total, pushes
        out = [[((), int(t))] if t >= 0 else [] for t in trans[q]]
        for callee, ret in global_calls.get(q, ()):
            for c, exps in enumerate(left[int(rule_start[callee])]):
                out[c].extend(((ret,) + chain, t) for chain, t in exps)
            meter.check()
        total += sum(len(e) for e in out)
        pushes += sum(len(chain) for e in out for chain, _ in e)
        if total > MAX_EXPANSIONS:
            raise GrammarError("the grammar's call chains are too many to tabulate "
                               f"(more than {MAX_EXPANSIONS} expansions)", tuple(names))
        meter.memory(CHAIN_ENTRY_BYTES * pushes)
        return out

    def callee_starts(q: int) -> list[int]:
        return [int(rule_start[callee]) for callee, _ in global_calls.get(q, ())]

    with_calls = {}
    for q in sorted(global_calls):
        stack = [(s, False) for s in callee_starts(q)]
        while stack:
            s, ready = stack.pop()
            if s in left:
                continue
            if ready:
                left[s] = expansions(s)
                continue
            stack.append((s, True))
            stack.extend((d, False) for d in callee_starts(s) if d not in left)
        with_calls[q] = left[q] if q in left else expansions(q)
    counts = (trans >= 0).astype(np.int64)
    for q, per_class in with_calls.items():
        counts[q] = [len(e) for e in per_class]
    exp_ptr = np.zeros(n * n_classes + 1, np.int64)
    np.cumsum(counts.ravel(), out=exp_ptr[1:])
    n_exp = int(exp_ptr[-1])
    if n_exp > MAX_EXPANSIONS:
        raise GrammarError("the grammar's call chains are too many to tabulate "
                           f"(more than {MAX_EXPANSIONS} expansions)", tuple(names))
    target = np.full(n_exp, -1, np.int64)
    direct = (trans >= 0).ravel() & (counts.ravel() > 0)
    target[exp_ptr[:-1][direct]] = trans.ravel()[direct]
    chain_len = np.zeros(n_exp, np.int64)
    extra: dict[int, tuple[int, ...]] = {}
    for q, per_class in with_calls.items():
        meter.tick()
        for c, exps in enumerate(per_class):
            base = int(exp_ptr[q * n_classes + c])
            for k, (ch, t) in enumerate(exps):
                target[base + k] = t
                chain_len[base + k] = len(ch)
                extra[base + k] = ch
    chain_ptr = np.zeros(n_exp + 1, np.int64)
    np.cumsum(chain_len, out=chain_ptr[1:])
    chain = np.zeros(int(chain_ptr[-1]), np.int64)
    for e, ch in extra.items():
        chain[chain_ptr[e]:chain_ptr[e + 1]] = ch
    max_chain = int(chain_len.max()) if n_exp else 0
    return PushdownTables(
        rule_names=tuple(names), rule_start=rule_start, accept=accept,
        byte_class=byte_class, n_classes=n_classes,
        exp_ptr=exp_ptr.astype(np.int32), target=target.astype(np.int32),
        chain_ptr=chain_ptr.astype(np.int32), chain=chain.astype(np.int32),
        max_chain=max_chain, notes=notes,
    )
