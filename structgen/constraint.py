"""`Constraint`: the one interface the samplers see.

A constraint pairs a byte automaton with a vocabulary. Its states are plain
integers (immutable, so SMC particles share and fork them for free):
a DFA state, or `Constraint.FINISHED` after end-of-sequence. The automaton
is a `LazyDFA` (`structgen.automata.lazy`): its rows are built the first
time `advance` or `mask` reaches them, so compiling costs only the NFA.

- `advance(state, token)` walks one token's bytes: the cheap check that AWRS
  makes on the few tokens it draws;
- `bitmask(state)` is the full mask over the vocabulary as bits
  (`structgen.bitmask`), computed by a trie walk and cached per state (the
  `MASK_CACHE` most recently used), for locally constrained decoding;
  `mask(state)` is the same as one bool per token.

Every live DFA state can reach acceptance (the automaton is trimmed), so a
sampler that follows the mask can never get stuck.

A cold mask walks the trie against rows that may not be built yet and
builds, in the same pass, exactly the rows the vocabulary's tokens go
through (`LazyDFA.fill_mask`); `advance` does the same for one token.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .automata.dfa import DFA
from .automata.lazy import LazyDFA
from .bitmask import n_words, positions, unpack
from .token_trie import PLAIN_PARTED, plain_split_for, plain_target, trie_for

MASK_CACHE = 1024  # masks kept per constraint (each is one bit per token), least recently used out


@dataclass(frozen=True)
class CompileInfo:
    """What compiling did: time, automaton size, and what was ignored or restricted."""

    compile_time_s: float = 0.0
    n_states: int = 0
    ignored: tuple[tuple[str, str], ...] = ()  # (keyword, JSON pointer), only with strict=False
    notes: tuple[str, ...] = ()  # restrictions the compiler applied (e.g. depth bounds)
    # every constraining keyword of a JSON Schema and how it is enforced (`structgen.schema.enforcement`)
    keywords: tuple = ()


class Constraint:
    """A compiled structure over a vocabulary: start / advance / mask / is_accepting."""

    FINISHED = -2

    def __init__(self, dfa: DFA | LazyDFA, vocab, info: CompileInfo | None = None, source=None):
        self.dfa = dfa if isinstance(dfa, LazyDFA) else LazyDFA.of(dfa)
        self.vocab = vocab
        self.info = info or CompileInfo(n_states=dfa.n_states)
        self.source = source  # the schema, pattern or grammar this was compiled from
        self._trie = trie_for(vocab)
        self._eos_bits = positions(vocab.eos_token_ids)
        self._eos_set = frozenset(int(e) for e in vocab.eos_token_ids)
        self._masks: OrderedDict[int, np.ndarray] = OrderedDict()  # least recently used first
        self._masks_lock = threading.Lock()
        self._n_words = n_words(self.vocab_size)
        self._byte_class = self.dfa.byte_class
        self._class_size = np.bincount(self._byte_class, minlength=int(self._byte_class.max()) + 1)
        self._class_byte = np.zeros(len(self._class_size), np.int64)  # the lowest byte of each class
        classes, first = np.unique(self._byte_class, return_index=True)
        self._class_byte[classes] = first
        self._plain_classes = self.dfa.plain_classes
        self._split = plain_split_for(vocab)  # built with the vocabulary's first constraint, like its trie
        self._runs: dict[int, int | None] = {}  # state -> `_plain_run`'s answer
        # a plain byte repeated: `_plain_run` walks it to build a chain's rows in one pass
        self._plain_walk = np.full(self._split.longest + 1, self._class_byte[self._plain_classes[0]], np.uint8)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab.tokens)

    def start(self) -> int:
        return 0

    def is_accepting(self, state: int) -> bool:
        """May the output end here (is end-of-sequence allowed)?"""
        return state >= 0 and bool(self.dfa.accept[state])

    def is_finished(self, state: int) -> bool:
        return state == self.FINISHED

    def can_continue(self, state: int) -> bool:
        """Is any byte allowed after this state (else only end-of-sequence is)?"""
        return state >= 0 and bool((self.dfa.row(state) >= 0).any())

    def advance(self, state: int, token_id: int) -> int | None:
        """The state after `token_id`, or None when the token is not allowed."""
        if state < 0:
            return None
        if token_id in self._eos_set:
            return self.FINISHED if self.dfa.accept[state] else None
        t = self._trie
        if not self.vocab.allowed[token_id] or t.offset[token_id] == t.offset[token_id + 1]:
            return None
        nxt = self.dfa.walk_token(state, t.flat, t.offset[token_id], t.offset[token_id + 1])
        return nxt if nxt >= 0 else None

    def advance_bytes(self, state: int, data: bytes) -> int | None:
        """The state after raw bytes (for checking text that was not tokenised)."""
        s = self.dfa.walk(data, state) if state >= 0 else -1
        return s if s >= 0 else None

    def forced_bytes(self, state: int, limit: int = 256) -> bytes:
        """The longest bytes (at most `limit`) that every accepted continuation from `state` starts with.

        Follows states that are not accepting and have exactly one outgoing
        byte; stops at an accepting state, a branch, or `limit`. Empty for
        a finished state.
        """
        out = bytearray()
        while state >= 0 and len(out) < limit and not self.dfa.accept[state]:
            live = np.flatnonzero(self.dfa.row(state) >= 0)
            if len(live) != 1 or self._class_size[live[0]] != 1:
                break
            byte = int(self._class_byte[live[0]])
            out.append(byte)
            state = self.dfa.step(state, byte)
        return bytes(out)

    def mask(self, state: int) -> np.ndarray:
        """Boolean mask over the vocabulary: which tokens may come next (read-only; `bitmask` unpacked)."""
        out = unpack(self.bitmask(state), self.vocab_size)
        out.flags.writeable = False
        return out

    def bitmask(self, state: int) -> np.ndarray:
        """`mask` as bits (`structgen.bitmask`): token t may come next when bit t % 32 of word t // 32 is set.

        The returned array is shared by the cache (read-only); copy it before writing.

        Raises
        ------
        CompileBudgetError
            When the rows this mask builds would pass the compile budget's states or memory.
        """
        with self._masks_lock:
            cached = self._masks.get(state)
            if cached is not None:
                self._masks.move_to_end(state)
                return cached
        out = np.zeros(self._n_words, np.uint32)
        if state >= 0:
            # One call builds the state's row where it is not built, and walks the whole trie, or only
            # the tokens with a byte that is not plain where every plain byte leads to one same state
            # (a string's content: the plain tokens are added after), building the rows the walk passes
            # (each call costs microseconds of its own, as much as a mask in a structural state).
            if not self.dfa.fill_mask_or_rest(state, self._trie, self._split.rest, out):
                run = self._plain_run(state)
                if run is None:
                    self.dfa.fill_mask(state, self._trie, out)
                else:
                    out |= self._split.up_to(run)
            if self.dfa.accept[state]:
                for word, bit in self._eos_bits:
                    out[word] |= bit
        out.setflags(write=False)
        with self._masks_lock:
            self._masks[state] = out
            if len(self._masks) > MASK_CACHE:
                self._masks.popitem(last=False)
        return out

    def _plain_run(self, state: int) -> int | None:
        """k when every plain byte leads from `state` to one same state, and from there on for k steps,
        and then every plain byte dies (k at most the longest plain token; a cycle counts as no end);
        None when the plain bytes part ways first. The caller has seen every plain byte lead from
        `state` to one same state (most structural states read none: their masks walk the whole trie).

        Then the plain tokens readable from `state` are exactly those of at
        most k bytes (`token_trie.PlainSplit`), and `mask` walks only the
        others. The answer for each state of the chain is kept, so the masks
        along a bounded string follow one chain once. Builds the rows it reads.
        """
        longest = self._split.longest
        path: dict[int, int] = {}  # chain state -> its position
        s = state
        while s not in self._runs:
            if s in path:  # a cycle: plain bytes never die
                self._runs.update(dict.fromkeys(path, longest))
                return longest
            if len(path) == longest:  # read as far as any plain token goes: exact for `state` only
                self._runs[state] = longest
                return longest
            path[s] = len(path)
            if not self.dfa.is_built(s):  # build the rows along the rest of the chain in one call, not one by one
                self.dfa.walk_token(s, self._plain_walk, 0, longest + 1 - len(path))
            first = int(plain_target(self.dfa.trans, s, self._plain_classes))  # (its row is built)
            if first == PLAIN_PARTED:
                end = None
                break
            if first < 0:
                end = -1  # the run at the state past the chain's last, which reads no plain byte
                break
            s = first
        else:
            end = self._runs[s]
        for q, j in path.items():
            self._runs[q] = None if end is None else min(longest, end + len(path) - j)
        return self._runs[state]

    def accepts_text(self, data: bytes) -> bool:
        """Does the whole byte string belong to the language? (no tokenisation involved)"""
        return self.dfa.matches(data)

    def __repr__(self) -> str:
        return f"Constraint(states={self.dfa.n_states}, vocab={self.vocab_size})"

