"""Thompson NFAs over byte sets, kept as flat edge arrays, with calls into shared automata.

The NFA is only a stepping stone from the IR to a DFA, so it is stored the
way the subset construction wants to read it: edge lists (source, byte-set
id, target) and epsilon lists (source, target).

Sub-expressions that are already minimal DFAs (`ir.Automaton`, and the
intersections, complements and repeated bodies compiled to one) are not
copied in: each use is a *call* (entry state, DFA, exit state). The subset
construction walks the DFA in place and pairs its state with the exit to
return to, so a string automaton used by fifty properties, or 255 times by
a length bound, is stored once. The DFAs are trimmed (every state can reach
acceptance), so a call can always return. `embed` still copies a DFA in,
for byte maps that rewrite its edges.

Sub-expressions that occur more than once and are not small (a schema's
definition used in forty places, itself using others) become *procedures*
(`NFA.fragment`): their NFA fragment is built once more, and each further use is a
call state whose return state the subset construction pushes on a stack of
returns (a member of a subset is an NFA state *and* a return stack, see
`rows.py`). Without them a schema's NFA is its IR as a tree, which for real
schemas runs to millions of states where the IR has a few thousand nodes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import StructgenError
from . import ir
from .budget import NFA_EDGE_BYTES, current

if TYPE_CHECKING:
    from .dfa import DFA


class AutomatonTooLargeError(StructgenError, ValueError):
    """The automaton would exceed the state budget (the front doors report it as `CompileBudgetError`)."""


def as_word(node: ir.Node) -> bytes | None:
    """The bytes of a node that matches exactly one string, else None."""
    parts = node.parts if isinstance(node, ir.Seq) else (node,)
    out = bytearray()
    for p in parts:
        if not isinstance(p, ir.ByteSet) or p.bits & (p.bits - 1):
            return None
        out.append(p.bits.bit_length() - 1)
    return bytes(out)


#: Copies from which a counted repetition becomes a chain of called blocks (`NFA._chain`), and the
#: most states a block's DFA is given (the block holds fewer copies of a larger body).
CHAIN_COPIES = 64
BLOCK_STATES = 4096
PROC_MIN_STATES = 32  # NFA states below which a sub-expression used again is copied, not called
# Node kinds looked up by value before they are built (objects, and the alternatives of `oneOf`,
# `anyOf` or `type`): a schema's definitions, compiled once per use, are equal but distinct objects.
VALUE_CHECKED = (ir.Members, ir.Alt)


class NFA:
    """A Thompson NFA under construction.

    Every new state is counted against `max_states` (`AutomatonTooLargeError`)
    and against the current meter's memory and seconds budgets
    (`CompileBudgetError`): counted repetitions are unrolled here, so this is
    where a huge `{n}` is stopped.
    """

    def __init__(self, max_states: int, compile_dfa):
        self.n = 0
        self.max_states = max_states
        self._meter = current()
        self._block_bytes = 0
        self._compile_dfa = compile_dfa  # (node, most states) -> DFA, for parts the NFA cannot express
        self._eps: list[tuple[int, int]] = []
        self._edges: list[tuple[int, int, int]] = []
        self._eps_blocks: list[tuple[np.ndarray, np.ndarray]] = []
        self._edge_blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._set_ids: dict[int, int] = {}
        self.set_bits: list[int] = []
        self.leaves: list["DFA"] = []  # the DFAs called, each once
        self._leaf_ids: dict[int, int] = {}
        self.calls: list[tuple[int, int, int]] = []  # (entry state, leaf, exit state)
        self._big: dict[ir.Node, int] = {}  # big sub-expressions built so far -> the first one's id
        self._canon: dict[int, int] = {}  # id of a big node built so far -> its value's first id
        self._kept: list[ir.Node] = []
        self._procs: dict[int, tuple[int, int]] = {}  # first id -> the procedure's (entry, exit)
        self.proc_calls: list[tuple[int, int, int]] = []  # (call state, procedure entry, return state)
        self.proc_exits: list[int] = []

    # -- building blocks

    def new(self, count: int = 1) -> int:
        """Allocate `count` states; return the first."""
        n = self.n
        if n + count > self.max_states:
            raise AutomatonTooLargeError(f"more than {self.max_states} automaton states")
        self.n = n + count
        if (n ^ self.n) >> 6:  # clock and memory every 64 states
            self._meter.check()
            self._meter.memory(NFA_EDGE_BYTES * (len(self._eps) + len(self._edges)) + self._block_bytes)
        return n

    def eps(self, a: int, b: int) -> None:
        self._eps.append((a, b))

    def edge(self, a: int, bits: int, b: int) -> None:
        self._edges.append((a, self.set_id(bits), b))

    def set_id(self, bits: int) -> int:
        sid = self._set_ids.get(bits)
        if sid is None:
            sid = self._set_ids[bits] = len(self.set_bits)
            self.set_bits.append(bits)
        return sid

    # -- IR

    def fragment(self, node: ir.Node) -> tuple[int, int]:
        """Add states for `node`; return its (entry, exit) states.

        The first use of a sub-expression is built in place. One that took `PROC_MIN_STATES`
        or more is remembered (by object, and by value: an equal object counts as a later use;
        only the kinds in `VALUE_CHECKED` are looked up by value before they are built, as
        hashing every node by value would cost more than it saves); a later use builds it once
        more as a procedure, and every use after that calls the procedure.
        """
        key = self._canon.get(id(node))
        if key is None and type(node) in VALUE_CHECKED:
            key = self._big.get(node)  # an equal object built before
        if key is None:
            n0 = self.n
            s, e = self._fragment(node)
            if self.n - n0 >= PROC_MIN_STATES and not isinstance(node, (ir.ByteSet, ir.Automaton)):
                self._canon[id(node)] = self._big.setdefault(node, id(node))
                self._kept.append(node)  # ids stay unique while the NFA is built
            return s, e
        proc = self._procs.get(key)
        if proc is None:
            proc = self._procs[key] = self._fragment(node)
            self.proc_exits.append(proc[1])
        s = self.new(2)
        self.proc_calls.append((s, proc[0], s + 1))
        return s, s + 1

    def _fragment(self, node: ir.Node) -> tuple[int, int]:
        if isinstance(node, ir.ByteSet):
            s = self.new(2)
            self.edge(s, node.bits, s + 1)
            return s, s + 1
        if isinstance(node, ir.Seq):
            s = e = self.new()
            edges = self._edges
            for part in node.parts:
                if type(part) is ir.ByteSet:  # literal bytes (keys, punctuation) chain on directly
                    nxt = self.new()
                    edges.append((e, self.set_id(part.bits), nxt))
                    e = nxt
                    continue
                a, b = self.fragment(part)
                self.eps(e, a)
                e = b
            return s, e
        if isinstance(node, ir.Alt):
            s = self.new(2)
            e = s + 1
            words = []
            for option in node.options:
                word = as_word(option)
                if word is not None:
                    words.append(word)
                    continue
                a, b = self.fragment(option)
                self.eps(s, a)
                self.eps(b, e)
            if words:
                self._trie(words, s, e)
            return s, e
        if isinstance(node, ir.Repeat):
            return self._repeat(node)
        if isinstance(node, ir.Members):
            return self._members(node)
        if isinstance(node, ir.Automaton):
            return self.call(node.dfa)
        if isinstance(node, ir.Splice):
            return self._splice(node)
        if isinstance(node, (ir.Intersect, ir.Complement)):
            return self.call(self._compile_dfa(node))
        if isinstance(node, ir.Ref):
            raise TypeError(f"rule reference {node.name!r} in a regular expression: compile it as a grammar")
        raise TypeError(f"not an IR node: {node!r}")

    def _trie(self, words: list[bytes], s: int, e: int) -> None:
        """Literal alternatives (enums, keys) as a deterministic trie from `s` to `e`."""
        root = self.new()
        self.eps(s, root)
        children: dict[tuple[int, int], int] = {}
        ends: set[int] = set()
        for word in words:
            q = root
            for b in word:
                nxt = children.get((q, b))
                if nxt is None:
                    nxt = children[(q, b)] = self.new()
                    self.edge(q, 1 << b, nxt)
                q = nxt
            if q not in ends:
                ends.add(q)
                self.eps(q, e)

    def _members(self, node: ir.Members) -> tuple[int, int]:
        """Linear in the entries: states "nothing written yet" (N) and "a member written" (S)
        before each entry; an entry's states are entered from N directly and from S after a
        separator, and lead to the next S."""
        n = len(node.entries)
        none_yet = self.new(n + 1)
        some = self.new(n + 1)
        for i, (entry, required) in enumerate(node.entries):
            a, b = self.fragment(entry)
            self.eps(none_yet + i, a)
            sa, sb = self.fragment(node.sep)
            self.eps(some + i, sa)
            self.eps(sb, a)
            self.eps(b, some + i + 1)
            if not required:
                self.eps(none_yet + i, none_yet + i + 1)
                self.eps(some + i, some + i + 1)
        end = some + n
        if node.extras is not None:
            a, b = self.fragment(node.extras)
            self.eps(none_yet + n, a)
            sa, sb = self.fragment(node.sep)
            self.eps(end, sa)
            self.eps(sb, a)
            self.eps(b, end)
        return none_yet, end

    def _repeat(self, node: ir.Repeat) -> tuple[int, int]:
        copies = node.min if node.max is None else node.max
        body = node.node
        if copies > 3 and not isinstance(body, (ir.ByteSet, ir.Automaton)):
            # Call the body's minimal DFA (stored once) rather than copying its NFA, where that DFA
            # is small; a larger body (an object with long strings) is built once more as a
            # procedure (`fragment`), which every later copy calls.
            try:
                body = ir.Automaton(self._compile_dfa(body, BLOCK_STATES))
            except AutomatonTooLargeError:
                pass
        blocks = self._blocks(body, copies) if copies >= CHAIN_COPIES else None
        if blocks is not None:
            return self._chain(body, node.min, node.max, *blocks)
        s = e = self.new()
        for _ in range(node.min):
            a, b = self.fragment(body)
            self.eps(e, a)
            e = b
        if node.max is None:
            loop = self.new()
            self.eps(e, loop)
            a, b = self.fragment(body)
            self.eps(loop, a)
            self.eps(b, loop)
            return s, loop
        end = self.new()
        for _ in range(node.max - node.min):
            a, b = self.fragment(body)
            self.eps(e, a)
            self.eps(e, end)
            e = b
        self.eps(e, end)
        return s, end

    def _blocks(self, body: ir.Node, copies: int) -> tuple | None:
        """For `_chain`: (a, the DFA of `body` a times, of `body` fewer than a times), a about the
        square root of `copies`; None where `body` is no DFA or a block passes the states budget."""
        if not isinstance(body, (ir.ByteSet, ir.Automaton)):
            return None
        size = body.dfa.n_states if isinstance(body, ir.Automaton) else 1
        a = max(2, min(math.isqrt(copies), BLOCK_STATES // size))
        try:
            return a, ir.Automaton(self._compile_dfa(ir.repeat(body, a, a))), \
                ir.Automaton(self._compile_dfa(ir.repeat(body, 0, a - 1)))
        except AutomatonTooLargeError:  # a small states budget: copy the body instead
            return None

    def _chain(self, body: ir.Node, lo: int, hi: int | None, a: int, block: ir.Node,
               tail: ir.Node) -> tuple[int, int]:
        """`body` lo..hi times (hi None: unbounded) as a chain of `block`s of `a` copies, each a
        call of one DFA: about 2 * count / a states where copying took count. A count k splits
        one way only (k // a blocks, then k % a copies in a `tail` that holds fewer than a), so
        the subsets that the lazy construction builds stay as small as the copies' were."""
        s = e = self.new()
        for part in [block] * (lo // a) + [ir.repeat(body, lo % a, lo % a)]:
            first, last = self.fragment(part)
            self.eps(e, first)
            e = last
        if hi is None:
            first, last = self.fragment(ir.star(body))
            self.eps(e, first)
            return s, last
        blocks, rest = divmod(hi - lo, a)
        end = self.new()
        for _ in range(blocks):
            first, last = self.fragment(tail)  # stop: fewer than a copies more
            self.eps(e, first)
            self.eps(last, end)
            first, last = self.fragment(block)  # or go on by a whole block
            self.eps(e, first)
            e = last
        first, last = self.fragment(ir.repeat(body, 0, rest))
        self.eps(e, first)
        self.eps(last, end)
        return s, end

    def _splice(self, node: ir.Splice) -> tuple[int, int]:
        """The frame copied in without its hole bytes; its moves on a hole byte to one same state
        go through one fragment of the hole (built in place the first time, a procedure or a
        call after: see `fragment`). One per move instead made the subsets remember which of
        the frame's states the hole was entered from (a run of whitespace: a dozen), when
        all return to one: 60,000 subsets for a DFA of 4,500 states."""
        frame = node.frame
        hole_bits = 0
        for b, _ in node.holes:
            hole_bits |= 1 << b
        base, end = self.embed(frame, hole_bits)
        for b, hole in node.holes:
            column = frame.trans[:, frame.byte_class[b]]
            entries: dict[int, int] = {}  # one fragment per target, entered from every state moving there
            for q in np.flatnonzero(column >= 0).tolist():
                target = int(column[q])
                if target not in entries:
                    a, e = self.fragment(hole)
                    entries[target] = a
                    self.eps(e, base + target)
                self.eps(base + q, entries[target])
        return base, end

    def call(self, dfa: "DFA") -> tuple[int, int]:
        """An entry and an exit state joined by a call of `dfa` (stored once however often called)."""
        leaf = self._leaf_ids.get(id(dfa))
        if leaf is None:
            leaf = self._leaf_ids[id(dfa)] = len(self.leaves)
            self.leaves.append(dfa)
            for bits in dfa.class_bits:
                self.set_id(bits)  # the byte classes must split the DFA's classes too
            self._block_bytes += 4 * dfa.trans.size
        s = self.new(2)
        self.calls.append((s, leaf, s + 1))
        return s, s + 1

    def embed(self, dfa: "DFA", skip_bytes: int = 0) -> tuple[int, int]:
        """Copy a DFA in; its accepting states get an epsilon move to a new exit.

        Bytes in `skip_bytes` (a 256-bit mask) are left out of the copied edges.
        """
        n = dfa.n_states
        base = self.new(n + 1)
        end = base + n
        class_ids = np.array([self.set_id(bits & ~skip_bytes) if bits & ~skip_bytes else -1
                              for bits in dfa.class_bits], np.int64)
        src, cls = np.nonzero((dfa.trans >= 0) & (class_ids >= 0)[None, :])
        self._edge_blocks.append((src + base, class_ids[cls], dfa.trans[src, cls].astype(np.int64) + base))
        self._block_bytes += 24 * len(src)
        acc = np.flatnonzero(dfa.accept)
        self._eps_blocks.append((acc + base, np.full(len(acc), end, np.int64)))
        return base, end

    # -- output

    def arrays(self):
        """(eps_src, eps_dst, edge_src, edge_set, edge_dst) as int64 arrays."""
        eps = np.array(self._eps, np.int64).reshape(-1, 2)
        edges = np.array(self._edges, np.int64).reshape(-1, 3)
        eps_src = np.concatenate([eps[:, 0]] + [b[0] for b in self._eps_blocks])
        eps_dst = np.concatenate([eps[:, 1]] + [b[1] for b in self._eps_blocks])
        e_src = np.concatenate([edges[:, 0]] + [b[0] for b in self._edge_blocks])
        e_set = np.concatenate([edges[:, 1]] + [b[1] for b in self._edge_blocks])
        e_dst = np.concatenate([edges[:, 2]] + [b[2] for b in self._edge_blocks])
        return eps_src, eps_dst, e_src, e_set, e_dst
