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
from dataclasses import dataclass

import numba as nb
import numpy as np


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
        return TokenTrie(
            np.array(node_byte, np.uint8), depth, skip, first, token_ids,
            int(depth.max()) if len(depth) else 0, flat, offset,
        )


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


# Printable ASCII but the quote and the backslash: the bytes a JSON string's content reads back
# into the same state wherever its length is not bounded (and most of a vocabulary's tokens).
PLAIN_BYTES = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')


@dataclass(frozen=True)
class PlainSplit:
    """A vocabulary's tokens split for states that loop on every plain byte (`PLAIN_BYTES`).

    From such a state every token made of plain bytes only is readable (it
    comes back to the state), so a mask there is `plain` plus a walk of
    `rest`, the trie of the other tokens: a free string's cold mask walks a
    small part of the vocabulary instead of all of it.
    """

    plain: np.ndarray  # bool[vocab_size]: the tokens of the full trie made of plain bytes only
    rest: TokenTrie


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
        other_byte = np.ones(256, np.int64)
        other_byte[np.frombuffer(PLAIN_BYTES, np.uint8)] = 0
        seen = np.concatenate([[0], np.cumsum(other_byte[trie.flat])])  # other bytes up to each offset
        plain = include & (trie.offset[1:] > trie.offset[:-1]) & (seen[trie.offset[1:]] == seen[trie.offset[:-1]])
        split = _splits[vocab] = PlainSplit(plain, TokenTrie.build(vocab.tokens, include & ~plain))
    return split


@nb.njit(cache=True, nogil=True)
def walk_trie(trans, byte_class, states, i, byte, depth, skip, first, token_ids, out):
    """Walk the trie from node i (states[d] the DFA state after the first d bytes of the current
    path; a mask starts at node 0 with states[0] its state) and set out[t] for every token the
    table reads; stop at a negative entry other than -1 (a lazy table's row not built yet).
    Returns (node to resume at, state whose row is missing), or (n_nodes, -1) at the end."""
    n = byte.shape[0]
    while i < n:
        d = depth[i]
        t = trans[states[d - 1], byte_class[byte[i]]]
        if t < 0:
            if t != -1:
                return i, states[d - 1]
            i = skip[i]
            continue
        states[d] = t
        for j in range(first[i], first[i + 1]):
            out[token_ids[j]] = True
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
