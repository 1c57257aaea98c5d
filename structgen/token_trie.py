"""The vocabulary as a byte trie, and the numba kernels that walk it.

A mask is the set of tokens whose bytes the automaton can read from a
state. Walking every token separately repeats the work for shared prefixes;
walking a trie in depth-first order reads each distinct prefix once and
skips a whole subtree as soon as its prefix is rejected — in structural JSON
states that prunes almost the entire vocabulary at the first byte.

The trie is flat arrays in preorder, built once per `Vocabulary`:
`byte[i]`, `depth[i]` (1 for children of the root), `skip[i]` (the index
after node i's subtree) and the ids of the tokens that end at node i
(`token_ids[first[i]:first[i + 1]]`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from functools import cached_property

import numba as nb
import numpy as np

from .bitmask import allow, pack


# Printable ASCII but the quote and the backslash: the bytes that a JSON string's content reads
# alike (each is one character), and most of a vocabulary's tokens are made of them only.
PLAIN_BYTES = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')


@dataclass(frozen=True)
class TokenTrie:
    byte: np.ndarray  # uint8[n_nodes]
    depth: np.ndarray  # int32[n_nodes]
    skip: np.ndarray  # int32[n_nodes]
    first: np.ndarray  # int32[n_nodes + 1]
    token_ids: np.ndarray  # int32[n_tokens_in_trie]
    max_depth: int
    # All token bytes back to back, for walking single tokens: token t is
    # flat[offset[t]:offset[t + 1]].
    flat: np.ndarray  # uint8
    offset: np.ndarray  # int64[vocab_size + 1]
    # pure_top[i]: every node of i's subtree reads a plain byte (`PLAIN_BYTES`), its parent's does not
    # all, and it has children; `walk_trie` takes such a subtree whole where its state loops on plain bytes.
    pure_top: np.ndarray  # bool[n_nodes]

    @cached_property
    def arrays(self) -> tuple:
        """(byte, depth, skip, first, token_ids, pure_top): the trie as the kernels that walk it take it."""
        return self.byte, self.depth, self.skip, self.first, self.token_ids, self.pure_top

    @staticmethod
    def build(tokens: list[bytes], include: np.ndarray) -> "TokenTrie":
        """Trie of the non-empty tokens whose `include` flag is set."""
        offset = np.zeros(len(tokens) + 1, np.int64)
        offset[1:] = np.cumsum([len(t) for t in tokens])
        flat = np.frombuffer(b"".join(tokens), dtype=np.uint8).copy()

        ids = [i for i, t in enumerate(tokens) if include[i] and t]
        ids.sort(key=lambda i: tokens[i])
        node_byte: list[int] = []
        node_depth: list[int] = []
        node_tokens: list[list[int]] = []
        path: list[int] = []  # node index at each depth of the previous token
        prev = b""
        for i in ids:
            tok = tokens[i]
            common = 0
            limit = min(len(prev), len(tok))
            while common < limit and prev[common] == tok[common]:
                common += 1
            del path[common:]
            for d in range(common, len(tok)):
                path.append(len(node_byte))
                node_byte.append(tok[d])
                node_depth.append(d + 1)
                node_tokens.append([])
            node_tokens[path[len(tok) - 1]].append(i)
            prev = tok
        depth = np.array(node_depth, np.int32)
        skip = _subtree_ends(depth)
        first = np.zeros(len(node_tokens) + 1, np.int32)
        first[1:] = np.cumsum([len(t) for t in node_tokens])
        token_ids = np.array([t for ts in node_tokens for t in ts], np.int32)
        byte = np.array(node_byte, np.uint8)
        return TokenTrie(byte, depth, skip, first, token_ids, int(depth.max()) if len(depth) else 0, flat, offset,
                         _pure_tops(byte, depth, skip))


def plain_classes(byte_class: np.ndarray) -> np.ndarray:
    """The classes of the plain bytes under an automaton's byte classing (sorted, int64), which the
    trie walks' shortcuts in strings take (`walk_trie`, the pushdown walk)."""
    return np.unique(byte_class[np.frombuffer(PLAIN_BYTES, np.uint8)]).astype(np.int64)


PLAIN_PARTED = -2  # `plain_target`: the plain bytes lead to different states


@nb.njit(cache=True, nogil=True, inline="always")
def plain_target(trans, state, plain_classes):
    """The one entry of every plain byte's class (`plain_classes`) in the built row of `state`
    (-1: none of them is readable), or `PLAIN_PARTED` where they differ: whether a mask may add
    the plain tokens whole (`PlainSplit`) and walk only the others."""
    target = trans[state, plain_classes[0]]
    for c in plain_classes:
        if trans[state, c] != target:
            return PLAIN_PARTED
    return target


def _others_before(data: np.ndarray) -> np.ndarray:
    """seen[i]: how many of the bytes data[:i] are not plain (`PLAIN_BYTES`), for i in 0..len(data)."""
    other = np.ones(256, np.int64)
    other[np.frombuffer(PLAIN_BYTES, np.uint8)] = 0
    return np.concatenate([[0], np.cumsum(other[data])])


def _pure_tops(byte: np.ndarray, depth: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """`TokenTrie.pure_top` of a preorder trie."""
    n = len(byte)
    seen = _others_before(byte)  # non-plain nodes before each index
    pure = seen[skip] == seen[:n]
    parent_pure = np.zeros(n, bool)
    last_at_depth = np.zeros(int(depth.max(initial=0)) + 1, np.int64)  # preorder: a node's parent is
    for i in range(n):  # the last node seen one level up
        d = depth[i]
        parent_pure[i] = d > 1 and pure[last_at_depth[d - 1]]
        last_at_depth[d] = i
    return pure & ~parent_pure & (skip > np.arange(n) + 1)


def _subtree_ends(depth: np.ndarray) -> np.ndarray:
    """For preorder nodes, the index of the next node at the same or lower depth."""
    n = len(depth)
    skip = np.full(n, n, np.int32)
    stack: list[int] = []
    for i in range(n):
        d = depth[i]
        while stack and depth[stack[-1]] >= d:
            skip[stack.pop()] = i
        stack.append(i)
    return skip


@dataclass(frozen=True)
class PlainSplit:
    """A vocabulary's tokens split into those made of plain bytes (`PLAIN_BYTES`) and the rest.

    Where every plain byte leads from a state to one same state, and from
    that one to one same state, and so on for k steps (a string's content:
    k is unbounded in a free string, the room left under a `maxLength`),
    every plain token of at most k bytes is readable and no longer one is
    (when the plain bytes all die after k steps): a mask there is
    `up_to(k)` plus a walk of `rest`, the trie of the other tokens. A
    string's cold mask then walks a small part of the vocabulary.
    """

    length: np.ndarray  # int32[vocab_size]: a plain token's length, 0 for every other token
    rest: TokenTrie
    longest: int  # the longest plain token
    _up_to: dict = field(default_factory=dict, compare=False)

    def up_to(self, k: int) -> np.ndarray:
        """The bitmask (`structgen.bitmask`) of the plain tokens of at most `k` bytes (cached; read-only)."""
        k = min(k, self.longest)
        mask = self._up_to.get(k)
        if mask is None:
            mask = pack((self.length > 0) & (self.length <= k))
            mask.flags.writeable = False
            self._up_to[k] = mask
        return mask


_tries: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_splits: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _included(vocab) -> np.ndarray:
    include = np.asarray(vocab.allowed, bool).copy()
    include[list(vocab.eos_token_ids)] = False
    return include


def trie_for(vocab) -> TokenTrie:
    """The (cached) trie of a vocabulary's tokens that may appear in structured output."""
    trie = _tries.get(vocab)
    if trie is None:
        trie = _tries[vocab] = TokenTrie.build(vocab.tokens, _included(vocab))
    return trie


def plain_split_for(vocab) -> PlainSplit:
    """The (cached) `PlainSplit` of `trie_for(vocab)`'s tokens."""
    split = _splits.get(vocab)
    if split is None:
        trie, include = trie_for(vocab), _included(vocab)
        seen = _others_before(trie.flat)  # non-plain bytes before each offset
        lo, hi = trie.offset[:-1], trie.offset[1:]
        plain = include & (hi > lo) & (seen[hi] == seen[lo])
        length = np.where(plain, hi - lo, 0).astype(np.int32)
        split = _splits[vocab] = PlainSplit(length, TokenTrie.build(vocab.tokens, include & ~plain),
                                            int(length.max(initial=0)))
    return split


@nb.njit(cache=True, nogil=True)
def mark_subtree(i, first, skip, token_ids, out):
    """Set the bit of every token of trie node i's subtree in `out` (a bitmask); return the node after the subtree."""
    for j in range(first[i], first[skip[i]]):
        allow(out, token_ids[j])
    return skip[i]


@nb.njit(cache=True, nogil=True)
def walk_trie(trans, byte_class, states, i, byte, depth, skip, first, token_ids, pure_top, plain_classes, out):
    """Walk the trie from node i (states[d] the DFA state after the first d bytes of the current
    path; a mask starts at node 0 with states[0] its state) and set the bit in `out` (a bitmask,
    `structgen.bitmask`) of every token the table reads; stop at a negative entry other than -1
    (a lazy table's row not built yet).
    Returns (node to resume at, state whose row is missing), or (n_nodes, -1) at the end.

    A subtree of plain bytes only (`pure_top`) entered in a state that every plain
    byte (its classes: `plain_classes`) leads back to is read whole: all its tokens
    are readable, and none of its nodes is visited (a string's content, a free key).
    """
    n = byte.shape[0]
    while i < n:
        d = depth[i]
        t = trans[states[d - 1], byte_class[byte[i]]]
        if t < 0:
            if t != -1:
                return i, states[d - 1]
            i = skip[i]
            continue
        if pure_top[i]:
            r = trans[t, plain_classes[0]]
            if r < -1:  # t's row is not built: have it built and come back to node i
                return i, t
            loops = r == t
            if loops:
                for c in plain_classes:
                    if trans[t, c] != t:
                        loops = False
                        break
            if loops:
                i = mark_subtree(i, first, skip, token_ids, out)
                continue
        states[d] = t
        for j in range(first[i], first[i + 1]):
            allow(out, token_ids[j])
        i += 1
    return n, -1


@nb.njit(cache=True, nogil=True)
def walk_bytes(trans, byte_class, state, flat, lo, hi):
    """The state after the bytes flat[lo:hi] from `state`; the first negative entry met
    (-1: no transition, or a lazy table's marker of a row not built yet)."""
    for j in range(lo, hi):
        t = trans[state, byte_class[flat[j]]]
        if t < 0:
            return t
        state = t
    return state
